package tilelog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"golang.org/x/mod/sumdb/tlog"
)

// segReader reads a segment's records in order with large reads.
type segReader struct {
	f    *os.File
	buf  []byte
	base int64 // file offset of buf[0]
	lo   int   // next record's position in buf
	hi   int   // bytes of buf filled
	end  int64 // file size
}

const readBufSize = 4 << 20 // at least MaxRecordSize + recordHeaderSize

func newSegReader(f *os.File, off, end int64) *segReader {
	return &segReader{f: f, buf: make([]byte, readBufSize), base: off, end: end}
}

// next returns the record at the reader's offset and that offset, and
// advances past it. At the end of the file it returns io.EOF; a record that
// fails its checks, or is cut short by the end of the file, an error.
func (r *segReader) next() (record, int64, error) {
	off := r.base + int64(r.lo)
	if off >= r.end {
		return record{}, off, io.EOF
	}
	rec, err := decodeRecord(r.buf[r.lo:r.hi])
	if errors.Is(err, errShort) && r.base+int64(r.hi) < r.end {
		// Move what is left to the front and read more.
		n := copy(r.buf, r.buf[r.lo:r.hi])
		r.base, r.lo, r.hi = off, 0, n
		m, rerr := r.f.ReadAt(r.buf[n:min(int64(len(r.buf)), r.end-r.base)], r.base+int64(n))
		r.hi += m
		if rerr != nil && rerr != io.EOF {
			return record{}, off, rerr
		}
		rec, err = decodeRecord(r.buf[r.lo:r.hi])
	}
	if err != nil {
		return record{}, off, err
	}
	r.lo += int(rec.size)
	return rec, off, nil
}

// segmentsFrom returns a snapshot of the segments from the one holding seq.
func (j *Journal) segmentsFrom(seq int64) ([]*segment, error) {
	j.mu.RLock()
	defer j.mu.RUnlock()
	if len(j.segs) == 0 {
		return nil, ErrClosed
	}
	if seq < j.segs[0].first {
		return nil, fmt.Errorf("record %d: %w", seq, ErrDropped)
	}
	i, found := slices.BinarySearchFunc(j.segs, seq, func(s *segment, seq int64) int {
		return cmpInt(s.first, seq)
	})
	if !found {
		i--
	}
	return slices.Clone(j.segs[i:]), nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Scan calls fn for each record from seq from up to the size at the call, in
// order, reading the segments sequentially. data is valid only during the
// call. Scan checks every record's checksum and seq and stops at the first
// error, fn's included.
func (j *Journal) Scan(from int64, fn func(seq int64, data []byte) error) error {
	to := j.Size()
	if from < 0 || from > to {
		return fmt.Errorf("scan journal from %d: %w", from, ErrNotFound)
	}
	return j.scan(from, to, true, func(seq, _ int64, data []byte) error { return fn(seq, data) })
}

// scan reads records [from, to). With useOffsets it starts at from's offset
// in the offsets file, otherwise at its segment's start. Each segment is
// opened anew, so DropBefore may delete it meanwhile.
func (j *Journal) scan(from, to int64, useOffsets bool, fn func(seq, off int64, data []byte) error) error {
	if from >= to {
		return nil
	}
	segs, err := j.segmentsFrom(from)
	if err != nil {
		return err
	}
	next := from
	for i, s := range segs {
		if next >= to {
			break
		}
		limit := to
		if i+1 < len(segs) {
			limit = min(to, segs[i+1].first)
		}
		start := int64(fileHeaderSize)
		if useOffsets && next > s.first {
			var b [8]byte
			if _, err := j.offsets.ReadAt(b[:], next*8); err != nil {
				return fmt.Errorf("read offset of record %d: %w", next, err)
			}
			start = int64(binary.LittleEndian.Uint64(b[:]))
		}
		if err := scanSegment(s.path, start, next, limit, fn); err != nil {
			return err
		}
		next = limit
	}
	if next < to {
		return fmt.Errorf("records %d-%d: no segment holds them", next, to-1)
	}
	return nil
}

// scanSegment reads the segment at path from offset start, skipping records
// before from, and calls fn for records [from, limit), which must follow each
// other without a gap.
func scanSegment(path string, start, from, limit int64, fn func(seq, off int64, data []byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("scan segment: %w", err)
	}
	defer f.Close()
	size, err := fileSize(f)
	if err != nil {
		return fmt.Errorf("scan segment: %w", err)
	}
	rd := newSegReader(f, start, size)
	next := int64(-1)
	for {
		r, off, err := rd.next()
		if err != nil {
			want := max(next, from)
			return fmt.Errorf("%s: record %d at offset %d: %w", path, want, off, err)
		}
		if next < 0 && r.seq <= from {
			next = r.seq
		}
		if r.seq != next {
			return fmt.Errorf("%s: record at offset %d has seq %d, want %d", path, off, r.seq, max(next, from))
		}
		next++
		if r.seq < from {
			continue
		}
		if err := fn(r.seq, off, r.data); err != nil {
			return err
		}
		if next >= limit {
			return nil
		}
	}
}

// ReadEntry returns the data of record seq, checking its checksum.
func (j *Journal) ReadEntry(seq int64) ([]byte, error) {
	if seq < 0 || seq >= j.Size() {
		return nil, fmt.Errorf("journal record %d: %w", seq, ErrNotFound)
	}
	return j.readRecord(seq)
}

// readRecord reads record seq at the offset the offsets file gives.
func (j *Journal) readRecord(seq int64) ([]byte, error) {
	var b [8]byte
	if _, err := j.offsets.ReadAt(b[:], seq*8); err != nil {
		return nil, fmt.Errorf("read offset of journal record %d: %w", seq, err)
	}
	off := int64(binary.LittleEndian.Uint64(b[:]))
	j.mu.RLock()
	defer j.mu.RUnlock()
	if len(j.segs) == 0 {
		return nil, ErrClosed
	}
	if seq < j.segs[0].first {
		return nil, fmt.Errorf("journal record %d: %w", seq, ErrDropped)
	}
	i, found := slices.BinarySearchFunc(j.segs, seq, func(s *segment, seq int64) int { return cmpInt(s.first, seq) })
	if !found {
		i--
	}
	s := j.segs[i]
	buf := make([]byte, recordHeaderSize+512)
	n, err := s.f.ReadAt(buf, off)
	if n < recordHeaderSize {
		return nil, fmt.Errorf("read journal record %d in %s at %d: %w", seq, s.path, off, err)
	}
	if need := recordSize(int(binary.LittleEndian.Uint32(buf))); need > int64(n) && need <= recordSize(MaxRecordSize) {
		buf = make([]byte, need)
		if _, err := s.f.ReadAt(buf, off); err != nil {
			return nil, fmt.Errorf("read journal record %d in %s at %d: %w", seq, s.path, off, err)
		}
	} else {
		buf = buf[:n]
	}
	r, err := decodeRecord(buf)
	if err == nil && r.seq != seq {
		err = fmt.Errorf("found seq %d", r.seq)
	}
	if err != nil {
		return nil, fmt.Errorf("journal record %d in %s at %d: %w", seq, s.path, off, err)
	}
	return slices.Clone(r.data), nil
}

// ReadHashes reads stored hashes by index (tlog.StoredHashIndex): the
// Journal is a tlog.HashReader for proofs, tree hashes and tiles. Only
// hashes of the first Size records can be read.
func (j *Journal) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	if len(indexes) == 0 {
		return out, nil
	}
	limit := tlog.StoredHashCount(j.Size())
	lo, hi := indexes[0], indexes[0]
	for _, idx := range indexes {
		if idx < 0 || idx >= limit {
			return nil, fmt.Errorf("journal stored hash %d: %w (%d stored)", idx, ErrNotFound, limit)
		}
		lo, hi = min(lo, idx), max(hi, idx)
	}
	// Tiles and proofs ask for hashes close together: read a dense range in
	// one pread, else one pread each.
	if span := hi - lo + 1; span <= 4*int64(len(indexes))+64 {
		buf := make([]byte, span*tlog.HashSize)
		if _, err := j.hashes.ReadAt(buf, lo*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("read journal stored hashes %d-%d: %w", lo, hi, err)
		}
		for i, idx := range indexes {
			copy(out[i][:], buf[(idx-lo)*tlog.HashSize:])
		}
		return out, nil
	}
	for i, idx := range indexes {
		if _, err := j.hashes.ReadAt(out[i][:], idx*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("read journal stored hash %d: %w", idx, err)
		}
	}
	return out, nil
}

// TreeHash returns the Merkle tree hash of the first n records.
func (j *Journal) TreeHash(n int64) (tlog.Hash, error) {
	if n < 0 || n > j.Size() {
		return tlog.Hash{}, fmt.Errorf("journal tree hash of %d records: %w (size %d)", n, ErrNotFound, j.Size())
	}
	return tlog.TreeHash(n, j)
}

// ReadTileData returns the data of hash tile t, as tlog.ReadTileData does,
// for serving C2SP tlog tiles.
func (j *Journal) ReadTileData(t tlog.Tile) ([]byte, error) {
	return tlog.ReadTileData(t, j)
}

// DropBefore deletes the segments all of whose records precede seq. The
// last segment stays, and so do all hashes: tree hashes and proofs still
// work; ReadEntry and Scan return ErrDropped for the dropped records. It
// returns how many segments it deleted.
func (j *Journal) DropBefore(seq int64) (int, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	n := 0
	for len(j.segs) > 1 && j.segs[1].first <= seq {
		s := j.segs[0]
		if err := s.f.Close(); err != nil {
			return n, fmt.Errorf("drop journal segment %s: %w", s.path, err)
		}
		j.segs = slices.Delete(j.segs, 0, 1)
		if err := os.Remove(s.path); err != nil {
			return n, fmt.Errorf("drop journal segment %s: %w", s.path, err)
		}
		n++
	}
	if n > 0 {
		if err := syncDir(j.dir); err != nil {
			return n, fmt.Errorf("drop journal segments: %w", err)
		}
	}
	return n, nil
}

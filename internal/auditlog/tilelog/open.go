package tilelog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

const (
	hashFileName    = "hashes"
	offsetsFileName = "offsets"
)

// Recovery tells what Open found at the end of the last segment.
type Recovery struct {
	// TornBytes is how many bytes after the last complete group were not
	// zero (a group whose write the crash interrupted); Open zeroed them.
	TornBytes int64
	// Rebuilt is the first seq whose hashes and offsets Open recomputed from
	// the segments (the last segment's records always are).
	Rebuilt int64
}

// Open opens the journal in dir, creating it if needed, and recovers it: it
// finds the last complete group of the last segment, zeroes a torn group
// after it, and recomputes the hash and offsets files from the segments where
// they are not durable (the last segment) or are short. Damage before the
// torn tail is an error naming the seq and file. Open checks only the last
// segment's records and the boundary with the one before; Scan and ReadEntry
// check every record they read.
func Open(dir string, opt Options) (*Journal, error) {
	j, _, err := OpenRecover(dir, opt)
	return j, err
}

// OpenRecover is Open that also reports what recovery did.
func OpenRecover(dir string, opt Options) (*Journal, Recovery, error) {
	if opt.SegmentSize == 0 {
		opt.SegmentSize = DefaultSegmentSize
	}
	if opt.SegmentSize < minSegmentSize {
		return nil, Recovery{}, fmt.Errorf("open journal: segment size %d below %d", opt.SegmentSize, minSegmentSize)
	}
	if opt.MaxGroup <= 0 {
		opt.MaxGroup = 1024
	}
	opt.MaxGroup = min(opt.MaxGroup, maxGroupRecords)
	if opt.InFlight <= 0 {
		opt.InFlight = DefaultInFlight
	}
	opt.InFlight = min(opt.InFlight, maxInFlight)
	j := &Journal{
		dir: dir, opt: opt,
		jobs:   make(chan *job, 4*opt.MaxGroup),
		slots:  make(chan struct{}, opt.InFlight),
		synced: make(chan *group, opt.InFlight),
		done:   make(chan struct{}),
	}
	rec, err := j.open()
	if err != nil {
		j.closeFiles()
		return nil, rec, fmt.Errorf("open journal %s: %w", dir, err)
	}
	go j.run()
	go j.release()
	return j, rec, nil
}

func (j *Journal) closeFiles() {
	for _, f := range []*os.File{j.hashes, j.offsets} {
		if f != nil {
			f.Close()
		}
	}
	for _, s := range j.segs {
		s.f.Close()
	}
}

func (j *Journal) open() (Recovery, error) {
	var rec Recovery
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return rec, err
	}
	names, err := os.ReadDir(j.dir)
	if err != nil {
		return rec, err
	}
	var firsts []int64
	for _, e := range names {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			if err := os.Remove(filepath.Join(j.dir, name)); err != nil {
				return rec, err
			}
			continue
		}
		if !strings.HasPrefix(name, "seg-") || !strings.HasSuffix(name, ".log") {
			continue
		}
		first, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, "seg-"), ".log"), 10, 64)
		if err != nil || segmentName(first) != name {
			return rec, fmt.Errorf("unexpected file %s", name)
		}
		firsts = append(firsts, first)
	}
	slices.Sort(firsts)

	if j.hashes, err = os.OpenFile(filepath.Join(j.dir, hashFileName), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return rec, err
	}
	if j.offsets, err = os.OpenFile(filepath.Join(j.dir, offsetsFileName), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return rec, err
	}
	hashLen, err := fileSize(j.hashes)
	if err != nil {
		return rec, err
	}
	offLen, err := fileSize(j.offsets)
	if err != nil {
		return rec, err
	}

	if len(firsts) == 0 {
		if hashLen != 0 {
			return rec, fmt.Errorf("no segments, but %s holds %d bytes", hashFileName, hashLen)
		}
		s, err := createSegment(j.dir, 0, 0, j.opt)
		if err != nil {
			return rec, err
		}
		j.segs, j.w, j.wOff = []*segment{s}, s, fileHeaderSize
		return rec, nil
	}
	var lastGroup uint32 // first group of the last segment
	for i, first := range firsts {
		path := filepath.Join(j.dir, segmentName(first))
		flags := os.O_RDONLY
		if i == len(firsts)-1 {
			flags = openFlags(j.opt.Sync)
		}
		f, err := os.OpenFile(path, flags, 0)
		if err != nil {
			return rec, err
		}
		j.segs = append(j.segs, &segment{first: first, path: path, f: f})
		h := make([]byte, fileHeaderSize)
		if _, err := f.ReadAt(h, 0); err != nil {
			return rec, fmt.Errorf("read header of %s: %w", path, err)
		}
		got, group, err := decodeFileHeader(h)
		if err != nil {
			return rec, fmt.Errorf("%s: %w", path, err)
		}
		lastGroup = group
		if got != first {
			return rec, fmt.Errorf("%s: header says first seq %d", path, got)
		}
	}
	last := j.segs[len(j.segs)-1]
	size, end, nextGroup, torn, err := scanLast(last, lastGroup)
	if err != nil {
		return rec, err
	}
	rec.TornBytes = torn
	j.w, j.wOff, j.nextGroup = last, end, nextGroup

	// Hashes and offsets are durable below the last segment's first seq (see
	// roll); recompute from there, or from where either file falls short.
	hashOK := last.first
	for hashOK > 0 && tlog.StoredHashCount(hashOK)*tlog.HashSize > hashLen {
		hashOK--
	}
	offOK := min(last.first, offLen/8)
	from := min(hashOK, max(offOK, j.segs[0].first))
	if from < j.segs[0].first {
		return rec, fmt.Errorf("%s lacks the stored hashes of record %d on, and the segments before record %d were dropped: they cannot be rebuilt", hashFileName, hashOK, j.segs[0].first)
	}
	rec.Rebuilt = from
	if from == last.first && len(j.segs) > 1 {
		if err := j.checkBoundary(last.first - 1); err != nil {
			return rec, err
		}
	}
	if err := j.loadFrontier(from); err != nil {
		return rec, err
	}
	if err := j.rebuild(from, size); err != nil {
		return rec, err
	}
	if err := j.hashes.Truncate(tlog.StoredHashCount(size) * tlog.HashSize); err != nil {
		return rec, err
	}
	if err := j.offsets.Truncate(size * 8); err != nil {
		return rec, err
	}
	j.next = size
	j.size.Store(size)
	return rec, nil
}

// scanLast reads the last segment, whose first group is firstGroup, and
// returns its record count end (the seq after its last complete group), the
// offset after that group, the next group's number and how many non-zero
// bytes followed it (zeroed now). A record that fails its checks ends the
// readable prefix at offset x, in group gx. Bytes after x are torn groups if
// every valid record there belongs to a group before gx+maxInFlight: a crash
// only interrupts groups in flight, and group gx+maxInFlight is written only
// after gx's sync. A valid record of a later group means acknowledged
// records were damaged: an error. (Damage inside the last maxInFlight groups
// cannot be told from a torn write; those groups are dropped.)
func scanLast(s *segment, firstGroup uint32) (size, end int64, nextGroup uint32, torn int64, err error) {
	fsize, err := fileSize(s.f)
	if err != nil {
		return 0, 0, 0, 0, err
	}
	rd := newSegReader(s.f, fileHeaderSize, fsize)
	next := s.first      // seq the next record must have
	size = s.first       // seq after the last complete group
	end = fileHeaderSize // offset after the last complete group
	group := firstGroup  // number of the group being read, or of the next one
	inGroup := false     // reading a group whose last record is still to come
	groupCount := 0      // records in that group
	var x int64          // offset of the first record that fails
	var reason error     // why it fails
	for {
		r, off, err := rd.next()
		x = off
		if err != nil {
			reason = err
			break
		}
		if r.seq != next {
			reason = fmt.Errorf("seq %d where %d was due", r.seq, next)
			break
		}
		if r.index == 0 && !inGroup && r.group == group {
			inGroup, groupCount = true, r.count
		} else if !inGroup || r.index == 0 || r.group != group || r.count != groupCount || r.groupStart() != size {
			reason = fmt.Errorf("seq %d: group fields %d %d/%d do not follow group %d", r.seq, r.group, r.index, r.count, group)
			break
		}
		next++
		if r.index == r.count-1 {
			size, end = next, off+r.size
			group++
			inGroup = false
		}
	}
	if reason == io.EOF {
		return size, end, group, 0, nil
	}

	// Look past x for records of a later group, and for the last non-zero byte.
	buf := make([]byte, 2<<20)
	lastNonZero := end
	for base := x &^ 7; base < fsize; {
		n, err := s.f.ReadAt(buf[:min(int64(len(buf)), fsize-base)], base)
		if err != nil && err != io.EOF {
			return 0, 0, 0, 0, fmt.Errorf("read %s: %w", s.path, err)
		}
		chunk := buf[:n]
		// Records start 8-aligned; a record may straddle chunks, so only
		// offsets whose header is whole are tried, and the next chunk
		// starts at the first offset not tried.
		p := 0
		if allZero(chunk) { // the usual preallocated tail: skip it fast
			p = len(chunk) &^ 7
		}
		for ; p+recordHeaderSize <= len(chunk); p += 8 {
			if allZero(chunk[p : p+recordHeaderSize]) {
				continue
			}
			lastNonZero = max(lastNonZero, base+int64(p)+recordHeaderSize)
			if base+int64(p) <= x {
				continue
			}
			r, derr := decodeRecord(chunk[p:])
			if errors.Is(derr, errShort) && base+int64(n) < fsize && p > 0 {
				break // read it whole with the next chunk
			}
			if derr == nil && r.seq >= size && r.group-group >= maxInFlight {
				return 0, 0, 0, 0, fmt.Errorf("%s: record %d at offset %d is damaged (%v), yet record %d of group %d, written after that record's sync, follows at offset %d",
					s.path, next, x, reason, r.seq, r.group, base+int64(p))
			}
		}
		if base+int64(n) >= fsize {
			if !allZero(chunk[min(p, len(chunk)):]) {
				lastNonZero = fsize
			}
			break
		}
		base += int64(p)
	}
	if lastNonZero > end {
		torn = lastNonZero - end
		zeros := make([]byte, min(torn, 1<<20))
		for off := end; off < lastNonZero; off += int64(len(zeros)) {
			n := min(int64(len(zeros)), lastNonZero-off)
			if _, err := s.f.WriteAt(zeros[:n], off); err != nil {
				return 0, 0, 0, 0, fmt.Errorf("zero torn tail of %s: %w", s.path, err)
			}
		}
		if err := s.f.Sync(); err != nil {
			return 0, 0, 0, 0, fmt.Errorf("zero torn tail of %s: %w", s.path, err)
		}
	}
	return size, end, group, torn, nil
}

// checkBoundary checks that record seq, the last before the last segment,
// is whole where the offsets file says.
func (j *Journal) checkBoundary(seq int64) error {
	if _, err := j.readRecord(seq); err != nil {
		return fmt.Errorf("check the record before the last segment: %w", err)
	}
	return nil
}

// loadFrontier reads the tree's right edge at size n from the hash file.
func (j *Journal) loadFrontier(n int64) error {
	j.frontier = [64]frontierHash{}
	for level := 0; level < 63 && n>>level > 0; level++ {
		pos := n>>level - 1
		var h tlog.Hash
		if _, err := j.hashes.ReadAt(h[:], tlog.StoredHashIndex(level, pos)*tlog.HashSize); err != nil {
			return fmt.Errorf("read stored hash (level %d, %d): %w", level, pos, err)
		}
		j.frontier[level] = frontierHash{ok: true, pos: pos, hash: h}
	}
	return nil
}

// rebuild recomputes the stored hashes and offsets of records [from, to)
// from the segments, the frontier being at from.
func (j *Journal) rebuild(from, to int64) error {
	var hashBuf, offBuf []byte
	hashAt, offAt := tlog.StoredHashIndex(0, from)*tlog.HashSize, from*8
	flush := func() error {
		if _, err := j.hashes.WriteAt(hashBuf, hashAt); err != nil {
			return err
		}
		if _, err := j.offsets.WriteAt(offBuf, offAt); err != nil {
			return err
		}
		hashAt += int64(len(hashBuf))
		offAt += int64(len(offBuf))
		hashBuf, offBuf = hashBuf[:0], offBuf[:0]
		return nil
	}
	err := j.scan(from, to, false, func(seq, off int64, data []byte) error {
		hs, err := tlog.StoredHashes(seq, data, tlog.HashReaderFunc(j.readFrontier))
		if err != nil {
			return fmt.Errorf("hash record %d: %w", seq, err)
		}
		j.addFrontier(seq, hs)
		for _, h := range hs {
			hashBuf = append(hashBuf, h[:]...)
		}
		offBuf = appendU64(offBuf, uint64(off))
		if len(hashBuf) >= 1<<20 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild hashes and offsets from record %d: %w", from, err)
	}
	return flush()
}

// allZero tells whether b holds only zero bytes.
func allZero(b []byte) bool {
	for len(b) >= len(zeroBlock) {
		if !bytes.Equal(b[:len(zeroBlock)], zeroBlock[:]) {
			return false
		}
		b = b[len(zeroBlock):]
	}
	return bytes.Equal(b, zeroBlock[:len(b)])
}

var zeroBlock [4096]byte

func fileSize(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

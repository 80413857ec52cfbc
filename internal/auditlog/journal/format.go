package journal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// On-disk format.
//
// A segment file starts with a fileHeaderSize-byte header:
//
//	[8]byte magic "JKJRNL\x00\x01", u32 version, u32 reserved (0),
//	u64 first seq, u32 crc32c of the preceding 24 bytes, u32 reserved (0)
//
// followed by records, each aligned to 8 bytes:
//
//	u32 data length
//	u32 crc32c over the record header without this field, then the data
//	u64 seq
//	u32 index of the record in its group (0-based)
//	u32 records in its group
//	data, zero-padded to a multiple of 8 bytes
//
// A group is the records written by one write and made durable by one sync.
// The group fields let recovery tell a torn final group (not acknowledged,
// dropped) from a damaged record followed by later groups (acknowledged data
// lost: an error); see scanLast. All integers are little-endian.
const (
	fileHeaderSize   = 32
	recordHeaderSize = 24
	formatVersion    = 1

	// MaxRecordSize is the largest record data Append accepts.
	MaxRecordSize = 1 << 20
	// maxGroupBytes bounds one group's write. Recovery relies on it: a torn
	// final group lies within maxGroupBytes of the last complete group's end,
	// and that window is what it zeroes.
	maxGroupBytes = 4 << 20
)

var magic = [8]byte{'J', 'K', 'J', 'R', 'N', 'L', 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordSize is the bytes a record with n data bytes takes, padding included.
func recordSize(n int) int64 {
	return (int64(recordHeaderSize+n) + 7) &^ 7
}

// encodeFileHeader returns a segment header for a segment whose first record
// is firstSeq.
func encodeFileHeader(firstSeq int64) []byte {
	b := make([]byte, fileHeaderSize)
	copy(b, magic[:])
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	binary.LittleEndian.PutUint64(b[16:], uint64(firstSeq))
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
	return b
}

// decodeFileHeader checks a segment header and returns its first seq.
func decodeFileHeader(b []byte) (int64, error) {
	if len(b) < fileHeaderSize {
		return 0, errors.New("segment header truncated")
	}
	if [8]byte(b[:8]) != magic {
		return 0, errors.New("not a journal segment (bad magic)")
	}
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return 0, errors.New("segment header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return 0, fmt.Errorf("segment format version %d, want %d", v, formatVersion)
	}
	first := int64(binary.LittleEndian.Uint64(b[16:]))
	if first < 0 {
		return 0, errors.New("segment header: negative first seq")
	}
	return first, nil
}

// appendRecord appends the encoded record to dst.
func appendRecord(dst []byte, seq int64, index, count int, data []byte) []byte {
	start := len(dst)
	size := int(recordSize(len(data)))
	dst = append(dst, make([]byte, size)...)
	r := dst[start : start+size]
	binary.LittleEndian.PutUint32(r[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(r[8:], uint64(seq))
	binary.LittleEndian.PutUint32(r[16:], uint32(index))
	binary.LittleEndian.PutUint32(r[20:], uint32(count))
	copy(r[recordHeaderSize:], data)
	binary.LittleEndian.PutUint32(r[4:], recordCRC(r[:recordHeaderSize], data))
	return dst
}

func recordCRC(header, data []byte) uint32 {
	c := crc32.Update(0, castagnoli, header[0:4])
	c = crc32.Update(c, castagnoli, header[8:recordHeaderSize])
	return crc32.Update(c, castagnoli, data)
}

// record is a decoded record; data aliases the buffer it was decoded from.
type record struct {
	seq          int64
	index, count int
	data         []byte
	size         int64 // bytes taken in the segment, padding included
}

// groupStart is the seq of the first record of r's group.
func (r record) groupStart() int64 { return r.seq - int64(r.index) }

// errShort means b ends before the record does.
var errShort = errors.New("record truncated")

// decodeRecord decodes the record at the start of b. It checks the length,
// the checksum and the group fields, not the seq's place in the sequence.
func decodeRecord(b []byte) (record, error) {
	if len(b) < recordHeaderSize {
		return record{}, errShort
	}
	n := binary.LittleEndian.Uint32(b[0:])
	if n > MaxRecordSize {
		return record{}, fmt.Errorf("record length %d exceeds %d", n, MaxRecordSize)
	}
	size := recordSize(int(n))
	if int64(len(b)) < size {
		return record{}, errShort
	}
	data := b[recordHeaderSize : recordHeaderSize+int(n)]
	if recordCRC(b[:recordHeaderSize], data) != binary.LittleEndian.Uint32(b[4:]) {
		return record{}, errors.New("record checksum mismatch")
	}
	r := record{
		seq:   int64(binary.LittleEndian.Uint64(b[8:])),
		index: int(binary.LittleEndian.Uint32(b[16:])),
		count: int(binary.LittleEndian.Uint32(b[20:])),
		data:  data,
		size:  size,
	}
	if r.seq < 0 || r.count <= 0 || r.index >= r.count || int64(r.index) > r.seq {
		return record{}, fmt.Errorf("record seq %d: bad group fields %d/%d", r.seq, r.index, r.count)
	}
	return r, nil
}

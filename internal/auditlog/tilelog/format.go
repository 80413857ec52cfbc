package tilelog

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
//	[8]byte magic "JKJRNL\x00\x01", u32 version, u32 first group,
//	u64 first seq, u32 crc32c of the preceding 24 bytes, u32 reserved (0)
//
// followed by records, each aligned to 8 bytes:
//
//	u32 data length
//	u32 crc32c over the record header without this field, then the data
//	u64 seq
//	u32 group number (counting groups from the journal's start, mod 2³²)
//	u16 index of the record in its group (0-based)
//	u16 records in its group
//	data, zero-padded to a multiple of 8 bytes
//
// A group is the records written by one write and made durable by one sync.
// At most maxInFlight groups are written and not yet synced at a time. The
// group fields let recovery tell torn final groups (not acknowledged,
// dropped) from a damaged record followed by a group written after its sync
// (acknowledged data lost: an error); see scanLast. All integers are
// little-endian.
const (
	fileHeaderSize   = 32
	recordHeaderSize = 24
	formatVersion    = 1

	// MaxRecordSize is the largest record data Append accepts.
	MaxRecordSize = 1 << 20
	// maxGroupBytes bounds one group's write (and the writer's memory).
	maxGroupBytes = 4 << 20
	// maxGroupRecords bounds the records in one group (u16 count).
	maxGroupRecords = 1<<16 - 1
	// maxInFlight bounds the groups written but not yet synced. Recovery
	// relies on it: a record of group g+maxInFlight can only have been
	// written after group g's sync, so a damaged group g followed by it had
	// been acknowledged.
	maxInFlight = 4
)

var magic = [8]byte{'J', 'K', 'J', 'R', 'N', 'L', 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// recordSize is the bytes a record with n data bytes takes, padding included.
func recordSize(n int) int64 {
	return (int64(recordHeaderSize+n) + 7) &^ 7
}

// encodeFileHeader returns a segment header for a segment whose first record
// is firstSeq.
// and whose first group is firstGroup.
func encodeFileHeader(firstSeq int64, firstGroup uint32) []byte {
	b := make([]byte, fileHeaderSize)
	copy(b, magic[:])
	binary.LittleEndian.PutUint32(b[8:], formatVersion)
	binary.LittleEndian.PutUint32(b[12:], firstGroup)
	binary.LittleEndian.PutUint64(b[16:], uint64(firstSeq))
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[:24], castagnoli))
	return b
}

// decodeFileHeader checks a segment header and returns its first seq and
// first group.
func decodeFileHeader(b []byte) (int64, uint32, error) {
	if len(b) < fileHeaderSize {
		return 0, 0, errors.New("segment header truncated")
	}
	if [8]byte(b[:8]) != magic {
		return 0, 0, errors.New("not a journal segment (bad magic)")
	}
	if crc32.Checksum(b[:24], castagnoli) != binary.LittleEndian.Uint32(b[24:]) {
		return 0, 0, errors.New("segment header checksum mismatch")
	}
	if v := binary.LittleEndian.Uint32(b[8:]); v != formatVersion {
		return 0, 0, fmt.Errorf("segment format version %d, want %d", v, formatVersion)
	}
	first := int64(binary.LittleEndian.Uint64(b[16:]))
	if first < 0 {
		return 0, 0, errors.New("segment header: negative first seq")
	}
	return first, binary.LittleEndian.Uint32(b[12:]), nil
}

// appendRecord appends the encoded record to dst.
func appendRecord(dst []byte, seq int64, group uint32, index, count int, data []byte) []byte {
	start := len(dst)
	size := int(recordSize(len(data)))
	dst = append(dst, make([]byte, size)...)
	r := dst[start : start+size]
	binary.LittleEndian.PutUint32(r[0:], uint32(len(data)))
	binary.LittleEndian.PutUint64(r[8:], uint64(seq))
	binary.LittleEndian.PutUint32(r[16:], group)
	binary.LittleEndian.PutUint16(r[20:], uint16(index))
	binary.LittleEndian.PutUint16(r[22:], uint16(count))
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
	group        uint32
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
		group: binary.LittleEndian.Uint32(b[16:]),
		index: int(binary.LittleEndian.Uint16(b[20:])),
		count: int(binary.LittleEndian.Uint16(b[22:])),
		data:  data,
		size:  size,
	}
	if r.seq < 0 || r.count <= 0 || r.index >= r.count || int64(r.index) > r.seq {
		return record{}, fmt.Errorf("record seq %d: bad group fields %d/%d", r.seq, r.index, r.count)
	}
	return r, nil
}

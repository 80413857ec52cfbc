package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sys/unix"

	"jukinet/internal/fileutil"
)

// The audit journal is the log's write-ahead file: on a node that runs
// with it, entries without work (look-ups, searches, refusals) are made
// durable by appending them to a segment file — one write and one
// fdatasync for a whole group, no B-tree work — and their SQL rows
// (audit_entry, audit_tile, audit_subject), which every reader of the log
// uses, are written afterwards in large transactions by the indexer. A
// change still commits its entry in the change's own transaction, after
// every journaled entry before it (so the rows stay a gap-free prefix).
// Recovery after a crash writes the rows of every journaled entry that has
// none. docs/design/audit-storage.md has the protocol and the figures.
//
// Segment files are named seg-<first seq>.wal, preallocated (so that an
// fdatasync does not also write the file's size), and hold, after a
// 16-byte header, records of:
//
//	u32 body length | u32 CRC-32C of seq and body | u64 seq | body
//
// A zero length ends a segment's records. The body is the entry's rows:
// time, actor, action, payload, stored tree hashes and subjects.
//
// Writers of the same log serialise on an advisory lock (flock) on the
// folder's lock file: the process that journals holds it while it has
// groups written and not yet answered (and lets it go when it has none, or
// when another process waits), and a process that appends through SQL (a
// console command beside the server) holds it while it first writes the
// rows of what is journaled and then its own entry.
//
// A process waiting for that lock first takes the queue file's flock and
// holds it until it has the lock: a holder sees that someone waits (the
// queue is taken) and, taking the lock again, queues behind them. Without
// the queue, a server under constant load that let the lock go and took it
// again at once would almost always win it back before the waiting
// process woke up.

// journalMagic starts every segment: the format and its version.
var journalMagic = [16]byte{'j', 'u', 'k', 'i', 'n', 'e', 't', '-', 'a', 'u', 'd', 'i', 't', 'j', 0, 1}

// DefaultJournalSegment is the preallocated size of a journal segment.
const DefaultJournalSegment = 8 << 20

// maxJournalRecord bounds one record's body: a journaled entry names at
// most a search's results, never an import's residents.
const maxJournalRecord = 16 << 20

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// journal is an open audit journal folder.
type journal struct {
	dir     string
	segSize int64
	sync    func(f *os.File) error

	lockFile  *os.File
	queueFile *os.File   // held by a process waiting for lockFile
	mu        sync.Mutex // the lock holders of this process, one at a time

	// writer is the lifetime lock of the process that journals (nil in a
	// process that only reads and indexes the journal).
	writer *os.File

	// Owned by the holder of the lock (the journaling process's committer).
	cur      *os.File
	curFirst int64
	curOff   int64
	broken   error // a failed write that could not be undone: no more appends

	// durable is one past the latest seq this process made durable: what
	// the indexer may index.
	durable atomic.Int64
}

// journalOptions configure an opened journal.
type journalOptions struct {
	SegmentSize int64
	// Sync makes a segment's writes durable; nil means fdatasync.
	Sync func(f *os.File) error
	// Writer takes the folder's writer lock for the life of the journal:
	// only one process journals entries at a time.
	Writer bool
}

// openJournal opens (creating it if needed) the journal folder dir.
func openJournal(dir string, opt journalOptions) (*journal, error) {
	if opt.SegmentSize <= 0 {
		opt.SegmentSize = DefaultJournalSegment
	}
	if opt.Sync == nil {
		opt.Sync = func(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open the audit journal: %w", err)
	}
	lf, err := os.OpenFile(filepath.Join(dir, "lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the audit journal's lock: %w", err)
	}
	qf, err := os.OpenFile(filepath.Join(dir, "lock.queue"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		lf.Close()
		return nil, fmt.Errorf("open the audit journal's lock queue: %w", err)
	}
	j := &journal{dir: dir, segSize: opt.SegmentSize, sync: opt.Sync, lockFile: lf, queueFile: qf}
	if opt.Writer {
		wf, err := os.OpenFile(filepath.Join(dir, "writer.lock"), os.O_CREATE|os.O_RDWR, 0o600)
		if err != nil {
			qf.Close()
			lf.Close()
			return nil, fmt.Errorf("open the audit journal's writer lock: %w", err)
		}
		if err := unix.Flock(int(wf.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			wf.Close()
			qf.Close()
			lf.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				return nil, fmt.Errorf("another process journals this node's audit log (%s): only one server runs per node", dir)
			}
			return nil, fmt.Errorf("lock the audit journal for writing: %w", err)
		}
		j.writer = wf
	}
	return j, nil
}

// close releases the journal's files and locks.
func (j *journal) close() error {
	var errs []error
	if j.cur != nil {
		errs = append(errs, j.cur.Close())
		j.cur = nil
	}
	if j.writer != nil {
		errs = append(errs, j.writer.Close())
	}
	errs = append(errs, j.queueFile.Close(), j.lockFile.Close())
	return errors.Join(errs...)
}

// lock takes the writers' lock: this process's and the folder's. It waits
// in the queue (holding the queue file's flock) until it has the lock.
func (j *journal) lock() (unlock func(), err error) {
	return j.lockWith(flockEx)
}

// lockContext is lock for a caller that may give up (a console command the
// user can interrupt): it tries the queue and then the lock every few
// milliseconds until it has the lock, or until ctx ends.
func (j *journal) lockContext(ctx context.Context) (unlock func(), err error) {
	return j.lockWith(func(f *os.File) error { return flockPoll(ctx, f) })
}

// lockWith is lock, taking each file's flock with take.
func (j *journal) lockWith(take func(*os.File) error) (unlock func(), err error) {
	j.mu.Lock()
	if err := take(j.queueFile); err != nil {
		j.mu.Unlock()
		return nil, fmt.Errorf("queue for the audit journal's lock: %w", err)
	}
	err = take(j.lockFile)
	unix.Flock(int(j.queueFile.Fd()), unix.LOCK_UN)
	if err != nil {
		j.mu.Unlock()
		return nil, fmt.Errorf("lock the audit journal: %w", err)
	}
	return func() {
		unix.Flock(int(j.lockFile.Fd()), unix.LOCK_UN)
		j.mu.Unlock()
	}, nil
}

// flockPoll takes f's exclusive flock, trying every 5 ms until ctx ends.
func flockPoll(ctx context.Context, f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// flockEx takes f's exclusive flock, waiting for it.
func flockEx(f *os.File) error {
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

// othersWaiting reports whether another process waits for the writers'
// lock, which the caller holds: the queue is taken. (An error other than
// "taken" is answered yes too: letting the lock go costs little.)
func (j *journal) othersWaiting() bool {
	if err := unix.Flock(int(j.queueFile.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true
	}
	unix.Flock(int(j.queueFile.Fd()), unix.LOCK_UN)
	return false
}

// journalRecord is one journaled entry: its rows.
type journalRecord struct {
	seq      int64
	at       time.Time
	actor    string
	action   string
	payload  []byte
	hashes   []tlog.Hash // the stored hashes tlog.StoredHashes gave for seq
	subjects []string
}

// appendTo encodes r as a record at the end of b.
func (r *journalRecord) appendTo(b []byte) ([]byte, error) {
	start := len(b)
	b = append(b, make([]byte, 16)...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.at.UnixMicro()))
	for _, s := range []string{r.actor, r.action} {
		if len(s) > 0xffff {
			return nil, fmt.Errorf("journal entry %d: a column of %d bytes", r.seq, len(s))
		}
		b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
		b = append(b, s...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.payload)))
	b = append(b, r.payload...)
	b = append(b, byte(len(r.hashes)))
	for _, h := range r.hashes {
		b = append(b, h[:]...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.subjects)))
	for _, s := range r.subjects {
		if len(s) > 0xff {
			return nil, fmt.Errorf("journal entry %d: a subject of %d bytes", r.seq, len(s))
		}
		b = append(b, byte(len(s)))
		b = append(b, s...)
	}
	body := len(b) - start - 16
	if body > maxJournalRecord {
		return nil, fmt.Errorf("journal entry %d: %d bytes, more than a journaled entry may hold", r.seq, body)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(body))
	binary.BigEndian.PutUint64(b[start+8:], uint64(r.seq))
	binary.BigEndian.PutUint32(b[start+4:], crc32.Checksum(b[start+8:], crcTable))
	return b, nil
}

// decodeJournalBody reads a record's body.
func decodeJournalBody(seq int64, body []byte) (*journalRecord, error) {
	bad := fmt.Errorf("journal entry %d: its body is malformed", seq)
	r := &journalRecord{seq: seq}
	take := func(n int) []byte {
		if n < 0 || len(body) < n {
			return nil
		}
		out := body[:n]
		body = body[n:]
		return out
	}
	b := take(8)
	if b == nil {
		return nil, bad
	}
	r.at = time.UnixMicro(int64(binary.BigEndian.Uint64(b))).UTC()
	for _, s := range []*string{&r.actor, &r.action} {
		n := take(2)
		if n == nil {
			return nil, bad
		}
		v := take(int(binary.BigEndian.Uint16(n)))
		if v == nil {
			return nil, bad
		}
		*s = string(v)
	}
	n := take(4)
	if n == nil {
		return nil, bad
	}
	if r.payload = take(int(binary.BigEndian.Uint32(n))); r.payload == nil {
		return nil, bad
	}
	r.payload = bytes.Clone(r.payload)
	n = take(1)
	if n == nil {
		return nil, bad
	}
	r.hashes = make([]tlog.Hash, n[0])
	for i := range r.hashes {
		h := take(tlog.HashSize)
		if h == nil {
			return nil, bad
		}
		copy(r.hashes[i][:], h)
	}
	n = take(4)
	if n == nil {
		return nil, bad
	}
	count := int(binary.BigEndian.Uint32(n))
	if count > len(body) {
		return nil, bad
	}
	r.subjects = make([]string, count)
	for i := range r.subjects {
		l := take(1)
		if l == nil {
			return nil, bad
		}
		v := take(int(l[0]))
		if v == nil {
			return nil, bad
		}
		r.subjects[i] = string(v)
	}
	if len(body) != 0 {
		return nil, bad
	}
	return r, nil
}

// segment is a segment file: the first seq it holds, and its path.
type segment struct {
	first int64
	path  string
}

// segments lists the folder's segments, oldest first.
func (j *journal) segments() ([]segment, error) {
	des, err := os.ReadDir(j.dir)
	if err != nil {
		return nil, fmt.Errorf("list the audit journal: %w", err)
	}
	var out []segment
	for _, de := range des {
		name := de.Name()
		if !strings.HasPrefix(name, "seg-") || !strings.HasSuffix(name, ".wal") {
			continue
		}
		first, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, "seg-"), ".wal"), 10, 64)
		if err != nil || first < 0 {
			continue
		}
		out = append(out, segment{first: first, path: filepath.Join(j.dir, name)})
	}
	slices.SortFunc(out, func(a, b segment) int { return int(a.first - b.first) })
	return out, nil
}

func segmentName(first int64) string { return fmt.Sprintf("seg-%020d.wal", first) }

// encodeGroup encodes recs (consecutive seqs) as the bytes of one group.
func encodeGroup(recs []journalRecord) ([]byte, error) {
	var buf []byte
	var err error
	for i := range recs {
		if buf, err = recs[i].appendTo(buf); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// fits reports whether a group of n bytes can be written without starting
// a new segment. Starting one closes the current segment, so the journal's
// user lands every group in flight first.
func (j *journal) fits(n int) bool {
	return j.cur != nil && (j.curOff+int64(n)+4 <= j.segSize || j.curOff == int64(len(journalMagic)))
}

// write writes a group's bytes at the end of the journal, starting a new
// segment if they do not fit, and returns the file and offset they were
// written at. They are not durable until a sync of that file issued after
// write returns has succeeded. The caller holds the lock. On an error
// nothing of the group counts: its bytes are zeroed again (and if that
// fails too, the journal takes no more appends).
func (j *journal) write(buf []byte) (f *os.File, off int64, err error) {
	if j.broken != nil {
		return nil, 0, fmt.Errorf("the audit journal cannot be appended to since an earlier failure: %w", j.broken)
	}
	if !j.fits(len(buf)) {
		seq := int64(binary.BigEndian.Uint64(buf[8:]))
		if err := j.rotate(seq, int64(len(buf))); err != nil {
			return nil, 0, err
		}
	}
	off = j.curOff
	if _, err := j.cur.WriteAt(buf, off); err != nil {
		return nil, 0, j.undo(off, len(buf), fmt.Errorf("write the audit journal: %w", err))
	}
	j.curOff += int64(len(buf))
	return j.cur, off, nil
}

// truncate takes back every group written at or after off in the current
// segment, none of which was acknowledged (a sync failed): their bytes are
// zeroed and synced, so that none can be read as a record, and the next
// group is written at off. If that fails, the journal takes no more
// appends. cause is returned.
func (j *journal) truncate(off int64, cause error) error {
	n := j.curOff - off
	j.curOff = off
	return j.undo(off, int(n), cause)
}

// append writes recs (consecutive seqs) at the end of the journal and makes
// them durable: write, then sync. The caller holds the lock and has no
// group in flight. On an error nothing of recs counts.
func (j *journal) append(recs []journalRecord) error {
	if len(recs) == 0 {
		return nil
	}
	buf, err := encodeGroup(recs)
	if err != nil {
		return err
	}
	f, off, err := j.write(buf)
	if err != nil {
		return err
	}
	if err := j.sync(f); err != nil {
		return j.truncate(off, fmt.Errorf("sync the audit journal: %w", err))
	}
	return nil
}

// undo zeroes n bytes at off in the current segment after a failed write
// or sync, so that no half-written or unacknowledged record can be read as
// one.
func (j *journal) undo(off int64, n int, cause error) error {
	if n <= 0 {
		return cause
	}
	if _, err := j.cur.WriteAt(make([]byte, n), off); err != nil {
		j.broken = cause
		return cause
	}
	if err := j.sync(j.cur); err != nil {
		j.broken = cause
	}
	return cause
}

// rotate starts a new segment at first, large enough for need bytes.
func (j *journal) rotate(first, need int64) error {
	size := max(j.segSize, need+int64(len(journalMagic))+4)
	path := filepath.Join(j.dir, segmentName(first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("start an audit journal segment: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("start an audit journal segment: %w", err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		if !errors.Is(err, unix.EOPNOTSUPP) {
			return fail(err)
		}
		// A file system without fallocate: the file grows as written.
	}
	if _, err := f.WriteAt(journalMagic[:], 0); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	fileutil.SyncDir(j.dir)
	if j.cur != nil {
		j.cur.Close()
	}
	j.cur, j.curFirst, j.curOff = f, first, int64(len(journalMagic))
	return nil
}

// journalCursor is where a reader of the journal stopped: the next seq it
// expects, in which segment, at which offset.
type journalCursor struct {
	next  int64
	first int64 // the segment's first seq; -1: none yet
	off   int64
}

// read calls fn with every record from seq from up to (not including)
// limit (-1: to the end), in order. c, if not nil, is where the previous
// read stopped; it is used when it stopped at from, and updated. A record
// that does not follow the one before it — a torn or stale record — ends
// the last segment; in any other segment it is an error.
func (j *journal) read(c *journalCursor, from, limit int64, fn func(r *journalRecord) error) error {
	if limit >= 0 && from >= limit {
		return nil
	}
	segs, err := j.segments()
	if err != nil {
		return err
	}
	if len(segs) == 0 {
		return nil
	}
	// Start in the last segment that begins at or before from (or, when
	// the cursor stopped exactly at from, where it stopped).
	start := 0
	for i, s := range segs {
		if s.first <= from {
			start = i
		}
	}
	if segs[start].first > from {
		return fmt.Errorf("the audit journal starts at entry %d, after entry %d whose rows are missing", segs[start].first, from)
	}
	var off int64
	if c != nil && c.next == from && c.first == segs[start].first {
		off = c.off
	}
	next := from
	for i := start; i < len(segs); i++ {
		s := segs[i]
		last := i == len(segs)-1
		if i > start {
			if s.first != next {
				if s.first < next {
					continue // all of it was read already (a later segment began past a torn tail)
				}
				return fmt.Errorf("the audit journal jumps from entry %d to segment %s", next, filepath.Base(s.path))
			}
			off = 0
		}
		stop, at, err := j.readSegment(s, off, &next, limit, last, fn)
		if errors.Is(err, os.ErrNotExist) {
			// Removed meanwhile: its entries have rows. Start again.
			return j.read(nil, next, limit, fn)
		}
		if err != nil {
			return err
		}
		if c != nil {
			*c = journalCursor{next: next, first: s.first, off: at}
		}
		if stop {
			return nil
		}
	}
	return nil
}

// readSegment reads s from off (0: after the header), calling fn for each
// record with next ≤ seq < limit and advancing next. It returns at, the
// offset after the last record read, and stop when limit was reached.
func (j *journal) readSegment(s segment, off int64, next *int64, limit int64, last bool, fn func(r *journalRecord) error) (stop bool, at int64, err error) {
	f, err := os.Open(s.path)
	if err != nil {
		return false, 0, err
	}
	defer f.Close()
	if off == 0 {
		var magic [16]byte
		if _, err := io.ReadFull(f, magic[:]); err != nil || magic != journalMagic {
			if last {
				return false, 0, nil // a segment begun but not yet written
			}
			return false, 0, fmt.Errorf("audit journal segment %s: not a journal segment", filepath.Base(s.path))
		}
		off = int64(len(journalMagic))
	}
	r := io.NewSectionReader(f, off, 1<<62)
	br := bufio.NewReaderSize(r, 1<<20)
	at = off
	var head [16]byte
	for {
		if limit >= 0 && *next >= limit {
			return true, at, nil
		}
		if _, err := io.ReadFull(br, head[:]); err != nil {
			return false, at, nil // the end of the file
		}
		n := int64(binary.BigEndian.Uint32(head[:4]))
		if n == 0 {
			return false, at, nil
		}
		seq := int64(binary.BigEndian.Uint64(head[8:]))
		var body []byte
		if n <= maxJournalRecord {
			body = make([]byte, n)
			if _, err := io.ReadFull(br, body); err != nil {
				body = nil
			}
		}
		ok := body != nil && crc32.Update(crc32.Checksum(head[8:], crcTable), crcTable, body) == binary.BigEndian.Uint32(head[4:8])
		if ok && seq < *next {
			// An entry read before (a segment begun again at a lower seq
			// after a crash cannot happen: the writer starts afresh): skip.
			at += 16 + n
			continue
		}
		if !ok || seq != *next {
			if last {
				return false, at, nil // a torn or stale tail
			}
			return false, at, fmt.Errorf("audit journal segment %s: the record at byte %d (entry %d expected) is damaged", filepath.Base(s.path), at, *next)
		}
		rec, err := decodeJournalBody(seq, body)
		if err != nil {
			return false, at, err
		}
		if err := fn(rec); err != nil {
			return false, at, err
		}
		at += 16 + n
		*next = seq + 1
	}
}

// dropBelow removes the segments all of whose entries are below seq (their
// rows are written), never the newest one.
func (j *journal) dropBelow(seq int64) error {
	segs, err := j.segments()
	if err != nil {
		return err
	}
	for i := 0; i+1 < len(segs); i++ {
		if segs[i+1].first <= seq {
			if err := os.Remove(segs[i].path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("remove an indexed audit journal segment: %w", err)
			}
		}
	}
	return nil
}

// reset removes every segment; the caller holds the lock, and every
// journaled entry has its rows. The next append starts a new segment.
func (j *journal) reset() error {
	segs, err := j.segments()
	if err != nil {
		return err
	}
	for _, s := range segs {
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove an indexed audit journal segment: %w", err)
		}
	}
	if j.cur != nil {
		j.cur.Close()
		j.cur = nil
	}
	fileutil.SyncDir(j.dir)
	return nil
}

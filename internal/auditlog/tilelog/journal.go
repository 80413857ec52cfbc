package tilelog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sys/unix"
)

// SyncMode is how a group is made durable.
type SyncMode int

const (
	// SyncFdatasync writes the group, then calls fdatasync (the default).
	SyncFdatasync SyncMode = iota
	// SyncFsync writes the group, then calls fsync.
	SyncFsync
	// SyncODSync opens segments with O_DSYNC: the write returns once durable.
	SyncODSync
)

// String names the mode as the benchmarks print it.
func (m SyncMode) String() string {
	switch m {
	case SyncFdatasync:
		return "fdatasync"
	case SyncFsync:
		return "fsync"
	case SyncODSync:
		return "odsync"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// Prealloc is how a new segment file's space is reserved.
type Prealloc int

const (
	// PreallocFallocate reserves the segment with fallocate (the default).
	PreallocFallocate Prealloc = iota
	// PreallocNone lets the segment grow with each write.
	PreallocNone
	// PreallocZero writes zeros over the whole segment when it is created,
	// so later writes overwrite allocated, initialised blocks.
	PreallocZero
)

// String names the mode as the benchmarks print it.
func (p Prealloc) String() string {
	switch p {
	case PreallocFallocate:
		return "fallocate"
	case PreallocNone:
		return "none"
	case PreallocZero:
		return "zero"
	}
	return fmt.Sprintf("Prealloc(%d)", int(p))
}

// DefaultSegmentSize is the segment size when Options.SegmentSize is zero.
const DefaultSegmentSize = 64 << 20

// minSegmentSize is the smallest segment size Open accepts.
const minSegmentSize = 64 << 10

// Options configure a Journal. The zero value is the default.
type Options struct {
	// SegmentSize is the size a segment is preallocated to, and the size
	// past which no record is written to it; zero means DefaultSegmentSize.
	SegmentSize int64
	// Sync is how each group is made durable.
	Sync SyncMode
	// Prealloc is how a new segment's space is reserved.
	Prealloc Prealloc
	// MaxGroup is the most records in one group (one write and one sync);
	// zero means 1024, and at most 65535.
	MaxGroup int
	// InFlight is how many groups may be written and syncing at once; zero
	// means DefaultInFlight, and at most 4. With more than one, a group is
	// written while the previous one syncs (the disk overlaps the syncs);
	// callers are still released in seq order.
	InFlight int
}

// DefaultInFlight is Options.InFlight's default.
const DefaultInFlight = 2

// Errors returned by the journal.
var (
	// ErrClosed is returned by Append after Close.
	ErrClosed = errors.New("journal is closed")
	// ErrTooLarge is returned when a record's data exceeds MaxRecordSize
	// or does not fit in one segment.
	ErrTooLarge = errors.New("journal record too large")
	// ErrNotFound is returned for a seq at or past Size.
	ErrNotFound = errors.New("journal record not found")
	// ErrDropped is returned for a seq whose segment DropBefore deleted.
	ErrDropped = errors.New("journal record dropped by retention")
)

// Stats counts the writer's work since Open.
type Stats struct {
	Groups  int64 // groups written, each with one write and one sync
	Records int64 // records written
}

// Journal is an append-only, group-committed record log with a Merkle tree
// (golang.org/x/mod/sumdb/tlog) over its records. Its methods are safe for
// concurrent use.
type Journal struct {
	dir     string
	opt     Options
	hashes  *os.File // dense tlog stored hashes, 32 bytes each
	offsets *os.File // u64 per seq: the record's offset in its segment

	mu   sync.RWMutex // guards segs (the slice; segment files are immutable below Size)
	segs []*segment

	size   atomic.Int64 // records durable, hashed and readable
	groups atomic.Int64
	recs   atomic.Int64

	jobs     chan *job
	closeMu  sync.Mutex
	closed   bool
	slots    chan struct{} // one per group in flight
	synced   chan *group   // groups in seq order, to the releaser
	done     chan struct{} // closed when writer and releaser have stopped
	failedAt atomic.Pointer[error]

	// Owned by the writer goroutine (and by Open before it starts).
	next         int64    // seq the next built record gets
	nextGroup    uint32   // number of the next group
	w            *segment // the segment being written
	wOff         int64    // where the next group is written in w
	frontier     [64]frontierHash
	pending      []built // records built but not yet written
	pendingBytes int64
}

// group is one write and one sync on its way.
type group struct {
	seg     *segment
	off     int64
	buf     []byte // the encoded records
	recs    []built
	hashes  []byte // their stored hashes, for the hash file
	offs    []byte // their offsets, for the offsets file
	err     error
	written chan struct{} // closed when written and synced
}

type segment struct {
	first int64
	path  string
	f     *os.File
}

type frontierHash struct {
	ok   bool
	pos  int64
	hash tlog.Hash
}

type built struct {
	job  *job
	seq  int64
	data []byte
}

// Job states.
const (
	jobQueued int32 = iota
	jobTaken
	jobCancelled
)

type job struct {
	ctx   context.Context
	build func(seq int64) ([]byte, error)
	state atomic.Int32
	seq   int64
	err   error
	done  chan struct{}
}

func (jb *job) finish(seq int64, err error) {
	jb.seq, jb.err = seq, err
	close(jb.done)
}

// Dir returns the journal's folder.
func (j *Journal) Dir() string { return j.dir }

// Size returns the number of records that are durable and readable.
func (j *Journal) Size() int64 { return j.size.Load() }

// Stats returns the writer's counts since Open.
func (j *Journal) Stats() Stats {
	return Stats{Groups: j.groups.Load(), Records: j.recs.Load()}
}

// Append adds one record and returns its seq once the record is durable,
// with every record before it. build runs on the writer goroutine, in seq
// order, with the seq the record will get; it must not call the journal.
// If build fails, no seq is consumed and only this call fails. If ctx ends
// before build has run, Append returns ctx's error and consumes no seq; once
// build has run, Append waits for the write and reports its outcome. The
// journal keeps the returned data until Append returns: the caller must not
// change it before. If the write or sync fails after build ran, Append
// returns that error: the record may or may not be there after a reopen
// (recovery decides), and the journal refuses further appends until then.
func (j *Journal) Append(ctx context.Context, build func(seq int64) ([]byte, error)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	jb := &job{ctx: ctx, build: build, done: make(chan struct{})}
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return -1, ErrClosed
	}
	// Sent under the lock, so Close cannot close the channel meanwhile; the
	// writer drains it without taking the lock.
	select {
	case j.jobs <- jb:
		j.closeMu.Unlock()
	case <-ctx.Done():
		j.closeMu.Unlock()
		return -1, ctx.Err()
	}
	select {
	case <-jb.done:
	case <-ctx.Done():
		if jb.state.CompareAndSwap(jobQueued, jobCancelled) {
			return -1, ctx.Err()
		}
		<-jb.done
	}
	return jb.seq, jb.err
}

// AppendBytes appends data as one record; see Append.
func (j *Journal) AppendBytes(ctx context.Context, data []byte) (int64, error) {
	return j.Append(ctx, func(int64) ([]byte, error) { return data, nil })
}

// Close waits for the records already queued, stops the writer, makes the
// hash and offsets files durable and closes the files. Append after Close
// returns ErrClosed; reads after Close fail.
func (j *Journal) Close() error {
	j.closeMu.Lock()
	if j.closed {
		j.closeMu.Unlock()
		return ErrClosed
	}
	j.closed = true
	close(j.jobs)
	j.closeMu.Unlock()
	<-j.done
	var errs []error
	if j.failed() == nil {
		errs = append(errs, syncFile(j.hashes, SyncFdatasync), syncFile(j.offsets, SyncFdatasync))
	}
	errs = append(errs, j.hashes.Close(), j.offsets.Close())
	j.mu.Lock()
	for _, s := range j.segs {
		errs = append(errs, s.f.Close())
	}
	j.segs = nil
	j.mu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close journal %s: %w", j.dir, err)
	}
	return nil
}

// failed returns the error that stopped the journal, or nil.
func (j *Journal) failed() error {
	if p := j.failedAt.Load(); p != nil {
		return *p
	}
	return nil
}

func (j *Journal) fail(err error) {
	err = fmt.Errorf("journal %s failed, reopen it: %w", j.dir, err)
	j.failedAt.CompareAndSwap(nil, &err)
}

// run is the writer goroutine: it builds records, writes groups and hands
// them to sync goroutines and, in order, to the releaser.
func (j *Journal) run() {
	defer close(j.synced)
	for {
		if len(j.pending) == 0 {
			jb, ok := <-j.jobs
			if !ok {
				return
			}
			j.take(jb)
		}
		// Collect what has queued meanwhile, without waiting for more.
	collect:
		for len(j.pending) < j.opt.MaxGroup && j.pendingBytes < maxGroupBytes {
			select {
			case jb, ok := <-j.jobs:
				if !ok {
					break collect
				}
				j.take(jb)
			default:
				break collect
			}
		}
		if len(j.pending) > 0 {
			j.startGroup()
		}
	}
}

// take runs a queued job's build and adds its record to the pending group.
func (j *Journal) take(jb *job) {
	if !jb.state.CompareAndSwap(jobQueued, jobTaken) {
		return // cancelled: its caller has returned
	}
	if err := j.failed(); err != nil {
		jb.finish(-1, err)
		return
	}
	if err := jb.ctx.Err(); err != nil {
		jb.finish(-1, err)
		return
	}
	seq := j.next
	data, err := jb.build(seq)
	if err != nil {
		jb.finish(-1, fmt.Errorf("build journal record %d: %w", seq, err))
		return
	}
	if len(data) > MaxRecordSize || fileHeaderSize+recordSize(len(data)) > j.opt.SegmentSize {
		jb.finish(-1, fmt.Errorf("journal record %d: %d bytes: %w", seq, len(data), ErrTooLarge))
		return
	}
	j.next++
	j.pending = append(j.pending, built{job: jb, seq: seq, data: data})
	j.pendingBytes += recordSize(len(data))
}

// startGroup makes a group of the pending records (as many as fit in the
// segment and the group limits), hashes it, and once a slot is free writes
// and syncs it on a goroutine of its own. Records left over start the next
// group. A journal that failed fails the pending records.
func (j *Journal) startGroup() {
	if j.failed() == nil {
		if err := j.makeGroup(); err != nil {
			j.fail(err)
		}
	}
	if err := j.failed(); err != nil {
		for _, b := range j.pending {
			b.job.finish(-1, err)
		}
		j.pending, j.pendingBytes = j.pending[:0], 0
	}
}

func (j *Journal) makeGroup() error {
	n, bytes := j.fit()
	if n == 0 {
		if err := j.roll(); err != nil {
			return err
		}
		if n, bytes = j.fit(); n == 0 {
			return fmt.Errorf("record %d does not fit in an empty segment", j.pending[0].seq)
		}
	}
	g := &group{
		seg: j.w, off: j.wOff,
		buf:     make([]byte, 0, bytes),
		recs:    slices.Clone(j.pending[:n]),
		offs:    make([]byte, 0, 8*n),
		written: make(chan struct{}),
	}
	off := j.wOff
	for i, b := range g.recs {
		g.buf = appendRecord(g.buf, b.seq, j.nextGroup, i, n, b.data)
		hs, err := tlog.StoredHashes(b.seq, b.data, tlog.HashReaderFunc(j.readFrontier))
		if err != nil {
			return fmt.Errorf("hash record %d: %w", b.seq, err)
		}
		j.addFrontier(b.seq, hs)
		for _, h := range hs {
			g.hashes = append(g.hashes, h[:]...)
		}
		g.offs = appendU64(g.offs, uint64(off))
		off += recordSize(len(b.data))
	}
	j.nextGroup++
	j.wOff += bytes
	rest := copy(j.pending, j.pending[n:])
	clear(j.pending[rest:])
	j.pending = j.pending[:rest]
	j.pendingBytes -= bytes

	j.slots <- struct{}{} // freed by the releaser
	go j.writeGroup(g)
	j.synced <- g
	return nil
}

// writeGroup writes and syncs g.
func (j *Journal) writeGroup(g *group) {
	defer close(g.written)
	first, last := g.recs[0].seq, g.recs[len(g.recs)-1].seq
	if _, err := g.seg.f.WriteAt(g.buf, g.off); err != nil {
		g.err = fmt.Errorf("write records %d-%d to %s: %w", first, last, g.seg.path, err)
		return
	}
	if err := syncFile(g.seg.f, j.opt.Sync); err != nil {
		g.err = fmt.Errorf("sync records %d-%d in %s: %w", first, last, g.seg.path, err)
	}
}

// release is the releaser goroutine: in seq order, it waits for each
// group's sync, stores its hashes and offsets, advances Size and releases
// its callers. A group is released only after every group before it.
func (j *Journal) release() {
	defer close(j.done)
	for g := range j.synced {
		<-g.written
		err := j.failed()
		if err == nil {
			err = g.err
		}
		first := g.recs[0].seq
		if err == nil {
			if _, werr := j.hashes.WriteAt(g.hashes, tlog.StoredHashIndex(0, first)*tlog.HashSize); werr != nil {
				err = fmt.Errorf("write hashes of records %d-: %w", first, werr)
			} else if _, werr := j.offsets.WriteAt(g.offs, first*8); werr != nil {
				err = fmt.Errorf("write offsets of records %d-: %w", first, werr)
			}
		}
		if err != nil {
			j.fail(err)
			err = j.failed()
			for _, b := range g.recs {
				b.job.finish(-1, err)
			}
		} else {
			j.size.Store(first + int64(len(g.recs)))
			j.groups.Add(1)
			j.recs.Add(int64(len(g.recs)))
			for _, b := range g.recs {
				b.job.finish(b.seq, nil)
			}
		}
		<-j.slots
	}
}

// fit returns how many pending records the next group takes, and their bytes.
func (j *Journal) fit() (int, int64) {
	var bytes int64
	n := 0
	for n < len(j.pending) && n < j.opt.MaxGroup {
		rs := recordSize(len(j.pending[n].data))
		if bytes+rs > maxGroupBytes || j.wOff+bytes+rs > j.opt.SegmentSize {
			break
		}
		bytes += rs
		n++
	}
	return n, bytes
}

// roll starts a new segment for the seq j.next. It waits until every group
// in flight is released, then makes the hash and offsets files durable: a
// segment's existence vouches for them below its first seq, so Open
// recomputes only the last segment's.
func (j *Journal) roll() error {
	for range cap(j.slots) {
		j.slots <- struct{}{}
	}
	defer func() {
		for range cap(j.slots) {
			<-j.slots
		}
	}()
	if err := j.failed(); err != nil {
		return err
	}
	if err := syncFile(j.hashes, SyncFdatasync); err != nil {
		return fmt.Errorf("sync hash file: %w", err)
	}
	if err := syncFile(j.offsets, SyncFdatasync); err != nil {
		return fmt.Errorf("sync offsets file: %w", err)
	}
	s, err := createSegment(j.dir, j.pending[0].seq, j.nextGroup, j.opt)
	if err != nil {
		return err
	}
	j.mu.Lock()
	j.segs = append(j.segs, s)
	j.mu.Unlock()
	j.w, j.wOff = s, fileHeaderSize
	return nil
}

func (j *Journal) readFrontier(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, pos := tlog.SplitStoredHashIndex(idx)
		f := j.frontier[level]
		if !f.ok || f.pos != pos {
			return nil, fmt.Errorf("stored hash %d (level %d, %d) is not on the tree's right edge", idx, level, pos)
		}
		out[i] = f.hash
	}
	return out, nil
}

// addFrontier records the stored hashes of record seq: hs[i] is the level-i
// subtree ending at it.
func (j *Journal) addFrontier(seq int64, hs []tlog.Hash) {
	for level, h := range hs {
		j.frontier[level] = frontierHash{ok: true, pos: seq >> level, hash: h}
	}
}

func segmentName(first int64) string { return fmt.Sprintf("seg-%020d.log", first) }

// openFlags are the flags of the segment being written.
func openFlags(m SyncMode) int {
	if m == SyncODSync {
		return os.O_RDWR | unix.O_DSYNC
	}
	return os.O_RDWR
}

// createSegment creates, preallocates and syncs the segment for first, under
// a temporary name renamed into place, so a segment exists whole or not at all.
func createSegment(dir string, first int64, firstGroup uint32, opt Options) (*segment, error) {
	path := filepath.Join(dir, segmentName(first))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	fail := func(err error) (*segment, error) {
		f.Close()
		os.Remove(tmp)
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	if _, err := f.WriteAt(encodeFileHeader(first, firstGroup), 0); err != nil {
		return fail(err)
	}
	switch opt.Prealloc {
	case PreallocFallocate:
		if err := unix.Fallocate(int(f.Fd()), 0, 0, opt.SegmentSize); err != nil {
			return fail(fmt.Errorf("fallocate: %w", err))
		}
	case PreallocZero:
		zeros := make([]byte, 1<<20)
		for off := int64(fileHeaderSize); off < opt.SegmentSize; off += int64(len(zeros)) {
			n := min(int64(len(zeros)), opt.SegmentSize-off)
			if _, err := f.WriteAt(zeros[:n], off); err != nil {
				return fail(err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("create segment %s: %w", path, err)
	}
	f, err = os.OpenFile(path, openFlags(opt.Sync), 0)
	if err != nil {
		return nil, fmt.Errorf("open segment: %w", err)
	}
	return &segment{first: first, path: path, f: f}, nil
}

func syncFile(f *os.File, m SyncMode) error {
	switch m {
	case SyncFdatasync:
		for {
			err := unix.Fdatasync(int(f.Fd()))
			if err != unix.EINTR {
				return err
			}
		}
	case SyncFsync:
		return f.Sync()
	}
	return nil // SyncODSync: the write was durable on return
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func appendU64(b []byte, v uint64) []byte {
	return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

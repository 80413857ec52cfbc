package auditlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// ErrClosed is returned by appends after Close.
var ErrClosed = errors.New("audit log is closed")

// Work is a change made in the same transaction as its audit entry. It gets
// the entry's sequence number (to record which entry made the change) and
// may fill in the entry's Count, Subjects and Detail. If it fails, its writes
// are rolled back, and the entry is still appended, with outcome error.
type Work func(ctx context.Context, tx *db.Tx, seq int64, e *Entry) error

// Options configure a Log.
type Options struct {
	Origin string // checkpoint origin line, e.g. jukinet/131083
	// CheckpointEvery is how often a checkpoint is signed while entries
	// arrive; zero means one minute.
	CheckpointEvery time.Duration
	MaxBatch        int // most appends in one transaction; zero means 512
	Logger          *slog.Logger
	Now             func() time.Time // clock; nil means time.Now
	// RefusalWindow is how long repeated refusals of unauthenticated
	// requests from one source are counted before their count is logged
	// (Refuse); zero means DefaultRefusalWindow.
	RefusalWindow time.Duration
	// Journal is the folder of the node's audit journal (journal.go); empty
	// means none. Every process that opens the log of a node with a
	// journal names it, so that what is journaled gets its rows before
	// anything is appended through SQL.
	Journal string
	// JournalWrites makes this process the one that journals entries
	// without work (the server): they are durable once in the journal and
	// get their rows from the indexer. Only one process at a time.
	JournalWrites bool
	// JournalSync makes a journal segment's writes durable; nil means
	// fdatasync (for measurements of the alternatives, and tests). With
	// JournalInFlight above 1 it is called from several goroutines at once.
	JournalSync func(f *os.File) error
	// JournalInFlight is how many groups of journaled entries may be
	// written and syncing at once: with 2, a group is written while the
	// one before it syncs, so callers taking turns overlap their syncs.
	// Callers are answered in seq order either way. Zero means
	// DefaultJournalInFlight; 1 syncs each group before writing the next;
	// at most 4.
	JournalInFlight int
	// IndexEvery is how often the indexer looks at the journal; it writes
	// the rows of journaled entries when appends have paused since its last
	// look. Zero means DefaultIndexEvery.
	IndexEvery time.Duration
	// IndexWithin bounds how long a journaled entry waits for its rows while
	// appends go on without a pause; zero means DefaultIndexWithin, and it is
	// never less than IndexEvery.
	IndexWithin time.Duration
	// journalSegment is the journal's segment size; zero means
	// DefaultJournalSegment (tests start many segments with a small one).
	journalSegment int64
}

// DefaultIndexEvery is how often the indexer looks at the journal: when
// appends pause, readers of the log's rows see an entry about this long
// after it was answered.
const DefaultIndexEvery = 20 * time.Millisecond

// DefaultIndexWithin is how long a journaled entry waits for its rows, at
// most, while appends go on without a pause. Each transaction of rows makes
// every reader of the database drop its page cache and mapping at its next
// read (SQLite), so under load the rows are written in few large
// transactions (docs/benchmarks.md, "The indexer under load"). Readers that
// must see every entry so far (the audit screens, audit show, backups) call
// Sync.
const DefaultIndexWithin = time.Second

// Log is an open audit log. Its methods are safe for concurrent use.
type Log struct {
	db     *db.DB
	signer note.Signer
	opt    Options

	jobs    chan *job
	cpReq   chan chan cpResult
	stop    chan struct{}
	stopped chan struct{}
	closeMu sync.Mutex
	closed  bool

	// Owned by the committer goroutine.
	lastBatch int       // size of the previous batch: >1 means callers overlap
	busyUntil time.Time // when the committer last finished committing a batch
	heldBack  *job      // a job with work met while collecting: it starts the next batch
	size      int64
	last      time.Time            // the latest entry's time: no entry is stamped earlier
	behind    bool                 // the clock read earlier than last at the latest entry
	frontier  map[int]frontierHash // per tree level: the latest complete subtree
	lastCP    int64                // size of the latest checkpoint

	// Batches appended as one pipelined round trip, and those the pipeline
	// refused and the ordinary transaction then appended (PostgreSQL).
	pipelined, retried atomic.Int64
	// Batches collected, and those for which the committer waited for
	// callers on their way (for tests).
	batches, lingered atomic.Int64

	// lastFailure is the error of the latest append when it failed, nil
	// when it succeeded: what the health check reports.
	lastFailure atomic.Pointer[appendFailure]
	// rowsFailure is the error of the latest write of rows to the
	// database (a change's transaction, the journal's indexer) when it
	// failed. A journaling log's look-ups can succeed on a full disk
	// (their segment is preallocated) while no row can be written: the
	// health check reports both.
	rowsFailure atomic.Pointer[appendFailure]
	// refusals counts refused unauthenticated requests per source (Refuse).
	refusals                 refusals
	flusherStop, flusherDone chan struct{}

	// journal is the node's audit journal, nil without one; with
	// JournalWrites the indexer writes the rows of what is journaled.
	journal                  *journal
	indexMu                  sync.Mutex // one index transaction at a time in this process
	indexCursor              journalCursor
	indexerStop, indexerDone chan struct{}
	// indexed counts journaled entries whose rows the indexer wrote (for
	// tests and benchmarks).
	indexed atomic.Int64
	// indexedTo is the journal position the indexer last wrote rows up to.
	indexedTo atomic.Int64
	// indexTransactions counts the indexer's transactions that wrote rows
	// (for tests).
	indexTransactions atomic.Int64
	// walPerEntry is how many bytes of SQLite WAL the rows of one entry
	// took in the indexer's last measured transaction (indexBatch).
	walPerEntry atomic.Int64
	// Owned by the committer: the groups written to the journal and not
	// yet answered, oldest first, and the writers' lock while it holds it.
	inflight      []*flight
	journalUnlock func()
	// journalLocks counts the times the committer took the writers' lock
	// (for tests).
	journalLocks atomic.Int64
}

// appendFailure is a failed append, for the health check.
type appendFailure struct {
	at  time.Time
	err error
}

type frontierHash struct {
	pos  int64 // subtree position at its level
	hash tlog.Hash
}

type job struct {
	ctx    context.Context
	entry  Entry
	work   Work
	bulk   bool      // work is a bulk load (db.TransactBulk)
	queued time.Time // when it was handed to the committer
	done   chan result
}

type result struct {
	seq     int64
	workErr error // the Work failed; the entry was appended with outcome error
	err     error // nothing was appended
}

// Open opens the log stored in d and starts its committer.
func Open(ctx context.Context, d *db.DB, signer note.Signer, opt Options) (*Log, error) {
	if opt.CheckpointEvery <= 0 {
		opt.CheckpointEvery = time.Minute
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 512
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Origin == "" {
		opt.Origin = "jukinet/" + signer.Name()
	}
	if opt.RefusalWindow <= 0 {
		opt.RefusalWindow = DefaultRefusalWindow
	}
	if opt.JournalInFlight <= 0 {
		opt.JournalInFlight = DefaultJournalInFlight
	}
	opt.JournalInFlight = min(opt.JournalInFlight, maxJournalInFlight)
	l := &Log{
		db: d, signer: signer, opt: opt,
		jobs:     make(chan *job, 4*opt.MaxBatch),
		cpReq:    make(chan chan cpResult),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
		frontier: map[int]frontierHash{},

		refusals:    refusals{windows: map[refusalKey]*refusalWindow{}},
		flusherStop: make(chan struct{}),
		flusherDone: make(chan struct{}),
	}
	if opt.Journal != "" {
		if err := l.openJournal(ctx); err != nil {
			return nil, fmt.Errorf("open audit log: %w", err)
		}
	}
	if err := d.QueryRow(ctx, sizeQuery).Scan(&l.size); err != nil {
		l.closeJournal()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if err := l.readLast(ctx, d); err != nil {
		l.closeJournal()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(size), 0) FROM audit_checkpoint`).Scan(&l.lastCP); err != nil {
		l.closeJournal()
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	if l.journal != nil && l.journal.writer != nil {
		l.journal.durable.Store(l.size)
		l.indexedTo.Store(l.size)
		l.startIndexer()
	}
	go l.run()
	go l.flushRefusalsEvery(min(opt.RefusalWindow, time.Minute))
	return l, nil
}

// Size returns the number of entries, as the committer last saw it.
func (l *Log) Size(ctx context.Context) (int64, error) {
	var n int64
	err := l.db.QueryRow(ctx, sizeQuery).Scan(&n)
	if l.journal != nil {
		n = max(n, l.journal.durable.Load())
	}
	return n, err
}

// Append appends e and returns its sequence number once it is durable. An
// error means the entry is not in the log: the caller must fail its request.
func (l *Log) Append(ctx context.Context, e Entry) (int64, error) {
	seq, _, err := l.AppendWith(ctx, e, nil)
	return seq, err
}

// AppendWith runs work and appends e in one transaction. err reports a
// failure to log (nothing happened); workErr reports a failed work, whose
// attempt was logged.
func (l *Log) AppendWith(ctx context.Context, e Entry, work Work) (seq int64, workErr, err error) {
	return l.appendJob(ctx, &job{ctx: ctx, entry: e, work: work})
}

// AppendBulk is AppendWith for a bulk load: work runs in a bulk transaction
// (db.TransactBulk: on SQLite without foreign-key enforcement), so every row
// it writes must reference only rows it wrote or read itself.
func (l *Log) AppendBulk(ctx context.Context, e Entry, work Work) (seq int64, workErr, err error) {
	return l.appendJob(ctx, &job{ctx: ctx, entry: e, work: work, bulk: true})
}

// prepare readies j for the committer: its entry's format version, the
// channel its result comes back on, and when it was queued.
func (j *job) prepare() {
	j.entry.Version = FormatVersion
	j.done = make(chan result, 1)
	j.queued = time.Now()
}

func (l *Log) appendJob(ctx context.Context, j *job) (seq int64, workErr, err error) {
	j.prepare()
	if err := j.entry.validate(); err != nil {
		return 0, nil, err
	}
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return 0, nil, ErrClosed
	}
	// Sent under the lock so Close cannot stop the committer between the
	// check and the send; the channel is buffered and drained by run.
	select {
	case l.jobs <- j:
		l.closeMu.Unlock()
	case <-ctx.Done():
		l.closeMu.Unlock()
		return 0, nil, fmt.Errorf("audit log: %w", ctx.Err())
	}
	// Once queued, wait for the result even if ctx ends: the entry may be
	// committed, and the caller must not act as if it were not.
	r := <-j.done
	return r.seq, r.workErr, r.err
}

// Close commits what is queued, signs a final checkpoint and stops the
// committer.
func (l *Log) Close() error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closeMu.Unlock()
	// The refusals counted but not yet logged are logged before the
	// committer stops.
	l.stopFlusher()
	if err := l.FlushRefusals(context.Background(), true); err != nil {
		l.opt.Logger.Error("log the counted refusals", "err", err)
	}
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return nil
	}
	l.closed = true
	close(l.stop)
	l.closeMu.Unlock()
	<-l.stopped
	return l.closeJournal()
}

// run is the committer: it takes queued jobs in batches and commits each
// batch in one transaction, or writes it to the journal as one group. With
// groups in flight it also answers each group's callers once its sync (and
// every earlier one) has returned, and takes no new batch while
// JournalInFlight groups are in flight.
func (l *Log) run() {
	defer close(l.stopped)
	ticker := time.NewTicker(l.opt.CheckpointEvery)
	defer ticker.Stop()
	for {
		// A change held back from the last batch goes next; the queue is
		// read in the select, so checkpoints are never starved by load.
		if j := l.heldBack; j != nil {
			l.heldBack = nil
			l.commitBatch(l.collect(j))
			continue
		}
		jobs := l.jobs
		var landed <-chan struct{}
		if len(l.inflight) > 0 {
			landed = l.inflight[0].landed
			if len(l.inflight) >= l.opt.JournalInFlight {
				jobs = nil
			}
		}
		select {
		case <-landed:
			l.landJournal()
		case j := <-jobs:
			l.commitBatch(l.collect(j))
		case <-ticker.C:
			l.drainJournal()
			l.checkpointLogged()
		case reply := <-l.cpReq:
			l.drainJournal()
			cp, err := l.checkpoint(context.Background())
			reply <- cpResult{cp, err}
		case <-l.stop:
			for j := l.queued(); j != nil; j = l.queued() {
				l.commitBatch(l.collect(j))
			}
			l.drainJournal()
			l.checkpointLogged()
			return
		}
		// The writers' lock is let go when nothing is in flight or waiting
		// to be written: a console command beside an idle server never
		// waits for it.
		if l.journalUnlock != nil && len(l.inflight) == 0 && l.heldBack == nil && len(l.jobs) == 0 {
			l.releaseJournal()
		}
	}
}

// queued returns the next job without waiting, for the drain on stop: the
// one held back from the last batch, else one from the queue, else nil.
func (l *Log) queued() *job {
	if j := l.heldBack; j != nil {
		l.heldBack = nil
		return j
	}
	select {
	case j := <-l.jobs:
		return j
	default:
		return nil
	}
}

// lingerMax bounds how long the committer waits for callers on their way
// before committing, so that one fsync serves many. (Go's timers fire
// about a millisecond late on an idle process, so the committer waits on
// arrivals, not on short timers; this deadline is the only timer.)
const lingerMax = time.Millisecond

// lingerFor is the most callers the committer waits for: beyond a few,
// enough arrive during each commit to fill the next one, and waiting for
// the rest only delays it.
const lingerFor = 8

// collect takes the queued jobs after first, and when callers overlap it
// lingers for the ones on their way: without that, the first caller back
// after a commit gets a batch of its own and every other caller waits a
// whole fsync longer — two callers taking turns would never share a
// commit, each waiting for the other's commit, then its own.
//
// Callers overlap when first was queued while the previous batch was being
// committed, or soon after a batch of several: those callers are expected
// back. It waits until the batch is as large as the previous one (at least
// two, at most lingerFor), or lingerMax has passed. A lone caller, or one
// after a quiet spell, never waits.
//
// A job with work (a change) is committed alone, in a transaction of its
// own, so that a failing change rolls back without a savepoint.
func (l *Log) collect(first *job) []*job {
	batch := []*job{first}
	if first.work != nil {
		l.lastBatch = 1
		return batch
	}
	target := 1
	if since := first.queued.Sub(l.busyUntil); since < 0 || (since < lingerMax && l.lastBatch > 1) {
		target = min(max(l.lastBatch, 2), lingerFor)
	}
	if l.journalPipelined() && l.opt.JournalInFlight > 1 {
		// The journal writes this batch while the one before it syncs:
		// waiting for callers on their way would only delay it. Those
		// that arrive meanwhile make the next group.
		target = 1
	}
	var deadline *time.Timer
	for len(batch) < l.opt.MaxBatch && l.heldBack == nil {
		var j *job
		select {
		case j = <-l.jobs:
		default:
		}
		if j == nil {
			if len(batch) >= target {
				break
			}
			if deadline == nil {
				deadline = time.NewTimer(lingerMax)
				defer deadline.Stop()
				l.lingered.Add(1)
			}
			select {
			case j = <-l.jobs:
			case <-deadline.C:
			}
			if j == nil {
				break
			}
		}
		if j.work != nil {
			l.heldBack = j
			break
		}
		batch = append(batch, j)
	}
	l.lastBatch = len(batch)
	l.batches.Add(1)
	return batch
}

func (l *Log) checkpointLogged() {
	if _, err := l.checkpoint(context.Background()); err != nil {
		l.opt.Logger.Error("sign audit checkpoint", "err", err)
	}
}

// commitBatch appends every job of the batch in one transaction and answers
// each job once the transaction is committed (or has failed). A batch
// without work on a journaling log is written to the journal instead, and
// answered when its group lands.
func (l *Log) commitBatch(batch []*job) {
	if len(batch) == 1 && batch[0].work != nil {
		// The change's transaction writes the rows of everything
		// journaled first, reading the journal to its end: what is in
		// flight lands before.
		l.drainJournal()
		res := l.commitWork(batch[0])
		l.noteAppend(res.err)
		l.noteRows(res.err)
		l.busyUntil = time.Now()
		batch[0].done <- res
		return
	}
	if l.journalPipelined() {
		l.appendJournaled(batch)
		return
	}
	results := make([]result, len(batch))
	err := l.appendRows(batch, results)
	if err != nil {
		for i := range results {
			results[i] = result{err: fmt.Errorf("append audit entry: %w", err)}
		}
	}
	l.noteAppend(err)
	l.noteRows(err)
	// Jobs queued from now on were not held up by this commit: a caller
	// released below that appends again at once is not taken for another.
	l.busyUntil = time.Now()
	for i, j := range batch {
		j.done <- results[i]
	}
}

// appendRows appends a batch of entries without work as SQL rows, filling
// in each job's result.
func (l *Log) appendRows(batch []*job, results []result) error {
	add := func(q db.Querier, rows *pendingRows) error {
		for i, j := range batch {
			e := l.stamp(j.entry)
			if err := l.addEntry(q, &e, rows); err != nil {
				return err
			}
			results[i] = result{seq: e.Seq}
		}
		return nil
	}
	// On PostgreSQL a batch first goes as one pipelined round trip; if that
	// committed nothing (most likely another process appended first), or
	// on SQLite, it goes in a transaction that catches up with the log.
	retry := true
	var err error
	if l.db.Dialect() == db.Postgres && l.journal == nil {
		if retry, err = l.appendPipelined(add); retry {
			l.retried.Add(1)
		}
	}
	if retry {
		err = l.transact(func(tx *db.Tx, rows *pendingRows) error { return add(tx, rows) })
	}
	return err
}

// appendPipelined appends the entries add adds as one pipelined
// transaction: one round trip instead of seven. It assumes the log has the
// size this process last saw, and the pipeline checks that under the
// writers' lock; if another process appended meanwhile, the check (or the
// primary key) refuses it. retry reports that nothing was committed and the
// in-memory tree is as it was: the batch can be appended the ordinary way.
// Otherwise err is the failure to report (it is not known whether the
// server committed).
func (l *Log) appendPipelined(add func(q db.Querier, rows *pendingRows) error) (retry bool, err error) {
	startSize, startLast := l.size, l.last
	saved := maps.Clone(l.frontier)
	defer func() {
		if err != nil || retry {
			l.size, l.last, l.frontier = startSize, startLast, saved
		}
	}()
	var rows pendingRows
	if err := add(l.db, &rows); err != nil {
		return true, nil
	}
	statements, err := rows.pgStatements()
	if err != nil {
		return true, nil // the ordinary way reports it
	}
	err = l.db.ExecAtomic(context.Background(), append([]db.Statement{
		{Query: `SELECT pg_advisory_xact_lock(?)`, Args: []any{advisoryLockID}},
		{Query: pgExpectSize, Args: []any{startSize}},
	}, statements...)...)
	if db.Rejected(err) {
		return true, nil
	}
	if err == nil {
		l.pipelined.Add(1)
	}
	return false, err
}

// pgExpectSize fails (division by zero) unless the log holds exactly ?
// entries. The divisor is not a constant, so the planner cannot fold it.
const pgExpectSize = `SELECT 1 / (CASE WHEN COALESCE(MAX(seq) + 1, 0) = ? THEN 1 ELSE 0 END) FROM audit_entry`

// workFailed marks the error of a job's work inside its transaction.
type workFailed struct{ error }

// commitWork runs a job's work and appends its entry in one transaction.
// If the work fails, that transaction rolls back whole, and a second one
// appends the attempt with outcome error.
func (l *Log) commitWork(j *job) result {
	var seq int64
	begin := l.db.Transact
	if j.bulk {
		begin = l.db.TransactBulk
	}
	err := l.transactOn(begin, func(tx *db.Tx, rows *pendingRows) error {
		e := l.stamp(j.entry)
		if err := j.work(j.ctx, tx, e.Seq, &e); err != nil {
			return workFailed{err}
		}
		seq = e.Seq
		return l.addEntry(tx, &e, rows)
	})
	var wf workFailed
	if !errors.As(err, &wf) {
		if err != nil {
			return result{err: fmt.Errorf("append audit entry: %w", err)}
		}
		return result{seq: seq}
	}
	// Log the attempt as it was asked, not half-filled by the work.
	err = l.transact(func(tx *db.Tx, rows *pendingRows) error {
		e := l.stamp(j.entry)
		e.Outcome, e.Count = OutcomeError, 0
		e.SetError(wf.error) // its text, and a domain error's code and Japanese message
		seq = e.Seq
		return l.addEntry(tx, &e, rows)
	})
	if err != nil {
		return result{err: fmt.Errorf("append audit entry: %w", err)}
	}
	return result{seq: seq, workErr: wf.error}
}

// transact runs fn in a transaction that first catches up with the log and
// ends by writing the rows fn added. If it fails, nothing of it is in the
// log, and the in-memory tree is put back.
func (l *Log) transact(fn func(tx *db.Tx, rows *pendingRows) error) error {
	return l.transactOn(l.db.Transact, fn)
}

// transactOn is transact in a transaction begun by begin (db.Transact or
// db.TransactBulk).
func (l *Log) transactOn(begin func(context.Context, func(*db.Tx) error) error, fn func(tx *db.Tx, rows *pendingRows) error) error {
	if l.journal != nil {
		// What is journaled gets its rows first, so that this entry follows
		// it: the backlog in bounded transactions of its own (the SQLite
		// WAL is cut only between transactions), what is left in this one.
		unlock, err := l.journal.lock()
		if err != nil {
			return err
		}
		defer unlock()
		if err := l.indexBacklog(context.Background()); err != nil {
			return err
		}
	}
	startSize, startLast := l.size, l.last
	saved := maps.Clone(l.frontier)
	err := begin(context.Background(), func(tx *db.Tx) error {
		if l.journal != nil {
			if _, _, err := l.indexJournal(context.Background(), tx, nil, -1); err != nil {
				return err
			}
		}
		if err := l.resync(tx); err != nil {
			return err
		}
		var rows pendingRows
		if err := fn(tx, &rows); err != nil {
			return err
		}
		return rows.flush(tx)
	})
	if err != nil {
		l.size, l.last, l.frontier = startSize, startLast, saved
	}
	return err
}

// noteAppend remembers whether the latest append failed.
func (l *Log) noteAppend(err error) {
	if err == nil {
		l.lastFailure.Store(nil)
		return
	}
	l.lastFailure.Store(&appendFailure{at: l.opt.Now(), err: err})
}

// noteRows remembers whether the latest write of rows to the database
// failed.
func (l *Log) noteRows(err error) {
	if err == nil {
		l.rowsFailure.Store(nil)
		return
	}
	l.rowsFailure.Store(&appendFailure{at: l.opt.Now(), err: err})
}

// Healthy reports whether the log can be written: an error when its
// latest append failed (a full disk, a lost database), or its latest
// write of rows to the database did (a change, or the journal's indexer
// writing the rows of journaled entries); nil once each succeeds again.
// It writes nothing.
func (l *Log) Healthy() error {
	if f := l.lastFailure.Load(); f != nil {
		return fmt.Errorf("the audit log's last append (%s) failed: %w", f.at.UTC().Format(time.RFC3339), f.err)
	}
	if f := l.rowsFailure.Load(); f != nil {
		return fmt.Errorf("the audit log's last write of rows to the database (%s) failed: %w", f.at.UTC().Format(time.RFC3339), f.err)
	}
	return nil
}

// stamp gives an entry its sequence number and time. Times read from the
// clock never go back in the order of the log: when the clock reads
// earlier than the latest such entry's time (a clock stepped back), the
// entry takes that time and keeps what the clock read in ClockRead, so an
// auditor sees both the order and the step; audit verify counts such
// entries. A time the caller gives (a test backfilling a day) is recorded
// as given.
func (l *Log) stamp(e Entry) Entry {
	fromClock := e.Time.IsZero()
	if fromClock {
		e.Time = l.opt.Now()
	}
	e.Seq, e.Time = l.size, e.Time.UTC().Round(time.Microsecond) // both databases keep microseconds
	e.ClockRead = nil
	if !fromClock {
		return e
	}
	if e.Time.Before(l.last) {
		read := e.Time
		e.Time, e.ClockRead = l.last, &read
		if !l.behind { // once per step, not for every entry until the clock catches up
			l.opt.Logger.Warn("the clock reads earlier than the audit log's latest entry: entries keep the latest time and record the clock's reading (clock_read) until the clock passes it",
				"seq", e.Seq, "clock", read, "latest", l.last)
		}
		l.behind = true
	} else {
		l.behind = false
	}
	l.last = e.Time
	return e
}

// readLast reads the time of the log's latest entry (zero for an empty log).
func (l *Log) readLast(ctx context.Context, q db.Querier) error {
	l.last = time.Time{}
	if l.size == 0 {
		return nil
	}
	if err := q.QueryRow(ctx, `SELECT at FROM audit_entry WHERE seq = ?`, l.size-1).Scan(&l.last); err != nil {
		return fmt.Errorf("read the latest entry's time: %w", err)
	}
	l.last = l.last.UTC()
	return nil
}

// sizeQuery reads how many entries the log holds (leaves are numbered
// from 0 without gaps).
const sizeQuery = `SELECT COALESCE(MAX(seq) + 1, 0) FROM audit_entry`

// advisoryLockID is the PostgreSQL advisory lock that serialises writers
// of the audit log ("jukiaudt").
const advisoryLockID int64 = 0x6a756b6961756474

// resync catches up with entries another process appended (a console
// command beside the server): the transaction holds the write lock, so the
// size read here is the one to append at. The frontier cache is dropped and
// refilled from the database.
func (l *Log) resync(tx *db.Tx) error {
	if tx.Dialect() == db.Postgres {
		// SQLite's immediate transactions already serialise writers;
		// PostgreSQL needs a lock held until commit.
		if _, err := tx.Exec(context.Background(), `SELECT pg_advisory_xact_lock(?)`, advisoryLockID); err != nil {
			return fmt.Errorf("lock audit log: %w", err)
		}
	}
	var size int64
	if err := tx.QueryRow(context.Background(), sizeQuery).Scan(&size); err != nil {
		return fmt.Errorf("read audit log size: %w", err)
	}
	if size != l.size {
		l.size, l.frontier = size, map[int]frontierHash{}
		return l.readLast(context.Background(), tx)
	}
	return nil
}

// pendingRows collects a batch's rows, column by column, written at the
// end of the batch in a few statements.
type pendingRows struct {
	seqs            []int64
	ats             []time.Time
	actors, actions []string
	payloads        [][]byte
	leaves          [][]byte
	hashIdx         []int64
	hashes          [][]byte
	// subjects holds each entry's codes, sorted: an import's entry may
	// list millions, kept once (never a sequence number per code).
	subjects []entrySubjects
}

// entrySubjects is one entry's subject rows: codes, or packed codes (see
// Entry.PackedSubjects).
type entrySubjects struct {
	seq    int64
	codes  []string
	packed []uint64
}

// strings returns the codes as strings.
func (g entrySubjects) strings() []string {
	if g.packed != nil {
		return unpackCodes(g.packed)
	}
	return g.codes
}

// subjectBatch is how many subject rows one statement stores: an entry of
// a million subjects is written in batches, never as one statement or one
// slice of rows.
const subjectBatch = 8192

// subjectBatches calls fn with the subject rows, seq by seq, in batches
// of at most subjectBatch rows; the slices are reused between calls.
func (p *pendingRows) subjectBatches(fn func(seqs []int64, codes []string) error) error {
	seqs := make([]int64, 0, subjectBatch)
	codes := make([]string, 0, subjectBatch)
	add := func(seq int64, code string) error {
		seqs, codes = append(seqs, seq), append(codes, code)
		if len(codes) < subjectBatch {
			return nil
		}
		err := fn(seqs, codes)
		seqs, codes = seqs[:0], codes[:0]
		return err
	}
	for _, g := range p.subjects {
		for _, c := range g.codes {
			if err := add(g.seq, c); err != nil {
				return err
			}
		}
		for _, v := range g.packed {
			if err := add(g.seq, string(appendCode(nil, v))); err != nil {
				return err
			}
		}
	}
	if len(codes) > 0 {
		return fn(seqs, codes)
	}
	return nil
}

var (
	entryColumns   = []string{"seq", "at", "actor_id", "action", "payload", "leaf_hash"}
	subjectColumns = []string{"seq", "resident_code"}
)

// Fixed PostgreSQL statements: one array parameter per column, so one
// prepared statement serves every batch size.
const (
	pgInsertEntries  = `INSERT INTO audit_entry (seq, at, actor_id, action, payload, leaf_hash) SELECT * FROM unnest(?::bigint[], ?::timestamptz[], ?::text[], ?::text[], ?::bytea[], ?::bytea[])`
	pgInsertSubjects = `INSERT INTO audit_subject (seq, resident_code) SELECT * FROM unnest(?::bigint[], ?::text[])`
)

// pgStatements returns the PostgreSQL statements that store the rows, for
// a pipeline (the tree's tiles checked by pgPipelinedAppendTile).
func (p *pendingRows) pgStatements() ([]db.Statement, error) {
	var out []db.Statement
	if len(p.seqs) > 0 {
		out = append(out, db.Statement{Query: pgInsertEntries, Args: []any{p.seqs, p.ats, p.actors, p.actions, p.payloads, p.leaves}})
	}
	appends, err := tileAppends(p.hashIdx, p.hashes)
	if err != nil {
		return nil, err
	}
	for _, a := range appends {
		out = append(out, a.pgStatements()...)
	}
	p.subjectBatches(func(seqs []int64, codes []string) error {
		out = append(out, db.Statement{Query: pgInsertSubjects, Args: []any{slices.Clone(seqs), slices.Clone(codes)}})
		return nil
	})
	return out, nil
}

func (p *pendingRows) flush(tx *db.Tx) error {
	ctx := context.Background()
	if tx.Dialect() == db.Postgres {
		if len(p.seqs) > 0 {
			if _, err := tx.Exec(ctx, pgInsertEntries, p.seqs, p.ats, p.actors, p.actions, p.payloads, p.leaves); err != nil {
				return fmt.Errorf("store audit entries: %w", err)
			}
		}
		if err := storeTiles(ctx, tx, p.hashIdx, p.hashes); err != nil {
			return err
		}
		return p.subjectBatches(func(seqs []int64, codes []string) error {
			if _, err := tx.Exec(ctx, pgInsertSubjects, seqs, codes); err != nil {
				return fmt.Errorf("store audit subjects: %w", err)
			}
			return nil
		})
	}
	entries := make([][]any, len(p.seqs))
	for i := range p.seqs {
		entries[i] = []any{p.seqs[i], p.ats[i], p.actors[i], p.actions[i], p.payloads[i], p.leaves[i]}
	}
	if err := db.InsertMany(ctx, tx, "audit_entry", entryColumns, entries); err != nil {
		return fmt.Errorf("store audit entries: %w", err)
	}
	if err := storeTiles(ctx, tx, p.hashIdx, p.hashes); err != nil {
		return err
	}
	rows := make([][]any, 0, subjectBatch)
	return p.subjectBatches(func(seqs []int64, codes []string) error {
		rows = rows[:0]
		for i := range seqs {
			rows = append(rows, []any{seqs[i], codes[i]})
		}
		if err := db.InsertMany(ctx, tx, "audit_subject", subjectColumns, rows); err != nil {
			return fmt.Errorf("store audit subjects: %w", err)
		}
		return nil
	})
}

// addEntry encodes e as leaf l.size, adds its rows to the batch and
// advances the in-memory tree.
func (l *Log) addEntry(q db.Querier, e *Entry, rows *pendingRows) error {
	e.makeValidUTF8()
	digest, subjects := SubjectsDigest(e.Subjects)
	var packed []uint64
	if len(e.PackedSubjects) > 0 {
		if len(e.Subjects) > 0 {
			return fmt.Errorf("audit entry %d: both Subjects and PackedSubjects", l.size)
		}
		if m := slices.Max(e.PackedSubjects); m > maxPackedCode {
			return fmt.Errorf("audit entry %d: packed subject %d is not an eleven-digit code", l.size, m)
		}
		digest, packed = packedSubjectsDigest(e.PackedSubjects)
		e.PackedSubjects = packed
	}
	e.SubjectCount, e.SubjectDigest = len(subjects)+len(packed), digest
	payload, err := e.Encode()
	if err != nil {
		return err
	}
	n := l.size
	hashes, err := tlog.StoredHashes(n, payload, tlog.HashReaderFunc(l.readFrontier(q)))
	if err != nil {
		return fmt.Errorf("hash audit entry %d: %w", n, err)
	}
	rows.seqs = append(rows.seqs, n)
	rows.ats = append(rows.ats, e.Time)
	rows.actors = append(rows.actors, e.Actor.String())
	rows.actions = append(rows.actions, e.Action)
	rows.payloads = append(rows.payloads, payload)
	rows.leaves = append(rows.leaves, hashes[0][:])
	base := tlog.StoredHashIndex(0, n)
	for i := range hashes {
		rows.hashIdx = append(rows.hashIdx, base+int64(i))
		rows.hashes = append(rows.hashes, hashes[i][:])
	}
	if len(subjects)+len(packed) > 0 {
		rows.subjects = append(rows.subjects, entrySubjects{seq: n, codes: subjects, packed: packed})
	}
	// hashes[i] is the level-i subtree ending at leaf n.
	for level, h := range hashes {
		l.frontier[level] = frontierHash{pos: n >> level, hash: h}
	}
	l.size++
	return nil
}

// readFrontier answers the tree's questions from the frontier cache; a hash
// not there (only right after Open or another process's append) is read
// from the tiles in the database.
func (l *Log) readFrontier(q db.Querier) func([]int64) ([]tlog.Hash, error) {
	var stored tlog.HashReader
	return func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			level, pos := tlog.SplitStoredHashIndex(idx)
			if f, ok := l.frontier[level]; ok && f.pos == pos {
				out[i] = f.hash
				continue
			}
			if stored == nil {
				stored = StoredHashes(context.Background(), q)
			}
			h, err := stored.ReadHashes([]int64{idx})
			if err != nil {
				return nil, fmt.Errorf("read audit hash %d: %w", idx, err)
			}
			out[i] = h[0]
		}
		return out, nil
	}
}

package auditlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// EnvTestJournal, set to 1, makes tests that can open their logs with a
// journal do so (the CI runs the log's and the gate's tests both ways).
const EnvTestJournal = "JUKINET_TEST_AUDIT_JOURNAL"

// openJournal opens the log's journal and writes the rows of whatever it
// holds without them (what a crash left); the process that journals then
// starts it afresh.
func (l *Log) openJournal(ctx context.Context) error {
	j, err := openJournal(l.opt.Journal, journalOptions{Sync: l.opt.JournalSync, Writer: l.opt.JournalWrites, SegmentSize: l.opt.journalSegment})
	if err != nil {
		return err
	}
	unlock, err := j.lock()
	if err != nil {
		j.close()
		return err
	}
	defer unlock()
	l.journal = j
	n, err := l.indexAll(ctx)
	if err == nil && j.writer != nil {
		err = j.reset()
	}
	if err != nil {
		l.journal = nil
		j.close()
		return fmt.Errorf("recover the audit journal: %w", err)
	}
	if n > 0 {
		l.opt.Logger.Info("audit journal recovered: entries durable in the journal got their rows", "entries", n)
	}
	return nil
}

// startIndexer starts the goroutine that writes journaled entries' rows.
func (l *Log) startIndexer() {
	if l.opt.IndexEvery <= 0 {
		l.opt.IndexEvery = DefaultIndexEvery
	}
	if l.opt.IndexWithin <= 0 {
		l.opt.IndexWithin = DefaultIndexWithin
	}
	l.opt.IndexWithin = max(l.opt.IndexWithin, l.opt.IndexEvery)
	l.indexerStop, l.indexerDone = make(chan struct{}), make(chan struct{})
	go l.runIndexer()
}

// closeJournal stops the indexer after writing every row it owes, and
// closes the journal.
func (l *Log) closeJournal() error {
	if l.journal == nil {
		return nil
	}
	var err error
	if l.indexerStop != nil {
		select {
		case <-l.indexerDone:
		default:
			close(l.indexerStop)
			<-l.indexerDone
		}
	}
	if e := l.journal.close(); e != nil {
		err = errors.Join(err, fmt.Errorf("close the audit journal: %w", e))
	}
	return err
}

// DefaultJournalInFlight is Options.JournalInFlight's default: a group is
// written while the one before it syncs.
const DefaultJournalInFlight = 2

// maxJournalInFlight bounds Options.JournalInFlight.
const maxJournalInFlight = 4

// flight is a group of journaled entries written to the journal whose
// outcome the committer has not yet taken: its sync runs on a goroutine of
// its own, which answers its callers itself when the sync and every
// earlier group's succeeded (one wake-up less on each caller's path than
// going through the committer). A failure is the committer's to handle.
type flight struct {
	batch   []*job
	results []result
	f       *os.File // the segment it was written to
	off     int64    // where its bytes start there
	end     int64    // the log's size once it is durable
	before  treeState
	landed  chan struct{} // closed once err is set and, without one, the callers answered
	err     error         // its sync's failure, or an earlier group's
}

// treeState is the committer's in-memory tree: what a failed group puts
// back.
type treeState struct {
	size     int64
	last     time.Time
	behind   bool
	frontier map[int]frontierHash
}

func (l *Log) saveTree() treeState {
	return treeState{size: l.size, last: l.last, behind: l.behind, frontier: maps.Clone(l.frontier)}
}

func (l *Log) restoreTree(t treeState) {
	l.size, l.last, l.behind, l.frontier = t.size, t.last, t.behind, t.frontier
}

// journalPipelined reports whether batches without work go to the journal.
func (l *Log) journalPipelined() bool {
	return l.journal != nil && l.journal.writer != nil
}

// holdJournal makes sure the committer holds the writers' lock. On taking
// it, it catches up with what another process appended through SQL while
// the lock was not held (a console command writes the journal's pending
// rows and then its own entry, under the lock): the log is then longer
// than this process last saw. While the committer holds the lock
// continuously no other process can have appended, so the size is not
// read again.
func (l *Log) holdJournal() error {
	if l.journalUnlock != nil {
		return nil
	}
	unlock, err := l.journal.lock()
	if err != nil {
		return err
	}
	l.journalLocks.Add(1)
	var sqlSize int64
	if err := l.db.QueryRow(context.Background(), sizeQuery).Scan(&sqlSize); err != nil {
		unlock()
		return fmt.Errorf("read audit log size: %w", err)
	}
	if sqlSize > l.size {
		l.size, l.frontier = sqlSize, map[int]frontierHash{}
		if err := l.readLast(context.Background(), l.db); err != nil {
			unlock()
			return err
		}
	}
	l.journalUnlock = unlock
	return nil
}

// releaseJournal lets the writers' lock go; the caller has no group in
// flight.
func (l *Log) releaseJournal() {
	if l.journalUnlock != nil {
		l.journalUnlock()
		l.journalUnlock = nil
	}
}

// appendJournaled stamps and hashes a batch of entries without work, writes
// it to the journal as one group and starts its sync, under the writers'
// lock. Its callers are answered after its sync and every earlier group's
// (syncFlight, landJournal).
func (l *Log) appendJournaled(batch []*job) {
	fail := func(err error) {
		l.answerFailed(batch, err)
	}
	// At most JournalInFlight groups: the oldest lands first (run does not
	// take a batch while they are all in flight; Close's drain does). A
	// failure there fails those groups, not this batch, not stamped yet.
	for len(l.inflight) >= l.opt.JournalInFlight {
		l.landJournal()
	}
	if l.journalUnlock != nil && l.journal.othersWaiting() {
		// Another process waits for the lock: land what is in flight and
		// let the lock go; taking it again queues behind that process. (A
		// failure there fails the groups in flight, not this batch, which
		// is not stamped yet.)
		l.drainJournal()
	}
	if err := l.holdJournal(); err != nil {
		fail(err)
		return
	}
	before := l.saveTree()
	results := make([]result, len(batch))
	var rows pendingRows
	for i, j := range batch {
		e := l.stamp(j.entry)
		if err := l.addEntry(l.db, &e, &rows); err != nil {
			l.restoreTree(before)
			fail(err)
			return
		}
		results[i] = result{seq: e.Seq}
	}
	buf, err := encodeGroup(rows.records())
	if err != nil {
		l.restoreTree(before)
		fail(err)
		return
	}
	if !l.journal.fits(len(buf)) && len(l.inflight) > 0 {
		// A new segment closes the current one: the groups in flight land
		// first, the lock kept (this batch is stamped after them). If one
		// of them failed, the tree went back to before it, and this
		// batch, later, fails with it.
		if err := l.landAll(); err != nil {
			fail(err)
			return
		}
	}
	f, off, err := l.journal.write(buf)
	if err != nil {
		l.restoreTree(before)
		fail(err)
		return
	}
	g := &flight{batch: batch, results: results, f: f, off: off, end: l.size, before: before, landed: make(chan struct{})}
	var prev *flight
	if len(l.inflight) > 0 {
		prev = l.inflight[len(l.inflight)-1]
	}
	l.inflight = append(l.inflight, g)
	// The sync is issued after the write returned, so it covers this
	// group (and every group written before it to the same segment).
	go l.syncFlight(g, prev)
}

// syncFlight makes the group g durable and, once the group before it
// (prev, nil if none is in flight) has landed well, answers its callers: in
// seq order, never before every earlier entry is durable. If its sync or an
// earlier group's failed, it answers no one and leaves the failure to the
// committer (landJournal). It runs on a goroutine of its own and touches
// nothing the committer owns.
func (l *Log) syncFlight(g *flight, prev *flight) {
	err := l.journal.sync(g.f)
	if err != nil {
		err = fmt.Errorf("sync the audit journal: %w", err)
	}
	if prev != nil {
		<-prev.landed
		if prev.err != nil {
			// A later sync's success does not vouch for the failed
			// group's bytes: this group fails with it.
			err = prev.err
		}
	}
	g.err = err
	if err == nil {
		l.journal.durable.Store(g.end)
		// Healthy reports the latest answer: a caller answered here sees
		// the log healthy again.
		l.noteAppend(nil)
		for i, jb := range g.batch {
			jb.done <- g.results[i]
		}
	}
	close(g.landed)
}

// answerFailed answers every job of a batch with err: nothing of it is in
// the log.
func (l *Log) answerFailed(batch []*job, err error) {
	l.noteAppend(err)
	l.busyUntil = time.Now()
	for _, j := range batch {
		j.done <- result{err: fmt.Errorf("append audit entry: %w", err)}
	}
}

// landJournal waits until the oldest group in flight has landed and takes
// its outcome. Its callers were answered by its sync's goroutine if it
// succeeded. If it failed, that group and every later one in flight failed
// (each later group's goroutine saw the failure before it): the committer
// waits for them, zeroes their bytes, puts the tree back to before the
// failed group, and answers all their callers with the error; none is told
// its entry is in the log. It returns the failure.
func (l *Log) landJournal() error {
	g := l.inflight[0]
	<-g.landed
	if g.err == nil {
		l.inflight = l.inflight[1:]
		l.busyUntil = time.Now()
		return nil
	}
	err := g.err
	// The later groups' syncs finish before their bytes are zeroed.
	for _, h := range l.inflight[1:] {
		<-h.landed
	}
	failed := l.inflight
	l.inflight = nil
	l.journal.truncate(g.off, err)
	l.restoreTree(g.before)
	for _, h := range failed {
		l.answerFailed(h.batch, err)
	}
	return err
}

// drainJournal lands every group in flight and lets the writers' lock go:
// before a change, a checkpoint and the end of Close, which take the lock
// themselves and read the journal to its end, and when another process
// waits for the lock. It returns the first failure.
func (l *Log) drainJournal() error {
	err := l.landAll()
	l.releaseJournal()
	return err
}

// landAll lands every group in flight, keeping the lock, and returns the
// first failure.
func (l *Log) landAll() error {
	var err error
	for len(l.inflight) > 0 {
		if e := l.landJournal(); e != nil && err == nil {
			err = e
		}
	}
	return err
}

// records splits a batch's rows into journal records, one per entry.
func (p *pendingRows) records() []journalRecord {
	recs := make([]journalRecord, len(p.seqs))
	h, s := 0, 0
	for i, seq := range p.seqs {
		r := journalRecord{seq: seq, at: p.ats[i], actor: p.actors[i], action: p.actions[i], payload: p.payloads[i]}
		// Leaf seq adds StoredHashCount(seq+1) - StoredHashCount(seq) hashes.
		for range tlog.StoredHashCount(seq+1) - tlog.StoredHashCount(seq) {
			r.hashes = append(r.hashes, tlog.Hash(p.hashes[h]))
			h++
		}
		if s < len(p.subjects) && p.subjects[s].seq == seq {
			r.subjects = p.subjects[s].strings()
			s++
		}
		recs[i] = r
	}
	return recs
}

// add adds a journal record's rows to the batch.
func (p *pendingRows) add(r *journalRecord) {
	p.seqs = append(p.seqs, r.seq)
	p.ats = append(p.ats, r.at)
	p.actors = append(p.actors, r.actor)
	p.actions = append(p.actions, r.action)
	p.payloads = append(p.payloads, r.payload)
	base := tlog.StoredHashIndex(0, r.seq)
	for i, h := range r.hashes {
		if i == 0 {
			p.leaves = append(p.leaves, h[:])
		}
		p.hashIdx = append(p.hashIdx, base+int64(i))
		p.hashes = append(p.hashes, h[:])
	}
	if len(r.subjects) > 0 {
		p.subjects = append(p.subjects, entrySubjects{seq: r.seq, codes: r.subjects})
	}
}

// indexJournal writes, in tx, the rows of every journaled entry that has
// none, up to limit (-1: all that is readable), and returns how many, and
// where the log's rows end after them. It
// checks each entry's leaf hash against its payload: the journal is
// trusted for durability, never for content. c is the reader's cursor
// (nil: read from the segment that holds the first entry without rows).
func (l *Log) indexJournal(ctx context.Context, tx *db.Tx, c *journalCursor, limit int64) (n int, end int64, err error) {
	if tx.Dialect() == db.Postgres {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, advisoryLockID); err != nil {
			return 0, 0, fmt.Errorf("lock audit log: %w", err)
		}
	}
	l.indexMu.Lock()
	defer l.indexMu.Unlock()
	var size int64
	if err := tx.QueryRow(ctx, sizeQuery).Scan(&size); err != nil {
		return 0, 0, fmt.Errorf("read audit log size: %w", err)
	}
	var rows pendingRows
	err = l.journal.read(c, size, limit, func(r *journalRecord) error {
		if len(r.hashes) == 0 || tlog.RecordHash(r.payload) != r.hashes[0] {
			return fmt.Errorf("journaled audit entry %d: its leaf hash does not match its payload", r.seq)
		}
		if want := tlog.StoredHashCount(r.seq+1) - tlog.StoredHashCount(r.seq); int64(len(r.hashes)) != want {
			return fmt.Errorf("journaled audit entry %d: it carries %d tree hashes, a leaf at its place adds %d", r.seq, len(r.hashes), want)
		}
		rows.add(r)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read the audit journal: %w", err)
	}
	if len(rows.seqs) == 0 {
		return 0, size, nil
	}
	if err := rows.flush(tx); err != nil {
		return 0, 0, fmt.Errorf("write the rows of journaled audit entries: %w", err)
	}
	return len(rows.seqs), size + int64(len(rows.seqs)), nil
}

// runIndexer writes the rows of journaled entries until the log closes,
// then once more. Every IndexEvery it looks at the journal, and writes the
// rows of every durable entry that has none, in one transaction, when its
// pace says they are due.
func (l *Log) runIndexer() {
	defer close(l.indexerDone)
	tick := time.NewTicker(l.opt.IndexEvery)
	defer tick.Stop()
	pace := indexPace{within: l.opt.IndexWithin}
	for {
		select {
		case <-l.indexerStop:
			if err := l.indexNow(context.Background()); err != nil {
				l.opt.Logger.Error("write the rows of journaled audit entries", "err", err)
			}
			return
		case now := <-tick.C:
			if !pace.due(l.journal.durable.Load(), l.indexedTo.Load(), now) {
				continue
			}
		}
		if err := l.indexNow(context.Background()); err != nil {
			l.opt.Logger.Error("write the rows of journaled audit entries", "err", err)
		}
	}
}

// indexPace decides, at each of the indexer's looks, whether the rows of
// journaled entries are due: when entries without rows are there and
// nothing was appended since the last look (appends have paused), or when
// the oldest of them has waited within. Under constant load the rows are
// so written in few large transactions, each of which makes every reader
// of an SQLite database drop its page cache and mapping once; at a pause
// they follow at once.
type indexPace struct {
	within  time.Duration
	seen    int64     // the journal's durable end at the last look
	waiting time.Time // when entries without rows were first seen; zero: none
}

// due reports whether the rows are due at now, given the journal's durable
// end and how far rows are written; when it says so, the caller writes them.
func (p *indexPace) due(durable, indexed int64, now time.Time) bool {
	if durable <= indexed {
		p.seen, p.waiting = durable, time.Time{} // nothing new, or Sync wrote it
		return false
	}
	if p.waiting.IsZero() {
		p.waiting = now
	}
	appending := durable != p.seen
	p.seen = durable
	if appending && now.Sub(p.waiting) < p.within {
		return false // appends go on: let more gather
	}
	p.waiting = time.Time{}
	return true
}

// indexNow writes the rows of every durable journaled entry that has none,
// in transactions of at most indexBatch entries, and removes the segments
// whose entries all have rows.
func (l *Log) indexNow(ctx context.Context) error {
	limit := l.journal.durable.Load()
	wrote := false
	for {
		upTo := limit
		if max := l.indexBatch(); limit-l.indexedTo.Load() > max {
			upTo = l.indexedTo.Load() + max
		}
		n, err := l.indexUpTo(ctx, upTo)
		if err != nil {
			return err
		}
		wrote = wrote || n > 0
		if l.indexedTo.Load() >= limit {
			break
		}
	}
	if wrote {
		return l.journal.dropBelow(limit)
	}
	return nil
}

// indexUpTo writes, in one transaction, the rows of the journaled entries
// below limit that have none, and says how many it wrote.
func (l *Log) indexUpTo(ctx context.Context, limit int64) (int, error) {
	var n int
	var end int64
	var walBefore db.WALStats
	measured := false
	err := l.db.Transact(ctx, func(tx *db.Tx) error {
		// Writers take turns on SQLite: from here to the commit the WAL
		// grows by this transaction's frames alone.
		walBefore, measured = l.db.WAL()
		var err error
		n, end, err = l.indexJournal(ctx, tx, &l.indexCursor, limit)
		return err
	})
	if ctx.Err() == nil {
		l.noteRows(err)
	}
	if err != nil {
		l.indexMu.Lock()
		l.indexCursor = journalCursor{}
		l.indexMu.Unlock()
		return 0, err
	}
	if walAfter, _ := l.db.WAL(); measured && n >= minIndexBatch && walAfter.Bytes > walBefore.Bytes {
		l.measureWAL((walAfter.Bytes - walBefore.Bytes) / int64(n))
	}
	l.indexed.Add(int64(n))
	l.raiseIndexedTo(max(limit, end))
	if n > 0 {
		l.indexTransactions.Add(1)
	}
	return n, nil
}

// raiseIndexedTo records that the log's rows reach at least to, never
// lowering the mark (the indexer and Sync may finish in either order).
func (l *Log) raiseIndexedTo(to int64) {
	for {
		old := l.indexedTo.Load()
		if to <= old || l.indexedTo.CompareAndSwap(old, to) {
			return
		}
	}
}

// measureWAL takes a transaction's WAL per entry into the estimate. The
// file's growth undercounts a transaction that reused the start of a WAL a
// checkpoint had emptied: a smaller measurement lowers the estimate only
// by a quarter at a time, and never below minWALPerEntry.
func (l *Log) measureWAL(per int64) {
	old := l.walPerEntry.Load()
	if old <= 0 {
		old = assumedWALPerEntry
	}
	l.walPerEntry.Store(max(per, old*3/4, minWALPerEntry))
}

// indexBacklog writes, in bounded transactions, the rows of what this
// process journaled, before a transaction that must index the journal
// itself (a change's, a checkpoint's) begins: that transaction then holds
// only what was journaled since. The caller holds the writers' lock.
func (l *Log) indexBacklog(ctx context.Context) error {
	if l.journal == nil || l.journal.writer == nil || l.journal.durable.Load() <= l.indexedTo.Load() {
		return nil
	}
	return l.indexNow(ctx)
}

// The indexer's transactions are bounded so that the SQLite WAL stays
// under its limit: the WAL is cut only between transactions, and the rows
// of tens of thousands of look-ups (a second of them under load, on a
// large register whose index pages they scatter over) can take more WAL
// than the whole limit. A transaction takes at most as many entries as
// fill a quarter of the limit (the size at which the WAL is cut in the
// background), at the WAL per entry the last one measured; before any
// measurement, a page (4 KiB) an entry.
const (
	minIndexBatch      = 256
	assumedWALPerEntry = 4096
	minWALPerEntry     = 1024
)

// indexBatch returns the most entries one of the indexer's transactions
// takes (no bound on PostgreSQL, which has no WAL limit).
func (l *Log) indexBatch() int64 {
	st, ok := l.db.WAL()
	if !ok {
		return math.MaxInt64
	}
	per := l.walPerEntry.Load()
	if per <= 0 {
		per = assumedWALPerEntry
	}
	return max(st.Limit/4/per, minIndexBatch)
}

// Journaled reports whether the log journals its entries without work,
// their rows written afterwards (Options.Journal).
func (l *Log) Journaled() bool {
	return l != nil && l.journal != nil
}

// Sync writes the rows of every entry already journaled, so that readers
// of the log's rows (audit show, the audit screen, detection) see them. A
// log without a journal has nothing to do.
func (l *Log) Sync(ctx context.Context) error {
	switch {
	case l == nil || l.journal == nil:
		return nil
	case l.journal.writer != nil:
		if l.journal.durable.Load() <= l.indexedTo.Load() {
			return nil // the indexer wrote everything durable
		}
		return l.indexNow(ctx)
	}
	// Another process journals: write what it journaled so far, under the
	// writers' lock.
	unlock, err := l.journal.lock()
	if err != nil {
		return err
	}
	defer unlock()
	_, err = l.indexAll(ctx)
	return err
}

// SyncJournal writes, under the writers' lock, the rows of every entry
// the journal folder dir holds without them, and says how many it wrote:
// what a console command that reads the log's rows without opening the
// log (audit show, audit verify) does first on a node whose server
// journals, so that it sees every entry answered so far. It waits for the
// lock (an import holds it for its whole transaction) until ctx ends.
func SyncJournal(ctx context.Context, d *db.DB, dir string) (int, error) {
	j, err := openJournal(dir, journalOptions{})
	if err != nil {
		return 0, err
	}
	defer j.close()
	unlock, err := j.lockContext(ctx)
	if err != nil {
		return 0, err
	}
	defer unlock()
	l := &Log{db: d, journal: j}
	return l.indexAll(ctx)
}

// indexAll writes, in a transaction of its own, the rows of every journaled
// entry that has none. The caller holds the writers' lock.
func (l *Log) indexAll(ctx context.Context) (n int, err error) {
	err = l.db.Transact(ctx, func(tx *db.Tx) error {
		n, _, err = l.indexJournal(ctx, tx, nil, -1)
		return err
	})
	return n, err
}

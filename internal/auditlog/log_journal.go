package auditlog

import (
	"context"
	"errors"
	"fmt"
	"maps"
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
	j, err := openJournal(l.opt.Journal, journalOptions{Sync: l.opt.JournalSync, Writer: l.opt.JournalWrites})
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

// appendJournaled appends a batch of entries without work to the journal,
// under the writers' lock, filling in each job's result once it is durable.
func (l *Log) appendJournaled(batch []*job, results []result) (err error) {
	unlock, err := l.journal.lock()
	if err != nil {
		return err
	}
	defer unlock()
	// Another process appends through SQL (under the same lock) after
	// writing the rows of everything journaled: the log is then longer
	// than this process last saw.
	var sqlSize int64
	if err := l.db.QueryRow(context.Background(), sizeQuery).Scan(&sqlSize); err != nil {
		return fmt.Errorf("read audit log size: %w", err)
	}
	if sqlSize > l.size {
		l.size, l.frontier = sqlSize, map[int]frontierHash{}
		if err := l.readLast(context.Background(), l.db); err != nil {
			return err
		}
	}
	startSize, startLast := l.size, l.last
	saved := maps.Clone(l.frontier)
	defer func() {
		if err != nil {
			l.size, l.last, l.frontier = startSize, startLast, saved
		}
	}()
	var rows pendingRows
	for i, j := range batch {
		e := l.stamp(j.entry)
		if err := l.addEntry(l.db, &e, &rows); err != nil {
			return err
		}
		results[i] = result{seq: e.Seq}
	}
	recs := rows.records()
	if err := l.journal.append(recs); err != nil {
		return err
	}
	l.journal.durable.Store(l.size)
	return nil
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
// none, up to limit (-1: all that is readable), and returns how many. It
// checks each entry's leaf hash against its payload: the journal is
// trusted for durability, never for content. c is the reader's cursor
// (nil: read from the segment that holds the first entry without rows).
func (l *Log) indexJournal(ctx context.Context, tx *db.Tx, c *journalCursor, limit int64) (int, error) {
	if tx.Dialect() == db.Postgres {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, advisoryLockID); err != nil {
			return 0, fmt.Errorf("lock audit log: %w", err)
		}
	}
	l.indexMu.Lock()
	defer l.indexMu.Unlock()
	var size int64
	if err := tx.QueryRow(ctx, sizeQuery).Scan(&size); err != nil {
		return 0, fmt.Errorf("read audit log size: %w", err)
	}
	var rows pendingRows
	err := l.journal.read(c, size, limit, func(r *journalRecord) error {
		if len(r.hashes) == 0 || tlog.RecordHash(r.payload) != r.hashes[0] {
			return fmt.Errorf("journaled audit entry %d: its leaf hash does not match its payload", r.seq)
		}
		rows.add(r)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read the audit journal: %w", err)
	}
	if len(rows.seqs) == 0 {
		return 0, nil
	}
	if err := rows.flush(tx); err != nil {
		return 0, fmt.Errorf("write the rows of journaled audit entries: %w", err)
	}
	return len(rows.seqs), nil
}

// runIndexer writes the rows of journaled entries every IndexEvery, in one
// transaction for all that arrived since, until the log closes; then once
// more.
func (l *Log) runIndexer() {
	defer close(l.indexerDone)
	tick := time.NewTicker(l.opt.IndexEvery)
	defer tick.Stop()
	for {
		select {
		case <-l.indexerStop:
			if err := l.indexNow(context.Background()); err != nil {
				l.opt.Logger.Error("write the rows of journaled audit entries", "err", err)
			}
			return
		case <-tick.C:
		}
		if l.journal.durable.Load() <= l.indexedTo.Load() {
			continue // nothing new
		}
		if err := l.indexNow(context.Background()); err != nil {
			l.opt.Logger.Error("write the rows of journaled audit entries", "err", err)
		}
	}
}

// indexNow writes the rows of every durable journaled entry that has none,
// and removes the segments whose entries all have rows.
func (l *Log) indexNow(ctx context.Context) error {
	limit := l.journal.durable.Load()
	var n int
	err := l.db.Transact(ctx, func(tx *db.Tx) error {
		var err error
		n, err = l.indexJournal(ctx, tx, &l.indexCursor, limit)
		return err
	})
	if err != nil {
		l.indexMu.Lock()
		l.indexCursor = journalCursor{}
		l.indexMu.Unlock()
		return err
	}
	l.indexed.Add(int64(n))
	l.indexedTo.Store(limit)
	if n > 0 {
		return l.journal.dropBelow(limit)
	}
	return nil
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

// indexAll writes, in a transaction of its own, the rows of every journaled
// entry that has none. The caller holds the writers' lock.
func (l *Log) indexAll(ctx context.Context) (n int, err error) {
	err = l.db.Transact(ctx, func(tx *db.Tx) error {
		n, err = l.indexJournal(ctx, tx, nil, -1)
		return err
	})
	return n, err
}

package db

import (
	"context"
	"database/sql"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultWALLimit is the bound on the SQLite write-ahead log when Options
// gives none.
const DefaultWALLimit = 64 << 20

// Options tune a database as it is opened.
type Options struct {
	// WALLimit bounds the SQLite write-ahead log file, in bytes; zero means
	// DefaultWALLimit. PostgreSQL ignores it.
	WALLimit int64
}

// How often the background checkpointer copies the WAL into the database
// without blocking anyone, and how long an escalated checkpoint waits for
// readers to leave the WAL before it gives up (until the next attempt).
const (
	passiveEvery  = 500 * time.Millisecond
	escalatedWait = 100 * time.Millisecond
)

// walKeeper keeps the SQLite WAL under its limit.
//
// A passive checkpoint copies the WAL into the database without blocking
// anyone, but it never restarts the WAL: SQLite starts writing it from the
// beginning again only when a writer finds it wholly copied and no reader
// still in it, and under steady load (a commit every few milliseconds,
// readers always at work) that moment never comes. The WAL then grows
// without bound — hundreds of MB a minute — and every reader searches a
// longer index, so throughput falls as it grows.
//
// So when the WAL file passes a quarter of the limit the keeper escalates:
// it holds new transactions back (gate), lets the one in progress finish,
// and runs a TRUNCATE checkpoint, which copies what is left, waits up to
// escalatedWait for readers to move on to the database file, and cuts the
// WAL to nothing. Commits wait for that one checkpoint (a millisecond or
// a few), not for each other. The escalation runs in the background when a
// commit finds the WAL past the quarter; a transaction that finds it past
// half (the background could not keep up) escalates itself before it
// begins, so the file stays under the limit whatever the load, except
// while a reader transaction stays open throughout (an export streaming
// the register), which SQLite cannot checkpoint past; then the keeper
// retries at each further quarter of growth and at each passive tick.
//
// A transaction holds the gate shared from begin to end, so fn given to
// Transact must not begin another transaction (on SQLite that always
// failed after the busy timeout; with a cut waiting, it would wait for
// ever).
type walKeeper struct {
	path     string
	limit    int64
	ckpt     *sql.DB // one connection with a short busy timeout, for escalated checkpoints
	passive  *sql.DB // the pool passive checkpoints run on
	gate     sync.RWMutex
	size     atomic.Int64 // the WAL file's size at the latest commit or checkpoint
	poke     chan struct{}
	stop     chan struct{}
	finished chan struct{}

	escalated, failed atomic.Int64
	held, longest     atomic.Int64 // nanoseconds transactions were held back by cuts: in all, and the longest once

	// Owned by escalate, under mu: after a failed escalation, the size at
	// which to try again without waiting for the next tick.
	mu       sync.Mutex
	retryAt  int64
	failedAt time.Time
}

func newWALKeeper(path string, limit int64, ckpt, passive *sql.DB) *walKeeper {
	if limit <= 0 {
		limit = DefaultWALLimit
	}
	k := &walKeeper{path: path, limit: limit, ckpt: ckpt, passive: passive,
		poke: make(chan struct{}, 1), stop: make(chan struct{}), finished: make(chan struct{})}
	k.size.Store(k.stat())
	go k.run()
	return k
}

// soft and hard are the sizes at which the WAL is cut in the background,
// and by the next transaction itself.
func (k *walKeeper) soft() int64 { return k.limit / 4 }
func (k *walKeeper) hard() int64 { return k.limit / 2 }

func (k *walKeeper) stat() int64 {
	st, err := os.Stat(k.path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// begin is called before a transaction begins; the transaction holds the
// gate until end. A WAL past the hard threshold is cut first.
func (k *walKeeper) begin() {
	if k.size.Load() >= k.hard() {
		k.escalate()
	}
	k.gate.RLock()
}

// end is called when the transaction is over: it releases the gate and,
// the WAL having grown, wakes the checkpointer once it is past the soft
// threshold. One stat call: the commit is already durable.
func (k *walKeeper) end() {
	k.gate.RUnlock()
	n := k.stat()
	k.size.Store(n)
	if n >= k.soft() {
		select {
		case k.poke <- struct{}{}:
		default:
		}
	}
}

// run checkpoints passively every passiveEvery, and escalates when woken,
// until close.
func (k *walKeeper) run() {
	defer close(k.finished)
	t := time.NewTicker(passiveEvery)
	defer t.Stop()
	for {
		select {
		case <-k.stop:
			return
		case <-t.C:
			k.passive.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
			if n := k.stat(); n >= k.soft() {
				k.size.Store(n)
				k.escalate()
			}
		case <-k.poke:
			k.escalate()
		}
	}
}

// escalate cuts the WAL with a TRUNCATE checkpoint, unless it is already
// below the soft threshold or the last attempt failed and the WAL has not
// grown by another quarter of the limit since (nor has a tick passed).
func (k *walKeeper) escalate() {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.stat()
	if n < k.soft() {
		k.size.Store(n)
		return
	}
	if !k.failedAt.IsZero() && n < k.retryAt && time.Since(k.failedAt) < passiveEvery {
		return
	}
	ctx := context.Background()
	// Copy what can be copied first, with nobody held back, so the part
	// under the gate has little left to do.
	k.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)")
	k.gate.Lock()
	start := time.Now()
	var busy, logFrames, copied int64
	err := k.ckpt.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &copied)
	k.gate.Unlock()
	held := time.Since(start)
	k.held.Add(int64(held))
	if int64(held) > k.longest.Load() {
		k.longest.Store(int64(held)) // only escalate writes it, under mu
	}
	k.escalated.Add(1)
	n = k.stat()
	k.size.Store(n)
	if err != nil || busy != 0 {
		k.failed.Add(1)
		k.failedAt, k.retryAt = time.Now(), n+k.soft()
		return
	}
	k.failedAt = time.Time{}
}

// close stops the checkpointer and cuts the WAL one last time.
func (k *walKeeper) close() {
	close(k.stop)
	<-k.finished
	// A final full checkpoint leaves an empty WAL behind.
	k.ckpt.ExecContext(context.Background(), "PRAGMA wal_checkpoint(TRUNCATE)")
	k.ckpt.Close()
}

// WALStats describe the SQLite write-ahead log.
type WALStats struct {
	Bytes  int64 // the WAL file's size now
	Limit  int64 // the configured bound
	Cuts   int64 // escalated (TRUNCATE) checkpoints tried
	Failed int64 // of which readers did not leave the WAL in time
	// Held is how long transactions were held back by cuts in all, and
	// Longest the longest once: what bounding the WAL costs the commits.
	Held, Longest time.Duration
}

// WAL returns the state of the SQLite write-ahead log; ok is false on
// PostgreSQL.
func (db *DB) WAL() (st WALStats, ok bool) {
	k := db.wal
	if k == nil {
		return WALStats{}, false
	}
	return WALStats{Bytes: k.stat(), Limit: k.limit, Cuts: k.escalated.Load(), Failed: k.failed.Load(),
		Held: time.Duration(k.held.Load()), Longest: time.Duration(k.longest.Load())}, true
}

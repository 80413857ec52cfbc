package auditlog

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sys/unix"

	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// openJournaled opens a log that journals into dir; writes says whether
// this process is the one that journals.
func openJournaled(t testing.TB, d *db.DB, s note.Signer, dir string, writes bool, indexEvery time.Duration) *Log {
	t.Helper()
	l, err := Open(context.Background(), d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clocktest.New().Now,
		Journal: dir, JournalWrites: writes, IndexEvery: indexEvery})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func countRows(t testing.TB, d *db.DB) (entries, subjects int64) {
	t.Helper()
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_entry`).Scan(&entries); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_subject`).Scan(&subjects); err != nil {
		t.Fatal(err)
	}
	return entries, subjects
}

// Entries journaled by the server, changes appended in their own
// transactions between them, and a console command appending through SQL
// beside it all end in one gap-free, verifiable log with every subject row.
func TestJournaledLogVerifies(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		dir := t.TempDir()
		l := openJournaled(t, d, s, dir, true, time.Hour) // the indexer waits: rows come from Sync, changes and checkpoints
		fill(t, l, 200)                                   // signs a checkpoint, which writes every row first
		if e, sub := countRows(t, d); e != 200 || sub != 400 {
			t.Fatalf("after the checkpoint: %d entries, %d subject rows", e, sub)
		}
		// Journaled entries have no rows until something writes them.
		for i := range 10 {
			if _, err := l.Append(ctx, entry(i, fmt.Sprintf("%011d", 1000+i))); err != nil {
				t.Fatal(err)
			}
		}
		if e, _ := countRows(t, d); e != 200 {
			t.Fatalf("%d rows before the index: want 200", e)
		}
		if n, _ := l.Size(ctx); n != 210 {
			t.Errorf("Size %d, want 210", n)
		}
		// A change follows them: its transaction writes their rows first.
		seq, workErr, err := l.AppendWith(ctx, entry(99), func(ctx context.Context, tx *db.Tx, seq int64, e *Entry) error {
			e.Action = "apply"
			return nil
		})
		if err != nil || workErr != nil || seq != 210 {
			t.Fatalf("change: seq %d, %v, %v", seq, workErr, err)
		}
		if e, _ := countRows(t, d); e != 211 {
			t.Fatalf("%d rows after the change: want 211", e)
		}
		// A console command beside the server appends through SQL.
		console := openJournaled(t, d, s, dir, false, 0)
		for i := range 5 {
			if _, err := l.Append(ctx, entry(i)); err != nil {
				t.Fatal(err)
			}
			if _, err := console.Append(ctx, entry(i, fmt.Sprintf("%011d", 2000+i))); err != nil {
				t.Fatal(err)
			}
		}
		console.Close()
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if e, _ := countRows(t, d); e != 221 {
			t.Fatalf("%d rows after the console's appends and Sync: want 221", e)
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		l.Close()
		rep, err := Verify(ctx, d, v)
		if err != nil || rep.Entries != 221 {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
		// Every segment was removed once its entries had rows (the last
		// one stays until the next server starts afresh).
		segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.wal"))
		if len(segs) > 1 {
			t.Errorf("segments left: %v", segs)
		}
	})
}

// The indexer writes rows on its own, in the background.
func TestJournalIndexer(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newKey(t)
		l := openJournaled(t, d, s, t.TempDir(), true, time.Millisecond)
		fill(t, l, 50)
		for i := range 20 {
			if _, err := l.Append(ctx, entry(i)); err != nil {
				t.Fatal(err)
			}
		}
		// Polls counted, not a deadline read from the clock: up to 30,000
		// of 1 ms (the indexer runs every millisecond here).
		for tries := 0; ; tries++ {
			if e, _ := countRows(t, d); e == 70 {
				break
			}
			if tries > 30000 {
				t.Fatalf("the indexer did not write the rows: %d indexed", l.indexed.Load())
			}
			time.Sleep(time.Millisecond)
		}
	})
}

// Only one process journals a node's entries.
func TestJournalOneWriter(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	s, _ := newKey(t)
	dir := t.TempDir()
	openJournaled(t, d, s, dir, true, 0)
	_, err := Open(context.Background(), d, s, Options{Journal: dir, JournalWrites: true, Now: clocktest.New().Now})
	if err == nil || !strings.Contains(err.Error(), "another process journals") {
		t.Fatalf("a second writer: %v", err)
	}
}

// What a crash leaves — entries durable in the journal and no rows — gets
// its rows when the log is next opened, whatever part of the last record
// reached the disk: every whole record is recovered, a torn one is not,
// and the log verifies.
func TestJournalRecoversAfterACrash(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	dir := t.TempDir()
	l := openJournaled(t, d, s, dir, true, time.Hour)
	fill(t, l, 30)
	for i := range 12 {
		if _, err := l.Append(ctx, entry(i, fmt.Sprintf("%011d", 500+i))); err != nil {
			t.Fatal(err)
		}
	}
	// The crash: a copy of the database and of the journal as they are
	// now, before the indexer wrote anything.
	crashed := t.TempDir()
	if _, err := d.Exec(ctx, `VACUUM INTO ?`, filepath.Join(crashed, "db")); err != nil {
		t.Fatal(err)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.wal"))
	if len(segs) != 1 {
		t.Fatalf("segments %v", segs)
	}
	seg, err := os.ReadFile(segs[0])
	if err != nil {
		t.Fatal(err)
	}
	end := len(journalMagic)
	var ends []int // where each record ends
	for end+16 <= len(seg) {
		n := int(uint32(seg[end])<<24 | uint32(seg[end+1])<<16 | uint32(seg[end+2])<<8 | uint32(seg[end+3]))
		if n == 0 {
			break
		}
		end += 16 + n
		ends = append(ends, end)
	}
	// The segment holds the 30 entries the checkpoint wrote rows for and
	// the 12 that have none.
	if len(ends) != 42 {
		t.Fatalf("%d records in the segment, want 42", len(ends))
	}
	for _, c := range []struct {
		name string
		cut  int // bytes of the segment that reached the disk
		want int64
	}{
		{"every record", len(seg), 42},
		{"the last record torn in its body", ends[41] - 5, 41},
		{"the last record torn in its header", ends[40] + 7, 41},
		{"the last record missing", ends[40], 41},
		{"half the records", ends[35], 36},
		{"nothing but the header", len(journalMagic), 30},
	} {
		t.Run(c.name, func(t *testing.T) {
			run := t.TempDir()
			copyFile(t, filepath.Join(crashed, "db"), filepath.Join(run, "db"))
			jdir := filepath.Join(run, "journal")
			os.Mkdir(jdir, 0o700)
			torn := make([]byte, len(seg)) // the rest of the preallocated file reads as zeros
			copy(torn, seg[:c.cut])
			if err := os.WriteFile(filepath.Join(jdir, filepath.Base(segs[0])), torn, 0o600); err != nil {
				t.Fatal(err)
			}
			d2, err := db.Open(ctx, "sqlite:"+filepath.Join(run, "db"))
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			l2 := openJournaled(t, d2, s, jdir, true, time.Hour)
			if n, _ := l2.Size(ctx); n != c.want {
				t.Fatalf("size after recovery %d, want %d", n, c.want)
			}
			// The log goes on from there.
			if _, err := l2.Append(ctx, entry(1, "00000000019")); err != nil {
				t.Fatal(err)
			}
			l2.Close()
			rep, err := Verify(ctx, d2, v)
			if err != nil || rep.Entries != c.want+1 {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
			if _, sub := countRows(t, d2); sub < 2*30 {
				t.Errorf("%d subject rows", sub)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// A record damaged before the journal's tail is an error naming it, never
// skipped: the entries after it were acknowledged.
func TestJournalDamageBeforeTheTail(t *testing.T) {
	dir := t.TempDir()
	j, err := openJournal(dir, journalOptions{Writer: true, SegmentSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	defer j.close()
	unlock, _ := j.lock()
	for seq := range int64(40) {
		r := journalRecord{seq: seq, at: time.Unix(0, 0), actor: "a", action: "lookup", payload: []byte(fmt.Sprintf("entry %d with a payload of some length", seq))}
		if err := j.append([]journalRecord{r}); err != nil {
			t.Fatal(err)
		}
	}
	unlock()
	segs, _ := j.segments()
	if len(segs) < 3 {
		t.Fatalf("%d segments; want several", len(segs))
	}
	var got []int64
	read := func() error {
		got = got[:0]
		return j.read(nil, 0, -1, func(r *journalRecord) error { got = append(got, r.seq); return nil })
	}
	if err := read(); err != nil || len(got) != 40 {
		t.Fatalf("read %d records, %v", len(got), err)
	}
	b, _ := os.ReadFile(segs[0].path)
	b[len(journalMagic)+20] ^= 0xff
	os.WriteFile(segs[0].path, b, 0o600)
	if err := read(); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("a damaged record in the first segment: %v (read %d)", err, len(got))
	}
	// From a later entry the damaged one is not read.
	var c journalCursor
	var n int
	if err := j.read(&c, segs[1].first, -1, func(*journalRecord) error { n++; return nil }); err != nil || n != int(40-segs[1].first) {
		t.Fatalf("read from %d: %d records, %v", segs[1].first, n, err)
	}
	if err := j.dropBelow(segs[2].first); err != nil {
		t.Fatal(err)
	}
	if left, _ := j.segments(); left[0].first != segs[2].first {
		t.Errorf("segments after dropBelow: %v", left)
	}
}

// Concurrent callers of a journaled log share groups, and each is answered
// only once its entry is durable: every acknowledged entry is in the log.
func TestJournalConcurrentAppends(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openJournaled(t, d, s, t.TempDir(), true, 5*time.Millisecond)
		seen := map[int64]bool{}
		appendConcurrently(ctx, l, 32, 20, func(w, i int) Entry {
			return entry(w*100+i, fmt.Sprintf("%011d", w*100+i))
		}, func(_, _ int, seq int64, err error) bool {
			if err != nil {
				t.Error(err)
				return false
			}
			seen[seq] = true
			return true
		})()
		if len(seen) != 640 {
			t.Fatalf("%d distinct seqs", len(seen))
		}
		l.Close()
		rep, err := Verify(ctx, d, v)
		if err != nil || rep.Entries != 640 {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
		if b := l.batches.Load(); b >= 640 {
			t.Errorf("%d groups for 640 entries: callers never shared one", b)
		}
	})
}

// Turning the journal on for a node whose log is SQL rows, and off again
// with entries still waiting in the journal, needs no migration: the
// journal starts at the log's size, and a log opened without journaling
// (but naming the folder) writes what waits there. The log verifies
// before, between and after.
func TestJournalOnAndOff(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		dir := t.TempDir()
		plain, err := Open(ctx, d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clocktest.New().Now})
		if err != nil {
			t.Fatal(err)
		}
		fill(t, plain, 40)
		plain.Close()
		if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != 40 {
			t.Fatalf("before: %+v, %v", rep, err)
		}
		on := openJournaled(t, d, s, dir, true, time.Hour)
		fill(t, on, 25)
		for i := range 7 {
			if _, err := on.Append(ctx, entry(i, fmt.Sprintf("%011d", 700+i))); err != nil {
				t.Fatal(err)
			}
		}
		// The server stops without writing the last rows (its indexer
		// never ran; Close would write them): only the journal has them.
		on.journal.writer.Close()
		on.journal.writer = nil
		if e, _ := countRows(t, d); e != 65 {
			t.Fatalf("%d rows while 7 entries wait in the journal: want 65", e)
		}
		off := openJournaled(t, d, s, dir, false, 0)
		if e, sub := countRows(t, d); e != 72 || sub != 2*65+7 {
			t.Fatalf("after opening without journaling: %d entries, %d subject rows; want 72, %d", e, sub, 2*65+7)
		}
		fill(t, off, 5)
		off.Close()
		if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != 77 {
			t.Fatalf("after: %+v, %v", rep, err)
		}
	})
}

// subjectSeqs reads which entry names each resident code: the tests give
// each append a code of its own.
func subjectSeqs(t testing.TB, d *db.DB) map[string]int64 {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT seq, resident_code FROM audit_subject`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var seq int64
		var code string
		if err := rows.Scan(&seq, &code); err != nil {
			t.Fatal(err)
		}
		out[code] = seq
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// syncCounter is a journal Sync that fdatasyncs and counts the syncs that
// started while another was still running.
type syncCounter struct {
	running, overlapped, calls atomic.Int64
}

// slowSyncs is how many of a syncCounter's first syncs act as a slow
// disk's: each lasts until another sync starts, or at most slowSync. On
// tmpfs, or a disk with a write cache, fdatasync returns at once, and two
// groups in flight would rarely be seen overlapping; with one group in
// flight none can overlap, and each of these syncs lasts slowSync.
const (
	slowSyncs = 20
	slowSync  = 50 * time.Millisecond
)

func (c *syncCounter) sync(f *os.File) error {
	n := c.calls.Add(1)
	if c.running.Add(1) > 1 {
		c.overlapped.Add(1)
	}
	defer c.running.Add(-1)
	if n <= slowSyncs {
		timeout := time.NewTimer(slowSync)
		defer timeout.Stop()
		for c.running.Load() < 2 {
			select {
			case <-timeout.C:
				return unix.Fdatasync(int(f.Fd()))
			case <-time.After(100 * time.Microsecond):
			}
		}
	}
	return unix.Fdatasync(int(f.Fd()))
}

// With two groups in flight, two callers taking turns overlap their syncs:
// a group is written and its sync issued while the group before it still
// syncs. With one, no sync ever starts while another runs. Either way
// every caller gets a seq of its own, the seqs have no gap, and every
// acknowledged entry is in the log after it is reopened, across the many
// segments small ones make (each started with groups in flight).
func TestJournalTwoGroupsInFlight(t *testing.T) {
	for _, inFlight := range []int{2, 1} {
		t.Run(fmt.Sprintf("inflight-%d", inFlight), func(t *testing.T) {
			ctx := context.Background()
			d := dbtest.OpenSQLite(t)
			s, v := newKey(t)
			dir := t.TempDir()
			var c syncCounter
			l, err := Open(ctx, d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clocktest.New().Now,
				Journal: dir, JournalWrites: true, JournalSync: c.sync, JournalInFlight: inFlight, IndexEvery: time.Hour,
				journalSegment: 32 << 10}) // a new segment every ~50 entries, with groups in flight
			if err != nil {
				t.Fatal(err)
			}
			const callers, each = 2, 150
			acked := map[int64]string{}
			appendConcurrently(ctx, l, callers, each, func(w, i int) Entry {
				return entry(i, loadCode(w, i))
			}, func(w, i int, seq int64, err error) bool {
				if err != nil {
					t.Error(err)
					return false
				}
				acked[seq] = loadCode(w, i)
				return true
			})()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			for seq := range int64(callers * each) {
				if _, ok := acked[seq]; !ok {
					t.Fatalf("seq %d was never answered (%d answered): a gap", seq, len(acked))
				}
			}
			overlapped := c.overlapped.Load()
			t.Logf("%d syncs, %d started while another ran", c.calls.Load(), overlapped)
			if inFlight == 1 && overlapped != 0 {
				t.Errorf("%d syncs started while another ran, with one group in flight", overlapped)
			}
			if inFlight == 2 && overlapped == 0 {
				t.Errorf("no sync of %d started while another ran: one group in flight at a time", c.calls.Load())
			}
			// Reopened, the log holds every acknowledged entry, where it
			// was acknowledged.
			l2 := openJournaled(t, d, s, dir, true, time.Hour)
			if n, _ := l2.Size(ctx); n != callers*each {
				t.Fatalf("size after reopening %d, want %d", n, callers*each)
			}
			l2.Close()
			got := subjectSeqs(t, d)
			for seq, code := range acked {
				if got[code] != seq {
					t.Fatalf("entry %d (%s) reads as entry %d after reopening", seq, code, got[code])
				}
			}
			if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != callers*each {
				t.Fatalf("verify: %+v, %v", rep, err)
			}
		})
	}
}

// newJob makes e a job for the committer, as Append does.
func newJob(e Entry) *job {
	j := &job{ctx: context.Background(), entry: e}
	j.prepare()
	return j
}

// A failed sync fails its group and the group written after it while it
// synced — even though that group's own sync succeeded (after a failed
// fdatasync, a later one can succeed without the earlier bytes on disk) —
// answers neither's callers with a seq, puts the tree back to before the
// failed group and zeroes both groups' bytes. The next group takes the
// failed one's seqs, and the log reopens with it alone and verifies. The
// committer's steps are driven here one by one, in the test's goroutine.
func TestJournalSyncFailsLaterGroups(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	dir := t.TempDir()
	fillLog := openJournaled(t, d, s, dir, true, time.Hour)
	fill(t, fillLog, 10)
	fillLog.Close()

	// The syncs' outcomes, in the order they are called: group 1's fails,
	// group 2's succeeds, then the undo's and group 3's. Each sync takes
	// its outcome, then says it was called.
	outcome := make(chan error, 8)
	outcome <- errors.New("injected: the disk failed group 1")
	outcome <- nil
	outcome <- nil
	outcome <- nil
	called := make(chan struct{}, 8)
	failing := func(f *os.File) error {
		err := <-outcome
		called <- struct{}{}
		if err != nil {
			return err
		}
		return unix.Fdatasync(int(f.Fd()))
	}
	l := &Log{db: d, signer: s, frontier: map[int]frontierHash{}, opt: Options{Origin: "jukinet/test", Now: clocktest.New().Now,
		Logger: slog.Default(), Journal: dir, JournalWrites: true, JournalSync: failing, JournalInFlight: 2}}
	// What Open does before the committer starts.
	if err := l.openJournal(ctx); err != nil {
		t.Fatal(err)
	}
	defer l.journal.close()
	if err := d.QueryRow(ctx, sizeQuery).Scan(&l.size); err != nil {
		t.Fatal(err)
	}
	if err := l.readLast(ctx, d); err != nil {
		t.Fatal(err)
	}
	l.journal.durable.Store(l.size)
	start := l.size

	// Group 1 is written and its sync has failed, but it has not landed
	// yet (the committer has not looked): group 2 is written after it, two
	// groups in flight.
	j1, j2 := newJob(entry(1, "00000000101")), newJob(entry(2, "00000000102"))
	l.appendJournaled([]*job{j1})
	<-called
	if len(l.inflight) != 1 {
		t.Fatalf("%d groups in flight after one batch, want 1: the batch was answered before its sync landed", len(l.inflight))
	}
	off := l.inflight[0].off
	l.appendJournaled([]*job{j2})
	if len(l.inflight) != 2 {
		t.Fatalf("%d groups in flight after two batches, want 2", len(l.inflight))
	}
	<-called
	if l.size != start+2 {
		t.Fatalf("size %d with two groups in flight, want %d", l.size, start+2)
	}
	// Each caller's first answer is taken as it comes, so that a second
	// one (a caller answered twice) cannot block the committer.
	first := make([]chan result, 2)
	for i, j := range []*job{j1, j2} {
		first[i] = make(chan result, 1)
		go func() { first[i] <- <-j.done }()
	}
	if err := l.landAll(); err == nil || !strings.Contains(err.Error(), "injected") {
		t.Fatalf("landing the groups: %v", err)
	}
	for i, j := range []*job{j1, j2} {
		if r := <-first[i]; r.err == nil || !strings.Contains(r.err.Error(), "injected") {
			t.Errorf("the caller of group %d was answered %+v, want the sync's failure", i+1, r)
		}
		select {
		case r := <-j.done:
			t.Errorf("the caller of group %d was answered twice, then %+v", i+1, r)
		default:
		}
	}
	if l.size != start || l.journal.durable.Load() != start || l.journal.curOff != off {
		t.Fatalf("after the failure: size %d, durable %d, journal offset %d; want %d, %d, %d",
			l.size, l.journal.durable.Load(), l.journal.curOff, start, start, off)
	}
	seg, err := os.ReadFile(filepath.Join(dir, segmentName(start)))
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range seg[off:] {
		if b != 0 {
			t.Fatalf("byte %d after the failed groups is %#x: their records were not zeroed", off+int64(i), b)
		}
	}
	if l.journal.broken != nil {
		t.Fatalf("the journal is broken: %v", l.journal.broken)
	}

	// The next group takes the failed one's seq.
	j3 := newJob(entry(3, "00000000103"))
	l.appendJournaled([]*job{j3})
	if err := l.drainJournal(); err != nil {
		t.Fatal(err)
	}
	if r := <-j3.done; r.err != nil || r.seq != start {
		t.Fatalf("the append after the failure: %+v, want seq %d", r, start)
	}
	l.journal.close()

	// Reopened (the crash after it: rows only from the journal), the log
	// holds that entry and neither failed one.
	l2 := openJournaled(t, d, s, dir, true, time.Hour)
	if n, _ := l2.Size(ctx); n != start+1 {
		t.Fatalf("size after reopening %d, want %d", n, start+1)
	}
	l2.Close()
	got := subjectSeqs(t, d)
	if seq, ok := got["00000000103"]; !ok || seq != start {
		t.Errorf("the acknowledged entry reads as %d (%v), want %d", seq, ok, start)
	}
	for _, code := range []string{"00000000101", "00000000102"} {
		if seq, ok := got[code]; ok {
			t.Errorf("the failed append naming %s is in the log as entry %d", code, seq)
		}
	}
	if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != start+1 {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// Under load from several callers, a sync that fails (once: the syncs
// after it succeed) fails its group and every group in flight after it;
// no failed append is in the log, every acknowledged one is, at the seq it
// was given, and the seqs acknowledged have no gap. The log reopens
// consistent and verifies.
func TestJournalSyncFailureUnderLoad(t *testing.T) {
	ctx := context.Background()
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	dir := t.TempDir()
	var calls atomic.Int64
	const failAt = 40
	flaky := func(f *os.File) error {
		if calls.Add(1) == failAt {
			return errors.New("injected: the disk failed a sync")
		}
		return unix.Fdatasync(int(f.Fd()))
	}
	l, err := Open(ctx, d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clocktest.New().Now,
		Journal: dir, JournalWrites: true, JournalSync: flaky, IndexEvery: time.Millisecond, journalSegment: 32 << 10})
	if err != nil {
		t.Fatal(err)
	}
	const callers, each = 4, 60
	acked := map[int64]string{}
	var failed []string
	appendConcurrently(ctx, l, callers, each, func(w, i int) Entry {
		return entry(i, loadCode(w, i))
	}, func(w, i int, seq int64, err error) bool {
		code := loadCode(w, i)
		if err != nil {
			if !strings.Contains(err.Error(), "injected") {
				t.Errorf("append: %v", err)
			}
			failed = append(failed, code)
		} else {
			if prev, ok := acked[seq]; ok {
				t.Errorf("seq %d acknowledged twice (%s, %s)", seq, prev, code)
			}
			acked[seq] = code
		}
		return true
	})()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if len(failed) == 0 {
		t.Fatalf("no append failed (%d syncs)", calls.Load())
	}
	t.Logf("%d appends failed with the sync, %d acknowledged", len(failed), len(acked))
	for seq := range int64(len(acked)) {
		if _, ok := acked[seq]; !ok {
			t.Fatalf("seq %d was never acknowledged, but %d were: a gap", seq, len(acked))
		}
	}
	l2 := openJournaled(t, d, s, dir, true, time.Hour)
	if n, _ := l2.Size(ctx); n != int64(len(acked)) {
		t.Fatalf("size after reopening %d, want the %d acknowledged", n, len(acked))
	}
	l2.Close()
	got := subjectSeqs(t, d)
	for seq, code := range acked {
		if got[code] != seq {
			t.Fatalf("entry %d (%s) reads as entry %d after reopening", seq, code, got[code])
		}
	}
	for _, code := range failed {
		if seq, ok := got[code]; ok {
			t.Fatalf("the failed append naming %s is in the log as entry %d", code, seq)
		}
	}
	if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != int64(len(acked)) {
		t.Fatalf("verify: %+v, %v", rep, err)
	}
}

// A console command appending through SQL beside a server whose callers
// keep two groups in flight without a pause gets the writers' lock: the
// server sees it waiting (the lock's queue is taken), lands its groups,
// lets the lock go and queues behind it. Its appends complete while the
// load still runs (the load stops only after a fixed number of appends, far
// more than the console's take), and the log verifies.
func TestJournalConsoleBesideLoadedServer(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		dir := t.TempDir()
		l := openJournaled(t, d, s, dir, true, 5*time.Millisecond)
		var loaded atomic.Int64 // appends the load made
		const callers, each = 64, 250
		wait := appendConcurrently(ctx, l, callers, each, func(_, i int) Entry { return entry(i) }, func(_, _ int, _ int64, err error) bool {
			if err != nil {
				t.Error(err)
				return false
			}
			loaded.Add(1)
			return true
		})
		// The console starts once the load runs.
		for loaded.Load() < 200 {
			runtime.Gosched()
		}
		locksBefore := l.journalLocks.Load()
		console := openJournaled(t, d, s, dir, false, 0)
		const consoleAppends = 3
		for i := range consoleAppends {
			if _, err := console.Append(ctx, entry(i, fmt.Sprintf("%011d", 3000+i))); err != nil {
				t.Fatal(err)
			}
		}
		console.Close()
		during, locks := loaded.Load(), l.journalLocks.Load()-locksBefore
		wait()
		t.Logf("the console's %d appends done after %d of the load's %d; the server took the lock %d times meanwhile",
			consoleAppends, during, callers*each, locks)
		if during >= callers*each {
			t.Fatalf("the console's appends completed only once the load had ended")
		}
		l.Close()
		rep, err := Verify(ctx, d, v)
		if err != nil || rep.Entries != callers*each+consoleAppends {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
	})
}

// A process waiting for the writers' lock is seen waiting by the holder,
// and a holder that lets the lock go and takes it again at once queues
// behind it: the waiter gets the lock first. (Without the queue, the
// holder's flock would almost always win the lock back before the waiter's
// woke up: a server under constant load would starve a console command.)
func TestJournalLockQueue(t *testing.T) {
	dir := t.TempDir()
	server, err := openJournal(dir, journalOptions{Writer: true})
	if err != nil {
		t.Fatal(err)
	}
	defer server.close()
	console, err := openJournal(dir, journalOptions{}) // another process's, as far as flock goes
	if err != nil {
		t.Fatal(err)
	}
	defer console.close()
	unlock, err := server.lock()
	if err != nil {
		t.Fatal(err)
	}
	if server.othersWaiting() {
		t.Fatal("the server sees a waiter before anyone waits")
	}
	var mu sync.Mutex
	var order []string
	got := func(who string) {
		mu.Lock()
		order = append(order, who)
		mu.Unlock()
	}
	done := make(chan error, 2)
	go func() {
		u, err := console.lock()
		if err == nil {
			got("console")
			u()
		}
		done <- err
	}()
	// Polls counted, not a deadline read from the clock.
	for tries := 0; !server.othersWaiting(); tries++ {
		if tries > 1_000_000 {
			t.Fatal("the server never saw the console waiting for the lock")
		}
		runtime.Gosched()
	}
	// The server lets the lock go and takes it again at once.
	unlock()
	go func() {
		u, err := server.lock()
		if err == nil {
			got("server")
			u()
		}
		done <- err
	}()
	for range 2 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if len(order) != 2 || order[0] != "console" {
		t.Fatalf("the lock went to %v: the waiting console must get it first", order)
	}
}

// appendConcurrently starts callers goroutines, each appending each
// entries made by mk(w, i) (w the caller, i its append) to l, and calls
// done with each append's result, one call at a time; a caller stops at
// the first done that returns false. The function it returns waits until
// every caller has stopped.
func appendConcurrently(ctx context.Context, l *Log, callers, each int, mk func(w, i int) Entry, done func(w, i int, seq int64, err error) bool) (wait func()) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				seq, err := l.Append(ctx, mk(w, i))
				mu.Lock()
				ok := done(w, i, seq, err)
				mu.Unlock()
				if !ok {
					return
				}
			}
		}()
	}
	return wg.Wait
}

// loadCode is the resident code caller w names in its append i.
func loadCode(w, i int) string { return fmt.Sprintf("%011d", 1000*w+i) }

// TestIndexerBoundsItsTransactions: the indexer writes the rows of a long
// run of journaled entries in transactions that each fit a quarter of the
// SQLite WAL's limit (at first a page an entry, then the WAL per entry it
// measured), so that the WAL, cut only between transactions, stays under
// its limit.
func TestIndexerBoundsItsTransactions(t *testing.T) {
	ctx := context.Background()
	d, err := db.OpenWith(ctx, "sqlite:"+filepath.Join(t.TempDir(), "log.db"), db.Options{WALLimit: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s, v := newKey(t)
	l := openJournaled(t, d, s, t.TempDir(), true, time.Hour)
	if got := l.indexBatch(); got != (4<<20)/4/assumedWALPerEntry {
		t.Fatalf("before any measurement a transaction takes %d entries, want %d", got, (4<<20)/4/assumedWALPerEntry)
	}
	const n = 3000
	for i := range n {
		if _, err := l.Append(ctx, entry(i%7, fmt.Sprintf("%011d", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if entries, _ := countRows(t, d); entries != n {
		t.Fatalf("%d entries have rows, want %d", entries, n)
	}
	per := l.walPerEntry.Load()
	if per <= 0 || l.indexTransactions.Load() < 2 {
		t.Fatalf("%d transactions, %d WAL bytes an entry measured; want at least two transactions and a measurement", l.indexTransactions.Load(), per)
	}
	if got, want := l.indexBatch(), max((4<<20)/4/per, minIndexBatch); got != want {
		t.Errorf("after measuring %d bytes an entry a transaction takes %d entries, want %d", per, got, want)
	}
	if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != n {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	// A WAL per entry larger than the quarter still leaves a transaction
	// room for minIndexBatch entries.
	l.walPerEntry.Store(1 << 30)
	if got := l.indexBatch(); got != minIndexBatch {
		t.Errorf("with a huge WAL per entry a transaction takes %d entries, want %d", got, minIndexBatch)
	}
}

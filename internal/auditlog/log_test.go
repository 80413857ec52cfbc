package auditlog

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

func newKey(t testing.TB) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, "jukinet-test")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

func openLog(t testing.TB, d *db.DB, s note.Signer) *Log {
	t.Helper()
	opt := Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clocktest.New().Now}
	if os.Getenv(EnvTestJournal) == "1" {
		// The whole package again, with the log journaled: the first log
		// open on a database journals, others append through SQL.
		opt.Journal = testJournalDir(t, d)
		opt.JournalWrites = true
	}
	l, err := Open(context.Background(), d, s, opt)
	if err != nil && opt.JournalWrites && strings.Contains(err.Error(), "another process journals") {
		opt.JournalWrites = false
		l, err = Open(context.Background(), d, s, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var (
	testJournalsMu sync.Mutex
	testJournals   = map[string]string{} // by database URL: two handles on one database share its journal
)

// testJournalDir is the journal folder of d's log in this test run.
func testJournalDir(t testing.TB, d *db.DB) string {
	testJournalsMu.Lock()
	defer testJournalsMu.Unlock()
	dir, ok := testJournals[d.String()]
	if !ok {
		dir = t.TempDir()
		testJournals[d.String()] = dir
	}
	return dir
}

func entry(i int, subjects ...string) Entry {
	return Entry{
		Node: "131083", Actor: Actor{Kind: ActorOperator, ID: fmt.Sprintf("op%d", i%3)}, Origin: "terminal:T1",
		Action: "lookup", Affair: "住民票の写しの交付", Reason: "窓口申請", Decision: Allow, Policy: "test",
		Outcome: OutcomeOK, Count: len(subjects), Subjects: subjects,
		Provision: &Provision{Function: "lookup", Affair: "住民票の写しの交付", Reason: "窓口申請", Provider: "131083", Recipient: "operator:op", Items: []string{"name", "address"}},
	}
}

// fill appends n entries from 8 goroutines and signs a checkpoint.
func fill(t *testing.T, l *Log, n int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	seqs := make(chan int64, n)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				seq, err := l.Append(context.Background(), entry(i, fmt.Sprintf("%011d", i), fmt.Sprintf("%011d", i+1)))
				if err != nil {
					errs <- err
				}
				seqs <- seq
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	close(seqs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d given twice", s)
		}
		seen[s] = true
	}
	if _, err := l.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAppendVerify(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 300)
		rep, err := Verify(context.Background(), d, v)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries != 300 || rep.Checkpoints != 1 || rep.Checked != 300 {
			t.Errorf("report %+v", rep)
		}
		// Reopening continues the tree where it was.
		l.Close()
		l2 := openLog(t, d, s)
		fill(t, l2, 17)
		l2.Close() // signs a final checkpoint
		rep, err = Verify(context.Background(), d, v)
		if err != nil || rep.Entries != 317 || rep.Checkpoints != 2 {
			t.Fatalf("after reopen: %+v, %v", rep, err)
		}
		if _, err := l2.Append(context.Background(), entry(1)); !errors.Is(err, ErrClosed) {
			t.Errorf("append after close: %v", err)
		}
	})
}

// Two logs on one database, as when a console command runs beside the
// server, interleave without breaking the tree.
func TestTwoWritersShareOneLog(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		a, b := openLog(t, d, s), openLog(t, d, s)
		for i := 0; i < 30; i++ {
			l := a
			if i%3 == 0 {
				l = b
			}
			if _, err := l.Append(context.Background(), entry(i, fmt.Sprintf("%011d", i))); err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
		}
		a.Close()
		b.Close()
		rep, err := Verify(context.Background(), d, v)
		if err != nil || rep.Entries != 30 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
		// On PostgreSQL a batch goes as one pipelined round trip, which
		// the other log's appends make stale: those are appended again in
		// a transaction that catches up first.
		if d.Dialect() == db.Postgres && a.journal == nil {
			for _, l := range []*Log{a, b} {
				if l.pipelined.Load() == 0 || l.retried.Load() == 0 {
					t.Errorf("pipelined %d, retried %d batches; want some of each", l.pipelined.Load(), l.retried.Load())
				}
			}
		}
	})
}

// Verifying a log that is being appended to and pruned — the web console's
// check runs on a live node — finds it intact: the entries, tree hashes
// and subject rows are read as of one moment.
func TestVerifyWhileAppending(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 100)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					if _, err := l.Append(context.Background(), entry(i, fmt.Sprintf("%011d", i), fmt.Sprintf("%011d", i+w))); err != nil {
						errs <- err
						return
					}
					if w == 0 && i%50 == 49 {
						if _, err := l.Prune(context.Background(), l.opt.Now().Add(-20*time.Millisecond), entry(i)); err != nil {
							errs <- err
							return
						}
					}
				}
			}(w)
		}
		// At least 40 verifications, and on until one has seen prunes.
		var last Report
		deadline := time.Now().Add(time.Minute)
		for k := 0; k < 40 || last.Pruned == 0 && time.Now().Before(deadline); k++ {
			rep, err := Verify(context.Background(), d, v)
			if err != nil {
				t.Errorf("verify %d while appending: %v", k, err)
				break
			}
			last = rep
		}
		stop()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if last.Entries <= 100 || last.Pruned == 0 {
			t.Errorf("last verification saw %d entries, %d pruned: the appends and prunes did not overlap it", last.Entries, last.Pruned)
		}
	})
}

// Verifications started together — administrators pressing the web
// console's button at once — all finish: each reads on three connections
// of the pool, and many holding some while waiting for more would wait for
// ever.
func TestConcurrentVerifications(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 50)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, 12)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = Verify(ctx, d, v)
			}()
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("verification %d: %v", i, err)
			}
		}
	})
}

// Two processes on one log may sign the same size: the second adopts the
// checkpoint already stored, unless its root differs, which is an error.
func TestCheckpointSignedTwice(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		a := openLog(t, d, s)
		fill(t, a, 5)
		if _, err := a.Append(ctx, entry(1)); err != nil {
			t.Fatal(err)
		}
		b := openLog(t, d, s)
		first, err := b.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		second, err := a.Checkpoint(ctx)
		if err != nil || second.Size != first.Size || !bytes.Equal(second.Note, first.Note) {
			t.Fatalf("the same size signed again: %+v, %v; want the stored checkpoint %+v", second, err, first)
		}
		if _, err := Verify(ctx, d, v); err != nil {
			t.Fatal(err)
		}
		// A stored checkpoint of another tree at the size a log reaches.
		if _, err := a.Append(ctx, entry(2)); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO audit_checkpoint (size, root, note, at) VALUES (?, ?, ?, ?)`, first.Size+1, make([]byte, 32), "forged", clocktest.Start()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.Checkpoint(ctx); err == nil || !strings.Contains(err.Error(), "another root") {
			t.Errorf("checkpoint over another tree's: %v", err)
		}
	})
}

// VerifyProgress reports how many entries are verified, in order, as it goes.
func TestVerifyProgress(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	l := openLog(t, d, s)
	fill(t, l, 95)
	every := progressEvery
	progressEvery = 10
	t.Cleanup(func() { progressEvery = every })
	var got []int64
	rep, err := VerifyProgress(context.Background(), d, v, func(n int64) { got = append(got, n) })
	if err != nil || rep.Entries != 95 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
	if want := []int64{10, 20, 30, 40, 50, 60, 70, 80, 90}; !slices.Equal(got, want) {
		t.Errorf("progress %v, want %v", got, want)
	}
}

// A lone log on PostgreSQL appends every batch as one pipelined round
// trip, and a pipeline refused for any reason commits nothing of its batch.
func TestAppendPipelined(t *testing.T) {
	d := dbtest.OpenPostgres(t)
	s, v := newKey(t)
	// The SQL path's pipelining, with or without EnvTestJournal: a
	// journaled log does not pipeline.
	l, err := Open(context.Background(), d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clocktest.New().Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	fill(t, l, 200)
	if l.retried.Load() != 0 || l.pipelined.Load() == 0 {
		t.Errorf("pipelined %d, retried %d batches; want all pipelined", l.pipelined.Load(), l.retried.Load())
	}
	// A hash already stored at the next leaf's place in its tile makes the
	// pipeline's append to the tile fail after the entry's own insert:
	// neither may stay, and the transaction that follows fails the same
	// way, so the append fails.
	size, err := l.Size(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var tile []byte
	if err := d.QueryRow(context.Background(), `SELECT hashes FROM audit_tile WHERE level = 0 AND idx = 0`).Scan(&tile); err != nil || len(tile) != int(size)*32 {
		t.Fatalf("tile 0/0: %d bytes, %v; want %d", len(tile), err, size*32)
	}
	if _, err := d.Exec(context.Background(), `UPDATE audit_tile SET hashes = ? WHERE level = 0 AND idx = 0`, append(slices.Clone(tile), make([]byte, 32)...)); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(context.Background(), entry(1)); err == nil {
		t.Fatal("append over a conflicting hash row succeeded")
	}
	if l.retried.Load() != 1 {
		t.Errorf("retried %d batches, want 1", l.retried.Load())
	}
	if got, err := l.Size(context.Background()); err != nil || got != size {
		t.Fatalf("log size %d after the failed append, want %d (%v)", got, size, err)
	}
	// With the tile as it was the log goes on where it was, and verifies.
	if _, err := d.Exec(context.Background(), `UPDATE audit_tile SET hashes = ? WHERE level = 0 AND idx = 0`, tile); err != nil {
		t.Fatal(err)
	}
	fill(t, l, 10)
	if rep, err := Verify(context.Background(), d, v); err != nil || rep.Entries != 210 {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

func TestAppendWithRollsBackFailedWork(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		ctx := context.Background()
		insert := func(ctx context.Context, tx *db.Tx, seq int64, e *Entry) error {
			_, err := tx.Exec(ctx, `INSERT INTO node (id, local_gov_code, level, profile, public_key, created_at) VALUES (1, '131083', 'municipality', 'koto-ward', 'pk', ?)`, clocktest.Start())
			e.Count = 1
			return err
		}
		failing := func(ctx context.Context, tx *db.Tx, seq int64, e *Entry) error {
			if err := insert(ctx, tx, seq, e); err != nil {
				return err
			}
			return errors.New("validation failed")
		}
		seq, workErr, err := l.AppendWith(ctx, entry(1), failing)
		if err != nil || workErr == nil {
			t.Fatalf("failing work: seq %d, workErr %v, err %v", seq, workErr, err)
		}
		var n int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM node`).Scan(&n)
		if n != 0 {
			t.Fatal("the failed work's insert survived")
		}
		listed, err := List(ctx, d, Filter{After: -1})
		if err != nil || len(listed) != 1 || listed[0].Entry.Outcome != OutcomeError || listed[0].Entry.Error != "validation failed" {
			t.Fatalf("logged attempt: %+v, %v", listed, err)
		}
		// A succeeding work commits with its entry, which records the seq.
		seq, workErr, err = l.AppendWith(ctx, entry(2), insert)
		if err != nil || workErr != nil || seq != 1 {
			t.Fatalf("work: %d %v %v", seq, workErr, err)
		}
		d.QueryRow(ctx, `SELECT COUNT(*) FROM node`).Scan(&n)
		if n != 1 {
			t.Fatal("work's insert missing")
		}
		l.Checkpoint(ctx)
		if _, err := Verify(ctx, d, v); err != nil {
			t.Fatal(err)
		}
		// An entry without its required fields is refused before queueing.
		if _, err := l.Append(ctx, Entry{Action: "lookup"}); err == nil || !strings.Contains(err.Error(), "actor") {
			t.Errorf("incomplete entry: %v", err)
		}
	})
}

func TestVerifyCatchesTampering(t *testing.T) {
	tamper := []struct {
		name  string
		sql   []string
		entry int64 // the entry the report must name; -1: any
		want  string
	}{
		{"one byte of one entry", []string{`UPDATE audit_entry SET payload = REPLACE(payload, '窓口申請', '窓口申讀') WHERE seq = 40`}, 40, "changed"},
		{"entry deleted", []string{`DELETE FROM audit_subject WHERE seq = 70`, `DELETE FROM audit_entry WHERE seq = 70`}, 70, "missing"},
		{"last entries cut", []string{`DELETE FROM audit_subject WHERE seq >= 95`, `DELETE FROM audit_entry WHERE seq >= 95`, `UPDATE audit_tile SET hashes = substr(hashes, 1, 3040) WHERE level = 0 AND idx = 0`}, 95, "cut"},
		{"index column changed", []string{`UPDATE audit_entry SET actor_id = 'operator:someone' WHERE seq = 12`}, 12, "disagree"},
		{"time column changed", []string{`UPDATE audit_entry SET at = (SELECT at FROM audit_entry WHERE seq = 50) WHERE seq = 12`}, 12, "disagree"},
		{"provision record removed", []string{`DELETE FROM audit_subject WHERE seq = 33 AND resident_code = (SELECT MIN(resident_code) FROM audit_subject WHERE seq = 33)`}, 33, "subject rows"},
		{"provision record added", []string{`INSERT INTO audit_subject (seq, resident_code) VALUES (33, '99999999999')`}, 33, "subject rows"},
		// Codes A and B stored as A and "B\nA": joined by newlines they read
		// A, B, A — the same set — unless the rows are counted.
		{"provision record holding a newline", []string{
			"UPDATE audit_subject SET resident_code = resident_code || '\n' || (SELECT MIN(resident_code) FROM audit_subject WHERE seq = 33) WHERE seq = 33 AND resident_code = (SELECT MAX(resident_code) FROM audit_subject WHERE seq = 33)"}, 33, "subject rows"},
		{"provision record of no entry", []string{`INSERT INTO audit_subject (seq, resident_code) VALUES (5000, '99999999999')`}, 5000, "does not exist"},
		// The 100 leaf hashes are tile 0/0, 32 bytes each (entry 7: bytes
		// 225 to 256, counted from 1).
		{"tree hash truncated", []string{`UPDATE audit_tile SET hashes = substr(hashes, 1, 240) WHERE level = 0`}, -1, "stored tree hash"},
		{"tree hash changed", []string{`UPDATE audit_tile SET hashes = CAST(substr(hashes, 1, 224) || substr(hashes, 97, 32) || substr(hashes, 257) AS BLOB_TYPE) WHERE level = 0`}, 7, "stored tree hash"},
		{"tree hash deleted", []string{`UPDATE audit_tile SET hashes = CAST(substr(hashes, 1, 1280) || substr(hashes, 1313) AS BLOB_TYPE) WHERE level = 0`}, 40, "stored tree hash"},
		{"tree hashes swapped", []string{`UPDATE audit_tile SET hashes = CAST(substr(hashes, 1, 1280) || substr(hashes, 1313, 32) || substr(hashes, 1281, 32) || substr(hashes, 1345) AS BLOB_TYPE) WHERE level = 0`}, 40, "stored tree hash"},
		{"tree hash of no entry", []string{`UPDATE audit_tile SET hashes = CAST(hashes || substr(hashes, 97, 32) AS BLOB_TYPE) WHERE level = 0`}, -1, "beyond the last entry"},
		{"tile of no entry", []string{`INSERT INTO audit_tile (level, idx, hashes) SELECT 0, 5, hashes FROM audit_tile WHERE level = 0 AND idx = 0`}, -1, "beyond the last entry"},
		{"upper tile of no entry", []string{`INSERT INTO audit_tile (level, idx, hashes) SELECT 1, 0, substr(hashes, 1, 32) FROM audit_tile WHERE level = 0 AND idx = 0`}, -1, "beyond the last entry"},
		{"tile of no level", []string{`INSERT INTO audit_tile (level, idx, hashes) SELECT -1, 0, substr(hashes, 1, 32) FROM audit_tile WHERE level = 0 AND idx = 0`}, -1, "stored tree hash"},
		{"tree hash before the first", []string{`INSERT INTO audit_tile (level, idx, hashes) SELECT 0, -1, hashes FROM audit_tile WHERE level = 0 AND idx = 0`}, 0, "stored tree hash"},
		{"provision record of an entry before the first", []string{`INSERT INTO audit_subject (seq, resident_code) VALUES (-3, '99999999999')`}, -1, "out of order"},
		// A code holding a newline and another entry's number reads, joined
		// as lines, as a row of that entry: the rows are counted too.
		{"provision record forging a row of another entry", []string{
			"UPDATE audit_subject SET resident_code = resident_code || '\n' || '34 99999999999' WHERE seq = 33 AND resident_code = (SELECT MAX(resident_code) FROM audit_subject WHERE seq = 33)"}, 33, "subject rows"},
		{"checkpoint forged", []string{`UPDATE audit_checkpoint SET note = REPLACE(note, 'jukinet/test', 'jukinet/evil')`}, -1, "signature"},
	}
	for _, tt := range tamper {
		t.Run(strings.ReplaceAll(tt.name, " ", "_"), func(t *testing.T) {
			verifyTampered(t, tt.sql, tt.entry, tt.want)
		})
	}
}

// TestVerifyCatchesUpperTileTampering: the tiles above the leaves (tree
// level 8: one hash per 256 entries) are checked too. A log of 600 entries
// has two such hashes, completed by entries 255 and 511.
func TestVerifyCatchesUpperTileTampering(t *testing.T) {
	tamper := []struct {
		name  string
		sql   string
		entry int64 // -1: any
		want  string
	}{
		{"swapped", `UPDATE audit_tile SET hashes = CAST(substr(hashes, 33, 32) || substr(hashes, 1, 32) AS BLOB_TYPE) WHERE level = 1`, 255, "does not match"},
		{"one cut", `UPDATE audit_tile SET hashes = substr(hashes, 1, 32) WHERE level = 1`, 511, "missing"},
		{"one added", `UPDATE audit_tile SET hashes = CAST(hashes || substr(hashes, 1, 32) AS BLOB_TYPE) WHERE level = 1`, -1, "beyond the last entry"},
		{"deleted", `DELETE FROM audit_tile WHERE level = 1`, 255, "missing"},
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 600)
		l.Close()
		var tile []byte
		if err := d.QueryRow(context.Background(), `SELECT hashes FROM audit_tile WHERE level = 1 AND idx = 0`).Scan(&tile); err != nil || len(tile) != 64 {
			t.Fatalf("tile 1/0: %d bytes, %v; want 64", len(tile), err)
		}
		if _, err := Verify(context.Background(), d, v); err != nil {
			t.Fatal(err)
		}
		// Rows where the tree has no tile: a level far above the tree's, a
		// tile number far beyond it, an empty tile.
		for _, row := range []struct {
			level, n int64
			data     []byte
		}{{1 << 30, 0, tile[:32]}, {1, 1 << 56, make([]byte, 64)}, {3, 5, []byte{}}, {1, 1, tile[:32]}} {
			if _, err := d.Exec(context.Background(), `INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?)`, row.level, row.n, row.data); err != nil {
				t.Fatal(err)
			}
			_, err := Verify(context.Background(), d, v)
			var p *Problem
			if !errors.As(err, &p) || !strings.Contains(p.Error(), "stored tree hashes") {
				t.Errorf("tile %d/%d of %d bytes: Verify = %v, want a problem with the stored tree hashes", row.level, row.n, len(row.data), err)
			}
			if _, err := d.Exec(context.Background(), `DELETE FROM audit_tile WHERE level = ? AND idx = ?`, row.level, row.n); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range tamper {
			sqlBlob(t, d, []string{tt.sql})
			_, err := Verify(context.Background(), d, v)
			var p *Problem
			if !errors.As(err, &p) || !strings.Contains(p.Error(), tt.want) || (tt.entry >= 0 && p.Entry != tt.entry) {
				t.Errorf("%s: Verify = %v, want a problem with %q at entry %d", tt.name, err, tt.want, tt.entry)
			}
			// Put the tile back for the next case.
			if _, err := d.Exec(context.Background(), `DELETE FROM audit_tile WHERE level = 1`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(context.Background(), `INSERT INTO audit_tile (level, idx, hashes) VALUES (1, 0, ?)`, tile); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// verifyTampered fills a log of 100 entries, runs the tampering
// statements, and checks that Verify reports want at entry (-1: any).
func verifyTampered(t *testing.T, stmts []string, entry int64, want string) {
	t.Helper()
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 100)
		l.Close()
		sqlBlob(t, d, stmts)
		_, err := Verify(context.Background(), d, v)
		var p *Problem
		if !errors.As(err, &p) || !strings.Contains(p.Error(), want) {
			t.Fatalf("Verify = %v, want a problem with %q", err, want)
		}
		if entry >= 0 && p.Entry != entry {
			t.Errorf("problem names entry %d, want %d: %v", p.Entry, entry, p)
		}
	})
}

// sqlBlob runs tampering statements; SQLite stores payloads as blobs, so
// text functions need a cast there, and joins blobs as text (a statement
// casts the result to BLOB_TYPE: BLOB or BYTEA).
func sqlBlob(t *testing.T, d *db.DB, stmts []string) {
	t.Helper()
	for _, q := range stmts {
		q = strings.ReplaceAll(q, "BLOB_TYPE", map[db.Dialect]string{db.SQLite: "BLOB", db.Postgres: "BYTEA"}[d.Dialect()])
		if d.Dialect() == db.SQLite {
			q = strings.Replace(q, "REPLACE(payload,", "CAST(REPLACE(CAST(payload AS TEXT),", 1)
			q = strings.Replace(q, "'窓口申讀')", "'窓口申讀') AS BLOB)", 1)
		} else {
			q = strings.Replace(q, "REPLACE(payload, '窓口申請', '窓口申讀')", "convert_to(REPLACE(convert_from(payload, 'UTF8'), '窓口申請', '窓口申讀'), 'UTF8')", 1)
		}
		res, err := d.Exec(context.Background(), q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			t.Fatalf("%s changed nothing", q)
		}
	}
}

// An attacker who rewrites an entry and recomputes every hash is caught by
// the signed checkpoint.
func TestVerifyCatchesRecomputedTree(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	l := openLog(t, d, s)
	fill(t, l, 50)
	l.Close()
	ctx := context.Background()
	// Rebuild the log in a second database with entry 10 altered, then copy
	// its tables over the original, keeping the original's checkpoints.
	forged := dbtest.OpenSQLite(t)
	fl := openLog(t, forged, s)
	listed, _ := List(ctx, d, Filter{After: -1, Limit: 1000})
	for _, le := range listed {
		e := *le.Entry
		if e.Seq == 10 {
			e.Reason = "別の理由"
		}
		rows, _ := d.Query(ctx, `SELECT resident_code FROM audit_subject WHERE seq = ?`, e.Seq)
		for rows.Next() {
			var c string
			rows.Scan(&c)
			e.Subjects = append(e.Subjects, c)
		}
		rows.Close()
		if _, err := fl.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	fl.Close()
	for _, table := range []string{"audit_subject", "audit_tile", "audit_entry"} {
		d.Exec(ctx, "DELETE FROM "+table)
	}
	copyTable(t, forged, d, `SELECT seq, at, actor_id, action, payload, leaf_hash FROM audit_entry ORDER BY seq`, `INSERT INTO audit_entry (seq, at, actor_id, action, payload, leaf_hash) VALUES (?, ?, ?, ?, ?, ?)`, 6)
	copyTable(t, forged, d, `SELECT level, idx, hashes FROM audit_tile`, `INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?)`, 3)
	copyTable(t, forged, d, `SELECT seq, resident_code FROM audit_subject`, `INSERT INTO audit_subject (seq, resident_code) VALUES (?, ?)`, 2)
	_, err := Verify(ctx, d, v)
	if err == nil || !strings.Contains(err.Error(), "do not match the checkpoint") {
		t.Fatalf("Verify of a recomputed tree = %v", err)
	}
}

func copyTable(t *testing.T, from, to *db.DB, sel, ins string, cols int) {
	t.Helper()
	ctx := context.Background()
	rows, err := from.Query(ctx, sel)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		vals := make([]any, cols)
		ptrs := make([]any, cols)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		rows.Scan(ptrs...)
		if _, err := to.Exec(ctx, ins, vals...); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVerifyExternalCheckpoint(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	l := openLog(t, d, s)
	fill(t, l, 20)
	cp, _ := l.Checkpoint(context.Background())
	fill(t, l, 5)
	l.Close()
	// The external copy of an old checkpoint still matches.
	if _, err := Verify(context.Background(), d, v, cp.Note); err != nil {
		t.Fatal(err)
	}
	// Remove the stored checkpoints and cut the log: the external copy, kept
	// elsewhere, still catches the cut.
	d.Exec(context.Background(), `DELETE FROM audit_checkpoint`)
	d.Exec(context.Background(), `DELETE FROM audit_subject WHERE seq >= 15`)
	d.Exec(context.Background(), `DELETE FROM audit_entry WHERE seq >= 15`)
	d.Exec(context.Background(), `UPDATE audit_tile SET hashes = substr(hashes, 1, 480) WHERE level = 0 AND idx = 0`)
	_, err := Verify(context.Background(), d, v, cp.Note)
	if err == nil || !strings.Contains(err.Error(), "cut") {
		t.Fatalf("Verify = %v, want cut", err)
	}
}

// TestTwoCallersShareCommits: two callers that each append, wait, and
// append again share commits instead of taking turns (each waiting for the
// other's commit, then its own); a lone caller, and a caller after a quiet
// spell, is committed at once.
func TestTwoCallersShareCommits(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newKey(t)
		l := openLog(t, d, s)
		// A lone caller never waits for others.
		for i := range 20 {
			if _, err := l.Append(ctx, entry(i, "00000000001")); err != nil {
				t.Fatal(err)
			}
		}
		if n := l.lingered.Load(); n != 0 {
			t.Fatalf("a lone caller's batches waited %d times", n)
		}
		// Two callers in step.
		const each = 100
		before := l.batches.Load()
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					if _, err := l.Append(ctx, entry(w*each+i, "00000000002")); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		batches := l.batches.Load() - before
		if l.journalPipelined() && l.opt.JournalInFlight > 1 {
			// A journal with two groups in flight does not make them share
			// a group: it writes each caller's while the other's syncs
			// (TestJournalTwoGroupsInFlight checks that the syncs overlap).
		} else if batches > 2*each*3/4 {
			t.Errorf("two callers' %d appends took %d commits; want most shared", 2*each, batches)
		}
		// After a quiet spell, a caller is committed at once again.
		time.Sleep(5 * lingerMax)
		lingered := l.lingered.Load()
		if _, err := l.Append(ctx, entry(0, "00000000003")); err != nil {
			t.Fatal(err)
		}
		if l.lingered.Load() != lingered {
			t.Error("a caller after a quiet spell waited for others")
		}
	})
}

// TestVerifyStopsItsReadersOnAProblem: a problem found early ends Verify
// while its reading goroutines are still scanning rows; they are stopped
// and waited for before their rows and snapshots close (under -race, the
// old code closed a Rows another goroutine was scanning).
func TestVerifyStopsItsReadersOnAProblem(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 3000)
		l.Close()
		if _, err := d.Exec(context.Background(), `UPDATE audit_entry SET actor_id = 'someone' WHERE seq = 2`); err != nil {
			t.Fatal(err)
		}
		for range 20 {
			_, err := Verify(context.Background(), d, v)
			var p *Problem
			if !errors.As(err, &p) || p.Entry != 2 {
				t.Fatalf("Verify = %v, want a problem at entry 2", err)
			}
		}
	})
}

// TestVerifyCancelledJudgesNothing: a verification stopped half-way (the
// auditor's request abandoned) says so, and never reports the log as
// broken because its readers stopped.
func TestVerifyCancelledJudgesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 3000)
		if _, err := l.Checkpoint(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.Close()
		every := progressEvery
		progressEvery = 64
		defer func() { progressEvery = every }()
		for i := range 20 {
			ctx, cancel := context.WithCancel(context.Background())
			stopAt := int64(64 * (1 + i%10))
			_, err := VerifyProgress(ctx, d, v, func(n int64) {
				if n >= stopAt {
					cancel()
				}
			})
			cancel()
			var p *Problem
			if errors.As(err, &p) || !errors.Is(err, context.Canceled) {
				t.Fatalf("verification cancelled after %d entries: %v; want context.Canceled and no finding", stopAt, err)
			}
		}
	})
}

// TestOpenCheckpointTellsMistakesFromFindings: text that is no checkpoint
// is ErrNotCheckpoint (a wrong file); a checkpoint of another key, or one
// altered after signing, is not — and Verify reports either as a finding.
func TestOpenCheckpointTellsMistakesFromFindings(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	s, v := newKey(t)
	l := openLog(t, d, s)
	fill(t, l, 3)
	cp, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	otherSigner, _ := newKey(t) // same name, another key
	other, err := note.Sign(&note.Note{Text: FormatCheckpoint("x", 3, cp.Root)}, otherSigner)
	if err != nil {
		t.Fatal(err)
	}
	altered := bytes.Replace(cp.Note, []byte("\n3\n"), []byte("\n2\n"), 1)
	for _, tt := range []struct {
		name    string
		text    []byte
		mistake bool
		finding string
	}{
		{"its own", cp.Note, false, ""},
		{"not a note", []byte("hello\n"), true, ""},
		{"a note but no checkpoint", mustSign(t, s, "just a line\n"), true, ""},
		{"another key", other, false, "not signed by this node's key"},
		{"altered", altered, false, "the file was altered"},
	} {
		_, err := OpenCheckpoint(tt.text, v)
		if errors.Is(err, ErrNotCheckpoint) != tt.mistake {
			t.Errorf("%s: OpenCheckpoint = %v, want ErrNotCheckpoint %v", tt.name, err, tt.mistake)
		}
		_, err = Verify(context.Background(), d, v, tt.text)
		var p *Problem
		if tt.finding != "" && (!errors.As(err, &p) || !strings.Contains(err.Error(), tt.finding)) {
			t.Errorf("%s: Verify = %v, want a problem saying %q", tt.name, err, tt.finding)
		}
		if tt.mistake && errors.As(err, &p) {
			t.Errorf("%s: Verify reported a wrong file as a problem of the log: %v", tt.name, err)
		}
	}
}

func mustSign(t *testing.T, s note.Signer, text string) []byte {
	t.Helper()
	b, err := note.Sign(&note.Note{Text: text}, s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProveAndPrune(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		old := entry(0, "00000000001")
		old.Time = time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 0; i < 5; i++ {
			if _, err := l.Append(ctx, old); err != nil {
				t.Fatal(err)
			}
		}
		fill(t, l, 20)
		proof, err := Prove(ctx, d, 12)
		if err != nil {
			t.Fatal(err)
		}
		res, err := CheckProof(proof, v)
		if err != nil || res.Entry != 12 || res.Content == nil || res.Checkpoint.Size != 25 {
			t.Fatalf("CheckProof = %+v, %v", res, err)
		}
		// A proof with a changed content line fails.
		bad := strings.Replace(string(proof), "窓口申請", "窓口申讀", 1)
		if _, err := CheckProof([]byte(bad), v); err == nil {
			t.Error("altered proof accepted")
		}
		// Another key does not accept the checkpoint.
		_, other := newKey(t)
		if _, err := CheckProof(proof, other); err == nil {
			t.Error("proof accepted with another node's key")
		}

		n, err := l.Prune(ctx, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), Entry{Actor: Actor{Kind: ActorSystem, ID: "retention"}, Decision: Allow, Policy: "retention", Outcome: OutcomeOK})
		if err != nil || n != 5 {
			t.Fatalf("Prune = %d, %v", n, err)
		}
		l.Checkpoint(ctx)
		rep, err := Verify(ctx, d, v)
		if err != nil || rep.Pruned != 5 || rep.Entries != 26 {
			t.Fatalf("Verify after prune: %+v, %v", rep, err)
		}
		// Proofs of pruned and later entries still verify.
		for _, e := range []int64{2, 20} {
			proof, err := Prove(ctx, d, e)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := CheckProof(proof, v); err != nil {
				t.Errorf("proof of entry %d after prune: %v", e, err)
			}
		}
		listed, _ := List(ctx, d, Filter{Action: "prune", After: -1})
		if len(listed) != 1 || listed[0].Entry.Count != 5 {
			t.Errorf("prune not logged: %+v", listed)
		}
		if got, _ := List(ctx, d, Filter{Resident: "00000000001", After: -1}); len(got) != 2 {
			t.Errorf("resident filter after prune: %d entries, want the 2 live ones", len(got))
		}
	})
}

func TestEncodeDecode(t *testing.T) {
	e := entry(1, "b", "a")
	e.Time = time.Date(2026, 11, 22, 9, 0, 0, 123456000, time.FixedZone("JST", 9*3600))
	e.Version, e.SubjectCount, e.SubjectDigest = FormatVersion, 2, "x"
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeEntry(b)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Time.Equal(e.Time) || got.Actor != e.Actor || got.Provision.Items[1] != "address" {
		t.Errorf("round trip: %+v", got)
	}
	for _, bad := range []string{
		strings.Replace(string(b), `"v":1`, `"v":2`, 1),
		strings.Replace(string(b), `"count":2`, `"count":2,"extra":1`, 1),
		strings.Replace(string(b), `"count":2`, `"count": 2`, 1),
		string(b) + " {}",
		strings.Replace(string(b), "Z\"", "+00:00\"", 1),
	} {
		if _, err := DecodeEntry([]byte(bad)); err == nil {
			t.Errorf("accepted non-canonical %s", bad)
		}
	}
}

func FuzzDecodeEntry(f *testing.F) {
	e := entry(1, "a")
	e.Version, e.Time = FormatVersion, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, _ := e.Encode()
	f.Add(b)
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := DecodeEntry(b)
		if err != nil {
			return
		}
		// Whatever decodes is canonical: it encodes to the same bytes.
		again, err := e.Encode()
		if err != nil || string(again) != string(b) {
			t.Fatalf("decoded %q but encodes as %q (%v)", b, again, err)
		}
	})
}

// TestReadHead checks that the fast head reader agrees with the full decoder
// on entries of every shape, and refuses what it does not expect.
func TestReadHead(t *testing.T) {
	tricky := entry(7, "00000000001", "00000000002")
	tricky.Reason = `quote " backslash \ "seq":99, "subjects":5 改行` + "\n\u2028"
	tricky.Query = `{"seq":1}`
	tricky.Actor.Name = `"actor":{"kind":"x","id":"y"}`
	pruneLike := Entry{Actor: Actor{Kind: ActorSystem, ID: "node"}, Action: "prune", Decision: Allow, Outcome: OutcomeOK}
	for i, e := range []Entry{entry(1), entry(2, "00000000003"), tricky, pruneLike} {
		e.Version, e.Seq = FormatVersion, int64(i*1000+3)
		e.Time = time.Date(2026, 11, 22, 9, 0, 0, i*1234567, time.UTC)
		e.SubjectDigest, _ = SubjectsDigest(e.Subjects)
		e.SubjectCount = len(e.Subjects)
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		full, err := DecodeEntry(b)
		if err != nil {
			t.Fatal(err)
		}
		h, ok := readHead(b)
		if !ok {
			t.Fatalf("entry %d: readHead refused %s", i, b)
		}
		want := headOf(full)
		if !h.Time.Equal(want.Time) {
			t.Errorf("entry %d: time %v, want %v", i, h.Time, want.Time)
		}
		h.Time = want.Time
		if h != want {
			t.Errorf("entry %d: head %+v, want %+v", i, h, want)
		}
	}
	plain := entry(1)
	plain.Version = FormatVersion
	b, _ := plain.Encode()
	for _, bad := range []string{
		"", "{", string(b[:len(b)-1]), string(b) + "x",
		strings.Replace(string(b), `"seq":0`, `"seq":0,"seq":1`, 1),
		strings.Replace(string(b), `"seq":0,`, ``, 1),
		strings.Replace(string(b), `"actor":{"kind":"operator",`, `"actor":{"kind":"op\"erator",`, 1),
	} {
		if _, ok := readHead([]byte(bad)); ok {
			t.Errorf("readHead accepted %q", bad)
		}
	}
}

// FuzzReadHead checks that whenever both readers accept bytes, they agree.
func FuzzReadHead(f *testing.F) {
	e := entry(1, "a")
	e.Version, e.Time = FormatVersion, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b, _ := e.Encode()
	f.Add(b)
	f.Add([]byte(`{"v":1,"seq":2,"time":"2026-01-01T00:00:00Z","actor":{"kind":"a","id":"b"},"action":"x","subjects":0}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, ok := readHead(b)
		full, err := DecodeEntry(b)
		if !ok || err != nil {
			return
		}
		want := headOf(full)
		if !h.Time.Equal(want.Time) {
			t.Fatalf("time %v, want %v", h.Time, want.Time)
		}
		h.Time = want.Time
		if h != want {
			t.Fatalf("head %+v, want %+v", h, want)
		}
	})
}

// TestParseUTC: the fast path agrees with time.Parse on the times entries
// hold and on what either refuses.
func TestParseUTC(t *testing.T) {
	for _, s := range []string{
		"2026-11-22T09:30:00Z", "2026-11-22T09:30:00.1Z", "2026-11-22T09:30:00.123456Z", "2026-11-22T09:30:00.123456789Z",
		"2024-02-29T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-11-22T24:00:00Z", "2026-11-22T23:60:00Z", "2026-11-22T23:59:60Z", "2026-11-22T09:30:00.Z", "2026-11-22T09:30:00.1234567890Z",
		"2026-11-22T09:30:00+09:00", "2026-11-22 09:30:00Z", "2026-1-22T09:30:00Z", "x026-11-22T09:30:00Z", "2026-11-22T09:30:0aZ", "",
	} {
		got, ok := parseUTC([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok != (err == nil) || ok && !got.Equal(want) {
			t.Errorf("parseUTC(%q) = %v, %v; time.Parse gives %v, %v", s, got, ok, want, err)
		}
	}
}

// TestEntryWithInvalidUTF8StaysVerifiable: an entry whose texts hold bytes
// that are not UTF-8 (a form that let them through) is stored with U+FFFD
// in their place, so it stays canonical: the log verifies and lists it.
func TestEntryWithInvalidUTF8StaysVerifiable(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		e := entry(1, "12345678903")
		e.Detail, e.Actor.Name, e.Subjects = "講師\xff\xfe", "名\xc3", []string{"1234567890\xff"}
		e.Provision = &Provision{Function: "lookup", Reason: "理由\xff", Items: []string{"name\xfe"}}
		seq, err := l.Append(ctx, e)
		if err != nil {
			t.Fatal(err)
		}
		// A journaled log's rows come from its indexer.
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := Verify(ctx, d, v); err != nil {
			t.Fatalf("verify after an entry with invalid UTF-8: %v", err)
		}
		got, err := List(ctx, d, Filter{After: seq - 1, Limit: 1})
		if err != nil || len(got) != 1 || got[0].Entry.Detail != "講師\uFFFD" || got[0].Entry.Actor.Name != "名\uFFFD" || got[0].Entry.Provision.Reason != "理由\uFFFD" {
			t.Fatalf("listed: %+v %v", got, err)
		}
		if e.Detail != "講師\xff\xfe" || e.Provision.Reason != "理由\xff" {
			t.Error("the caller's entry was changed")
		}
	})
}

// TestTileAppends: a batch's hashes go to the tiles they extend, each
// level's positions following one another; a batch that skips or repeats
// a position is refused rather than stored shifted.
func TestTileAppends(t *testing.T) {
	h := func(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }
	leaf := func(n int64) int64 { return tlog.StoredHashIndex(0, n) }
	cases := []struct {
		name    string
		idx     []int64
		want    []string // level/n@offset+hashes
		wantErr string
	}{
		{"one leaf", []int64{leaf(5)}, []string{"0/0@5+1"}, ""},
		{"across two tiles", []int64{leaf(255), leaf(256), leaf(257)}, []string{"0/0@255+1", "0/1@0+2"}, ""},
		{"levels not stored are left out", []int64{leaf(1), leaf(1) + 1}, []string{"0/0@1+1"}, ""},
		{"tree level 8", []int64{tlog.StoredHashIndex(8, 3)}, []string{"1/0@3+1"}, ""},
		{"a leaf skipped", []int64{leaf(5), leaf(7)}, nil, "does not follow position 5"},
		{"a leaf twice", []int64{leaf(5), leaf(5)}, nil, "does not follow position 5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hashes := make([][]byte, len(c.idx))
			for i := range hashes {
				hashes[i] = h(byte(i))
			}
			got, err := tileAppends(c.idx, hashes)
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, a := range got {
				s = append(s, fmt.Sprintf("%d/%d@%d+%d", a.level, a.n, a.offset, len(a.data)/32))
			}
			if !slices.Equal(s, c.want) {
				t.Errorf("appends %v, want %v", s, c.want)
			}
		})
	}
}

// TestAppendRefusesABrokenTile: when the stored tree does not end where
// the log does (its rightmost tile removed or cut), the next append fails,
// saying so, and stores nothing; put back, the log goes on.
func TestAppendRefusesABrokenTile(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 11)
		var tile []byte
		if err := d.QueryRow(ctx, `SELECT hashes FROM audit_tile WHERE level = 0 AND idx = 0`).Scan(&tile); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name string
			sql  string
			args []any
		}{
			{"removed", `DELETE FROM audit_tile WHERE level = 0 AND idx = 0`, nil},
			{"cut", `UPDATE audit_tile SET hashes = ? WHERE level = 0 AND idx = 0`, []any{tile[:320]}},
		} {
			if _, err := d.Exec(ctx, c.sql, c.args...); err != nil {
				t.Fatal(err)
			}
			// Journaled (JUKINET_TEST_AUDIT_JOURNAL), the entry is durable in
			// the journal and its rows are what fails.
			_, err := l.Append(ctx, entry(1))
			if err == nil {
				err = l.Sync(ctx)
			}
			if err == nil || !strings.Contains(err.Error(), "the stored tree does not end where the log does") {
				t.Errorf("%s: append = %v, want the stored tree's end named", c.name, err)
			}
			if size, err := l.Size(ctx); !l.Journaled() && (err != nil || size != 11) {
				t.Errorf("%s: log size %d after the refused append (%v), want 11", c.name, size, err)
			}
			if _, err := d.Exec(ctx, `DELETE FROM audit_tile WHERE level = 0 AND idx = 0`); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Exec(ctx, `INSERT INTO audit_tile (level, idx, hashes) VALUES (0, 0, ?)`, tile); err != nil {
				t.Fatal(err)
			}
		}
		fill(t, l, 3)
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		want := int64(14)
		if l.Journaled() {
			want = 16 // the two entries journaled while their rows could not be written
		}
		if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != want {
			t.Fatalf("verify: %+v %v; want %d entries", rep, err, want)
		}
	})
}

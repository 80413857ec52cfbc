package auditlog

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestFrontier: the right edge read from the stored hashes, and the one
// built leaf by leaf, make the tree's root at every size.
func TestFrontier(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, _ := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 70)
		es, err := ReadShipped(ctx, d, 0, 70, 1<<30)
		if err != nil || len(es) != 70 {
			t.Fatalf("read %d entries: %v", len(es), err)
		}
		built := Frontier{}
		reader := StoredHashes(ctx, d)
		for n := int64(1); n <= 70; n++ {
			c, err := es[n-1].Check()
			if err != nil {
				t.Fatal(err)
			}
			built = built.Append(n-1, c.Leaf)
			read, err := ReadFrontier(ctx, d, n)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tlog.TreeHash(n, reader)
			if !read.Fits(n) || read.Root() != want || built.Root() != want || len(built) != len(read) {
				t.Fatalf("size %d: the frontier does not make the tree's root", n)
			}
		}
	})
}

// TestWriteRecovered: entries shipped from one log are written into an
// empty copy up to a signed checkpoint, and the copy verifies; entries that
// do not make the checkpoint's root (one changed, one missing, a resident
// removed) are refused and nothing is written.
func TestWriteRecovered(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		fill(t, l, 40)
		cp, err := LatestCheckpoint(ctx, d)
		if err != nil || cp == nil || cp.Size != 40 {
			t.Fatalf("checkpoint: %+v %v", cp, err)
		}
		es, err := ReadShipped(ctx, d, 0, 40, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		fresh := func() *db.DB {
			if d.Dialect() == db.Postgres {
				return dbtest.OpenPostgres(t)
			}
			return dbtest.OpenSQLite(t)
		}
		rec := func(entries []ShippedEntry) Recovered {
			return Recovered{Checkpoint: cp, Note: cp.Note, Witness: "witness", Entries: entries, At: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)}
		}
		changed := append([]ShippedEntry(nil), es...)
		changed[7].Payload = bytes.Replace(changed[7].Payload, []byte("窓口申請"), []byte("窓口申講"), 1)
		fewer := append(append([]ShippedEntry(nil), es[:7]...), es[8:]...)
		lessResidents := append([]ShippedEntry(nil), es...)
		lessResidents[9].Subjects = lessResidents[9].Subjects[:1]
		for name, entries := range map[string][]ShippedEntry{"changed": changed, "missing": fewer, "a resident removed": lessResidents} {
			d2 := fresh()
			if err := WriteRecovered(ctx, d2, rec(entries)); !errors.Is(err, ErrRecoveredMismatch) {
				t.Errorf("%s: %v", name, err)
			}
			var n int
			d2.QueryRow(ctx, `SELECT COUNT(*) FROM audit_entry`).Scan(&n)
			if n != 0 {
				t.Errorf("%s: %d entries written", name, n)
			}
		}
		d2 := fresh()
		if err := WriteRecovered(ctx, d2, rec(es)); err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(ctx, d2, v)
		if err != nil || rep.Entries != 40 {
			t.Fatalf("verify the recovered copy: %+v %v", rep, err)
		}
	})
}

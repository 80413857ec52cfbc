package auditlog

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestIndexPace: the indexer writes journaled entries' rows when appends
// pause, or once the oldest entry without rows has waited IndexWithin while
// appends go on; never when every durable entry has rows.
func TestIndexPace(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	// Each look, in order, on one pace: the journal's durable end, how far
	// rows are written, when, and whether the rows are due.
	looks := []struct {
		why              string
		durable, indexed int64
		ms               int
		due              bool
	}{
		{"nothing journaled", 0, 0, 0, false},
		{"entries arrive: wait for more", 5, 0, 20, false},
		{"more arrive", 9, 0, 40, false},
		{"appends paused: due", 9, 0, 60, true},
		{"the rows written, nothing new", 9, 9, 80, false},
		{"constant load begins", 12, 9, 100, false},
		{"still arriving", 400, 9, 500, false},
		{"still arriving, 999 ms after the first waited", 800, 9, 1099, false},
		{"the oldest has waited 1 s: due though appends go on", 900, 9, 1100, true},
		{"arriving again after the write", 950, 900, 1120, false},
		{"Sync wrote them meanwhile", 960, 960, 1140, false},
		{"new ones after Sync wait afresh", 970, 960, 1160, false},
		{"and go on", 990, 960, 2150, false},
		{"until 1 s after the first look that saw them", 1000, 960, 2160, true},
		{"a pause right after a write: due at the next look", 1001, 1000, 2180, false},
		{"", 1001, 1000, 2200, true},
	}
	p := indexPace{within: time.Second}
	for i, l := range looks {
		if got := p.due(l.durable, l.indexed, at(l.ms)); got != l.due {
			t.Errorf("look %d (%s): due %v, want %v", i, l.why, got, l.due)
		}
	}
}

// TestSyncJournal: a command that reads the log's rows without opening the
// log (audit show, audit verify) first writes the rows of what the serving
// process journaled, while that process goes on journaling; the server's
// own rows then continue after them, gap-free.
func TestSyncJournal(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		dir := t.TempDir()
		l := openJournaled(t, d, s, dir, true, time.Hour) // its indexer never writes
		for i := range 12 {
			if _, err := l.Append(ctx, entry(i, fmt.Sprintf("%011d", 3000+i))); err != nil {
				t.Fatal(err)
			}
		}
		if e, _ := countRows(t, d); e != 0 {
			t.Fatalf("%d rows before SyncJournal: want 0", e)
		}
		n, err := SyncJournal(ctx, d, dir)
		if err != nil || n != 12 {
			t.Fatalf("SyncJournal: %d entries, %v; want 12", n, err)
		}
		if e, sub := countRows(t, d); e != 12 || sub != 12 {
			t.Fatalf("after SyncJournal: %d entries, %d subject rows; want 12, 12", e, sub)
		}
		if n, err := SyncJournal(ctx, d, dir); err != nil || n != 0 {
			t.Fatalf("SyncJournal again: %d entries, %v; want 0", n, err)
		}
		// While another holds the writers' lock (an import), it waits,
		// and gives up when its context ends.
		other, err := openJournal(dir, journalOptions{})
		if err != nil {
			t.Fatal(err)
		}
		unlock, err := other.lock()
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		_, err = SyncJournal(short, d, dir)
		cancel()
		unlock()
		other.close()
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("SyncJournal while the lock is held: %v, want the context's deadline", err)
		}
		for i := range 3 {
			if _, err := l.Append(ctx, entry(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		l.Close()
		if rep, err := Verify(ctx, d, v); err != nil || rep.Entries != 15 {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
	})
}

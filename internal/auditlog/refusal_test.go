package auditlog

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// fakeClock is a clock a test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Refused unauthenticated requests leave a bounded number of fixed-size
// entries: the first per source and kind in a window, then one count, and
// never the sender's text.
func TestRefusalsAreCountedNotLogged(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		clock := &fakeClock{now: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
		s, _ := newKey(t)
		l, err := Open(context.Background(), d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clock.Now, RefusalWindow: 10 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ctx := context.Background()
		huge := []byte(`{"source":"` + strings.Repeat("A", 5<<20) + `"}`)
		for i := range 2000 {
			body := huge
			if i > 0 {
				body = fmt.Appendf(nil, "garbage %d", i)
			}
			if err := l.Refuse(ctx, Refusal{Node: "020001", Action: "federation.batch", Why: "bad-signature", Addr: "203.0.113.7:40000", Body: body}); err != nil {
				t.Fatal(err)
			}
		}
		// Another source, over IPv6: counted by its /64.
		for i := range 10 {
			l.Refuse(ctx, Refusal{Node: "020001", Action: "federation.batch", Why: "bad-signature", Addr: fmt.Sprintf("[2001:db8::%x]:443", i+1)})
		}
		entries := func() []Listed {
			t.Helper()
			listed, err := List(ctx, d, Filter{After: -1, Limit: 10000})
			if err != nil {
				t.Fatal(err)
			}
			return listed
		}
		if got := entries(); len(got) != 2 {
			t.Fatalf("%d entries within the window, want 2 (the first of each source)", len(got))
		}
		// The window ends: the next refusal logs the counts.
		clock.add(10 * time.Minute)
		if err := l.FlushRefusals(ctx, false); err != nil {
			t.Fatal(err)
		}
		got := entries()
		if len(got) != 4 {
			t.Fatalf("%d entries after the window, want 4", len(got))
		}
		counts := map[string]int{}
		for _, e := range got {
			enc, _ := e.Entry.Encode()
			if len(enc) > 1024 {
				t.Errorf("entry %d is %d bytes", e.Seq, len(enc))
			}
			if strings.Contains(string(enc), "AAAA") || strings.Contains(string(enc), "garbage") {
				t.Errorf("entry %d carries the sender's text: %s", e.Seq, enc)
			}
			if e.Entry.Actor.Kind != ActorHost || e.Entry.Decision != Deny {
				t.Errorf("entry %d: actor %v, decision %s", e.Seq, e.Entry.Actor, e.Entry.Decision)
			}
			counts[e.Entry.Actor.ID] += e.Entry.Count
		}
		if counts["203.0.113.7"] != 2000 || counts["2001:db8::/64"] != 10 {
			t.Errorf("counts %v, want 2000 and 10", counts)
		}
		// A new window starts with an entry again.
		l.Refuse(ctx, Refusal{Node: "020001", Action: "federation.batch", Why: "bad-signature", Addr: "203.0.113.7:40001"})
		if got := entries(); len(got) != 5 {
			t.Fatalf("%d entries in the next window, want 5", len(got))
		}
	})
}

// Many sources cannot make many entries either: beyond maxRefusalSources
// they are counted together.
func TestRefusalSourcesBounded(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, _ := newKey(t)
		clock := &fakeClock{now: time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)}
		l, err := Open(context.Background(), d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := range 1000 {
			l.Refuse(ctx, Refusal{Node: "020001", Action: "auth.login", Why: "not-a-terminal", Addr: fmt.Sprintf("10.%d.%d.1:1", i/256, i%256)})
		}
		l.Close() // logs the counts
		listed, err := List(ctx, d, Filter{After: -1, Limit: 10000, Action: "auth.login"})
		if err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, e := range listed {
			total += e.Entry.Count
		}
		if len(listed) > maxRefusalSources+2 || total != 1000 {
			t.Errorf("%d entries counting %d refusals, want at most %d entries counting 1000", len(listed), total, maxRefusalSources+2)
		}
	})
}

// Healthy reports a failed append until an append succeeds again.
func TestHealthyReportsFailedAppend(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, _ := newKey(t)
		l := openLog(t, d, s)
		ctx := context.Background()
		if _, err := l.Append(ctx, entry(1)); err != nil || l.Healthy() != nil {
			t.Fatalf("append %v, healthy %v", err, l.Healthy())
		}
		// The table is out of reach, as on a full disk: appends fail.
		if _, err := d.Exec(ctx, `ALTER TABLE audit_entry RENAME TO audit_entry_away`); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, entry(2)); err == nil {
			t.Fatal("append succeeded without its table")
		}
		if l.Healthy() == nil {
			t.Error("healthy after a failed append")
		}
		if _, err := d.Exec(ctx, `ALTER TABLE audit_entry_away RENAME TO audit_entry`); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, entry(3)); err != nil {
			t.Fatal(err)
		}
		if err := l.Healthy(); err != nil {
			t.Errorf("still unhealthy after an append succeeded: %v", err)
		}
	})
}

// On a journaling log a look-up's entry can land in the journal while no
// row can be written (a full disk, where the segment was preallocated):
// Healthy reports the indexer's failure until it writes rows again, even
// though the appends themselves succeed.
func TestHealthyReportsFailedRows(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, _ := newKey(t)
		l := openJournaled(t, d, s, t.TempDir(), true, time.Hour)
		ctx := context.Background()
		if _, err := l.Append(ctx, entry(1)); err != nil {
			t.Fatal(err)
		}
		if err := l.Sync(ctx); err != nil || l.Healthy() != nil {
			t.Fatalf("sync %v, healthy %v", err, l.Healthy())
		}
		if _, err := d.Exec(ctx, `ALTER TABLE audit_tile RENAME TO audit_tile_away`); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Append(ctx, entry(2)); err != nil {
			t.Fatalf("a journaled append needs no row: %v", err)
		}
		if err := l.Sync(ctx); err == nil {
			t.Fatal("rows written without their table")
		}
		if _, err := l.Append(ctx, entry(3)); err != nil {
			t.Fatal(err)
		}
		err := l.Healthy()
		if err == nil || !strings.Contains(err.Error(), "write of rows") {
			t.Errorf("healthy %v after the rows could not be written, want the rows' failure", err)
		}
		if _, err := d.Exec(ctx, `ALTER TABLE audit_tile_away RENAME TO audit_tile`); err != nil {
			t.Fatal(err)
		}
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		if err := l.Healthy(); err != nil {
			t.Errorf("still unhealthy after the rows were written: %v", err)
		}
	})
}

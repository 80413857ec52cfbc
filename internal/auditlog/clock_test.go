package auditlog

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestClockSteppingBackKeepsTimesInOrder steps the node's clock back and
// forward between appends — in one log, after a reopening, and with a
// second writer on the same database (a console command beside the server)
// whose clock is ahead. Entry times never go back in the log's order: an
// entry stamped while the clock reads earlier than the previous entry takes
// that entry's time and records the reading (clock_read); the log verifies,
// and verify counts those entries. Before, the entries took the earlier
// times as given, out of order, and nothing showed the step.
func TestClockSteppingBackKeepsTimesInOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		start := clocktest.Start()
		clock := clocktest.Frozen(start)
		open := func(c *clocktest.Clock) *Log {
			l, err := Open(ctx, d, s, Options{Origin: "jukinet/test", CheckpointEvery: time.Hour, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			return l
		}
		l := open(clock)
		add := func(l *Log, i int) {
			t.Helper()
			if _, err := l.Append(ctx, entry(i, "73302711949")); err != nil {
				t.Fatal(err)
			}
		}
		type want struct {
			at   time.Time
			read time.Time // zero: no clock_read
		}
		var wants []want
		add(l, 0) // 10:00
		wants = append(wants, want{at: start})
		clock.Advance(time.Hour)
		add(l, 1) // 11:00
		wants = append(wants, want{at: start.Add(time.Hour)})
		clock.Advance(-3 * time.Hour) // stepped back to 08:00
		add(l, 2)
		wants = append(wants, want{at: start.Add(time.Hour), read: start.Add(-2 * time.Hour)})
		clock.Advance(30 * time.Minute) // 08:30, still before 11:00
		add(l, 3)
		wants = append(wants, want{at: start.Add(time.Hour), read: start.Add(-90 * time.Minute)})
		clock.Advance(3 * time.Hour) // 11:30: past the latest entry again
		add(l, 4)
		wants = append(wants, want{at: start.Add(90 * time.Minute)})

		// Reopened on a clock that was set back: the log reads its latest
		// time from the database.
		l.Close()
		clock.Set(start.Add(-24 * time.Hour))
		l = open(clock)
		add(l, 5)
		wants = append(wants, want{at: start.Add(90 * time.Minute), read: start.Add(-24 * time.Hour)})

		// A second writer whose clock is ahead appends; the first, behind it,
		// appends after it and is held at its time.
		ahead := clocktest.Frozen(start.Add(5 * time.Hour))
		other := open(ahead)
		add(other, 6)
		wants = append(wants, want{at: start.Add(5 * time.Hour)})
		clock.Set(start.Add(2 * time.Hour))
		add(l, 7)
		wants = append(wants, want{at: start.Add(5 * time.Hour), read: start.Add(2 * time.Hour)})
		// A clock jumping forward is taken as it reads.
		clock.Set(start.Add(30 * 24 * time.Hour))
		add(l, 8)
		wants = append(wants, want{at: start.Add(30 * 24 * time.Hour)})
		if _, err := l.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}

		listed, err := List(ctx, d, Filter{After: -1, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(listed) != len(wants) {
			t.Fatalf("%d entries, want %d", len(listed), len(wants))
		}
		for i, e := range listed {
			w := wants[i]
			if e.Seq != int64(i) || !e.At.Equal(w.at) || !e.Entry.Time.Equal(w.at) {
				t.Errorf("entry %d (seq %d) at %v (content %v), want %v", i, e.Seq, e.At, e.Entry.Time, w.at)
			}
			switch r := e.Entry.ClockRead; {
			case w.read.IsZero() && r != nil:
				t.Errorf("entry %d records a clock reading %v, but the clock did not go back", i, r)
			case !w.read.IsZero() && (r == nil || !r.Equal(w.read)):
				t.Errorf("entry %d records the clock reading %v, want %v", i, r, w.read)
			}
			if i > 0 && e.At.Before(listed[i-1].At) {
				t.Errorf("entry %d at %v is earlier than entry %d at %v", i, e.At, i-1, listed[i-1].At)
			}
		}
		rep, err := Verify(ctx, d, v)
		if err != nil {
			t.Fatalf("verify after the clock steps: %v", err)
		}
		if rep.ClockSteps != 4 || rep.TimesBack != 0 {
			t.Errorf("verify counted %d clock steps and %d times back, want 4 and 0: %s", rep.ClockSteps, rep.TimesBack, rep)
		}
		if !strings.Contains(rep.String(), "4 entries stamped while the clock read earlier") {
			t.Errorf("verify's report does not say so: %s", rep)
		}
	})
}

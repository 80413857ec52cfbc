package auditlog

import (
	"context"
	"slices"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestTallyActions: entries are counted per actor and action within the
// period only (its start in, its end out), with the denied ones apart, on
// both databases.
func TestTallyActions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, _ := newKey(t)
		l := openLog(t, d, s)
		ctx := context.Background()
		jst := time.FixedZone("JST", 9*3600)
		day := time.Date(2026, 11, 30, 0, 0, 0, 0, jst)
		add := func(at time.Time, actor, action, decision string) {
			t.Helper()
			e := entry(0)
			e.Time, e.Actor, e.Action, e.Decision = at, Actor{Kind: ActorOperator, ID: actor}, action, decision
			if decision == Deny {
				e.Outcome, e.Provision, e.Count = OutcomeDenied, nil, 0
			}
			if _, err := l.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		add(day.Add(-time.Microsecond), "a", "lookup", Allow) // the day before
		add(day, "a", "lookup", Allow)                        // the first instant of the day
		add(day.Add(9*time.Hour), "a", "lookup", Deny)
		add(day.Add(10*time.Hour), "a", "search", Allow)
		add(day.Add(11*time.Hour), "b", "lookup", Allow)
		add(day.Add(12*time.Hour), "b", "auth.login", Deny)
		add(day.Add(24*time.Hour), "b", "lookup", Allow) // the next day
		// A journaled log's rows come from its indexer.
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		got, err := TallyActions(ctx, d, day, day.AddDate(0, 0, 1))
		if err != nil {
			t.Fatal(err)
		}
		want := []ActionTally{
			{Actor: "operator:a", Action: "lookup", Total: 2, Denied: 1},
			{Actor: "operator:a", Action: "search", Total: 1},
			{Actor: "operator:b", Action: "auth.login", Total: 1, Denied: 1},
			{Actor: "operator:b", Action: "lookup", Total: 1},
		}
		if !slices.Equal(got, want) {
			t.Errorf("tally of 30 November:\n got %+v\nwant %+v", got, want)
		}
		if got, err := TallyActions(ctx, d, day.AddDate(0, 0, 5), day.AddDate(0, 0, 6)); err != nil || len(got) != 0 {
			t.Errorf("a day without entries: %+v, %v", got, err)
		}
	})
}

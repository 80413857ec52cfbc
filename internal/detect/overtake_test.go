package detect

import (
	"context"
	"errors"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	"jukinet/internal/policy/policytest"
)

// TestOvertakenRunChangesNothing: two runs read the same entries (serve
// beside jukinet detect run); the one that commits second is refused with
// ErrOvertaken and changes no alert, and its attempt is logged as an error.
func TestOvertakenRunChangesNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := policytest.New(t, d, "koto-ward")
		det, err := New(d, f.Log, f.Engine, "131083", DefaultSettings)
		policytest.Must(t, err)
		night := time.Date(2026, 12, 1, 22, 0, 0, 0, jptext.JST)
		_, err = f.Log.Append(ctx, auditlog.Entry{Time: night, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "K0001"},
			Origin: "terminal:T", Action: "lookup", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Subjects: []string{"20000000001"}})
		policytest.Must(t, err)
		first, err := det.plan(ctx)
		policytest.Must(t, err)
		second, err := det.plan(ctx)
		policytest.Must(t, err)
		if len(first.findings) != 1 || len(second.findings) != 1 {
			t.Fatalf("findings: %v / %v", first.findings, second.findings)
		}
		rep, err := det.commit(ctx, first)
		policytest.Must(t, err)
		if rep.Raised != 1 {
			t.Fatalf("first run: %+v", rep)
		}
		if _, err := det.commit(ctx, second); !errors.Is(err, ErrOvertaken) {
			t.Fatalf("second run: %v, want ErrOvertaken", err)
		}
		alerts, err := List(ctx, d, true)
		policytest.Must(t, err)
		if len(alerts) != 1 || alerts[0].Count != 1 {
			t.Errorf("alerts after the overtaken run: %+v", alerts)
		}
		runs, err := auditlog.List(ctx, d, auditlog.Filter{After: -1, Action: "detect", Limit: 10})
		policytest.Must(t, err)
		if len(runs) != 2 || runs[0].Entry.Outcome != auditlog.OutcomeOK || runs[1].Entry.Outcome != auditlog.OutcomeError {
			t.Errorf("runs logged: %d", len(runs))
		}
	})
}

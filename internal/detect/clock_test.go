package detect_test

import (
	"context"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	. "jukinet/internal/policy/policytest"
)

// TestOfficeHoursAcrossClockSteps: look-ups stamped by the node's clock as
// it jumps forward to 23:00 and steps back to 10:30 on the same office day.
// The one at 23:00 is after hours; the one at 10:30, which the log holds at
// 23:00 (times never go back in the log) with the clock's reading, is not;
// one at 22:00, still before the log's latest time, is; and the four
// look-ups of one resident, held within a minute by the log, are no spike
// (three people within an hour) by the clock's readings. Before, the
// stepped-back look-up took the log's time and was reported after hours.
func TestOfficeHoursAcrossClockSteps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		clock := clocktest.Frozen(at(1, 9, 0))
		f := NewAt(t, d, "koto-ward", clock)
		f.SetUpWard(t)
		det, err := detect.New(d, f.Log, f.Engine, "131083", detect.DefaultSettings)
		Must(t, err)
		lookup := func(vid string) *auditlog.Entry {
			t.Helper()
			seq, err := f.Log.Append(ctx, auditlog.Entry{Node: "131083", Actor: operator(vid), Origin: "terminal:T-KUMIN-01",
				Action: "lookup", Affair: "juminhyo-copy", Reason: "窓口", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK,
				Count: 1, Subjects: []string{"20000000001"},
				Provision: &auditlog.Provision{Function: "lookup", Affair: "juminhyo-copy", Reason: "窓口", Provider: "131083", Recipient: "operator:" + vid}})
			Must(t, err)
			l, err := auditlog.List(ctx, d, auditlog.Filter{After: seq - 1, Limit: 1})
			Must(t, err)
			return l[0].Entry
		}
		clock.Set(at(1, 10, 0))
		lookup("K0001") // in office hours
		clock.Set(at(1, 23, 0))
		lookup("K0002") // the clock jumped forward: after hours
		clock.Set(at(1, 10, 30))
		if e := lookup("K0003"); !e.Time.Equal(at(1, 23, 0)) || e.ClockRead == nil || !e.ClockRead.Equal(at(1, 10, 30)) {
			t.Fatalf("the look-up after the step back is logged at %v, clock %v; want 23:00 with the reading 10:30", e.Time, e.ClockRead)
		}
		clock.Set(at(1, 22, 0))
		lookup("K0004") // still before the log's latest time, but after hours
		_, err = det.Run(ctx)
		Must(t, err)
		sameAlerts(t, alerts(t, d), []want{
			{"after-hours", "2026-12-01", "operator:K0002", 1, "open"},
			{"after-hours", "2026-12-01", "operator:K0004", 1, "open"},
		})
	})
}

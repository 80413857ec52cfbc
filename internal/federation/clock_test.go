package federation

import (
	"context"
	"testing"
	"time"

	"jukinet/internal/staff"
)

// TestSuspensionsHoldAcrossClockSteps: a suspension is in force until it is
// lifted, whatever the clock does. This node's outbound suspension and the
// prefecture's suspension of the municipality's notifications each refuse
// delivery after the clock of the node that ordered it steps back three
// hours (to before the suspension began) and jumps thirty days forward;
// lifted, everything pending is delivered once.
func TestSuspensionsHoldAcrossClockSteps(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		s := NewSender(nw.aomori, nil)
		refusedAcross := func(what string, clock interface{ Advance(time.Duration) }) {
			t.Helper()
			for _, step := range []struct {
				name string
				by   time.Duration
			}{{"as ordered", 0}, {"clock stepped back 3 hours", -3 * time.Hour}, {"clock jumped 30 days forward", 30 * 24 * time.Hour}} {
				clock.Advance(step.by)
				if n, err := s.DeliverOnce(ctx); !IsSuspension(err) || n != 0 {
					t.Fatalf("%s, %s: delivered %d, %v; want refused by the suspension", what, step.name, n, err)
				}
			}
		}

		// Outbound, here.
		id, err := nw.aomori.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopeOutbound, Reason: "点検中"})
		if err != nil {
			t.Fatal(err)
		}
		importN(t, nw.aomori, "022012", 3, 71)
		refusedAcross("outbound suspension", nodeClocks[nw.aomori])
		if err := nw.aomori.Staff.Lift(ctx, console, id, "点検終了"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeliverOnce(ctx); err != nil || n != 3 || acked(t, nw.aomori) != 3 {
			t.Fatalf("after the lifting: delivered %d, %v, acknowledged %d", n, err, acked(t, nw.aomori))
		}

		// The municipality's notifications, at the prefecture.
		id, err = nw.pref.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopePeer, Target: "022012", Reason: "不正の疑い"})
		if err != nil {
			t.Fatal(err)
		}
		importN(t, nw.aomori, "022012", 2, 72)
		refusedAcross("the prefecture's suspension of 022012", nodeClocks[nw.pref])
		if err := nw.pref.Staff.Lift(ctx, console, id, "調査終了"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.DeliverOnce(ctx); err != nil || n != 2 || acked(t, nw.aomori) != 5 {
			t.Fatalf("after the prefecture lifted it: delivered %d, %v, acknowledged %d", n, err, acked(t, nw.aomori))
		}
	})
}

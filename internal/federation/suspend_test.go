package federation

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// waitUntil polls cond up to tries times, step apart: the waits are
// counted, no clock is read for the assertion.
func waitUntil(tries int, step time.Duration, cond func() bool) bool {
	for range tries {
		if cond() {
			return true
		}
		time.Sleep(step)
	}
	return cond()
}

func acked(t *testing.T, n *node.Node) int64 {
	t.Helper()
	st, err := GetStatus(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	return st.Acked
}

// TestLiftingOutboundSuspensionResumesDelivery: while this node's
// outbound suspension refuses delivery, the running sender waits for the
// suspension to be lifted rather than backing off, and delivers within
// a few of its intervals of the lifting — lifted by another process (a
// second handle on the same database: jukinet suspend --lift) or, with an
// interval of an hour, by this process, which wakes it at once.
func TestLiftingOutboundSuspensionResumesDelivery(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		for _, c := range []struct {
			name     string
			interval time.Duration
			other    bool // lift through a second handle (another process)
		}{
			{"lifted by another process", 20 * time.Millisecond, true},
			{"lifted in this process", time.Hour, false},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx := context.Background()
				nw := newNetwork(t)
				id, err := nw.aomori.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopeOutbound, Reason: "点検中"})
				if err != nil {
					t.Fatal(err)
				}
				importN(t, nw.aomori, "022012", 3, 50)
				run, stop := context.WithCancel(ctx)
				done := make(chan struct{})
				go func() { NewSender(nw.aomori, nil).Run(run, c.interval); close(done) }()
				defer func() { stop(); <-done }()

				// Refused, and the status says why.
				if !waitUntil(500, 20*time.Millisecond, func() bool {
					st, _ := GetStatus(ctx, nw.aomori)
					return strings.Contains(st.LastError, "利用停止")
				}) {
					t.Fatal("the sender did not record the suspension's refusal")
				}
				st, _ := GetStatus(ctx, nw.aomori)
				if st.Delivery != DeliverySuspended || st.Suspension == nil || st.Suspension.ID != id || !strings.HasPrefix(st.LastError, SuspendedPrefix) || st.Pending != 3 {
					t.Errorf("status while suspended: %s %+v %q pending %d", st.Delivery, st.Suspension, st.LastError, st.Pending)
				}
				// The sender's back-off would be 1, 2, 4 … s by now: give
				// it time to fail again, counted in the interval's steps.
				time.Sleep(3 * time.Second / 2)

				lifter := nw.aomori
				if c.other {
					lifter = reopen(t, nw.aomori)
				}
				if err := lifter.Staff.Lift(ctx, console, id, "点検終了"); err != nil {
					t.Fatal(err)
				}
				// Within a second: 25 waits of 40 ms.
				if !waitUntil(25, 40*time.Millisecond, func() bool { return acked(t, nw.aomori) == 3 }) {
					t.Fatalf("not delivered within a second of the lifting: acknowledged %d", acked(t, nw.aomori))
				}
				st, _ = GetStatus(ctx, nw.aomori)
				if st.Delivery != DeliveryOK || st.LastError != "" || st.Pending != 0 || st.Suspension != nil {
					t.Errorf("status after the lifting: %s %q pending %d %+v", st.Delivery, st.LastError, st.Pending, st.Suspension)
				}
			})
		}
	})
}

// reopen opens a second handle on n's data folder and database, as
// another jukinet process does.
func reopen(t *testing.T, n *node.Node) *node.Node {
	t.Helper()
	o, err := node.Open(context.Background(), n.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	o.Now = n.Now
	if err := o.OpenGate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestStatusSaysSuspendedOrFailing: federation status tells a suspension
// (here, or the upstream's of this node) and a failing delivery apart from
// a lag, with the last error, and forgets the error once delivery works.
func TestStatusSaysSuspendedOrFailing(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		importN(t, nw.aomori, "022012", 2, 60)
		s := NewSender(nw.aomori, nil)
		status := func() Status {
			t.Helper()
			st, err := GetStatus(ctx, nw.aomori)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		if st := status(); st.Delivery != DeliveryOK || st.Pending != 2 {
			t.Errorf("before the first try: %s pending %d", st.Delivery, st.Pending)
		}
		// The upstream suspends this node's notifications.
		id, err := nw.pref.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopePeer, Target: "022012", Reason: "不正の疑い"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeliverOnce(ctx); !IsSuspension(err) || suspendedHere(err) {
			t.Fatalf("the upstream's suspension: %v", err)
		}
		if st := status(); st.Delivery != DeliverySuspended || st.Suspension != nil || !strings.Contains(st.LastError, "利用停止") {
			t.Errorf("suspended by the upstream: %s %+v %q", st.Delivery, st.Suspension, st.LastError)
		}
		if err := nw.pref.Staff.Lift(ctx, console, id, "問題なし"); err != nil {
			t.Fatal(err)
		}
		// The upstream unreachable: failing, with the error.
		nw.srv.Close()
		if _, err := s.DeliverOnce(ctx); err == nil || IsSuspension(err) {
			t.Fatalf("an unreachable upstream: %v", err)
		}
		if st := status(); st.Delivery != DeliveryFailing || !strings.Contains(st.LastError, "send to 020001") || st.Pending != 2 {
			t.Errorf("failing: %s %q pending %d", st.Delivery, st.LastError, st.Pending)
		}
		// This node's own suspension, with nothing left to send.
		if _, err := nw.aomori.Staff.Suspend(ctx, console, staff.Suspension{Scope: staff.ScopeOutbound, Reason: "点検中"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DeliverOnce(ctx); !suspendedHere(err) {
			t.Fatalf("this node's suspension: %v", err)
		}
		if st := status(); st.Delivery != DeliverySuspended || st.Suspension == nil || st.Suspension.Reason != "点検中" || !strings.HasPrefix(st.LastError, SuspendedPrefix) {
			t.Errorf("suspended here: %s %+v %q", st.Delivery, st.Suspension, st.LastError)
		}
	})
}

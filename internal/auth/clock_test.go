package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/auth"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	. "jukinet/internal/policy/policytest"
)

// TestSessionsUnderClockSteps moves the node's one clock (the service's and
// the audit log's) back and forward. Jumping forward ends a session past
// its absolute limit, locks one past its idle limit and ends a lockout
// whose window has passed, as configured. Stepping back never lengthens
// them: a session whose clock went back more than a minute is ended (it
// would otherwise stay unlocked and unexpired until the clock caught up —
// the hole this test found), a smaller correction is tolerated, and a
// lockout stays in force.
func TestSessionsUnderClockSteps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		a := enrol(t, f, s, Clerk, "T-KUMIN-01")
		session := func(tok string) (*auth.Session, error) { return s.Session(ctx, tok, "T-KUMIN-01") }

		// A correction of 30 seconds back: the session goes on.
		tok, err := login(ctx, s, a, Clerk, "T-KUMIN-01", true)
		Must(t, err)
		f.Clock.Advance(-30 * time.Second)
		if sess, err := session(tok); err != nil || sess.Locked {
			t.Fatalf("after the clock went back 30 s: %+v, %v", sess, err)
		}
		// Two hours back: ended at once, with the reason in the log.
		f.Clock.Advance(-2 * time.Hour)
		if _, err := session(tok); err != auth.ErrExpired {
			t.Fatalf("after the clock stepped back 2 hours the session is still open: %v", err)
		}
		if _, err := session(tok); err != auth.ErrNoSession {
			t.Errorf("the ended session again: %v, want no session", err)
		}
		ended, err := auditlog.List(ctx, f.DB, auditlog.Filter{After: -1, Limit: 1000, Action: "auth.logout"})
		Must(t, err)
		if len(ended) == 0 || !strings.Contains(ended[len(ended)-1].Entry.Why, "the clock went back") {
			t.Errorf("the end of the session is not logged with its reason: %+v", ended)
		}
		// An hour passes on the stepped-back clock: a new session opened
		// then is timed from its own start.
		tok, err = login(ctx, s, a, Clerk, "T-KUMIN-01", true)
		Must(t, err)
		f.Clock.Advance(5 * time.Minute)
		if sess, err := session(tok); err != nil || sess.Locked {
			t.Fatalf("a session opened on the stepped-back clock: %+v, %v", sess, err)
		}
		// Jumping forward: past the idle limit (10 minutes) locked, past the
		// absolute limit (8 hours) ended.
		f.Clock.Advance(11 * time.Minute)
		if sess, err := session(tok); err != nil || !sess.Locked || s.RecentlyVerified(sess) {
			t.Fatalf("after a jump of 11 minutes: %+v, %v", sess, err)
		}
		f.Clock.Advance(8 * time.Hour)
		if _, err := session(tok); err != auth.ErrExpired {
			t.Errorf("after a jump past the absolute limit: %v", err)
		}

		// Lockout: five failures lock the id out for 15 minutes.
		for range 5 {
			login(ctx, s, a, Clerk, "T-KUMIN-01", false)
		}
		locked := func(what string) {
			t.Helper()
			if _, err := login(ctx, s, a, Clerk, "T-KUMIN-01", true); apperr.CodeOf(err) != apperr.Forbidden {
				t.Errorf("%s: the locked-out id signed in (%v)", what, err)
			}
		}
		locked("at once")
		// A clock stepped back an hour does not reopen the window.
		f.Clock.Advance(-time.Hour)
		locked("after the clock stepped back an hour")
		f.Clock.Advance(time.Hour + 14*time.Minute)
		locked("14 minutes after the failures")
		// Jumping forward past the window: the id signs in again.
		f.Clock.Advance(2 * time.Minute)
		if _, err := login(ctx, s, a, Clerk, "T-KUMIN-01", true); err != nil {
			t.Errorf("after the lockout window, on a clock that jumped forward: %v", err)
		}
	})
}

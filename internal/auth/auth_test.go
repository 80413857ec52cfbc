package auth_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auth"
	"jukinet/internal/auth/authtest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	. "jukinet/internal/policy/policytest"
)

const origin = "http://localhost:8080"

func newService(t *testing.T, f *Fixture, demo bool) *auth.Service {
	t.Helper()
	s, err := auth.New(f.DB, f.Log, f.Staff, f.Engine, "131083", auth.Config{RPID: "localhost", Origins: []string{origin}, Demo: demo})
	Must(t, err)
	s.Now = f.Clock.Now
	return s
}

func body(b []byte) *http.Request {
	r, _ := http.NewRequest("POST", origin+"/", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	return r
}

// enrol registers a fresh authenticator for vid through a link the system
// administrator issues.
func enrol(t *testing.T, f *Fixture, s *auth.Service, vid, terminal string) *authtest.Authenticator {
	t.Helper()
	ctx := context.Background()
	token, err := s.IssueEnrolment(ctx, f.Admin, vid)
	Must(t, err)
	opts, id, err := s.BeginEnrol(ctx, token, terminal)
	Must(t, err)
	a := authtest.New()
	Must(t, s.FinishEnrol(ctx, token, id, terminal, "指紋センサー", body(a.Create(opts, origin, true))))
	return a
}

func login(ctx context.Context, s *auth.Service, a *authtest.Authenticator, vid, terminal string, uv bool) (string, error) {
	opts, id, err := s.BeginLogin(ctx, vid, terminal)
	if err != nil {
		return "", err
	}
	return s.FinishLogin(ctx, id, terminal, body(a.Get(opts, origin, uv)))
}

func TestEnrolAndLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		// Only the system administrator issues enrolment links (koto-ward:13).
		if _, err := s.IssueEnrolment(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), Clerk); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("security officer issued an enrolment link: %v", err)
		}
		token, err := s.IssueEnrolment(ctx, f.Admin, Clerk)
		Must(t, err)
		opts, id, err := s.BeginEnrol(ctx, token, "T-KUMIN-01")
		Must(t, err)
		a := authtest.New()
		// An authenticator that does not verify the user is refused.
		if err := s.FinishEnrol(ctx, token, id, "T-KUMIN-01", "", body(a.Create(opts, origin, false))); err == nil {
			t.Fatal("enrolled a credential without user verification")
		}
		opts, id, err = s.BeginEnrol(ctx, token, "T-KUMIN-01")
		Must(t, err)
		Must(t, s.FinishEnrol(ctx, token, id, "T-KUMIN-01", "指紋センサー", body(a.Create(opts, origin, true))))
		if _, _, err := s.BeginEnrol(ctx, token, "T-KUMIN-01"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("enrolment link used twice: %v", err)
		}
		reg, err := f.Staff.Credentials(ctx)
		Must(t, err)
		if len(reg) != 1 || reg[0].PersonVID != Clerk || reg[0].RegisteredBy != "operator:"+AdminVID || reg[0].Label != "指紋センサー" {
			t.Fatalf("enrolment register = %+v", reg)
		}

		tok, err := login(ctx, s, a, Clerk, "T-KUMIN-01", true)
		Must(t, err)
		sess, err := s.Session(ctx, tok, "T-KUMIN-01")
		if err != nil || sess.VerificationID != Clerk || sess.Locked || !s.RecentlyVerified(sess) {
			t.Fatalf("session = %+v, %v", sess, err)
		}
		// The session is bound to its terminal.
		if _, err := s.Session(ctx, tok, "T-KAZEI-01"); apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "別の端末") {
			t.Errorf("session used from another terminal: %v", err)
		}
		Must(t, s.Logout(ctx, tok, "T-KUMIN-01"))
		if _, err := s.Session(ctx, tok, "T-KUMIN-01"); err != auth.ErrNoSession {
			t.Errorf("session after sign-out: %v", err)
		}
	})
}

func TestLoginAttacks(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		clerk := enrol(t, f, s, Clerk, "T-KUMIN-01")
		other := enrol(t, f, s, "K0002", "T-KAZEI-01")

		if _, err := login(ctx, s, clerk, Clerk, "T-KUMIN-01", false); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("sign-in without user verification: %v", err)
		}
		if _, err := login(ctx, s, other, Clerk, "T-KUMIN-01", true); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("sign-in with another operator's credential: %v", err)
		}
		// A replayed assertion: the same answer again, to its own ceremony
		// (used) and to a new one (another challenge).
		opts, id, err := s.BeginLogin(ctx, Clerk, "T-KUMIN-01")
		Must(t, err)
		answer := clerk.Get(opts, origin, true)
		if _, err := s.FinishLogin(ctx, id, "T-KUMIN-01", body(answer)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.FinishLogin(ctx, id, "T-KUMIN-01", body(answer)); err == nil {
			t.Error("replayed assertion accepted by its used ceremony")
		}
		_, id2, err := s.BeginLogin(ctx, Clerk, "T-KUMIN-01")
		Must(t, err)
		if _, err := s.FinishLogin(ctx, id2, "T-KUMIN-01", body(answer)); err == nil {
			t.Error("replayed assertion accepted by a new ceremony")
		}
		// A ceremony begun on one terminal cannot finish on another.
		opts, id, err = s.BeginLogin(ctx, Clerk, "T-KUMIN-01")
		Must(t, err)
		if _, err := s.FinishLogin(ctx, id, "T-KAZEI-01", body(clerk.Get(opts, origin, true))); err == nil {
			t.Error("sign-in finished on another terminal")
		}
		if _, _, err := s.BeginLogin(ctx, Clerk, ""); err == nil {
			t.Error("sign-in from a device that is no terminal")
		}
		// Failures so far: no UV, other credential, two replays = 4; one more locks out.
		login(ctx, s, clerk, Clerk, "T-KUMIN-01", false)
		_, _, err = s.BeginLogin(ctx, Clerk, "T-KUMIN-01")
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "ログインできません") {
			t.Fatalf("after 5 failures: %v", err)
		}
		s.Now = func() time.Time { return f.Clock.Now().Add(16 * time.Minute) }
		if _, err := login(ctx, s, clerk, Clerk, "T-KUMIN-01", true); err != nil {
			t.Errorf("after the lockout period: %v", err)
		}
	})
}

func TestSessionTimeouts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		a := enrol(t, f, s, Clerk, "T-KUMIN-01")
		tok, err := login(ctx, s, a, Clerk, "T-KUMIN-01", true)
		Must(t, err)
		// Idle past the profile's 10 minutes: locked, until verified again.
		s.Now = func() time.Time { return f.Clock.Now().Add(11 * time.Minute) }
		sess, err := s.Session(ctx, tok, "T-KUMIN-01")
		if err != nil || !sess.Locked || s.RecentlyVerified(sess) {
			t.Fatalf("idle session = %+v, %v", sess, err)
		}
		opts, id, err := s.BeginReverify(ctx, sess)
		Must(t, err)
		Must(t, s.FinishReverify(ctx, tok, sess, id, body(a.Get(opts, origin, true))))
		s.Now = f.Clock.Now
		if sess, err = s.Session(ctx, tok, "T-KUMIN-01"); err != nil || sess.Locked {
			t.Fatalf("after verifying again: %+v, %v", sess, err)
		}
		// Past the absolute limit (8 hours): ended.
		s.Now = func() time.Time { return f.Clock.Now().Add(9 * time.Hour) }
		if _, err := s.Session(ctx, tok, "T-KUMIN-01"); err != auth.ErrExpired {
			t.Errorf("session past the absolute limit: %v", err)
		}
		// A staff member who left loses their session at once.
		s.Now = f.Clock.Now
		tok, err = login(ctx, s, a, Clerk, "T-KUMIN-01", true)
		Must(t, err)
		Must(t, f.Staff.RemovePerson(ctx, f.Admin, Clerk, "transfer"))
		if _, err := s.Session(ctx, tok, "T-KUMIN-01"); err != auth.ErrExpired {
			t.Errorf("session of a transferred clerk: %v", err)
		}
	})
}

func TestDemoAndFirstEnrolment(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		s := newService(t, f, false)
		if _, err := s.DemoLogin(ctx, AdminVID, "T-1"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("one-click sign-in on a real node: %v", err)
		}
		token, err := s.IssueFirstEnrolment(ctx, AdminVID)
		Must(t, err)
		opts, id, err := s.BeginEnrol(ctx, token, "ADMIN-T")
		Must(t, err)
		a := authtest.New()
		Must(t, s.FinishEnrol(ctx, token, id, "ADMIN-T", "", body(a.Create(opts, origin, true))))
		if _, err := s.IssueFirstEnrolment(ctx, AdminVID); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("second first-enrolment link: %v", err)
		}
		f.SetUpWard(t) // approves the terminal T-KUMIN-01
		demo := newService(t, f, true)
		if _, err := demo.DemoLogin(ctx, AdminVID, ""); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("one-click sign-in from a device that is no terminal: %v", err)
		}
		tok, err := demo.DemoLogin(ctx, AdminVID, "T-KUMIN-01")
		Must(t, err)
		if sess, err := demo.Session(ctx, tok, "T-KUMIN-01"); err != nil || !sess.Demo {
			t.Errorf("demo session = %+v, %v", sess, err)
		}
	})
}

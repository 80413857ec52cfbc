package auth_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/auth"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
)

// TestSignInFromUnapprovedDeviceNotAttributed: a device that is not an
// approved terminal in use can name any operator's verification id; the
// log keeps the device as the actor (never the operator), a bounded number
// of fixed-size entries, and the denials rule cannot be raised against the
// operator by it.
func TestSignInFromUnapprovedDeviceNotAttributed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := auth.WithClient(context.Background(), auth.Client{Addr: "198.51.100.9:50000"})
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		before, err := f.Log.Size(ctx)
		Must(t, err)
		for range 20 {
			for _, try := range []func() error{
				func() error { _, _, err := s.BeginLogin(ctx, Clerk, ""); return err },
				func() error { _, _, err := s.BeginLogin(ctx, Clerk, "T-ROGUE"); return err },
				func() error { _, err := s.FinishLogin(ctx, "no-such-ceremony", "", nil); return err },
				func() error { _, err := s.DemoLogin(ctx, Clerk, ""); return err },
			} {
				if err := try(); apperr.CodeOf(err) != apperr.Forbidden && apperr.CodeOf(err) != apperr.Invalid {
					t.Fatalf("refused with %v", err)
				}
			}
		}
		Must(t, f.Log.FlushRefusals(ctx, true))
		listed, err := auditlog.List(ctx, d, auditlog.Filter{After: before - 1, Limit: 1000})
		Must(t, err)
		// One source, four kinds of refusal: a first entry and a count each.
		if len(listed) > 8 {
			t.Errorf("%d entries for 80 refused sign-in steps, want at most 8", len(listed))
		}
		for _, l := range listed {
			enc, _ := l.Entry.Encode()
			if l.Entry.Actor.Kind != auditlog.ActorHost || strings.Contains(string(enc), Clerk) || len(enc) > 1024 {
				t.Errorf("entry %d names the operator or is not the device's: %s", l.Seq, enc)
			}
		}
		day := listed[0].At.In(jptext.JST).Format(time.DateOnly)
		for _, finding := range detect.Evaluate(detect.DefaultSettings, day, listed) {
			if finding.Rule == detect.RuleDenials {
				t.Errorf("a denials finding from refused devices: %+v", finding)
			}
		}
	})
}

// TestSignInAtTerminalNotAttributed: at an approved terminal anyone may
// type any verification id. Until an answer verifies, the attempt is the
// terminal's: a bounded number of fixed-size entries that never name an
// unregistered id nor make the operator the actor, no denials finding
// against the operator, one answer whether the id is unknown, has no
// credential or is locked out — and the lock-out of a real id still works.
func TestSignInAtTerminalNotAttributed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		const terminal = "T-KUMIN-01"
		ctx := auth.WithClient(context.Background(), auth.Client{Addr: "192.0.2.10:50000"})
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		s := newService(t, f, false)
		clerk := enrol(t, f, s, Clerk, terminal)
		before, err := f.Log.Size(ctx)
		Must(t, err)
		answer := func(vid string) string {
			t.Helper()
			_, _, err := s.BeginLogin(ctx, vid, terminal)
			if err == nil {
				t.Fatalf("sign-in of %.20q begun", vid)
			}
			return string(apperr.CodeOf(err)) + "|" + err.Error() + "|" + apperr.JapaneseOf(err)
		}
		answers := map[string]string{}
		for i := range 300 {
			answers[fmt.Sprintf("X%d", i)] = answer(fmt.Sprintf("X%d", i))
		}
		answers["rtl"] = answer("\u202e" + strings.Repeat("A", 3900))
		answers["nul"] = answer("K\x000001")
		for range 6 {
			answers["no credential"] = answer("SO-KUMIN")
		}
		// Five answers that do not verify lock the clerk out.
		for range 5 {
			if _, err := login(ctx, s, clerk, Clerk, terminal, false); apperr.CodeOf(err) != apperr.Forbidden {
				t.Fatalf("unverified answer: %v", err)
			}
		}
		answers["locked out"] = answer(Clerk)
		for what, a := range answers {
			if a != answers["X0"] {
				t.Errorf("begin with %s answers %q, an unknown id %q", what, a, answers["X0"])
			}
		}
		var stored int
		Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM auth_failure WHERE verification_id <> ?`, Clerk).Scan(&stored))
		if stored != 0 {
			t.Errorf("%d failure rows for ids other than the clerk's", stored)
		}
		// The lock-out ends, and the clerk signs in: that entry is the clerk's.
		s.Now = func() time.Time { return f.Clock.Now().Add(16 * time.Minute) }
		if _, err := login(ctx, s, clerk, Clerk, terminal, true); err != nil {
			t.Fatalf("after the lock-out period: %v", err)
		}
		Must(t, f.Log.FlushRefusals(ctx, true))
		listed, err := auditlog.List(ctx, d, auditlog.Filter{After: before - 1, Limit: 1000})
		Must(t, err)
		denied, whys := 0, map[string]bool{}
		for _, l := range listed {
			enc, _ := l.Entry.Encode()
			if len(enc) > 1024 || strings.Contains(string(enc), "AAAA") || strings.Contains(string(enc), "X29") {
				t.Errorf("entry %d (%d bytes) keeps what was typed: %.200s", l.Seq, len(enc), enc)
			}
			if l.Entry.Decision != auditlog.Deny {
				if l.Entry.Action != "auth.login" || l.Entry.Actor != (auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk}) {
					t.Errorf("entry %d: %s by %v", l.Seq, l.Entry.Action, l.Entry.Actor)
				}
				continue
			}
			denied++
			whys[l.Entry.Why] = true
			if l.Entry.Actor != (auditlog.Actor{Kind: auditlog.ActorTerminal, ID: terminal}) {
				t.Errorf("refused entry %d: actor %v, want the terminal", l.Seq, l.Entry.Actor)
			}
		}
		// Four kinds of refusal from one terminal: a first entry and a count each.
		if denied == 0 || denied > 8 {
			t.Errorf("%d refused entries for 313 refused steps, want 1 to 8", denied)
		}
		for _, why := range []string{"unknown-verification-id", "no-credential", "locked-out", "assertion-not-verified"} {
			if !whys[why] {
				t.Errorf("no entry says %s (the true reasons: %v)", why, whys)
			}
		}
		day := listed[0].At.In(jptext.JST).Format(time.DateOnly)
		for _, finding := range detect.Evaluate(detect.DefaultSettings, day, listed) {
			if finding.Rule == detect.RuleDenials {
				t.Errorf("a denials finding from sign-in attempts at a terminal: %+v", finding)
			}
		}
	})
}

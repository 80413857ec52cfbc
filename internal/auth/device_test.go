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

package detect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// TestNobodyClosesAnAlertAboutHimself: a security officer may not close an
// alert about his own look-ups, nor a crowd alert on a resident he looked
// up among others (koto-ward:8.2): refused by the forbid policy, whose id
// the audit entry records, and the alert stays open. Another security
// officer and the chief security officer close them.
func TestNobodyClosesAnAlertAboutHimself(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "CSO", Name: "副区長 一", Department: "joho", Title: "副区長"}))
		Must(t, f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.ChiefSecurityOfficer, ""))
		det, err := detect.New(d, f.Log, f.Engine, "131083", detect.DefaultSettings)
		Must(t, err)
		// The security officer of 区民課 looks a resident up at night; the
		// officer of 課税課 is one of five who look at another resident.
		access(t, f.Log, at(1, 21, 30), "SO-KUMIN", "lookup", "20000000002")
		for i, vid := range []string{"C0001", "C0002", "SO-KAZEI", "C0003", "C0004"} {
			access(t, f.Log, at(1, 11, i), vid, "lookup", "30000000001")
		}
		_, err = det.Run(ctx)
		Must(t, err)
		as, err := detect.List(ctx, d, false)
		Must(t, err)
		ids := map[string]int64{}
		for _, a := range as {
			ids[a.Rule+" "+a.Subject] = a.ID
		}
		night, crowd := ids[detect.RuleAfterHours+" operator:SO-KUMIN"], ids[detect.RuleCrowd+" 30000000001"]
		if night == 0 || crowd == 0 {
			t.Fatalf("alerts = %v", ids)
		}
		kumin, kazei, cso := Operator("SO-KUMIN", "T-KUMIN-01"), Operator("SO-KAZEI", "T-KAZEI-01"), Operator("CSO", "T-JOHO-01")
		for _, c := range []struct {
			name    string
			who     staff.Who
			alert   int64
			refused bool
		}{
			{"the officer closes the alert about his own look-up", kumin, night, true},
			{"an officer among the crowd closes its alert", kazei, crowd, true},
			{"another officer closes the night alert", kazei, night, false},
			{"the chief security officer closes the crowd alert", cso, crowd, false},
		} {
			err := det.Close(ctx, c.who, c.alert, "所属長に確認")
			l, lerr := auditlog.List(ctx, d, auditlog.Filter{Action: "detect.close", After: -1, Newest: true, Limit: 1})
			Must(t, lerr)
			last := l[0].Entry
			if !c.refused {
				if err != nil || last.Decision != auditlog.Allow || last.Actor.ID != c.who.Actor.ID {
					t.Errorf("%s: %v, logged %s by %s", c.name, err, last.Decision, last.Actor)
				}
				continue
			}
			if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "自分自身の操作") {
				t.Errorf("%s: %v (%q), want refused", c.name, err, apperr.JapaneseOf(err))
			}
			if last.Decision != auditlog.Deny || last.Policy != "koto-ward:8.2/no-self-investigation" || last.Query != fmt.Sprintf("alert:%d", c.alert) {
				t.Errorf("%s: logged %s by %q for %s", c.name, last.Decision, last.Policy, last.Query)
			}
			open, err := detect.List(ctx, d, false)
			Must(t, err)
			still := false
			for _, a := range open {
				still = still || a.ID == c.alert
			}
			if !still {
				t.Errorf("%s: the alert was closed anyway", c.name)
			}
		}
	})
}

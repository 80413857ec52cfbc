package incident_test

import (
	"context"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/incident"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// TestIncidentLifecycle: the chief security officer opens an incident of
// improper use, records measures, and may close it only once coordination,
// damage assessment and containment are on record; a security officer
// may not record; bad input and closed incidents are refused; every step is
// logged, refusals too.
func TestIncidentLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staffPerson("CSO")))
		Must(t, f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.ChiefSecurityOfficer, ""))
		reg := incident.New(d, f.Log, f.Engine, "131083")
		cso := Operator("CSO", "T-KUMIN-01")
		so := Operator("SO-KUMIN", "T-KUMIN-01")

		id, err := reg.Open(ctx, cso, incident.Incident{Kind: incident.KindMisuse, Title: "職員による目的外照会の疑い", Summary: "検知 時間外の照会 から判明"})
		Must(t, err)
		for _, c := range []struct {
			name  string
			err   error
			code  apperr.Code
			field string // the input the refusal is about (apperr.FieldsOf); none: the whole form
		}{
			{"unknown kind", func() error {
				_, err := reg.Open(ctx, cso, incident.Incident{Kind: "fire", Title: "x", Summary: "x"})
				return err
			}(), apperr.Invalid, "kind"},
			{"no title", func() error {
				_, err := reg.Open(ctx, cso, incident.Incident{Kind: incident.KindOutage, Summary: "x"})
				return err
			}(), apperr.Invalid, "title"},
			{"no summary", func() error {
				_, err := reg.Open(ctx, cso, incident.Incident{Kind: incident.KindOutage, Title: "x", Summary: " "})
				return err
			}(), apperr.Invalid, "summary"},
			{"unknown alert", func() error {
				_, err := reg.Open(ctx, cso, incident.Incident{Kind: incident.KindMisuse, Title: "x", Summary: "x", AlertID: 999})
				return err
			}(), apperr.NotFound, "alert"},
			{"security officer opening", func() error {
				_, err := reg.Open(ctx, so, incident.Incident{Kind: incident.KindOutage, Title: "x", Summary: "x"})
				return err
			}(), apperr.Forbidden, ""},
			{"unknown measure", reg.Record(ctx, cso, id, "prayer", "x"), apperr.Invalid, "kind"},
			{"empty measure", reg.Record(ctx, cso, id, incident.MeasureAssessment, " "), apperr.Invalid, "text"},
			{"measure of no incident", reg.Record(ctx, cso, 999, incident.MeasureNote, "x"), apperr.NotFound, ""},
			{"security officer recording", reg.Record(ctx, so, id, incident.MeasureNote, "x"), apperr.Forbidden, ""},
			{"no conclusion", reg.Close(ctx, cso, id, ""), apperr.Invalid, "conclusion"},
		} {
			if apperr.CodeOf(c.err) != c.code || apperr.JapaneseOf(c.err) == "" {
				t.Errorf("%s: %v (code %s), want %s with a Japanese message", c.name, c.err, apperr.CodeOf(c.err), c.code)
			}
			if got := fieldNames(c.err); got != c.field {
				t.Errorf("%s: the refusal is about %q, want %q", c.name, got, c.field)
			}
		}
		Must(t, reg.Record(ctx, cso, id, incident.MeasureAssessment, "照会された住民 3名、第三者への提供は確認されず"))
		err = reg.Close(ctx, cso, id, "早すぎる終結")
		if apperr.CodeOf(err) != apperr.Invalid || apperr.JapaneseOf(err) != "事案 1 を終結するには、次の措置の記録が必要です：都等との連絡調整、被害拡大の防止" || fieldNames(err) != "" {
			t.Fatalf("closing before the required measures: %v / %s", err, apperr.JapaneseOf(err))
		}
		Must(t, reg.Record(ctx, cso, id, incident.MeasureCoordination, "東京都・J-LISに報告"))
		Must(t, reg.Record(ctx, cso, id, incident.MeasureContainment, "当該職員の取扱者指定を解除"))
		Must(t, reg.Close(ctx, cso, id, "懲戒処分。刑事告発は見送り"))
		if err := reg.Record(ctx, cso, id, incident.MeasureNote, "追記"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("measure on a closed incident: %v", err)
		}
		in, err := incident.Get(ctx, d, id)
		Must(t, err)
		if in.State != incident.StateClosed || len(in.Measures) != 3 || in.Measures[0].Kind != incident.MeasureAssessment || in.ClosedBy != "operator:CSO" {
			t.Errorf("incident: %+v", in)
		}
		open, err := incident.List(ctx, d, false)
		Must(t, err)
		all, err := incident.List(ctx, d, true)
		Must(t, err)
		if len(open) != 0 || len(all) != 1 {
			t.Errorf("list: %d open, %d in all", len(open), len(all))
		}
		logged, err := auditlog.List(ctx, d, auditlog.Filter{After: -1, Limit: 1000})
		Must(t, err)
		counts := map[string]int{}
		for _, l := range logged {
			if e := l.Entry; len(e.Action) > 9 && e.Action[:9] == "incident." {
				counts[e.Action+" "+e.Outcome]++
			}
		}
		want := map[string]int{"incident.open ok": 1, "incident.open denied": 1, "incident.open error": 1, "incident.measure ok": 3,
			"incident.measure denied": 1, "incident.measure error": 2, "incident.close ok": 1, "incident.close error": 1}
		for k, n := range want {
			if counts[k] != n {
				t.Errorf("logged %q: %d, want %d (all: %v)", k, counts[k], n, counts)
			}
		}
	})
}

func staffPerson(vid string) staff.Person {
	return staff.Person{VerificationID: vid, Name: "副区長 一", Department: "joho", Title: "副区長"}
}

// fieldNames are the inputs err is about (apperr.FieldsOf), comma-separated.
func fieldNames(err error) string {
	var names []string
	for _, f := range apperr.FieldsOf(err) {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

package incident_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/incident"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// TestFreeTextFieldRules: an incident's title and summary, a measure's text,
// a conclusion, and the finding a detection alert is closed with (the
// alert an incident begins from) refuse a bidi override, NUL, another
// control character, bytes that are no UTF-8 and an over-long value, with
// the field's name and rule in English and Japanese. Nothing is written,
// not even an audit entry, so the log holds no copy of the refused value.
func TestFreeTextFieldRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staffPerson("CSO")))
		Must(t, f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.ChiefSecurityOfficer, ""))
		reg := incident.New(d, f.Log, f.Engine, "131083")
		cso := Operator("CSO", "T-KUMIN-01")
		id, err := reg.Open(ctx, cso, incident.Incident{Kind: incident.KindOutage, Title: "障害", Summary: "停止"})
		Must(t, err)
		// An alert to close: a look-up at night.
		det, err := detect.New(d, f.Log, f.Engine, "131083", detect.DefaultSettings)
		Must(t, err)
		_, err = f.Log.Append(ctx, auditlog.Entry{Time: time.Date(2026, 12, 1, 22, 0, 0, 0, jptext.JST), Node: "131083",
			Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk}, Origin: "terminal:T-KUMIN-01", Action: "lookup",
			Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Subjects: []string{"20000000001"}})
		Must(t, err)
		_, err = det.Run(ctx)
		Must(t, err)
		alerts, err := detect.List(ctx, d, false)
		Must(t, err)
		if len(alerts) != 1 {
			t.Fatalf("alerts: %+v", alerts)
		}
		so := Operator("SO-KUMIN", "T-KUMIN-01")

		open := func(set func(in *incident.Incident)) error {
			in := incident.Incident{Kind: incident.KindOutage, Title: "障害", Summary: "停止"}
			set(&in)
			_, err := reg.Open(ctx, cso, in)
			return err
		}
		for _, fc := range []struct {
			field resident.Field
			call  func(v string) error
		}{
			{incident.FieldTitle, func(v string) error { return open(func(in *incident.Incident) { in.Title = v }) }},
			{incident.FieldSummary, func(v string) error { return open(func(in *incident.Incident) { in.Summary = v }) }},
			{incident.FieldMeasureText, func(v string) error { return reg.Record(ctx, cso, id, incident.MeasureNote, v) }},
			{incident.FieldConclusion, func(v string) error { return reg.Close(ctx, cso, id, v) }},
			{detect.FieldFinding, func(v string) error { return det.Close(ctx, so, alerts[0].ID, v) }},
		} {
			for name, v := range map[string]string{
				"U+202E":        "経過\u202E報告",
				"NUL":           "経過\x00",
				"U+0001":        "\x01経過",
				"invalid UTF-8": "経過\xff\xfe",
				"too long":      strings.Repeat("経", fc.field.Max+1),
			} {
				t.Run(fc.field.Japanese+" "+name, func(t *testing.T) {
					before := count(t, d)
					err := fc.call(v)
					if apperr.CodeOf(err) != apperr.Invalid || !strings.HasPrefix(err.Error(), fc.field.Name+": ") ||
						!strings.HasPrefix(apperr.JapaneseOf(err), fc.field.Japanese+"：") {
						t.Fatalf("%v (code %s, %q), want invalid naming %s / %s", err, apperr.CodeOf(err), apperr.JapaneseOf(err), fc.field.Name, fc.field.Japanese)
					}
					// Every change is made in its audit entry's
					// transaction: no entry, nothing written.
					if after := count(t, d); after != before {
						t.Errorf("the refused value was logged: %d entries → %d", before, after)
					}
				})
			}
		}
		in, err := incident.Get(ctx, d, id)
		Must(t, err)
		all, err := incident.List(ctx, d, true)
		Must(t, err)
		still, err := detect.List(ctx, d, false)
		Must(t, err)
		if len(all) != 1 || len(in.Measures) != 0 || in.State != incident.StateOpen || len(still) != 1 {
			t.Errorf("written: %d incidents, incident %+v, %d open alerts", len(all), in, len(still))
		}
	})
}

// count is the number of audit entries.
func count(t *testing.T, d *db.DB) int {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	return len(l)
}

package detect_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
)

// at is a time in Japan on a day of December 2026 (the 1st is a Tuesday,
// the 5th a Saturday).
func at(day, hour, minute int) time.Time {
	return time.Date(2026, 12, day, hour, minute, 0, 0, jptext.JST)
}

// access appends a logged look-up by operator vid of the given residents.
func access(t *testing.T, l *auditlog.Log, when time.Time, vid, action string, residents ...string) {
	t.Helper()
	_, err := l.Append(context.Background(), auditlog.Entry{
		Time: when, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "terminal:T-KUMIN-01",
		Action: action, Affair: "juminhyo-copy", Reason: "窓口", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK,
		Count: len(residents), Subjects: residents,
		Provision: &auditlog.Provision{Function: action, Affair: "juminhyo-copy", Reason: "窓口", Provider: "131083", Recipient: "operator:" + vid},
	})
	Must(t, err)
}

// other appends an entry by someone or something else.
func other(t *testing.T, l *auditlog.Log, when time.Time, actor auditlog.Actor, action, decision string) {
	t.Helper()
	outcome := auditlog.OutcomeOK
	if decision == auditlog.Deny {
		outcome = auditlog.OutcomeDenied
	}
	_, err := l.Append(context.Background(), auditlog.Entry{Time: when, Node: "131083", Actor: actor, Origin: "terminal:T",
		Action: action, Decision: decision, Policy: "test", Outcome: outcome, Subjects: []string{"10000000001"}})
	Must(t, err)
}

func operator(vid string) auditlog.Actor {
	return auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}
}

type want struct {
	rule, day, subject string
	count              int
	state              string
}

func alerts(t *testing.T, d *db.DB) []want {
	t.Helper()
	as, err := detect.List(context.Background(), d, true)
	Must(t, err)
	var out []want
	for _, a := range as {
		out = append(out, want{a.Rule, a.Day, a.Subject, a.Count, a.State})
	}
	return out
}

func sameAlerts(t *testing.T, got, wanted []want) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(wanted) {
		t.Fatalf("alerts:\n got  %v\n want %v", got, wanted)
	}
}

func TestDetectionRaisesUpdatesAndReopensAlerts(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// The ward is set up on the morning of the first day, whatever the
		// date the suite runs on: its entries fall on a day the test expects.
		f := NewAt(t, d, "koto-ward", clocktest.At(at(1, 9, 0)))
		f.SetUpWard(t)
		// The spike rule (many people within an hour) is the replays' to
		// test (TestReplayedMisuseCases): here the crowd is a day's.
		s := detect.DefaultSettings
		s.ActorsPerHour = 50
		det, err := detect.New(d, f.Log, f.Engine, "131083", s)
		Must(t, err)

		// Tuesday 1 December.
		access(t, f.Log, at(1, 10, 0), Clerk, "lookup", "20000000001")  // in office hours: nothing
		access(t, f.Log, at(1, 21, 30), Clerk, "lookup", "20000000002") // after hours
		access(t, f.Log, at(1, 8, 29), "K0009", "history", "20000000003")
		access(t, f.Log, at(1, 8, 30), "K0009", "lookup", "20000000003") // the first minute of the day is in hours
		access(t, f.Log, at(1, 17, 15), "K0008", "lookup", "20000000004")
		for i := 1; i <= 5; i++ { // five people look at one resident (the Yokote case)
			access(t, f.Log, at(1, 11, i), fmt.Sprintf("C%04d", i), "lookup", "30000000001")
		}
		for i := 1; i <= 4; i++ { // four people at another: below the threshold
			access(t, f.Log, at(1, 11, 10+i), fmt.Sprintf("C%04d", i), "lookup", "30000000002")
		}
		many := make([]string, 201)
		for i := range many {
			many[i] = fmt.Sprintf("4%010d", i)
		}
		access(t, f.Log, at(1, 14, 0), "K0002", "search", many...)       // 201 residents in a day
		access(t, f.Log, at(1, 15, 0), "K0003", "search", many[:200]...) // 200: at the threshold, not over
		for i := 0; i < 5; i++ {
			other(t, f.Log, at(1, 13, i), operator("K0005"), "lookup", auditlog.Deny)
		}
		for i := 0; i < 4; i++ {
			other(t, f.Log, at(1, 13, 10+i), operator("K0006"), "lookup", auditlog.Deny)
		}
		// Nodes and the system are not watched, at any hour.
		other(t, f.Log, at(1, 23, 0), auditlog.Actor{Kind: auditlog.ActorPeer, ID: "020001"}, "lookup", auditlog.Allow)
		// Saturday 5 December: any look-up is out of office hours.
		access(t, f.Log, at(5, 10, 0), "K0004", "lookup", "20000000005")
		// Monday 23 November, 勤労感謝の日: offices are closed.
		access(t, f.Log, time.Date(2026, 11, 23, 10, 0, 0, 0, jptext.JST), "K0007", "lookup", "20000000008")

		rep, err := det.Run(ctx)
		Must(t, err)
		if rep.Raised != 8 || rep.AuditSeq < 0 || len(rep.Days) != 3 {
			t.Fatalf("first run: %+v", rep)
		}
		sameAlerts(t, alerts(t, d), []want{
			{"after-hours", "2026-12-05", "operator:K0004", 1, "open"},
			{"after-hours", "2026-12-01", "operator:K0001", 1, "open"},
			{"after-hours", "2026-12-01", "operator:K0008", 1, "open"},
			{"after-hours", "2026-12-01", "operator:K0009", 1, "open"},
			{"crowd", "2026-12-01", "30000000001", 5, "open"},
			{"denials", "2026-12-01", "operator:K0005", 5, "open"},
			{"volume", "2026-12-01", "operator:K0002", 201, "open"},
			{"after-hours", "2026-11-23", "operator:K0007", 1, "open"},
		})

		// Nothing by a person since: nothing is written, not even a log entry.
		size, err := f.Log.Size(ctx)
		Must(t, err)
		rep, err = det.Run(ctx)
		Must(t, err)
		if again, _ := f.Log.Size(ctx); rep.AuditSeq != -1 || again != size {
			t.Fatalf("second run wrote: %+v (log %d → %d)", rep, size, again)
		}

		// More of the same: the open alert is updated, not doubled.
		access(t, f.Log, at(1, 22, 0), Clerk, "lookup", "20000000006")
		rep, err = det.Run(ctx)
		Must(t, err)
		if rep.Raised != 0 || rep.Updated != 1 {
			t.Fatalf("third run: %+v", rep)
		}

		// Closing: only with a finding, only by whom the policies allow.
		list, err := detect.List(ctx, d, false)
		Must(t, err)
		var clerkAlert detect.Alert
		for _, a := range list {
			if a.Subject == "operator:K0001" {
				clerkAlert = a
			}
		}
		if clerkAlert.Count != 2 {
			t.Fatalf("K0001's alert: %+v", clerkAlert)
		}
		so := Operator("SO-KUMIN", "T-KUMIN-01")
		for _, c := range []struct {
			name  string
			err   error
			code  apperr.Code
			field string // the input the refusal is about (apperr.FieldsOf); none: the whole form
		}{
			{"no finding", det.Close(ctx, so, clerkAlert.ID, "  "), apperr.Invalid, "finding"},
			{"a clerk closing", det.Close(ctx, Operator(Clerk, "T-KUMIN-01"), clerkAlert.ID, "問題なし"), apperr.Forbidden, ""},
			{"no such alert", det.Close(ctx, so, 999999, "問題なし"), apperr.NotFound, ""},
			{"a finding too long", det.Close(ctx, so, clerkAlert.ID, strings.Repeat("調", detect.FieldFinding.Max+1)), apperr.Invalid, "finding"},
		} {
			if apperr.CodeOf(c.err) != c.code || apperr.JapaneseOf(c.err) == "" {
				t.Errorf("%s: %v (code %s), want %s with a Japanese message", c.name, c.err, apperr.CodeOf(c.err), c.code)
			}
			if got := fieldNames(c.err); got != c.field {
				t.Errorf("%s: the refusal is about %q, want %q", c.name, got, c.field)
			}
		}
		Must(t, det.Close(ctx, so, clerkAlert.ID, "時間外窓口の応援。所属長確認済み"))
		if err := det.Close(ctx, so, clerkAlert.ID, "二度目"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("closing twice: %v", err)
		}
		closed, err := auditlog.List(ctx, d, auditlog.Filter{After: -1, Action: "detect.close", Limit: 100})
		Must(t, err)
		var ok, denied int
		for _, e := range closed {
			switch e.Entry.Outcome {
			case auditlog.OutcomeOK:
				ok++
			case auditlog.OutcomeDenied:
				denied++
			}
		}
		if ok != 1 || denied != 1 {
			t.Errorf("closings logged: %d ok, %d denied; want 1 and 1", ok, denied)
		}

		// Found again after closing: reopened, with the closing kept.
		access(t, f.Log, at(1, 23, 0), Clerk, "lookup", "20000000007")
		rep, err = det.Run(ctx)
		Must(t, err)
		if rep.Reopened != 1 {
			t.Fatalf("fourth run: %+v", rep)
		}
		list, err = detect.List(ctx, d, false)
		Must(t, err)
		for _, a := range list {
			if a.ID == clerkAlert.ID && (!a.Reopened || a.Count != 3 || a.Outcome == "") {
				t.Errorf("reopened alert: %+v", a)
			}
		}
		runs, err := auditlog.List(ctx, d, auditlog.Filter{After: -1, Action: "detect", Limit: 100})
		Must(t, err)
		if len(runs) != 3 {
			t.Errorf("%d detection runs logged, want 3", len(runs))
		}
		if n, err := detect.OpenCount(ctx, d); err != nil || n != 8 {
			t.Errorf("open alerts: %d, %v; want 8", n, err)
		}
	})
}

func TestSettingsCheck(t *testing.T) {
	for _, c := range []struct {
		name string
		s    func(*detect.Settings)
		ok   bool
	}{
		{"defaults", func(*detect.Settings) {}, true},
		{"end before start", func(s *detect.Settings) { s.OfficeEnd = s.OfficeStart - time.Minute }, false},
		{"past midnight", func(s *detect.Settings) { s.OfficeEnd = 25 * time.Hour }, false},
		{"no residents", func(s *detect.Settings) { s.DailyResidents = 0 }, false},
		{"one person is not a crowd", func(s *detect.Settings) { s.ActorsPerResident = 1 }, false},
		{"no denials", func(s *detect.Settings) { s.DailyDenials = 0 }, false},
		{"no look-ups without a case", func(s *detect.Settings) { s.NoCaseDaily = 0 }, false},
		{"one read is no repeat", func(s *detect.Settings) { s.RepeatPerDay = 1 }, false},
		{"one day is no repeat", func(s *detect.Settings) { s.RepeatDays = 1 }, false},
		{"window shorter than the days", func(s *detect.Settings) { s.RepeatDays, s.RepeatWindowDays = 5, 4 }, false},
		{"window over a year", func(s *detect.Settings) { s.RepeatWindowDays = 400 }, false},
		{"no kin", func(s *detect.Settings) { s.KinDaily = 0 }, false},
		{"one person is no spike", func(s *detect.Settings) { s.ActorsPerHour = 1 }, false},
	} {
		s := detect.DefaultSettings
		c.s(&s)
		if err := s.Check(); (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestOfficeDay(t *testing.T) {
	for _, c := range []struct {
		day  time.Time
		open bool
	}{
		{at(1, 10, 0), true},   // Tuesday
		{at(5, 10, 0), false},  // Saturday
		{at(28, 10, 0), true},  // Monday 28 December
		{at(29, 10, 0), false}, // year-end closure
		{time.Date(2027, 1, 4, 10, 0, 0, 0, jptext.JST), true},    // the first office day of 2027
		{time.Date(2026, 11, 23, 10, 0, 0, 0, jptext.JST), false}, // 勤労感謝の日, a Monday
		{time.Date(2026, 9, 22, 10, 0, 0, 0, jptext.JST), false},  // 国民の休日
	} {
		if got := detect.OfficeDay(c.day); got != c.open {
			t.Errorf("%s: office day %v, want %v", c.day.Format(time.DateOnly), got, c.open)
		}
	}
}

// fieldNames are the inputs err is about (apperr.FieldsOf), comma-separated.
func fieldNames(err error) string {
	var names []string
	for _, f := range apperr.FieldsOf(err) {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

package approval_test

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/policy"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/report"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/staff"
)

const within = "koto-ward:12.1" + policy.UsageApprovalPolicy

func question(vid, terminal, affair string) gate.Question {
	return gate.Question{Action: "lookup", Request: gate.Request{
		Actor:  auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid},
		Origin: "terminal:" + terminal, Affair: affair, Reason: "窓口での本人申請",
	}}
}

// kazei sets up 課税課 (SetUpWard gives it a terminal, a head and K0002,
// but no approval) with a second terminal, and returns the head at work.
func kazei(t *testing.T, f *Fixture) staff.Who {
	t.Helper()
	f.SetUpWard(t)
	Must(t, f.Staff.ApproveTerminal(context.Background(), f.Admin, staff.Terminal{ID: "T-KAZEI-02", Name: "課税課2", Department: "kazei", Location: "本庁舎3階"}))
	return Operator("SO-KAZEI", "T-KAZEI-01")
}

func application(f *Fixture, start, end time.Time) approval.Approval {
	return approval.Approval{Department: "kazei", Affair: "tax-assessment", Purpose: "個人住民税の賦課", Reason: "住所地の確認のため",
		Start: start, End: end, Terminals: []string{"T-KAZEI-01"}, Operators: []string{"K0002"}}
}

// TestWorkflow: an application does nothing until approved; approved, its
// staff may work on its terminals only and within its period; refused or
// withdrawn it never does; ended, its staff are refused that moment and
// their designations end. Every step is in the audit log, and each
// refusal names the article and the approval.
func TestWorkflow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		head := kazei(t, f)
		today := jptext.Midnight(f.Clock.Now())
		decide := func(q gate.Question) gate.Verdict { return f.Engine.Decide(ctx, q) }

		id, err := f.Approvals.Apply(ctx, head, application(f, today, today.AddDate(1, 0, -1)))
		Must(t, err)
		if v := decide(question("K0002", "T-KAZEI-01", "tax-assessment")); v.Allow || v.Policy != within || !strings.Contains(v.Japanese, "利用承認を受けていません") {
			t.Errorf("applied, not approved: %+v", v)
		}
		// The head may not approve his own department's application; a clerk may not apply.
		if err := f.Approvals.Decide(ctx, head, id, true, "自分で承認"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("head approving: %v", err)
		}
		if _, err := f.Approvals.Apply(ctx, Operator("K0002", "T-KAZEI-01"), application(f, today, today.AddDate(0, 1, 0))); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("clerk applying: %v", err)
		}
		Must(t, f.Approvals.Decide(ctx, f.Admin, id, true, "事務の内容と取扱者を確認"))
		if v := decide(question("K0002", "T-KAZEI-01", "tax-assessment")); !v.Allow {
			t.Errorf("approved: %+v", v)
		}
		// A terminal of the department the approval does not name is refused, naming it.
		if v := decide(question("K0002", "T-KAZEI-02", "tax-assessment")); v.Allow || v.Policy != within || !strings.Contains(v.Japanese, "端末 T-KAZEI-02 は") {
			t.Errorf("terminal outside the approval: %+v", v)
		}
		// Deciding twice, overlapping applications.
		if err := f.Approvals.Decide(ctx, f.Admin, id, false, "再度"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("decided twice: %v", err)
		}
		if _, err := f.Approvals.Apply(ctx, head, application(f, today.AddDate(0, 6, 0), today.AddDate(2, 0, 0))); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("overlapping application: %v", err)
		}
		// The designation the approval made.
		st, err := staff.Load(ctx, d)
		Must(t, err)
		if got := st.People["K0002"].Affairs; len(got) != 1 || got[0] != "tax-assessment" {
			t.Errorf("designations after approval = %v", got)
		}
		// Ending it refuses at once and ends the designation.
		if err := f.Approvals.End(ctx, Operator("K0002", "T-KAZEI-01"), id, "自分で終了"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("clerk ending: %v", err)
		}
		Must(t, f.Approvals.End(ctx, head, id, "事務の見直しにより廃止"))
		v := decide(question("K0002", "T-KAZEI-01", "tax-assessment"))
		if v.Allow || v.Policy != within || !strings.Contains(v.Japanese, jptext.FormatWareki(today)+"に利用の終了が届け出られています") {
			t.Errorf("ended: %+v", v)
		}
		st, err = staff.Load(ctx, d)
		Must(t, err)
		if got := st.People["K0002"].Affairs; len(got) != 0 {
			t.Errorf("designations after the end = %v", got)
		}
		if err := f.Approvals.End(ctx, head, id, "二度目"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("ended twice: %v", err)
		}
		// A refused and a withdrawn application never let anyone work.
		refused, err := f.Approvals.Apply(ctx, head, application(f, today, today.AddDate(0, 1, 0)))
		Must(t, err)
		Must(t, f.Approvals.Decide(ctx, f.Admin, refused, false, "取扱者の研修計画が未提出"))
		withdrawn, err := f.Approvals.Apply(ctx, head, application(f, today, today.AddDate(0, 1, 0)))
		Must(t, err)
		Must(t, f.Approvals.Withdraw(ctx, head, withdrawn, "申請内容の誤り"))
		if err := f.Approvals.Decide(ctx, f.Admin, withdrawn, true, "x"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("approving a withdrawn application: %v", err)
		}
		if v := decide(question("K0002", "T-KAZEI-01", "tax-assessment")); v.Allow {
			t.Errorf("after refusal and withdrawal: %+v", v)
		}
		all, err := approval.List(ctx, d)
		Must(t, err)
		states := map[int64]approval.State{}
		for _, a := range all {
			states[a.ID] = a.State
		}
		if states[id] != approval.Ended || states[refused] != approval.Refused || states[withdrawn] != approval.Withdrawn {
			t.Errorf("states = %v", states)
		}
		// Every change is logged with its actor.
		l, err := auditlog.List(ctx, d, auditlog.Filter{After: -1, Limit: 100000})
		Must(t, err)
		count := map[string]int{}
		for _, e := range l {
			if strings.HasPrefix(e.Action, "approval.") && e.Entry.Outcome == auditlog.OutcomeOK {
				count[e.Action]++
			}
		}
		// SetUpWard approves two uses of 区民課 too.
		if count["approval.apply"] != 5 || count["approval.approve"] != 3 || count["approval.refuse"] != 1 || count["approval.withdraw"] != 1 || count["approval.end"] != 1 {
			t.Errorf("logged = %v", count)
		}
	})
}

// TestPeriod: an approval lets its staff work from its first day to the
// end of its last, on the node's clock, with no change recorded between.
func TestPeriod(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		head := kazei(t, f)
		today := jptext.Midnight(f.Clock.Now())
		id, err := f.Approvals.Apply(ctx, head, application(f, today.AddDate(0, 0, 2), today.AddDate(0, 0, 4)))
		Must(t, err)
		Must(t, f.Approvals.Decide(ctx, f.Admin, id, true, "確認"))
		q := question("K0002", "T-KAZEI-01", "tax-assessment")
		for _, c := range []struct {
			at    time.Time
			allow bool
			ja    string
		}{
			{today.AddDate(0, 0, 2).Add(-time.Second), false, "期間は"},
			{today.AddDate(0, 0, 2), true, ""},
			{today.AddDate(0, 0, 5).Add(-time.Second), true, ""},
			{today.AddDate(0, 0, 5), false, "で終わっています"},
		} {
			f.Clock.Set(c.at)
			if v := f.Engine.Decide(ctx, q); v.Allow != c.allow || !strings.Contains(v.Japanese, c.ja) {
				t.Errorf("at %s: %+v, want allow=%v ja~%q", c.at, v, c.allow, c.ja)
			}
		}
	})
}

// TestBadInput: every field of an application is checked, with the field
// named, and nothing is stored.
func TestBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		head := kazei(t, f)
		today := jptext.Midnight(f.Clock.Now())
		long := strings.Repeat("あ", approval.FieldPurpose.Max+1)
		for _, c := range []struct {
			name string
			set  func(a *approval.Approval)
			code apperr.Code
			ja   string
		}{
			{"unknown department", func(a *approval.Approval) { a.Department = "nowhere" }, apperr.Invalid, "部署"},
			{"unknown affair", func(a *approval.Approval) { a.Affair = "astrology" }, apperr.Invalid, "利用事務"},
			{"no purpose", func(a *approval.Approval) { a.Purpose = " " }, apperr.Invalid, "事務の内容"},
			{"long purpose", func(a *approval.Approval) { a.Purpose = long }, apperr.Invalid, "事務の内容"},
			{"control character", func(a *approval.Approval) { a.Reason = "理由\x07" }, apperr.Invalid, "利用の理由"},
			{"no start", func(a *approval.Approval) { a.Start = time.Time{} }, apperr.Invalid, "開始日"},
			{"end before start", func(a *approval.Approval) { a.End = a.Start.AddDate(0, 0, -1) }, apperr.Invalid, "より前"},
			{"end before today", func(a *approval.Approval) { a.Start, a.End = today.AddDate(0, 0, -9), today.AddDate(0, 0, -1) }, apperr.Invalid, "今日より前"},
			{"no terminal", func(a *approval.Approval) { a.Terminals = nil }, apperr.Invalid, "端末"},
			{"no staff", func(a *approval.Approval) { a.Operators = []string{" "} }, apperr.Invalid, "職員"},
			{"terminal of another department", func(a *approval.Approval) { a.Terminals = []string{"T-KUMIN-01"} }, apperr.Invalid, "T-KUMIN-01"},
			{"unknown terminal", func(a *approval.Approval) { a.Terminals = []string{"T-HOME"} }, apperr.Invalid, "T-HOME"},
			{"staff of another department", func(a *approval.Approval) { a.Operators = []string{"K0002", Clerk} }, apperr.Invalid, Clerk},
			{"unknown staff", func(a *approval.Approval) { a.Operators = []string{"NOBODY"} }, apperr.Invalid, "NOBODY"},
			{"malformed id", func(a *approval.Approval) { a.Operators = []string{"<script>"} }, apperr.Invalid, "照合ID"},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := application(f, today, today.AddDate(1, 0, 0))
				c.set(&a)
				_, err := f.Approvals.Apply(ctx, head, a)
				if apperr.CodeOf(err) != c.code || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want %s ~%q", err, apperr.JapaneseOf(err), c.code, c.ja)
				}
			})
		}
		all, err := approval.List(ctx, d)
		Must(t, err)
		for _, a := range all {
			if a.Department == "kazei" {
				t.Errorf("a refused application was stored: %+v", a)
			}
		}
		var n int
		Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM usage_approval_terminal t JOIN usage_approval a ON a.id = t.approval_id WHERE a.department_id = 'kazei'`).Scan(&n))
		if n != 0 {
			t.Errorf("%d terminal rows of refused applications stored", n)
		}
		// Reasons are required for decisions and ends.
		id, err := f.Approvals.Apply(ctx, head, application(f, today, today.AddDate(1, 0, 0)))
		Must(t, err)
		if err := f.Approvals.Decide(ctx, f.Admin, id, true, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("decision without a reason: %v", err)
		}
		if err := f.Approvals.Decide(ctx, f.Admin, 999, true, "x"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("unknown application: %v", err)
		}
	})
}

// TestStatusReport: a status report counts, from the log, each person's
// uses of the approved affair in the period, their refusals, and no one
// else's; a submission records the digest of the CSV it hands over.
func TestStatusReport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		// The node starts on the first day of the period reported on: its
		// clock only moves forward (a clock set back is stamped at the
		// log's latest time, auditlog.Entry.ClockRead).
		f := NewAt(t, d, "koto-ward", clocktest.At(time.Date(2026, 11, 2, 10, 0, 0, 0, jptext.JST)))
		head := kazei(t, f)
		today := jptext.Midnight(f.Clock.Now())
		id, err := f.Approvals.Apply(ctx, head, application(f, today, today.AddDate(1, 0, 0)))
		Must(t, err)
		Must(t, f.Approvals.Decide(ctx, f.Admin, id, true, "確認"))
		code := f.ImportOne(t)
		lookup := func(vid, terminal, affair string) {
			q := question(vid, terminal, affair)
			f.Gate.Lookup(ctx, q.Request, gate.Key{ResidentCode: code})
		}
		// In November: K0002 looks up 3 times and is refused once on the
		// wrong terminal; the clerk of 区民課 looks up for his own affair.
		for range 3 {
			lookup("K0002", "T-KAZEI-01", "tax-assessment")
		}
		lookup("K0002", "T-KAZEI-02", "tax-assessment")
		lookup(Clerk, "T-KUMIN-01", "juminhyo-copy")
		// In December, one more: outside the period reported on.
		f.Clock.Set(time.Date(2026, 12, 3, 10, 0, 0, 0, jptext.JST))
		lookup("K0002", "T-KAZEI-01", "tax-assessment")
		from, to := time.Date(2026, 11, 1, 0, 0, 0, 0, jptext.JST), time.Date(2026, 11, 30, 0, 0, 0, 0, jptext.JST)
		if _, err := f.Approvals.RequestReport(ctx, head, id, from, to, time.Date(2026, 12, 10, 0, 0, 0, 0, jptext.JST)); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("the head asking for his own report: %v", err)
		}
		if _, err := f.Approvals.RequestReport(ctx, f.Admin, id, from, time.Date(2026, 12, 3, 0, 0, 0, 0, jptext.JST), time.Date(2026, 12, 10, 0, 0, 0, 0, jptext.JST)); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("a period up to today: %v", err)
		}
		rid, err := f.Approvals.RequestReport(ctx, f.Admin, id, from, to, time.Date(2026, 12, 10, 0, 0, 0, 0, jptext.JST))
		Must(t, err)
		// Past its due day, the report is overdue.
		rms, err := approval.Reminders(ctx, d, time.Date(2026, 12, 11, 9, 0, 0, 0, jptext.JST))
		Must(t, err)
		var reminded bool
		for _, rm := range rms {
			if rm.Kind == "report" && rm.Report.ID == rid {
				reminded = rm.Overdue
			}
		}
		if !reminded {
			t.Errorf("report %d not reminded as overdue: %+v", rid, rms)
		}
		st, err := f.Approvals.SubmitReport(ctx, head, rid, "特記事項なし", approval.Status.CSV)
		Must(t, err)
		if len(st.People) != 1 || st.People[0].VID != "K0002" || st.People[0].Lookups != 3 || st.People[0].Denied != 1 || st.People[0].Residents != 1 {
			t.Errorf("status = %+v", st.People)
		}
		if st.Total.Uses() != 3 || st.Total.Denied != 1 {
			t.Errorf("total = %+v", st.Total)
		}
		b, err := st.CSV()
		Must(t, err)
		if !strings.HasPrefix(string(b), "\ufeff利用状況報告") || !strings.Contains(string(b), "K0002,課税 花子,3,0,0,0,3,1,0,1,0\r\n") {
			t.Errorf("CSV:\n%s", b)
		}
		a, err := approval.Get(ctx, d, id)
		Must(t, err)
		if len(a.Reports) != 1 || !a.Reports[0].Submitted() || a.Reports[0].Digest != approval.Digest(b) || a.Reports[0].Note != "特記事項なし" {
			t.Errorf("report recorded as %+v", a.Reports)
		}
		if _, err := f.Approvals.SubmitReport(ctx, head, rid, "", approval.Status.CSV); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("submitted twice: %v", err)
		}
		// The same counts again later: the period is closed.
		again, err := f.Approvals.Status(ctx, f.Admin, id, from, to)
		Must(t, err)
		if again.Total != st.Total {
			t.Errorf("recounted total %+v, submitted %+v", again.Total, st.Total)
		}
		// The PDF a person reads: Japanese text, 和暦 dates, the same counts.
		var pdf bytes.Buffer
		Must(t, report.WritePDF(&pdf, st.Document("江東区 課税課", f.Clock.Now())))
		if n := reporttest.Pages(t, pdf.Bytes()); n != 1 {
			t.Errorf("the status report PDF has %d pages, want 1", n)
		}
		text := reporttest.Text(t, pdf.Bytes())
		for _, want := range []string{"本人確認情報の利用状況報告", "令和8年11月1日～令和8年11月30日", "課税 花子", "利用 3件", "拒否 1件", "合計"} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF lacks %q:\n%s", want, text)
			}
		}
		if !regexp.MustCompile(`K0002\s+課税 花子\s+3\s+0\s+0\s+0\s+3\s+1\s+0\s+1\s+0`).MatchString(text) {
			t.Errorf("the PDF's row of K0002 does not hold its counts:\n%s", text)
		}
	})
}

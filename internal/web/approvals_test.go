package web

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/sysaudit"
)

// demoDept is the department of the demo's security officer.
func demoDept(s *Server) string {
	st, err := s.node.Policy.State(context.Background())
	if err != nil {
		return ""
	}
	return st.People[node.DemoOfficer].Department
}

// TestApprovalScreen walks the usage approval workflow through its screen:
// the security officer applies, the operator is refused until the system
// administrator approves, the officer ends the use and the operator is
// refused again; the officer submits the status report the demo asked for;
// the administrator downloads a status report, which the log records. Bad
// input is refused in Japanese with nothing stored, and a clerk does not
// see the screen.
func TestApprovalScreen(t *testing.T) {
	s, code := demoServer(t)
	ctx := context.Background()
	so, admin, clerk := signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	today := jptext.Midnight(s.node.Now())
	day := today.Format("2006-01-02")
	lookup := func() int {
		return clerk.do("POST", "/lookup", url.Values{"affair": {"tax-assessment"}, "reason": {"課税の確認"}, "mode": {"code"}, "code": {code}}).Code
	}
	if rec := clerk.do("GET", "/approvals", nil); rec.Code != 403 {
		t.Errorf("clerk opens the approvals: %d", rec.Code)
	}
	page := so.do("GET", "/approvals", nil).Body.String()
	if !strings.Contains(page, `data-testid="apply-`+demoDept(s)+`"`) || !strings.Contains(page, `data-testid="submit-report-1"`) {
		t.Fatalf("the officer's approvals screen lacks the application form or the report to submit:\n%s", page)
	}
	form := url.Values{"department": {demoDept(s)}, "affair": {"tax-assessment"}, "purpose": {"個人住民税の賦課"}, "reason": {"住所の確認のため"},
		"start": {jptext.FormatWareki(today)}, "end": {today.AddDate(1, 0, 0).Format("2006-01-02")}, "terminal": {node.DemoTerminal}, "operator": {node.DemoOperator}}
	// Bad input first: refused, named, nothing stored.
	before, err := approval.List(ctx, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	for field, bad := range map[string]string{"end": today.AddDate(0, 0, -1).Format("2006-01-02"), "start": "きのう", "purpose": "", "terminal": "T-NOWHERE"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(field, bad)
		rec := so.do("POST", "/approvals", f)
		body := rec.Body.String()
		// The screen again: the error in the form, tied to its inputs,
		// what was typed kept.
		if rec.Code != 400 || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, `aria-invalid="true" aria-describedby="error-apply-`+demoDept(s)+`"`) ||
			!strings.Contains(body, `value="住所の確認のため"`) || (field != "terminal") != strings.Contains(body, `value="`+node.DemoTerminal+`" checked`) {
			t.Errorf("bad %s %q: %d\n%s", field, bad, rec.Code, body)
		}
	}
	after, err := approval.List(ctx, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("bad applications stored: %d, then %d", len(before), len(after))
	}
	if rec := so.do("POST", "/approvals", form); rec.Code != 303 {
		t.Fatalf("apply: %d %s", rec.Code, rec.Body.String())
	}
	all, err := approval.List(ctx, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(all[0].ID)
	if all[0].State != approval.Applied || all[0].Affair != "tax-assessment" {
		t.Fatalf("newest application = %+v", all[0])
	}
	if c := lookup(); c != 403 {
		t.Errorf("look-up before approval: %d", c)
	}
	// The dashboards remind: the administrator of the application to
	// decide, the officer of the status report the demo asked for.
	if dash := admin.do("GET", "/", nil).Body.String(); !strings.Contains(dash, "承認・不承認の決定を待つ申請：第"+id+"号") {
		t.Errorf("the administrator's dashboard does not remind of application %s", id)
	}
	if dash := so.do("GET", "/", nil).Body.String(); !strings.Contains(dash, "提出を求められている利用状況報告") || strings.Contains(dash, "承認・不承認の決定を待つ申請") {
		t.Errorf("the officer's dashboard reminders are wrong")
	}
	if dash := clerk.do("GET", "/", nil).Body.String(); strings.Contains(dash, `data-testid="approval-reminders"`) {
		t.Errorf("the clerk's dashboard shows approval reminders")
	}
	if page := admin.do("GET", "/approvals", nil).Body.String(); !strings.Contains(page, `data-testid="decide-`+id+`"`) {
		t.Errorf("the administrator sees no decision form for %s", id)
	}
	if rec := so.do("POST", "/approvals/decide", url.Values{"approval": {id}, "decision": {"approve"}, "reason": {"自分で"}}); rec.Code != 403 {
		t.Errorf("the officer approves his own: %d", rec.Code)
	}
	if rec := admin.do("POST", "/approvals/decide", url.Values{"approval": {id}, "decision": {"approve"}, "reason": {"事務の内容と取扱者を確認"}}); rec.Code != 303 {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body.String())
	}
	if c := lookup(); c != 200 {
		t.Errorf("look-up after approval: %d", c)
	}
	if rec := so.do("POST", "/approvals/end", url.Values{"approval": {id}, "reason": {""}}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="error-end-`+id+`"`) {
		t.Errorf("end without a reason: %d", rec.Code)
	}
	if rec := so.do("POST", "/approvals/end", url.Values{"approval": {id}, "reason": {"事務の見直し"}}); rec.Code != 303 {
		t.Fatalf("end: %d %s", rec.Code, rec.Body.String())
	}
	if c := lookup(); c != 403 {
		t.Errorf("look-up after the end: %d", c)
	}
	// The report the demo asked for.
	if rec := so.do("POST", "/approvals/reports/submit", url.Values{"report": {"1"}, "note": {"特記事項なし"}}); rec.Code != 303 {
		t.Fatalf("submit: %d %s", rec.Code, rec.Body.String())
	}
	if page := admin.do("GET", "/approvals", nil).Body.String(); !strings.Contains(page, "SHA-256 <code>") || !strings.Contains(page, "特記事項なし") {
		t.Errorf("the submission is not shown")
	}
	if dash := so.do("GET", "/", nil).Body.String(); strings.Contains(dash, "提出を求められている利用状況報告") {
		t.Errorf("the officer is still reminded of the submitted report")
	}
	rec := admin.do("POST", "/approvals/status", url.Values{"approval": {id}, "from": {day}, "to": {day}, "format": {"csv"}})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(rec.Body.String(), "\ufeff利用状況報告") ||
		!strings.Contains(rec.Body.String(), node.DemoOperator+",") {
		t.Fatalf("status CSV: %d %s\n%s", rec.Code, rec.Header(), rec.Body.String())
	}
	rec = admin.do("POST", "/approvals/status", url.Values{"approval": {id}, "from": {day}, "to": {day}, "format": {"pdf"}})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("status PDF: %d %s", rec.Code, rec.Header())
	}
	if text := reporttest.Text(t, rec.Body.Bytes()); !strings.Contains(text, "本人確認情報の利用状況報告") || !strings.Contains(text, node.DemoOperator) {
		t.Errorf("status PDF text:\n%s", text)
	}
	entries, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{Action: "approval.status", Actor: "operator:" + node.DemoAdmin, After: -1}) // not the demo's own (its forms)
	if err != nil || len(entries) != 2 || entries[0].Actor != "operator:"+node.DemoAdmin {
		t.Errorf("the status download is not logged: %v %+v", err, entries)
	}
}

// TestDashboardOverdueDirectives: the demo's directive past its due day is
// on the dashboard of those who see the council's record and of the head
// of its department, not on a clerk's.
func TestDashboardOverdueDirectives(t *testing.T) {
	s, _ := demoServer(t)
	overdue, err := council.Overdue(context.Background(), s.node.DB, s.node.Now())
	if err != nil || len(overdue) == 0 {
		t.Fatalf("the demo has no overdue directive: %v", err)
	}
	want := fmt.Sprintf(`href="/council#directive-%d"`, overdue[0].ID)
	for vid, shown := range map[string]bool{node.DemoChief: true, node.DemoOperator: false} {
		dash := signIn(t, s, vid).do("GET", "/", nil).Body.String()
		if strings.Contains(dash, want) != shown {
			t.Errorf("%s's dashboard shows the overdue directive: %v, want %v", vid, !shown, shown)
		}
	}
}

// TestDashboardOverdueAuditActions: the demo audit's corrective action past
// its due day is on the dashboard of those who see the audits and of its
// owner, not on a clerk's.
func TestDashboardOverdueAuditActions(t *testing.T) {
	s, _ := demoServer(t)
	overdue, err := sysaudit.Overdue(context.Background(), s.node.DB, s.node.Now())
	if err != nil || len(overdue) == 0 {
		t.Fatalf("the demo has no overdue corrective action: %v", err)
	}
	a := overdue[0]
	want := fmt.Sprintf(`href="/audits/%d"`, a.Plan)
	for vid, shown := range map[string]bool{node.DemoChief: true, a.Owner: true, node.DemoOperator: false} {
		dash := signIn(t, s, vid).do("GET", "/", nil).Body.String()
		if strings.Contains(dash, `data-testid="overdue-audit-actions"`) != shown || (shown && !strings.Contains(dash, want)) {
			t.Errorf("%s's dashboard shows the overdue corrective action: %v", vid, !shown)
		}
	}
}

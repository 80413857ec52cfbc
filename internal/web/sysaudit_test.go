package web

import (
	"context"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/sysaudit"
)

// TestSystemAuditScreen walks a system audit through its screens (/audits,
// not the audit log's /audit): the demo's audit shows its overdue
// corrective action; the chief plans an audit naming the demo's auditor
// (bad input refused in Japanese in the form, nothing stored); only the
// auditor generates the checklist, whose evidence and log entry show; a
// finding and a corrective action; its owner follows it up but may not
// close it, the auditor does; the report downloads as PDF and CSV, which
// the log records. A clerk does not see the screens; English on the switch.
func TestSystemAuditScreen(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	chief, auditor, so, clerk := signIn(t, s, node.DemoChief), signIn(t, s, node.DemoAuditor), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoOperator)
	if rec := clerk.do("GET", "/audits", nil); rec.Code != 403 {
		t.Errorf("a clerk opens the audits: %d", rec.Code)
	}
	page := chief.do("GET", "/audits", nil).Body.String()
	for _, want := range []string{`data-testid="audit-1"`, `data-testid="overdue-actions"`, `data-testid="overdue-1"`, "日超過", `data-testid="plan-audit"`, `href="/audits" aria-current="page"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the chief's audits screen lacks %s", want)
		}
	}
	if page := so.do("GET", "/audits", nil).Body.String(); strings.Contains(page, `data-testid="plan-audit"`) || !strings.Contains(page, "監査の計画：") {
		t.Errorf("the officer is offered the plan form, or not told who plans")
	}
	today := jptext.Midnight(s.node.Now())
	form := url.Values{"kind": {"periodic"}, "title": {"第3四半期の定期監査"}, "from": {jptext.FormatWareki(today.AddDate(0, -3, 0))},
		"to": {today.AddDate(0, 0, -1).Format("2006-01-02")}, "scope": {"住基ネットの運用全般"}, "articles": {"koto-ward:10, koto-ward:12.1"}, "auditor": {node.DemoAuditor}}
	before, err := sysaudit.List(ctx, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	for field, bad := range map[string]string{"to": today.AddDate(0, 0, 1).Format("2006-01-02"), "from": "きのう", "scope": "", "articles": "koto-ward:99", "auditor": node.DemoOperator} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(field, bad)
		rec := chief.do("POST", "/audits", f)
		body := rec.Body.String()
		if rec.Code != 400 || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, `aria-describedby="error-plan"`) || !strings.Contains(body, `value="第3四半期の定期監査"`) {
			t.Errorf("bad %s %q: %d\n%s", field, bad, rec.Code, body)
		}
	}
	if after, err := sysaudit.List(ctx, s.node.DB); err != nil || len(after) != len(before) {
		t.Errorf("bad plans stored: %d, then %d (%v)", len(before), len(after), err)
	}
	rec := chief.do("POST", "/audits", form)
	if rec.Code != 303 {
		t.Fatalf("plan: %d %s", rec.Code, rec.Body.String())
	}
	path := rec.Header().Get("Location")
	if rec := so.do("POST", path+"/checklist", url.Values{}); rec.Code != 403 {
		t.Errorf("the officer generating the checklist: %d", rec.Code)
	}
	if rec := auditor.do("POST", path+"/checklist", url.Values{}); rec.Code != 303 {
		t.Fatalf("generate: %d %s", rec.Code, rec.Body.String())
	}
	p, err := sysaudit.Get(ctx, s.node.DB, 2)
	if err != nil || len(p.Checks) == 0 || p.Articles[0] != "koto-ward:10" {
		t.Fatalf("generated audit: %v %+v", err, p)
	}
	page = auditor.do("GET", path, nil).Body.String()
	for _, want := range []string{`data-testid="checklist"`, `data-testid="attention-1"`, "研修切れ=1", node.DemoUntrained, "監査ログ 第", `data-testid="assess-1"`, `data-testid="record-finding"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the auditor's audit screen lacks %s", want)
		}
	}
	check := p.Checks[0]
	if rec := auditor.do("POST", path+"/findings", url.Values{"check": {itoa(check.ID)}, "severity": {"medium"}, "description": {""}, "root_cause": {"手順がない"}}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), `id="error-finding"`) || !strings.Contains(rec.Body.String(), "手順がない") {
		t.Errorf("a finding without description: %d", rec.Code)
	}
	if rec := auditor.do("POST", path+"/findings", url.Values{"check": {itoa(check.ID)}, "severity": {"medium"}, "description": {"研修切れの取扱者がいる"}, "root_cause": {"期限管理の手順がない"}}); rec.Code != 303 {
		t.Fatalf("finding: %d %s", rec.Code, rec.Body.String())
	}
	p, _ = sysaudit.Get(ctx, s.node.DB, 2)
	fid := itoa(p.Findings[0].ID)
	if rec := auditor.do("POST", path+"/actions", url.Values{"finding": {fid}, "action": {"受講させる"}, "owner": {node.DemoOfficer}, "due": {"R8.13.1"}}); rec.Code != 400 ||
		!strings.Contains(rec.Body.String(), `id="error-action-`+fid+`"`) {
		t.Errorf("an action with a bad due day: %d", rec.Code)
	}
	if rec := auditor.do("POST", path+"/actions", url.Values{"finding": {fid}, "action": {"受講させる"}, "owner": {node.DemoOfficer}, "due": {today.AddDate(0, 1, 0).Format("2006-01-02")}}); rec.Code != 303 {
		t.Fatalf("action: %d %s", rec.Code, rec.Body.String())
	}
	p, _ = sysaudit.Get(ctx, s.node.DB, 2)
	aid := itoa(p.Findings[0].Actions[0].ID)
	if page := so.do("GET", path, nil).Body.String(); !strings.Contains(page, `data-testid="follow-up-`+aid+`"`) || strings.Contains(page, `data-testid="close-`+aid+`"`) {
		t.Errorf("the owner is not offered the follow-up, or is offered the closing")
	}
	if rec := so.do("POST", path+"/follow-up", url.Values{"action": {aid}, "follow_up": {"日程を案内した"}}); rec.Code != 303 {
		t.Errorf("follow-up: %d %s", rec.Code, rec.Body.String())
	}
	if rec := so.do("POST", path+"/close", url.Values{"action": {aid}, "evidence": {"自分で完了"}}); rec.Code != 403 || !strings.Contains(rec.Body.String(), "第9条") {
		t.Errorf("the owner closing: %d %s", rec.Code, rec.Body.String())
	}
	if rec := auditor.do("POST", path+"/close", url.Values{"action": {aid}, "evidence": {""}}); rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="error-close-`+aid+`"`) {
		t.Errorf("closing without evidence: %d", rec.Code)
	}
	if rec := auditor.do("POST", path+"/close", url.Values{"action": {aid}, "evidence": {"受講記録を確認"}}); rec.Code != 303 {
		t.Errorf("close: %d %s", rec.Code, rec.Body.String())
	}
	if page := chief.do("GET", path, nil).Body.String(); !strings.Contains(page, "受講記録を確認") || !strings.Contains(page, "日程を案内した") {
		t.Errorf("the closing and the follow-up are not shown")
	}
	// The report, as PDF and CSV; each issue logged.
	if rec := chief.do("GET", path+"/report?format=pdf", nil); rec.Code != 405 {
		t.Errorf("the report by GET: %d", rec.Code)
	}
	rec = chief.do("POST", path+"/report", url.Values{"format": {"pdf"}})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("report PDF: %d %s", rec.Code, rec.Header())
	}
	if text := reporttest.Text(t, rec.Body.Bytes()); !strings.Contains(text, "システム監査報告書") || !strings.Contains(text, "研修切れの取扱者がいる") || !strings.Contains(text, "江東区") {
		t.Errorf("report PDF text:\n%s", text)
	}
	rec = so.do("POST", path+"/report", url.Values{"format": {"csv"}})
	if rec.Code != 200 || !strings.HasPrefix(rec.Body.String(), "\ufeff区分,番号") || !strings.Contains(rec.Body.String(), "是正措置,") {
		t.Errorf("report CSV: %d\n%s", rec.Code, rec.Body.String())
	}
	if rec := clerk.do("POST", path+"/report", url.Values{}); rec.Code != 403 {
		t.Errorf("a clerk downloading the report: %d", rec.Code)
	}
	entries, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{Action: "sysaudit.report", After: -1})
	entries = slices.DeleteFunc(entries, func(l auditlog.Listed) bool { return l.Entry.Origin == "host:demo-seed" }) // the demo's forms
	if err != nil || len(entries) != 3 || entries[0].Actor != "operator:"+node.DemoChief || entries[2].Entry.Decision != auditlog.Deny {
		t.Errorf("report issues logged: %v %+v", err, entries)
	}
	// English on the switch.
	if page := chief.do("GET", "/audits?lang=en", nil).Body.String(); !strings.Contains(page, "System audits") || !strings.Contains(page, "Overdue corrective actions") {
		t.Errorf("the English audits screen:\n%s", page)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/approval"
	"jukinet/internal/clocktest"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/synth"
)

// formsOf is the register's forms of kind, newest first.
func formsOf(t *testing.T, s *Server, kind form.Kind) []form.Form {
	t.Helper()
	all, err := form.List(context.Background(), s.node.DB, form.Filter{Kind: kind})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// TestFormsScreen (koto-ward:14): the system administrator sees the
// register with the demo's forms, the overdue one flagged there and on the
// dashboard, filters it, records steps on a form's page (bad input shown
// again in the form with aria, nothing stored; a disposal with its
// witness); approves a program change with a note (none: refused in the
// form), which the security officer may not; a clerk does not see the
// screen; English on the switch.
func TestFormsScreen(t *testing.T) { onBothDatabases(t, testFormsScreen) }

func testFormsScreen(t *testing.T, s *Server, clock *clocktest.Clock) {
	ctx := context.Background()
	admin, so, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoOperator)
	if rec := clerk.do("GET", "/forms", nil); rec.Code != 403 {
		t.Errorf("a clerk opens the forms register: %d", rec.Code)
	}
	over, err := form.Overdue(ctx, s.node.DB, s.node.Now())
	if err != nil || len(over) != 1 {
		t.Fatalf("the demo's overdue form: %v %v", over, err)
	}
	no := over[0].Number.String()
	page := admin.do("GET", "/forms", nil).Body.String()
	for _, want := range []string{`href="/forms" aria-current="page"`, `data-testid="forms"`, `data-testid="forms-overdue-count"`, `data-testid="form-` + no + `"`,
		"日超過", `data-testid="program-changes"`, "承認済", "廃棄済", "保管中"} {
		if !strings.Contains(page, want) {
			t.Errorf("the forms register lacks %s", want)
		}
	}
	if dash := admin.do("GET", "/", nil).Body.String(); !strings.Contains(dash, `data-testid="overdue-forms"`) || !strings.Contains(dash, no) {
		t.Errorf("the dashboard does not flag the overdue form %s", no)
	}
	if page := admin.do("GET", "/forms?overdue=1", nil).Body.String(); strings.Count(page, `<tr data-testid="form-`) != 1 {
		t.Errorf("the overdue filter lists %d forms", strings.Count(page, `<tr data-testid="form-`))
	}
	if page := admin.do("GET", "/forms?state=disposed&kind=sysaudit-report", nil).Body.String(); strings.Count(page, `<tr data-testid="form-`) != 1 || !strings.Contains(page, "廃棄済") {
		t.Errorf("the disposed filter:\n%s", page)
	}
	path := "/forms/" + no
	if page := admin.do("GET", path, nil).Body.String(); !strings.Contains(page, `data-testid="form-overdue"`) || !strings.Contains(page, `data-testid="form-step"`) || !strings.Contains(page, `data-testid="form-dispose"`) {
		t.Errorf("the overdue form's page:\n%s", page)
	}
	if page := so.do("GET", path, nil).Body.String(); strings.Contains(page, `data-testid="form-step"`) || !strings.Contains(page, "帳票の保管・持出・返却・交付の記録：") {
		t.Errorf("the officer is offered the steps, or not told who records them")
	}
	today := jptext.Midnight(s.node.Now())
	for field, bad := range map[string]string{"day": "あした", "place": ""} {
		f := url.Values{"step": {"store"}, "day": {today.Format(time.DateOnly)}, "place": {"保管庫A"}, "note": {"書庫から回収"}}
		f.Set(field, bad)
		rec := admin.do("POST", path+"/steps", f)
		body := rec.Body.String()
		if rec.Code != 400 || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, `aria-describedby="error-step"`) || !strings.Contains(body, `value="書庫から回収"`) {
			t.Errorf("bad %s: %d\n%s", field, rec.Code, body)
		}
	}
	if f, _ := form.Get(ctx, s.node.DB, over[0].Number); len(f.Steps) != 0 {
		t.Fatalf("bad input stored steps: %+v", f.Steps)
	}
	if rec := so.do("POST", path+"/steps", url.Values{"step": {"store"}, "day": {today.Format(time.DateOnly)}, "place": {"保管庫A"}}); rec.Code != 403 {
		t.Errorf("the officer records a step: %d", rec.Code)
	}
	if rec := admin.do("POST", path+"/steps", url.Values{"step": {"store"}, "day": {jptext.FormatWareki(today)}, "place": {"保管庫A"}}); rec.Code != 303 {
		t.Fatalf("store: %d %s", rec.Code, rec.Body.String())
	}
	rec := admin.do("POST", path+"/steps", url.Values{"step": {"dispose"}, "day": {today.Format(time.DateOnly)}, "method": {"shred"}, "done_by": {"見本 管理"}, "witness": {""}})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `aria-describedby="error-dispose"`) || !strings.Contains(rec.Body.String(), "立会者") {
		t.Errorf("a disposal without witness: %d", rec.Code)
	}
	if rec := admin.do("POST", path+"/steps", url.Values{"step": {"dispose"}, "day": {today.Format(time.DateOnly)}, "method": {"shred"}, "done_by": {"見本 管理"}, "witness": {node.DemoChief}}); rec.Code != 303 {
		t.Fatalf("dispose: %d %s", rec.Code, rec.Body.String())
	}
	page = admin.do("GET", path, nil).Body.String()
	for _, want := range []string{`data-testid="step-store"`, `data-testid="step-dispose"`, "裁断（シュレッダー）", node.DemoChief, "廃棄済"} {
		if !strings.Contains(page, want) {
			t.Errorf("the disposed form's page lacks %s", want)
		}
	}
	if dash := admin.do("GET", "/", nil).Body.String(); strings.Contains(dash, `data-testid="overdue-forms"`) {
		t.Errorf("the dashboard still flags a disposed form")
	}

	// A program change: flagged, approved by the system administrator only.
	cur := s.node.Program
	cur.ProfileDigest = strings.Repeat("cd", 32)
	ch, err := s.node.Forms.CheckProgram(ctx, cur)
	if err != nil || ch == nil {
		t.Fatalf("a program change: %v %v", ch, err)
	}
	if dash := admin.do("GET", "/", nil).Body.String(); !strings.Contains(dash, `data-testid="unapproved-program-changes"`) {
		t.Errorf("the dashboard does not flag the program change")
	}
	approve := "/forms/program-changes/" + itoa(ch.ID) + "/approve"
	if rec := so.do("POST", approve, url.Values{"note": {"確認"}}); rec.Code != 403 {
		t.Errorf("the officer approves: %d", rec.Code)
	}
	rec = admin.do("POST", approve, url.Values{"note": {" "}})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `aria-describedby="error-approve-`+itoa(ch.ID)+`"`) {
		t.Errorf("approval without a note: %d %s", rec.Code, rec.Body.String())
	}
	if rec := admin.do("POST", approve, url.Values{"note": {"ポリシーの改正を確認"}}); rec.Code != 303 {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body.String())
	}
	if un, _ := form.Unapproved(ctx, s.node.DB); len(un) != 0 {
		t.Errorf("still unapproved: %+v", un)
	}
	if page := admin.do("GET", "/forms?lang=en", nil).Body.String(); !strings.Contains(page, "Forms register") || !strings.Contains(page, "Program changes") {
		t.Errorf("the English register")
	}
}

// TestExportsAreForms (koto-ward:14): every export of the screens is a form
// of the register, issued with the export's own audit entry: the audit
// log's CSV (its number in the file name, the CSV one table from its first
// line) and PDF (the number printed on it), a usage status report (the
// number in its heading block) and the system audit report as PDF, each
// with how many residents it concerns; a refused export takes no number
// and its refusal is logged.
func TestExportsAreForms(t *testing.T) { onBothDatabases(t, testExportsAreForms) }

func testExportsAreForms(t *testing.T, s *Server, _ *clocktest.Clock) {
	ctx := context.Background()
	g, _ := synth.New(synth.Options{Seed: 7, LocalGov: "131083"})
	importOne(t, s.node, g.Next()) // an entry about one resident
	admin, chief, so, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoChief), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoOperator)
	before := len(formsOf(t, s, ""))
	if rec := clerk.do("POST", "/audit/export", url.Values{"format": {"pdf"}}); rec.Code != 403 {
		t.Errorf("a clerk exports the audit log: %d", rec.Code)
	}
	if n := len(formsOf(t, s, "")); n != before {
		t.Errorf("a refused export made %d forms", n-before)
	}
	if e := newestEntry(t, s, "audit.export"); e.Decision != "deny" {
		t.Errorf("the refusal is logged as %s", e.Decision)
	}
	rec := admin.do("POST", "/audit/export", url.Values{"format": {"csv-utf8"}, "destination": {"監査委員事務局 監査 一郎"}})
	if rec.Code != 200 {
		t.Fatalf("csv: %d %s", rec.Code, rec.Body.String())
	}
	csvForm := formsOf(t, s, form.KindAuditLog)[0]
	if cd := rec.Header().Get("Content-Disposition"); !strings.Contains(cd, "-"+csvForm.Number.String()+".csv") {
		t.Errorf("the CSV's file name %q lacks its number %s", cd, csvForm.Number)
	}
	if !strings.HasPrefix(rec.Body.String(), "\ufeff番号,") || csvForm.Digest != form.Digest(rec.Body.Bytes()) || csvForm.Destination != "監査委員事務局 監査 一郎" {
		t.Errorf("the CSV form: %+v", csvForm)
	}
	e := newestEntry(t, s, "audit.export")
	if e.Seq != csvForm.IssuedSeq || !strings.Contains(e.Detail, "form "+csvForm.Number.String()) {
		t.Errorf("the export's entry %d %q; the form was issued with entry %d", e.Seq, e.Detail, csvForm.IssuedSeq)
	}
	if csvForm.Residents != 1 {
		t.Errorf("the audit log's export concerns %d residents", csvForm.Residents)
	}
	rec = admin.do("POST", "/audit/export", url.Values{"format": {"pdf"}})
	pdfForm := formsOf(t, s, form.KindAuditLog)[0]
	if rec.Code != 200 || pdfForm.Number == csvForm.Number || pdfForm.Format != "pdf" {
		t.Fatalf("pdf: %d %+v", rec.Code, pdfForm)
	}
	if text := reporttest.Text(t, rec.Body.Bytes()); strings.Count(text, pdfForm.Number.String()) < 2 {
		t.Errorf("the PDF does not carry its number %s in its header and footer:\n%s", pdfForm.Number, text)
	}

	// The usage status report of the demo's approval.
	all, err := approval.List(ctx, s.node.DB)
	if err != nil || len(all) == 0 {
		t.Fatalf("approvals: %v", err)
	}
	day := jptext.Midnight(s.node.Now()).Format(time.DateOnly)
	rec = so.do("POST", "/approvals/status", url.Values{"approval": {itoa(all[0].ID)}, "from": {day}, "to": {day}, "format": {"csv"}})
	st := formsOf(t, s, form.KindUsageStatus)[0]
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "帳票管理番号,"+st.Number.String()) || !strings.Contains(rec.Header().Get("Content-Disposition"), st.Number.String()) {
		t.Errorf("the status report: %d %q\n%s", rec.Code, rec.Header().Get("Content-Disposition"), rec.Body.String())
	}
	if st.IssuedBy != "operator:"+node.DemoOfficer || st.Digest != form.Digest(rec.Body.Bytes()) {
		t.Errorf("the status report's form: %+v", st)
	}

	// The system audit report.
	rec = chief.do("POST", "/audits/1/report", url.Values{"format": {"pdf"}, "destination": {"セキュリティ会議"}})
	rep := formsOf(t, s, form.KindSysauditReport)[0]
	if rec.Code != 200 || rep.Destination != "セキュリティ会議" || !strings.Contains(reporttest.Text(t, rec.Body.Bytes()), rep.Number.String()) {
		t.Errorf("the audit report: %d %+v", rec.Code, rep)
	}
	if e := newestEntry(t, s, "sysaudit.report"); e.Seq != rep.IssuedSeq {
		t.Errorf("the report's entry %d; the form's %d", e.Seq, rep.IssuedSeq)
	}
}

// TestAPIForms: the register and the program changes are read by those the
// policies let see them and refused to a clerk; a step recorded through
// the API needs the re-check and is decided and logged as on the screen.
func TestAPIForms(t *testing.T) { onBothDatabases(t, testAPIForms) }

func testAPIForms(t *testing.T, s *Server, _ *clocktest.Clock) {
	admin, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	rec, v := clerk.call("GET", "/api/v1/forms", "", "")
	wantProblem(t, "the clerk reads the forms", rec, v, 403, "forbidden", "閲覧する権限がありません")
	rec, v = admin.call("GET", "/api/v1/forms?overdue=true", "", "")
	if rec.Code != 200 {
		t.Fatalf("forms: %d %v", rec.Code, v)
	}
	list := v["forms"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["overdue"] != true || list[0].(map[string]any)["kind"] != "existing" {
		t.Fatalf("overdue forms: %v", list)
	}
	no := list[0].(map[string]any)["number"].(string)
	rec, v = admin.call("GET", "/api/v1/forms?state=lost", "", "")
	wantProblem(t, "an unknown state", rec, v, 400, "invalid", "状態")
	today := jptext.Midnight(s.node.Now()).Format(time.DateOnly)
	rec, v = admin.call("POST", "/api/v1/forms/"+no+"/steps", "", `{"step":"take-out","date":"`+today+`","place":"区民課","until":"2001-01-01"}`)
	wantProblem(t, "a take-out due back before it starts", rec, v, 400, "invalid", "返却予定日")
	rec, v = clerk.call("POST", "/api/v1/forms/"+no+"/steps", "", `{"step":"store","date":"`+today+`","place":"保管庫A"}`)
	if rec.Code != 403 {
		t.Errorf("the clerk records a step: %d %v", rec.Code, v)
	}
	rec, v = admin.call("POST", "/api/v1/forms/"+no+"/steps", "", `{"step":"store","date":"`+today+`","place":"保管庫A"}`)
	if rec.Code != 201 || v["state"] != "stored" || len(v["steps"].([]any)) != 1 {
		t.Fatalf("store: %d %v", rec.Code, v)
	}
	if e := newestEntry(t, s, "form.store"); e.Decision != "allow" || !strings.Contains(e.Query, no) {
		t.Errorf("the step's entry: %+v", e)
	}
	rec, v = admin.call("GET", "/api/v1/program-changes", "", "")
	if rec.Code != 200 || len(v["program_changes"].([]any)) != 2 {
		t.Fatalf("program changes: %d %v", rec.Code, v)
	}
	if c := v["program_changes"].([]any)[0].(map[string]any); c["approved"] != true || c["previous_version"] != node.DemoPreviousVersion {
		t.Errorf("the demo's program change: %v", c)
	}
	rec, v = admin.call("POST", "/api/v1/program-changes/1/approval", "", `{"note":"x"}`)
	wantProblem(t, "approving the baseline", rec, v, 409, "conflict", "承認済み")
}

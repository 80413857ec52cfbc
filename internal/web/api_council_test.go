package web

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/council"
	"jukinet/internal/node"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/sysaudit"
)

// TestAPICouncilAndAudits: the security council's record (koto-ward:5, 6)
// and the system audits (koto-ward:9) through the JSON API, on the demo's
// meeting and audit. Those the policies let see the record read it (an
// operator is refused); the department's head acknowledges a directive and
// reports it complete, records a follow-up on the corrective action he
// owns and may not close it himself (separation of duty); the auditor
// closes it. Each change is the register's audit entry; bad input is
// refused in Japanese and changes nothing.
func TestAPICouncilAndAudits(t *testing.T) {
	onBothDatabases(t, testAPICouncilAndAudits)
}

func testAPICouncilAndAudits(t *testing.T, s *Server, clock *clocktest.Clock) {
	ctx := t.Context()
	operator, officer, auditor := signIn(t, s, node.DemoOperator), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoAuditor)

	for _, path := range []string{"/api/v1/council/meetings", "/api/v1/council/directives", "/api/v1/audits"} {
		rec, v := operator.call("GET", path, "", "")
		wantProblem(t, "an operator reading "+path, rec, v, 403, "forbidden", "権限がありません")
	}

	// The demo's meeting: six present, the quorum met, one decision and
	// two directives to 区民課, the minutes approved.
	rec, v := officer.call("GET", "/api/v1/council/meetings", "", "")
	if rec.Code != 200 {
		t.Fatalf("meetings: %d %v", rec.Code, v)
	}
	ms, _ := v["meetings"].([]any)
	if len(ms) != 1 {
		t.Fatalf("meetings: %v, want the demo's one", v)
	}
	m := ms[0].(map[string]any)
	if m["present"] != 6.0 || m["present"].(float64) < m["quorum"].(float64) || len(m["decisions"].([]any)) != 1 ||
		len(m["directives"].([]any)) != 2 || m["minutes_approved"] == nil || m["kind_ja"] != "定例会議" {
		t.Errorf("the demo's meeting: %v", m)
	}
	rec, v = officer.call("GET", fmt.Sprintf("/api/v1/council/meetings/%v", m["id"]), "", "")
	if rec.Code != 200 || v["id"] != m["id"] || len(v["agenda"].([]any)) != 2 {
		t.Errorf("one meeting: %d %v", rec.Code, v)
	}
	rec, v = officer.call("GET", "/api/v1/council/meetings/999", "", "")
	wantProblem(t, "a meeting not recorded", rec, v, 404, "not_found", "第999回")
	rec, v = officer.call("GET", "/api/v1/council/meetings/x", "", "")
	wantProblem(t, "a meeting by a bad number", rec, v, 400, "invalid", "数値")

	// The overdue directive, by the filter; its completion reported.
	rec, v = officer.call("GET", "/api/v1/council/directives?overdue=1", "", "")
	ds, _ := v["directives"].([]any)
	if rec.Code != 200 || len(ds) != 1 {
		t.Fatalf("overdue directives: %d %v, want the demo's one", rec.Code, v)
	}
	late := ds[0].(map[string]any)
	dept, _ := late["department"].(string)
	if _, v := officer.call("GET", "/api/v1/council/directives?department="+dept, "", ""); len(v["directives"].([]any)) != 2 {
		t.Errorf("the directives to %s: %v, want the demo's two", dept, v)
	}
	if _, v := officer.call("GET", "/api/v1/council/directives?department=nowhere", "", ""); len(v["directives"].([]any)) != 0 {
		t.Errorf("the directives to no department: %v", v)
	}
	if late["overdue"] != true || late["acknowledged_at"] == "" || late["completed_at"] != nil {
		t.Errorf("the overdue directive: %v", late)
	}
	path := fmt.Sprintf("/api/v1/council/directives/%v/completion", late["id"])
	rec, v = officer.call("POST", path, "", `{"note":"  "}`)
	wantProblem(t, "a completion without a note", rec, v, 400, "invalid", "完了の報告")
	rec, v = officer.call("POST", path, "", `{"remark":"点検した"}`)
	wantProblem(t, "a completion with an unknown field", rec, v, 400, "invalid", "形式が正しくありません")
	rec, v = operator.call("POST", path, "", `{"note":"点検した"}`)
	wantProblem(t, "a completion by an operator", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "council.complete", node.DemoOperator, auditlog.Deny)
	rec, v = officer.call("POST", path, "", `{"note":"異動者2名の指定の終了を確認した"}`)
	if rec.Code != 200 || v["overdue"] != false || v["note"] != "異動者2名の指定の終了を確認した" || v["completed_by"] != "operator:"+node.DemoOfficer {
		t.Errorf("the completion: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "council.complete", node.DemoOfficer, auditlog.Allow)
	rec, v = officer.call("POST", path, "", `{"note":"もう一度"}`)
	wantProblem(t, "a second completion", rec, v, 409, "conflict", "完了の報告済み")
	rec, v = officer.call("POST", fmt.Sprintf("/api/v1/council/directives/%v/acknowledgement", late["id"]), "", "")
	wantProblem(t, "a second acknowledgement", rec, v, 409, "conflict", "受領済み")

	// A directive acknowledged through the API, issued after a decision.
	d, err := council.Directives(ctx, s.node.DB)
	if err != nil || len(d) == 0 {
		t.Fatal(err)
	}
	id, err := s.node.Council.Issue(ctx, chiefWho(), council.Directive{Decision: d[0].Decision, Kind: council.KindDirective,
		Department: dept, Text: "端末の画面の向きを点検すること", Due: s.node.Now().AddDate(0, 0, 30)})
	if err != nil {
		t.Fatal(err)
	}
	rec, v = officer.call("POST", fmt.Sprintf("/api/v1/council/directives/%d/acknowledgement", id), "", "")
	if rec.Code != 200 || v["acknowledged_by"] != "operator:"+node.DemoOfficer || v["overdue"] != false {
		t.Errorf("the acknowledgement: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "council.acknowledge", node.DemoOfficer, auditlog.Allow)

	// The demo's audit: its checklist with evidence, a finding, an overdue
	// corrective action owned by the security officer.
	rec, v = officer.call("GET", "/api/v1/audits", "", "")
	as, _ := v["audits"].([]any)
	if rec.Code != 200 || len(as) != 1 {
		t.Fatalf("audits: %d %v", rec.Code, v)
	}
	a := as[0].(map[string]any)
	rec, v = auditor.call("GET", fmt.Sprintf("/api/v1/audits/%v", a["id"]), "", "")
	checks, _ := v["checklist"].([]any)
	fs, _ := v["findings"].([]any)
	if rec.Code != 200 || len(checks) < 40 || len(fs) != 1 || v["state"] != string(sysaudit.InProgress) {
		t.Fatalf("the demo's audit: %d, %d checks, %d findings, %v", rec.Code, len(checks), len(fs), v["state"])
	}
	training := false
	for _, c := range checks {
		c := c.(map[string]any)
		if c["feature"] == "training" && c["evidence"] != "" {
			figs, _ := c["figures"].(map[string]any)
			training = len(figs) > 0
		}
	}
	if !training {
		t.Errorf("the checklist has no training check with its figures: %v", checks)
	}
	actions := fs[0].(map[string]any)["corrective_actions"].([]any)
	action := actions[0].(map[string]any)
	if action["owner"] != node.DemoOfficer || action["overdue"] != true || len(action["follow_ups"].([]any)) != 1 {
		t.Errorf("the demo's corrective action: %v", action)
	}
	base := fmt.Sprintf("/api/v1/audit-actions/%v", action["id"])
	rec, v = officer.call("POST", base+"/follow-ups", "", `{"note":"対象者が研修を受講した"}`)
	if rec.Code != 200 || len(v["follow_ups"].([]any)) != 2 {
		t.Errorf("the follow-up: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "sysaudit.follow-up", node.DemoOfficer, auditlog.Allow)
	rec, v = officer.call("POST", base+"/closure", "", `{"evidence":"受講記録 第12号"}`)
	wantProblem(t, "the owner closing his own action", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "sysaudit.close", node.DemoOfficer, auditlog.Deny)
	rec, v = auditor.call("POST", base+"/closure", "", `{}`)
	wantProblem(t, "a closure without evidence", rec, v, 400, "invalid", "完了の証跡")
	rec, v = auditor.call("POST", base+"/closure", "", `{"evidence":"受講記録 第12号"}`)
	if rec.Code != 200 || v["closed"] != true || v["overdue"] != false || v["evidence"] != "受講記録 第12号" {
		t.Errorf("the closure: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "sysaudit.close", node.DemoAuditor, auditlog.Allow)
	rec, v = auditor.call("POST", "/api/v1/audit-actions/999/follow-ups", "", `{"note":"x"}`)
	wantProblem(t, "an action not recorded", rec, v, 404, "not_found", "是正措置 999")
}

// TestAPIDisclosures: a counter system records a disclosure request, the
// head's system decides it, the issue answers the resident's proof, which
// checks with the node's key; bad input and the wrong role are refused in
// Japanese, each change logged as an entry concerning the resident.
func TestAPIDisclosures(t *testing.T) {
	onBothDatabases(t, testAPIDisclosures)
}

func testAPIDisclosures(t *testing.T, s *Server, clock *clocktest.Clock) {
	clerk, so, contractor := signIn(t, s, node.DemoOperator), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoContractor)
	rec, v := contractor.call("GET", "/api/v1/disclosures", "", "")
	wantProblem(t, "a contractor reading the requests", rec, v, 403, "forbidden", "権限がありません")
	code := "10000000006" // a valid 住民票コード no entry concerns yet
	rec, v = clerk.call("POST", "/api/v1/disclosures", "", `{"resident":"10000000002","requester":"self","id_check":"passport","items":["accesses"]}`)
	wantProblem(t, "a wrong check digit", rec, v, 400, "invalid", "住民票コード")
	rec, v = clerk.call("POST", "/api/v1/disclosures", "", `{"resident":"`+code+`","requester":"self","id_check":"passport","items":["accesses"],"received":"R8.12.1"}`)
	wantProblem(t, "a Japanese-era day", rec, v, 400, "invalid", "2026-12-01 の形で")
	rec, v = clerk.call("POST", "/api/v1/disclosures", "", `{"resident":"`+code+`","requester":"self","id_check":"passport","items":["accesses","provisions"]}`)
	if rec.Code != 201 || v["state"] != "received" || v["overdue"] != false || len(v["items"].([]any)) != 2 {
		t.Fatalf("receive: %d %v", rec.Code, v)
	}
	path := fmt.Sprintf("/api/v1/disclosures/%v", v["id"])
	wantEntry(t, s, "disclosure.receive", node.DemoOperator, auditlog.Allow)
	rec, v = clerk.call("POST", path+"/decision", "", `{"decision":"disclose"}`)
	wantProblem(t, "the clerk deciding", rec, v, 403, "forbidden", "")
	rec, v = so.call("POST", path+"/decision", "", `{"decision":"refuse"}`)
	wantProblem(t, "a refusal without its reason", rec, v, 400, "invalid", "理由が必要")
	rec, v = so.call("POST", path+"/decision", "", `{"decision":"disclose"}`)
	if rec.Code != 200 || v["state"] != "decided" || v["decided_by"] != "operator:"+node.DemoOfficer {
		t.Fatalf("decide: %d %v", rec.Code, v)
	}
	req := httptest.NewRequest("POST", path+"/issue", strings.NewReader(`{"delivery":"郵送"}`))
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = clerk.remote
	req.AddCookie(clerk.cookie)
	out := httptest.NewRecorder()
	s.ServeHTTP(out, req)
	var issued struct {
		Request map[string]any  `json:"request"`
		Form    string          `json:"form"`
		Proof   json.RawMessage `json:"proof"`
		PDF     []byte          `json:"pdf"`
	}
	if err := json.Unmarshal(out.Body.Bytes(), &issued); err != nil || out.Code != 200 {
		t.Fatalf("issue: %d %v %s", out.Code, err, out.Body.String())
	}
	res, err := auditlog.CheckResidentProof(issued.Proof, s.node.Verifier)
	if err != nil || res.Resident != code || len(res.Entries) < 2 || issued.Request["state"] != "issued" || issued.Form == "" {
		t.Fatalf("issue: %v %+v %v", err, res, issued.Request)
	}
	if text := reporttest.Text(t, issued.PDF); !strings.Contains(text, issued.Form) {
		t.Errorf("the PDF lacks its form number %s", issued.Form)
	}
	wantEntry(t, s, "disclosure.issue", node.DemoOperator, auditlog.Allow)
	if rec, v := clerk.call("GET", "/api/v1/disclosures", "", ""); rec.Code != 200 || v["disclosures"].([]any)[0].(map[string]any)["state"] != "issued" {
		t.Errorf("the list after the issue: %d %v", rec.Code, v)
	}
}

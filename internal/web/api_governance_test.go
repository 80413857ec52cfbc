package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jukinet/internal/api/apitest"
	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
)

// onBothDatabases runs test on a demo node for 江東区 on SQLite and, when
// JUKINET_TEST_POSTGRES_URL is set, on PostgreSQL (skipped loudly
// otherwise): the registers' writes through the API on both.
func onBothDatabases(t *testing.T, test func(t *testing.T, s *Server, clock *clocktest.Clock)) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = dbtest.MigratedPostgresURL(t)
			}
			n, clock := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true, DatabaseURL: url})
			s, err := New(n, Options{Version: "test"})
			if err != nil {
				t.Fatal(err)
			}
			test(t, s, clock)
		})
	}
}

// call sends a JSON API request with b's session (contentType "" for a
// JSON body), returning the response and its body decoded; the request and
// the answer are checked against the OpenAPI document (apitest.Serve).
func (b *browser) call(method, path, contentType, body string) (*httptest.ResponseRecorder, map[string]any) {
	b.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		if contentType == "" {
			contentType = "application/json"
		}
		req.Header.Set("Content-Type", contentType)
	}
	req.RemoteAddr = b.remote
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	rec := apitest.Serve(b.t, b.s, req)
	var v map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
		b.t.Errorf("%s %s: the answer is not one JSON object: %v\n%s", method, path, err, rec.Body.String())
	}
	return rec, v
}

// wantProblem checks an API refusal: the status, a problem of the type,
// and a Japanese message holding ja.
func wantProblem(t *testing.T, what string, rec *httptest.ResponseRecorder, v map[string]any, status int, kind, ja string) {
	t.Helper()
	if rec.Code != status || v["type"] != "tag:jukinet,2026:problem:"+kind ||
		!strings.HasPrefix(rec.Header().Get("Content-Type"), "application/problem+json") {
		t.Errorf("%s: %d %v, want %d %s", what, rec.Code, v, status, kind)
		return
	}
	if got, _ := v["detail_ja"].(string); !strings.Contains(got, ja) {
		t.Errorf("%s: detail_ja %q lacks %q", what, got, ja)
	}
}

// newestEntry is the newest audit entry of the action, or fails.
func newestEntry(t *testing.T, s *Server, action string) *auditlog.Entry {
	t.Helper()
	list, err := auditlog.List(context.Background(), s.node.DB, auditlog.Filter{Action: action, After: -1, Newest: true, Limit: 1})
	if err != nil || len(list) == 0 || list[0].Entry == nil {
		t.Fatalf("no audit entry %s: %v", action, err)
	}
	return list[0].Entry
}

// wantEntry checks the newest entry of the action: by vid at the demo
// terminal, with the decision.
func wantEntry(t *testing.T, s *Server, action, vid, decision string) {
	t.Helper()
	e := newestEntry(t, s, action)
	if e.Actor.String() != "operator:"+vid || e.Origin != "terminal:"+node.DemoTerminal || e.Decision != decision {
		t.Errorf("audit entry %s: actor %s origin %s decision %s, want operator:%s at terminal:%s, %s", action, e.Actor, e.Origin, e.Decision, vid, node.DemoTerminal, decision)
	}
}

// countEntries counts the audit entries of the action.
func countEntries(t *testing.T, s *Server, action string) int {
	t.Helper()
	list, err := auditlog.List(context.Background(), s.node.DB, auditlog.Filter{Action: action, After: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(list)
}

// TestAPIApprovals walks the usage approval workflow (aomori-pref:7,
// koto-ward:12.1) through the JSON API, each call as a role the policies
// allow and as one they refuse: the security officer applies, the system
// administrator decides and asks for a status report, the officer submits
// it and ends the use; status counts are drawn (and logged). Each change is
// the register's audit entry, made as the signed-in operator at their
// terminal; bad input is refused in Japanese and stores nothing.
func TestAPIApprovals(t *testing.T) {
	onBothDatabases(t, testAPIApprovals)
}

func testAPIApprovals(t *testing.T, s *Server, _ *clocktest.Clock) {
	ctx := context.Background()
	so, admin, clerk := signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	dept := demoDept(s)

	rec, v := clerk.call("GET", "/api/v1/approvals", "", "")
	wantProblem(t, "clerk lists the approvals", rec, v, 403, "forbidden", "閲覧する権限がありません")
	rec, v = so.call("GET", "/api/v1/approvals", "", "")
	if rec.Code != 200 || len(v["approvals"].([]any)) == 0 {
		t.Fatalf("officer lists the approvals: %d %v", rec.Code, v)
	}
	first := v["approvals"].([]any)[0].(map[string]any)
	for _, k := range []string{"state", "state_ja", "in_force", "not_yet", "over", "start", "end", "terminals", "operators", "reports"} {
		if _, ok := first[k]; !ok {
			t.Errorf("an approval in the list lacks %q: %v", k, first)
		}
	}

	today := jptext.Midnight(s.node.Now())
	apply := func(affair, start, end string) string {
		return fmt.Sprintf(`{"department":%q,"affair":%q,"purpose":"個人住民税の賦課","reason":"住所の確認のため","start":%q,"end":%q,"terminals":[%q],"operators":[%q]}`,
			dept, affair, start, end, node.DemoTerminal, node.DemoOperator)
	}
	good := apply("tax-assessment", today.Format(time.DateOnly), today.AddDate(1, 0, -1).Format(time.DateOnly))
	before, err := approval.List(ctx, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, body, ja string }{
		{"malformed JSON", `{"department":`, "利用の申請の形式が正しくありません"},
		{"an unknown field", strings.Replace(good, `"purpose"`, `"state":"approved","purpose"`, 1), "利用の申請の形式が正しくありません"},
		{"a key twice", strings.Replace(good, `"purpose"`, `"affair":"juki","purpose"`, 1), "キー「affair」が2回"},
		{"data after the object", good + `{}`, "余分なデータ"},
		{"a Japanese-era day", apply("tax-assessment", "R8.12.1", "2027-11-30"), "利用の開始日「R8.12.1」を読み取れません。2026-12-01 の形"},
		{"no end", apply("tax-assessment", "2026-12-01", ""), "利用の終了日を 2026-12-01 の形で指定"},
		{"an end before today", apply("tax-assessment", "2026-01-01", today.AddDate(0, 0, -1).Format(time.DateOnly)), "今日より前"},
		{"an unknown affair", apply("cooking", today.Format(time.DateOnly), "2099-01-01"), "利用事務「cooking」はありません"},
	} {
		rec, v := so.call("POST", "/api/v1/approvals", "", c.body)
		wantProblem(t, c.what, rec, v, 400, "invalid", c.ja)
	}
	if after, _ := approval.List(ctx, s.node.DB); len(after) != len(before) {
		t.Fatalf("refused applications were stored: %d, then %d", len(before), len(after))
	}
	rec, v = clerk.call("POST", "/api/v1/approvals", "", good)
	wantProblem(t, "the clerk applies", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "approval.apply", node.DemoOperator, auditlog.Deny)

	rec, v = so.call("POST", "/api/v1/approvals", "", good)
	if rec.Code != 201 || v["state"] != "applied" || v["in_force"] != false || v["affair"] != "tax-assessment" || v["start"] != today.Format(time.DateOnly) {
		t.Fatalf("apply: %d %v", rec.Code, v)
	}
	id := fmt.Sprint(v["id"])
	if rec.Header().Get("Location") != "/api/v1/approvals/"+id {
		t.Errorf("apply: Location %q", rec.Header().Get("Location"))
	}
	if at, _ := v["applied_at"].(string); !strings.HasSuffix(at, "+09:00") {
		t.Errorf("applied_at %q is not RFC 3339 in Japan time", at)
	}
	wantEntry(t, s, "approval.apply", node.DemoOfficer, auditlog.Allow)

	for _, c := range []struct {
		path   string
		status int
		kind   string
	}{{"/api/v1/approvals/" + id, 200, ""}, {"/api/v1/approvals/x", 400, "invalid"}, {"/api/v1/approvals/99999", 404, "not_found"}} {
		rec, v := admin.call("GET", c.path, "", "")
		if rec.Code != c.status || (c.kind != "" && v["type"] != "tag:jukinet,2026:problem:"+c.kind) || (c.kind == "" && fmt.Sprint(v["id"]) != id) {
			t.Errorf("GET %s: %d %v", c.path, rec.Code, v)
		}
	}

	decide := "/api/v1/approvals/" + id + "/decision"
	rec, v = so.call("POST", decide, "", `{"approve":true,"reason":"自分で"}`)
	wantProblem(t, "the officer approves his own department's", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "approval.approve", node.DemoOfficer, auditlog.Deny)
	rec, v = admin.call("POST", decide, "", `{"reason":"確認済み"}`)
	wantProblem(t, "a decision without approve", rec, v, 400, "invalid", "承認（\"approve\": true）か不承認")
	rec, v = admin.call("POST", decide, "", `{"approve":"yes","reason":"確認済み"}`)
	wantProblem(t, "approve as a string", rec, v, 400, "invalid", "承認・不承認の形式が正しくありません")
	rec, v = admin.call("POST", decide, "", `{"approve":true,"reason":""}`)
	wantProblem(t, "a decision without a reason", rec, v, 400, "invalid", "承認・不承認の理由")
	rec, v = admin.call("POST", decide, "", `{"approve":true,"reason":"事務の内容と取扱者を確認"}`)
	if rec.Code != 200 || v["state"] != "approved" || v["in_force"] != true || v["decided_by"] != "operator:"+node.DemoAdmin {
		t.Fatalf("approve: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "approval.approve", node.DemoAdmin, auditlog.Allow)
	rec, v = admin.call("POST", decide, "", `{"approve":false,"reason":"二度目"}`)
	wantProblem(t, "a second decision", rec, v, 409, "conflict", "承認・不承認できません")

	// A status report asked for (a closed period, before today) and submitted.
	yesterday := today.AddDate(0, 0, -1).Format(time.DateOnly)
	ask := fmt.Sprintf(`{"from":%q,"to":%q,"due":%q}`, yesterday, yesterday, today.AddDate(0, 0, 14).Format(time.DateOnly))
	rec, v = so.call("POST", "/api/v1/approvals/"+id+"/report-requests", "", ask)
	wantProblem(t, "the officer asks for a report", rec, v, 403, "forbidden", "")
	rec, v = admin.call("POST", "/api/v1/approvals/"+id+"/report-requests", "", fmt.Sprintf(`{"from":%q,"to":%q,"due":%q}`, yesterday, today.Format(time.DateOnly), yesterday))
	wantProblem(t, "a report on today", rec, v, 400, "invalid", "昨日までの日")
	rec, v = admin.call("POST", "/api/v1/approvals/"+id+"/report-requests", "", ask)
	if rec.Code != 201 || v["submitted"] != false || v["from"] != yesterday {
		t.Fatalf("ask for a report: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "approval.request-report", node.DemoAdmin, auditlog.Allow)
	report := fmt.Sprint(v["id"])
	submit := "/api/v1/approval-reports/" + report + "/submission"
	rec, v = clerk.call("POST", submit, "", `{"note":"特記事項なし"}`)
	wantProblem(t, "the clerk submits", rec, v, 403, "forbidden", "")
	rec, v = so.call("POST", submit, "", `{"note":"`+strings.Repeat("あ", approval.FieldNote.Max+1)+`"}`)
	wantProblem(t, "a note too long", rec, v, 400, "invalid", "報告の所見")
	rec, v = so.call("POST", submit, "", `{"note":"特記事項なし"}`)
	if rec.Code != 200 || v["report"].(map[string]any)["submitted"] != true || len(v["report"].(map[string]any)["sha256"].(string)) != 64 ||
		v["status"].(map[string]any)["total"] == nil {
		t.Fatalf("submit: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "approval.submit-report", node.DemoOfficer, auditlog.Allow)
	rec, v = so.call("POST", submit, "", `{"note":"二度目"}`)
	wantProblem(t, "a second submission", rec, v, 409, "conflict", "提出済み")

	// The status, counted from the log now, and logged.
	status := "/api/v1/approvals/" + id + "/status?from=" + today.Format(time.DateOnly) + "&to=" + today.Format(time.DateOnly)
	rec, v = clerk.call("GET", status, "", "")
	wantProblem(t, "the clerk draws the status", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "approval.status", node.DemoOperator, auditlog.Deny)
	rec, v = admin.call("GET", "/api/v1/approvals/"+id+"/status?from=令和8年12月1日&to="+today.Format(time.DateOnly), "", "")
	wantProblem(t, "a status from a Japanese-era day", rec, v, 400, "invalid", "報告の対象期間の初日")
	rec, v = admin.call("GET", status, "", "")
	if rec.Code != 200 || fmt.Sprint(v["approval"]) != id || v["from"] != today.Format(time.DateOnly) || v["summary"] == "" {
		t.Fatalf("status: %d %v", rec.Code, v)
	}
	if total, ok := v["total"].(map[string]any); !ok || total["uses"] == nil || total["denied"] == nil {
		t.Errorf("status total: %v", v["total"])
	}
	wantEntry(t, s, "approval.status", node.DemoAdmin, auditlog.Allow)

	// The end, and the withdrawal of another application.
	end := "/api/v1/approvals/" + id + "/end"
	rec, v = clerk.call("POST", end, "", `{"reason":"事務の見直し"}`)
	wantProblem(t, "the clerk ends the use", rec, v, 403, "forbidden", "")
	rec, v = so.call("POST", end, "", `{"reason":"事務の見直し"}`)
	if rec.Code != 200 || v["state"] != "ended" || v["in_force"] != false || v["end_reason"] != "事務の見直し" {
		t.Fatalf("end: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "approval.end", node.DemoOfficer, auditlog.Allow)
	rec, v = so.call("POST", "/api/v1/approvals", "", apply("tax-assessment", today.AddDate(0, 1, 0).Format(time.DateOnly), today.AddDate(0, 2, 0).Format(time.DateOnly)))
	if rec.Code != 201 {
		t.Fatalf("apply again: %d %v", rec.Code, v)
	}
	other := fmt.Sprint(v["id"])
	rec, v = clerk.call("POST", "/api/v1/approvals/"+other+"/withdrawal", "", `{"reason":"不要になった"}`)
	wantProblem(t, "the clerk withdraws", rec, v, 403, "forbidden", "")
	rec, v = so.call("POST", "/api/v1/approvals/"+other+"/withdrawal", "", `{}`)
	wantProblem(t, "a withdrawal without a reason", rec, v, 400, "invalid", "終了の理由")
	rec, v = so.call("POST", "/api/v1/approvals/"+other+"/withdrawal", "", `{"reason":"不要になった"}`)
	if rec.Code != 200 || v["state"] != "withdrawn" {
		t.Fatalf("withdraw: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "approval.withdraw", node.DemoOfficer, auditlog.Allow)
}

// TestAPIChangesNeedTheRecheck: a change through the API needs what the
// forms need, an operator who verified (the biometric) within the profile's
// window; later it is refused, type reverify, before its body is read and
// with nothing logged or stored, while reads still answer. A demo node's
// loopback client without a session reads as the demo operator but
// changes nothing.
func TestAPIChangesNeedTheRecheck(t *testing.T) {
	onBothDatabases(t, testAPIChangesNeedTheRecheck)
}

func testAPIChangesNeedTheRecheck(t *testing.T, s *Server, clock *clocktest.Clock) {
	admin := signIn(t, s, node.DemoAdmin)
	clock.Advance(time.Duration(s.node.Profile.Session.ReverifyMinutes)*time.Minute + time.Minute)
	at := s.node.Now().Add(-time.Minute).In(jptext.JST).Format(time.RFC3339)
	entry := fmt.Sprintf(`{"room":%q,"person":%q,"purpose":"保守","direction":"in","time":%q}`, node.DemoServerRoom, node.DemoAdmin, at)
	entries := countEntries(t, s, "facility.entry")
	rec, v := admin.call("POST", "/api/v1/facility/entries", "", entry)
	wantProblem(t, "an entry long after the verification", rec, v, 403, "reverify", "生体認証で本人確認")
	rec, v = admin.call("POST", "/api/v1/approvals/1/end", "", `not even JSON`)
	wantProblem(t, "a change with a bad body, unverified", rec, v, 403, "reverify", "/unlock?reverify=1")
	if rec, _ := admin.call("GET", "/api/v1/approvals", "", ""); rec.Code != 200 {
		t.Errorf("a read long after the verification: %d", rec.Code)
	}
	if n := countEntries(t, s, "facility.entry"); n != entries {
		t.Errorf("a refused change was logged or stored: %d entries, then %d", entries, n)
	}
	// Without a session, a demo node's loopback client is the demo operator.
	anon := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
	rec, v = anon.call("POST", "/api/v1/facility/entries", "", entry)
	wantProblem(t, "an entry without a session", rec, v, 403, "reverify", "ログインし")
	// Verified again (a new sign-in), the same call goes through.
	admin = signIn(t, s, node.DemoAdmin)
	if rec, v := admin.call("POST", "/api/v1/facility/entries", "", entry); rec.Code != 201 {
		t.Errorf("the entry once verified again: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "facility.entry", node.DemoAdmin, auditlog.Allow)
}

// TestAPITraining: training standings (who is trained until when, who
// expires within 30 days, who may not operate) for those the policies let
// see the record, and sessions recorded by those who train (koto-ward:10),
// logged as training.session; bad input is refused in Japanese with
// nothing stored.
func TestAPITraining(t *testing.T) {
	onBothDatabases(t, testAPITraining)
}

func testAPITraining(t *testing.T, s *Server, _ *clocktest.Clock) {
	admin, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	rec, v := clerk.call("GET", "/api/v1/training", "", "")
	wantProblem(t, "the clerk reads the training record", rec, v, 403, "forbidden", "閲覧する権限がありません")
	standing := func(vid string) map[string]any {
		t.Helper()
		rec, v := admin.call("GET", "/api/v1/training", "", "")
		if rec.Code != 200 {
			t.Fatalf("training standings: %d %v", rec.Code, v)
		}
		for _, p := range v["people"].([]any) {
			if p := p.(map[string]any); p["verification_id"] == vid {
				p["expiring"] = v["expiring"]
				return p
			}
		}
		t.Fatalf("no standing of %s in %v", vid, v)
		return nil
	}
	late := standing(node.DemoUntrained)
	if late["valid"] != false || !strings.Contains(late["problem_ja"].(string), "住基ネット機器操作研修") || len(late["courses"].([]any)) != 2 {
		t.Errorf("the operator whose training expired: %v", late)
	}
	if op := standing(node.DemoOperator); op["valid"] != true || !strings.HasSuffix(op["valid_until"].(string), "T00:00:00+09:00") {
		t.Errorf("the trained operator: %v", op)
	}
	today := jptext.Midnight(s.node.Now())
	// Attended 12 months less 10 days ago: valid, and expiring within 30 days.
	held := today.AddDate(-1, 0, 10).Format(time.DateOnly)
	session := func(course, date, trainer string) string {
		return fmt.Sprintf(`{"course":%q,"date":%q,"trainer":%q,"material":"操作手順書","attendees":[%q,%q]}`, course, date, trainer, node.DemoUntrained, node.DemoUntrained)
	}
	sessions := countEntries(t, s, "training.session")
	for _, c := range []struct{ what, body, ja string }{
		{"a day in the future", session("operation", today.AddDate(0, 0, 1).Format(time.DateOnly), "見本 管理者"), "今日より後"},
		{"a Japanese-era day", session("operation", "R8.11.30", "見本 管理者"), "実施日「R8.11.30」を読み取れません"},
		{"no trainer", session("operation", held, ""), "講師"},
		{"an unknown course", session("cooking", held, "見本 管理者"), "研修の種類"},
		{"attendees as a string", `{"course":"operation","date":"` + held + `","trainer":"x","material":"y","attendees":"demo"}`, "研修の記録の形式が正しくありません"},
	} {
		rec, v := admin.call("POST", "/api/v1/training/sessions", "", c.body)
		wantProblem(t, c.what, rec, v, 400, "invalid", c.ja)
	}
	if n := countEntries(t, s, "training.session"); n != sessions {
		t.Errorf("refused sessions were logged: %d, then %d", sessions, n)
	}
	rec, v = clerk.call("POST", "/api/v1/training/sessions", "", session("operation", held, "見本 管理者"))
	wantProblem(t, "the clerk records a session", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "training.session", node.DemoOperator, auditlog.Deny)
	for _, course := range []string{"operation", "security"} {
		rec, v = admin.call("POST", "/api/v1/training/sessions", "", session(course, held, " 見本 管理者 "))
		if rec.Code != 201 || v["id"] == nil || v["date"] != held || v["trainer"] != "見本 管理者" || len(v["attendees"].([]any)) != 1 ||
			v["recorded_by"] != "operator:"+node.DemoAdmin {
			t.Fatalf("record a session of %s: %d %v", course, rec.Code, v)
		}
		wantEntry(t, s, "training.session", node.DemoAdmin, auditlog.Allow)
	}
	late = standing(node.DemoUntrained)
	if late["valid"] != true || late["expires_within_30_days"] != true || fmt.Sprint(late["expiring"]) != "["+node.DemoUntrained+"]" {
		t.Errorf("after the sessions: %v", late)
	}
	if until := today.AddDate(0, 0, 10).Format(time.RFC3339); late["valid_until"] != until {
		t.Errorf("valid until %v, want %s", late["valid_until"], until)
	}
}

// TestAPIFacilityEntries: a door clerk's system records entries and exits
// (record-entry: any active staff member, koto-ward:11), an unauthorised
// entry recorded and marked; a card reader's CSV is imported all or
// nothing, a bad line named by line and column. A contractor whose
// contract lacks a clause is refused; each is the register's audit entry.
func TestAPIFacilityEntries(t *testing.T) {
	onBothDatabases(t, testAPIFacilityEntries)
}

func testAPIFacilityEntries(t *testing.T, s *Server, _ *clocktest.Clock) {
	admin, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	at := s.node.Now().Add(-time.Minute).In(jptext.JST).Format(time.RFC3339)
	entry := func(room, person, purpose, when string) string {
		return fmt.Sprintf(`{"room":%q,"person":%q,"purpose":%q,"direction":"in","time":%q}`, room, person, purpose, when)
	}
	before, err := s.node.Facilities.Entries(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, body, ja string }{
		{"a time without its offset", entry(node.DemoCounterRoom, node.DemoOperator, "窓口業務", "2026-12-01 09:15"), "2026-12-01T09:15:00+09:00 の形"},
		{"no purpose", entry(node.DemoCounterRoom, node.DemoOperator, "", at), "目的"},
		{"no room", entry("", node.DemoOperator, "窓口業務", at), "室ID"},
		{"a room unknown", entry("R-NONE", node.DemoOperator, "窓口業務", at), "室ID R-NONE の部屋は登録されていません"},
		{"a time to come", entry(node.DemoCounterRoom, node.DemoOperator, "窓口業務", s.node.Now().Add(time.Hour).Format(time.RFC3339)), "現在より後"},
		{"a visitor without escort", `{"room":"` + node.DemoServerRoom + `","visitor":"見本 業者","purpose":"点検","direction":"in","time":"` + at + `"}`, "同行する職員"},
	} {
		rec, v := clerk.call("POST", "/api/v1/facility/entries", "", c.body)
		status := 400
		kind := "invalid"
		if strings.Contains(c.what, "unknown") {
			status, kind = 404, "not_found"
		}
		wantProblem(t, c.what, rec, v, status, kind, c.ja)
	}
	rec, v := clerk.call("POST", "/api/v1/facility/entries", "", entry(node.DemoCounterRoom, node.DemoOperator, "窓口業務", at))
	if rec.Code != 201 || v["authorised"] != true || v["source"] != "door" || v["time"] != at {
		t.Fatalf("entry to the counter: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "facility.entry", node.DemoOperator, auditlog.Allow)
	rec, v = clerk.call("POST", "/api/v1/facility/entries", "", entry(node.DemoServerRoom, node.DemoOperator, "書類の受け取り", at))
	if rec.Code != 201 || v["authorised"] != false {
		t.Fatalf("unauthorised entry to the server room: %d %v", rec.Code, v)
	}
	lacking := signIn(t, s, node.DemoContractorLacking)
	rec, v = lacking.call("POST", "/api/v1/facility/entries", "", entry(node.DemoCounterRoom, node.DemoContractorLacking, "保守", at))
	wantProblem(t, "a contractor under a contract lacking a clause", rec, v, 403, "forbidden", "約定事項")
	wantEntry(t, s, "facility.entry", node.DemoContractorLacking, auditlog.Deny)

	// The card reader.
	day := s.node.Now().In(jptext.JST).Format(time.DateOnly)
	good := "room_id,verification_id,direction,time\n" + node.DemoServerRoom + "," + node.DemoAdmin + ",in," + day + " 07:00\n" +
		node.DemoServerRoom + "," + node.DemoAdmin + ",out," + day + "T07:30:00+09:00\n"
	bad := good + node.DemoServerRoom + "," + node.DemoAdmin + ",in,朝\n"
	imports := countEntries(t, s, "facility.import")
	rec, v = admin.call("POST", "/api/v1/facility/entries/import", "text/csv", bad)
	wantProblem(t, "a card-reader file with a bad line", rec, v, 400, "invalid", "4行目 4列（time）")
	rec, v = admin.call("POST", "/api/v1/facility/entries/import", "application/json", good)
	wantProblem(t, "a card-reader file sent as JSON", rec, v, 415, "invalid", "text/csv")
	if n := countEntries(t, s, "facility.import"); n != imports {
		t.Errorf("a refused import was logged: %d, then %d", imports, n)
	}
	after, err := s.node.Facilities.Entries(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)+2 {
		t.Errorf("refused entries were stored: %d entries, then %d (2 recorded)", len(before), len(after))
	}
	rec, v = admin.call("POST", "/api/v1/facility/entries/import", "text/csv; charset=utf-8", good)
	if rec.Code != 200 || v["stored"] != float64(2) || v["unauthorised"] != float64(0) {
		t.Fatalf("import: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "facility.import", node.DemoAdmin, auditlog.Allow)
	rec, v = lacking.call("POST", "/api/v1/facility/entries/import", "text/csv", good)
	wantProblem(t, "a refused contractor imports", rec, v, 403, "forbidden", "")
	wantEntry(t, s, "facility.import", node.DemoContractorLacking, auditlog.Deny)
}

// TestAPIContractsAndAssets: the outsourcing contracts (with their clauses,
// the missing one named) and the register of information assets (the
// erasure of a retired medium included) are read by those the policies
// let see them, and refused to a clerk.
func TestAPIContractsAndAssets(t *testing.T) {
	onBothDatabases(t, testAPIContractsAndAssets)
}

func testAPIContractsAndAssets(t *testing.T, s *Server, _ *clocktest.Clock) {
	admin, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	rec, v := clerk.call("GET", "/api/v1/contracts", "", "")
	wantProblem(t, "the clerk reads the contracts", rec, v, 403, "forbidden", "閲覧する権限がありません")
	rec, v = admin.call("GET", "/api/v1/contracts", "", "")
	if rec.Code != 200 {
		t.Fatalf("contracts: %d %v", rec.Code, v)
	}
	vendors := map[string]map[string]any{}
	for _, c := range v["contracts"].([]any) {
		c := c.(map[string]any)
		vendors[c["vendor"].(string)] = c
	}
	if c := vendors[node.DemoVendor]; c == nil || c["in_force"] != true || len(c["missing_clauses"].([]any)) != 0 || len(c["clauses"].([]any)) != 5 {
		t.Errorf("the demo contract: %v", c)
	}
	if c := vendors[node.DemoVendorLacking]; c == nil || fmt.Sprint(c["missing_clauses"]) != "["+node.DemoLackingClause+"]" {
		t.Errorf("the demo contract lacking a clause: %v", c)
	}
	rec, v = clerk.call("GET", "/api/v1/assets", "", "")
	wantProblem(t, "the clerk reads the assets", rec, v, 403, "forbidden", "閲覧する権限がありません")
	rec, v = admin.call("GET", "/api/v1/assets", "", "")
	if rec.Code != 200 {
		t.Fatalf("assets: %d %v", rec.Code, v)
	}
	ids := map[string]map[string]any{}
	for _, a := range v["assets"].([]any) {
		a := a.(map[string]any)
		ids[a["id"].(string)] = a
	}
	if a := ids[node.DemoServerAsset]; a == nil || a["in_use"] != true || a["kind"] != "server" {
		t.Errorf("the demo server: %v", a)
	}
	if a := ids[node.DemoTerminal]; a == nil || a["kind"] != "terminal" {
		t.Errorf("the demo terminal in the register: %v", a)
	}
	medium := ids[node.DemoRetiredMedium]
	if medium == nil || medium["in_use"] != false || medium["retired"] == nil {
		t.Fatalf("the retired medium: %v", medium)
	}
	if e, _ := medium["retired"].(map[string]any)["erasure"].(map[string]any); e == nil || e["method"] == "" || len(e["day"].(string)) != len("2026-12-01") {
		t.Errorf("the retired medium's erasure: %v", medium["retired"])
	}
}

package web

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

// demoServer is a demo node for 江東区 with its seeded staff and a few
// synthetic residents.
func demoServer(t *testing.T) (*Server, string) {
	t.Helper()
	s, code, _ := demoServerClock(t)
	return s, code
}

// demoServerClock is demoServer with the node's test clock, which a test
// moves to let time pass (training expiry, a contract's end).
func demoServerClock(t *testing.T) (*Server, string, *clocktest.Clock) {
	t.Helper()
	n, clock := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true})
	g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	rec := g.Next()
	importOne(t, n, rec)
	s, err := New(n, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s, string(rec.ResidentCode), clock
}

// browser sends requests from the server itself (the demo terminal),
// keeping the session cookie.
type browser struct {
	t      *testing.T
	s      *Server
	cookie *http.Cookie
	remote string
}

func (b *browser) do(method, path string, form url.Values) *httptest.ResponseRecorder {
	b.t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	req.RemoteAddr = b.remote
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	rec := httptest.NewRecorder()
	b.s.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			b.cookie = c
			if c.MaxAge < 0 {
				b.cookie = nil
			}
		}
	}
	return rec
}

func signIn(t *testing.T, s *Server, vid string) *browser {
	t.Helper()
	b := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
	if rec := b.do("POST", "/login/demo", url.Values{"verification_id": {vid}}); rec.Code != http.StatusSeeOther || b.cookie == nil {
		t.Fatalf("demo sign-in as %s: %d %s", vid, rec.Code, rec.Body.String())
	}
	return b
}

// TestRoutesByRole walks every screen as every demo role (and as nobody)
// and checks who gets in.
func TestRoutesByRole(t *testing.T) {
	s, _ := demoServer(t)
	want := map[string]map[string]int{
		// path: role → status
		"/":            {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 200},
		"/lookup":      {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 200},
		"/staff":       {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/suspensions": {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 403, node.DemoOperator: 403},
		"/audit":       {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/alerts":      {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/incidents":   {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/assets":      {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 403, node.DemoOperator: 403},
		"/facilities":  {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/contracts":   {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/training":    {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/council":     {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/approvals":   {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/audits":      {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/audits/1":    {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/disclosures": {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 200},
		"/forms":       {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/backups":     {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/protected":   {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 403},
		"/status":      {"": 200, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 200, node.DemoOperator: 200},

		// Reports and requests between bodies (koto-ward:15).
		"/correspondence": {"": 303, node.DemoAdmin: 200, node.DemoChief: 200, node.DemoOfficer: 403, node.DemoOperator: 403},
	}
	browsers := map[string]*browser{"": {t: t, s: s, remote: "127.0.0.1:40000"}}
	for _, vid := range []string{node.DemoAdmin, node.DemoChief, node.DemoOfficer, node.DemoOperator} {
		browsers[vid] = signIn(t, s, vid)
	}
	for path, roles := range want {
		for role, status := range roles {
			if got := browsers[role].do("GET", path, nil).Code; got != status {
				t.Errorf("GET %s as %q: %d, want %d", path, role, got, status)
			}
		}
	}
	// A resident's history is asked for by POST: the code and the reason
	// never travel in a URL, and a GET does nothing (and logs nothing).
	history := url.Values{"code": {"1"}, "affair": {"juki"}, "reason": {"x"}}
	for role, status := range map[string]int{"": 303, node.DemoAdmin: 403, node.DemoChief: 403, node.DemoOfficer: 403, node.DemoOperator: 400} {
		if got := browsers[role].do("POST", "/history", history).Code; got != status {
			t.Errorf("POST /history as %q: %d, want %d", role, got, status)
		}
	}
	size, _ := s.node.Log.Size(context.Background())
	if got := browsers[node.DemoOperator].do("GET", "/history?code=1&affair=juki&reason=x", nil).Code; got != http.StatusMethodNotAllowed {
		t.Errorf("GET /history with the code in the URL: %d, want 405", got)
	}
	if again, _ := s.node.Log.Size(context.Background()); again != size {
		t.Errorf("GET /history wrote %d audit entries", again-size)
	}
	// A screen refused says why, in Japanese.
	// … and who may, so it is no dead end.
	if body := browsers[node.DemoOperator].do("GET", "/staff", nil).Body.String(); !strings.Contains(body, "この画面を利用する権限がありません") ||
		!strings.Contains(body, "職員・端末の閲覧 を行う権限がありません（") {
		t.Errorf("refused screen: %s", body)
	}
	// Navigation shows only what the role may use.
	if body := browsers[node.DemoOperator].do("GET", "/", nil).Body.String(); strings.Contains(body, `href="/audit"`) || !strings.Contains(body, `href="/lookup"`) {
		t.Errorf("operator's menu offers the wrong screens")
	}
}

func TestLookupScreenAndSuspension(t *testing.T) {
	s, code := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	form := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
	rec := clerk.do("POST", "/lookup", form)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "この照会は監査ログに記録されました") || strings.Contains(body, ">"+code+"<") {
		t.Fatalf("lookup for juminhyo-copy: %d (the code must not be shown for this affair)\n%s", rec.Code, body)
	}
	form.Set("affair", "juki")
	if body := clerk.do("POST", "/lookup", form).Body.String(); !strings.Contains(body, code) {
		t.Errorf("lookup for juki does not show the resident code")
	}
	form.Set("affair", "tax-assessment")
	rec = clerk.do("POST", "/lookup", form)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "利用承認を受けていません") {
		t.Errorf("lookup outside the approved affairs: %d", rec.Code)
	}
	form.Set("affair", "juki")
	form.Set("reason", "")
	if rec := clerk.do("POST", "/lookup", form); rec.Code != 403 || !strings.Contains(rec.Body.String(), "理由") {
		t.Errorf("lookup without a reason: %d", rec.Code)
	}
	form.Set("reason", "確認")

	// The clerk sees their own accesses, as logged, on the dashboard.
	if body := clerk.do("GET", "/", nil).Body.String(); !strings.Contains(textOf(body), "koto-ward:12.1/designated-operator") || !strings.Contains(body, "住民票コード "+code) {
		t.Errorf("dashboard lacks the clerk's own lookups")
	} else if !strings.Contains(body, `data-testid="entry-outcome" class="decision-deny">拒否`) || !strings.Contains(body, `data-testid="entry-clock"`) {
		t.Errorf("dashboard does not show the time and outcome of the clerk's lookups (the refused ones as 拒否)")
	}
	// The chief suspends the department; the clerk is refused at once.
	chief := signIn(t, s, node.DemoChief)
	if rec := chief.do("POST", "/suspensions", url.Values{"scope": {"department"}, "target": {"kumin"}, "reason": {"漏えいのおそれ"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("suspend: %d %s", rec.Code, rec.Body.String())
	}
	rec = clerk.do("POST", "/lookup", form)
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), "利用停止中です") {
		t.Errorf("lookup under suspension: %d", rec.Code)
	}
	if body := clerk.do("GET", "/", nil).Body.String(); !strings.Contains(body, "部署：区民課") {
		t.Errorf("dashboard does not show the suspension")
	}
	// The clerk cannot lift it.
	if rec := clerk.do("POST", "/suspensions/1/lift", url.Values{"reason": {"調査終了"}}); rec.Code != 403 {
		t.Errorf("clerk lifting a suspension: %d", rec.Code)
	}
	chief.do("POST", "/suspensions/1/lift", url.Values{"reason": {"調査終了"}})
	if rec := clerk.do("POST", "/lookup", form); rec.Code != 200 {
		t.Errorf("lookup after lifting: %d", rec.Code)
	}
	// Every step is in the audit log the chief can browse and verify.
	body = chief.do("GET", "/audit", nil).Body.String()
	for _, want := range []string{"suspension:1", "koto-ward:12.1/designated-operator", "jukinet:default-deny", "staff.suspend"} {
		if !strings.Contains(textOf(body), want) {
			t.Errorf("audit screen lacks %q", want)
		}
	}
	// Each entry shows its time of day (JST) and its outcome, a refusal
	// marked as one.
	if !regexp.MustCompile(`data-testid="entry-clock">\d\d:\d\d:\d\d<`).MatchString(body) {
		t.Error("audit screen shows no time of day")
	}
	if !strings.Contains(body, `data-testid="entry-outcome" class="decision-deny">拒否`) || !strings.Contains(body, `data-testid="entry-outcome">正常`) {
		t.Error("audit screen does not show the entries' outcomes (正常, 拒否)")
	}
	if body := verifyFromScreen(t, chief); !strings.Contains(body, "監査ログに改ざんはありません") {
		t.Errorf("verify from the screen:\n%s", body)
	}
}

// verifyFromScreen presses the audit screen's verify button and returns
// the screen once it shows the result (the check runs in the background).
func verifyFromScreen(t *testing.T, b *browser) string {
	t.Helper()
	if rec := b.do("POST", "/audit/verify", url.Values{}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/audit" {
		t.Fatalf("verify button: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		body := b.do("GET", "/audit", nil).Body.String()
		if strings.Contains(body, `data-testid="verify-result"`) && !strings.Contains(body, `data-testid="verify-running"`) {
			return body
		}
	}
	t.Fatal("the verification started from the audit screen did not finish")
	return ""
}

// The audit screen's check says, in Japanese, when the log was tampered
// with and what to do, naming the entry.
func TestAuditScreenReportsTampering(t *testing.T) {
	s, _ := demoServer(t)
	chief := signIn(t, s, node.DemoChief)
	if body := verifyFromScreen(t, chief); !strings.Contains(body, "監査ログに改ざんはありません") {
		t.Fatalf("before tampering:\n%s", body)
	}
	if _, err := s.node.DB.Exec(context.Background(), `UPDATE audit_entry SET actor_id = 'operator:someone' WHERE seq = 1`); err != nil {
		t.Fatal(err)
	}
	body := verifyFromScreen(t, chief)
	for _, want := range []string{"監査ログの検証で問題が見つかりました", "セキュリティ責任者に報告", "entry 1"} {
		if !strings.Contains(body, want) {
			t.Errorf("after tampering, the screen lacks %q:\n%s", want, body)
		}
	}
}

func TestIdleLockAndOtherTerminal(t *testing.T) {
	s, _ := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	idle := s.auth.Now
	s.auth.Now = func() time.Time { return idle().Add(11 * time.Minute) }
	if rec := clerk.do("GET", "/lookup", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/unlock") {
		t.Fatalf("idle session: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	if rec := clerk.do("GET", "/unlock", nil); rec.Code != 200 || !strings.Contains(rec.Body.String(), "ロック") {
		t.Errorf("unlock page: %d", rec.Code)
	}
	if rec := clerk.do("POST", "/unlock/finish?ceremony=demo&next=/lookup", url.Values{}); rec.Code != 200 {
		t.Fatalf("demo unlock: %d %s", rec.Code, rec.Body.String())
	}
	s.auth.Now = idle
	if rec := clerk.do("GET", "/lookup", nil); rec.Code != 200 {
		t.Errorf("after unlock: %d", rec.Code)
	}
	// The same cookie from another machine is no terminal of this session.
	clerk.remote = "192.0.2.7:5000"
	if rec := clerk.do("GET", "/lookup", nil); rec.Code != http.StatusSeeOther {
		t.Errorf("session from another terminal: %d", rec.Code)
	}
}

func importOne(t *testing.T, n *node.Node, rec resident.IdentityRecord) {
	t.Helper()
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	w.Write(rec)
	w.Close()
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Origin: "host:test", Affair: "juki", Reason: "テスト"}
	if _, err := n.Gate.Import(context.Background(), req, &buf, resident.UTF8); err != nil {
		t.Fatal(err)
	}
}

func adminWho() staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoAdmin}, Origin: "terminal:" + node.DemoTerminal}
}

func soWho() staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOfficer}, Origin: "terminal:" + node.DemoTerminal}
}

func chiefWho() staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoChief}, Origin: "terminal:" + node.DemoTerminal}
}

func suspensionOfKumin() staff.Suspension {
	return staff.Suspension{Scope: staff.ScopeDepartment, Target: "kumin", Reason: "漏えいのおそれ"}
}

// TestChangesByRole posts every administrative form as every demo role:
// only the roles the profile's policies name get through; the others are
// refused (and logged by the staff store).
func TestChangesByRole(t *testing.T) {
	s, _ := demoServer(t)
	roles := []string{node.DemoAdmin, node.DemoChief, node.DemoOfficer, node.DemoOperator}
	browsers := map[string]*browser{}
	for _, vid := range roles {
		browsers[vid] = signIn(t, s, vid)
	}
	tests := []struct {
		path    string
		form    func(role string) url.Values
		allowed []string
	}{
		{"/staff/people", func(r string) url.Values {
			return url.Values{"verification_id": {"NEW-" + r}, "name": {"新人"}, "department": {"kazei"}, "title": {"主事"}}
		}, []string{node.DemoAdmin}},
		{"/staff/roles", func(r string) url.Values {
			return url.Values{"verification_id": {"NEW-" + node.DemoAdmin}, "role": {"security_officer"}, "department": {"kazei"}}
		}, []string{node.DemoAdmin}},
		{"/staff/terminals", func(r string) url.Values {
			return url.Values{"id": {"T-" + r}, "name": {"窓口"}, "department": {"kazei"}, "location": {"3階"}}
		}, []string{node.DemoAdmin}},
		// koto-ward:12.1: the security officer applies for his department's use.
		{"/approvals", func(r string) url.Values {
			return url.Values{"department": {demoDept(s)}, "affair": {"tax-assessment"}, "purpose": {"賦課"}, "reason": {"課税の確認"},
				"start": {s.node.Now().Format("2006-01-02")}, "end": {"2027-11-30"}, "terminal": {node.DemoTerminal}, "operator": {node.DemoOperator}}
		}, []string{node.DemoOfficer}},
		{"/staff/designate", func(r string) url.Values {
			return url.Values{"verification_id": {node.DemoOperator}, "affair": {"tax-assessment"}}
		}, []string{node.DemoOfficer}},
		{"/staff/enrolment-link", func(r string) url.Values {
			return url.Values{"verification_id": {node.DemoOperator}}
		}, []string{node.DemoAdmin}},
		{"/suspensions", func(r string) url.Values {
			target := "housing" // each allowed role its own: a suspended affair is not suspended twice
			if r == node.DemoChief {
				target = "tax-assessment"
			}
			return url.Values{"scope": {"affair"}, "target": {target}, "reason": {"訓練"}}
		}, []string{node.DemoAdmin, node.DemoChief}},
		// koto-ward:10: the security officers and the system administrator train.
		{"/training/sessions", func(r string) url.Values {
			return url.Values{"course": {"security"}, "date": {s.node.Now().Format("2006-01-02")}, "trainer": {"見本 課長"}, "material": {"手引き"}, "attendee": {node.DemoOperator}}
		}, []string{node.DemoAdmin, node.DemoOfficer}},
		// koto-ward:11: the security officers and the system administrator record the rooms.
		{"/facilities/rooms", func(r string) url.Values {
			return url.Values{"id": {"R-" + r}, "building": {"本庁舎"}, "name": {"サーバ室"}, "level": {"2"}}
		}, []string{node.DemoAdmin, node.DemoOfficer}},
		// koto-ward:14: the system administrator manages the information assets.
		{"/assets", func(r string) url.Values {
			return url.Values{"id": {"SV-" + r}, "kind": {"server"}, "name": {"CSサーバ"}, "location": {"サーバ室"}, "manager": {node.DemoAdmin}, "installed": {s.node.Now().Format("2006-01-02")}}
		}, []string{node.DemoAdmin}},
		// koto-ward:9: the chief security officer plans audits and names the auditor.
		{"/audits", func(r string) url.Values {
			return url.Values{"kind": {"ad-hoc"}, "title": {"臨時監査 " + r}, "from": {s.node.Now().AddDate(0, 0, -7).Format("2006-01-02")},
				"to": {s.node.Now().Format("2006-01-02")}, "scope": {"委託の管理"}, "auditor": {node.DemoAuditor}}
		}, []string{node.DemoChief}},
		// koto-ward:3 (outsourcing): the system administrator and the chief
		// security officer record contracts.
		{"/contracts", func(r string) url.Values {
			return url.Values{"vendor": {"株式会社保守 " + r}, "scope": {"端末の保守"}, "start": {"2026-04-01"}, "end": {"2027-03-31"}, "survey": {"Pマーク確認"}}
		}, []string{node.DemoAdmin, node.DemoChief}},
		// …and end them early (契約の解除): each the demo's contract of its own.
		{"/contracts/end", func(r string) url.Values {
			id := "1"
			if r == node.DemoChief {
				id = "2"
			}
			return url.Values{"contract": {id}, "date": {s.node.Now().Format("2006-01-02")}, "reason": {"訓練"}}
		}, []string{node.DemoAdmin, node.DemoChief}},
		// koto-ward:5.6: the chair convenes the security council.
		{"/council/meetings", func(r string) url.Values {
			return url.Values{"kind": {"regular"}, "date": {s.node.Now().AddDate(0, 0, 7).Format("2006-01-02")}, "time": {"14:00"}, "place": {"第1会議室"}}
		}, []string{node.DemoChief}},
		// koto-ward:6: the chief security officer directs after a decision …
		{"/council/directives", func(r string) url.Values {
			return url.Values{"decision": {"1"}, "kind": {"directive"}, "department": {"kazei"}, "text": {"点検"}, "due": {s.node.Now().AddDate(0, 0, 7).Format("2006-01-02")}}
		}, []string{node.DemoChief}},
		// … and the department's head reports completion (the demo's overdue directive).
		{"/council/directives/complete", func(r string) url.Values {
			return url.Values{"directive": {"2"}, "note": {"点検した"}}
		}, []string{node.DemoOfficer}},
	}
	for _, tt := range tests {
		for _, role := range roles {
			want := http.StatusForbidden
			if slices.Contains(tt.allowed, role) {
				want = http.StatusSeeOther
			}
			rec := browsers[role].do("POST", tt.path, tt.form(role))
			if rec.Code != want {
				t.Errorf("POST %s as %s: %d, want %d %s", tt.path, role, rec.Code, want, rec.Body.String())
			}
		}
	}
	// Signed out, nothing is posted.
	anon := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
	if rec := anon.do("POST", "/suspensions", url.Values{"scope": {"node"}, "reason": {"x"}}); rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/login" {
		t.Errorf("anonymous POST: %d %s", rec.Code, rec.Header().Get("Location"))
	}
}

// TestAPIActsAsSignedInOperator: with a session cookie the JSON API acts as
// that operator at that terminal, under the same policies.
func TestAPIActsAsSignedInOperator(t *testing.T) {
	s, code := demoServer(t)
	officer := signIn(t, s, node.DemoOfficer)
	clerk := signIn(t, s, node.DemoOperator)
	lookup := "/api/v1/residents/" + code + "?affair=juminhyo-copy&reason=" + url.QueryEscape("確認")
	if rec := officer.do("GET", lookup, nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "取扱者に指定されていません") {
		t.Errorf("security officer (not an operator) looking up through the API: %d %s", rec.Code, rec.Body.String())
	}
	if rec := clerk.do("GET", lookup, nil); rec.Code != 200 {
		t.Errorf("clerk looking up through the API: %d %s", rec.Code, rec.Body.String())
	}
	if rec := clerk.do("GET", "/api/v1/audit/entries", nil); rec.Code != 403 {
		t.Errorf("clerk reading the audit log through the API: %d", rec.Code)
	}
	rec := officer.do("GET", "/api/v1/audit/entries?resident="+code, nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"operator:`+node.DemoOfficer) || !strings.Contains(rec.Body.String(), `"operator:`+node.DemoOperator) {
		t.Errorf("officer reading the audit log: %d %s", rec.Code, rec.Body.String())
	}
}

func TestMetrics(t *testing.T) {
	s, _ := demoServer(t)
	local := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
	rec := local.do("GET", "/metrics", nil)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "jukinet_federation_outbox_pending 0") || !strings.Contains(rec.Body.String(), "jukinet_audit_entries") {
		t.Errorf("metrics: %d %s", rec.Code, rec.Body.String())
	}
	remote := &browser{t: t, s: s, remote: "192.0.2.9:5000"}
	if rec := remote.do("GET", "/metrics", nil); rec.Code != 403 {
		t.Errorf("metrics from another machine: %d", rec.Code)
	}
}

// TestStaffScreenNamesDepartmentsAndAffairs: the staff screen shows the
// profile's names of departments and affairs, in the page's language, not
// their IDs.
func TestStaffScreenNamesDepartmentsAndAffairs(t *testing.T) {
	s, _ := demoServer(t)
	admin := signIn(t, s, node.DemoAdmin)
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/staff?lang=ja", []string{"<td>区民課</td>", "住民基本台帳に関する事務、住民票の写し等の交付", "<td>情報システム課</td>"}},
		// In English the header too: the administrator's department and
		// role; dates as dates, not in the Japanese era.
		{"/staff?lang=en", []string{"<td>Residents Division</td>", "Copies of the residence record",
			"・Information Systems Division・System administrator</span>", "DEMO — every resident shown here is synthetic"}},
	} {
		body := admin.do("GET", tt.path, nil).Body.String()
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s lacks %q", tt.path, w)
			}
		}
		if strings.Contains(body, "<td>kumin</td>") {
			t.Errorf("%s shows the department's ID instead of its name", tt.path)
		}
		if strings.HasSuffix(tt.path, "en") && (strings.Contains(body, "令和") || strings.Contains(body, "情報システム課")) {
			t.Errorf("%s shows Japanese dates or names", tt.path)
		}
	}
}

// TestStatusKeepsTheNavigation: the public status page shows a signed-in
// operator their navigation, and others the way to sign in.
func TestStatusKeepsTheNavigation(t *testing.T) {
	s, _ := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	body := clerk.do("GET", "/status", nil).Body.String()
	if !strings.Contains(body, `href="/lookup"`) || !strings.Contains(body, `data-testid="me"`) || strings.Contains(body, "ログイン画面へ") {
		t.Errorf("signed in, /status lacks the navigation or offers to sign in:\n%s", body)
	}
	anon := &browser{t: t, s: s, remote: "127.0.0.1:40001"}
	body = anon.do("GET", "/status", nil).Body.String()
	if !strings.Contains(body, "ログイン画面へ") || strings.Contains(body, `data-testid="me"`) {
		t.Errorf("signed out, /status does not offer to sign in:\n%s", body)
	}
}

// TestAuditScreenFilters: the auditor narrows the audit screen by action
// and by day (written as clerks write dates); a day it cannot read is
// said so on the screen, in Japanese.
func TestAuditScreenFilters(t *testing.T) {
	s, code := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	clerk.do("POST", "/lookup", url.Values{"affair": {"juki"}, "reason": {"確認"}, "mode": {"code"}, "code": {code}})
	chief := signIn(t, s, node.DemoChief)
	rows := func(body string) int { return strings.Count(body, `data-testid="entry-clock"`) }
	all := chief.do("GET", "/audit", nil).Body.String()
	lookups := chief.do("GET", "/audit?action=lookup", nil).Body.String()
	if n := rows(lookups); n != 1 || !strings.Contains(lookups, "住民票コード "+code) || rows(all) <= n {
		t.Errorf("action=lookup shows %d entries (of %d), want the one lookup", n, rows(all))
	}
	// The Japanese screen names actions in Japanese (the code stays as
	// secondary detail), and its filter takes the label of either language.
	if !strings.Contains(lookups, ">照会 <small") || !strings.Contains(all, ">ログイン <small") {
		t.Errorf("the Japanese audit screen does not name lookup and sign-in in Japanese")
	}
	for _, label := range []string{"照会", "Lookup"} {
		if body := chief.do("GET", "/audit?action="+url.QueryEscape(label), nil).Body.String(); rows(body) != 1 || !strings.Contains(body, "住民票コード "+code) {
			t.Errorf("action=%s shows %d entries, want the one lookup", label, rows(body))
		}
	}
	today := s.node.Now().In(jptext.JST)
	if n := rows(chief.do("GET", "/audit?since="+url.QueryEscape(jptext.FormatWareki(today)), nil).Body.String()); n != rows(all) {
		t.Errorf("since today (%s) shows %d entries, want all %d", jptext.FormatWareki(today), n, rows(all))
	}
	tomorrow := today.AddDate(0, 0, 1).Format(time.DateOnly)
	if body := chief.do("GET", "/audit?since="+tomorrow, nil).Body.String(); rows(body) != 0 || !strings.Contains(body, "該当する記録はありません") {
		t.Errorf("since tomorrow shows %d entries, or does not say there are none", rows(body))
	}
	// A day that is not one: the field says so, tied to its message, and
	// keeps what was typed.
	rec := chief.do("GET", "/audit?since=yesterday", nil)
	if body := rec.Body.String(); rec.Code != http.StatusBadRequest || !strings.Contains(body, `id="f-since" name="since" value="yesterday" maxlength="256" placeholder="R8.11.22" aria-invalid="true" aria-describedby="f-since-error" autofocus`) ||
		!strings.Contains(body, `id="f-since-error" data-testid="filter-error">日付は`) || rows(body) != 0 {
		t.Errorf("since=yesterday: %d, the screen does not say how to write the day", rec.Code)
	}
}

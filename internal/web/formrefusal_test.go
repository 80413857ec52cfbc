package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/synth"
)

// formRefusal is a form posted with a value its register refuses, and
// what the screen must show for it (issue 23 item 6).
type formRefusal struct {
	name   string
	as     string // the demo role that may use the form
	path   string // where the form posts
	form   url.Values
	status int
	screen string // the screen's heading
	testid string // the form's data-testid
	bad    string // the id of the input the error is about (marked, tied, focused)
	msg    string // the Japanese message, or part of it
	kept   []string
	stored string // SQL counting what the form would store
}

// TestEveryFormRefusedOnItsScreen posts every form of the governance and
// administration screens with a value refused, on SQLite and PostgreSQL,
// and checks the convention of issue 23 item 6: the screen itself again
// with a 4xx status (never the bare error page), the message in Japanese
// next to the input it is about, the input marked (aria-invalid) and tied
// to it (aria-describedby), the focus on it (the only autofocus), what was
// typed in the other inputs kept, and nothing stored.
func TestEveryFormRefusedOnItsScreen(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, s *Server, clock *clocktest.Clock) {
		ctx := context.Background()
		browsers := map[string]*browser{}
		as := func(vid string) *browser {
			if browsers[vid] == nil {
				browsers[vid] = signIn(t, s, vid)
			}
			return browsers[vid]
		}
		today := jptext.Midnight(clock.Now()).Format(time.DateOnly)
		tomorrow := jptext.Midnight(clock.Now()).AddDate(0, 0, 1).Format(time.DateOnly)
		minute := clock.Now().In(jptext.JST).Format("2006-01-02 15:04")
		// What the per-record forms work on: an asset holding data, a
		// protected resident.
		g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
		code := string(g.Next().ResidentCode)
		in3months := jptext.Midnight(clock.Now()).AddDate(0, 3, 0).Format(time.DateOnly)
		for _, seed := range []struct {
			as, path string
			form     url.Values
		}{
			{node.DemoAdmin, "/assets", url.Values{"kind": {"server"}, "id": {"SV-T1"}, "name": {"CSサーバ"}, "location": {"サーバ室"},
				"manager": {node.DemoAdmin}, "installed": {today}, "holds_data": {"1"}}},
			{node.DemoOfficer, "/protected", url.Values{"code": {code}, "start": {today}, "end": {in3months}, "department": {"kumin"}, "category": {"dv"}}},
		} {
			if rec := as(seed.as).do("POST", seed.path, seed.form); rec.Code != http.StatusSeeOther {
				t.Fatalf("seed %s: %d\n%s", seed.path, rec.Code, rec.Body.String())
			}
		}
		// An alert (a look-up after hours) and an incident.
		night := jptext.Midnight(clock.Now()).Add(-20 * time.Minute) // 23:40 the day before
		if _, err := s.node.Log.Append(ctx, auditlog.Entry{Time: night, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator},
			Origin: "terminal:DEMO-T", Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK,
			Count: 1, Subjects: []string{code}, Provision: &auditlog.Provision{Function: "lookup", Affair: "juki", Reason: "確認", Provider: "131083", Recipient: "operator:" + node.DemoOperator}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.node.Detect.Run(ctx); err != nil {
			t.Fatal(err)
		}
		if rec := as(node.DemoChief).do("POST", "/incidents", url.Values{"kind": {"misuse"}, "title": {"夜間の照会"}, "summary": {"深夜の照会"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("open an incident: %d\n%s", rec.Code, rec.Body.String())
		}
		for _, tt := range formRefusals(today, tomorrow, minute, code) {
			t.Run(tt.name, func(t *testing.T) {
				count := func() int {
					var n int
					if err := s.node.DB.QueryRow(ctx, tt.stored).Scan(&n); err != nil {
						t.Fatal(err)
					}
					return n
				}
				before := count()
				rec := as(tt.as).do("POST", tt.path, tt.form)
				body := rec.Body.String()
				if rec.Code != tt.status {
					t.Fatalf("%d, want %d:\n%s", rec.Code, tt.status, body)
				}
				checkRefusedForm(t, body, tt)
				if after := count(); after != before {
					t.Errorf("stored: %d rows, %d before", after, before)
				}
			})
		}
	})
}

var idAttr = regexp.MustCompile(`\bid="([^"]*)"`)

// checkRefusedForm checks the screen a refused form came back on.
func checkRefusedForm(t *testing.T, body string, tt formRefusal) {
	t.Helper()
	if !strings.Contains(body, "<h1>"+tt.screen+"</h1>") {
		t.Fatalf("not the screen %s:\n%s", tt.screen, body)
	}
	start := strings.Index(body, `data-testid="`+tt.testid+`"`)
	if start < 0 {
		t.Fatalf("no form %s on the screen:\n%s", tt.testid, body)
	}
	start = strings.LastIndex(body[:start], "<form")
	form := body[start : start+strings.Index(body[start:], "</form>")]
	// The input the error is about: marked, tied to its message and focused.
	at := strings.Index(form, ` id="`+tt.bad+`"`)
	if at < 0 {
		t.Fatalf("no input %s in the form:\n%s", tt.bad, form)
	}
	open := strings.LastIndex(form[:at], "<")
	tag := form[open : at+strings.Index(form[at:], ">")]
	if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, " autofocus") {
		t.Errorf("the input %s is not marked and focused: %s", tt.bad, tag)
	}
	if n := strings.Count(body, " autofocus"); n != 1 {
		t.Errorf("%d inputs have the focus, want 1", n)
	}
	if first := strings.Index(body, `aria-invalid="true"`); first < start+open {
		t.Errorf("an input before %s is marked", tt.bad)
	}
	m := regexp.MustCompile(`aria-describedby="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		t.Fatalf("the input %s is tied to no message: %s", tt.bad, tag)
	}
	msgAt := strings.Index(form, ` id="`+m[1]+`"`)
	if msgAt < 0 {
		t.Fatalf("the message %s the input %s names is not in its form:\n%s", m[1], tt.bad, form)
	}
	msg := html.UnescapeString(form[msgAt : msgAt+strings.Index(form[msgAt:], "</div>")])
	if !strings.Contains(msg, tt.msg) {
		t.Errorf("the message %s = %q, want %q", m[1], msg, tt.msg)
	}
	if msgAt > at {
		// Next to its input: no other input comes between them.
		if between := form[at:msgAt]; strings.Contains(between, "<label") && !strings.Contains(between, "<fieldset") && !strings.Contains(tag, `type="checkbox"`) {
			if ids := idAttr.FindAllString(between, -1); len(ids) > 1 {
				t.Errorf("the message is not next to the input %s: %s", tt.bad, between)
			}
		}
	}
	// What was typed is kept.
	shown := html.UnescapeString(form)
	for _, k := range tt.kept {
		if !strings.Contains(shown, k) {
			t.Errorf("what was typed is lost: no %s in\n%s", k, shown)
		}
	}
}

// formRefusals are the forms refused, one row each.
func formRefusals(today, tomorrow, minute, code string) []formRefusal {
	return []formRefusal{
		{name: "training: a material too long", as: node.DemoAdmin, path: "/training/sessions",
			form:   url.Values{"course": {"operation"}, "date": {today}, "trainer": {"見本 講師"}, "material": {strings.Repeat("教", 201)}, "attendee": {node.DemoOperator}},
			status: http.StatusBadRequest, screen: "研修", testid: "record-training", bad: "material", msg: "200文字以内で入力してください",
			kept:   []string{`value="見本 講師"`, `value="` + node.DemoOperator + `" checked`, `value="` + today + `"`},
			stored: `SELECT COUNT(*) FROM training_session`},
		{name: "training: a day that cannot be read", as: node.DemoAdmin, path: "/training/sessions",
			form:   url.Values{"course": {"operation"}, "date": {"きのう"}, "trainer": {"見本 講師"}, "material": {"手引き"}, "attendee": {node.DemoOperator}},
			status: http.StatusBadRequest, screen: "研修", testid: "record-training", bad: "date", msg: "実施日「きのう」を読み取れません",
			kept:   []string{`value="見本 講師"`, `value="手引き"`, `value="` + node.DemoOperator + `" checked`, `value="きのう"`},
			stored: `SELECT COUNT(*) FROM training_session`},
		{name: "training: a day to come", as: node.DemoAdmin, path: "/training/sessions",
			form:   url.Values{"course": {"operation"}, "date": {tomorrow}, "trainer": {"見本 講師"}, "material": {"手引き"}, "attendee": {node.DemoOperator}},
			status: http.StatusBadRequest, screen: "研修", testid: "record-training", bad: "date", msg: "今日より後です",
			kept:   []string{`value="見本 講師"`, `value="手引き"`},
			stored: `SELECT COUNT(*) FROM training_session`},
		{name: "training: nobody attended", as: node.DemoAdmin, path: "/training/sessions",
			form:   url.Values{"course": {"operation"}, "date": {today}, "trainer": {"見本 講師"}, "material": {"手引き"}},
			status: http.StatusBadRequest, screen: "研修", testid: "record-training", bad: "attendee-0", msg: "出席者を一人以上選んでください",
			kept:   []string{`value="見本 講師"`, `value="手引き"`},
			stored: `SELECT COUNT(*) FROM training_session`},

		{name: "contracts: an end before the start", as: node.DemoAdmin, path: "/contracts",
			form:   url.Values{"vendor": {"見本保守"}, "scope": {"機器保守"}, "start": {today}, "end": {"2020-01-01"}, "survey": {"調査済み"}},
			status: http.StatusBadRequest, screen: "委託", testid: "add-contract", bad: "end", msg: "より前です",
			kept:   []string{`value="見本保守"`, `value="機器保守"`, `value="` + today + `"`, `value="調査済み"`},
			stored: `SELECT COUNT(*) FROM contract`},
		{name: "contracts: a survey too long", as: node.DemoAdmin, path: "/contracts",
			form:   url.Values{"vendor": {"見本保守"}, "scope": {"機器保守"}, "start": {today}, "end": {today}, "survey": {strings.Repeat("調", 401)}},
			status: http.StatusBadRequest, screen: "委託", testid: "add-contract", bad: "survey", msg: "400文字以内で入力してください",
			kept:   []string{`value="見本保守"`, `value="機器保守"`},
			stored: `SELECT COUNT(*) FROM contract`},
		{name: "contracts: a start that cannot be read", as: node.DemoAdmin, path: "/contracts",
			form:   url.Values{"vendor": {"見本保守"}, "scope": {"機器保守"}, "start": {"四月"}, "end": {today}, "survey": {"調査済み"}},
			status: http.StatusBadRequest, screen: "委託", testid: "add-contract", bad: "start", msg: "契約期間の開始日",
			kept:   []string{`value="見本保守"`, `value="四月"`, `value="調査済み"`},
			stored: `SELECT COUNT(*) FROM contract`},
		{name: "contracts: a clause without its place", as: node.DemoAdmin, path: "/contracts/clauses",
			form:   url.Values{"contract": {"2"}, "clause": {"no-subcontracting"}, "reference": {" "}},
			status: http.StatusBadRequest, screen: "委託", testid: "record-clause", bad: "reference", msg: "必須項目です",
			kept:   []string{`<option value="2" selected>`, `<option value="no-subcontracting" selected>`},
			stored: `SELECT COUNT(*) FROM contract_clause`},
		{name: "contracts: a clause of no contract", as: node.DemoAdmin, path: "/contracts/clauses",
			form:   url.Values{"contract": {"99"}, "clause": {"no-subcontracting"}, "reference": {"第4条"}},
			status: http.StatusNotFound, screen: "委託", testid: "record-clause", bad: "clause-contract", msg: "契約番号 99 の契約は登録されていません",
			kept:   []string{`<option value="no-subcontracting" selected>`, `value="第4条"`},
			stored: `SELECT COUNT(*) FROM contract_clause`},
		{name: "contracts: a person's id that cannot be", as: node.DemoAdmin, path: "/contracts/people",
			form:   url.Values{"contract": {"2"}, "verification_id": {"見本 太郎"}},
			status: http.StatusBadRequest, screen: "委託", testid: "add-contract-person", bad: "verification_id", msg: "照合ID「見本 太郎」は英数字",
			kept:   []string{`<option value="2" selected>`, `value="見本 太郎"`},
			stored: `SELECT COUNT(*) FROM contract_person`},
		{name: "contracts: an end without its reason", as: node.DemoAdmin, path: "/contracts/end",
			form:   url.Values{"contract": {"2"}, "date": {today}, "reason": {""}},
			status: http.StatusBadRequest, screen: "委託", testid: "end-contract", bad: "end-reason", msg: "必須項目です",
			kept:   []string{`<option value="2" selected>`, `value="` + today + `"`},
			stored: `SELECT COUNT(*) FROM contract WHERE ended_on IS NOT NULL`},
		{name: "contracts: an end on a day that cannot be read", as: node.DemoAdmin, path: "/contracts/end",
			form:   url.Values{"contract": {"2"}, "date": {"来週"}, "reason": {"再委託の発覚"}},
			status: http.StatusBadRequest, screen: "委託", testid: "end-contract", bad: "end-date", msg: "解除日",
			kept:   []string{`<option value="2" selected>`, `value="来週"`, `value="再委託の発覚"`},
			stored: `SELECT COUNT(*) FROM contract WHERE ended_on IS NOT NULL`},
		{name: "contracts: a report without its content", as: node.DemoAdmin, path: "/contracts/reports",
			form:   url.Values{"contract": {"2"}, "kind": {"disposal"}, "date": {today}, "summary": {""}},
			status: http.StatusBadRequest, screen: "委託", testid: "record-contract-report", bad: "summary", msg: "必須項目です",
			kept:   []string{`<option value="2" selected>`, `<option value="disposal" selected>`, `value="` + today + `"`},
			stored: `SELECT COUNT(*) FROM contract_report`},
		{name: "contracts: a report of a day to come", as: node.DemoAdmin, path: "/contracts/reports",
			form:   url.Values{"contract": {"2"}, "kind": {"disposal"}, "date": {tomorrow}, "summary": {"媒体を溶解処理"}},
			status: http.StatusBadRequest, screen: "委託", testid: "record-contract-report", bad: "report-date", msg: "今日より後です",
			kept:   []string{`<option value="disposal" selected>`, `value="媒体を溶解処理"`},
			stored: `SELECT COUNT(*) FROM contract_report`},

		{name: "assets: a name too long", as: node.DemoAdmin, path: "/assets",
			form: url.Values{"kind": {"server"}, "id": {"SV-T2"}, "name": {strings.Repeat("名", 101)}, "location": {"サーバ室"},
				"manager": {node.DemoAdmin}, "installed": {today}, "holds_data": {"1"}},
			status: http.StatusBadRequest, screen: "情報資産", testid: "add-asset", bad: "name", msg: "100文字以内で入力してください",
			kept: []string{`<option value="server" selected>`, `value="SV-T2"`, `value="サーバ室"`, `<option value="` + node.DemoAdmin + `" selected>`,
				`value="` + today + `"`, `value="1" checked`},
			stored: `SELECT COUNT(*) FROM asset`},
		{name: "assets: an id that cannot be", as: node.DemoAdmin, path: "/assets",
			form: url.Values{"kind": {"server"}, "id": {"サーバ1"}, "name": {"CSサーバ"}, "location": {"サーバ室"},
				"manager": {node.DemoAdmin}, "installed": {today}},
			status: http.StatusBadRequest, screen: "情報資産", testid: "add-asset", bad: "id", msg: "管理番号「サーバ1」は英数字",
			kept:   []string{`value="CSサーバ"`, `value="サーバ室"`},
			stored: `SELECT COUNT(*) FROM asset`},
		{name: "assets: an installation day that cannot be read", as: node.DemoAdmin, path: "/assets",
			form: url.Values{"kind": {"server"}, "id": {"SV-T3"}, "name": {"CSサーバ"}, "location": {"サーバ室"},
				"manager": {node.DemoAdmin}, "installed": {"先月"}},
			status: http.StatusBadRequest, screen: "情報資産", testid: "add-asset", bad: "installed", msg: "設置日",
			kept:   []string{`value="SV-T3"`, `value="CSサーバ"`, `value="先月"`},
			stored: `SELECT COUNT(*) FROM asset`},
		{name: "assets: a retirement without its reason", as: node.DemoAdmin, path: "/assets/retire",
			form:   url.Values{"id": {"SV-T1"}, "date": {today}, "reason": {""}, "method": {"destroy"}, "erased_by": {"見本 業者"}, "witness": {node.DemoAdmin}, "erased": {today}},
			status: http.StatusBadRequest, screen: "情報資産", testid: "retire-asset", bad: "reason", msg: "必須項目です",
			kept:   []string{`<option value="SV-T1" selected>`, `<option value="destroy" selected>`, `value="見本 業者"`, `<option value="` + node.DemoAdmin + `" selected>`},
			stored: `SELECT COUNT(*) FROM asset WHERE retired_on IS NOT NULL`},
		{name: "assets: an erasure on a day that cannot be read", as: node.DemoAdmin, path: "/assets/retire",
			form:   url.Values{"id": {"SV-T1"}, "date": {today}, "reason": {"更新"}, "method": {"destroy"}, "erased_by": {"見本 業者"}, "witness": {node.DemoAdmin}, "erased": {"いつか"}},
			status: http.StatusBadRequest, screen: "情報資産", testid: "retire-asset", bad: "erased", msg: "消去・破壊の実施日",
			kept:   []string{`value="更新"`, `value="見本 業者"`, `value="いつか"`},
			stored: `SELECT COUNT(*) FROM asset WHERE retired_on IS NOT NULL`},
		{name: "assets: an asset holding data retired without its erasure", as: node.DemoAdmin, path: "/assets/retire",
			form:   url.Values{"id": {"SV-T1"}, "date": {today}, "reason": {"更新"}, "method": {""}},
			status: http.StatusBadRequest, screen: "情報資産", testid: "retire-asset", bad: "retire-id", msg: "記録媒体の消去・破壊の方法",
			kept:   []string{`<option value="SV-T1" selected>`, `value="更新"`},
			stored: `SELECT COUNT(*) FROM asset WHERE retired_on IS NOT NULL`},

		{name: "facilities: a room without its name", as: node.DemoAdmin, path: "/facilities/rooms",
			form:   url.Values{"id": {"R-NEW"}, "building": {"本庁舎"}, "name": {""}, "level": {"3"}},
			status: http.StatusBadRequest, screen: "入退室・設置", testid: "add-room", bad: "room-name", msg: "必須項目です",
			kept:   []string{`value="R-NEW"`, `value="本庁舎"`, `<option value="3" selected>`},
			stored: `SELECT COUNT(*) FROM facility_room`},
		{name: "facilities: a room that exists", as: node.DemoAdmin, path: "/facilities/rooms",
			form:   url.Values{"id": {node.DemoServerRoom}, "building": {"本庁舎"}, "name": {"第二サーバ室"}, "level": {"2"}},
			status: http.StatusConflict, screen: "入退室・設置", testid: "add-room", bad: "room-id", msg: "は既に登録されています",
			kept:   []string{`value="本庁舎"`, `value="第二サーバ室"`, `<option value="2" selected>`},
			stored: `SELECT COUNT(*) FROM facility_room`},
		{name: "facilities: an authorisation of nobody", as: node.DemoAdmin, path: "/facilities/authorise",
			form:   url.Values{"room": {node.DemoServerRoom}, "person": {"見本"}},
			status: http.StatusBadRequest, screen: "入退室・設置", testid: "authorise", bad: "auth-person", msg: "職員の照合ID「見本」は英数字",
			kept:   []string{`<option value="` + node.DemoServerRoom + `" selected>`},
			stored: `SELECT COUNT(*) FROM facility_authorisation`},
		{name: "facilities: an entry without its purpose", as: node.DemoAdmin, path: "/facilities/entries",
			form:   url.Values{"room": {node.DemoServerRoom}, "person": {node.DemoOperator}, "purpose": {""}, "direction": {"out"}, "time": {minute}},
			status: http.StatusBadRequest, screen: "入退室・設置", testid: "record-entry", bad: "purpose", msg: "必須項目です",
			kept:   []string{`<option value="` + node.DemoServerRoom + `" selected>`, `value="` + node.DemoOperator + `"`, `<option value="out" selected>`, `value="` + minute + `"`},
			stored: `SELECT COUNT(*) FROM facility_entry`},
		{name: "facilities: an entry at a time that cannot be read", as: node.DemoAdmin, path: "/facilities/entries",
			form:   url.Values{"room": {node.DemoServerRoom}, "person": {node.DemoOperator}, "purpose": {"点検"}, "direction": {"in"}, "time": {"朝"}},
			status: http.StatusBadRequest, screen: "入退室・設置", testid: "record-entry", bad: "time", msg: "入退室の日時「朝」を読み取れません",
			kept:   []string{`value="` + node.DemoOperator + `"`, `value="点検"`, `value="朝"`},
			stored: `SELECT COUNT(*) FROM facility_entry`},
		{name: "facilities: a visitor without an escort", as: node.DemoAdmin, path: "/facilities/entries",
			form:   url.Values{"room": {node.DemoServerRoom}, "visitor": {"見本工業 保守員"}, "purpose": {"点検"}, "direction": {"in"}, "time": {minute}},
			status: http.StatusBadRequest, screen: "入退室・設置", testid: "record-entry", bad: "escort", msg: "同行する職員",
			kept:   []string{`value="見本工業 保守員"`, `value="点検"`},
			stored: `SELECT COUNT(*) FROM facility_entry`},
		{name: "facilities: an import with a line that cannot be read", as: node.DemoAdmin, path: "/facilities/import",
			form:   url.Values{"csv": {"room_id,verification_id,direction,time\n" + node.DemoServerRoom + "," + node.DemoAdmin + ",in,朝\n"}},
			status: http.StatusBadRequest, screen: "入退室・設置", testid: "import-entries", bad: "csv", msg: "2行目",
			kept:   []string{node.DemoServerRoom + "," + node.DemoAdmin + ",in,朝"},
			stored: `SELECT COUNT(*) FROM facility_entry`},
		{name: "facilities: an installation in no room", as: node.DemoAdmin, path: "/facilities/install",
			form:   url.Values{"terminal": {node.DemoTerminal}, "room": {"R-NONE"}, "manager": {node.DemoAdmin}},
			status: http.StatusNotFound, screen: "入退室・設置", testid: "install", bad: "terminal", msg: "室ID R-NONE の部屋は登録されていません",
			kept:   []string{`<option value="` + node.DemoTerminal + `" selected>`, `<option value="` + node.DemoAdmin + `" selected>`},
			stored: `SELECT COUNT(*) FROM facility_installation`},

		{name: "protected: a resident code that cannot be", as: node.DemoOfficer, path: "/protected",
			form:   url.Values{"code": {"12345"}, "start": {today}, "end": {"2099-01-01"}, "department": {"kumin"}, "category": {"stalking"}},
			status: http.StatusBadRequest, screen: "支援措置対象者", testid: "mark-protected", bad: "code", msg: "住民票コード：",
			kept:   []string{`value="12345"`, `value="` + today + `"`, `value="2099-01-01"`, `<option value="kumin" selected>`, `<option value="stalking" selected>`},
			stored: `SELECT COUNT(*) FROM protected_resident`},
		{name: "protected: an end before the start", as: node.DemoOfficer, path: "/protected",
			form:   url.Values{"code": {code}, "start": {today}, "end": {"2020-01-01"}, "department": {"kumin"}, "category": {"dv"}},
			status: http.StatusBadRequest, screen: "支援措置対象者", testid: "mark-protected", bad: "end", msg: "より前です",
			kept:   []string{`value="` + code + `"`, `value="2020-01-01"`, `<option value="dv" selected>`},
			stored: `SELECT COUNT(*) FROM protected_resident`},
		{name: "protected: an end on a day that cannot be read", as: node.DemoOfficer, path: "/protected/end",
			form:   url.Values{"id": {"1"}, "date": {"来月"}},
			status: http.StatusBadRequest, screen: "支援措置対象者", testid: "end-protected", bad: "end-date", msg: "終了する日",
			kept:   []string{`<option value="1" selected>`, `value="来月"`},
			stored: `SELECT COUNT(*) FROM protected_resident WHERE ended_on IS NOT NULL`},
		{name: "protected: an end before today", as: node.DemoOfficer, path: "/protected/end",
			form:   url.Values{"id": {"1"}, "date": {"2020-01-01"}},
			status: http.StatusBadRequest, screen: "支援措置対象者", testid: "end-protected", bad: "end-date", msg: "今日より前",
			kept:   []string{`<option value="1" selected>`, `value="2020-01-01"`},
			stored: `SELECT COUNT(*) FROM protected_resident WHERE ended_on IS NOT NULL`},

		{name: "staff: a person's id that cannot be", as: node.DemoAdmin, path: "/staff/people",
			form:   url.Values{"verification_id": {"見本 職員"}, "name": {"見本 花子"}, "kana": {"ミホン ハナコ"}, "department": {"toyosu"}, "title": {"主事"}},
			status: http.StatusBadRequest, screen: "職員・端末", testid: "add-person", bad: "p-vid", msg: "照合ID「見本 職員」は英数字",
			kept:   []string{`value="見本 花子"`, `value="ミホン ハナコ"`, `<option value="toyosu" selected>`, `value="主事"`},
			stored: `SELECT COUNT(*) FROM staff_person`},
		{name: "staff: a kana in hiragana", as: node.DemoAdmin, path: "/staff/people",
			form:   url.Values{"verification_id": {"S-NEW"}, "name": {"見本 花子"}, "kana": {"みほん はなこ"}, "department": {"toyosu"}, "title": {"主事"}},
			status: http.StatusBadRequest, screen: "職員・端末", testid: "add-person", bad: "p-kana", msg: "全角カタカナで入力してください",
			kept:   []string{`value="S-NEW"`, `value="見本 花子"`, `value="みほん はなこ"`, `value="主事"`},
			stored: `SELECT COUNT(*) FROM staff_person`},
		{name: "staff: a role held for a department given none", as: node.DemoAdmin, path: "/staff/roles",
			form:   url.Values{"verification_id": {node.DemoOperator}, "role": {"security_officer"}, "department": {""}},
			status: http.StatusBadRequest, screen: "職員・端末", testid: "assign-role", bad: "r-dept", msg: "この役割には部署の指定が必要です",
			kept:   []string{`value="` + node.DemoOperator + `"`, `<option value="security_officer" selected>`},
			stored: `SELECT COUNT(*) FROM staff_role`},
		{name: "staff: a terminal's id that cannot be", as: node.DemoAdmin, path: "/staff/terminals",
			form:   url.Values{"id": {"端末1"}, "name": {"窓口2番"}, "department": {"kumin"}, "location": {"本庁舎1階"}},
			status: http.StatusBadRequest, screen: "職員・端末", testid: "approve-terminal", bad: "t-id", msg: "端末ID「端末1」は英数字",
			kept:   []string{`value="窓口2番"`, `<option value="kumin" selected>`, `value="本庁舎1階"`},
			stored: `SELECT COUNT(*) FROM staff_terminal`},
		{name: "staff: a terminal's manager who is unknown", as: node.DemoOfficer, path: "/staff/terminals/" + node.DemoTerminal + "/manager",
			form:   url.Values{"manager": {"NOBODY"}, "manager_title": {"課長"}},
			status: http.StatusNotFound, screen: "職員・端末", testid: "manager-" + node.DemoTerminal, bad: "manager-" + node.DemoTerminal + "-vid", msg: "照合ID NOBODY の職員は登録されていません",
			kept: []string{`value="NOBODY"`, `value="課長"`},
			// The terminal's manager stays as reported before (the refusal
			// itself is logged, as every attempt is).
			stored: `SELECT COUNT(*) FROM staff_terminal WHERE manager_title = '課長' OR manager_reported_at IS NULL`},
		{name: "staff: a leave for no reason the register knows", as: node.DemoAdmin, path: "/staff/people/" + node.DemoOperator + "/leave",
			form:   url.Values{"reason": {"dismissal"}},
			status: http.StatusBadRequest, screen: "職員・端末", testid: "leave-" + node.DemoOperator, bad: "leave-" + node.DemoOperator, msg: "理由は「異動」または「退職」を選んでください",
			stored: `SELECT COUNT(*) FROM staff_person WHERE active`},
		{name: "staff: a designation for no affair", as: node.DemoOfficer, path: "/staff/designate",
			form:   url.Values{"verification_id": {node.DemoOperator}, "affair": {"cooking"}},
			status: http.StatusBadRequest, screen: "職員・端末", testid: "designate-" + node.DemoOperator, bad: "affair-" + node.DemoOperator, msg: "利用事務「cooking」はありません",
			stored: `SELECT COUNT(*) FROM staff_designation`},
		{name: "alerts: a finding too long", as: node.DemoChief, path: "/alerts/1/close",
			form:   url.Values{"finding": {strings.Repeat("調", 2001)}},
			status: http.StatusBadRequest, screen: "不正利用の検知", testid: "close-1", bad: "finding-1", msg: "2000文字以内で入力してください",
			kept:   []string{strings.Repeat("調", 2001)},
			stored: `SELECT COUNT(*) FROM detection_alert WHERE state = 'closed'`},
		{name: "alerts: no finding", as: node.DemoChief, path: "/alerts/1/close",
			form:   url.Values{"finding": {""}},
			status: http.StatusBadRequest, screen: "不正利用の検知", testid: "close-1", bad: "finding-1", msg: "調査の結果（所見）を入力してください",
			stored: `SELECT COUNT(*) FROM detection_alert WHERE state = 'closed'`},
		{name: "incidents: a measure without what was done", as: node.DemoChief, path: "/incidents/1/measures",
			form:   url.Values{"kind": {"containment"}, "text": {" "}},
			status: http.StatusBadRequest, screen: "事案", testid: "record-measure", bad: "mtext", msg: "行った措置の内容を入力してください",
			kept:   []string{`<option value="containment" selected>`},
			stored: `SELECT COUNT(*) FROM incident_measure`},
		{name: "incidents: a close before the measures", as: node.DemoChief, path: "/incidents/1/close",
			form:   url.Values{"conclusion": {"再発防止策を講じた"}},
			status: http.StatusBadRequest, screen: "事案", testid: "close-incident", bad: "conclusion", msg: "次の措置の記録が必要です",
			kept:   []string{`value="再発防止策を講じた"`},
			stored: `SELECT COUNT(*) FROM incident WHERE state = 'closed'`},
	}
}

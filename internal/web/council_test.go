package web

import (
	"context"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestCouncilScreen walks the council through its screen on the demo node:
// the demo's past meeting and its overdue directive are shown, in Japanese
// and in English; an alert raised by a late look-up → the chair calls an
// extraordinary meeting from it → the members present (checked against
// the council's seats) → a decision → a directive to 区民課 → its head
// acknowledges and reports completion; the minutes approved by the chair
// close the record. Bad input is refused in the form it came from, tied to
// its inputs with what was typed kept, and nothing is stored; a clerk does
// not see the screen nor acknowledge a directive.
func TestCouncilScreen(t *testing.T) {
	s, code, clock := demoServerClock(t)
	ctx := context.Background()
	chief, officer, clerk, deputy := signIn(t, s, node.DemoChief), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoOperator), signIn(t, s, node.DemoDeputy)

	if rec := clerk.do("GET", "/council", nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "セキュリティ会議の記録の閲覧 を行う権限がありません") {
		t.Errorf("the clerk opens the council: %d", rec.Code)
	}
	page := chief.do("GET", "/council", nil).Body.String()
	for _, want := range []string{`href="/council" aria-current="page"`, `data-testid="meeting-1"`, `data-testid="meeting-closed-1"`, "第1回 定例会議",
		"出席 6人／構成員 11人（定足数 6人）", `data-testid="council-overdue"`, "指示 第2号", "期限超過", `data-testid="convene"`, `data-testid="issue-1"`, `name="place" required maxlength="100"`, `name="text" required maxlength="400"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the chief's council screen lacks %q", want)
		}
	}
	if strings.Contains(page, `data-testid="attend-1"`) || strings.Contains(page, `data-testid="approve-1"`) {
		t.Errorf("the closed demo meeting offers forms")
	}
	if en := chief.do("GET", "/council?lang=en", nil).Body.String(); !strings.Contains(en, "Security council") || !strings.Contains(en, "Overdue directives and requests") ||
		!strings.Contains(en, "Meeting 1 Regular meeting") || !strings.Contains(en, "Present 6 of 11 (quorum 6)") {
		t.Errorf("English council screen lacks its words")
	}
	chief.do("GET", "/council?lang=ja", nil)

	// A look-up late last night raises an alert; the chair calls a meeting from it.
	night := jptext.Midnight(clock.Now()).Add(-20 * time.Minute)
	if _, err := s.node.Log.Append(ctx, auditlog.Entry{Time: night, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator},
		Origin: "terminal:" + node.DemoTerminal, Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK,
		Count: 1, Subjects: []string{code}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.node.Detect.Run(ctx); err != nil {
		t.Fatal(err)
	}
	alerts, err := detect.List(ctx, s.node.DB, false)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts: %v %v", alerts, err)
	}
	source := fmt.Sprintf("alert:%d", alerts[0].ID)
	if page := chief.do("GET", "/council?source="+source, nil).Body.String(); !strings.Contains(page, `<option value="`+source+`" selected>`) ||
		!strings.Contains(page, `<option value="extraordinary" selected>`) {
		t.Errorf("the screen opened from the alert does not preselect it")
	}
	now := clock.Now().In(jptext.JST)
	convene := url.Values{"kind": {"extraordinary"}, "date": {now.Format(time.DateOnly)}, "time": {"25:00"}, "place": {"危機管理室"}, "source": {source}}
	before, _ := council.List(ctx, s.node.DB)
	rec := chief.do("POST", "/council/meetings", convene)
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `id="error-convene"`) || !strings.Contains(body, "開催時刻「25:00」を読み取れません") ||
		!strings.Contains(body, `value="危機管理室" aria-invalid="true" aria-describedby="error-convene"`) || !strings.Contains(body, `<option value="`+source+`" selected>`) {
		t.Errorf("bad time: %d\n%s", rec.Code, body)
	}
	if after, _ := council.List(ctx, s.node.DB); len(after) != len(before) {
		t.Errorf("a refused meeting was stored")
	}
	convene.Set("time", now.Add(-time.Minute).Format("15:04"))
	if now.Hour() == 0 && now.Minute() == 0 {
		convene.Set("time", "00:00")
	}
	if rec := chief.do("POST", "/council/meetings", convene); rec.Code != 303 || rec.Header().Get("Location") != "/council#meeting-2" {
		t.Fatalf("convene: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	m, err := council.Get(ctx, s.node.DB, 2)
	if err != nil || m.Kind != council.Extraordinary || m.Source != source || len(m.Items) != 2 || m.Items[0].RefKind != council.RefAlert || m.Items[1].RefKind != council.RefDirective {
		t.Fatalf("the meeting called from the alert (its item, then the overdue directive): %+v %v", m, err)
	}

	// Attendance: the members by their seats, a clerk only as staff called.
	rec = chief.do("POST", "/council/attend", url.Values{"meeting": {"2"}, "member": {node.DemoChief, node.DemoDeputy}, "related": {"NOBODY"}})
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `id="error-attend-2"`) || !strings.Contains(body, "照合ID NOBODY は職員として登録されていない") ||
		!strings.Contains(body, `value="NOBODY" aria-invalid="true" aria-describedby="error-attend-2"`) || !strings.Contains(body, `value="`+node.DemoChief+`" checked`) {
		t.Errorf("attendance with an unknown person: %d\n%s", rec.Code, body)
	}
	if m, _ := council.Get(ctx, s.node.DB, 2); len(m.Attendees) != 0 {
		t.Errorf("the refused form stored attendance: %+v", m.Attendees)
	}
	if rec := chief.do("POST", "/council/attend", url.Values{"meeting": {"2"}, "member": {node.DemoChief, node.DemoDeputy, node.DemoOfficer},
		"related": {node.DemoOperator}}); rec.Code != 303 {
		t.Fatalf("attend: %d %s", rec.Code, rec.Body.String())
	}
	rec = chief.do("POST", "/council/decisions", url.Values{"meeting": {"2"}, "item": {fmt.Sprint(m.Items[0].ID)}, "text": {"照会記録を点検する"}, "method": {"consent"}})
	if body := rec.Body.String(); rec.Code != 409 || !strings.Contains(body, `id="error-decide-2"`) || !strings.Contains(body, "定足数の6人に達していない") || !strings.Contains(body, ">照会記録を点検する</textarea>") {
		t.Errorf("a decision without quorum: %d\n%s", rec.Code, body)
	}
	if rec := chief.do("POST", "/council/attend", url.Values{"meeting": {"2"}, "member": {node.DemoAdmin, node.DemoSomu, node.DemoKiki}}); rec.Code != 303 {
		t.Fatalf("attend the rest: %d %s", rec.Code, rec.Body.String())
	}
	page = chief.do("GET", "/council", nil).Body.String()
	if !regexp.MustCompile(`data-testid="meeting-quorum-2">出席 6人／構成員 11人（定足数 6人）：\s*定足数を満たしています`).MatchString(page) || !strings.Contains(page, "関係職員</td><td>主事（デモ）") {
		t.Errorf("the meeting's attendance is not shown against the quorum")
	}
	rec = chief.do("POST", "/council/decisions", url.Values{"meeting": {"2"}, "item": {fmt.Sprint(m.Items[0].ID)}, "text": {"照会記録を点検し、区民課は結果を報告する"}, "method": {"vote"}, "for": {"6"}, "against": {"0"}})
	if rec.Code != 303 {
		t.Fatalf("decide: %d %s", rec.Code, rec.Body.String())
	}
	m, _ = council.Get(ctx, s.node.DB, 2)
	dec := fmt.Sprint(m.Decisions[0].ID)

	// The chief directs 区民課; its head acknowledges and reports completion.
	issue := url.Values{"decision": {dec}, "kind": {"directive"}, "department": {demoDept(s)}, "text": {"照会記録を点検し報告すること"}, "due": {"きのう"}}
	rec = chief.do("POST", "/council/directives", issue)
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `id="error-issue-`+dec+`"`) || !strings.Contains(body, "期限「きのう」を読み取れません") ||
		!strings.Contains(body, `value="照会記録を点検し報告すること" aria-invalid="true"`) {
		t.Errorf("a directive with a bad due day: %d\n%s", rec.Code, body)
	}
	issue.Set("due", now.AddDate(0, 0, 7).Format(time.DateOnly))
	if rec := officer.do("POST", "/council/directives", issue); rec.Code != 403 {
		t.Errorf("the officer directs: %d", rec.Code)
	}
	rec = chief.do("POST", "/council/directives", issue)
	if rec.Code != 303 {
		t.Fatalf("issue: %d %s", rec.Code, rec.Body.String())
	}
	id := strings.TrimPrefix(rec.Header().Get("Location"), "/council#directive-")
	if page := officer.do("GET", "/council", nil).Body.String(); !strings.Contains(page, `data-testid="ack-`+id+`"`) || strings.Contains(page, `data-testid="convene"`) {
		t.Errorf("the officer is not offered to acknowledge %s, or is offered to convene", id)
	}
	if rec := clerk.do("POST", "/council/directives/ack", url.Values{"directive": {id}}); rec.Code != 403 {
		t.Errorf("the clerk acknowledges: %d", rec.Code)
	}
	if rec := officer.do("POST", "/council/directives/ack", url.Values{"directive": {id}}); rec.Code != 303 {
		t.Fatalf("ack: %d %s", rec.Code, rec.Body.String())
	}
	rec = officer.do("POST", "/council/directives/complete", url.Values{"directive": {id}, "note": {"点検\x07"}})
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `id="error-complete-`+id+`"`) || !strings.Contains(body, "完了の報告") {
		t.Errorf("a completion with a control character: %d\n%s", rec.Code, body)
	}
	if rec := officer.do("POST", "/council/directives/complete", url.Values{"directive": {id}, "note": {"照会記録を点検した。不適正な照会なし"}}); rec.Code != 303 {
		t.Fatalf("complete: %d %s", rec.Code, rec.Body.String())
	}
	if page := chief.do("GET", "/council", nil).Body.String(); !strings.Contains(page, "照会記録を点検した。不適正な照会なし") {
		t.Errorf("the completion is not shown")
	}

	// Minutes: the vice chair may not approve while the chair attended; the chair closes the record.
	if rec := chief.do("POST", "/council/minutes", url.Values{"meeting": {"2"}, "minutes": {"1 開会\r\n2 検知への対応を決定\r\n3 閉会"}}); rec.Code != 303 {
		t.Fatalf("minutes: %d %s", rec.Code, rec.Body.String())
	}
	if rec := deputy.do("POST", "/council/approve", url.Values{"meeting": {"2"}}); rec.Code != 403 || !strings.Contains(rec.Body.String(), "副議長は議事録を承認できません") {
		t.Errorf("the vice chair approves: %d", rec.Code)
	}
	if rec := chief.do("POST", "/council/approve", url.Values{"meeting": {"2"}}); rec.Code != 303 {
		t.Fatalf("approve: %d %s", rec.Code, rec.Body.String())
	}
	rec = chief.do("POST", "/council/attend", url.Values{"meeting": {"2"}, "related": {node.DemoUntrained}})
	if body := rec.Body.String(); rec.Code != 409 || !strings.Contains(body, "記録は確定しています") || !strings.Contains(body, `data-testid="council-error"`) {
		t.Errorf("attendance after approval: %d\n%s", rec.Code, body)
	}
	page = chief.do("GET", "/council", nil).Body.String()
	if !strings.Contains(page, `data-testid="meeting-closed-2"`) || !strings.Contains(page, "<p>2 検知への対応を決定</p>") || strings.Contains(page, `data-testid="attend-2"`) {
		t.Errorf("the closed meeting is not shown closed with its minutes")
	}
	entries, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{After: -1, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range entries {
		if !strings.HasPrefix(e.Action, "council.") || e.Actor != "operator:"+node.DemoChief || e.Entry.Origin == "host:demo-seed" {
			continue
		}
		got[e.Action+"/"+e.Entry.Outcome]++
	}
	for k, n := range map[string]int{"council.convene/ok": 1, "council.attend/ok": 2, "council.attend/error": 2, "council.decide/ok": 1, "council.decide/error": 1,
		"council.directive/ok": 1, "council.minutes/ok": 1, "council.approve-minutes/ok": 1} {
		if got[k] != n {
			t.Errorf("the chief's audit entries %s = %d, want %d (%v)", k, got[k], n, got)
		}
	}
}

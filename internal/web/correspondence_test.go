package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/correspondence"
	"jukinet/internal/federation"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/staff"
)

// withTokyo registers 東京都 (130001) as the demo ward's upstream peer and
// returns its node, whose key signs the documents it sends.
func withTokyo(t *testing.T, s *Server) *node.Node {
	t.Helper()
	tokyo, _ := nodetest.Open(t, node.InitOptions{Profile: "aomori-pref", LocalGovCode: "130001"})
	b, err := federation.Export(tokyo, "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	console := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Origin: "host:test"}
	if err := federation.Add(context.Background(), s.node, console, federation.Upstream, b); err != nil {
		t.Fatal(err)
	}
	return tokyo
}

// TestCorrespondenceScreen: the chief security officer drafts a report to
// Tokyo with references picked from the ward's records (bad input shown
// again in its form, tied to its inputs, nothing stored), and sees it
// queued with its signed note; a request to investigate an access arrives
// from Tokyo, shows as open, then overdue on the screen and the dashboard
// once its due day is over, and is answered from its page; in Japanese and
// in English. A clerk and a security officer do not see the screen.
func TestCorrespondenceScreen(t *testing.T) {
	s, _, clock := demoServerClock(t)
	ctx := context.Background()
	tokyo := withTokyo(t, s)
	chief, clerk := signIn(t, s, node.DemoChief), signIn(t, s, node.DemoOperator)
	if rec := clerk.do("GET", "/correspondence", nil); rec.Code != 403 || !strings.Contains(rec.Body.String(), "他機関との報告・依頼の閲覧 を行う権限がありません") {
		t.Errorf("the clerk opens the correspondence: %d", rec.Code)
	}
	page := chief.do("GET", "/correspondence", nil).Body.String()
	for _, want := range []string{`href="/correspondence" aria-current="page"`, `data-testid="corr-send"`, `<option value="130001">東京都（130001）</option>`,
		`<option value="investigate">アクセスの調査の依頼</option>`, `value="audit:1"`, `name="subject" required maxlength="100"`, "送付した文書はありません。"} {
		if !strings.Contains(page, want) {
			t.Errorf("the chief's screen lacks %q", want)
		}
	}
	if en := chief.do("GET", "/correspondence?lang=en", nil).Body.String(); !strings.Contains(en, "Reports and requests") || !strings.Contains(en, "Sign and send") {
		t.Errorf("the English screen lacks its words")
	}
	chief.do("GET", "/correspondence?lang=ja", nil)

	report := url.Values{"to": {"130001"}, "kind": {"incident"}, "subject": {""}, "body": {"研修切れの職員による照会の試みを確認しました。"}, "ref": {"audit:1"}, "refs": {"audit-entry:12"}}
	rec := chief.do("POST", "/correspondence", report)
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `id="error-send"`) || !strings.Contains(body, "件名") ||
		!strings.Contains(body, `aria-invalid="true" aria-describedby="error-send"`) || !strings.Contains(body, ">研修切れの職員による照会の試みを確認しました。</textarea>") ||
		!strings.Contains(body, `value="audit:1" selected`) || !strings.Contains(body, `value="audit-entry:12"`) {
		t.Errorf("a report without a subject: %d\n%s", rec.Code, body)
	}
	report.Set("subject", "研修未了者の照会について（報告）")
	report.Set("refs", "resident:123")
	if rec := chief.do("POST", "/correspondence", report); rec.Code != 400 || !strings.Contains(rec.Body.String(), "参照「resident:123」を読み取れません") {
		t.Errorf("a reference naming a resident: %d", rec.Code)
	}
	if all, _ := correspondence.List(ctx, s.node.DB, ""); len(all) != 0 {
		t.Fatalf("refused forms stored %+v", all)
	}
	report.Set("refs", "audit-entry:12")
	rec = chief.do("POST", "/correspondence", report)
	if rec.Code != 303 || rec.Header().Get("Location") != "/correspondence/131083-130001-1" {
		t.Fatalf("send: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	doc := chief.do("GET", "/correspondence/131083-130001-1", nil).Body.String()
	for _, want := range []string{"送信待ち", "研修未了者の照会について（報告）", "<code>audit:1</code>", "<code>audit-entry:12</code>", "jukinet-correspondence v1", "東京都（130001）"} {
		if !strings.Contains(doc, want) {
			t.Errorf("the document's page lacks %q", want)
		}
	}

	// Tokyo asks the ward to investigate an access.
	today := jptext.Midnight(clock.Now())
	req := correspondence.Document{ID: "130001-131083-1", Sender: "130001", Recipient: "131083", Seq: 1, Kind: correspondence.KindInvestigate,
		Subject: "アクセスの調査の依頼", Body: "貴区の記録 4821 番の照会について調査し、回答願います。", References: []string{"audit-entry:4821"},
		Due: today.AddDate(0, 0, 2), SentBy: "operator:TKY", SentByName: "東京 管理", SentAt: clock.Now()}
	msg, err := correspondence.Sign(req, tokyo.Signer)
	if err != nil {
		t.Fatal(err)
	}
	req.Note = string(msg)
	if _, err := s.node.Correspondence.Receive(ctx, auditlog.Actor{Kind: auditlog.ActorPeer, ID: "130001"}, req); err != nil {
		t.Fatal(err)
	}
	if page := chief.do("GET", "/correspondence", nil).Body.String(); !strings.Contains(page, `data-testid="doc-130001-131083-1"`) || !strings.Contains(page, "回答待ち") || strings.Contains(page, `data-testid="corr-overdue"`) {
		t.Errorf("the open request is not shown as open")
	}
	clock.Set(today.AddDate(0, 0, 3).Add(9 * time.Hour))
	chief, clerk = signIn(t, s, node.DemoChief), signIn(t, s, node.DemoOperator) // a new day, new sessions
	if page := chief.do("GET", "/correspondence", nil).Body.String(); !strings.Contains(page, `data-testid="corr-overdue"`) || !strings.Contains(page, "回答期限超過") {
		t.Errorf("the overdue request is not flagged on the screen")
	}
	if dash := chief.do("GET", "/", nil).Body.String(); !strings.Contains(dash, `data-testid="overdue-requests"`) || !strings.Contains(dash, "130001-131083-1") {
		t.Errorf("the overdue request is not on the chief's dashboard")
	}
	if dash := clerk.do("GET", "/", nil).Body.String(); strings.Contains(dash, `data-testid="overdue-requests"`) {
		t.Errorf("the clerk's dashboard shows the correspondence")
	}
	page = chief.do("GET", "/correspondence/130001-131083-1", nil).Body.String()
	if !strings.Contains(page, `data-testid="corr-answer"`) || !strings.Contains(page, `value="「アクセスの調査の依頼」への回答"`) {
		t.Errorf("the request's page offers no answer")
	}
	rec = chief.do("POST", "/correspondence/130001-131083-1/answer", url.Values{"subject": {"調査結果"}, "body": {""}})
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `id="error-answer"`) || !strings.Contains(body, "本文") || !strings.Contains(body, `value="調査結果"`) {
		t.Errorf("an answer without text: %d\n%s", rec.Code, body)
	}
	rec = chief.do("POST", "/correspondence/130001-131083-1/answer", url.Values{"subject": {"調査結果"}, "body": {"業務上の照会と確認しました。"}, "refs": {"audit-entry:4821"}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/correspondence/131083-130001-2" {
		t.Fatalf("answer: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	page = chief.do("GET", "/correspondence/130001-131083-1", nil).Body.String()
	if !strings.Contains(page, "回答済み") || !strings.Contains(page, `href="/correspondence/131083-130001-2"`) || strings.Contains(page, `data-testid="corr-answer"`) {
		t.Errorf("the answered request's page")
	}
	if dash := chief.do("GET", "/", nil).Body.String(); strings.Contains(dash, `data-testid="overdue-requests"`) {
		t.Errorf("the answered request is still on the dashboard")
	}
}

package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestAlertsScreen: a look-up late at night is detected; the chief and the
// security officer see it (in the menu, on the dashboard and on the
// screen); the security officer closes it with a finding, which a clerk
// may not; closed alerts are shown on request.
func TestAlertsScreen(t *testing.T) {
	s, code := demoServer(t)
	ctx := context.Background()
	night := time.Date(2026, 12, 1, 23, 40, 0, 0, jptext.JST) // a Tuesday
	if _, err := s.node.Log.Append(ctx, auditlog.Entry{Time: night, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator},
		Origin: "terminal:DEMO-T", Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK,
		Count: 1, Subjects: []string{code}, Provision: &auditlog.Provision{Function: "lookup", Affair: "juki", Reason: "確認", Provider: "131083", Recipient: "operator:" + node.DemoOperator}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.node.Detect.Run(ctx); err != nil {
		t.Fatal(err)
	}
	chief := signIn(t, s, node.DemoChief)
	body := chief.do("GET", "/alerts", nil).Body.String()
	if !strings.Contains(body, "時間外の照会") || !strings.Contains(body, "operator:"+node.DemoOperator) || !strings.Contains(body, `data-testid="open-alerts">1<`) {
		t.Fatalf("alerts screen lacks the alert or the menu's count: %s", body)
	}
	if !strings.Contains(body, "令和8年12月1日（2026年12月1日）") {
		t.Errorf("the alert's day is not in 和暦 with 西暦 on the Japanese screen")
	}
	if !strings.Contains(body, "開庁時間（開庁日の08:30–17:15）外の照会 1件：23:40 照会") {
		t.Errorf("the alert's detail is not in Japanese on the Japanese screen")
	}
	if !strings.Contains(body, `data-testid="alert-to-incident"`) {
		t.Errorf("the chief is not offered to record the alert as an incident")
	}
	// The chair calls a meeting from the alert (koto-ward:5); the form
	// comes with the alert chosen as its source.
	if !strings.Contains(body, `href="/council?source=alert:`) {
		t.Errorf("the chief is not offered to call a council meeting from the alert")
	}
	if so := signIn(t, s, node.DemoOperator).do("GET", "/alerts", nil).Body.String(); strings.Contains(so, `data-testid="alert-to-council"`) {
		t.Errorf("an operator is offered to call a council meeting")
	}
	if home := chief.do("GET", "/", nil).Body.String(); !strings.Contains(home, `data-testid="alerts-notice"`) {
		t.Errorf("the dashboard does not say there is an open alert")
	}
	if en := chief.do("GET", "/alerts?lang=en", nil).Body.String(); !strings.Contains(en, "Look-ups out of office hours") || !strings.Contains(en, "1 access out of office hours") || !strings.Contains(en, "Improper-use alerts") {
		t.Errorf("English alerts screen: %s", en)
	}
	var id string
	if i := strings.Index(body, `action="/alerts/`); i >= 0 {
		id = strings.SplitN(body[i+len(`action="/alerts/`):], "/", 2)[0]
	}
	if id == "" {
		t.Fatal("no close form for the chief security officer")
	}
	clerk := signIn(t, s, node.DemoOperator)
	if rec := clerk.do("POST", "/alerts/"+id+"/close", url.Values{"finding": {"自分で閉じる"}}); rec.Code != http.StatusForbidden {
		t.Errorf("a clerk closing an alert: %d", rec.Code)
	}
	officer := signIn(t, s, node.DemoOfficer)
	if rec := officer.do("POST", "/alerts/"+id+"/close", url.Values{"finding": {""}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "（所見）を入力してください") {
		t.Errorf("closing without a finding: %d", rec.Code)
	}
	if rec := officer.do("POST", "/alerts/"+id+"/close", url.Values{"finding": {"夜間の住民異動対応。課長確認済み"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("closing: %d %s", rec.Code, rec.Body.String())
	}
	if body := officer.do("GET", "/alerts", nil).Body.String(); !strings.Contains(body, `data-testid="no-alerts"`) || strings.Contains(body, `data-testid="open-alerts"`) {
		t.Errorf("after closing, the screen still shows an open alert")
	}
	if body := officer.do("GET", "/alerts?all=1", nil).Body.String(); !strings.Contains(body, "夜間の住民異動対応") || !strings.Contains(body, "対応済み") {
		t.Errorf("closed alert not shown with its finding")
	}
}

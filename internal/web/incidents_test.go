package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/node"
)

// TestIncidentScreens: the chief security officer records an incident of
// leakage, is told which measures are missing, records them and closes it;
// the security officer sees it but may not record; the screens speak
// English on the switch.
func TestIncidentScreens(t *testing.T) {
	s, _ := demoServer(t)
	chief := signIn(t, s, node.DemoChief)
	// A security officer may see incidents but not record one: the screen
	// says who may, instead of a missing form (no dead end).
	officer := signIn(t, s, node.DemoOfficer)
	if body := officer.do("GET", "/incidents?alert=1", nil).Body.String(); strings.Contains(body, `data-testid="open-incident"`) ||
		!strings.Contains(body, `data-testid="incident-who-may"`) || !strings.Contains(body, "事案の記録 を行う権限がありません（") {
		t.Errorf("the officer's incident screen neither offers the form nor says who may:\n%s", body)
	}
	rec := chief.do("POST", "/incidents", url.Values{"kind": {"leakage"}, "title": {"帳票の紛失"}, "summary": {"窓口で交付用帳票1枚が所在不明"}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/incidents/1" {
		t.Fatalf("open: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
	body := chief.do("GET", "/incidents/1", nil).Body.String()
	if !strings.Contains(body, "帳票の紛失") || !strings.Contains(body, `data-testid="missing"`) || !strings.Contains(body, "住民への周知") {
		t.Fatalf("incident page: %s", body)
	}
	if rec := chief.do("POST", "/incidents/1/close", url.Values{"conclusion": {"終わり"}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "次の措置の記録が必要です") {
		t.Errorf("closing early: %d", rec.Code)
	}
	if rec := officer.do("POST", "/incidents/1/measures", url.Values{"kind": {"note"}, "text": {"x"}}); rec.Code != http.StatusForbidden {
		t.Errorf("a security officer recording: %d", rec.Code)
	}
	if body := officer.do("GET", "/incidents/1", nil).Body.String(); !strings.Contains(body, "帳票の紛失") || strings.Contains(body, `data-testid="record-measure"`) {
		t.Errorf("the security officer's view offers the forms, or lacks the incident")
	}
	for _, m := range [][2]string{{"coordination", "東京都に報告"}, {"notice", "該当者へ通知"}, {"assessment", "1名分、外部流出なし"}} {
		if rec := chief.do("POST", "/incidents/1/measures", url.Values{"kind": {m[0]}, "text": {m[1]}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("measure %s: %d %s", m[0], rec.Code, rec.Body.String())
		}
	}
	if rec := chief.do("POST", "/incidents/1/close", url.Values{"conclusion": {"庁内で発見、廃棄済み"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("close: %d %s", rec.Code, rec.Body.String())
	}
	if body := chief.do("GET", "/incidents", nil).Body.String(); !strings.Contains(body, `data-testid="no-incidents"`) {
		t.Errorf("the closed incident is still listed as open")
	}
	if body := chief.do("GET", "/incidents?all=1&lang=en", nil).Body.String(); !strings.Contains(body, "Leakage or suspected leakage") || !strings.Contains(body, "Closed") {
		t.Errorf("English list: %s", body)
	}
	if rec := chief.do("GET", "/incidents/99", nil); rec.Code != http.StatusNotFound {
		t.Errorf("a missing incident: %d", rec.Code)
	}
}

package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/clocktest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/synth"
)

// TestProtectedScreen walks a support measure (支援措置) on the screens: the
// residents' division's security officer marks the demo resident (a
// category that is not one is refused naming the field, nothing stored);
// the register lists it (the operator may not open it); the clerk's form
// says a protected resident needs a case reference; a look-up without one
// is refused saying so, a search withholds the resident saying why, a
// look-up with one shows the record marked protected; the alerts screen
// marks the immediate alert and the dashboard announces it, before any
// detection run.
func TestProtectedScreen(t *testing.T) {
	s, code := demoServer(t)
	g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	rec := g.Next()
	officer := signIn(t, s, node.DemoOfficer)
	today := s.node.Now().In(jptext.JST)
	mark := url.Values{"code": {code}, "start": {today.Format(time.DateOnly)}, "end": {today.AddDate(0, 3, 0).Format(time.DateOnly)}, "department": {"kumin"}, "category": {"dv"}}
	bad := url.Values{}
	for k, v := range mark {
		bad[k] = v
	}
	bad.Set("category", "近所")
	if r := officer.do("POST", "/protected", bad); r.Code != http.StatusBadRequest || !strings.Contains(r.Body.String(), "区分") {
		t.Fatalf("bad category: %d %s", r.Code, r.Body.String())
	}
	if body := officer.do("GET", "/protected", nil).Body.String(); !strings.Contains(body, `data-testid="protected-none"`) {
		t.Fatalf("a refused mark was stored")
	}
	if r := officer.do("POST", "/protected", mark); r.Code != http.StatusSeeOther {
		t.Fatalf("mark: %d %s", r.Code, r.Body.String())
	}
	if body := officer.do("GET", "/protected", nil).Body.String(); !strings.Contains(body, code) || !strings.Contains(body, "実施中") || !strings.Contains(body, "配偶者からの暴力") {
		t.Fatalf("the register does not list the mark:\n%s", body)
	}
	clerk := signIn(t, s, node.DemoOperator)
	if r := clerk.do("GET", "/protected", nil); r.Code != http.StatusForbidden {
		t.Errorf("the operator opens the register: %d", r.Code)
	}
	if body := clerk.do("GET", "/lookup", nil).Body.String(); !strings.Contains(body, `data-testid="case-hint"`) || !strings.Contains(body, "支援措置") {
		t.Errorf("the form does not say why a case reference is needed")
	}
	look := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
	if r := clerk.do("POST", "/lookup", look); r.Code != http.StatusForbidden || !strings.Contains(r.Body.String(), "案件番号") {
		t.Errorf("look-up without a case reference: %d", r.Code)
	}
	search := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"search"}, "name": {rec.FamilyName + rec.GivenName},
		"birth": {rec.DateOfBirth.Format(time.DateOnly)}}
	if r := clerk.do("POST", "/lookup", search); r.Code != 200 || !strings.Contains(r.Body.String(), `data-testid="withheld"`) || strings.Contains(r.Body.String(), rec.Address) {
		t.Errorf("search without a case reference: %d", r.Code)
	}
	look.Set("case", "受付-R8-12")
	if r := clerk.do("POST", "/lookup", look); r.Code != 200 || !strings.Contains(r.Body.String(), `data-testid="protected-record"`) || !strings.Contains(r.Body.String(), rec.FamilyName) {
		t.Errorf("look-up with a case reference: %d", r.Code)
	}
	chief := signIn(t, s, node.DemoChief)
	if body := chief.do("GET", "/alerts", nil).Body.String(); !strings.Contains(body, `data-testid="immediate-alert"`) || !strings.Contains(body, "支援措置対象者の照会") {
		t.Errorf("the alerts screen does not mark the immediate alert")
	}
	if body := chief.do("GET", "/", nil).Body.String(); !strings.Contains(body, `data-testid="protected-alerts-notice"`) {
		t.Errorf("the dashboard does not announce the immediate alert")
	}
	if body := chief.do("GET", "/?lang=en", nil).Body.String(); !strings.Contains(body, "Open alerts of reads of protected residents") {
		t.Errorf("the dashboard's notice in English")
	}
}

// TestAPIProtectedResidents: the register through /api/v1: a clerk may
// not list it (403, logged by the register); the system administrator
// marks the demo resident (a bad category is 400 naming the field, nothing
// stored), lists it in force, and ends it at once, after which it is
// no longer in force; on both databases.
func TestAPIProtectedResidents(t *testing.T) { onBothDatabases(t, testAPIProtectedResidents) }

func testAPIProtectedResidents(t *testing.T, s *Server, clock *clocktest.Clock) {
	admin, clerk := signIn(t, s, node.DemoAdmin), signIn(t, s, node.DemoOperator)
	rec, v := clerk.call("GET", "/api/v1/protected-residents", "", "")
	wantProblem(t, "the clerk lists the register", rec, v, 403, "forbidden", "支援措置対象者の一覧の閲覧")
	g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	code := string(g.Next().ResidentCode)
	today := clock.Now().In(jptext.JST)
	body := func(category string) string {
		return fmt.Sprintf(`{"resident_code":%q,"start":%q,"end":%q,"department":"kumin","category":%q}`, code, today.Format(time.DateOnly), today.AddDate(0, 2, 0).Format(time.DateOnly), category)
	}
	rec, v = admin.call("POST", "/api/v1/protected-residents", "", body("近所の人"))
	wantProblem(t, "a bad category", rec, v, 400, "invalid", "区分")
	rec, v = admin.call("POST", "/api/v1/protected-residents", "", body("stalking"))
	if rec.Code != 201 || rec.Header().Get("Location") != "/api/v1/protected-residents/1" {
		t.Fatalf("mark: %d %v", rec.Code, v)
	}
	rec, v = admin.call("GET", "/api/v1/protected-residents", "", "")
	list, _ := v["protected_residents"].([]any)
	if rec.Code != 200 || len(list) != 1 || list[0].(map[string]any)["resident_code"] != code || list[0].(map[string]any)["in_force"] != true {
		t.Fatalf("list: %d %v", rec.Code, v)
	}
	if rec, v = admin.call("POST", "/api/v1/protected-residents/1/end", "", fmt.Sprintf(`{"date":%q}`, today.Format(time.DateOnly))); rec.Code != 200 || v["ended_on"] != today.Format(time.DateOnly) {
		t.Fatalf("end: %d %v", rec.Code, v)
	}
	rec, v = admin.call("GET", "/api/v1/protected-residents?all=1", "", "")
	if list, _ := v["protected_residents"].([]any); len(list) != 1 || list[0].(map[string]any)["in_force"] != false || list[0].(map[string]any)["ended_on"] != today.Format(time.DateOnly) {
		t.Fatalf("after the end: %v", v)
	}
}

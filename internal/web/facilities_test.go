package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestFacilitiesScreen walks koto-ward:11 on the screen: the system
// administrator sees the demo's rooms, the demo terminal's installation and
// the unauthorised entry marked; a room with bad input and a card-reader
// CSV with a bad line are refused naming the field, the line and column,
// and store nothing; a good room is recorded; the screen has its English.
func TestFacilitiesScreen(t *testing.T) {
	s, _ := demoServer(t)
	admin := signIn(t, s, node.DemoAdmin)
	body := admin.do("GET", "/facilities", nil).Body.String()
	for _, want := range []string{"入退室・設置", `data-testid="room-` + node.DemoServerRoom + `"`, `data-testid="installation-` + node.DemoTerminal + `"`,
		`data-testid="record-entry"`, `data-testid="import-entries"`, `href="/facilities"`} {
		if !strings.Contains(body, want) {
			t.Errorf("facilities screen lacks %q", want)
		}
	}
	// The demo operator is not authorised for the server room: the entry
	// is recorded and marked.
	now := s.node.Now().In(jptext.JST).Format("2006-01-02 15:04")
	entry := url.Values{"room": {node.DemoServerRoom}, "person": {node.DemoOperator}, "purpose": {""}, "direction": {"in"}, "time": {now}}
	if rec := admin.do("POST", "/facilities/entries", entry); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "目的") {
		t.Errorf("entry without a purpose: %d", rec.Code)
	}
	entry.Set("purpose", "書類の受け取り")
	if rec := admin.do("POST", "/facilities/entries", entry); rec.Code != http.StatusSeeOther {
		t.Fatalf("entry: %d %s", rec.Code, rec.Body.String())
	}
	if body := admin.do("GET", "/facilities", nil).Body.String(); !strings.Contains(body, `data-testid="unauthorised"`) {
		t.Errorf("the unauthorised entry is not marked")
	}
	if rec := admin.do("POST", "/facilities/rooms", url.Values{"id": {"R-NEW"}, "building": {"本庁舎"}, "name": {""}, "level": {"2"}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "室名") {
		t.Errorf("room without a name: %d", rec.Code)
	}
	day := s.node.Now().In(jptext.JST).Format("2006-01-02")
	csv := "room_id,verification_id,direction,time\n" + node.DemoServerRoom + "," + node.DemoAdmin + ",in," + day + " 07:00\n" + node.DemoServerRoom + "," + node.DemoAdmin + ",in,朝\n"
	if rec := admin.do("POST", "/facilities/import", url.Values{"csv": {csv}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "3行目 4列") {
		t.Errorf("bad import: %d %s", rec.Code, rec.Body.String())
	}
	if body := admin.do("GET", "/facilities", nil).Body.String(); strings.Contains(body, "R-NEW") || strings.Contains(body, ">card<") {
		t.Errorf("refused input was stored")
	}
	if rec := admin.do("POST", "/facilities/rooms", url.Values{"id": {"R-NEW"}, "building": {"本庁舎"}, "name": {"保管庫"}, "level": {"3"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("room: %d %s", rec.Code, rec.Body.String())
	}
	if body := admin.do("GET", "/facilities?lang=en", nil).Body.String(); !strings.Contains(body, "Rooms and installations") || !strings.Contains(body, "level 3 (storage") {
		t.Errorf("facilities screen in English")
	}
}

package web

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/incident"
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

// TestOpenIncidentRefusedAtItsField: an incident opened with a bad field
// gets the incidents screen again, never a bare error page: the error next
// to its input (aria-invalid, aria-describedby to the message, autofocus on
// it), the other inputs unmarked, and everything typed kept (issue 23
// item 6).
func TestOpenIncidentRefusedAtItsField(t *testing.T) {
	s, _ := demoServer(t)
	chief := signIn(t, s, node.DemoChief)
	good := url.Values{"kind": {"misuse"}, "title": {"夜間の照会"}, "summary": {"深夜に同一住民への照会が続いた"}, "alert": {""}}
	tests := []struct {
		name, field, value, want string
		status                   int
	}{
		{"no title", "title", "  ", "事案の件名を入力してください", 400},
		{"a title too long", "title", strings.Repeat("長", incident.FieldTitle.Max+1), "200文字以内で入力してください", 400},
		{"a summary with a control character", "summary", "概要\x07です", "概要：", 400},
		{"an alert that is no number", "alert", "三", "検知の番号を数字で入力してください", 400},
		{"an alert that does not exist", "alert", "999", "検知 999 はありません", 404},
		{"an unknown kind", "kind", "theft", "事案の種類を選んでください", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{}
			for k, v := range good {
				form[k] = v
			}
			form.Set(tt.field, tt.value)
			rec := chief.do("POST", "/incidents", form)
			body := rec.Body.String()
			if rec.Code != tt.status || !strings.Contains(body, `data-testid="open-incident"`) {
				t.Fatalf("%d, want %d with the form shown again:\n%s", rec.Code, tt.status, body)
			}
			// The message is next to the input, tied to it, and the input has the focus.
			msgID := `error-open-` + tt.field
			at := strings.Index(body, `id="`+tt.field+`"`)
			if at < 0 {
				t.Fatalf("no input %s", tt.field)
			}
			tag := body[at : at+strings.Index(body[at:], ">")]
			if !strings.Contains(tag, `aria-invalid="true"`) || !strings.Contains(tag, `aria-describedby="`+msgID+`"`) || !strings.Contains(tag, "autofocus") {
				t.Errorf("the %s input is not marked, tied and focused: %s", tt.field, tag)
			}
			m := strings.Index(body, `id="`+msgID+`"`)
			if m < 0 || !strings.Contains(html.UnescapeString(body[m:m+strings.Index(body[m:], "</div>")]), tt.want) {
				t.Fatalf("no message %q at the %s input:\n%s", tt.want, tt.field, body)
			}
			if next := strings.Index(body[at:], "<label"); next >= 0 && at+next < m {
				t.Errorf("the %s message is not next to its input", tt.field)
			}
			if strings.Count(body, `aria-invalid="true"`) != 1 || strings.Count(body, "autofocus") != 1 {
				t.Errorf("other inputs are marked too")
			}
			// What was typed is kept.
			for k, v := range form {
				if k == tt.field || v[0] == "" || k == "kind" {
					continue
				}
				if !strings.Contains(html.UnescapeString(body), v[0]) {
					t.Errorf("the typed %s %q is lost", k, v[0])
				}
			}
			if tt.field != "kind" && !strings.Contains(body, `<option value="misuse" selected>`) {
				t.Errorf("the chosen kind is lost")
			}
		})
	}
	if rec := chief.do("POST", "/incidents", good); rec.Code != http.StatusSeeOther {
		t.Fatalf("a good incident: %d %s", rec.Code, rec.Body.String())
	}
}

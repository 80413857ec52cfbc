package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/node"
)

// TestSuspensionScreenChoosesTargets: the suspension screen offers, per
// scope, a list of what exists (terminals in use, staff in post,
// departments, affairs) and asks for a confirmation before stopping the
// whole node; a target that is not in the lists, a whole node without the
// confirmation and a lifting without a reason are refused with a message
// a clerk can act on, and nothing is put in force.
func TestSuspensionScreenChoosesTargets(t *testing.T) {
	s, _ := demoServer(t)
	chief := signIn(t, s, node.DemoChief)
	body := chief.do("GET", "/suspensions", nil).Body.String()
	for _, want := range []string{
		`<select id="target-terminal" name="target" required>`, `<option value="` + node.DemoTerminal + `">`,
		`<select id="target-operator" name="target" required>`, `<option value="` + node.DemoOperator + `">`,
		`<select id="target-department" name="target" required>`, `<option value="kumin">`,
		`<select id="target-affair" name="target" required>`, `<option value="juminhyo-copy">`,
		`<input type="checkbox" name="confirm" value="yes" required>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("suspension screen lacks %s", want)
		}
	}
	if strings.Contains(body, `name="target" list=`) || strings.Contains(body, `<input id="target"`) {
		t.Error("the suspension screen still takes a typed target")
	}
	for _, c := range []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"a terminal that does not exist", url.Values{"scope": {"terminal"}, "target": {"demo-loopbak"}, "reason": {"漏えいのおそれ"}}, http.StatusNotFound, "端末「demo-loopbak」は登録されていないか"},
		{"an operator who does not exist", url.Values{"scope": {"operator"}, "target": {"dem0"}, "reason": {"漏えいのおそれ"}}, http.StatusNotFound, "照合ID「dem0」の職員は登録されていないか"},
		{"the whole node with a target", url.Values{"scope": {"node"}, "target": {"kumin"}, "reason": {"漏えいのおそれ"}, "confirm": {"yes"}}, http.StatusBadRequest, "対象を指定しません"},
		{"the whole node without confirmation", url.Values{"scope": {"node"}, "reason": {"漏えいのおそれ"}}, http.StatusBadRequest, "確認の欄にチェック"},
	} {
		rec := chief.do("POST", "/suspensions", c.form)
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d, want %d with %q\n%s", c.name, rec.Code, c.code, c.want, rec.Body.String())
		}
	}
	if sps, err := s.node.Staff.Suspensions(context.Background(), false); err != nil || len(sps) != 0 {
		t.Fatalf("refused orders left suspensions: %+v %v", sps, err)
	}
	// A refused order shows the screen again, the error next to its form,
	// tied to its fields, with what was typed kept (issue 23 item 6).
	rec := chief.do("POST", "/suspensions", url.Values{"scope": {"department"}, "target": {"kumin"}, "reason": {strings.Repeat("長", 201)}})
	body = rec.Body.String()
	if rec.Code != http.StatusBadRequest || !strings.Contains(body, `data-testid="suspend-department"`) || !strings.Contains(body, `id="error-department"`) ||
		!strings.Contains(body, `aria-describedby="error-department"`) || !strings.Contains(body, `<option value="kumin" selected>`) ||
		!strings.Contains(body, "200文字以内") {
		t.Errorf("a refused order: %d, the form is not shown again with its error and the chosen target:\n%s", rec.Code, body)
	}
	// Confirmed, the whole node stops; lifting needs a reason, which the
	// list then shows.
	if rec := chief.do("POST", "/suspensions", url.Values{"scope": {"node"}, "reason": {"訓練"}, "confirm": {"yes"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("confirmed node suspension: %d %s", rec.Code, rec.Body.String())
	}
	if rec := chief.do("POST", "/suspensions/1/lift", url.Values{"reason": {" "}}); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "解除する理由を入力してください") ||
		!strings.Contains(rec.Body.String(), `id="lift-error-1"`) || !strings.Contains(rec.Body.String(), `data-testid="suspensions"`) {
		t.Errorf("lifting without a reason: %d %s", rec.Code, rec.Body.String())
	}
	if rec := chief.do("POST", "/suspensions/1/lift", url.Values{"reason": {"訓練終了"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("lifting: %d %s", rec.Code, rec.Body.String())
	}
	if body := chief.do("GET", "/suspensions", nil).Body.String(); !strings.Contains(body, "訓練終了") {
		t.Error("the suspension list does not show why it was lifted")
	}
}

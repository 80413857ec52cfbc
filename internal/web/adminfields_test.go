package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/node"
)

// TestSuspensionFormFieldRules: the suspension screen's reason inputs stop
// at the length the suspension's fields allow, and a reason that is too
// long or not text (typed past the browser: a script, an old page) is
// refused with the field's name and rule in Japanese; nothing is put in
// force or lifted, and the audit log holds no copy of the refused value.
// The other administrative screens' inputs carry their fields' lengths.
func TestSuspensionFormFieldRules(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	chief := signIn(t, s, node.DemoChief)
	if rec := chief.do("POST", "/suspensions", url.Values{"scope": {"terminal"}, "target": {node.DemoTerminal}, "reason": {"点検"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("suspension: %d %s", rec.Code, rec.Body.String())
	}
	sps, err := s.node.Staff.Suspensions(ctx, false)
	if err != nil || len(sps) != 1 {
		t.Fatalf("suspensions: %+v %v", sps, err)
	}
	lift := fmt.Sprintf("/suspensions/%d/lift", sps[0].ID)
	body := chief.do("GET", "/suspensions", nil).Body.String()
	for _, want := range []string{`<input id="reason-department" name="reason" required maxlength="200" value="">`, `name="reason" required maxlength="200"> <button`} {
		if !strings.Contains(body, want) {
			t.Errorf("suspension screen lacks %s", want)
		}
	}
	long := strings.Repeat("長", 201)
	for _, c := range []struct {
		name, path string
		form       url.Values
		want       string
	}{
		{"a reason over 200 characters", "/suspensions", url.Values{"scope": {"department"}, "target": {"kumin"}, "reason": {long}},
			"停止の理由：200文字以内で入力してください（201文字あります）"},
		{"RLO in a reason", "/suspensions", url.Values{"scope": {"department"}, "target": {"kumin"}, "reason": {"漏えい\u202Eのおそれ"}},
			"停止の理由：4文字目：見えない書式制御文字（U+202E"},
		{"a lift reason over 200 characters", lift, url.Values{"reason": {long}}, "解除の理由：200文字以内で入力してください（201文字あります）"},
		{"U+0001 in a lift reason", lift, url.Values{"reason": {"解除\x01"}}, "解除の理由：3文字目：制御文字（U+0001）"},
	} {
		rec := chief.do("POST", c.path, c.form)
		if got := html.UnescapeString(rec.Body.String()); rec.Code != http.StatusBadRequest || !strings.Contains(got, c.want) {
			t.Errorf("%s: %d, want 400 with %q", c.name, rec.Code, c.want)
		}
	}
	if sps, err := s.node.Staff.Suspensions(ctx, false); err != nil || len(sps) != 1 || !sps[0].LiftedAt.IsZero() {
		t.Errorf("refused orders changed the suspensions: %+v %v", sps, err)
	}
	entries, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{After: -1, Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if text := e.Entry.Detail + e.Entry.Query + e.Entry.Error; strings.Contains(text, "長長長長") || strings.ContainsAny(text, "\u202E\x01") {
			t.Errorf("the audit log holds a refused value: entry %d %q", e.Seq, text)
		}
	}

	// The other screens take their inputs' lengths from the same fields.
	admin := signIn(t, s, node.DemoAdmin)
	for _, c := range []struct {
		who  *browser
		path string
		want []string
	}{
		{admin, "/staff", []string{`name="name" required maxlength="100"`, `name="kana" maxlength="200"`, `name="title" required maxlength="100"`,
			`name="location" required maxlength="200"`}},
		{signIn(t, s, node.DemoOfficer), "/approvals", []string{`name="purpose" required maxlength="200"`, `name="reason" required maxlength="200"`}},
		{chief, "/incidents", []string{`name="title" required maxlength="200"`, `name="summary" rows="3" required maxlength="2000"`}},
	} {
		body := c.who.do("GET", c.path, nil).Body.String()
		for _, want := range c.want {
			if !strings.Contains(body, want) {
				t.Errorf("%s lacks %s", c.path, want)
			}
		}
	}
}

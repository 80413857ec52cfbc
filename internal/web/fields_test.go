package web

import (
	"html"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/node"
)

// TestLookupFormFieldRules: the clerk's lookup and search forms refuse what
// is not text with the field's name and the rule, in Japanese; a reason
// that is too long or not text is not reported as missing.
func TestLookupFormFieldRules(t *testing.T) {
	s, code := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	tests := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"reason over 200 characters", map[string]string{"reason": strings.Repeat("あ", 201)}, "利用の理由：200文字以内で入力してください（201文字あります）"},
		{"NUL in the reason", map[string]string{"reason": "確認\x00"}, "利用の理由：3文字目：制御文字（U+0000）"},
		{"invalid UTF-8 in the reason", map[string]string{"reason": "確認\xff"}, "利用の理由：文字コードが正しくありません"},
		{"RLO in the reason", map[string]string{"reason": "確\u202E認"}, "利用の理由：2文字目：見えない書式制御文字（U+202E"},
		{"NUL in a search name", map[string]string{"mode": "search", "name": "タカ\x00ハシ", "birth": "1970-03-02"}, "氏名：3文字目：制御文字（U+0000）"},
		{"invalid UTF-8 in a search name", map[string]string{"mode": "search", "name": "タカ\xffハシ", "birth": "1970-03-02"}, "氏名：文字コードが正しくありません"},
		{"RLO in a search address", map[string]string{"mode": "search", "name": "タカハシ", "birth": "1970-03-02", "address": "江東\u202E区"}, "住所：3文字目：見えない書式制御文字"},
	}
	// The form's inputs stop at the lengths the gate allows.
	if body := clerk.do("GET", "/lookup", nil).Body.String(); !strings.Contains(body, `name="reason" value="" required maxlength="200"`) {
		t.Errorf("the reason input has no maxlength from the field rules")
	} else if !strings.Contains(body, `<label for="reason">理由（200字以内）</label>`) {
		// The limit is shown before it bites (issue 23 item 6).
		t.Errorf("the reason's label does not show its limit")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"affair": {"juki"}, "reason": {"確認"}, "mode": {"code"}, "code": {code}}
			for k, v := range tt.set {
				form.Set(k, v)
			}
			rec := clerk.do("POST", "/lookup", form)
			body := html.UnescapeString(rec.Body.String())
			if rec.Code != 400 || !strings.Contains(body, tt.want) {
				t.Fatalf("%d, want 400 with %q in:\n%s", rec.Code, tt.want, errorOf(body))
			}
			if strings.Contains(body, "利用の理由を入力してください") {
				t.Errorf("a present but wrong reason is reported as missing")
			}
		})
	}
}

// errorOf is the error block of a page, for a short failure message.
func errorOf(body string) string {
	i := strings.Index(body, `data-testid="lookup-error"`)
	if i < 0 {
		i = strings.Index(body, `data-testid="field-error"`) // an error shown at its input
	}
	if i < 0 {
		return "(no error shown)"
	}
	return body[i:min(len(body), i+600)]
}

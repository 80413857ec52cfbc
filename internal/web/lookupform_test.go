package web

import (
	"html"
	"math/rand/v2"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/ids"
	"jukinet/internal/node"
)

// TestLookupErrorsAtTheirFields: a refused look-up shows each error next to
// the input it is about — 利用事務, 理由, 案件番号, 住民票コード, 個人番号 and
// the search items — tied to it (aria-invalid, aria-describedby to its
// message), with the focus on the first (autofocus), the inputs of the
// other ways of looking up never marked, and what was typed kept (issue 23
// item 6), in the page's language.
func TestLookupErrorsAtTheirFields(t *testing.T) {
	s, code := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	wrong := code[:10] + string(rune('0'+(int(code[10]-'0')+1)%10)) // the check digit off by one
	var absent string                                               // a well-formed code nobody has
	for r := rand.New(rand.NewPCG(1, 2)); absent == "" || absent == code; {
		absent = string(ids.NewResidentCode(r))
	}
	tests := []struct {
		name, path string
		set        map[string]string
		bad        map[string]string // input → a part of its message
		focus      string
	}{
		{"a check digit that does not match", "/lookup", map[string]string{"code": wrong}, map[string]string{"code": "住民票コード"}, "code"},
		{"no resident code", "/lookup", map[string]string{"code": ""}, map[string]string{"code": "住民票コードまたは個人番号"}, "code"},
		{"nobody with that code", "/lookup", map[string]string{"code": absent}, map[string]string{"code": "該当する住民は見つかりませんでした"}, "code"},
		{"an individual number too short", "/lookup", map[string]string{"mode": "number", "number": "1234"}, map[string]string{"number": "個人番号"}, "number"},
		{"a reason too long", "/lookup", map[string]string{"reason": strings.Repeat("理", 201)}, map[string]string{"reason": "利用の理由：200文字以内"}, "reason"},
		{"a reason and a case reference", "/lookup", map[string]string{"reason": "確\u202E認", "case": "案件\x07"},
			map[string]string{"reason": "利用の理由：2文字目", "case": "案件番号：3文字目"}, "reason"},
		{"no reason", "/lookup", map[string]string{"reason": ""}, map[string]string{"reason": "利用の理由を入力してください"}, "reason"},
		{"no affair", "/lookup", map[string]string{"affair": ""}, map[string]string{"affair": "利用事務"}, "affair"},
		{"in English", "/lookup?lang=en", map[string]string{"reason": strings.Repeat("r", 201)}, map[string]string{"reason": "reason: longer than 200 characters"}, "reason"},
		{"a search name with a control character", "/lookup", map[string]string{"mode": "search", "name": "タカ\x07ハシ", "birth": "1970-03-02"}, map[string]string{"name": "氏名：3文字目"}, "name"},
		{"a date of birth that cannot be read", "/lookup", map[string]string{"mode": "search", "name": "高橋", "birth": "R99.1.1"}, map[string]string{"birth": ""}, "birth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			form := url.Values{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "case": {"K-7"}, "mode": {"code"}, "code": {code}}
			for k, v := range tt.set {
				form.Set(k, v)
			}
			rec := clerk.do("POST", tt.path, form)
			body := rec.Body.String()
			if rec.Code < 400 || !strings.Contains(body, `data-testid="lookup-form"`) {
				t.Fatalf("%d, want the form again with an error:\n%s", rec.Code, errorOf(body))
			}
			tag := func(id string) string {
				at := strings.Index(body, `id="`+id+`"`)
				if at < 0 {
					t.Fatalf("no input %s", id)
				}
				return body[at : at+strings.Index(body[at:], ">")]
			}
			for _, in := range lookupInputs {
				if in == "mode" {
					continue
				}
				want, bad := tt.bad[in]
				got := tag(in)
				if bad != strings.Contains(got, `aria-invalid="true"`) {
					t.Errorf("%s marked invalid: %v, want %v: %s", in, !bad, bad, got)
				}
				if (in == tt.focus) != strings.Contains(got, "autofocus") {
					t.Errorf("%s has the focus: %v, want it on %s", in, !(in == tt.focus), tt.focus)
				}
				if !bad || want == "" {
					continue // a search item the search's error names, above the form
				}
				if !strings.Contains(got, `aria-describedby="`+in+`-error`) {
					t.Errorf("%s is not described by its message: %s", in, got)
				}
				at := strings.Index(body, `id="`+in+`"`)
				m := strings.Index(body, `id="`+in+`-error"`)
				if m < at {
					t.Fatalf("no message after the %s input", in)
				}
				if next := strings.Index(body[at:], "<label"); next >= 0 && at+next < m {
					t.Errorf("the %s message is not next to its input", in)
				}
				if msg := html.UnescapeString(body[m : m+strings.Index(body[m:], "</p>")]); !strings.Contains(msg, want) {
					t.Errorf("the %s message %q lacks %q", in, msg, want)
				}
			}
			// What was typed is kept, the refused values too.
			for _, k := range []string{"reason", "case", "code", "number", "name", "birth"} {
				if v := form.Get(k); v != "" && !strings.Contains(tag(k), `value="`+html.EscapeString(v)+`"`) && !strings.Contains(html.UnescapeString(tag(k)), `value="`+v+`"`) {
					t.Errorf("the typed %s %q is lost: %s", k, v, tag(k))
				}
			}
		})
	}
}

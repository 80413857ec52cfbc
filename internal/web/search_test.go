package web

import (
	"html"
	"net/url"
	"strings"
	"testing"
	"time"

	"jukinet/internal/node"
	"jukinet/internal/synth"
)

// TestLookupSearchForms: the clerk's search form takes a surname, a kana
// prefix, a date of birth and an address; each result says why it
// matched, in the page's language; a query that is not enough says what
// to add, and the fields to fill are marked and tied to the error.
func TestLookupSearchForms(t *testing.T) {
	s, _ := demoServer(t)
	g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	rec := g.Next() // the resident demoServer imported
	clerk := signIn(t, s, node.DemoOperator)
	if body := clerk.do("GET", "/lookup", nil).Body.String(); !strings.Contains(body, `id="kana" name="kana"`) || !strings.Contains(body, `data-testid="search-hint"`) {
		t.Fatalf("the form has no kana field or no hint of the forms")
	}
	form := func(set map[string]string) url.Values {
		f := url.Values{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "mode": {"search"}}
		for k, v := range set {
			f.Set(k, v)
		}
		return f
	}
	dob := rec.DateOfBirth.Format(time.DateOnly)
	for _, tt := range []struct {
		path string
		set  map[string]string
		why  string
	}{
		{"/lookup", map[string]string{"name": rec.FamilyName, "birth": dob}, "一致理由：氏・生年月日が一致"},
		{"/lookup?lang=en", map[string]string{"name": rec.FamilyName, "birth": dob}, "Matched by：surname, date of birth match"},
		{"/lookup", map[string]string{"kana": string([]rune(rec.FamilyNameKana)[:2]), "birth": dob}, "一致理由：カナ（前方一致）・生年月日が一致"},
		{"/lookup", map[string]string{"birth": dob, "address": rec.Address}, "一致理由：生年月日・住所が一致"},
	} {
		r := clerk.do("POST", tt.path, form(tt.set))
		body := html.UnescapeString(r.Body.String())
		if r.Code != 200 || !strings.Contains(body, `data-testid="match-why"`) || !strings.Contains(body, tt.why) || !strings.Contains(body, string(rec.ResidentCode)) {
			t.Errorf("%s %v: %d, want %q:\n%s", tt.path, tt.set, r.Code, tt.why, errorOf(body))
		}
	}
	for _, tt := range []struct {
		set     map[string]string
		want    string
		invalid []string
	}{
		{map[string]string{"name": rec.FamilyName}, "生年月日、または住所を追加してください", []string{"birth", "address"}},
		{map[string]string{"kana": "ア", "birth": dob}, "2文字以上", []string{"kana"}},
		{map[string]string{"name": rec.FamilyName, "birth": "R99.1.1"}, "生年月日", []string{"birth"}},
	} {
		r := clerk.do("POST", "/lookup", form(tt.set))
		body := html.UnescapeString(r.Body.String())
		if r.Code != 400 || !strings.Contains(errorOf(body), tt.want) || !strings.Contains(body, `id="lookup-error"`) {
			t.Errorf("%v: %d, want 400 with %q:\n%s", tt.set, r.Code, tt.want, errorOf(body))
		}
		for _, f := range tt.invalid {
			at := strings.Index(body, `id="`+f+`"`)
			if at < 0 || !strings.Contains(body[at:at+strings.Index(body[at:], ">")], `aria-invalid="true" aria-describedby="lookup-error`) {
				t.Errorf("%v: the %s field is not marked invalid", tt.set, f)
			}
		}
	}
}

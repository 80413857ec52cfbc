package web

import (
	"net/http/httptest"
	"testing"

	"jukinet/internal/apperr"
)

// TestFormInputsPlaceByField: a refusal is placed by the field the domain
// names (renamed to the form's input where they differ), never by its
// message; one about an input the form does not have, or about none,
// stands for the whole form, so its message is never lost.
func TestFormInputsPlaceByField(t *testing.T) {
	r := httptest.NewRequest("POST", "/", nil)
	in := formInputs{order: []string{"id", "date", "reason"}, rename: map[string]string{"retired": "date"}}
	for _, c := range []struct {
		name  string
		err   error
		at    string // the input marked and focused; none: the whole form
		other string // an input not marked
	}{
		{"named", apperr.New(apperr.Invalid, "reason: required", "理由を入力してください").At("reason"), "reason", "id"},
		{"renamed", apperr.New(apperr.Invalid, "retired: enter a date", "廃止日を入力してください").At("retired"), "date", "reason"},
		{"the first in the form's order", apperr.New(apperr.Invalid, "x", "x").At("reason").At("id"), "id", "date"},
		{"an input the form lacks", apperr.New(apperr.NotFound, "no staff member X", "X はいません").At("verification_id"), "", "id"},
		{"a message that looks like a field's", apperr.New(apperr.Invalid, "date: enter a date", "日付を入力してください"), "", "date"},
	} {
		f := in.errorsOf(r, c.err)
		switch {
		case c.at == "" && f.Any():
			t.Errorf("%s: placed at %q, want the whole form", c.name, f.first)
		case c.at != "" && (f.Of(c.at) == "" || !f.Focus(c.at)):
			t.Errorf("%s: not at %s: %+v", c.name, c.at, f)
		case f.Of(c.other) != "":
			t.Errorf("%s: also at %s", c.name, c.other)
		}
	}
}

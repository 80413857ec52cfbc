package web

import (
	"net/http"
	"slices"

	"jukinet/internal/apperr"
)

// fieldErrors are a refused form's messages by the input they are about
// (apperr.Field), in the page's language, and the input the focus goes to:
// the first of them in the form's order. A form shows each message next to
// its input, tied to it (aria-invalid, aria-describedby), and the input
// with the focus gets autofocus (issue 23 item 6).
type fieldErrors struct {
	msgs  map[string]string
	first string
}

// fieldErrorsOf reads the inputs err is about. rename maps the names the
// domain gives them (resident_code, case …) to the form's input names;
// order lists the form's inputs as they appear, so the focus goes to the
// first one on the screen (without it, to the first the error names).
func fieldErrorsOf(r *http.Request, err error, rename map[string]string, order []string) fieldErrors {
	out := fieldErrors{msgs: map[string]string{}}
	en := langOf(r) == "en"
	for _, f := range apperr.FieldsOf(err) {
		name := f.Name
		if to, ok := rename[name]; ok {
			name = to
		}
		msg := f.Japanese
		if en || msg == "" {
			msg = f.Message
		}
		if prev, ok := out.msgs[name]; ok {
			msg = prev + "／" + msg
		}
		out.add(name, msg, order)
	}
	return out
}

// add marks input name with msg; the focus goes to the first marked input
// in order (or the first marked when order is nil or lacks it).
func (f *fieldErrors) add(name, msg string, order []string) {
	if f.msgs == nil {
		f.msgs = map[string]string{}
	}
	f.msgs[name] = msg
	at := func(n string) int {
		if i := slices.Index(order, n); i >= 0 {
			return i
		}
		return len(order)
	}
	if f.first == "" || at(name) < at(f.first) {
		f.first = name
	}
}

// Any says whether an input is marked.
func (f fieldErrors) Any() bool { return len(f.msgs) > 0 }

// Of is the message next to input name, or "".
func (f fieldErrors) Of(name string) string { return f.msgs[name] }

// Focus says whether input name gets the focus.
func (f fieldErrors) Focus(name string) bool { return name != "" && f.first == name }

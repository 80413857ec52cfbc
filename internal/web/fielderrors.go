package web

import (
	"errors"
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

// formInputs are a form's inputs, for placing the error of a refused form
// (refusedAt): the domain names the inputs its errors are about
// (apperr.Field); a field the domain names differently from the form's
// input is renamed, and the focus goes to the first marked in order. An
// error about no input of the form stands for the whole form
// (typedForm.Whole), the focus on order[0].
type formInputs struct {
	order  []string
	rename map[string]string
}

// errorsOf are err's messages at the form's inputs: only those of order,
// so no message is lost on an input the form does not have.
func (in formInputs) errorsOf(r *http.Request, err error) fieldErrors {
	all := fieldErrorsOf(r, err, in.rename, in.order)
	var f fieldErrors
	for _, name := range in.order {
		if msg := all.Of(name); msg != "" {
			f.add(name, msg, in.order)
		}
	}
	return f
}

// refusedAt answers a form refused with err as answerRefused does, the
// error placed at the form's inputs (formInputs): the screen again with
// the message next to each input it is about, or at the top of the form.
func (s *Server) refusedAt(w http.ResponseWriter, r *http.Request, form string, in formInputs, err error, again func(status int, typed typedForm)) bool {
	return s.answerRefused(w, r, form, err, func(status int, t typedForm) {
		t.Fields = in.errorsOf(r, err)
		if len(in.order) > 0 {
			t.First = in.order[0]
		}
		again(status, t)
	})
}

// inputRef is an input of a refused form, for the templates "invalid"
// and "field-error" (partials.html).
type inputRef struct {
	T     typedForm
	F, In string
}

// atInput names input as what err is about, when err is a refusal that
// names no input (a form with one input: every refusal is about it).
func atInput(err error, input string) error {
	var e *apperr.Error
	if !errors.As(err, &e) || len(e.Fields) > 0 {
		return err
	}
	named := *e
	named.Fields = []apperr.Field{{Name: input, Message: e.Message, Japanese: e.Japanese}}
	return &named
}

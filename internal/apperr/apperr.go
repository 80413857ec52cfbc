// Package apperr gives domain errors a code that the CLI, the JSON API and
// the web UI map to an exit status, an HTTP status and a message a clerk can
// act on, in English and Japanese.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error.
type Code string

// The codes.
const (
	Invalid     Code = "invalid"     // bad input: fix it and try again
	NotFound    Code = "not_found"   // nothing matches
	Forbidden   Code = "forbidden"   // not allowed for this actor, terminal or affair
	Conflict    Code = "conflict"    // refused by the register's rules
	Suspended   Code = "suspended"   // use is suspended (利用停止)
	Unavailable Code = "unavailable" // the node cannot do it now (e.g. the audit log failed)
	Internal    Code = "internal"
)

// Error is a domain error.
type Error struct {
	Code     Code
	Message  string // English
	Japanese string // for the UI
	Err      error  // the cause, if any
	// Fields are the inputs the error is about, when it is about some: a
	// form shows each message next to its input.
	Fields []Field
}

// Field is an input an error is about: its name (as the form, the CSV
// header and the JSON API call it) and what is wrong with it, in English
// and Japanese.
type Field struct {
	Name     string
	Message  string
	Japanese string
}

// At says that e is about the input named name (with e's messages) and
// returns e.
func (e *Error) At(name string) *Error {
	e.Fields = append(e.Fields, Field{Name: name, Message: e.Message, Japanese: e.Japanese})
	return e
}

// About returns err said to be about the input named name, when err is an
// *Error about no input yet (a copy, with err's messages: a register's
// lookup, say, refused for the form input that named what it looks up);
// any other error is returned as it is.
func About(err error, name string) error {
	var e *Error
	if !errors.As(err, &e) || len(e.Fields) > 0 {
		return err
	}
	named := *e
	named.Fields = []Field{{Name: name, Message: e.Message, Japanese: e.Japanese}}
	return &named
}

// FieldsOf returns the inputs err is about, or nil.
func FieldsOf(err error) []Field {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with a code and messages.
func New(code Code, en, ja string) *Error { return &Error{Code: code, Message: en, Japanese: ja} }

// Wrap returns an error with a code whose messages say what failed.
func Wrap(code Code, err error, en, ja string) *Error {
	return &Error{Code: code, Message: fmt.Sprintf("%s: %v", en, err), Japanese: ja, Err: err}
}

// CodeOf returns the code of err, or Internal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// JapaneseOf returns err's Japanese message, or a generic one.
func JapaneseOf(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Japanese != "" {
		return e.Japanese
	}
	return "処理中にエラーが発生しました。システム管理者に連絡してください。"
}

package apperr_test

import (
	"errors"
	"fmt"
	"testing"

	"jukinet/internal/apperr"
)

// TestAbout: an error about no input is said to be about the one named,
// with its messages, leaving the original as it was; an error already
// about an input, and an error that is no *Error, are returned as they are.
func TestAbout(t *testing.T) {
	e := apperr.New(apperr.NotFound, "no asset X", "X はありません")
	err := apperr.About(fmt.Errorf("retire: %w", e), "id")
	if f := apperr.FieldsOf(err); len(f) != 1 || f[0] != (apperr.Field{Name: "id", Message: "no asset X", Japanese: "X はありません"}) {
		t.Errorf("About = %+v", f)
	}
	if apperr.CodeOf(err) != apperr.NotFound || apperr.JapaneseOf(err) != "X はありません" {
		t.Errorf("About lost the code or the message: %v", err)
	}
	if len(e.Fields) != 0 {
		t.Errorf("About changed the original: %+v", e.Fields)
	}
	named := apperr.New(apperr.Invalid, "date: enter a date", "日付を入力してください").At("date")
	if got := apperr.About(named, "id"); got != error(named) {
		t.Errorf("About renamed an error already about an input: %+v", apperr.FieldsOf(got))
	}
	plain := errors.New("disk full")
	if got := apperr.About(plain, "id"); got != plain || apperr.FieldsOf(got) != nil {
		t.Errorf("About changed an error that is no *Error: %v", got)
	}
	if apperr.About(nil, "id") != nil {
		t.Error("About(nil) is not nil")
	}
}

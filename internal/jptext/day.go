package jptext

import (
	"fmt"
	"strings"
	"time"

	"jukinet/internal/apperr"
)

// DayForms is how a refused day says to write one, in Japanese: the forms
// ParseDate reads, the compact ones of legacy municipal systems included
// (20260401, and 5080401: the era's code, 5 令和, then YYMMDD).
const DayForms = "令和8年4月1日、R8.4.1、2026-04-01、20260401 または 5080401"

// ParseDay reads a day the way clerks write a date (ParseDate: 令和8年4月1日,
// R8.4.1, 2026-04-01, 20260401, 5080401 …) and returns midnight JST. field
// is the input's name (as the form, the CLI and the JSON API call it) and
// label its Japanese name: an empty or unreadable value is refused with an
// apperr.Invalid error about field (apperr.FieldsOf), naming field in
// English and label in Japanese.
func ParseDay(field, label, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, apperr.New(apperr.Invalid, field+": enter a date", label+"を入力してください").At(field)
	}
	t, err := ParseDate(s)
	if err != nil {
		return time.Time{}, apperr.New(apperr.Invalid, field+": "+err.Error(),
			fmt.Sprintf("%s「%s」を読み取れません。%s の形で入力してください", label, s, DayForms)).At(field)
	}
	return Midnight(t), nil
}

package api

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
)

// TestDaysAndInstants: JSON days are YYYY-MM-DD (midnight in Japan),
// instants RFC 3339 with their offset; anything else is refused naming
// the field in English and Japanese, and both are written back in Japan
// time.
func TestDaysAndInstants(t *testing.T) {
	for _, c := range []struct {
		in, want, ja string
	}{
		{"2026-12-01", "2026-12-01T00:00:00+09:00", ""},
		{"", "", "開始日を 2026-12-01 の形で指定してください"},
		{"R8.12.1", "", "開始日「R8.12.1」を読み取れません"},
		{"2026-12-01T10:00:00+09:00", "", "読み取れません"},
		{"2026-02-30", "", "読み取れません"},
	} {
		got, err := day("start", "開始日", c.in)
		if c.ja == "" {
			if err != nil || got.Format(time.RFC3339) != c.want || dayJSON(got) != c.in {
				t.Errorf("day(%q) = %v, %v", c.in, got, err)
			}
			continue
		}
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), c.ja) || !strings.HasPrefix(err.Error(), "start") {
			t.Errorf("day(%q): %v (%s), want invalid naming %q", c.in, err, apperr.JapaneseOf(err), c.ja)
		}
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"2026-12-01T09:15:00+09:00", "2026-12-01T09:15:00+09:00", true},
		{"2026-12-01T00:15:00Z", "2026-12-01T09:15:00+09:00", true},
		{"2026-12-01 09:15", "", false},
		{"2026-12-01T09:15:00", "", false},
		{"", "", false},
	} {
		got, err := instant("time", "入退室の日時", c.in)
		if c.ok != (err == nil) || (c.ok && instantJSON(got) != c.want) {
			t.Errorf("instant(%q) = %s, %v", c.in, instantJSON(got), err)
		}
		if !c.ok && !strings.Contains(apperr.JapaneseOf(err), "入退室の日時") {
			t.Errorf("instant(%q): %s does not name the field", c.in, apperr.JapaneseOf(err))
		}
	}
	if dayJSON(time.Time{}) != "" || instantJSON(time.Time{}) != "" {
		t.Error("a zero time is not written as nothing")
	}
	if got := dayJSON(time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)); got != "2026-12-01" {
		t.Errorf("15:00 UTC on 30 November is %s in Japan, want 2026-12-01", got)
	}
}

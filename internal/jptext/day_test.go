package jptext_test

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/jptext"
)

// TestParseDay: the one day parser every register's form and command uses
// reads each form a clerk writes a day in, and refuses an empty or
// unreadable value as invalid, about its field (apperr.FieldsOf), naming
// the field in English and its label in Japanese, the Japanese saying how
// to write a day, the compact forms included.
func TestParseDay(t *testing.T) {
	want := time.Date(2026, 4, 1, 0, 0, 0, 0, jptext.JST)
	for _, s := range []string{"令和8年4月1日", "令和８年４月１日", "R8.4.1", "r08/04/01", "2026-04-01", "2026/4/1", "2026年4月1日",
		"２０２６－０４－０１", "20260401", "5080401", "R080401", " 2026-04-01 "} {
		got, err := jptext.ParseDay("start", "開始日", s)
		if err != nil || !got.Equal(want) || got.Location() != jptext.JST {
			t.Errorf("ParseDay(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, tt := range []struct {
		s, en, ja string
	}{
		{"", "start: enter a date", "開始日を入力してください"},
		{"  ", "start: enter a date", "開始日を入力してください"},
		{"来月", `start: date "来月"`, "開始日「来月」を読み取れません。令和8年4月1日、R8.4.1、2026-04-01、20260401 または 5080401 の形で入力してください"},
		{"2026-02-30", "start: ", "開始日「2026-02-30」を読み取れません"},
		{"4310501", "令和元年5月1日", "開始日「4310501」を読み取れません"},
	} {
		_, err := jptext.ParseDay("start", "開始日", tt.s)
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("ParseDay(%q): %v, want invalid", tt.s, err)
			continue
		}
		if !strings.Contains(err.Error(), tt.en) || !strings.HasPrefix(err.Error(), "start: ") {
			t.Errorf("ParseDay(%q) = %q, want it to name the field and say %q", tt.s, err, tt.en)
		}
		if ja := apperr.JapaneseOf(err); !strings.Contains(ja, tt.ja) {
			t.Errorf("ParseDay(%q) says %q in Japanese, want %q", tt.s, ja, tt.ja)
		}
		f := apperr.FieldsOf(err)
		if len(f) != 1 || f[0].Name != "start" || f[0].Message != err.Error() || f[0].Japanese != apperr.JapaneseOf(err) {
			t.Errorf("ParseDay(%q) is about %+v, want the field start with its messages", tt.s, f)
		}
	}
}

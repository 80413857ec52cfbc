package report

import (
	"strings"
	"testing"
)

// Each character is 1 wide, Latin and digits ½, so the tests can count.
func testWidth(r rune) float64 {
	if r < 0x80 {
		return 0.5
	}
	return 1
}

func TestWrap(t *testing.T) {
	tests := []struct {
		text  string
		width float64
		want  []string
	}{
		{"", 10, []string{""}},
		{"短い", 10, []string{"短い"}},
		{"あいうえおかきくけこさしす", 5, []string{"あいうえお", "かきくけこ", "さしす"}},
		// A date is not split: the line breaks before it.
		{"受付日は令和8年12月6日です", 7.5, []string{"受付日は", "令和8年12月6日", "です"}},
		{"発行 2026-12-06 10:00:05 記録", 5, []string{"発行", "2026-12-06", "10:00:05", "記録"}},
		// A number with separators stays whole.
		{"合計金額は1,234,567円でした", 7, []string{"合計金額は", "1,234,567円で", "した"}},
		// No line starts with 。 or 」, none ends with 「.
		{"あいうえ。かき", 4, []string{"あいう", "え。かき"}},
		{"ああああ「引用」です", 5, []string{"ああああ", "「引用」で", "す"}},
		// Latin text breaks at spaces, which the lines drop.
		{"the quick brown fox", 6, []string{"the quick", "brown fox"}},
		// A run wider than the line is broken where it must be.
		{"0123456789abcdef", 4, []string{"01234567", "89abcdef"}},
		// "\n" starts a new line; an empty line stays.
		{"一行目\n\n三行目", 10, []string{"一行目", "", "三行目"}},
	}
	for _, tt := range tests {
		got := wrap(tt.text, tt.width, testWidth)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("wrap(%q, %v) = %q, want %q", tt.text, tt.width, got, tt.want)
		}
		for _, line := range got {
			w := 0.0
			for _, r := range line {
				w += testWidth(r)
			}
			if w > tt.width {
				t.Errorf("wrap(%q, %v): line %q is %v wide", tt.text, tt.width, line, w)
			}
		}
	}
}

// Whatever the width, the lines hold every character of the text but the
// spaces at their ends, in order.
func TestWrapKeepsText(t *testing.T) {
	text := "窓口での本人申請。住民票の写しの交付のため、本人確認情報を照会した（令和8年12月3日受付、受付番号 2026-00003）。 SHA-256 e3b0c44298fc1c149afbf4c8996fb924"
	for w := 1.0; w <= 30; w += 0.5 {
		got := strings.Join(wrap(text, w, testWidth), "")
		if got != strings.ReplaceAll(text, " ", "") && strings.ReplaceAll(got, " ", "") != strings.ReplaceAll(text, " ", "") {
			t.Errorf("width %v: %q", w, got)
		}
	}
}

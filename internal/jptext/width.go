package jptext

import (
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"
)

// IsHalfWidthKana reports the half-width katakana and punctuation of JIS X
// 0201 (｡ to ﾟ), as legacy systems and Shift_JIS files write readings.
func IsHalfWidthKana(r rune) bool { return r >= 0xFF61 && r <= 0xFF9F }

// Voiced-sound marks: the half-width ones, the combining ones NFC joins to
// a kana, and the spacing ones that stand alone.
const (
	halfDakuten      = 'ﾞ'
	halfHandakuten   = 'ﾟ'
	combDakuten      = '\u3099'
	combHandakuten   = '\u309A'
	spacingDakuten   = '゛'
	spacingHandakten = '゜'
)

// WidenKana turns half-width katakana and punctuation into their full-width
// forms (ｶ → カ, ｰ → ー, ･ → ・, ｢ → 「), and joins a half-width voiced or
// semi-voiced mark to the kana before it (ｶﾞ → ガ, ﾊﾟ → パ, ｳﾞ → ヴ, ﾜﾞ →
// ヷ). A mark that joins no kana (ｱﾞ, or one at the start) is left as the
// spacing mark ゛ or ゜. Nothing else changes: kanji, full-width kana and
// ASCII are kept as they are. WidenKana is idempotent; it returns s itself
// when s holds no half-width kana.
func WidenKana(s string) string {
	if !strings.ContainsFunc(s, IsHalfWidthKana) {
		return s
	}
	out := make([]rune, 0, utf8.RuneCountInString(s))
	for _, r := range s {
		if !IsHalfWidthKana(r) {
			out = append(out, r)
			continue
		}
		if r == halfDakuten || r == halfHandakuten {
			mark, spacing := rune(combDakuten), rune(spacingDakuten)
			if r == halfHandakuten {
				mark, spacing = combHandakuten, spacingHandakten
			}
			if n := len(out); n > 0 {
				if joined := []rune(norm.NFC.String(string([]rune{out[n-1], mark}))); len(joined) == 1 {
					out[n-1] = joined[0]
					continue
				}
			}
			out = append(out, spacing)
			continue
		}
		if w := width.LookupRune(r).Wide(); w != 0 {
			r = w
		}
		out = append(out, r)
	}
	return string(out)
}

// NarrowASCII turns full-width ASCII (０-９, Ａ-Ｚ, ａ-ｚ, －, ／, ．…) and the
// ideographic space into their ASCII forms, for fields that hold ASCII
// (codes, dates, numbers). Nothing else changes. It is idempotent; it
// returns s itself when there is nothing to change.
func NarrowASCII(s string) string {
	if !strings.ContainsFunc(s, isWideASCII) {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '　':
			return ' '
		case r >= 0xFF01 && r <= 0xFF5E:
			return r - 0xFEE0
		}
		return r
	}, s)
}

func isWideASCII(r rune) bool { return r == '　' || (r >= 0xFF01 && r <= 0xFF5E) }

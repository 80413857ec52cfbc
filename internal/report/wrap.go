package report

import (
	"strings"
	"unicode"
)

// wrap breaks text into lines no wider than width, where width(r) is the
// width of one character. "\n" always starts a new line. Lines break where
// Japanese text may break (between most characters, and at spaces in Latin
// text), but not inside a number, a Latin word, a date (2026-12-06, 令和8年
// 12月6日, 10:00:05) or an era name, not before closing punctuation or small
// kana, and not after an opening bracket (禁則, kept simple). A run that is
// wider than the line by itself is broken where it must be.
func wrap(text string, maxWidth float64, width func(rune) float64) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		out = append(out, wrapLine([]rune(para), maxWidth, width)...)
	}
	return out
}

// wrapLine breaks one line of text (no "\n") as wrap does.
func wrapLine(rs []rune, maxWidth float64, width func(rune) float64) []string {
	if len(rs) == 0 {
		return []string{""}
	}
	var out []string
	start, lastBreak := 0, -1
	lineW := 0.0
	for i := 0; i < len(rs); {
		if i > start && mayBreak(rs[i-1], rs[i]) {
			lastBreak = i
		}
		w := width(rs[i])
		if i > start && lineW+w > maxWidth && rs[i] != ' ' {
			cut := i
			if lastBreak > start {
				cut = lastBreak
			}
			out = append(out, strings.TrimRight(string(rs[start:cut]), " "))
			start = cut
			for start < len(rs) && rs[start] == ' ' {
				start++
			}
			i, lineW, lastBreak = start, 0, -1
			continue
		}
		lineW += w
		i++
	}
	if start < len(rs) || len(out) == 0 {
		out = append(out, strings.TrimRight(string(rs[start:]), " "))
	}
	return out
}

// mayBreak reports whether a line may break between a and b.
func mayBreak(a, b rune) bool {
	switch {
	case a == ' ' || a == '\u3000':
		return b != ' ' && b != '\u3000' // after the spaces, not among them
	case b == ' ' || b == '\u3000':
		return false // break after spaces, which the line then drops
	case wordRune(a) && wordRune(b):
		return false // 12,345 / 2026-12-06 / 10:00:05 / SHA-256 / lookup
	case isDigit(a) && strings.ContainsRune("年月日時分秒件円歳号番人回週", b):
		return false // 12月 / 3件
	case strings.ContainsRune("年月日時分", a) && isDigit(b):
		return false // 8年12月6日
	case a == '元' && b == '年', strings.ContainsRune("和成正治", a) && (isDigit(b) || b == '元'):
		return false // 令和8年 / 平成元年
	case eraPair(a, b):
		return false // 令和
	case strings.ContainsRune(noLineStart, b):
		return false
	case strings.ContainsRune(noLineEnd, a):
		return false
	}
	return true
}

// Characters that do not start a line (closing punctuation, small kana,
// the long vowel mark) or end one (opening brackets).
const (
	noLineStart = "、。，．・：；？！）」』】〕〉》”’ーぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〜～)]}.,:;!?%％"
	noLineEnd   = "（「『【〔〈《“‘([{"
)

// wordRune is a character of a Latin word or a number, with the marks that
// join them (a date, a time, an amount, a code such as terminal:T-01).
func wordRune(r rune) bool {
	switch {
	case r < 0x80:
		return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".,:;/-+_@#%&'=*~\"<>()[]{}|\\!?$^`", r)
	case r >= '０' && r <= '９', r >= 'Ａ' && r <= 'Ｚ', r >= 'ａ' && r <= 'ｚ':
		return true
	case r >= 0xC0 && r < 0x250: // Latin letters with accents
		return true
	}
	return false
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' || r >= '０' && r <= '９' }

// eraPair reports whether a and b are the two characters of an era name.
func eraPair(a, b rune) bool {
	switch string([]rune{a, b}) {
	case "令和", "平成", "昭和", "大正", "明治":
		return true
	}
	return false
}

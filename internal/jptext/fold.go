// Package jptext derives search keys from Japanese names, kana readings and
// addresses, and formats and parses Japanese era (和暦) dates.
//
// A search key is for matching only: stored text is never changed. Two
// spellings a clerk would call "the same name" (髙橋/高橋, さいとう/サイトウ,
// ｻｲﾄｳ, 渡邊/渡辺, ヴァイオリン/バイオリン) get the same key.
package jptext

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

//go:embed variants.txt
var variantsTXT string

// variantTable maps each variant kanji to the form search keys use.
var variantTable = sync.OnceValue(func() map[rune]rune {
	m := map[rune]rune{}
	sc := bufio.NewScanner(strings.NewReader(variantsTXT))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		to := []rune(f[0])[0]
		for _, v := range f[1:] {
			m[[]rune(v)[0]] = to
		}
	}
	return m
})

// foldRevision counts changes to the folding code that change the keys it
// gives; raise it with any such change, so stored keys are rebuilt.
// TestKeysPinned pins the keys of a fixed corpus, and fails when they
// change until foldRevision is raised. Raise it too when the kinds of key
// a resident is given change (revision 2: keys of Latin names in any word
// order, LatinNameKeys).
const foldRevision = 2

// KeyVersion identifies the folding: the variant table and foldRevision.
// Keys stored under another version may differ from the ones this code
// makes, and must be rebuilt before they are looked for or removed.
var KeyVersion = func() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d\n%s", foldRevision, variantsTXT)))
	return fmt.Sprintf("%d-%x", foldRevision, sum[:6])
}()

// VariantPairs returns the number of variant → standard pairs in the table.
func VariantPairs() int { return len(variantTable()) }

// smallKana maps small katakana to their full-size forms.
var smallKana = map[rune]rune{
	'ァ': 'ア', 'ィ': 'イ', 'ゥ': 'ウ', 'ェ': 'エ', 'ォ': 'オ', 'ッ': 'ツ', 'ャ': 'ヤ', 'ュ': 'ユ', 'ョ': 'ヨ',
	'ヮ': 'ワ', 'ヵ': 'カ', 'ヶ': 'ケ',
	'ㇰ': 'ク', 'ㇱ': 'シ', 'ㇲ': 'ス', 'ㇳ': 'ト', 'ㇴ': 'ヌ', 'ㇵ': 'ハ', 'ㇶ': 'ヒ', 'ㇷ': 'フ',
	'ㇸ': 'ヘ', 'ㇹ': 'ホ', 'ㇺ': 'ム', 'ㇻ': 'ラ', 'ㇼ': 'リ', 'ㇽ': 'ル', 'ㇾ': 'レ', 'ㇿ': 'ロ',
}

// soundFold maps kana whose sound others share to one form: ヴ-row to バ-row,
// ヂ/ヅ to ジ/ズ, and the old ヰ/ヱ/ヲ to イ/エ/オ.
var soundFold = map[rune]rune{
	'ヴ': 'ブ', 'ヷ': 'バ', 'ヸ': 'ビ', 'ヹ': 'ベ', 'ヺ': 'ボ',
	'ヂ': 'ジ', 'ヅ': 'ズ', 'ヰ': 'イ', 'ヱ': 'エ', 'ヲ': 'オ',
}

// vuRow maps the small vowel after ヴ to the バ-row kana they spell together.
var vuRow = map[rune]rune{'ァ': 'バ', 'ィ': 'ビ', 'ゥ': 'ブ', 'ェ': 'ベ', 'ォ': 'ボ'}

// isDash reports whether r is one of the many dashes people type for a long
// vowel mark or an address hyphen.
func isDash(r rune) bool {
	switch r {
	case '-', 'ー', '‐', '‑', '‒', '–', '—', '―', '−', '─', '━', '～', '~', '〜':
		return true
	}
	return false
}

// Fold is the folding every key starts from: NFKC (full/half width, ㈱ and
// friends), whitespace and variation selectors removed, hiragana to
// katakana, ヴ-style and small-kana folding, variant kanji to their standard
// form, Latin letters upper-cased. Fold is idempotent.
func Fold(s string) string { return fold(s, foldRunes, isFolded) }

// fold is Fold with its rune fold and its shortcut given: done reports text
// that folds to itself (the tests pass the first, map-based rune fold and
// no shortcut as the reference Fold must agree with).
func fold(s string, runes func(string) string, done func(string) bool) string {
	if done(s) {
		return s
	}
	s = norm.NFKC.String(s)
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || isVariationSelector(r) {
			return -1
		}
		return r
	}, s)
	// NFKC turns a spacing dakuten (゛) into space + combining mark; with the
	// space gone, NFC joins the mark to its kana. Folding a small kana can
	// let a mark join only then (っ゛ → ツ゛ → ヅ), so repeat until stable.
	for i := 0; i < 4; i++ {
		next := runes(norm.NFC.String(s))
		if next == s {
			break
		}
		s = next
		if done(s) {
			break // the next round would give s again
		}
	}
	return s
}

// isFolded reports, cheaply, that Fold would return s as it is: s holds
// only printable ASCII other than lower-case letters and space, full-size
// katakana that fold to themselves, ー, and unified ideographs that are
// not variants. It is false for much that Fold also leaves alone.
func isFolded(s string) bool {
	kana := kanaTable()
	var variants map[rune]rune
	for _, r := range s {
		switch {
		case r > ' ' && r < 0x7F:
			if 'a' <= r && r <= 'z' {
				return false
			}
		case r >= 'ァ' && r <= 'ヺ':
			if kana[r-0x30A0] != 0 {
				return false
			}
		case r == 'ー':
		case r >= 0x4E00 && r <= 0x9FFF, r >= 0x3400 && r <= 0x4DBF, r >= 0x20000 && r <= 0x2F7FF, r >= 0x2FA20 && r <= 0x3FFFF:
			// Unified ideographs (not the compatibility ones, which NFKC changes).
			if variants == nil {
				variants = variantTable()
			}
			if _, ok := variants[r]; ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// kanaTable folds the katakana blocks (U+30A0–U+31FF) by soundFold, then
// smallKana; 0 where a rune stays as it is.
var kanaTable = sync.OnceValue(func() *[0x160]rune {
	var t [0x160]rune
	for i := range t {
		r := rune(0x30A0 + i)
		f := r
		if v, ok := soundFold[f]; ok {
			f = v
		}
		if v, ok := smallKana[f]; ok {
			f = v
		}
		if f != r {
			t[i] = f
		}
	}
	return &t
})

// foldRune applies the kana, variant-kanji and case folds to one rune
// (hiragana already turned to katakana).
func foldRune(r rune, kana *[0x160]rune, variants map[rune]rune) rune {
	switch {
	case r < 0x80:
		if 'a' <= r && r <= 'z' {
			r -= 'a' - 'A'
		}
		return r
	case r >= 0x30A0 && r < 0x3200:
		if v := kana[r-0x30A0]; v != 0 {
			return v
		}
		return r
	}
	if v, ok := variants[r]; ok {
		r = v
	}
	return unicode.ToUpper(r)
}

// foldRunes applies the kana, variant-kanji and case folds to each rune. It
// returns s itself, without allocating, when nothing changes.
func foldRunes(s string) string {
	variants, kana := variantTable(), kanaTable()
	var out []rune // nil until the first change
	for i := 0; i < len(s); {
		orig, size := utf8.DecodeRuneInString(s[i:])
		r := toKatakana(orig)
		if r == 'ヴ' {
			next, nsize := utf8.DecodeRuneInString(s[i+size:])
			if v, ok := vuRow[toKatakana(next)]; ok && nsize > 0 {
				// ヴ and a small vowel spell one バ-row kana.
				if out == nil {
					out = []rune(s[:i])
				}
				out = append(out, v)
				i += size + nsize
				continue
			}
		}
		r = foldRune(r, kana, variants)
		if out == nil && (r != orig || size == 1 && orig == utf8.RuneError) { // invalid UTF-8 becomes U+FFFD
			out = []rune(s[:i])
		}
		if out != nil {
			out = append(out, r)
		}
		i += size
	}
	if out == nil {
		return s
	}
	return string(out)
}

// toKatakana turns a hiragana into its katakana.
func toKatakana(r rune) rune {
	if r >= 'ぁ' && r <= 'ゖ' || r == 'ゝ' || r == 'ゞ' {
		return r + 'ァ' - 'ぁ'
	}
	return r
}

// stable applies f until its result no longer changes, so every key is
// idempotent even where dropping a character lets a dakuten join the kana
// before it (ウ・゛). Real input settles in one or two rounds.
func stable(f func(string) string, s string) string {
	s = f(s)
	for i := 0; i < 4; i++ {
		next := f(s)
		if next == s {
			break
		}
		s = next
	}
	return s
}

// isVariationSelector reports variation selectors, including the
// ideographic variation sequences (IVS) MJ characters are often encoded with.
func isVariationSelector(r rune) bool {
	return (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF) || r == 0x180B || r == 0x180C || r == 0x180D
}

// nameSeparators are dropped from name keys: the dots, commas and equals
// signs foreign names are written with.
func isNameSeparator(r rune) bool {
	switch r {
	case '・', '.', ',', '、', '。', '=', '＝', '゠', '·', '\'', '’':
		return true
	}
	return false
}

// NameKey is the search key of a name written in kanji, kana or Latin
// letters. Dashes become the long vowel mark ー.
func NameKey(s string) string { return stable(nameKey, s) }

func nameKey(s string) string {
	return strings.Map(func(r rune) rune {
		if isNameSeparator(r) {
			return -1
		}
		if isDash(r) {
			return 'ー'
		}
		return r
	}, Fold(s))
}

// KanaKey is the search key of a kana reading. It is NameKey: readings come
// in hiragana, katakana and half-width katakana, all folded alike.
func KanaKey(s string) string { return NameKey(s) }

// kanjiDigit returns the value of a kanji numeral of addresses.
func kanjiDigit(r rune) (int, bool) {
	switch r {
	case '〇':
		return 0, true
	case '一':
		return 1, true
	case '二':
		return 2, true
	case '三':
		return 3, true
	case '四':
		return 4, true
	case '五':
		return 5, true
	case '六':
		return 6, true
	case '七':
		return 7, true
	case '八':
		return 8, true
	case '九':
		return 9, true
	}
	return 0, false
}

// addressMarkers end a numbered part of an address. Longest first.
var addressMarkers = [][]rune{[]rune("丁目"), []rune("番地"), []rune("地割"), []rune("番"), []rune("号")}

// AddressKey is the search key of an address: Fold, then kanji numerals of
// 丁目/番地/番/号 in Arabic digits, those markers and every dash between
// digits as "-", "の" between numbers as "-", ケ/ガ and ノ between two kanji
// as ケ and ノ (霞が関 = 霞ケ関), and 大字 dropped. A trailing "-" is
// dropped, so 4丁目 and 4- match.
func AddressKey(s string) string { return stable(addressKey, s) }

func addressKey(s string) string {
	in := []rune(Fold(s))
	var out []rune
	for i := 0; i < len(in); i++ {
		r := in[i]
		// A run of kanji numerals directly followed by a marker is a number.
		if isKanjiNumeral(r) {
			j := i
			for j < len(in) && (isKanjiNumeral(in[j])) {
				j++
			}
			afterNumber := len(out) > 0 && out[len(out)-1] == '-'
			if markerAt(in, j) > 0 || afterNumber {
				if n, ok := kanjiNumber(in[i:j]); ok {
					out = append(out, []rune(strconv.Itoa(n))...)
					i = j - 1
					continue
				}
			}
		}
		if i+1 < len(in) && in[i] == '大' && in[i+1] == '字' {
			i++
			continue
		}
		if m := markerAt(in, i); m > 0 && len(out) > 0 && isDigit(out[len(out)-1]) {
			out = append(out, '-')
			i += m - 1
			continue
		}
		prev, next := rune(0), rune(0)
		if len(out) > 0 {
			prev = out[len(out)-1]
		}
		if i+1 < len(in) {
			next = in[i+1]
		}
		switch {
		case isDash(r) && isDigit(prev):
			r = '-'
		case r == 'ノ' && (isDigit(prev) || prev == '-') && (isDigit(next) || isKanjiNumeral(next)):
			r = '-'
		case (r == 'ガ' || r == 'ケ') && isIdeograph(prev) && isIdeograph(next):
			r = 'ケ'
		}
		if r == '-' && len(out) > 0 && out[len(out)-1] == '-' {
			continue
		}
		out = append(out, r)
	}
	for len(out) > 0 && out[len(out)-1] == '-' {
		out = out[:len(out)-1]
	}
	return string(out)
}

// markerAt returns the length in runes of the marker at in[i], or 0.
func markerAt(in []rune, i int) int {
	if i >= len(in) {
		return 0
	}
	switch in[i] {
	case '丁', '番', '地', '号': // the markers' first runes
	default:
		return 0
	}
	for _, m := range addressMarkers {
		if i+len(m) <= len(in) && slices.Equal(in[i:i+len(m)], m) {
			return len(m)
		}
	}
	return 0
}

func isKanjiNumeral(r rune) bool {
	_, ok := kanjiDigit(r)
	return ok || r == '十' || r == '百'
}

// kanjiNumber reads 一, 十一, 二十三, 百五, 一〇五 and the like.
func kanjiNumber(rs []rune) (int, bool) {
	if len(rs) == 0 {
		return 0, false
	}
	total, cur := 0, -1
	positional := true
	for _, r := range rs {
		if r == '十' || r == '百' {
			positional = false
		}
	}
	if positional {
		n := 0
		for _, r := range rs {
			d, _ := kanjiDigit(r)
			n = n*10 + d
		}
		return n, true
	}
	for _, r := range rs {
		switch r {
		case '十', '百':
			unit := 10
			if r == '百' {
				unit = 100
			}
			if cur < 0 {
				cur = 1
			}
			total += cur * unit
			cur = -1
		default:
			if cur >= 0 {
				return 0, false // two digits in a row in a 十/百 number
			}
			cur, _ = kanjiDigit(r)
		}
	}
	if cur > 0 {
		total += cur
	}
	return total, true
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func isIdeograph(r rune) bool { return unicode.Is(unicode.Han, r) }

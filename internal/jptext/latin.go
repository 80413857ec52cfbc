package jptext

import (
	"slices"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// latinWords returns the words of a name in Latin letters, each folded
// as NameKey folds (upper case, full width narrowed, dots and commas
// dropped), or nil unless s has at least two words and every word has a
// Latin letter. Words are split at spaces (any width), commas and middle
// dots, as foreign names are written (SMITH, John Michael).
func latinWords(s string) []string {
	fields := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || r == '，' || r == '、' || r == '・' || r == '･'
	})
	var words []string
	for _, f := range fields {
		w := NameKey(f)
		if w == "" {
			continue
		}
		if !strings.ContainsFunc(w, func(r rune) bool { return r >= 'A' && r <= 'Z' }) {
			return nil
		}
		words = append(words, w)
	}
	if len(words) < 2 {
		return nil
	}
	return words
}

// latinKey joins words in sorted order, so any order of the same words
// gives the same key. The space it joins them with is never in a NameKey,
// so a Latin key is never mistaken for a name key.
func latinKey(words []string) string {
	w := slices.Clone(words)
	slices.Sort(w)
	return strings.Join(w, " ")
}

// LatinQueryKey is the search key of a name in Latin letters as a clerk
// types it, in any order (John Smith, SMITH JOHN, Smith, John Michael): its
// words, folded and sorted. It is "" unless s is two or more Latin words.
func LatinQueryKey(s string) string {
	words := latinWords(s)
	if words == nil {
		return ""
	}
	return latinKey(words)
}

// LatinNameKeys returns the keys a resident registered with a name in
// Latin letters is found by, whatever order the words are typed in: every
// word of the surname and given names; and, when the given names are
// several (middle names, or a Vietnamese or Korean two-part given name),
// the surname with each one of them, so a search without the middle name
// finds the resident too. Nil for a name not in Latin letters.
func LatinNameKeys(family, given string) []string {
	fam := latinWordsOf(family)
	giv := latinWordsOf(given)
	if fam == nil || len(fam)+len(giv) < 2 {
		return nil
	}
	keys := []string{latinKey(append(slices.Clone(fam), giv...))}
	if len(giv) > 1 {
		for _, g := range giv {
			k := latinKey(append(slices.Clone(fam), g))
			if !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// latinWordsOf is latinWords for one part of a name, which may be a
// single word; nil when a word has no Latin letter.
func latinWordsOf(s string) []string {
	if strings.TrimSpace(s) == "" {
		return []string{}
	}
	words := latinWords(s + " A") // the extra word lets a single word through
	if words == nil {
		return nil
	}
	return words[:len(words)-1]
}

// SpellingDifference says how a spelling typed in a search differs from
// the stored one when both give the same key.
type SpellingDifference int

// The differences, from none to any other.
const (
	SameSpelling  SpellingDifference = iota // the same text, up to width and spaces
	VariantKanji                            // a kanji in one is a variant (異体字) of the other's
	OtherSpelling                           // kana, small kana, ヴ, dashes or other folds
)

// CompareSpelling tells how typed differs from stored: the same text
// (after NFKC, without spaces and name separators), variant kanji only
// (髙橋 for 高橋, 渡辺 for 渡邊), or some other spelling.
func CompareSpelling(typed, stored string) SpellingDifference {
	a, b := []rune(plainName(typed)), []rune(plainName(stored))
	if slices.Equal(a, b) {
		return SameSpelling
	}
	if len(a) != len(b) {
		return OtherSpelling
	}
	variants := variantTable()
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		fa, fb := a[i], b[i]
		if v, ok := variants[fa]; ok {
			fa = v
		}
		if v, ok := variants[fb]; ok {
			fb = v
		}
		if fa != fb || !isIdeograph(a[i]) || !isIdeograph(b[i]) {
			return OtherSpelling
		}
	}
	return VariantKanji
}

// plainName is a name without width differences, spaces, variation
// selectors or name separators, in upper case.
func plainName(s string) string {
	return strings.ToUpper(strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || isVariationSelector(r) || isNameSeparator(r) {
			return -1
		}
		return r
	}, norm.NFKC.String(s)))
}

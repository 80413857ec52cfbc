package resident

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"jukinet/internal/apperr"
)

// Class is a set of characters a text field may hold. Every class refuses
// what is not text: invalid UTF-8, control characters (NUL included),
// invisible format characters (bidi overrides such as U+202E, zero-width
// characters), private-use characters, unusual spaces, unassigned code
// points and U+FFFD, which a decoder leaves where a file had bytes that are
// no character.
type Class int

// The classes. docs/fields.md describes each one; keep them in step.
const (
	// ClassName is a name (氏, 名, 旧氏, 通称) as registered: kanji,
	// variant kanji included (CJK unified and compatibility ideographs,
	// every extension, with an ideographic variation selector after a
	// kanji), hiragana, full-width katakana, or Latin letters for foreign
	// residents (half or full width, accented too), with spaces and the
	// punctuation names use (・ ー ＝ - ' . ,). Latin letters and Japanese
	// script do not mix in one field.
	ClassName Class = iota + 1
	// ClassKana is a reading (フリガナ): full-width katakana, ー, ・,
	// ヽ, ヾ and spaces.
	ClassKana
	// ClassAddress is an address as written: letters, digits, marks,
	// punctuation and symbols of any script, and spaces; not half-width
	// katakana.
	ClassAddress
	// ClassText is free text an operator types (the reason of a request,
	// a search term): any printable character and spaces.
	ClassText
)

// The longest value of each kind of field, in characters.
const (
	MaxName    = 100 // a name part; a foreign resident's full name in Latin letters fits
	MaxKana    = 200 // a reading is longer than the Latin name it reads
	MaxAddress = 200
)

// Field is what one text field may hold: the one definition every door
// (web forms, JSON API, CSV import, federation) applies through Check.
type Field struct {
	Name     string // as in the CSV header, the JSON API and the forms
	Japanese string // the field's name on screen
	Class    Class
	Max      int // characters
}

// The record's text fields.
var (
	FieldFamilyName        = Field{"family_name", "氏", ClassName, MaxName}
	FieldGivenName         = Field{"given_name", "名", ClassName, MaxName}
	FieldFamilyNameKana    = Field{"family_name_kana", "氏（フリガナ）", ClassKana, MaxKana}
	FieldGivenNameKana     = Field{"given_name_kana", "名（フリガナ）", ClassKana, MaxKana}
	FieldFormerSurname     = Field{"former_surname", "旧氏", ClassName, MaxName}
	FieldFormerSurnameKana = Field{"former_surname_kana", "旧氏（フリガナ）", ClassKana, MaxKana}
	FieldAlias             = Field{"alias", "通称", ClassName, MaxName}
	FieldAliasKana         = Field{"alias_kana", "通称（フリガナ）", ClassKana, MaxKana}
	FieldAddress           = Field{"address", "住所", ClassAddress, MaxAddress}
)

// columnLabels names every column of the layout on screen, the text fields
// and those the ids package and Validate check.
var columnLabels = map[string]string{
	"resident_code": "住民票コード", "individual_number": "個人番号", "date_of_birth": "生年月日", "sex": "性別",
	"local_gov_code": "地方公共団体コード", "change_reason": "異動事由", "change_date": "異動年月日",
}

func init() {
	for _, f := range []Field{FieldFamilyName, FieldGivenName, FieldFamilyNameKana, FieldGivenNameKana, FieldFormerSurname,
		FieldFormerSurnameKana, FieldAlias, FieldAliasKana, FieldAddress} {
		columnLabels[f.Name] = f.Japanese
	}
}

// Check returns what is wrong with v as a value of f, or nil. A field that
// is not required may be empty.
func (f Field) Check(v string, required bool) *FieldError {
	bad := func(en, ja string) *FieldError {
		return &FieldError{Column: f.Name, Label: f.Japanese, Reason: en, Japanese: ja}
	}
	if !utf8.ValidString(v) {
		return bad("not valid UTF-8 text (check the file's encoding)", "文字コードが正しくありません（UTF-8として読めないバイトがあります）")
	}
	if strings.TrimSpace(v) == "" {
		switch {
		case required:
			return bad("required", "必須項目です")
		case v != "":
			return bad("only spaces: leave it empty or write the value", "空白だけが入力されています")
		}
		return nil
	}
	if n := utf8.RuneCountInString(v); n > f.Max {
		return bad(fmt.Sprintf("longer than %d characters (%d given)", f.Max, n), fmt.Sprintf("%d文字以内で入力してください（%d文字あります）", f.Max, n))
	}
	var latin, japanese bool
	var prev rune
	pos := 0
	for _, r := range v {
		pos++
		if en, ja := notText(r); en != "" {
			return bad(fmt.Sprintf("character %d: %s", pos, en), fmt.Sprintf("%d文字目：%s", pos, ja))
		}
		if isHalfWidthKana(r) && f.Class != ClassText {
			return bad(fmt.Sprintf("character %d: half-width katakana %q: write it in full width (in a Shift_JIS file, a half-width character among kanji usually means a double-byte character lost a byte)", pos, r),
				fmt.Sprintf("%d文字目：半角カタカナ「%c」は使えません。全角で入力してください（Shift_JISのファイルでは、2バイト文字が壊れている場合があります）", pos, r))
		}
		ok, mark := true, false
		switch f.Class {
		case ClassName:
			switch {
			case isKanji(r) || isKana(r):
				japanese = true
			case isLatinLetter(r):
				latin = true
			case isVariationSelector(r):
				ok, mark = isKanji(prev), true
			case unicode.Is(unicode.Mn, r):
				// A decomposed accent (e + U+0301) on a Latin letter.
				ok, mark = isLatinLetter(prev), true
			default:
				ok = strings.ContainsRune(namePunct, r)
			}
		case ClassKana:
			ok = isKanaNameRune(r)
		}
		if !ok {
			return bad(fmt.Sprintf("%s; character %d, %q (U+%04X), is not", classRule[f.Class], pos, r, r),
				fmt.Sprintf("%s（%d文字目の「%c」（U+%04X）は使えません）", classRuleJa[f.Class], pos, r, r))
		}
		if !mark {
			prev = r // a mark applies to the letter before it, and so may the next
		}
	}
	if latin && japanese {
		return bad("mixes Latin letters with kanji or kana: a name is written in one or the other (in a Shift_JIS file this usually means a double-byte character lost a byte)",
			"ローマ字と漢字・かなが混在しています。どちらか一方で入力してください（Shift_JISのファイルでは、2バイト文字が壊れている場合があります）")
	}
	return nil
}

// Value is a value given for a field, for CheckValues.
type Value struct {
	Field    Field
	Text     string
	Required bool
}

// CheckValues checks each value against its field and returns an
// apperr.Invalid error naming every field that breaks its rule, with the
// rule, or nil. Domain packages call it before they write or log anything,
// so a refused value never reaches the database or the audit log.
func CheckValues(vs ...Value) error {
	var errs []FieldError
	for _, v := range vs {
		if e := v.Field.Check(v.Text, v.Required); e != nil {
			errs = append(errs, *e)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return Invalid(errs)
}

// Invalid is the error of values that break the field rules: each field
// named, with its rule, in English and Japanese.
func Invalid(errs []FieldError) *apperr.Error {
	en := make([]string, len(errs))
	ja := make([]string, len(errs))
	fields := make([]apperr.Field, len(errs))
	for i, e := range errs {
		en[i] = e.Error()
		ja[i] = e.JapaneseMessage()
		fields[i] = apperr.Field{Name: e.Column, Message: en[i], Japanese: ja[i]}
	}
	err := apperr.New(apperr.Invalid, strings.Join(en, "; "), strings.Join(ja, "／"))
	err.Fields = fields
	return err
}

// classRule and classRuleJa state a class's rule in an error message; only
// the classes that restrict letters need one.
var classRule = map[Class]string{
	ClassName: "only kanji, kana or Latin letters, spaces and ・ー＝-'., are allowed",
	ClassKana: "only full-width katakana is allowed",
}
var classRuleJa = map[Class]string{
	ClassName: "漢字・かな・ローマ字と空白、・ー＝-'., のみ使えます",
	ClassKana: "全角カタカナで入力してください",
}

// namePunct is the punctuation a name may hold besides letters: spaces,
// the middle dot and long vowel mark of katakana names, the double hyphen
// of foreign names in katakana, and what Latin names use.
const namePunct = " 　・ー＝-－'’.．,，"

// notText says why r is no character of any field's text, or "".
func notText(r rune) (en, ja string) {
	switch {
	case (r >= 0x20 && r < 0x7F) || (r >= 'ぁ' && r <= 'ゖ') || (r >= 0x3099 && r <= 'ヿ') || (r >= 0x4E00 && r <= 0x9FFF):
		// Printable ASCII, kana and the common kanji, nearly every
		// character of a register: decided without the tables below.
		return "", ""
	case r == utf8.RuneError:
		// What a decoder leaves for bytes that were no character: a
		// damaged file, or the wrong encoding. Never part of a value.
		return "holds U+FFFD (�), left where the file had bytes that are no character: check the file and its encoding",
			"文字化け（�）が含まれています。ファイルとその文字コードを確認してください"
	case unicode.IsControl(r):
		return fmt.Sprintf("the control character U+%04X is not allowed", r), fmt.Sprintf("制御文字（U+%04X）が含まれています", r)
	case unicode.Is(unicode.Cf, r):
		return fmt.Sprintf("the invisible format character U+%04X (a bidi override, zero-width character or the like) is not allowed: it changes how text is shown", r),
			fmt.Sprintf("見えない書式制御文字（U+%04X。文字の向きの上書き、ゼロ幅文字など）が含まれています", r)
	case unicode.Is(unicode.Co, r):
		return fmt.Sprintf("U+%04X is a private-use character (外字): use the MJ character or its standard form", r),
			fmt.Sprintf("外字（私用領域の文字 U+%04X）は使えません。MJ文字または標準の字形で入力してください", r)
	case unicode.IsSpace(r) && r != ' ' && r != '　', unicode.In(r, unicode.Zl, unicode.Zp):
		return fmt.Sprintf("the space-like character U+%04X is not allowed: use an ordinary space", r),
			fmt.Sprintf("特殊な空白文字（U+%04X）は使えません。通常の空白を使ってください", r)
	case !unicode.IsGraphic(r):
		return fmt.Sprintf("U+%04X is not an assigned character", r), fmt.Sprintf("U+%04X は文字として定義されていません", r)
	}
	return "", ""
}

// isKanji reports a kanji: a Han character, not a radical (部首), which
// looks like a kanji but is not one.
func isKanji(r rune) bool {
	if r >= 0x4E00 && r <= 0x9FFF {
		return true // the common block, without the table
	}
	return (unicode.Is(unicode.Han, r) && (r < 0x2E80 || r > 0x2FDF)) || r == '〆'
}

// isKana reports hiragana or full-width katakana as names use them.
func isKana(r rune) bool {
	return (r >= 'ぁ' && r <= 'ゖ') || r == 'ゝ' || r == 'ゞ' || (r >= 'ァ' && r <= 'ヺ') || r == 'ヽ' || r == 'ヾ'
}

func isLatinLetter(r rune) bool {
	if r < 0x80 {
		return (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z')
	}
	return unicode.Is(unicode.Latin, r) && unicode.IsLetter(r)
}

// isHalfWidthKana reports the half-width katakana and punctuation of JIS X
// 0201 (｡ to ﾟ).
func isHalfWidthKana(r rune) bool { return r >= 0xFF61 && r <= 0xFF9F }

// isVariationSelector reports the selectors that pick a kanji's variant
// form (MJ characters are often given as a kanji and an IVS).
func isVariationSelector(r rune) bool {
	return (r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF)
}

// isKanaNameRune reports the characters a kana reading may contain.
func isKanaNameRune(r rune) bool {
	return (r >= 'ァ' && r <= 'ヺ') || r == 'ー' || r == '・' || r == ' ' || r == '　' || r == 'ヽ' || r == 'ヾ'
}

// Package ids parses, validates and generates the three codes of the resident
// registry: 住民票コード (ResidentCode), 個人番号 (IndividualNumber) and
// 地方公共団体コード (LocalGovCode), with their check digits (domain.md §2).
//
// Parsers accept what a clerk types: surrounding spaces, full-width digits and
// hyphens or spaces between digit groups are folded away; anything else is an
// *Error that names the value and the broken rule.
package ids

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Kind names which code a value is.
type Kind int

// The kinds of code.
const (
	KindUnknown Kind = iota
	KindResidentCode
	KindIndividualNumber
	KindLocalGovCode
)

// String returns the kind's Japanese name, as on forms.
func (k Kind) String() string {
	switch k {
	case KindResidentCode:
		return "住民票コード"
	case KindIndividualNumber:
		return "個人番号"
	case KindLocalGovCode:
		return "地方公共団体コード"
	}
	return "不明なコード"
}

// English returns the kind's English name.
func (k Kind) English() string {
	switch k {
	case KindResidentCode:
		return "resident code"
	case KindIndividualNumber:
		return "individual number"
	case KindLocalGovCode:
		return "local government code"
	}
	return "unknown code"
}

// digits is the length of each kind of code.
func (k Kind) digits() int {
	switch k {
	case KindResidentCode:
		return 11
	case KindIndividualNumber:
		return 12
	case KindLocalGovCode:
		return 6
	}
	return 0
}

// Rule identifies which rule a value broke.
type Rule string

// The rules a code can break.
const (
	RuleEmpty      Rule = "empty"
	RuleNotDigits  Rule = "not_digits"
	RuleLength     Rule = "length"
	RuleCheckDigit Rule = "check_digit"
	RuleUnknownLG  Rule = "unknown_local_gov"
	// RuleAbolishedLG: the body had the code but was abolished by the day
	// that counts; Error.Abolished is the body.
	RuleAbolishedLG Rule = "abolished_local_gov"
)

// Error says why a value is not a valid code. Error() is English; Japanese()
// is the message a clerk sees.
type Error struct {
	Kind  Kind
	Value string // the value as given
	Rule  Rule
	Got   string // the offending part: a character, a length, a check digit
	Want  string // what the rule expected there

	// Abolished is the abolished body, for RuleAbolishedLG; nil otherwise.
	Abolished *LocalGov
}

func (e *Error) Error() string {
	if e.Rule == RuleEmpty {
		return fmt.Sprintf("%s: %s", e.Kind.English(), e.Reason())
	}
	return fmt.Sprintf("%s %q: %s", e.Kind.English(), e.Value, e.Reason())
}

// Reason is the broken rule alone, in English, for messages that already
// show the value and its kind.
func (e *Error) Reason() string {
	switch e.Rule {
	case RuleEmpty:
		return "empty value"
	case RuleNotDigits:
		return fmt.Sprintf("only digits are allowed, found %q", e.Got)
	case RuleLength:
		return fmt.Sprintf("must be %s digits, got %s", e.Want, e.Got)
	case RuleCheckDigit:
		return fmt.Sprintf("check digit is %s, expected %s", e.Got, e.Want)
	case RuleUnknownLG:
		return "no local government has this code"
	case RuleAbolishedLG:
		return e.abolishedReason()
	}
	return "invalid"
}

// Japanese returns the error in Japanese.
func (e *Error) Japanese() string {
	if e.Rule == RuleEmpty {
		return fmt.Sprintf("%sが入力されていません", e.Kind)
	}
	return fmt.Sprintf("%s「%s」: %s", e.Kind, e.Value, e.ReasonJapanese())
}

// ReasonJapanese is the broken rule alone, in Japanese.
func (e *Error) ReasonJapanese() string {
	switch e.Rule {
	case RuleEmpty:
		return "入力されていません"
	case RuleNotDigits:
		return fmt.Sprintf("数字以外の文字「%s」が含まれています", e.Got)
	case RuleLength:
		return fmt.Sprintf("%s桁で入力してください（%s桁です）", e.Want, e.Got)
	case RuleCheckDigit:
		return fmt.Sprintf("検査数字が%sですが、正しくは%sです", e.Got, e.Want)
	case RuleUnknownLG:
		return "この団体コードの地方公共団体はありません"
	case RuleAbolishedLG:
		return e.abolishedReasonJapanese()
	}
	return "正しくありません"
}

// abolishedReason is, in English, when the body was abolished and which
// bodies in force hold its area now: "abolished on 2024-01-01 (静岡県浜松市中区):
// merged into 221384 浜松市中央区".
func (e *Error) abolishedReason() string {
	lg := e.Abolished
	if lg == nil {
		return "abolished local government"
	}
	now := successorNames(*lg, " or ")
	how := "now " + now
	switch lg.Change {
	case ChangeMerged:
		how = "merged into " + now
	case ChangeSplit:
		how = "divided among " + successorNames(*lg, " and ")
	case ChangeRenamed:
		how = "renamed " + now
	case ChangeRecoded:
		how = "given the new code " + now
	}
	if now == "" {
		how = "no successor is recorded"
	}
	return fmt.Sprintf("abolished on %s (%s): %s", lg.ValidUntil.Format(time.DateOnly), lg.FullName(), how)
}

// abolishedReasonJapanese is the same for the UI: 「2024年1月1日に廃止。現在は
// 221384 浜松市中央区」.
func (e *Error) abolishedReasonJapanese() string {
	lg := e.Abolished
	if lg == nil {
		return "廃止された地方公共団体です"
	}
	d := lg.ValidUntil
	msg := fmt.Sprintf("%d年%d月%d日に廃止", d.Year(), int(d.Month()), d.Day())
	if now := successorNames(*lg, "または"); now != "" {
		msg += "。現在は" + now
	}
	return msg
}

// successorNames lists the bodies now holding lg's area, each as its code
// and its name within the prefecture (with the prefecture when it differs
// from lg's), joined by sep.
func successorNames(lg LocalGov, sep string) string {
	var names []string
	for _, s := range lg.CurrentSuccessors() {
		name := s.ShortName()
		if s.Prefecture != lg.Prefecture || s.Kind == LGPrefecture {
			name = s.FullName()
		}
		names = append(names, string(s.Code)+" "+name)
	}
	return strings.Join(names, sep)
}

// normalize folds full-width digits to ASCII and drops spaces and hyphens, the
// separators people put between digit groups. It does not check anything.
func normalize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= '０' && r <= '９':
			b.WriteRune('0' + (r - '０'))
		case r == ' ' || r == '\t' || r == '　' || r == '-' || r == '－' || r == 'ー' || r == '‐' || r == '−':
			// separators
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// shown is s made safe to print: invalid UTF-8 and characters that do not
// print (controls, bidi overrides) become U+FFFD, and a long value is cut,
// so that a message, and the audit log it may reach, never carries a
// disguised or megabyte-long value.
func shown(s string) string {
	const most = 24
	if len(s) > 4*most {
		s = s[:4*most]
	}
	s = strings.Map(func(r rune) rune {
		if !unicode.IsGraphic(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	if r := []rune(s); len(r) > most {
		s = string(r[:most-4]) + "…"
	}
	return s
}

// digitsOf normalizes s and checks it is exactly kind's number of digits.
func digitsOf(kind Kind, s string) (string, error) {
	d := normalize(s)
	if d == "" {
		return "", &Error{Kind: kind, Value: shown(s), Rule: RuleEmpty}
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return "", &Error{Kind: kind, Value: shown(s), Rule: RuleNotDigits, Got: shown(string(r))}
		}
	}
	if n := kind.digits(); len(d) != n {
		return "", &Error{Kind: kind, Value: shown(s), Rule: RuleLength, Got: fmt.Sprint(len(d)), Want: fmt.Sprint(n)}
	}
	return d, nil
}

// checkLast compares the last digit of d with want.
func checkLast(kind Kind, s, d string, want int) error {
	if got := int(d[len(d)-1] - '0'); got != want {
		return &Error{Kind: kind, Value: shown(s), Rule: RuleCheckDigit, Got: fmt.Sprint(got), Want: fmt.Sprint(want)}
	}
	return nil
}

// Classify guesses the kind of a value by its number of digits: 6 is a local
// government code, 11 a resident code, 12 an individual number.
func Classify(s string) Kind {
	switch len(normalize(s)) {
	case 6:
		return KindLocalGovCode
	case 11:
		return KindResidentCode
	case 12:
		return KindIndividualNumber
	}
	return KindUnknown
}

// randomDigits returns n random decimal digits.
func randomDigits(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return b
}

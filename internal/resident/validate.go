package resident

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"jukinet/internal/ids"
)

// FieldError says which field of a record is wrong and why. Column is the
// CSV column name; Japanese is the message for the UI.
type FieldError struct {
	Column   string
	Reason   string
	Japanese string
}

func (e FieldError) Error() string { return e.Column + ": " + e.Reason }

// maxText is the longest name or address accepted, in characters.
const maxText = 200

// Validate checks a record against the domain's rules and returns every
// problem found.
func (r IdentityRecord) Validate() []FieldError {
	var errs []FieldError
	add := func(col, en, ja string) { errs = append(errs, FieldError{col, en, ja}) }
	if _, err := ids.ParseResidentCode(string(r.ResidentCode)); err != nil {
		add("resident_code", idRule(err), idRuleJa(err))
	} else if string(r.ResidentCode) != strings.TrimSpace(string(r.ResidentCode)) || len(r.ResidentCode) != 11 {
		add("resident_code", "write the 11 digits without separators", "11桁の数字を区切りなしで入力してください")
	}
	if _, err := ids.ParseIndividualNumber(string(r.IndividualNumber)); err != nil {
		add("individual_number", idRule(err), idRuleJa(err))
	} else if len(r.IndividualNumber) != 12 {
		add("individual_number", "write the 12 digits without separators", "12桁の数字を区切りなしで入力してください")
	}
	text := func(col, v string, required bool) {
		switch {
		case !utf8.ValidString(v):
			add(col, "not valid text (check the file's encoding)", "文字コードが正しくありません")
		case required && strings.TrimSpace(v) == "":
			add(col, "required", "必須項目です")
		case utf8.RuneCountInString(v) > maxText:
			add(col, fmt.Sprintf("longer than %d characters", maxText), fmt.Sprintf("%d文字以内で入力してください", maxText))
		case strings.ContainsRune(v, utf8.RuneError):
			// What a decoder leaves for bytes that were no character: a
			// damaged file, or the wrong encoding. Never part of a name.
			add(col, "holds U+FFFD (�), left where the file had bytes that are no character: check the file and its encoding",
				"文字化け（�）が含まれています。ファイルとその文字コードを確認してください")
		case strings.ContainsFunc(v, func(r rune) bool { return unicode.IsControl(r) }):
			add(col, "contains a control character", "制御文字が含まれています")
		}
	}
	kana := func(col, v string, required bool) {
		before := len(errs)
		text(col, v, required)
		if len(errs) > before {
			return // one error for the field
		}
		if bad := strings.IndexFunc(v, func(r rune) bool { return !isKanaNameRune(r) }); bad >= 0 {
			r, _ := utf8.DecodeRuneInString(v[bad:])
			add(col, fmt.Sprintf("only full-width katakana is allowed, found %q", r), fmt.Sprintf("全角カタカナで入力してください（「%c」は使えません）", r))
		}
	}
	text("family_name", r.FamilyName, true)
	text("given_name", r.GivenName, false)
	kana("family_name_kana", r.FamilyNameKana, true)
	kana("given_name_kana", r.GivenNameKana, r.GivenName != "")
	text("former_surname", r.FormerSurname, false)
	kana("former_surname_kana", r.FormerSurnameKana, r.FormerSurname != "")
	text("alias", r.Alias, false)
	kana("alias_kana", r.AliasKana, r.Alias != "")
	text("address", r.Address, true)
	if r.DateOfBirth.IsZero() {
		add("date_of_birth", "required, as YYYY-MM-DD", "YYYY-MM-DD の形式で入力してください")
	} else if r.DateOfBirth.Year() < 1868 {
		add("date_of_birth", "before 1868", "1868年より前の日付です")
	}
	if r.Sex != SexMale && r.Sex != SexFemale {
		add("sex", "must be 1 (男) or 2 (女)", "1（男）または2（女）で入力してください")
	}
	if lg, err := ids.ParseExistingLocalGov(string(r.LocalGov)); err != nil {
		add("local_gov_code", idRule(err), idRuleJa(err))
	} else if lg.Kind == ids.LGPrefecture || lg.Kind == ids.LGDesignatedCity {
		add("local_gov_code", fmt.Sprintf("%s (%s) does not hold resident records: give the municipality or ward", lg.Code, lg.FullName()),
			fmt.Sprintf("%s（%s）は住民票を保有しません。市区町村のコードを入力してください", lg.Code, lg.FullName()))
	}
	if _, ok := ParseChangeReason(string(r.ChangeReason)); !ok {
		add("change_reason", fmt.Sprintf("unknown change reason %q", r.ChangeReason), fmt.Sprintf("異動事由「%s」は使えません", r.ChangeReason))
	}
	if r.ChangeDate.IsZero() {
		add("change_date", "required, as YYYY-MM-DD", "YYYY-MM-DD の形式で入力してください")
	} else if !r.DateOfBirth.IsZero() && r.ChangeDate.Before(r.DateOfBirth) {
		add("change_date", "before the date of birth", "生年月日より前の日付です")
	}
	return errs
}

// isKanaNameRune reports the characters a kana reading may contain.
func isKanaNameRune(r rune) bool {
	return (r >= 'ァ' && r <= 'ヺ') || r == 'ー' || r == '・' || r == ' ' || r == '　' || r == 'ヽ' || r == 'ヾ'
}

func idRule(err error) string {
	var e *ids.Error
	if errors.As(err, &e) {
		return e.Reason()
	}
	return err.Error()
}

func idRuleJa(err error) string {
	var e *ids.Error
	if errors.As(err, &e) {
		return e.ReasonJapanese()
	}
	return err.Error()
}

// ParseDate reads a YYYY-MM-DD date.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date as YYYY-MM-DD", s)
	}
	return t, nil
}

// Removes reports whether the change makes the record a removed record.
func (c ChangeReason) Removes() bool {
	for _, r := range ChangeReasons {
		if r.Reason == c {
			return r.Removes
		}
	}
	return false
}

// Enters reports whether the change can create a record: 転入, 出生, 職権記載.
func (c ChangeReason) Enters() bool {
	return c == ReasonMoveIn || c == ReasonBirth || c == ReasonExOfficioEntry
}

// retention rules (政令34条): since 2019-06-20 removed records and superseded
// versions are kept 150 years; records removed before 2014-06-20 keep the
// old 5-year rule.
var oldRetentionBefore = Date(2014, time.June, 20)

// RetainUntil returns the day a record removed or superseded on day d may
// be disposed of.
func RetainUntil(d time.Time) time.Time {
	if d.Before(oldRetentionBefore) {
		return d.AddDate(5, 0, 0)
	}
	return d.AddDate(150, 0, 0)
}

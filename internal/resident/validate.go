package resident

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"jukinet/internal/ids"
)

// FieldError says which field of a record (or request) is wrong and why.
// Column is the field's name as in the CSV header and the JSON API; Label
// its name on screen; Japanese the rule for the UI.
type FieldError struct {
	Column   string
	Label    string
	Reason   string
	Japanese string
}

func (e FieldError) Error() string { return e.Column + ": " + e.Reason }

// JapaneseMessage is the error as the UI shows it: the field's name on
// screen, then the rule.
func (e FieldError) JapaneseMessage() string {
	label := e.Label
	if label == "" {
		label = columnLabels[e.Column]
	}
	if label == "" {
		label = e.Column
	}
	return label + "：" + e.Japanese
}

// Validate checks a record against the domain's rules and returns every
// problem found, at most one per field. now is the time of the check: a
// date of birth after its day (in Japan) is refused.
func (r IdentityRecord) Validate(now time.Time) []FieldError {
	var errs []FieldError
	add := func(col, en, ja string) {
		errs = append(errs, FieldError{Column: col, Label: columnLabels[col], Reason: en, Japanese: ja})
	}
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
	text := func(f Field, v string, required bool) {
		if e := f.Check(v, required); e != nil {
			errs = append(errs, *e)
		}
	}
	text(FieldFamilyName, r.FamilyName, true)
	text(FieldGivenName, r.GivenName, false)
	text(FieldFamilyNameKana, r.FamilyNameKana, true)
	text(FieldGivenNameKana, r.GivenNameKana, r.GivenName != "")
	text(FieldFormerSurname, r.FormerSurname, false)
	text(FieldFormerSurnameKana, r.FormerSurnameKana, r.FormerSurname != "")
	text(FieldAlias, r.Alias, false)
	text(FieldAliasKana, r.AliasKana, r.Alias != "")
	text(FieldAddress, r.Address, true)
	today := Date(now.In(jst).Date())
	switch {
	case r.DateOfBirth.IsZero():
		add("date_of_birth", "required, as YYYY-MM-DD", "YYYY-MM-DD の形式で入力してください")
	case r.DateOfBirth.Year() < 1868:
		add("date_of_birth", "before 1868", "1868年より前の日付です")
	case r.DateOfBirth.After(today):
		add("date_of_birth", fmt.Sprintf("%s is after today (%s)", r.DateOfBirth.Format(time.DateOnly), today.Format(time.DateOnly)),
			fmt.Sprintf("%s は未来の日付です（本日は %s）", r.DateOfBirth.Format(time.DateOnly), today.Format(time.DateOnly)))
	}
	if r.Sex != SexMale && r.Sex != SexFemale {
		add("sex", "must be 1 (男) or 2 (女)", "1（男）または2（女）で入力してください")
	}
	// The code must have been in force on the record's date (its change
	// date; today when it has none): a 除票 of 2020 keeps 221317 浜松市中区,
	// abolished on 2024-01-01, and a record of today cannot have it.
	recordDay := r.ChangeDate
	if recordDay.IsZero() {
		recordDay = today
	}
	if lg, err := ids.ParseLocalGovOn(string(r.LocalGov), recordDay); err != nil {
		add("local_gov_code", idRule(err), idRuleJa(err))
	} else if lg.Kind == ids.LGPrefecture || lg.Kind == ids.LGDesignatedCity {
		add("local_gov_code", fmt.Sprintf("%s (%s) does not hold resident records: give the municipality or ward", lg.Code, lg.FullName()),
			fmt.Sprintf("%s（%s）は住民票を保有しません。市区町村のコードを入力してください", lg.Code, lg.FullName()))
	} else if FieldAddress.Check(r.Address, true) == nil && !addressInBody(r.Address, lg) {
		add("address", fmt.Sprintf("does not begin with %s, the local government of code %s: check the address and local_gov_code (a double-byte character that lost a byte in a Shift_JIS file also shows so)", lg.FullName(), lg.Code),
			fmt.Sprintf("住所が地方公共団体コード %s の名称（%s）から始まっていません。住所とコードを確認してください（Shift_JIS のファイルで文字が欠けた場合もこうなります）", lg.Code, lg.FullName()))
	}
	if _, ok := ParseChangeReason(string(r.ChangeReason)); !ok {
		// The value is quoted only when short: a field never carries a
		// whole megabyte into a message, and so into the audit log.
		if s := string(r.ChangeReason); utf8.ValidString(s) && utf8.RuneCountInString(s) <= 20 {
			add("change_reason", fmt.Sprintf("unknown change reason %q", s), fmt.Sprintf("異動事由「%s」は使えません", strings.Map(printable, s)))
		} else {
			add("change_reason", "not a change reason", "異動事由が正しくありません")
		}
	}
	if r.ChangeDate.IsZero() {
		add("change_date", "required, as YYYY-MM-DD", "YYYY-MM-DD の形式で入力してください")
	} else if !r.DateOfBirth.IsZero() && !r.DateOfBirth.After(today) && r.ChangeDate.Before(r.DateOfBirth) {
		add("change_date", "before the date of birth", "生年月日より前の日付です")
	}
	return errs
}

// addressInBody reports whether an address begins with the name of the
// local government that holds the record, written as addresses write it:
// in full (東京都江東区, 北海道空知郡南幌町), without the prefecture (江東区),
// or without the county (北海道南幌町, 南幌町). A resident's address lies in
// the body that keeps the record; and in a Shift_JIS file a double-byte
// character that lost a byte shifts every character after it into other
// characters, which this catches at the start of the address.
func addressInBody(address string, lg ids.LocalGov) bool {
	for _, prefix := range []string{
		lg.Prefecture + lg.Parent + lg.Name, lg.Prefecture + lg.Name, lg.Parent + lg.Name, lg.Name,
	} {
		if prefix != "" && strings.HasPrefix(address, prefix) {
			return true
		}
	}
	return false
}

// jst is Japan's time zone, in which "today" is decided.
var jst = time.FixedZone("JST", 9*60*60)

// printable drops what would not show in a message.
func printable(r rune) rune {
	if en, _ := notText(r); en != "" {
		return -1
	}
	return r
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

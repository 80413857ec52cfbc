// Package resident holds the domain types of identity confirmation
// information (本人確認情報, law art. 30-6): one version of a resident's
// record, the sexes and change reasons, and the CSV layout records are
// imported and exported in. It knows nothing of storage: the register behind
// the gate stores these values.
package resident

import (
	"time"

	"jukinet/internal/ids"
)

// Sex is 性別, coded as in ISO 5218 and on municipal files.
type Sex int

// The sexes a record can hold.
const (
	SexMale   Sex = 1 // 男
	SexFemale Sex = 2 // 女
)

// String returns the sex in Japanese.
func (s Sex) String() string {
	switch s {
	case SexMale:
		return "男"
	case SexFemale:
		return "女"
	}
	return "不明"
}

// ChangeReason is 異動事由, why a version of a record was made.
type ChangeReason string

// The change reasons of domain.md §2. The value is the Japanese term, as it
// appears on municipal files.
const (
	ReasonMoveIn             ChangeReason = "転入"
	ReasonBirth              ChangeReason = "出生"
	ReasonMoveOut            ChangeReason = "転出"
	ReasonDeath              ChangeReason = "死亡"
	ReasonMoveWithin         ChangeReason = "転居"
	ReasonExOfficioEntry     ChangeReason = "職権記載"
	ReasonExOfficioCorrect   ChangeReason = "職権修正"
	ReasonExOfficioRemoval   ChangeReason = "職権消除"
	ReasonNameChange         ChangeReason = "氏名変更"
	ReasonResidentCodeChange ChangeReason = "住民票コード変更"
)

// ChangeReasons lists every change reason with its English identifier.
var ChangeReasons = []struct {
	Reason  ChangeReason
	ID      string
	Removes bool // the change makes the record a removed record (除票)
}{
	{ReasonMoveIn, "move_in", false},
	{ReasonBirth, "birth", false},
	{ReasonMoveOut, "move_out", true},
	{ReasonDeath, "death", true},
	{ReasonMoveWithin, "move_within", false},
	{ReasonExOfficioEntry, "ex_officio_entry", false},
	{ReasonExOfficioCorrect, "ex_officio_correction", false},
	{ReasonExOfficioRemoval, "ex_officio_removal", true},
	{ReasonNameChange, "name_change", false},
	{ReasonResidentCodeChange, "resident_code_change", false},
}

// ParseChangeReason accepts the Japanese term or the English identifier.
func ParseChangeReason(s string) (ChangeReason, bool) {
	for _, r := range ChangeReasons {
		if s == string(r.Reason) || s == r.ID {
			return r.Reason, true
		}
	}
	return "", false
}

// IdentityRecord is one version of a resident's 本人確認情報.
type IdentityRecord struct {
	ResidentCode      ids.ResidentCode     // 住民票コード
	IndividualNumber  ids.IndividualNumber // 個人番号
	FamilyName        string               // 氏
	GivenName         string               // 名
	FamilyNameKana    string               // 氏（フリガナ）
	GivenNameKana     string               // 名（フリガナ）
	FormerSurname     string               // 旧氏, where registered
	FormerSurnameKana string
	Alias             string // 通称, where registered
	AliasKana         string
	DateOfBirth       time.Time // 生年月日 (a date: UTC midnight)
	Sex               Sex
	Address           string           // 住所, as written
	LocalGov          ids.LocalGovCode // the body that holds the record
	ChangeReason      ChangeReason     // 異動事由
	ChangeDate        time.Time        // 異動年月日 (a date: UTC midnight)
}

// Name is the full name as displayed: 氏, a full-width space, 名.
func (r IdentityRecord) Name() string { return joinName(r.FamilyName, r.GivenName) }

// NameKana is the full reading, spaced like Name.
func (r IdentityRecord) NameKana() string { return joinName(r.FamilyNameKana, r.GivenNameKana) }

func joinName(family, given string) string {
	if given == "" {
		return family
	}
	return family + "　" + given
}

// Date returns the calendar date y-m-d as jukinet stores dates.
func Date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

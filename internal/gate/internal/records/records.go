// Package records is the identity register: residents and every version of
// their identity records (本人確認情報), with their search keys. Only the gate
// may import it; every function runs on a caller's transaction or database
// handle so the gate decides what is logged around it.
package records

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

// Version is one stored version of a resident's record.
type Version struct {
	resident.IdentityRecord
	ResidentID  int64
	Version     int
	Removed     bool      // a removed record (除票)
	RetainUntil time.Time // zero while the version is current and not removed
	AuditSeq    int64     // the audit entry that made this version
}

// ErrNotFound is returned when no resident matches.
var ErrNotFound = errors.New("no such resident")

// ChangeError is a change the register refuses; Japanese is for the UI.
type ChangeError struct {
	Reason, Japanese string
	// Row is the refused record's place in an import's records, from 1,
	// and Column the field at fault, when known; zero and empty otherwise.
	Row    int
	Column string
}

func (e *ChangeError) Error() string { return e.Reason }

const dateFmt = time.DateOnly

func date(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, _ := time.Parse(dateFmt, s)
	return t
}

func dateStr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(dateFmt)
}

// ContentHash identifies a record's content, to tell a real change from a
// re-import of the same data.
func ContentHash(r resident.IdentityRecord) string {
	var fields [contentFields][]byte
	for i, f := range [contentFields]string{
		string(r.ResidentCode), string(r.IndividualNumber), r.FamilyName, r.GivenName, r.FamilyNameKana, r.GivenNameKana,
		r.FormerSurname, r.FormerSurnameKana, r.Alias, r.AliasKana, dateStr(r.DateOfBirth), fmt.Sprint(int(r.Sex)),
		r.Address, string(r.LocalGov), string(r.ChangeReason), dateStr(r.ChangeDate),
	} {
		fields[i] = []byte(f)
	}
	return hashContent(&fields)
}

// contentFields is how many items a content hash covers; contentColumns
// are the same items as stored, in the same order.
const contentFields = 16

const contentColumns = `ir.resident_code, ir.individual_number, ir.family_name, ir.given_name, ir.family_name_kana, ir.given_name_kana,
	ir.former_surname, ir.former_surname_kana, ir.alias, ir.alias_kana, ir.date_of_birth, ir.sex,
	ir.address, ir.local_gov_code, ir.change_reason, ir.change_date`

// hashContent is the content hash of a record's items in their text form.
func hashContent(fields *[contentFields][]byte) string {
	h := sha256.New()
	for _, f := range fields {
		h.Write(f)
		h.Write([]byte{0x1f})
	}
	var sum [sha256.Size]byte
	return hex.EncodeToString(h.Sum(sum[:0]))
}

// recordColumns are identity_record's columns in the order scan reads them.
const recordColumns = `ir.resident_id, ir.version, ir.resident_code, ir.individual_number, ir.family_name, ir.given_name,
	ir.family_name_kana, ir.given_name_kana, ir.former_surname, ir.former_surname_kana, ir.alias, ir.alias_kana,
	ir.date_of_birth, ir.sex, ir.address, ir.local_gov_code, ir.change_reason, ir.change_date, ir.removed,
	ir.retain_until, ir.audit_seq`

type scanner interface{ Scan(dest ...any) error }

func scanVersion(s scanner) (Version, error) {
	var v Version
	var code, number, lg, reason, dob, changed, retain string
	var sex int
	err := s.Scan(&v.ResidentID, &v.Version, &code, &number, &v.FamilyName, &v.GivenName,
		&v.FamilyNameKana, &v.GivenNameKana, &v.FormerSurname, &v.FormerSurnameKana, &v.Alias, &v.AliasKana,
		&dob, &sex, &v.Address, &lg, &reason, &changed, &v.Removed, &retain, &v.AuditSeq)
	if err != nil {
		return v, err
	}
	v.ResidentCode, v.IndividualNumber, v.LocalGov = ids.ResidentCode(code), ids.IndividualNumber(number), ids.LocalGovCode(lg)
	v.ChangeReason, v.Sex = resident.ChangeReason(reason), resident.Sex(sex)
	v.DateOfBirth, v.ChangeDate, v.RetainUntil = date(dob), date(changed), date(retain)
	return v, nil
}

// Current returns the current version of the resident with id.
func Current(ctx context.Context, q db.Querier, residentID int64) (Version, error) {
	v, err := scanVersion(q.QueryRow(ctx, `SELECT `+recordColumns+` FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.id = ?`, residentID))
	if errors.Is(err, sql.ErrNoRows) {
		return v, ErrNotFound
	}
	if err != nil {
		return v, fmt.Errorf("read resident %d: %w", residentID, err)
	}
	return v, nil
}

// LookupCode returns the current version of the resident who has or had
// resident code c.
func LookupCode(ctx context.Context, q db.Querier, c ids.ResidentCode) (Version, error) {
	return lookupBy(ctx, q, "resident_code", string(c))
}

// LookupNumber returns the current version of the resident who has or had
// individual number n.
func LookupNumber(ctx context.Context, q db.Querier, n ids.IndividualNumber) (Version, error) {
	return lookupBy(ctx, q, "individual_number", string(n))
}

func lookupBy(ctx context.Context, q db.Querier, column, value string) (Version, error) {
	// The current holder first; else a resident who held it before.
	v, err := scanVersion(q.QueryRow(ctx, `SELECT `+recordColumns+` FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.`+column+` = ?`, value))
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("look up resident by %s: %w", column, err)
	}
	var id int64
	err = q.QueryRow(ctx, `SELECT resident_id FROM identity_record WHERE `+column+` = ? ORDER BY id DESC LIMIT 1`, value).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, ErrNotFound
	}
	if err != nil {
		return Version{}, fmt.Errorf("look up resident by former %s: %w", column, err)
	}
	return Current(ctx, q, id)
}

// History returns every version of the resident, oldest first.
func History(ctx context.Context, q db.Querier, residentID int64) ([]Version, error) {
	rows, err := q.Query(ctx, `SELECT `+recordColumns+` FROM identity_record ir WHERE ir.resident_id = ? ORDER BY ir.version`, residentID)
	if err != nil {
		return nil, fmt.Errorf("read history: %w", err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("read history: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Count returns how many residents the register holds (removed or not).
func Count(ctx context.Context, q db.Querier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM resident`).Scan(&n)
	return n, err
}

// CountInForce returns how many residents are not removed: the rows of
// today's export.
func CountInForce(ctx context.Context, q db.Querier) (int64, error) {
	var n int64
	err := q.QueryRow(ctx, `SELECT COUNT(*) FROM resident WHERE removed = ?`, false).Scan(&n)
	return n, err
}

// nameKeys returns the search keys of a record, by kind.
func nameKeys(r resident.IdentityRecord) map[string]string {
	keys := map[string]string{
		"name": jptext.NameKey(r.FamilyName + r.GivenName),
		"kana": jptext.KanaKey(r.FamilyNameKana + r.GivenNameKana),
	}
	if r.Alias != "" {
		keys["alias"] = jptext.NameKey(r.Alias)
		keys["alias_kana"] = jptext.KanaKey(r.AliasKana)
	}
	if r.FormerSurname != "" {
		keys["former"] = jptext.NameKey(r.FormerSurname + r.GivenName)
		keys["former_kana"] = jptext.KanaKey(r.FormerSurnameKana + r.GivenNameKana)
	}
	for k, v := range keys {
		if v == "" {
			delete(keys, k)
		}
	}
	return keys
}

// sortedKinds returns map keys in a fixed order, so inserts are repeatable.
func sortedKinds(m map[string]string) []string {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	return kinds
}

// likeEscape escapes LIKE's wildcards in s (with \ as the escape).
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

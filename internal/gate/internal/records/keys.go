package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"jukinet/internal/db"
	"jukinet/internal/jptext"
)

// deleteKeys removes the search keys of cur's resident, made from cur (its
// current version), by their primary key: there is no index by resident.
// Should fewer rows match than cur gives (keys made some other way), every
// key of the resident is removed by a scan of the table instead.
func deleteKeys(ctx context.Context, tx *db.Tx, cur Version) error {
	rows := keyRows(cur.ResidentID, cur.IdentityRecord)
	var n int64
	for _, k := range rows {
		res, err := tx.Exec(ctx, `DELETE FROM name_key WHERE key = ? AND date_of_birth = ? AND resident_id = ? AND kind = ?`, k.key, k.dob, k.rid, k.kind)
		if err != nil {
			return fmt.Errorf("remove search keys: %w", err)
		}
		m, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("remove search keys: %w", err)
		}
		n += m
	}
	if n == int64(len(rows)) {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM name_key WHERE resident_id = ?`, cur.ResidentID); err != nil {
		return fmt.Errorf("remove search keys (scan): %w", err)
	}
	return nil
}

// KeysCurrent reports whether the stored search keys were made by this
// code's folding (jptext.KeyVersion).
func KeysCurrent(ctx context.Context, q db.Querier) (bool, error) {
	var v string
	err := q.QueryRow(ctx, `SELECT folding FROM search_key_version WHERE id = 1`).Scan(&v)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, fmt.Errorf("read search key version: %w", err)
	}
	return v == jptext.KeyVersion, nil
}

// HasKeys reports whether the register holds any search key.
func HasKeys(ctx context.Context, q db.Querier) (bool, error) {
	var one int
	err := q.QueryRow(ctx, `SELECT 1 FROM name_key LIMIT 1`).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read search keys: %w", err)
	}
	return true, nil
}

// SetKeyVersion records that the stored search keys are this code's.
func SetKeyVersion(ctx context.Context, tx *db.Tx) error {
	if _, err := tx.Exec(ctx, `DELETE FROM search_key_version`); err != nil {
		return fmt.Errorf("record search key version: %w", err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO search_key_version (id, folding) VALUES (1, ?)`, jptext.KeyVersion); err != nil {
		return fmt.Errorf("record search key version: %w", err)
	}
	return nil
}

// RebuildKeys replaces every search key with the keys this code makes from
// each resident's current version, records the folding version, and
// returns how many residents it keyed.
func RebuildKeys(ctx context.Context, tx *db.Tx) (int, error) {
	if _, err := tx.Exec(ctx, `DELETE FROM name_key`); err != nil {
		return 0, fmt.Errorf("rebuild search keys: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT `+recordColumns+` FROM resident r JOIN identity_record ir ON ir.id = r.record_id ORDER BY r.id`)
	if err != nil {
		return 0, fmt.Errorf("rebuild search keys: %w", err)
	}
	var keys []keyRow
	n := 0
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("rebuild search keys: %w", err)
		}
		keys = append(keys, keyRows(v.ResidentID, v.IdentityRecord)...)
		n++
	}
	if err := rows.Close(); err != nil {
		return 0, fmt.Errorf("rebuild search keys: %w", err)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("rebuild search keys: %w", err)
	}
	if err := insertKeysSorted(ctx, tx, keys); err != nil {
		return 0, err
	}
	return n, SetKeyVersion(ctx, tx)
}

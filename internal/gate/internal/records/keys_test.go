package records

import (
	"context"
	"errors"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/resident"
)

// storedKeys returns the search-key rows stored for resident id.
func storedKeys(t *testing.T, d *db.DB, id int64) map[keyRow]bool {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT key, date_of_birth, resident_id, kind FROM name_key WHERE resident_id = ?`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[keyRow]bool{}
	for rows.Next() {
		var k keyRow
		if err := rows.Scan(&k.key, &k.dob, &k.rid, &k.kind); err != nil {
			t.Fatal(err)
		}
		out[k] = true
	}
	return out
}

// wantKeys fails t unless resident v's stored keys are exactly those its
// record gives.
func wantKeys(t *testing.T, d *db.DB, v Version) {
	t.Helper()
	got := storedKeys(t, d, v.ResidentID)
	want := keyRows(v.ResidentID, v.IdentityRecord)
	if len(got) != len(want) {
		t.Fatalf("resident %d: %d stored keys, want %d: %v", v.ResidentID, len(got), len(want), got)
	}
	for _, k := range want {
		if !got[k] {
			t.Fatalf("resident %d: key %+v missing from %v", v.ResidentID, k, got)
		}
	}
}

// TestKeysReplacedAndRebuilt: a change replaces exactly its resident's
// keys, found by recomputing them from the version they were made from;
// keys made some other way (another folding) are removed by the fallback
// scan; RebuildKeys makes every resident's keys anew and records the
// folding version.
func TestKeysReplacedAndRebuilt(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		recs, _ := synthetic(11, 30)
		apply := func(fn func(tx *db.Tx) error) {
			t.Helper()
			if err := d.Transact(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		apply(func(tx *db.Tx) error { _, err := Import(ctx, tx, recs, 1); return err })
		current := func(i int) Version {
			t.Helper()
			v, err := LookupCode(ctx, d, recs[i].ResidentCode)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}

		// A new name: the old keys go, the new ones come, the neighbours keep theirs.
		before := current(4)
		changed := recs[4]
		changed.FamilyName, changed.FamilyNameKana, changed.ChangeReason = "渡邊", "ワタナベ", resident.ReasonNameChange
		changed.ChangeDate = changed.ChangeDate.AddDate(0, 0, 1)
		apply(func(tx *db.Tx) error { _, _, err := Apply(ctx, tx, changed, "", 2); return err })
		after := current(4)
		if after.Version != before.Version+1 {
			t.Fatalf("version %d after the change, was %d", after.Version, before.Version)
		}
		wantKeys(t, d, after)
		wantKeys(t, d, current(3))
		wantKeys(t, d, current(5))

		// Keys the current version does not give (an older folding's):
		// removed all the same when the resident changes.
		stale := current(6)
		if _, err := d.Exec(ctx, `DELETE FROM name_key WHERE resident_id = ? AND kind = 'kana'`, stale.ResidentID); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO name_key (key, date_of_birth, resident_id, kind) VALUES ('OLDFOLD', ?, ?, 'kana')`, dateStr(stale.DateOfBirth), stale.ResidentID); err != nil {
			t.Fatal(err)
		}
		moved := recs[6]
		moved.Address, moved.ChangeReason, moved.ChangeDate = moved.Address+"別館", resident.ReasonMoveWithin, moved.ChangeDate.AddDate(0, 0, 1)
		apply(func(tx *db.Tx) error { _, _, err := Apply(ctx, tx, moved, "", 3); return err })
		wantKeys(t, d, current(6))

		// Rebuild: every resident keyed anew, the version recorded.
		if _, err := d.Exec(ctx, `DELETE FROM name_key WHERE resident_id = ?`, current(9).ResidentID); err != nil {
			t.Fatal(err)
		}
		if ok, err := KeysCurrent(ctx, d); err != nil || ok {
			t.Fatalf("before a rebuild: current %v, %v", ok, err)
		}
		if some, err := HasKeys(ctx, d); err != nil || !some {
			t.Fatalf("before a rebuild: keys %v, %v", some, err)
		}
		var n int
		apply(func(tx *db.Tx) (err error) { n, err = RebuildKeys(ctx, tx); return err })
		if n != len(recs) {
			t.Errorf("rebuilt %d residents, want %d", n, len(recs))
		}
		for i := range recs {
			wantKeys(t, d, current(i))
		}
		if ok, err := KeysCurrent(ctx, d); err != nil || !ok {
			t.Errorf("after a rebuild: current %v, %v", ok, err)
		}
	})
}

// TestImportRefusesHeldCodesAndNumbers: an import, like Apply, refuses a
// record whose individual number or resident code another resident holds
// or held, naming its place in the import; records that keep their own
// pass.
func TestImportRefusesHeldCodesAndNumbers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		recs, _ := synthetic(21, 6)
		imp := func(seq int64, recs ...resident.IdentityRecord) error {
			return d.Transact(ctx, func(tx *db.Tx) error { _, err := Import(ctx, tx, recs, seq); return err })
		}
		if err := imp(1, recs[:3]...); err != nil {
			t.Fatal(err)
		}
		// recs[0] changes its code (住民票コード変更): its old code is held.
		renamed := recs[0]
		renamed.ResidentCode, renamed.ChangeReason = recs[5].ResidentCode, resident.ReasonResidentCodeChange
		renamed.ChangeDate = renamed.ChangeDate.AddDate(0, 0, 1)
		if err := d.Transact(ctx, func(tx *db.Tx) error { _, _, err := Apply(ctx, tx, renamed, recs[0].ResidentCode, 2); return err }); err != nil {
			t.Fatal(err)
		}

		newWithNumber := recs[3]
		newWithNumber.IndividualNumber = recs[1].IndividualNumber
		changedToNumber := recs[2]
		changedToNumber.IndividualNumber, changedToNumber.ChangeReason = recs[1].IndividualNumber, resident.ReasonExOfficioCorrect
		changedToNumber.ChangeDate = changedToNumber.ChangeDate.AddDate(0, 0, 1)
		newWithOldCode := recs[4]
		newWithOldCode.ResidentCode = recs[0].ResidentCode
		for _, tt := range []struct {
			name   string
			recs   []resident.IdentityRecord
			row    int
			column string
		}{
			{"a new resident with a number another holds", []resident.IdentityRecord{recs[1], newWithNumber}, 2, "individual_number"},
			{"a change to a number another holds", []resident.IdentityRecord{changedToNumber}, 1, "individual_number"},
			{"a new resident with a code another held", []resident.IdentityRecord{recs[3], newWithOldCode}, 2, "resident_code"},
		} {
			err := imp(3, tt.recs...)
			var ce *ChangeError
			if !errors.As(err, &ce) || ce.Row != tt.row || ce.Column != tt.column {
				t.Errorf("%s: %v (%+v)", tt.name, err, ce)
			}
		}
		if n, _ := Count(ctx, d); n != 3 {
			t.Errorf("%d residents after the refused imports, want 3", n)
		}
		// Keeping one's own code and number, changed or not, passes.
		moved := recs[1]
		moved.Address, moved.ChangeReason, moved.ChangeDate = moved.Address+"別館", resident.ReasonMoveWithin, moved.ChangeDate.AddDate(0, 0, 1)
		if err := imp(4, moved, recs[2], recs[3]); err != nil {
			t.Errorf("an import keeping its own codes and numbers: %v", err)
		}
	})
}

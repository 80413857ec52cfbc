package records

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/ids"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

var hanako = resident.IdentityRecord{
	ResidentCode: "12345678903", IndividualNumber: "123456789018",
	FamilyName: "髙橋", GivenName: "花子", FamilyNameKana: "タカハシ", GivenNameKana: "ハナコ",
	DateOfBirth: resident.Date(1970, 3, 2), Sex: resident.SexFemale,
	Address: "東京都江東区東陽四丁目11番28号", LocalGov: "131083",
	ChangeReason: resident.ReasonMoveIn, ChangeDate: resident.Date(2001, 4, 1),
}

func apply(t *testing.T, d *db.DB, rec resident.IdentityRecord, previous ids.ResidentCode, seq int64) (Version, Outcome, error) {
	t.Helper()
	var v Version
	var o Outcome
	err := d.Transact(context.Background(), func(tx *db.Tx) error {
		var err error
		v, o, err = Apply(context.Background(), tx, rec, previous, seq)
		return err
	})
	return v, o, err
}

func TestApplyVersions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, o, err := apply(t, d, hanako, "", 1); err != nil || o != Added {
			t.Fatalf("add: %v %v", o, err)
		}
		if _, o, err := apply(t, d, hanako, "", 2); err != nil || o != Unchanged {
			t.Fatalf("same again: %v %v", o, err)
		}
		moved := hanako
		moved.Address, moved.ChangeReason, moved.ChangeDate = "東京都江東区北砂一丁目1番1号", resident.ReasonMoveWithin, resident.Date(2020, 5, 1)
		if v, o, err := apply(t, d, moved, "", 3); err != nil || o != Changed || v.Version != 2 {
			t.Fatalf("move: %+v %v %v", v, o, err)
		}
		recoded := moved
		recoded.ResidentCode, recoded.ChangeReason, recoded.ChangeDate = "10000000006", resident.ReasonResidentCodeChange, resident.Date(2021, 1, 1)
		if _, _, err := apply(t, d, recoded, "", 4); err == nil {
			t.Fatal("code change without the previous code accepted")
		}
		if _, o, err := apply(t, d, recoded, "12345678903", 4); err != nil || o != Changed {
			t.Fatalf("code change: %v %v", o, err)
		}
		// Both codes find her; history keeps every version, none overwritten.
		for _, c := range []ids.ResidentCode{"12345678903", "10000000006"} {
			v, err := LookupCode(ctx, d, c)
			if err != nil || v.ResidentCode != "10000000006" || v.Version != 3 {
				t.Fatalf("lookup %s: %+v %v", c, v, err)
			}
		}
		v, _ := LookupNumber(ctx, d, "123456789018")
		hist, err := History(ctx, d, v.ResidentID)
		if err != nil || len(hist) != 3 || hist[0].Address != hanako.Address || hist[0].AuditSeq != 1 || hist[2].AuditSeq != 4 {
			t.Fatalf("history: %+v %v", hist, err)
		}
		// A superseded version is kept 150 years from the change.
		if want := resident.Date(2170, 5, 1); !hist[0].RetainUntil.Equal(want) {
			t.Errorf("superseded retain until %v, want %v", hist[0].RetainUntil, want)
		}
		// Death removes the record; the removed record is kept 150 years.
		died := recoded
		died.ChangeReason, died.ChangeDate = resident.ReasonDeath, resident.Date(2024, 2, 1)
		v, _, err = apply(t, d, died, "", 5)
		if err != nil || !v.Removed || !v.RetainUntil.Equal(resident.Date(2174, 2, 1)) {
			t.Fatalf("death: %+v %v", v, err)
		}
		// Nothing but an entering change or a correction follows a removal.
		again := died
		again.ChangeReason, again.ChangeDate, again.Address = resident.ReasonMoveWithin, resident.Date(2024, 3, 1), "x"
		var ce *ChangeError
		if _, _, err := apply(t, d, again, "", 6); !errors.As(err, &ce) {
			t.Fatalf("change after death: %v", err)
		}
		// A change dated before the current version is refused.
		early := died
		early.ChangeReason, early.ChangeDate = resident.ReasonExOfficioCorrect, resident.Date(2000, 1, 1)
		if _, _, err := apply(t, d, early, "", 7); !errors.As(err, &ce) {
			t.Fatalf("back-dated change: %v", err)
		}
		// An unknown code with a non-entering reason is refused.
		stranger := hanako
		stranger.ResidentCode, stranger.IndividualNumber, stranger.ChangeReason = "20000000001", "983205673214", resident.ReasonMoveWithin
		if _, _, err := apply(t, d, stranger, "", 8); !errors.As(err, &ce) {
			t.Fatalf("unknown resident moved: %v", err)
		}
		// Another resident may not take her individual number.
		stranger.ChangeReason, stranger.IndividualNumber = resident.ReasonMoveIn, "123456789018"
		if _, _, err := apply(t, d, stranger, "", 9); !errors.As(err, &ce) {
			t.Fatalf("duplicate individual number: %v", err)
		}
	})
}

func TestRemovalBefore2014KeepsFiveYears(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	apply(t, d, hanako, "", 1)
	out := hanako
	out.ChangeReason, out.ChangeDate = resident.ReasonMoveOut, resident.Date(2010, 7, 1)
	v, _, err := apply(t, d, out, "", 2)
	if err != nil || !v.RetainUntil.Equal(resident.Date(2015, 7, 1)) {
		t.Fatalf("removal in 2010: %+v %v", v.RetainUntil, err)
	}
}

func TestSearch(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		apply(t, d, hanako, "", 1)
		other := hanako
		other.ResidentCode, other.IndividualNumber, other.FamilyName, other.Address = "10000000006", "983205673214", "高橋", "東京都江東区大島一丁目1番1号"
		apply(t, d, other, "", 2)
		married := hanako
		married.ResidentCode, married.IndividualNumber = "20000000001", "111111111118"
		married.FamilyName, married.FamilyNameKana, married.FormerSurname, married.FormerSurnameKana = "佐藤", "サトウ", "髙橋", "タカハシ"
		married.Address = "東京都江東区亀戸二丁目1番1号"
		if _, _, err := apply(t, d, married, "", 3); err != nil {
			t.Fatal(err)
		}
		dob := resident.Date(1970, 3, 2)
		tests := []struct {
			q     Query
			codes []ids.ResidentCode
		}{
			{Query{Name: "高橋 花子", DateOfBirth: dob}, []ids.ResidentCode{"10000000006", "12345678903", "20000000001"}},
			{Query{Name: "髙橋花子", DateOfBirth: dob}, []ids.ResidentCode{"12345678903", "10000000006", "20000000001"}},
			{Query{Name: "たかはし はなこ", DateOfBirth: dob}, nil},
			{Query{Name: "ﾀｶﾊｼﾊﾅｺ", DateOfBirth: dob, Address: "東陽4-11"}, []ids.ResidentCode{"12345678903"}},
			{Query{Name: "タカハシハナコ", DateOfBirth: dob, Address: "大島1丁目"}, []ids.ResidentCode{"10000000006"}},
			{Query{Name: "サトウハナコ", DateOfBirth: dob}, []ids.ResidentCode{"20000000001"}},
			{Query{Name: "高橋花子", DateOfBirth: dob, Sex: resident.SexMale}, []ids.ResidentCode{}},
			{Query{Name: "高橋花子", DateOfBirth: resident.Date(1970, 3, 3)}, []ids.ResidentCode{}},
			{Query{Name: "高橋花子", DateOfBirth: dob, Address: "100%_"}, []ids.ResidentCode{}},
		}
		for _, tt := range tests {
			res, err := Search(ctx, d, tt.q, Rules{}, 10)
			if err != nil {
				t.Fatal(err)
			}
			got, total := res.Matches, res.Total
			if tt.codes == nil { // kana search: all three, order not fixed here
				if total != 3 {
					t.Errorf("%+v: %d matches, want 3", tt.q, total)
				}
				continue
			}
			var codes []ids.ResidentCode
			for _, m := range got {
				codes = append(codes, m.ResidentCode)
			}
			if len(codes) != len(tt.codes) {
				t.Errorf("%+v: got %v, want %v", tt.q, codes, tt.codes)
				continue
			}
			for i := range codes {
				if codes[i] != tt.codes[i] {
					t.Errorf("%+v: got %v, want %v (ranked)", tt.q, codes, tt.codes)
					break
				}
			}
		}
		if _, err := Search(ctx, d, Query{Name: "高橋"}, Rules{}, 10); err == nil {
			t.Error("search by a name alone accepted")
		}
		if got, _ := Search(ctx, d, Query{Name: "高橋花子", DateOfBirth: dob}, Rules{}, 1); len(got.Matches) != 1 || got.Total != 3 {
			t.Errorf("limit 1 gave %d of %d", len(got.Matches), got.Total)
		}
	})
}

func TestImportIdempotentAndExport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		recs, _ := synthetic(5, 1200)
		imp := func(recs []resident.IdentityRecord, seq int64) ImportResult {
			var res ImportResult
			if err := d.Transact(ctx, func(tx *db.Tx) error {
				var err error
				res, err = Import(ctx, tx, recs, seq)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return res
		}
		if res := imp(recs, 1); res.Added != 1200 || len(res.Codes) != 1200 {
			t.Fatalf("first import: %+v", res.Added)
		}
		if res := imp(recs, 2); res.Unchanged != 1200 || res.Added+res.Changed != 0 {
			t.Fatalf("re-import: %+v", res)
		}
		changed := recs[7]
		changed.Address, changed.ChangeReason, changed.ChangeDate = changed.Address+"　別館", resident.ReasonMoveWithin, resident.Date(2026, 3, 31)
		if res := imp([]resident.IdentityRecord{changed, recs[8]}, 3); res.Changed != 1 || res.Unchanged != 1 {
			t.Fatalf("import with one change: %+v", res)
		}
		if n, _ := Count(ctx, d); n != 1200 {
			t.Errorf("count %d", n)
		}
		// Every imported record is found by its code and its four items.
		v, err := LookupCode(ctx, d, recs[100].ResidentCode)
		if err != nil || v.IdentityRecord != recs[100] {
			t.Fatalf("lookup imported: %+v %v", v, err)
		}
		m, err := Search(ctx, d, Query{Name: recs[100].FamilyName + recs[100].GivenName, DateOfBirth: recs[100].DateOfBirth, Sex: recs[100].Sex}, Rules{}, 10)
		if err != nil || len(m.Matches) == 0 {
			t.Fatalf("search imported: %v %v", m, err)
		}
		var now, before int
		Export(ctx, d, time.Time{}, func(v Version) error { now++; return nil })
		Export(ctx, d, resident.Date(2000, 1, 1), func(v Version) error {
			if v.ChangeDate.After(resident.Date(2000, 1, 1)) {
				t.Errorf("as-of export gave a version from %v", v.ChangeDate)
			}
			before++
			return nil
		})
		if now != 1200 || before == 0 || before >= now {
			t.Errorf("export: %d now, %d as of 2000", now, before)
		}
	})
}

// TestBulkLoadKeepsIndexes: a first bulk load into an empty register drops
// and rebuilds the secondary indexes (on SQLite); afterwards the database's
// indexes read exactly as before, and lookups work. Run, as the gate runs
// large imports, without foreign-key enforcement (db.TransactBulk), the
// first load and a second that changes residents leave every reference
// intact.
// TestBulkLoadKeepsIndexes: a bulk load (keys held in memory, or spilled
// to a temporary table and the file given in parts, as a streamed import
// does) leaves the indexes as the migrations made them, every reference
// intact and every resident findable; a second large import changes and
// adds.
func TestBulkLoadKeepsIndexes(t *testing.T) {
	for _, spill := range []bool{false, true} {
		t.Run(fmt.Sprintf("spill=%v", spill), func(t *testing.T) { testBulkLoadKeepsIndexes(t, spill) })
	}
}

// importParts imports recs in one transaction as a streamed import does:
// in parts of n, the search keys of a bulk load spilled.
func importParts(ctx context.Context, tx *db.Tx, recs []resident.IdentityRecord, seq int64, n int) (ImportResult, error) {
	im, err := NewImporter(ctx, tx, seq, len(recs), true)
	if err != nil {
		return ImportResult{}, err
	}
	defer im.Close()
	for start := 0; start < len(recs); start += n {
		if err := im.Add(ctx, recs[start:min(start+n, len(recs))], nil); err != nil {
			return ImportResult{}, err
		}
	}
	return im.Finish(ctx)
}

func testBulkLoadKeepsIndexes(t *testing.T, spill bool) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		load := func(tx *db.Tx, recs []resident.IdentityRecord, seq int64) (ImportResult, error) {
			if spill {
				return importParts(ctx, tx, recs, seq, 47)
			}
			return Import(ctx, tx, recs, seq)
		}
		old := BulkLoadThreshold
		BulkLoadThreshold = 10
		defer func() { BulkLoadThreshold = old }()
		indexes := func(d *db.DB) map[string]string {
			q := `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`
			if d.Dialect() == db.Postgres {
				q = `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()`
			}
			rows, err := d.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			out := map[string]string{}
			for rows.Next() {
				var n, s string
				rows.Scan(&n, &s)
				out[n] = s
			}
			return out
		}
		before := indexes(d)
		recs, g := synthetic(3, 120) // enough for COPY on PostgreSQL
		err := d.TransactBulk(ctx, func(tx *db.Tx) error {
			_, err := load(tx, recs, 1)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		foreignKeysIntact(t, d)
		after := indexes(d)
		if len(after) != len(before) {
			t.Fatalf("%d indexes after the bulk load, %d before", len(after), len(before))
		}
		for name, def := range before {
			if after[name] != def {
				t.Errorf("index %s: %q after the bulk load, %q before", name, after[name], def)
			}
		}
		if v, err := LookupNumber(ctx, d, recs[7].IndividualNumber); err != nil || v.ResidentCode != recs[7].ResidentCode {
			t.Errorf("lookup by number after the bulk load: %v %v", v.ResidentCode, err)
		}
		// Every resident is found by a search, once (its keys all stored).
		for _, r := range recs {
			found, err := Search(ctx, d, Query{Name: r.FamilyName + " " + r.GivenName, DateOfBirth: r.DateOfBirth}, Rules{}, 0)
			n := 0
			for _, m := range found.Matches {
				if m.ResidentCode == r.ResidentCode {
					n++
				}
			}
			if err != nil || n != 1 {
				t.Fatalf("search for %s after the bulk load: found %d times, %v", r.ResidentCode, n, err)
			}
		}
		var keys int
		d.QueryRow(ctx, `SELECT COUNT(*) FROM name_key`).Scan(&keys)
		if keys < 2*len(recs) {
			t.Errorf("%d search keys for %d residents", keys, len(recs))
		}
		// A second large import: ten residents moved, ten new.
		for i := 0; i < 10; i++ {
			recs[i].Address += "別館"
			recs[i].ChangeReason, recs[i].ChangeDate = resident.ReasonMoveWithin, recs[i].ChangeDate.AddDate(0, 0, 1)
		}
		for i := 0; i < 10; i++ {
			recs = append(recs, g.Next())
		}
		var res ImportResult
		err = d.TransactBulk(ctx, func(tx *db.Tx) (err error) {
			res, err = load(tx, recs, 2)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Added != 10 || res.Changed != 10 || res.Unchanged != 110 {
			t.Errorf("second import: %+v", res)
		}
		foreignKeysIntact(t, d)
	})
}

// foreignKeysIntact fails t if any row references a row that does not
// exist (SQLite's foreign_key_check; PostgreSQL enforces them always).
func foreignKeysIntact(t *testing.T, d *db.DB) {
	t.Helper()
	if d.Dialect() != db.SQLite {
		return
	}
	rows, err := d.Query(context.Background(), "PRAGMA foreign_key_check")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, parent string
		var rowid sql.NullInt64
		var fk int
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			t.Fatal(err)
		}
		t.Errorf("%s row %v references a missing %s", table, rowid, parent)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestFailedBulkLoadKeepsIndexes: a bulk load that fails rolls back whole,
// the dropped indexes included.
func TestFailedBulkLoadKeepsIndexes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		old := BulkLoadThreshold
		BulkLoadThreshold = 10
		defer func() { BulkLoadThreshold = old }()
		count := func() int {
			q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'identity_record_number'`
			if d.Dialect() == db.Postgres {
				q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'identity_record_number'`
			}
			var n int
			if err := d.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		recs, _ := synthetic(4, 20)
		recs[15].ResidentCode = recs[3].ResidentCode // a unique key broken half-way
		err := d.TransactBulk(ctx, func(tx *db.Tx) error {
			_, err := Import(ctx, tx, recs, 1)
			return err
		})
		if err == nil {
			t.Fatal("an import with a duplicate resident code succeeded")
		}
		if count() != 1 {
			t.Error("a failed bulk load lost an index")
		}
		if n, _ := Count(ctx, d); n != 0 {
			t.Errorf("a failed bulk load left %d residents", n)
		}
	})
}

// TestSortKeyRows: the two-core sort gives name_key's primary-key order,
// for sizes on both sides of the split threshold.
func TestSortKeyRows(t *testing.T) {
	for _, n := range []int{0, 1, 999, 100_000, 150_001} {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		rows := make([]keyRow, n)
		for i := range rows {
			rows[i] = keyRow{key: fmt.Sprintf("ｶﾅ%03d", rng.IntN(500)), dob: fmt.Sprintf("19%02d-01-01", rng.IntN(3)), rid: rng.Int64N(1000), kind: []string{"kana", "name"}[rng.IntN(2)]}
		}
		want := slices.Clone(rows)
		slices.SortStableFunc(want, compareKeyRows)
		got := sortKeyRows(rows)
		if len(got) != n || !slices.IsSortedFunc(got, compareKeyRows) {
			t.Fatalf("%d rows: %d sorted, in order %v", n, len(got), slices.IsSortedFunc(got, compareKeyRows))
		}
		for i := range got {
			if compareKeyRows(got[i], want[i]) != 0 {
				t.Fatalf("%d rows: row %d is %+v, want %+v", n, i, got[i], want[i])
			}
		}
	}
}

// TestCodeOrder: records come in resident-code order, by the numeric fast
// path for valid codes and by the string sort for anything else.
func TestCodeOrder(t *testing.T) {
	for _, codes := range [][]string{
		{"30000000001", "10000000009", "20000000005", "10000000001"},
		{"300", "1000000000x", "20000000005", "10000000001"},
		{},
	} {
		recs := make([]resident.IdentityRecord, len(codes))
		for i, c := range codes {
			recs[i].ResidentCode = ids.ResidentCode(c)
		}
		got := codeOrder(recs)
		want := codeOrderStrings(recs)
		if !slices.Equal(got, want) {
			t.Errorf("codeOrder(%v) = %v, want %v", codes, got, want)
		}
		if !slices.IsSortedFunc(got, func(a, b int) int { return strings.Compare(codes[a], codes[b]) }) {
			t.Errorf("codeOrder(%v) = %v: not in code order", codes, got)
		}
	}
}

// synthetic returns n synthetic residents of 江東区 drawn from seed, and
// the generator for more.
func synthetic(seed uint64, n int) ([]resident.IdentityRecord, *synth.Generator) {
	g, err := synth.New(synth.Options{Seed: seed, LocalGov: "131083"})
	if err != nil {
		panic(err) // a fixed, valid local government
	}
	recs := make([]resident.IdentityRecord, n)
	for i := range recs {
		recs[i] = g.Next()
	}
	return recs, g
}

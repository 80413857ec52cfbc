package records

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

var versionColumns = []string{"id", "resident_id", "version", "resident_code", "individual_number", "family_name", "given_name",
	"family_name_kana", "given_name_kana", "former_surname", "former_surname_kana", "alias", "alias_kana",
	"date_of_birth", "sex", "address", "local_gov_code", "change_reason", "change_date", "removed", "retain_until",
	"content_hash", "audit_seq"}

var residentColumns = []string{"id", "resident_code", "individual_number", "version", "record_id", "content_hash",
	"local_gov_code", "removed", "date_of_birth", "sex", "address_key"}

var keyColumns = []string{"key", "date_of_birth", "resident_id", "kind"}

func versionRow(id, residentID int64, version int, r resident.IdentityRecord, hash string, retain time.Time, seq int64) []any {
	return []any{id, residentID, version, string(r.ResidentCode), string(r.IndividualNumber), r.FamilyName, r.GivenName,
		r.FamilyNameKana, r.GivenNameKana, r.FormerSurname, r.FormerSurnameKana, r.Alias, r.AliasKana,
		dateStr(r.DateOfBirth), int(r.Sex), r.Address, string(r.LocalGov), string(r.ChangeReason), dateStr(r.ChangeDate),
		r.ChangeReason.Removes(), dateStr(retain), hash, seq}
}

// keyRow is one name_key row: a search key of a resident.
type keyRow struct {
	key, dob string
	rid      int64
	kind     string
}

// keyRows returns the search-key rows of resident residentID's record:
// one per kind of nameKeys, and for a name in Latin letters one "latin"
// row per jptext.LatinNameKeys key (any word order, without middle names).
func keyRows(residentID int64, r resident.IdentityRecord) []keyRow {
	keys := nameKeys(r)
	var rows []keyRow
	dob := dateStr(r.DateOfBirth)
	for _, kind := range sortedKinds(keys) {
		rows = append(rows, keyRow{key: keys[kind], dob: dob, rid: residentID, kind: kind})
	}
	for _, k := range jptext.LatinNameKeys(r.FamilyName, r.GivenName) {
		rows = append(rows, keyRow{key: k, dob: dob, rid: residentID, kind: kindLatin})
	}
	return rows
}

// keyArgs returns rows as insert arguments in keyColumns' order.
func keyArgs(rows []keyRow) [][]any {
	args := make([][]any, len(rows))
	for i, r := range rows {
		args[i] = []any{r.key, r.dob, r.rid, r.kind}
	}
	return args
}

// removalRetention is the retention date of a version that removes the
// record; zero for any other version.
func removalRetention(r resident.IdentityRecord) time.Time {
	if r.ChangeReason.Removes() {
		return resident.RetainUntil(r.ChangeDate)
	}
	return time.Time{}
}

// nextIDs returns the next free ids of resident and identity_record. Writes
// are serialised (one transaction at a time holds the audit log), so ids
// read inside the writing transaction stay free.
func nextIDs(ctx context.Context, tx *db.Tx) (residentID, recordID int64, err error) {
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM resident`).Scan(&residentID); err != nil {
		return 0, 0, fmt.Errorf("next resident id: %w", err)
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) + 1 FROM identity_record`).Scan(&recordID); err != nil {
		return 0, 0, fmt.Errorf("next record id: %w", err)
	}
	return residentID, recordID, nil
}

// Outcome says what a change did.
type Outcome int

// The outcomes of a change.
const (
	Unchanged Outcome = iota // the same content was already current
	Added                    // a new resident
	Changed                  // a new version of a resident
)

// Apply records a change: a new version of the resident identified by
// rec.ResidentCode (or by previous, when a 住民票コード変更 gives a new code),
// or a new resident for an entering change (転入, 出生, 職権記載). seq is the
// audit entry the change is logged under. rec must be valid.
func Apply(ctx context.Context, tx *db.Tx, rec resident.IdentityRecord, previous ids.ResidentCode, seq int64) (Version, Outcome, error) {
	find := rec.ResidentCode
	if previous != "" {
		find = previous
	}
	cur, err := LookupCode(ctx, tx, find)
	if errors.Is(err, ErrNotFound) {
		if previous != "" {
			return Version{}, 0, &ChangeError{
				Reason:   fmt.Sprintf("no resident has resident code %s", previous),
				Japanese: fmt.Sprintf("住民票コード %s の住民は見つかりません", previous),
			}
		}
		if !rec.ChangeReason.Enters() {
			return Version{}, 0, &ChangeError{
				Reason:   fmt.Sprintf("no resident has resident code %s; a new record needs 転入, 出生 or 職権記載, not %s", rec.ResidentCode, rec.ChangeReason),
				Japanese: fmt.Sprintf("住民票コード %s の住民はいません。新しい記録の異動事由は転入・出生・職権記載のいずれかです", rec.ResidentCode),
			}
		}
		if err := checkFree(ctx, tx, rec, 0); err != nil {
			return Version{}, 0, err
		}
		rid, vid, err := nextIDs(ctx, tx)
		if err != nil {
			return Version{}, 0, err
		}
		if err := insertResident(ctx, tx, rid, vid, 1, rec, seq); err != nil {
			return Version{}, 0, err
		}
		return Version{IdentityRecord: rec, ResidentID: rid, Version: 1, Removed: rec.ChangeReason.Removes(), RetainUntil: removalRetention(rec), AuditSeq: seq}, Added, nil
	}
	if err != nil {
		return Version{}, 0, err
	}
	if ContentHash(rec) == ContentHash(cur.IdentityRecord) {
		return cur, Unchanged, nil
	}
	if err := checkChange(cur, rec, previous); err != nil {
		return Version{}, 0, err
	}
	if err := checkFree(ctx, tx, rec, cur.ResidentID); err != nil {
		return Version{}, 0, err
	}
	return supersede(ctx, tx, cur, rec, seq)
}

// checkChange applies the rules a new version must follow.
func checkChange(cur Version, rec resident.IdentityRecord, previous ids.ResidentCode) error {
	switch {
	case rec.ChangeDate.Before(cur.ChangeDate):
		return &ChangeError{
			Reason:   fmt.Sprintf("change date %s is before the current version's (%s)", dateStr(rec.ChangeDate), dateStr(cur.ChangeDate)),
			Japanese: fmt.Sprintf("異動年月日 %s が現在の記録の異動年月日（%s）より前です", dateStr(rec.ChangeDate), dateStr(cur.ChangeDate)),
		}
	case cur.Removed && !rec.ChangeReason.Enters() && rec.ChangeReason != resident.ReasonExOfficioCorrect:
		return &ChangeError{
			Reason:   fmt.Sprintf("resident %s is a removed record (除票); only 転入, 職権記載 or 職権修正 may follow", cur.ResidentCode),
			Japanese: fmt.Sprintf("住民票コード %s は除票です。続けられる異動は転入・職権記載・職権修正のみです", cur.ResidentCode),
		}
	case rec.ResidentCode != cur.ResidentCode && rec.ChangeReason != resident.ReasonResidentCodeChange:
		return &ChangeError{
			Reason:   "a new resident code needs the change reason 住民票コード変更",
			Japanese: "住民票コードを変えるには異動事由「住民票コード変更」が必要です",
		}
	case rec.ChangeReason == resident.ReasonResidentCodeChange && (previous == "" || rec.ResidentCode == cur.ResidentCode):
		return &ChangeError{
			Reason:   "住民票コード変更 needs the previous code and a new, different code",
			Japanese: "住民票コード変更には変更前のコードと異なる新しいコードが必要です",
		}
	}
	return nil
}

// checkFree refuses a resident code or individual number another resident
// holds or held.
func checkFree(ctx context.Context, tx *db.Tx, rec resident.IdentityRecord, self int64) error {
	if err := checkClaims(ctx, tx, "resident_code", []claim{{string(rec.ResidentCode), self, 0}}); err != nil {
		return err
	}
	return checkClaims(ctx, tx, "individual_number", []claim{{string(rec.IndividualNumber), self, 0}})
}

// claim is a resident code or individual number that resident self (0: a
// new resident) is to hold; row is the record's place in an import, from
// 1 (0 outside one).
type claim struct {
	value string
	self  int64
	row   int
}

// checkClaims refuses the first claim (by row) on column col whose value
// another resident holds or held, in any version.
func checkClaims(ctx context.Context, tx *db.Tx, col string, claims []claim) error {
	if len(claims) == 0 {
		return nil
	}
	byValue := make(map[string]claim, len(claims))
	args := make([]any, len(claims))
	for i, c := range claims {
		byValue[c.value], args[i] = c, c.value
	}
	rows, err := tx.Query(ctx, `SELECT resident_id, `+col+` FROM identity_record WHERE `+col+` IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(args)), ",")+`)`, args...)
	if err != nil {
		return fmt.Errorf("check %s: %w", col, err)
	}
	defer rows.Close()
	var clash *ChangeError
	for rows.Next() {
		var rid int64
		var v string
		if err := rows.Scan(&rid, &v); err != nil {
			return fmt.Errorf("check %s: %w", col, err)
		}
		if c := byValue[v]; rid != c.self && (clash == nil || c.row < clash.Row) {
			clash = heldError(col, v)
			clash.Row = c.row
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("check %s: %w", col, err)
	}
	if clash != nil {
		return clash
	}
	return nil
}

// heldError refuses a resident code or individual number (column col)
// that another resident holds or held.
func heldError(col, val string) *ChangeError {
	ja := map[string]string{"resident_code": "住民票コード", "individual_number": "個人番号"}[col]
	return &ChangeError{Reason: fmt.Sprintf("%s %s belongs to another resident", strings.ReplaceAll(col, "_", " "), val),
		Japanese: fmt.Sprintf("%s %s は別の住民の記録にあります", ja, val), Column: col}
}

func insertResident(ctx context.Context, tx *db.Tx, rid, vid int64, version int, rec resident.IdentityRecord, seq int64) error {
	hash := ContentHash(rec)
	if err := db.InsertMany(ctx, tx, "resident", residentColumns, [][]any{residentRow(rid, vid, version, rec, hash)}); err != nil {
		return err
	}
	if err := db.InsertMany(ctx, tx, "identity_record", versionColumns, [][]any{versionRow(vid, rid, version, rec, hash, removalRetention(rec), seq)}); err != nil {
		return err
	}
	return db.InsertMany(ctx, tx, "name_key", keyColumns, keyArgs(keyRows(rid, rec)))
}

func residentRow(rid, vid int64, version int, rec resident.IdentityRecord, hash string) []any {
	return []any{rid, string(rec.ResidentCode), string(rec.IndividualNumber), version, vid, hash,
		string(rec.LocalGov), rec.ChangeReason.Removes(), dateStr(rec.DateOfBirth), int(rec.Sex), jptext.AddressKey(rec.Address)}
}

// supersede adds rec as the next version of cur's resident.
func supersede(ctx context.Context, tx *db.Tx, cur Version, rec resident.IdentityRecord, seq int64) (Version, Outcome, error) {
	_, vid, err := nextIDs(ctx, tx)
	if err != nil {
		return Version{}, 0, err
	}
	next := cur.Version + 1
	// The superseded version is kept 150 years from the change (政令34条).
	if _, err := tx.Exec(ctx, `UPDATE identity_record SET retain_until = ? WHERE resident_id = ? AND version = ? AND retain_until = ''`,
		dateStr(resident.RetainUntil(rec.ChangeDate)), cur.ResidentID, cur.Version); err != nil {
		return Version{}, 0, fmt.Errorf("retain superseded version: %w", err)
	}
	if err := db.InsertMany(ctx, tx, "identity_record", versionColumns, [][]any{versionRow(vid, cur.ResidentID, next, rec, ContentHash(rec), removalRetention(rec), seq)}); err != nil {
		return Version{}, 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE resident SET resident_code = ?, individual_number = ?, version = ?, record_id = ?, content_hash = ?,
		local_gov_code = ?, removed = ?, date_of_birth = ?, sex = ?, address_key = ? WHERE id = ?`,
		string(rec.ResidentCode), string(rec.IndividualNumber), next, vid, ContentHash(rec), string(rec.LocalGov),
		rec.ChangeReason.Removes(), dateStr(rec.DateOfBirth), int(rec.Sex), jptext.AddressKey(rec.Address), cur.ResidentID); err != nil {
		return Version{}, 0, fmt.Errorf("update resident: %w", err)
	}
	if err := deleteKeys(ctx, tx, cur); err != nil {
		return Version{}, 0, err
	}
	if err := db.InsertMany(ctx, tx, "name_key", keyColumns, keyArgs(keyRows(cur.ResidentID, rec))); err != nil {
		return Version{}, 0, err
	}
	return Version{IdentityRecord: rec, ResidentID: cur.ResidentID, Version: next, Removed: rec.ChangeReason.Removes(), RetainUntil: removalRetention(rec), AuditSeq: seq}, Changed, nil
}

// ImportResult counts what an import did.
type ImportResult struct {
	Added, Changed, Unchanged int
	// Codes are the residents added or changed, packed as integers
	// (auditlog.PackCode): eight bytes each, for an entry of millions.
	Codes []uint64
}

// importChunk is how many rows an import looks up at once.
const importChunk = 500

// prepared is a record with what storing it needs computed ahead: its
// content hash, its resident row (with the address key) and its search-key
// rows, for resident id rid and record id vid when it is new.
type prepared struct {
	row      int // the record's row in the caller's slice, from 1
	rec      resident.IdentityRecord
	hash     string
	resident []any
	keys     []keyRow
}

// prepareChunks computes the content hash and the rows of each chunk of
// recs, taken in the given order, on every core, ahead of the writer, and
// delivers the chunks in that order. The ids and the hash in the rows are
// left for the writer to fill in.
func prepareChunks(ctx context.Context, recs []resident.IdentityRecord, order []int) <-chan []prepared {
	out := make(chan []prepared, 2)
	go func() {
		defer close(out)
		workers := runtime.GOMAXPROCS(0)
		for start := 0; start < len(order); start += importChunk {
			chunk := order[start:min(start+importChunk, len(order))]
			p := make([]prepared, len(chunk))
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := w; i < len(chunk); i += workers {
						rec := recs[chunk[i]]
						p[i] = prepared{row: chunk[i] + 1, rec: rec, hash: ContentHash(rec), resident: residentRow(0, 0, 1, rec, ""), keys: keyRows(0, rec)}
					}
				}(w)
			}
			wg.Wait()
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}

// secondaryIndexes are the register's indexes that a first bulk load into
// an empty register builds after inserting, instead of inserting into them
// row by row (random keys). They must read exactly as in the migrations;
// TestBulkLoadKeepsIndexes compares them with a freshly migrated database.
// The versions' code index stays: records arrive in code order, so it only
// grows at its end.
var secondaryIndexes = []struct{ name, ddl string }{
	{"name_key_birth", "CREATE INDEX name_key_birth ON name_key (date_of_birth, key)"},
	{"resident_number", "CREATE INDEX resident_number ON resident (individual_number)"},
	{"identity_record_number", "CREATE INDEX identity_record_number ON identity_record (individual_number)"},
}

// BulkLoadThreshold is the import size from which a load into an empty
// register drops and rebuilds its secondary indexes.
var BulkLoadThreshold = 50_000

// dropSecondaryIndexes drops the secondary indexes for a bulk load, in the
// caller's transaction: if anything fails, they come back with the
// rollback. buildSecondaryIndexes builds them again.
func dropSecondaryIndexes(ctx context.Context, tx *db.Tx) error {
	for _, ix := range secondaryIndexes {
		if _, err := tx.Exec(ctx, "DROP INDEX "+ix.name); err != nil {
			return fmt.Errorf("bulk load: drop index %s: %w", ix.name, err)
		}
	}
	return nil
}

// buildSecondaryIndexes builds the indexes dropped by dropSecondaryIndexes,
// SQLite's sorter using helpers more threads beside the connection's own.
// Each sorter thread holds a buffer as large as the page cache: a
// streamed import, whose cache is bounded, builds with none, in one
// buffer.
func buildSecondaryIndexes(ctx context.Context, tx *db.Tx, helpers int) error {
	if _, err := tx.Exec(ctx, fmt.Sprintf("PRAGMA threads = %d", helpers)); err != nil {
		return fmt.Errorf("bulk load: sorter threads: %w", err)
	}
	defer tx.Exec(context.Background(), "PRAGMA threads = 0")
	for _, ix := range secondaryIndexes {
		if _, err := tx.Exec(ctx, ix.ddl); err != nil {
			return fmt.Errorf("bulk load: build index %s: %w", ix.name, err)
		}
	}
	return nil
}

// Import applies many records in the caller's transaction: new residents
// in multi-row inserts, changed ones as new versions, identical ones not at
// all. Unlike Apply it loads records as they stand in the municipal system,
// so a new resident's latest change may be any reason (転居, 転出 …).
// recs must be valid and hold each resident code once.
func Import(ctx context.Context, tx *db.Tx, recs []resident.IdentityRecord, seq int64) (res ImportResult, err error) {
	return ImportProgress(ctx, tx, recs, seq, nil)
}

// ImportProgress is Import telling progress, when not nil, how many
// records it has applied, after each chunk.
func ImportProgress(ctx context.Context, tx *db.Tx, recs []resident.IdentityRecord, seq int64, progress func(done int)) (res ImportResult, err error) {
	im, err := NewImporter(ctx, tx, seq, len(recs), false)
	if err != nil {
		return res, err
	}
	defer im.Close()
	if err := im.Add(ctx, recs, progress); err != nil {
		return res, err
	}
	return im.Finish(ctx)
}

// Importer applies an import's records in the caller's transaction a part
// at a time (Add), so a file of any size is imported in bounded memory:
// Import is one Add of every record. Within each part records are stored
// in resident-code order; a file sorted by code is therefore stored in
// code order throughout.
type Importer struct {
	tx       *db.Tx
	seq      int64
	bulk     bool // a bulk load into an empty register (see NewImporter)
	spill    bool // a bulk load's search keys wait in a temporary table, not in memory
	rid, vid int64
	held     []keyRow // a bulk load's search keys, inserted at the end (not spilled)
	done     int
	res      ImportResult
	undo     []func() // settings to give back (page cache, temporary storage)
}

// keyLoadTable holds a spilled bulk load's search keys until Finish.
const keyLoadTable = "temp.name_key_load"

// NewImporter starts an import of about expected records. A large import
// (BulkLoadThreshold) into an empty SQLite register is a bulk load: the
// secondary indexes are dropped and built again by Finish, no existing
// resident is looked up, and the search keys are inserted last, in key
// order, so their table fills from one end. With spill, those keys wait in
// a temporary table on disk (sorted there by SQLite's external sorter), not
// in memory: for imports of millions.
func NewImporter(ctx context.Context, tx *db.Tx, seq int64, expected int, spill bool) (*Importer, error) {
	im := &Importer{tx: tx, seq: seq}
	// The list of residents added or changed, allocated once: at millions,
	// growing it by doubling would hold it twice over while it is copied.
	im.res.Codes = make([]uint64, 0, expected)
	// SQLite only: on PostgreSQL the dropped index's exclusive lock would
	// block the statement cache preparing on another connection.
	if expected >= BulkLoadThreshold && tx.Dialect() == db.SQLite {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM resident`).Scan(&n); err != nil {
			return nil, fmt.Errorf("count residents: %w", err)
		}
		im.bulk = n == 0
	}
	if expected > 10*importChunk {
		cache := db.StreamCacheKiB // a streamed import's pages spill as it goes
		if !spill {
			cache = db.BulkCacheKiB
		}
		restore, err := tx.WidenCacheTo(ctx, cache)
		if err != nil {
			return nil, err
		}
		im.undo = append(im.undo, restore)
	}
	var err error
	if im.rid, im.vid, err = nextIDs(ctx, tx); err != nil {
		im.Close()
		return nil, err
	}
	if !im.bulk {
		return im, nil
	}
	if err := dropSecondaryIndexes(ctx, tx); err != nil {
		im.Close()
		return nil, err
	}
	if spill {
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE name_key_load (key TEXT, date_of_birth TEXT, resident_id INTEGER, kind TEXT)`); err != nil {
			im.Close()
			return nil, fmt.Errorf("bulk load: key table: %w", err)
		}
		im.undo = append(im.undo, func() { tx.Exec(context.Background(), `DROP TABLE IF EXISTS `+keyLoadTable) })
		// The temporary table's own page cache, bounded: it spills to its
		// file beyond this.
		if _, err := tx.Exec(ctx, fmt.Sprintf(`PRAGMA temp.cache_size = -%d`, db.StreamCacheKiB/4)); err != nil {
			im.Close()
			return nil, fmt.Errorf("bulk load: key table cache: %w", err)
		}
		im.spill = true
	}
	return im, nil
}

// Close gives back the settings the import changed. Call it when done,
// whether Finish ran or not.
func (im *Importer) Close() {
	for i := len(im.undo) - 1; i >= 0; i-- {
		im.undo[i]()
	}
	im.undo = nil
}

// Add applies recs (valid, each resident code once in the whole import).
// A *ChangeError's Row is the record's place in recs, from 1. progress,
// when not nil, is told how many records of the whole import have been
// applied, after each chunk.
func (im *Importer) Add(ctx context.Context, recs []resident.IdentityRecord, progress func(done int)) error {
	tx := im.tx
	order := codeOrder(recs)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the preparation when an error ends the import early
	// The codes of the residents added or changed, packed: a code costs
	// eight bytes, and holds no memory of the line it was read from.
	addCode := func(code ids.ResidentCode) error {
		v, ok := auditlog.PackCode(string(code))
		if !ok {
			return fmt.Errorf("import: resident code %q is not eleven digits", code)
		}
		im.res.Codes = append(im.res.Codes, v)
		return nil
	}
	start := 0
	for chunk := range prepareChunks(ctx, recs, order) {
		var existing map[ids.ResidentCode]currentRow
		var err error
		if !im.bulk {
			if existing, err = currentByCode(ctx, tx, chunk); err != nil {
				return err
			}
			// A bulk load fills an empty register from a file whose codes
			// and numbers are each given once; anything else may meet a
			// code or number another resident holds or held.
			if err := checkFreeChunk(ctx, tx, chunk, existing); err != nil {
				return err
			}
		}
		var residents, versions [][]any
		var keys []keyRow
		for _, p := range chunk {
			rec := p.rec
			cur, ok := existing[rec.ResidentCode]
			if !ok {
				// Fill in the ids and hash residentRow and keyRows left open.
				p.resident[0], p.resident[3], p.resident[4], p.resident[5] = im.rid, 1, im.vid, p.hash
				residents = append(residents, p.resident)
				versions = append(versions, versionRow(im.vid, im.rid, 1, rec, p.hash, removalRetention(rec), im.seq))
				for _, k := range p.keys {
					k.rid = im.rid
					switch {
					case im.bulk && !im.spill:
						im.held = append(im.held, k)
					default:
						keys = append(keys, k)
					}
				}
				im.rid, im.vid = im.rid+1, im.vid+1
				im.res.Added++
				if err := addCode(rec.ResidentCode); err != nil {
					return err
				}
				continue
			}
			if cur.hash == p.hash {
				im.res.Unchanged++
				continue
			}
			// Flush pending new rows first: the change reads the register.
			if err := im.flush(ctx, &residents, &versions, &keys); err != nil {
				return err
			}
			v, err := Current(ctx, tx, cur.id)
			if err != nil {
				return err
			}
			if err := checkChange(v, rec, ""); err != nil {
				var ce *ChangeError
				if errors.As(err, &ce) {
					ce.Row = p.row
				}
				return err
			}
			if _, _, err := supersede(ctx, tx, v, rec, im.seq); err != nil {
				return err
			}
			im.vid++
			im.res.Changed++
			if err := addCode(rec.ResidentCode); err != nil {
				return err
			}
		}
		if err := im.flush(ctx, &residents, &versions, &keys); err != nil {
			return err
		}
		start += len(chunk)
		if progress != nil {
			progress(im.done + start)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("import: %w", err)
	}
	if start != len(recs) {
		return fmt.Errorf("import: prepared %d of %d records", start, len(recs))
	}
	im.done += len(recs)
	return nil
}

// flush inserts the pending rows: a spilled bulk load's keys into the
// temporary table, anyone else's into name_key.
func (im *Importer) flush(ctx context.Context, residents, versions *[][]any, keys *[]keyRow) error {
	if !im.spill {
		return flush(ctx, im.tx, residents, versions, keys)
	}
	held := *keys
	*keys = nil
	if err := flush(ctx, im.tx, residents, versions, keys); err != nil {
		return err
	}
	if err := db.InsertMany(ctx, im.tx, keyLoadTable, keyColumns, keyArgs(held)); err != nil {
		return fmt.Errorf("bulk load: hold search keys: %w", err)
	}
	*keys = held[:0]
	return nil
}

// Finish inserts a bulk load's search keys in key order and builds its
// indexes again, and returns what the import did.
func (im *Importer) Finish(ctx context.Context) (ImportResult, error) {
	if !im.bulk {
		return im.res, nil
	}
	if im.spill {
		if _, err := im.tx.Exec(ctx, `INSERT INTO name_key (`+strings.Join(keyColumns, ", ")+`) SELECT `+strings.Join(keyColumns, ", ")+
			` FROM `+keyLoadTable+` ORDER BY key, date_of_birth, resident_id, kind`); err != nil {
			return im.res, fmt.Errorf("bulk load: store search keys: %w", err)
		}
	} else if err := insertKeysSorted(ctx, im.tx, im.held); err != nil {
		return im.res, err
	}
	im.held = nil
	helpers := runtime.GOMAXPROCS(0) // a helper thread per core
	if im.spill {
		helpers = 0
	}
	if err := buildSecondaryIndexes(ctx, im.tx, helpers); err != nil {
		return im.res, err
	}
	return im.res, nil
}

// codeOrder returns the indexes of recs in resident-code order. Valid codes
// are eleven digits, so they sort as numbers, which is several times
// faster for a million records than comparing the strings through the
// index; anything else is sorted as strings.
func codeOrder(recs []resident.IdentityRecord) []int {
	type keyed struct {
		code uint64
		i    int
	}
	keys := make([]keyed, len(recs))
	for i, r := range recs {
		c := string(r.ResidentCode)
		n, err := strconv.ParseUint(c, 10, 64)
		if len(c) != 11 || err != nil {
			return codeOrderStrings(recs)
		}
		keys[i] = keyed{n, i}
	}
	slices.SortFunc(keys, func(a, b keyed) int { return cmp.Compare(a.code, b.code) })
	order := make([]int, len(recs))
	for i, k := range keys {
		order[i] = k.i
	}
	return order
}

func codeOrderStrings(recs []resident.IdentityRecord) []int {
	order := make([]int, len(recs))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(string(recs[a].ResidentCode), string(recs[b].ResidentCode)) })
	return order
}

// compareKeyRows orders search-key rows as name_key's primary key does.
func compareKeyRows(a, b keyRow) int {
	if c := strings.Compare(a.key, b.key); c != 0 {
		return c
	}
	if c := strings.Compare(a.dob, b.dob); c != 0 {
		return c
	}
	if c := cmp.Compare(a.rid, b.rid); c != 0 {
		return c
	}
	return strings.Compare(a.kind, b.kind)
}

// sortKeyRows sorts rows by compareKeyRows, the two halves on two cores
// and then merged, and returns the sorted rows (in a new slice when the
// rows were split).
func sortKeyRows(rows []keyRow) []keyRow {
	if len(rows) < 100_000 || runtime.GOMAXPROCS(0) < 2 {
		slices.SortFunc(rows, compareKeyRows)
		return rows
	}
	a, b := rows[:len(rows)/2], rows[len(rows)/2:]
	done := make(chan struct{})
	go func() {
		slices.SortFunc(a, compareKeyRows)
		close(done)
	}()
	slices.SortFunc(b, compareKeyRows)
	<-done
	out := make([]keyRow, 0, len(rows))
	for len(a) > 0 && len(b) > 0 {
		if compareKeyRows(a[0], b[0]) <= 0 {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	out = append(out, a...)
	return append(out, b...)
}

// insertKeysSorted inserts search-key rows in the order of name_key's
// primary key (key, date_of_birth, resident_id, kind; byte order, as
// SQLite compares text), so each insert lands on the table's last page.
func insertKeysSorted(ctx context.Context, tx *db.Tx, rows []keyRow) error {
	rows = sortKeyRows(rows)
	const batch = 8192
	for start := 0; start < len(rows); start += batch {
		if err := db.InsertMany(ctx, tx, "name_key", keyColumns, keyArgs(rows[start:min(start+batch, len(rows))])); err != nil {
			return err
		}
	}
	return nil
}

func flush(ctx context.Context, tx *db.Tx, residents, versions *[][]any, keys *[]keyRow) error {
	if len(*residents) == 0 {
		return nil
	}
	if err := db.InsertMany(ctx, tx, "resident", residentColumns, *residents); err != nil {
		return duplicateHint(err)
	}
	if err := db.InsertMany(ctx, tx, "identity_record", versionColumns, *versions); err != nil {
		return err
	}
	if err := db.InsertMany(ctx, tx, "name_key", keyColumns, keyArgs(*keys)); err != nil {
		return err
	}
	*residents, *versions, *keys = (*residents)[:0], (*versions)[:0], (*keys)[:0]
	return nil
}

// duplicateHint turns a unique-constraint failure into a clerk's message.
func duplicateHint(err error) error {
	if strings.Contains(strings.ToLower(err.Error()), "unique") {
		return &ChangeError{
			Reason:   "a resident code or individual number in the file belongs to another resident",
			Japanese: "ファイル内の住民票コードまたは個人番号が別の住民の記録と重複しています",
		}
	}
	return err
}

// checkFreeChunk is checkFree for a chunk of an import (existing: the
// chunk's residents already registered, by code). Records the import
// leaves unchanged pass: they hold what they held.
func checkFreeChunk(ctx context.Context, tx *db.Tx, chunk []prepared, existing map[ids.ResidentCode]currentRow) error {
	var codes, numbers []claim
	for _, p := range chunk {
		cur, ok := existing[p.rec.ResidentCode] // cur.id is 0 for a new resident
		if ok && cur.hash == p.hash {
			continue
		}
		codes = append(codes, claim{string(p.rec.ResidentCode), cur.id, p.row})
		numbers = append(numbers, claim{string(p.rec.IndividualNumber), cur.id, p.row})
	}
	if err := checkClaims(ctx, tx, "resident_code", codes); err != nil {
		return err
	}
	return checkClaims(ctx, tx, "individual_number", numbers)
}

type currentRow struct {
	id   int64
	hash string
}

func currentByCode(ctx context.Context, tx *db.Tx, chunk []prepared) (map[ids.ResidentCode]currentRow, error) {
	args := make([]any, len(chunk))
	for i, p := range chunk {
		args[i] = string(p.rec.ResidentCode)
	}
	rows, err := tx.Query(ctx, `SELECT id, resident_code, content_hash FROM resident WHERE resident_code IN (`+
		strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("find existing residents: %w", err)
	}
	defer rows.Close()
	m := make(map[ids.ResidentCode]currentRow, len(chunk))
	for rows.Next() {
		var c currentRow
		var code string
		if err := rows.Scan(&c.id, &code, &c.hash); err != nil {
			return nil, fmt.Errorf("find existing residents: %w", err)
		}
		m[ids.ResidentCode(code)] = c
	}
	return m, rows.Err()
}

// Export calls fn with each resident's version in force on asOf (zero: the
// current one), skipping residents not registered then and removed records.
func Export(ctx context.Context, q db.Querier, asOf time.Time, fn func(Version) error) error {
	var rows interface {
		Next() bool
		Scan(...any) error
		Err() error
		Close() error
	}
	var err error
	if asOf.IsZero() {
		rows, err = q.Query(ctx, `SELECT `+recordColumns+` FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.removed = ? ORDER BY r.id`, false)
	} else {
		d := dateStr(asOf)
		rows, err = q.Query(ctx, `SELECT `+recordColumns+` FROM identity_record ir
			WHERE ir.change_date <= ? AND ir.version = (SELECT MAX(v.version) FROM identity_record v WHERE v.resident_id = ir.resident_id AND v.change_date <= ?)
			AND ir.removed = ? ORDER BY ir.resident_id`, d, d, false)
	}
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return fmt.Errorf("export: %w", err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return rows.Err()
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

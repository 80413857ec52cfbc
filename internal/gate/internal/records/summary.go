package records

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/resident"
)

// Buckets is how many buckets a consistency summary has.
const Buckets = 4096

// BucketOf is the bucket of a resident code.
func BucketOf(code string) int {
	h := sha256.Sum256([]byte(code))
	return int(binary.BigEndian.Uint16(h[:2])) % Buckets
}

// Summary is a Merkle-style summary of one local government's residents:
// per bucket, the SHA-256 of its residents' (code, content hash) pairs in
// code order, and how many residents it holds.
type Summary struct {
	Digests  [Buckets][32]byte
	Counts   [Buckets]int
	Total    int
	Contents [][]Held // per bucket, in code order
}

// Summarize computes the summary of the residents of local government lg,
// and keeps every bucket's contents (Contents) for the second phase of a
// check, so that phase needs no second scan.
func Summarize(ctx context.Context, q db.Querier, lg string) (*Summary, error) {
	s := &Summary{Contents: make([][]Held, Buckets)}
	err := scanResidents(ctx, q, lg, func(h Held) {
		b := BucketOf(h.Code)
		s.Contents[b] = append(s.Contents[b], h)
	})
	if err != nil {
		return nil, err
	}
	for b, held := range s.Contents {
		if len(held) == 0 {
			continue
		}
		sortHeld(held)
		h := sha256.New()
		for _, r := range held {
			h.Write([]byte(r.Code))
			h.Write([]byte{0})
			h.Write([]byte(r.ContentHash))
			h.Write([]byte{'\n'})
		}
		copy(s.Digests[b][:], h.Sum(nil))
		s.Counts[b] = len(held)
		s.Total += len(held)
	}
	return s, nil
}

// Held is a resident as a summary sees it.
type Held struct {
	Code        string `json:"code"`
	ContentHash string `json:"content_hash"`
}

func sortHeld(held []Held) {
	slices.SortFunc(held, func(a, b Held) int { return strings.Compare(a.Code, b.Code) })
}

// BucketContents lists the residents of lg in the given buckets, each
// bucket in code order.
func BucketContents(ctx context.Context, q db.Querier, lg string, buckets []int) (map[int][]Held, error) {
	want := map[int]bool{}
	for _, b := range buckets {
		want[b] = true
	}
	out := map[int][]Held{}
	err := scanResidents(ctx, q, lg, func(h Held) {
		if b := BucketOf(h.Code); want[b] {
			out[b] = append(out[b], h)
		}
	})
	for _, held := range out {
		sortHeld(held)
	}
	return out, err
}

// scanResidents calls fn with each resident of lg (in no particular order)
// and the hash of its current version recomputed from the items as stored
// (not the stored hash): a record altered in place is seen as it now is.
//
// The residents are read in the order they are stored and each one's
// current version fetched by id, which at a million residents is several
// times faster than walking them in code order, where every fetch lands on
// another page.
func scanResidents(ctx context.Context, q db.Querier, lg string, fn func(Held)) error {
	rows, err := q.Query(ctx, `SELECT `+contentColumns+` FROM resident r CROSS JOIN identity_record ir
		WHERE r.local_gov_code = ? AND ir.id = r.record_id`, lg)
	if err != nil {
		return fmt.Errorf("summarize residents of %s: %w", lg, err)
	}
	defer rows.Close()
	var raw [contentFields]sql.RawBytes
	dest := make([]any, contentFields)
	for i := range raw {
		dest[i] = &raw[i]
	}
	var fields [contentFields][]byte
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("summarize residents of %s: %w", lg, err)
		}
		for i, f := range raw {
			fields[i] = f
		}
		fn(Held{Code: string(raw[0]), ContentHash: hashContent(&fields)})
	}
	return rows.Err()
}

// Resend puts the current versions of the residents with the given codes
// into the outbox again, so the upstream receives them anew (repair after
// a consistency check). It returns how many were queued.
func Resend(ctx context.Context, tx *db.Tx, codes []string, now time.Time) (int, error) {
	if err := lockOutbox(ctx, tx); err != nil {
		return 0, fmt.Errorf("queue residents again: %w", err)
	}
	n := 0
	for _, code := range codes {
		res, err := tx.Exec(ctx, `INSERT INTO fed_outbox (seq, record_id, previous_code, created_at, repair) SELECT `+nextOutboxSeq+` + 1, record_id, '', ?, ? FROM resident WHERE resident_code = ?`, now, true, code)
		if err != nil {
			return n, fmt.Errorf("queue %s again: %w", code, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// Restore makes rec the resident's current state when the stored one
// differs in any way — the items as stored (not their stored hash), or the
// resident row's copies of them — by adding it as a new version (or the
// resident, if missing). It repairs a copy altered in place.
func Restore(ctx context.Context, tx *db.Tx, rec resident.IdentityRecord, seq int64) (bool, error) {
	cur, err := LookupCode(ctx, tx, rec.ResidentCode)
	if errors.Is(err, ErrNotFound) {
		_, err := Import(ctx, tx, []resident.IdentityRecord{rec}, seq)
		return err == nil, err
	}
	if err != nil {
		return false, err
	}
	hash := ContentHash(rec)
	var storedHash, storedLG string
	var removed bool
	if err := tx.QueryRow(ctx, `SELECT content_hash, local_gov_code, removed FROM resident WHERE id = ?`, cur.ResidentID).Scan(&storedHash, &storedLG, &removed); err != nil {
		return false, fmt.Errorf("read resident: %w", err)
	}
	if ContentHash(cur.IdentityRecord) == hash && storedHash == hash && storedLG == string(rec.LocalGov) && removed == rec.ChangeReason.Removes() {
		return false, nil
	}
	_, _, err = supersede(ctx, tx, cur, rec, seq)
	return err == nil, err
}

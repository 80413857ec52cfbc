package records

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
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
	hs := make([]hash.Hash, Buckets)
	err := scanResidents(ctx, q, lg, func(code, content string) {
		b := BucketOf(code)
		if hs[b] == nil {
			hs[b] = sha256.New()
		}
		hs[b].Write([]byte(code))
		hs[b].Write([]byte{0})
		hs[b].Write([]byte(content))
		hs[b].Write([]byte{'\n'})
		s.Counts[b]++
		s.Total++
		s.Contents[b] = append(s.Contents[b], Held{Code: code, ContentHash: content})
	})
	if err != nil {
		return nil, err
	}
	for b, h := range hs {
		if h != nil {
			copy(s.Digests[b][:], h.Sum(nil))
		}
	}
	return s, nil
}

// Held is a resident as a summary sees it.
type Held struct {
	Code        string `json:"code"`
	ContentHash string `json:"content_hash"`
}

// BucketContents lists the residents of lg in the given buckets.
func BucketContents(ctx context.Context, q db.Querier, lg string, buckets []int) (map[int][]Held, error) {
	want := map[int]bool{}
	for _, b := range buckets {
		want[b] = true
	}
	out := map[int][]Held{}
	err := scanResidents(ctx, q, lg, func(code, content string) {
		if b := BucketOf(code); want[b] {
			out[b] = append(out[b], Held{Code: code, ContentHash: content})
		}
	})
	return out, err
}

// scanResidents calls fn with each resident of lg, in code order, and the
// hash of its current version recomputed from the stored items (not the
// stored hash): a record altered in place is seen as it now is.
func scanResidents(ctx context.Context, q db.Querier, lg string, fn func(code, content string)) error {
	rows, err := q.Query(ctx, `SELECT `+recordColumns+` FROM resident r JOIN identity_record ir ON ir.id = r.record_id
		WHERE r.local_gov_code = ? ORDER BY r.resident_code`, lg)
	if err != nil {
		return fmt.Errorf("summarize residents of %s: %w", lg, err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return fmt.Errorf("summarize residents of %s: %w", lg, err)
		}
		fn(string(v.ResidentCode), ContentHash(v.IdentityRecord))
	}
	return rows.Err()
}

// Resend puts the current versions of the residents with the given codes
// into the outbox again, so the upstream receives them anew (repair after
// a consistency check). It returns how many were queued.
func Resend(ctx context.Context, tx *db.Tx, codes []string, now time.Time) (int, error) {
	n := 0
	for _, code := range codes {
		res, err := tx.Exec(ctx, `INSERT INTO fed_outbox (record_id, previous_code, created_at, repair) SELECT record_id, '', ?, ? FROM resident WHERE resident_code = ?`, now, true, code)
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

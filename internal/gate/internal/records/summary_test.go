package records

import (
	"context"
	"crypto/sha256"
	"slices"
	"strings"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/ids"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// TestSummarize: the summary holds every resident of the local government
// (and no other) with the content hash ContentHash gives its current
// version, buckets in code order; a record altered in place shows its new
// content; BucketContents agrees with the summary.
func TestSummarize(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var recs []resident.IdentityRecord
		for i, lg := range []ids.LocalGovCode{"022012", "022039"} {
			g, _ := synth.New(synth.Options{Seed: uint64(9 + i), LocalGov: lg})
			for range 700 {
				recs = append(recs, g.Next())
			}
		}
		if err := d.Transact(ctx, func(tx *db.Tx) error {
			_, err := Import(ctx, tx, recs, 1)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		// A change adds a version: the summary must show the current one.
		changed := recs[3]
		changed.Address, changed.ChangeReason, changed.ChangeDate = changed.Address+"　別館", resident.ReasonMoveWithin, resident.Date(2026, 3, 31)
		if _, _, err := apply(t, d, changed, "", 2); err != nil {
			t.Fatal(err)
		}
		recs[3] = changed

		s, err := Summarize(ctx, d, "022012")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, r := range recs {
			if r.LocalGov == "022012" {
				want[string(r.ResidentCode)] = ContentHash(r)
			}
		}
		if s.Total != len(want) {
			t.Fatalf("summary holds %d residents, want %d", s.Total, len(want))
		}
		for b, held := range s.Contents {
			if len(held) != s.Counts[b] {
				t.Fatalf("bucket %d: %d held, count %d", b, len(held), s.Counts[b])
			}
			if !slices.IsSortedFunc(held, func(x, y Held) int { return strings.Compare(x.Code, y.Code) }) {
				t.Fatalf("bucket %d not in code order", b)
			}
			h := sha256.New()
			for _, r := range held {
				if BucketOf(r.Code) != b || want[r.Code] != r.ContentHash {
					t.Fatalf("bucket %d holds %s with %s, want bucket %d and %s", b, r.Code, r.ContentHash, BucketOf(r.Code), want[r.Code])
				}
				h.Write([]byte(r.Code + "\x00" + r.ContentHash + "\n"))
			}
			if len(held) > 0 && [32]byte(h.Sum(nil)) != s.Digests[b] {
				t.Fatalf("bucket %d digest does not cover its contents", b)
			}
		}

		// Altered in place: the summary sees the stored items, not the stored hash.
		code := string(recs[10].ResidentCode)
		if _, err := d.Exec(ctx, `UPDATE identity_record SET address = address || '（改）' WHERE resident_code = ?`, code); err != nil {
			t.Fatal(err)
		}
		s2, err := Summarize(ctx, d, "022012")
		if err != nil {
			t.Fatal(err)
		}
		b := BucketOf(code)
		var differ []int
		for i := range s.Digests {
			if s.Digests[i] != s2.Digests[i] {
				differ = append(differ, i)
			}
		}
		if !slices.Equal(differ, []int{b}) {
			t.Fatalf("buckets differing after altering %s: %v, want [%d]", code, differ, b)
		}
		got, err := BucketContents(ctx, d, "022012", []int{b})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got[b], s2.Contents[b]) || len(got) != 1 {
			t.Fatalf("bucket contents %v, summary %v", got[b], s2.Contents[b])
		}
	})
}

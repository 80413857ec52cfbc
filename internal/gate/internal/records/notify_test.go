package records

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestOutboxHasNoGaps rolls back transactions that had put changes into
// the outbox (a change cut off by a kill, a lost connection, a failed
// statement after Notify) and checks that the changes committed after them
// continue the outbox sequence without a gap, as the upstream requires
// (gate.Replicate refuses a gap as lost changes and stops the source). On
// PostgreSQL the sequence was an identity column, which does not give back
// the numbers a rolled-back transaction took: the fault suite's SIGKILL
// cycles (internal/faults) stopped delivery with "sequence gap: last
// applied 2602, batch starts at 2604".
func TestOutboxHasNoGaps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
		if _, err := d.Exec(ctx, `INSERT INTO fed_peer (code, role, level, name, url, note_key, ca_pem, added_at, added_seq) VALUES ('130001', 'upstream', 'prefecture', '東京都', 'http://127.0.0.1:1', '', '', ?, 0)`, now); err != nil {
			t.Fatal(err)
		}
		recs, _ := synthetic(7, 6)
		cutOff := errors.New("cut off")
		for i, rec := range recs {
			auditSeq := int64(i + 1)
			err := d.Transact(ctx, func(tx *db.Tx) error {
				if _, _, err := Apply(ctx, tx, rec, "", auditSeq); err != nil {
					return err
				}
				if err := Notify(ctx, tx, auditSeq, "", now); err != nil {
					return err
				}
				if i%2 == 0 {
					return cutOff // rolled back after its outbox row was written
				}
				return nil
			})
			if i%2 == 0 && !errors.Is(err, cutOff) || i%2 == 1 && err != nil {
				t.Fatalf("change %d: %v", i, err)
			}
		}
		err := d.Transact(ctx, func(tx *db.Tx) error {
			if _, err := Resend(ctx, tx, []string{string(recs[1].ResidentCode)}, now); err != nil {
				return err
			}
			return cutOff
		})
		if !errors.Is(err, cutOff) {
			t.Fatal(err)
		}
		if err := d.Transact(ctx, func(tx *db.Tx) error {
			_, err := Resend(ctx, tx, []string{string(recs[3].ResidentCode), string(recs[5].ResidentCode)}, now)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		out, err := Outbox(ctx, d, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var seqs, want []int64
		var codes, wantCodes []string
		for _, o := range out {
			seqs, codes = append(seqs, o.Seq), append(codes, string(o.ResidentCode))
		}
		for i, c := range []int{1, 3, 5, 3, 5} {
			want, wantCodes = append(want, int64(i+1)), append(wantCodes, string(recs[c].ResidentCode))
		}
		if !slices.Equal(seqs, want) || !slices.Equal(codes, wantCodes) {
			t.Errorf("outbox sequence %v of %v, want %v of %v", seqs, codes, want, wantCodes)
		}
	})
}

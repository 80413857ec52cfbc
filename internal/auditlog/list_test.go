package auditlog

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestEach: Each lists every entry of a filter, without List's default
// limit of 100, in List's order, and stops when its function fails.
func TestEach(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		signer, _ := newKey(t)
		l := openLog(t, d, signer)
		for i := 0; i < 250; i++ {
			e := entry(i, fmt.Sprintf("%011d", i%2))
			if i%5 == 0 {
				e.Action = "history"
			}
			if _, err := l.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// A journaled log's rows come from its indexer.
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		f := Filter{Action: "lookup", After: -1, Newest: true}
		var seqs []int64
		if err := Each(ctx, d, f, func(x Listed) error {
			if x.Entry == nil || x.Entry.Seq != x.Seq || x.Action != "lookup" {
				t.Fatalf("entry %d listed as %+v", x.Seq, x)
			}
			seqs = append(seqs, x.Seq)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		n, err := Count(ctx, d, f)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(seqs)) != n || n != 200 {
			t.Fatalf("Each listed %d entries, Count says %d, want 200", len(seqs), n)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] >= seqs[i-1] {
				t.Fatalf("newest first, but %d follows %d", seqs[i], seqs[i-1])
			}
		}
		// A bound and a resident, as an export asks.
		f = Filter{Resident: "00000000001", After: -1, Before: 100}
		var odd int
		if err := Each(ctx, d, f, func(x Listed) error {
			if x.Seq >= 100 || x.Seq%2 != 1 {
				t.Errorf("entry %d does not match the filter", x.Seq)
			}
			odd++
			return nil
		}); err != nil || odd != 50 {
			t.Errorf("resident and bound: %d entries, err %v; want 50", odd, err)
		}
		stop := errors.New("stop")
		calls := 0
		if err := Each(ctx, d, Filter{After: -1}, func(Listed) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
			t.Errorf("a failing function: %d calls, err %v", calls, err)
		}
		if got, _ := List(ctx, d, Filter{After: -1}); len(got) != 100 {
			t.Errorf("List without a limit gave %d entries, want its default 100", len(got))
		}
	})
}

package gate

import (
	"context"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestEnsureSearchKeys: a register with no keys, or with keys of this
// folding, only has the version recorded, and nothing is logged; keys of
// another folding are rebuilt in one logged "rekey" by the node, and
// searches find the residents again.
func TestEnsureSearchKeys(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		ensure := func(want int) {
			t.Helper()
			n, err := f.g.EnsureSearchKeys(ctx)
			if err != nil || n != want {
				t.Fatalf("EnsureSearchKeys = %d, %v; want %d", n, err, want)
			}
		}
		ensure(0) // empty register: the version is recorded
		if len(f.entries(t)) != 0 {
			t.Fatalf("%d entries logged for an empty register", len(f.entries(t)))
		}
		recs := f.importRecords(t, 25)
		entries := len(f.entries(t))
		ensure(0) // keys made by this folding
		if len(f.entries(t)) != entries {
			t.Fatal("current keys were rebuilt")
		}

		// Keys of another folding: one lost outright, the version older.
		if _, err := d.Exec(ctx, `DELETE FROM name_key WHERE key IN (SELECT key FROM name_key WHERE kind = 'name' LIMIT 1)`); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `UPDATE search_key_version SET folding = 'older'`); err != nil {
			t.Fatal(err)
		}
		ensure(25)
		got := f.entries(t)
		last := got[len(got)-1].Entry
		if len(got) != entries+1 || last.Action != "rekey" || last.Actor.Kind != "system" || last.Count != 25 {
			t.Fatalf("rekey logged as %+v (%d entries, %d before)", last, len(got), entries)
		}
		ensure(0)
		for _, r := range recs {
			res, _, err := f.g.Search(ctx, clerk, SearchQuery{Name: r.FamilyName + r.GivenName, DateOfBirth: r.DateOfBirth, Sex: r.Sex})
			if err != nil || len(res) == 0 {
				t.Fatalf("search for %s%s after the rebuild: %d found, %v", r.FamilyName, r.GivenName, len(res), err)
			}
		}
	})
}

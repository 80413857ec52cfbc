package approval_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"jukinet/internal/approval"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestMigrationCarriesOldApprovals: approvals recorded before the workflow
// (staff approve, table staff_usage_approval) become approved applications
// from the day they were recorded, naming the department's terminals in use
// and the staff designated for the affair; an ended one stays ended.
func TestMigrationCarriesOldApprovals(t *testing.T) {
	for _, c := range []struct{ name, url string }{
		{"sqlite", "sqlite:" + filepath.Join(t.TempDir(), "old.db")},
		{"postgres", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			u := c.url
			if u == "" {
				u = dbtest.PostgresURL(t)
			}
			d, err := db.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.MigrateTo(ctx, 21); err != nil {
				t.Fatal(err)
			}
			at := time.Date(2026, 4, 1, 1, 0, 0, 0, time.UTC)
			for _, q := range []struct {
				sql  string
				args []any
			}{
				{`INSERT INTO staff_person (id, verification_id, name, name_kana, department_id, title, active, created_at, created_seq) VALUES (1, 'K0001', '区民 一郎', '', 'kumin', '主事', ?, ?, 1)`, []any{true, at}},
				{`INSERT INTO staff_terminal (id, name, department_id, location, approved_by, approved_at, approved_seq) VALUES ('T-1', '窓口', 'kumin', '2階', 'x', ?, 2)`, []any{at}},
				{`INSERT INTO staff_designation (person_id, affair_id, designated_by, started_at, started_seq) VALUES (1, 'juki', 'x', ?, 3)`, []any{at}},
				{`INSERT INTO staff_usage_approval (id, department_id, affair_id, purpose, staff, approved_by, approved_at, approved_seq) VALUES (7, 'kumin', 'juki', '記録', '窓口係', 'operator:ADMIN', ?, 4)`, []any{at}},
				{`INSERT INTO staff_usage_approval (id, department_id, affair_id, purpose, staff, approved_by, approved_at, approved_seq, ended_at, ended_seq) VALUES (8, 'kumin', 'juminhyo-copy', '交付', '窓口係', 'operator:ADMIN', ?, 5, ?, 6)`, []any{at, at.Add(time.Hour)}},
			} {
				if _, err := d.Exec(ctx, q.sql, q.args...); err != nil {
					t.Fatalf("%s: %v", q.sql, err)
				}
			}
			if err := d.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			all, err := approval.List(ctx, d)
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 {
				t.Fatalf("approvals = %+v", all)
			}
			ended, juki := all[0], all[1]
			if juki.ID != 7 || juki.State != approval.Approved || juki.Start.Format(time.DateOnly) != "2026-04-01" || juki.End.Year() != 9999 ||
				!slices.Equal(juki.Terminals, []string{"T-1"}) || !slices.Equal(juki.Operators, []string{"K0001"}) || juki.DecidedBy != "operator:ADMIN" {
				t.Errorf("carried over: %+v", juki)
			}
			if ended.ID != 8 || ended.State != approval.Ended {
				t.Errorf("ended one carried over as %+v", ended)
			}
			// New applications are numbered after the old ones.
			var next int64
			if err := d.QueryRow(ctx, `INSERT INTO usage_approval (department_id, affair_id, purpose, reason, starts_on, ends_on, state, applied_by, applied_at, applied_seq)
				VALUES ('kumin', 'x', 'p', 'r', '2026-01-01', '2026-12-31', 'applied', 'x', ?, 9) RETURNING id`, at).Scan(&next); err != nil || next <= 8 {
				t.Errorf("next id %d: %v", next, err)
			}
		})
	}
}

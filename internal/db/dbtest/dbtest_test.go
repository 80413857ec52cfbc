package dbtest

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	"jukinet/internal/db"
)

// TestCopiesMatchAFreshMigration: a database handed out as migrated (a
// copy of this process's template) has the schema and the migration
// versions that migrating an empty database gives, on each database.
func TestCopiesMatchAFreshMigration(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name        string
		copied      func(t testing.TB) *db.DB
		fresh       func(t testing.TB) *db.DB
		schemaQuery string
	}{
		{"sqlite", OpenSQLite, func(t testing.TB) *db.DB {
			return openMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), "fresh.db"))
		}, `SELECT type || ' ' || name || ' ' || COALESCE(sql, '') FROM sqlite_master ORDER BY type, name`},
		{"postgres", OpenPostgres, func(t testing.TB) *db.DB {
			return openMigrated(t, PostgresURL(t))
		}, `SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '')
			FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, column_name`},
	} {
		t.Run(c.name, func(t *testing.T) {
			read := func(d *db.DB, q string) []string {
				t.Helper()
				rows, err := d.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var out []string
				for rows.Next() {
					var s string
					if err := rows.Scan(&s); err != nil {
						t.Fatal(err)
					}
					out = append(out, s)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				return out
			}
			copied, fresh := c.copied(t), c.fresh(t)
			got, want := read(copied, c.schemaQuery), read(fresh, c.schemaQuery)
			if len(want) < 100 {
				t.Fatalf("a fresh migration gave only %d schema rows", len(want))
			}
			if !slices.Equal(got, want) {
				t.Errorf("the copy's schema differs from a fresh migration's:\ncopy:  %v\nfresh: %v", got, want)
			}
			versions := `SELECT CAST(version_id AS TEXT) FROM goose_db_version WHERE is_applied ORDER BY version_id`
			if got, want := read(copied, versions), read(fresh, versions); !slices.Equal(got, want) {
				t.Errorf("the copy's migrations %v, a fresh migration's %v", got, want)
			}
			// The copy is the test's own: what one test writes, the next
			// copy does not hold.
			if _, err := copied.Exec(ctx, `CREATE TABLE dbtest_probe (x INTEGER)`); err != nil {
				t.Fatal(err)
			}
			if again := read(c.copied(t), c.schemaQuery); !slices.Equal(again, want) {
				t.Errorf("a second copy holds what the first one's test wrote")
			}
		})
	}
}

// Package dbtest runs a test against every database jukinet supports:
// SQLite in a temporary folder always, and PostgreSQL in a fresh schema when
// JUKINET_TEST_POSTGRES_URL is set. Tests use real databases, never mocks.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"jukinet/internal/db"
)

// EnvPostgres names the variable holding the PostgreSQL URL tests use.
const EnvPostgres = "JUKINET_TEST_POSTGRES_URL"

var warnOnce sync.Once

// Run calls fn once per database, each time as a subtest ("sqlite",
// "postgres") with a freshly migrated, empty database that is removed when
// the subtest ends. Without JUKINET_TEST_POSTGRES_URL the PostgreSQL subtest
// is skipped, and the skip is printed to stderr even without -v.
func Run(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		fn(t, OpenSQLite(t))
	})
	t.Run("postgres", func(t *testing.T) {
		fn(t, OpenPostgres(t))
	})
}

// OpenSQLite returns a migrated SQLite database in t's temporary folder.
func OpenSQLite(t testing.TB) *db.DB {
	t.Helper()
	return openMigrated(t, "sqlite:"+filepath.Join(t.TempDir(), "test.db"))
}

// OpenPostgres returns a migrated PostgreSQL database in a new schema that
// is dropped when t ends, or skips t when JUKINET_TEST_POSTGRES_URL is unset.
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	return openMigrated(t, PostgresURL(t))
}

func openMigrated(t testing.TB, dbURL string) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return d
}

// PostgresURL creates an empty schema that is dropped when t ends and
// returns a URL whose connections use it, or skips t when
// JUKINET_TEST_POSTGRES_URL is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		msg := "PostgreSQL half SKIPPED: set " + EnvPostgres + "=postgres://127.0.0.1:5432/test to run it (bash .ci/run does)"
		warnOnce.Do(func() { fmt.Fprintln(os.Stderr, "dbtest: "+msg) })
		t.Skip(msg)
	}
	ctx := context.Background()
	admin, err := db.Open(ctx, base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	defer admin.Close()
	schema := "jt_" + randomHex(6)
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		a, err := db.Open(context.Background(), base)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer a.Close()
		if _, err := a.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Package dbtest runs a test against every database jukinet supports:
// SQLite in a temporary folder always, and PostgreSQL in a fresh schema or
// database when JUKINET_TEST_POSTGRES_URL is set. Tests use real databases,
// never mocks.
//
// A migrated database is a copy of one this process migrated once (SQLite:
// the file's bytes; PostgreSQL: a template database named by
// db.MigrationsDigest, made once for every process that shares the
// server). Running the migrations again for each test took most of a small
// test's time: 60–90 ms on SQLite, one to three seconds under the race
// detector, and 0.3–0.7 s on PostgreSQL, against milliseconds to copy.
// The migrations themselves run, once per process, in the test binary,
// and Migrate runs again on every copy (finding nothing to do).
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	path := filepath.Join(t.TempDir(), "test.db")
	tmpl, err := sqliteTemplate()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, tmpl, 0o600); err != nil {
		t.Fatalf("copy the migrated SQLite database: %v", err)
	}
	return openMigrated(t, "sqlite:"+path)
}

// OpenPostgres returns a migrated PostgreSQL database that is dropped when
// t ends, or skips t when JUKINET_TEST_POSTGRES_URL is unset.
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	return openMigrated(t, MigratedPostgresURL(t))
}

var sqliteOnce struct {
	sync.Once
	file []byte
	err  error
}

// sqliteTemplate returns the bytes of a SQLite database migrated by this
// process, migrating one the first time.
func sqliteTemplate() ([]byte, error) {
	sqliteOnce.Do(func() {
		sqliteOnce.file, sqliteOnce.err = migrateSQLiteFile()
	})
	return sqliteOnce.file, sqliteOnce.err
}

func migrateSQLiteFile() ([]byte, error) {
	dir, err := os.MkdirTemp("", "jukinet-dbtest-")
	if err != nil {
		return nil, fmt.Errorf("migrate a template SQLite database: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "template.db")
	d, err := db.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		return nil, fmt.Errorf("migrate a template SQLite database: %w", err)
	}
	if err := d.Migrate(context.Background()); err != nil {
		d.Close()
		return nil, fmt.Errorf("migrate a template SQLite database: %w", err)
	}
	if err := d.Close(); err != nil {
		return nil, fmt.Errorf("close the template SQLite database: %w", err)
	}
	// The last connection's close checkpoints the WAL into the file and
	// removes it: the file alone is then the whole database.
	if st, err := os.Stat(path + "-wal"); err == nil && st.Size() > 0 {
		return nil, fmt.Errorf("the template SQLite database kept a WAL of %d bytes after closing: its file alone is not the database", st.Size())
	}
	return os.ReadFile(path)
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

// postgresBase returns JUKINET_TEST_POSTGRES_URL, or skips t, saying so,
// when it is unset.
func postgresBase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		msg := "PostgreSQL half SKIPPED: set " + EnvPostgres + "=postgres://127.0.0.1:5432/test to run it (bash .ci/run does)"
		warnOnce.Do(func() { fmt.Fprintln(os.Stderr, "dbtest: "+msg) })
		t.Skip(msg)
	}
	return base
}

// SkipWithoutPostgres skips t, saying so, when JUKINET_TEST_POSTGRES_URL is
// unset.
func SkipWithoutPostgres(t testing.TB) {
	t.Helper()
	postgresBase(t)
}

// MigratedPostgresURL creates a migrated PostgreSQL database, dropped when t
// ends, and returns its URL, or skips t when JUKINET_TEST_POSTGRES_URL is
// unset. A node initialised on it finds its migrations applied.
func MigratedPostgresURL(t testing.TB) string {
	t.Helper()
	base := postgresBase(t)
	tmpl, err := postgresTemplate(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	name := "jt_" + randomHex(6)
	makeOnServer(t, base, "CREATE DATABASE "+name+" TEMPLATE "+tmpl, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	u, err := withDatabase(base, name)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	return u
}

// withDatabase returns the URL base with its database replaced by name.
func withDatabase(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

var postgresOnce struct {
	sync.Once
	name string
	err  error
}

// postgresTemplate returns the name of a migrated template database on the
// server at base, making it if no process has yet: its name carries
// db.MigrationsDigest, so a binary with other migrations makes its own.
// Test processes running side by side (go test runs packages in parallel)
// make it once, under an advisory lock, and only a finished one carries
// the name: it is migrated under another name and renamed.
func postgresTemplate(base string) (string, error) {
	postgresOnce.Do(func() {
		postgresOnce.name, postgresOnce.err = makePostgresTemplate(base)
	})
	return postgresOnce.name, postgresOnce.err
}

// templateLock is the advisory lock key under which template databases are
// made ("juki").
const templateLock = 0x6a756b69

func makePostgresTemplate(base string) (_ string, err error) {
	ctx := context.Background()
	name := "jukinet_tmpl_" + db.MigrationsDigest()[:16]
	building := name + "_building"
	defer func() {
		if err != nil {
			err = fmt.Errorf("make the template database %s: %w", name, err)
		}
	}()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", err
	}
	defer admin.Close()
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", templateLock); err != nil {
		return "", err
	}
	defer conn.ExecContext(ctx, "SELECT pg_advisory_unlock($1)", templateLock)
	var exists bool
	if err := conn.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// Templates of other migrations (older commits) are dropped when no
	// one uses them; one in use stays for its users.
	rows, err := conn.QueryContext(ctx, "SELECT datname FROM pg_database WHERE datname LIKE 'jukinet\\_tmpl\\_%'")
	if err != nil {
		return "", err
	}
	var stale []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return "", err
		}
		stale = append(stale, n)
	}
	rows.Close()
	for _, n := range stale {
		force := ""
		if n == building {
			force = " WITH (FORCE)" // left by a process that did not finish
		}
		conn.ExecContext(ctx, "DROP DATABASE IF EXISTS "+n+force)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DATABASE "+building); err != nil {
		return "", err
	}
	u, err := withDatabase(base, building)
	if err != nil {
		return "", err
	}
	d, err := db.Open(ctx, u)
	if err != nil {
		return "", err
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		return "", err
	}
	if err := d.Close(); err != nil {
		return "", err
	}
	// A closed connection's server process may take a moment to end, and
	// a database is renamed only when no one is connected to it.
	for try := 0; ; try++ {
		_, err = conn.ExecContext(ctx, "ALTER DATABASE "+building+" RENAME TO "+name)
		if err == nil || try == 100 || !strings.Contains(err.Error(), "being accessed by other users") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		return "", err
	}
	return name, nil
}

// PostgresURL creates an empty schema that is dropped when t ends and
// returns a URL whose connections use it, or skips t when
// JUKINET_TEST_POSTGRES_URL is unset. Tests of the migrations themselves
// start from it; MigratedPostgresURL is quicker for the rest.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := postgresBase(t)
	schema := "jt_" + randomHex(6)
	makeOnServer(t, base, "CREATE SCHEMA "+schema, "DROP SCHEMA "+schema+" CASCADE")
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// makeOnServer runs create on the PostgreSQL server at base now, and drop
// when t ends.
func makeOnServer(t testing.TB, base, create, drop string) {
	t.Helper()
	if err := execOnServer(base, create); err != nil {
		t.Fatalf("%s (%s): %v", create, EnvPostgres, err)
	}
	t.Cleanup(func() {
		if err := execOnServer(base, drop); err != nil {
			t.Errorf("%s: %v", drop, err)
		}
	})
}

// execOnServer runs one statement on its own connection to base.
func execOnServer(base, stmt string) error {
	a, err := sql.Open("pgx", base)
	if err != nil {
		return err
	}
	defer a.Close()
	_, err = a.ExecContext(context.Background(), stmt)
	return err
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

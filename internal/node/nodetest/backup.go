package nodetest

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/node"
)

// Backup copies a node's data folder and database as they are now, for the
// recovery tests: on SQLite the folder's files and the database by VACUUM
// INTO (a consistent copy of a live database); on PostgreSQL every table of
// the node's schema into a new schema (rows, and the identity sequences),
// with jukinet.toml pointed at it. The node must be idle while it runs.
//
// It returns dir, the copy, which node.Open opens as the node restored.
// This stands in for the real backup and restore (jukinet backup / jukinet
// restore, internal/backup) in the recovery tests; the drill test uses the
// real ones.
func Backup(t testing.TB, n *node.Node, dir string) string {
	t.Helper()
	ctx := context.Background()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(n.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if e.IsDir() || strings.Contains(e.Name(), ".db") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(n.Dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		info, _ := e.Info()
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	if n.DB.Dialect() != db.Postgres {
		if _, err := n.DB.Exec(ctx, `VACUUM INTO ?`, filepath.Join(dir, "jukinet.db")); err != nil {
			t.Fatalf("VACUUM INTO: %v", err)
		}
		return dir
	}
	u, err := url.Parse(n.Config.Database.URL)
	if err != nil {
		t.Fatal(err)
	}
	from := u.Query().Get("search_path")
	toURL := dbtest.PostgresURL(t)
	tu, _ := url.Parse(toURL)
	to := tu.Query().Get("search_path")
	rows, err := n.DB.Query(ctx, `SELECT table_name FROM information_schema.tables WHERE table_schema = ? AND table_type = 'BASE TABLE'`, from)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	err = n.DB.Transact(ctx, func(tx *db.Tx) error {
		for _, tb := range tables {
			for _, q := range []string{
				fmt.Sprintf(`CREATE TABLE %s.%s (LIKE %s.%s INCLUDING ALL)`, to, tb, from, tb),
				fmt.Sprintf(`INSERT INTO %s.%s OVERRIDING SYSTEM VALUE SELECT * FROM %s.%s`, to, tb, from, tb),
			} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return fmt.Errorf("%s: %w", q, err)
				}
			}
		}
		// The identity sequences go on where the node's were.
		ids, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = ? AND is_identity = 'YES'`, from)
		if err != nil {
			return err
		}
		var cols [][2]string
		for ids.Next() {
			var tb, col string
			ids.Scan(&tb, &col)
			cols = append(cols, [2]string{tb, col})
		}
		ids.Close()
		for _, c := range cols {
			var last int64
			if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT COALESCE((SELECT last_value FROM %s WHERE is_called), 0) FROM %s`,
				seqName(from, c), seqName(from, c))).Scan(&last); err != nil {
				return err
			}
			if last > 0 {
				if _, err := tx.Exec(ctx, fmt.Sprintf(`SELECT setval('%s', %d)`, seqName(to, c), last)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("copy the schema: %v", err)
	}
	cfg := filepath.Join(dir, "jukinet.toml")
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte(n.Config.Database.URL), []byte(toURL), 1)
	if err := os.WriteFile(cfg, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// seqName is the sequence of an identity column, as PostgreSQL names it.
func seqName(schema string, c [2]string) string { return schema + "." + c[0] + "_" + c[1] + "_seq" }

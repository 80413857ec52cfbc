package db_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestTileMigration: migration 35 turns the stored hashes of audit_hash
// into exactly the tiles of height 8 of the same tree — every full tile of
// every level and the partial one at its end, each at its final width,
// holding what tlog.ReadTileData reads from the old hashes — drops
// audit_hash, and the tree read back from the tiles has the old root. Its
// Down gives back audit_hash as it was, and Up again the same tiles.
func TestTileMigration(t *testing.T) {
	ctx := context.Background()
	// 65,837 leaves make 257 full tiles and one of 45 hashes at level 0,
	// one full and one of 1 at level 1, one of 1 at level 2.
	for _, size := range []int64{0, 1, 255, 256, 257, 65536, 65537 + 300} {
		tree := newSynthTree(t, size)
		t.Run(fmt.Sprintf("size=%d", size), func(t *testing.T) {
			onOldDatabases(t, func(t *testing.T, d *db.DB) {
				fillHashes(t, d, tree)
				if err := d.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				checkTiles(t, d, tree)

				if err := d.MigrateDownTo(ctx, 34); err != nil {
					t.Fatal(err)
				}
				if got := readHashes(t, d); !sameRows(got, tree) {
					t.Errorf("Down refilled audit_hash with %d rows unlike the %d it held", len(got), len(tree.hashes))
				}
				if n := tileCount(t, d); n != 0 {
					t.Errorf("Down left %d rows in audit_tile", n)
				}
				if err := d.Migrate(ctx); err != nil {
					t.Fatalf("Up after Down: %v", err)
				}
				checkTiles(t, d, tree)
			})
		})
	}
}

// TestTileMigrationRefusesBadHashes: a hash that is not 32 bytes, or one a
// tile needs that is missing, fails the migration, which leaves audit_hash
// as it was and audit_tile empty.
func TestTileMigrationRefusesBadHashes(t *testing.T) {
	ctx := context.Background()
	tree300, tree256 := newSynthTree(t, 300), newSynthTree(t, 256)
	leaf100 := tlog.StoredHashIndex(0, 100)
	level1 := tlog.StoredHashIndex(1, 10)
	level8 := tlog.StoredHashIndex(8, 0)
	lastLeaf := tlog.StoredHashIndex(0, 255)
	for _, c := range []struct {
		name   string
		tree   synthTree
		change string
		args   []any
		want   string
	}{
		{"short leaf hash", tree300, `UPDATE audit_hash SET hash = ? WHERE idx = ?`, []any{make([]byte, 16), leaf100},
			fmt.Sprintf("audit_hash index %d holds 16 bytes, not a 32-byte hash", leaf100)},
		{"short hash of a level not kept", tree300, `UPDATE audit_hash SET hash = ? WHERE idx = ?`, []any{make([]byte, 16), level1},
			fmt.Sprintf("audit_hash index %d holds 16 bytes", level1)},
		{"leaf hash missing", tree300, `DELETE FROM audit_hash WHERE idx = ?`, []any{leaf100},
			fmt.Sprintf("audit_hash index %d holds hash 101 of tree level 0, but index %d (hash 100 of that level) is missing", tlog.StoredHashIndex(0, 101), leaf100)},
		{"level-8 hash missing", tree300, `DELETE FROM audit_hash WHERE idx = ?`, []any{level8},
			fmt.Sprintf("audit_hash lacks index %d (hash 0 of tree level 8)", level8)},
		{"last leaf hash missing", tree256, `DELETE FROM audit_hash WHERE idx = ?`, []any{lastLeaf},
			fmt.Sprintf("audit_hash holds index %d (hash 0 of tree level 8), which a tree of its 255 leaf hashes does not have", level8)},
	} {
		t.Run(c.name, func(t *testing.T) {
			onOldDatabases(t, func(t *testing.T, d *db.DB) {
				fillHashes(t, d, c.tree)
				if _, err := d.Exec(ctx, c.change, c.args...); err != nil {
					t.Fatal(err)
				}
				before := readHashes(t, d)
				err := d.Migrate(ctx)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Migrate: %v, want an error with %q", err, c.want)
				}
				if v, err := d.SchemaVersion(ctx); err != nil || v != 34 {
					t.Errorf("schema version %d (%v) after the failure, want 34", v, err)
				}
				if got := readHashes(t, d); !slices.EqualFunc(got, before, func(a, b hashRow) bool { return a.idx == b.idx && bytes.Equal(a.hash, b.hash) }) {
					t.Errorf("audit_hash holds %d rows after the failure, unlike the %d before", len(got), len(before))
				}
				if n := tileCount(t, d); n != 0 {
					t.Errorf("the failed migration left %d rows in audit_tile", n)
				}
			})
		})
	}
}

// onOldDatabases runs fn on a database of each dialect migrated to
// version 33, the last before audit_tile.
func onOldDatabases(t *testing.T, fn func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			u := "sqlite:" + filepath.Join(t.TempDir(), "old.db")
			if dialect == "postgres" {
				u = dbtest.PostgresURL(t)
			}
			d, err := db.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if err := d.MigrateTo(ctx, 33); err != nil {
				t.Fatal(err)
			}
			fn(t, d)
		})
	}
}

// synthTree is the tlog tree of size leaves of synthetic entries, with
// every stored hash, by stored hash index.
type synthTree struct {
	size   int64
	hashes []tlog.Hash
	root   tlog.Hash
}

func newSynthTree(t *testing.T, size int64) synthTree {
	t.Helper()
	tree := synthTree{size: size}
	for i := range size {
		hs, err := tlog.StoredHashes(i, fmt.Appendf(nil, "synthetic audit entry %d", i), tree)
		if err != nil {
			t.Fatal(err)
		}
		tree.hashes = append(tree.hashes, hs...)
	}
	if got, want := int64(len(tree.hashes)), tlog.StoredHashCount(size); got != want {
		t.Fatalf("%d stored hashes for %d leaves, want %d", got, size, want)
	}
	root, err := tlog.TreeHash(size, tree)
	if err != nil {
		t.Fatal(err)
	}
	tree.root = root
	return tree
}

// ReadHashes reads the tree's stored hashes (tlog.HashReader).
func (s synthTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(s.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = s.hashes[x]
	}
	return out, nil
}

// fillHashes writes the tree's stored hashes into audit_hash.
func fillHashes(t *testing.T, d *db.DB, tree synthTree) {
	t.Helper()
	rows := make([][]any, len(tree.hashes))
	for i := range tree.hashes {
		rows[i] = []any{int64(i), tree.hashes[i][:]}
	}
	err := d.TransactBulk(context.Background(), func(tx *db.Tx) error {
		return db.InsertMany(context.Background(), tx, "audit_hash", []string{"idx", "hash"}, rows)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkTiles checks that audit_hash is gone and that audit_tile holds
// exactly the tree's tiles.
func checkTiles(t *testing.T, d *db.DB, tree synthTree) {
	t.Helper()
	ctx := context.Background()
	if tableExists(t, d, "audit_hash") {
		t.Error("audit_hash is still there")
	}
	if v, err := d.SchemaVersion(ctx); err != nil || v != 35 {
		t.Errorf("schema version %d (%v), want 35", v, err)
	}
	rows, err := d.Query(ctx, `SELECT level, idx, hashes FROM audit_tile ORDER BY level, idx`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type tile struct {
		t    tlog.Tile
		data []byte
	}
	var got []tile
	for rows.Next() {
		var x tile
		if err := rows.Scan(&x.t.L, &x.t.N, &x.data); err != nil {
			t.Fatal(err)
		}
		x.t.H, x.t.W = 8, len(x.data)/tlog.HashSize
		got = append(got, x)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := tlog.NewTiles(8, 0, tree.size)
	if len(got) != len(want) {
		var paths []string
		for _, x := range got {
			paths = append(paths, x.t.Path())
		}
		t.Fatalf("audit_tile holds %d tiles %v, want %d: %v", len(got), paths, len(want), want)
	}
	byCoord := map[[2]int64][]byte{}
	for i, w := range want {
		g := got[i]
		if g.t != w || len(g.data) != w.W*tlog.HashSize {
			t.Fatalf("tile %d is %s of %d bytes, want %s", i, g.t.Path(), len(g.data), w.Path())
		}
		data, err := tlog.ReadTileData(w, tree)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(g.data, data) {
			t.Errorf("tile %s holds other hashes than the tree's", w.Path())
		}
		byCoord[[2]int64{int64(w.L), w.N}] = g.data
	}
	fromTiles := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			tl := tlog.TileForIndex(8, x)
			data, ok := byCoord[[2]int64{int64(tl.L), tl.N}]
			if !ok {
				return nil, fmt.Errorf("no tile %s for stored hash %d", tl.Path(), x)
			}
			tl.W = len(data) / tlog.HashSize
			h, err := tlog.HashFromTile(tl, data, x)
			if err != nil {
				return nil, err
			}
			out[i] = h
		}
		return out, nil
	})
	root, err := tlog.TreeHash(tree.size, fromTiles)
	if err != nil {
		t.Fatal(err)
	}
	if root != tree.root {
		t.Errorf("the tiles' tree hash is %v, want %v", root, tree.root)
	}
}

// hashRow is a row of audit_hash.
type hashRow struct {
	idx  int64
	hash []byte
}

// readHashes returns the rows of audit_hash in index order.
func readHashes(t *testing.T, d *db.DB) []hashRow {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT idx, hash FROM audit_hash ORDER BY idx`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []hashRow
	for rows.Next() {
		var r hashRow
		if err := rows.Scan(&r.idx, &r.hash); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// sameRows reports whether rows are the tree's stored hashes, index by
// index.
func sameRows(rows []hashRow, tree synthTree) bool {
	if len(rows) != len(tree.hashes) {
		return false
	}
	for i, r := range rows {
		if r.idx != int64(i) || !bytes.Equal(r.hash, tree.hashes[i][:]) {
			return false
		}
	}
	return true
}

// tileCount returns how many rows audit_tile holds.
func tileCount(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var n int64
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_tile`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// tableExists reports whether the database has a table of that name (in
// its schema, on PostgreSQL).
func tableExists(t *testing.T, d *db.DB, name string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if d.Dialect() == db.Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?`
	}
	var n int64
	if err := d.QueryRow(context.Background(), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/bits"
	"strings"

	"github.com/pressly/goose/v3"
	"golang.org/x/mod/sumdb/tlog"
)

// Migration 35 moves the audit log's Merkle tree from audit_hash (one row
// per tlog stored hash) to audit_tile (C2SP tlog-tiles of height 8; the
// table is made by migration 34). It is a Go migration: turning stored
// hashes into tiles is not SQL.

// tileMigrationVersion is the goose version of the migration.
const tileMigrationVersion = 35

// tileMigrationID stands for the migration's code in MigrationsDigest,
// which covers only the embedded files: change it whenever tilesFromHashes
// or hashesFromTiles changes what it writes, so that databases migrated by
// the old code (the tests' templates) are not taken for new ones.
const tileMigrationID = "go-migration 00035 audit_hash-to-audit_tile v1"

// tileHeight is the height of a tile: tile level L holds the tree's
// hashes at tree level tileHeight*L, tileWidth of them in a full tile.
const (
	tileHeight = 8
	tileWidth  = 1 << tileHeight
)

// hashBatch is how many audit_hash rows the migration reads, or writes, per
// statement: enough to make round trips few, few enough to keep memory
// small however long the log.
const hashBatch = 4096

// tileMigration returns migration 35 for a database of dialect d: goose
// hands a Go migration a bare *sql.Tx, whose placeholders are the
// dialect's own.
func tileMigration(d Dialect) *goose.Migration {
	return goose.NewGoMigration(tileMigrationVersion,
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			return tilesFromHashes(ctx, tx, d)
		}},
		&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
			return hashesFromTiles(ctx, tx, d)
		}})
}

// storedHash is one row of audit_hash.
type storedHash struct {
	idx  int64
	hash []byte
}

// tilesFromHashes is the migration's Up: it reads audit_hash in index
// order, a batch at a time, keeps the hashes at tree levels that are
// multiples of tileHeight, writes them into audit_tile a tile at a time
// (each full tile as soon as it is, the partial ones at the end), and
// drops audit_hash. It fails, writing nothing, when a hash is not 32 bytes
// or a hash a tile needs is missing: a wrong tile would be a wrong tree.
func tilesFromHashes(ctx context.Context, tx *sql.Tx, d Dialect) error {
	b := &tileBuilder{tx: tx, insert: Rebind(d, `INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?)`)}
	// Each batch is read whole before any tile is written: PostgreSQL
	// cannot run a statement on a connection still sending a result.
	first := Rebind(d, `SELECT idx, hash FROM audit_hash ORDER BY idx LIMIT ?`)
	next := Rebind(d, `SELECT idx, hash FROM audit_hash WHERE idx > ? ORDER BY idx LIMIT ?`)
	batch, err := readHashes(ctx, tx, first, hashBatch)
	for {
		if err != nil {
			return err
		}
		for _, h := range batch {
			if err := b.add(ctx, h.idx, h.hash); err != nil {
				return err
			}
		}
		if len(batch) < hashBatch {
			break
		}
		batch, err = readHashes(ctx, tx, next, batch[len(batch)-1].idx, hashBatch)
	}
	if err := b.finish(ctx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE audit_hash`); err != nil {
		return fmt.Errorf("drop audit_hash: %w", err)
	}
	return nil
}

// readHashes runs query, which selects rows of audit_hash, and returns
// them.
func readHashes(ctx context.Context, tx *sql.Tx, query string, args ...any) ([]storedHash, error) {
	rows, err := tx.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit_hash: %w", err)
	}
	defer rows.Close()
	var out []storedHash
	for rows.Next() {
		var h storedHash
		if err := rows.Scan(&h.idx, &h.hash); err != nil {
			return nil, fmt.Errorf("read audit_hash: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit_hash: %w", err)
	}
	return out, nil
}

// tileBuilder gathers stored hashes, in index order, into tiles and
// writes each tile once it is complete.
type tileBuilder struct {
	tx     *sql.Tx
	insert string     // the INSERT of one tile, in the dialect's placeholders
	levels []tileFill // by tile level
}

// tileFill is the tile being filled at one tile level.
type tileFill struct {
	next int64  // the position, at the level's tree level, of the next hash it takes
	data []byte // the hashes of tile next/tileWidth gathered so far
}

// add takes the stored hash at index idx.
func (b *tileBuilder) add(ctx context.Context, idx int64, hash []byte) error {
	if idx < 0 {
		return fmt.Errorf("audit_hash index %d: a stored hash index is never negative", idx)
	}
	if len(hash) != tlog.HashSize {
		return fmt.Errorf("audit_hash index %d holds %d bytes, not a %d-byte hash", idx, len(hash), tlog.HashSize)
	}
	level, n := tlog.SplitStoredHashIndex(idx)
	if level%tileHeight != 0 {
		return nil // computed from the tile below when needed
	}
	l := level / tileHeight
	for len(b.levels) <= l {
		b.levels = append(b.levels, tileFill{})
	}
	f := &b.levels[l]
	if n != f.next {
		return fmt.Errorf("audit_hash index %d holds hash %d of tree level %d, but index %d (hash %d of that level) is missing: its tile cannot be made",
			idx, n, level, tlog.StoredHashIndex(level, f.next), f.next)
	}
	if f.data == nil {
		f.data = make([]byte, 0, tileWidth*tlog.HashSize)
	}
	f.data = append(f.data, hash...)
	f.next++
	if f.next%tileWidth == 0 {
		return b.write(ctx, l)
	}
	return nil
}

// write writes the tile being filled at tile level l and starts the next.
func (b *tileBuilder) write(ctx context.Context, l int) error {
	f := &b.levels[l]
	w := int64(len(f.data) / tlog.HashSize)
	n := (f.next - w) / tileWidth
	if _, err := b.tx.ExecContext(ctx, b.insert, l, n, f.data); err != nil {
		return fmt.Errorf("write audit tile %d of level %d: %w", n, l, err)
	}
	f.data = nil
	return nil
}

// finish checks that every tile level holds as many hashes as the leaves
// make (tree size >> (tileHeight*level)) and writes the partial tiles.
func (b *tileBuilder) finish(ctx context.Context) error {
	var size int64
	if len(b.levels) > 0 {
		size = b.levels[0].next
	}
	for l := 1; l < len(b.levels) || size>>(tileHeight*l) > 0; l++ {
		want := size >> (tileHeight * l)
		var have int64
		if l < len(b.levels) {
			have = b.levels[l].next
		}
		level := tileHeight * l
		if have < want {
			return fmt.Errorf("audit_hash lacks index %d (hash %d of tree level %d), which a tree of its %d leaf hashes has",
				tlog.StoredHashIndex(level, have), have, level, size)
		}
		if have > want {
			return fmt.Errorf("audit_hash holds index %d (hash %d of tree level %d), which a tree of its %d leaf hashes does not have: leaf hashes are missing",
				tlog.StoredHashIndex(level, want), want, level, size)
		}
	}
	for l := range b.levels {
		if len(b.levels[l].data) > 0 {
			if err := b.write(ctx, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// auditHashTable is audit_hash as migration 2 made it, by dialect.
var auditHashTable = map[Dialect]string{
	SQLite: `CREATE TABLE audit_hash (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
)`,
	Postgres: `CREATE TABLE audit_hash (
    idx  BIGINT PRIMARY KEY,
    hash BYTEA NOT NULL
)`,
}

// hashesFromTiles is the migration's Down: it makes audit_hash again,
// fills it with every stored hash of the tree the tiles hold (leaf by
// leaf: the hashes stored with leaf i are those of the subtrees it
// completes, each computed from its tile), and empties audit_tile, as
// migration 34 left it.
func hashesFromTiles(ctx context.Context, tx *sql.Tx, d Dialect) error {
	if _, err := tx.ExecContext(ctx, auditHashTable[d]); err != nil {
		return fmt.Errorf("create audit_hash: %w", err)
	}
	var bytes int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(LENGTH(hashes)), 0) FROM audit_tile WHERE level = 0`).Scan(&bytes); err != nil {
		return fmt.Errorf("read the size of the audit tree: %w", err)
	}
	if bytes%tlog.HashSize != 0 {
		return fmt.Errorf("the level-0 audit tiles hold %d bytes, not a whole number of hashes", bytes)
	}
	size := bytes / tlog.HashSize

	r := tileReader{tx: tx, query: Rebind(d, `SELECT hashes FROM audit_tile WHERE level = ? AND idx = ?`)}
	w := hashWriter{tx: tx, d: d}
	var base int64 // tlog.StoredHashIndex(0, i)
	for i := range size {
		// Leaf i completes one subtree per trailing one bit of i.
		count := 1 + bits.TrailingZeros64(uint64(i+1))
		for k := range count {
			idx := base + int64(k)
			h, err := r.hash(ctx, idx)
			if err != nil {
				return err
			}
			if err := w.add(ctx, idx, h); err != nil {
				return err
			}
		}
		base += int64(count)
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM audit_tile`); err != nil {
		return fmt.Errorf("empty audit_tile: %w", err)
	}
	return nil
}

// tileReader computes stored hashes from audit_tile, keeping the tile it
// read last at each tile level.
type tileReader struct {
	tx    *sql.Tx
	query string // selects one tile's hashes, in the dialect's placeholders
	last  map[int]storedTile
}

// storedTile is a tile of audit_tile and its hashes.
type storedTile struct {
	tile tlog.Tile
	data []byte
}

// hash returns the stored hash at index idx.
func (r *tileReader) hash(ctx context.Context, idx int64) (tlog.Hash, error) {
	want := tlog.TileForIndex(tileHeight, idx)
	t, ok := r.last[want.L]
	if !ok || t.tile.N != want.N {
		var data []byte
		err := r.tx.QueryRowContext(ctx, r.query, want.L, want.N).Scan(&data)
		if errors.Is(err, sql.ErrNoRows) {
			return tlog.Hash{}, fmt.Errorf("audit_tile lacks tile %d of level %d, which stored hash %d needs", want.N, want.L, idx)
		}
		if err != nil {
			return tlog.Hash{}, fmt.Errorf("read audit tile %d of level %d: %w", want.N, want.L, err)
		}
		if len(data)%tlog.HashSize != 0 || len(data) == 0 || len(data) > tileWidth*tlog.HashSize {
			return tlog.Hash{}, fmt.Errorf("audit tile %d of level %d holds %d bytes, not 1 to %d hashes", want.N, want.L, len(data), tileWidth)
		}
		t = storedTile{tile: tlog.Tile{H: tileHeight, L: want.L, N: want.N, W: len(data) / tlog.HashSize}, data: data}
		if r.last == nil {
			r.last = map[int]storedTile{}
		}
		r.last[want.L] = t
	}
	h, err := tlog.HashFromTile(t.tile, t.data, idx)
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("stored hash %d from audit tile %d of level %d: %w", idx, want.N, want.L, err)
	}
	return h, nil
}

// hashWriter inserts rows of audit_hash, hashBatch to a statement.
type hashWriter struct {
	tx   *sql.Tx
	d    Dialect
	full string // the INSERT of hashBatch rows, once made
	args []any
}

// add inserts the row (idx, h), or keeps it for the next statement.
func (w *hashWriter) add(ctx context.Context, idx int64, h tlog.Hash) error {
	w.args = append(w.args, idx, h[:])
	if len(w.args) < 2*hashBatch {
		return nil
	}
	if w.full == "" {
		w.full = hashInsert(w.d, hashBatch)
	}
	return w.exec(ctx, w.full)
}

// flush inserts the rows kept.
func (w *hashWriter) flush(ctx context.Context) error {
	if len(w.args) == 0 {
		return nil
	}
	return w.exec(ctx, hashInsert(w.d, len(w.args)/2))
}

func (w *hashWriter) exec(ctx context.Context, query string) error {
	if _, err := w.tx.ExecContext(ctx, query, w.args...); err != nil {
		return fmt.Errorf("write audit_hash: %w", err)
	}
	w.args = w.args[:0]
	return nil
}

// hashInsert returns an INSERT of n rows into audit_hash in d's
// placeholders.
func hashInsert(d Dialect, n int) string {
	return Rebind(d, `INSERT INTO audit_hash (idx, hash) VALUES `+strings.TrimSuffix(strings.Repeat("(?, ?),", n), ","))
}

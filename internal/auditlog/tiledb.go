package auditlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// The tree's hashes are stored as C2SP tlog-tiles (audit_tile): tile
// (level L, idx N) holds the tree's hashes at tree level 8L, positions
// N*256 up to N*256+W-1, as W*32 bytes (1 <= W <= 256). Only the hashes at
// tree levels that are multiples of 8 are stored; the others are computed
// from the tile below them (tlog.HashFromTile). The rightmost tile of each
// level is partial and grows with the log: each batch of entries appends
// its new hashes to it (tileAppend).

// tileHeight is the height of a stored tile: 8, 256 hashes (C2SP).
const tileHeight = 8

// tileWidth is the most hashes a tile holds.
const tileWidth = 1 << tileHeight

// StoredHashes reads the tree's stored hashes (tlog's storage indexes) from
// the tiles in q, each tile once per reader: a reader is meant for one
// question (a proof, a root) and must not outlive a write to the log.
func StoredHashes(ctx context.Context, q db.Querier) tlog.HashReader {
	tiles := map[[2]int64][]byte{}
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			if idx < 0 {
				return nil, fmt.Errorf("tree hash %d: no such index", idx)
			}
			t := tlog.TileForIndex(tileHeight, idx)
			key := [2]int64{int64(t.L), t.N}
			data, ok := tiles[key]
			if !ok {
				err := q.QueryRow(ctx, `SELECT hashes FROM audit_tile WHERE level = ? AND idx = ?`, t.L, t.N).Scan(&data)
				if err != nil && !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("read the tree's tile %d/%d: %w", t.L, t.N, err)
				}
				tiles[key] = data
			}
			w := len(data) / tlog.HashSize
			if len(data)%tlog.HashSize != 0 || w > tileWidth {
				return nil, fmt.Errorf("the tree's tile %d/%d is damaged: %d bytes", t.L, t.N, len(data))
			}
			if w < t.W {
				return nil, fmt.Errorf("tree hash %d is not stored (tile %d/%d holds %d hashes, it needs %d)", idx, t.L, t.N, w, t.W)
			}
			t.W = w
			h, err := tlog.HashFromTile(t, data, idx)
			if err != nil {
				return nil, fmt.Errorf("tree hash %d: %w", idx, err)
			}
			out[i] = h
		}
		return out, nil
	})
}

// tileAppend is what a batch of entries adds to one stored tile: its
// hashes from position offset on.
type tileAppend struct {
	level  int
	n      int64
	offset int    // how many hashes the tile holds before
	data   []byte // the new hashes, 32 bytes each
}

// tileAppends groups a batch's stored hashes (tlog storage indexes, in
// ascending order, as StoredHashes makes them entry after entry) into the
// tiles they extend; hashes at tree levels not a multiple of tileHeight
// are not stored.
func tileAppends(idx []int64, hashes [][]byte) []tileAppend {
	var out []tileAppend
	last := map[[2]int64]int{} // tile → its index in out
	for i, x := range idx {
		level, pos := tlog.SplitStoredHashIndex(x)
		if level%tileHeight != 0 {
			continue
		}
		key := [2]int64{int64(level / tileHeight), pos / tileWidth}
		j, ok := last[key]
		if !ok {
			j = len(out)
			last[key] = j
			out = append(out, tileAppend{level: level / tileHeight, n: pos / tileWidth, offset: int(pos % tileWidth)})
		}
		out[j].data = append(out[j].data, hashes[i]...)
	}
	return out
}

// Appending to a tile: a new tile is inserted, an existing one gets the
// hashes after its own, if it holds exactly the hashes before them (the
// second argument, in bytes); otherwise the update fails on the column's
// NOT NULL: the batch does not continue the tree as stored.
const (
	sqliteAppendTile = `INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?)
ON CONFLICT (level, idx) DO UPDATE SET hashes = CASE WHEN length(audit_tile.hashes) = ? THEN CAST(audit_tile.hashes || excluded.hashes AS BLOB) END`
	pgAppendTile = `INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?)
ON CONFLICT (level, idx) DO UPDATE SET hashes = CASE WHEN length(audit_tile.hashes) = ? THEN audit_tile.hashes || excluded.hashes END`
)

// statement returns the statement that stores a on dialect d.
func (a tileAppend) statement(d db.Dialect) db.Statement {
	q := sqliteAppendTile
	if d == db.Postgres {
		q = pgAppendTile
	}
	return db.Statement{Query: q, Args: []any{a.level, a.n, a.data, a.offset * tlog.HashSize}}
}

// storeTiles appends a batch's stored hashes to the tiles in tx.
func storeTiles(ctx context.Context, tx *db.Tx, idx []int64, hashes [][]byte) error {
	for _, a := range tileAppends(idx, hashes) {
		st := a.statement(tx.Dialect())
		if _, err := tx.Exec(ctx, st.Query, st.Args...); err != nil {
			return fmt.Errorf("store the tree's tile %d/%d (%d hashes from %d): %w", a.level, a.n, len(a.data)/tlog.HashSize, a.offset, err)
		}
	}
	return nil
}

// leafTiles checks the leaves' stored hashes, in order, against the tiles
// of level 0 as they stream (Verify).
type leafTiles struct {
	c    *cursor[storedTile]
	cur  storedTile
	have bool
}

// check compares leaf n's stored hash with want.
func (lt *leafTiles) check(n int64, want tlog.Hash) error {
	tile := n / tileWidth
	if !lt.have || lt.cur.n != tile {
		t, ok := lt.c.next()
		if !ok {
			if err := lt.c.Err(); err != nil {
				return err
			}
			return bad(n, "stored tree hash %d missing (no tile 0/%d)", tlog.StoredHashIndex(0, n), tile)
		}
		if t.n != tile {
			return bad(n, "stored tree hashes out of place: tile 0/%d where tile 0/%d should be", t.n, tile)
		}
		if len(t.data)%tlog.HashSize != 0 || len(t.data) > tileWidth*tlog.HashSize {
			return bad(n, "stored tree hashes damaged: tile 0/%d holds %d bytes", t.n, len(t.data))
		}
		lt.cur, lt.have = t, true
	}
	off := int(n%tileWidth) * tlog.HashSize
	if off+tlog.HashSize > len(lt.cur.data) {
		return bad(n, "stored tree hash %d missing (tile 0/%d holds %d)", tlog.StoredHashIndex(0, n), tile, len(lt.cur.data)/tlog.HashSize)
	}
	if tlog.Hash(lt.cur.data[off:off+tlog.HashSize]) != want {
		return bad(n, "stored tree hash %d does not match the entries", tlog.StoredHashIndex(0, n))
	}
	return nil
}

// end checks that no leaf hash is stored beyond the size entries.
func (lt *leafTiles) end(size int64) error {
	if lt.have && lt.cur.n*tileWidth+int64(len(lt.cur.data)/tlog.HashSize) > size {
		return bad(-1, "stored tree hashes beyond the last entry (tile 0/%d)", lt.cur.n)
	}
	if t, ok := lt.c.peek(); ok {
		return bad(-1, "stored tree hashes beyond the last entry (tile 0/%d)", t.n)
	}
	return lt.c.Err()
}

// upperTiles holds the tiles above the leaves (level 1 and up), read whole
// (Verify).
type upperTiles map[[2]int64][]byte

// readUpperTiles reads every tile above level 0.
func readUpperTiles(ctx context.Context, q db.Querier) (upperTiles, error) {
	rows, err := q.Query(ctx, `SELECT level, idx, hashes FROM audit_tile WHERE level <> 0`)
	if err != nil {
		return nil, fmt.Errorf("read the tree's tiles: %w", err)
	}
	defer rows.Close()
	out := upperTiles{}
	for rows.Next() {
		var level, n int64
		var data []byte
		if err := rows.Scan(&level, &n, &data); err != nil {
			return nil, fmt.Errorf("read the tree's tiles: %w", err)
		}
		out[[2]int64{level, n}] = data
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the tree's tiles: %w", err)
	}
	return out, nil
}

// check compares the stored hash at tree level level (a multiple of
// tileHeight) that leaf n completes with want.
func (u upperTiles) check(n int64, level int, want tlog.Hash) error {
	pos := n >> level
	key := [2]int64{int64(level / tileHeight), pos / tileWidth}
	data := u[key]
	off := int(pos%tileWidth) * tlog.HashSize
	if off+tlog.HashSize > len(data) || len(data)%tlog.HashSize != 0 || len(data) > tileWidth*tlog.HashSize {
		return bad(n, "stored tree hash %d missing or damaged (tile %d/%d holds %d bytes)", tlog.StoredHashIndex(level, pos), key[0], key[1], len(data))
	}
	if tlog.Hash(data[off:off+tlog.HashSize]) != want {
		return bad(n, "stored tree hash %d does not match the entries", tlog.StoredHashIndex(level, pos))
	}
	return nil
}

// end checks that every tile above level 0 holds exactly the hashes a tree
// of size entries has: none beyond them, no tile of a level or place the
// tree does not have.
func (u upperTiles) end(size int64) error {
	for key, data := range u {
		level, n := key[0], key[1]
		if level < 1 || level*tileHeight >= 63 || n < 0 {
			return bad(-1, "stored tree hashes out of place: tile %d/%d", level, n)
		}
		width := min(max((size>>(level*tileHeight))-n*tileWidth, 0), tileWidth)
		if int64(len(data)) != width*tlog.HashSize {
			return bad(-1, "stored tree hashes beyond the last entry (tile %d/%d holds %d bytes, a log of %d entries %d)", level, n, len(data), size, width*tlog.HashSize)
		}
	}
	return nil
}

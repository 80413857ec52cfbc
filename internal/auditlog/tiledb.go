package auditlog

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

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

// tileAppends groups a batch's stored hashes (tlog storage indexes, as
// tlog.StoredHashes makes them entry after entry) into the tiles they
// extend; hashes at tree levels not a multiple of tileHeight are not
// stored. Within each level the positions must follow one another: a batch
// that skips or repeats one would store a shifted tile.
func tileAppends(idx []int64, hashes [][]byte) ([]tileAppend, error) {
	var out []tileAppend
	last := map[int]int{} // tile level → its latest tile's index in out
	for i, x := range idx {
		level, pos := tlog.SplitStoredHashIndex(x)
		if level%tileHeight != 0 {
			continue
		}
		if len(hashes[i]) != tlog.HashSize {
			return nil, fmt.Errorf("tree hash %d is %d bytes, not %d", x, len(hashes[i]), tlog.HashSize)
		}
		l := level / tileHeight
		j, ok := last[l]
		if ok {
			a := &out[j]
			next := a.n*tileWidth + int64(a.offset+len(a.data)/tlog.HashSize)
			if pos != next {
				return nil, fmt.Errorf("tree hash %d (position %d of tree level %d) does not follow position %d in the batch", x, pos, level, next-1)
			}
			if pos/tileWidth == a.n {
				a.data = append(a.data, hashes[i]...)
				continue
			}
		}
		last[l] = len(out)
		out = append(out, tileAppend{level: l, n: pos / tileWidth, offset: int(pos % tileWidth), data: slices.Clone(hashes[i])})
	}
	return out, nil
}

// A tile's first hashes make a new row (one already there fails the
// primary key); later ones are appended to the row, which must hold
// exactly the hashes before them.
const (
	insertTile       = `INSERT INTO audit_tile (level, idx, hashes) VALUES (?, ?, ?)`
	sqliteAppendTile = `UPDATE audit_tile SET hashes = CAST(hashes || ? AS BLOB) WHERE level = ? AND idx = ? AND length(hashes) = ?`
	pgAppendTile     = `UPDATE audit_tile SET hashes = hashes || ? WHERE level = ? AND idx = ? AND length(hashes) = ?`
	// pgPipelinedAppendTile is pgAppendTile failing (division by zero)
	// when it changes no row: a PostgreSQL pipeline cannot look at how many
	// rows a statement changed.
	pgPipelinedAppendTile = `WITH appended AS (` + pgAppendTile + ` RETURNING 1) SELECT 1 / COUNT(*) FROM appended`
)

// pgStatements returns the statements that store a in a PostgreSQL
// pipeline.
func (a tileAppend) pgStatements() []db.Statement {
	if a.offset == 0 {
		return []db.Statement{{Query: insertTile, Args: []any{a.level, a.n, a.data}}}
	}
	return []db.Statement{{Query: pgPipelinedAppendTile, Args: []any{a.data, a.level, a.n, a.offset * tlog.HashSize}}}
}

// storeTiles appends a batch's stored hashes to the tiles in tx.
func storeTiles(ctx context.Context, tx *db.Tx, idx []int64, hashes [][]byte) error {
	appends, err := tileAppends(idx, hashes)
	if err != nil {
		return fmt.Errorf("store the tree's hashes: %w", err)
	}
	for _, a := range appends {
		if a.offset == 0 {
			if _, err := tx.Exec(ctx, insertTile, a.level, a.n, a.data); err != nil {
				return fmt.Errorf("store the tree's tile %d/%d: %w%s", a.level, a.n, err, tileMismatch(ctx, tx, a))
			}
			continue
		}
		q := sqliteAppendTile
		if tx.Dialect() == db.Postgres {
			q = pgAppendTile
		}
		res, err := tx.Exec(ctx, q, a.data, a.level, a.n, a.offset*tlog.HashSize)
		if err != nil {
			return fmt.Errorf("store the tree's tile %d/%d: %w", a.level, a.n, err)
		}
		if changed, err := res.RowsAffected(); err != nil || changed != 1 {
			return fmt.Errorf("store the tree's tile %d/%d (%d rows changed, %v)%s", a.level, a.n, changed, err, tileMismatch(ctx, tx, a))
		}
	}
	return nil
}

// tileMismatch says, for an append to a that failed, what the stored tile
// holds instead, and what to do.
func tileMismatch(ctx context.Context, q db.Querier, a tileAppend) string {
	var held int64
	err := q.QueryRow(ctx, `SELECT length(hashes) FROM audit_tile WHERE level = ? AND idx = ?`, a.level, a.n).Scan(&held)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Sprintf(": the tile is not stored, and this batch continues it from hash %d: the stored tree does not end where the log does; run jukinet audit verify", a.offset)
	case err != nil:
		return ""
	}
	return fmt.Sprintf(": the tile holds %d bytes (%d hashes), and this batch continues it from hash %d: the stored tree does not end where the log does; run jukinet audit verify",
		held, held/tlog.HashSize, a.offset)
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
// tree does not have, no empty tile.
func (u upperTiles) end(size int64) error {
	for key, data := range u {
		level, n := key[0], key[1]
		if level < 1 || level > 7 || n < 0 {
			return bad(-1, "stored tree hashes out of place: tile %d/%d", level, n)
		}
		count := size >> (level * tileHeight) // the tree's hashes at this tile level
		if n > count/tileWidth || len(data) == 0 {
			return bad(-1, "stored tree hashes beyond the last entry (tile %d/%d holds %d bytes, a log of %d entries has no such tile)", level, n, len(data), size)
		}
		if width := min(count-n*tileWidth, tileWidth); int64(len(data)) != width*tlog.HashSize {
			return bad(-1, "stored tree hashes beyond the last entry (tile %d/%d holds %d bytes, a log of %d entries %d)", level, n, len(data), size, width*tlog.HashSize)
		}
	}
	return nil
}

package auditlog

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// TileStore is the log as stored in the database (audit_entry, audit_tile,
// audit_checkpoint), read to serve it as C2SP tiles (package
// auditlog/tiles, whose Store it is).
type TileStore struct {
	DB *db.DB
}

// Checkpoint returns the latest signed checkpoint's size and note (nil
// when none is signed yet).
func (s TileStore) Checkpoint(ctx context.Context) (int64, []byte, error) {
	cp, err := LatestCheckpoint(ctx, s.DB)
	if err != nil || cp == nil {
		return 0, nil, err
	}
	return cp.Size, cp.Note, nil
}

// HashReader reads stored tree hashes from the tiles, each tile in one
// query.
func (s TileStore) HashReader(ctx context.Context) tlog.HashReader {
	return StoredHashes(ctx, s.DB)
}

// Entries returns the payloads of entries start to end-1, in order; a
// pruned entry's is nil. An entry missing from the range is an error.
func (s TileStore) Entries(ctx context.Context, start, end int64) ([][]byte, error) {
	rows, err := s.DB.Query(ctx, `SELECT seq, payload FROM audit_entry WHERE seq >= ? AND seq < ? ORDER BY seq`, start, end)
	if err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	defer rows.Close()
	out := make([][]byte, 0, end-start)
	for rows.Next() {
		var seq int64
		var payload []byte
		if err := rows.Scan(&seq, &payload); err != nil {
			return nil, fmt.Errorf("read audit entries: %w", err)
		}
		if want := start + int64(len(out)); seq != want {
			return nil, fmt.Errorf("read audit entries: entry %d is missing", want)
		}
		out = append(out, payload)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	if int64(len(out)) != end-start {
		return nil, fmt.Errorf("read audit entries: entry %d is missing", start+int64(len(out)))
	}
	return out, nil
}

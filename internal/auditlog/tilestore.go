package auditlog

import (
	"context"
	"fmt"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// TileStore is the log as stored in the database (audit_entry, audit_hash,
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

// hashBatch is the most hashes read in one query.
const hashBatch = 256

// HashReader reads stored tree hashes, up to hashBatch in one query (a
// tile's 256 hashes in one round trip).
func (s TileStore) HashReader(ctx context.Context) tlog.HashReader {
	return tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for lo := 0; lo < len(indexes); lo += hashBatch {
			part := indexes[lo:min(lo+hashBatch, len(indexes))]
			args := make([]any, len(part))
			for i, idx := range part {
				args[i] = idx
			}
			rows, err := s.DB.Query(ctx, `SELECT idx, hash FROM audit_hash WHERE idx IN (`+strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")+`)`, args...)
			if err != nil {
				return nil, fmt.Errorf("read tree hashes: %w", err)
			}
			got := make(map[int64][]byte, len(part))
			for rows.Next() {
				var idx int64
				var h []byte
				if err := rows.Scan(&idx, &h); err != nil {
					rows.Close()
					return nil, fmt.Errorf("read tree hashes: %w", err)
				}
				got[idx] = h
			}
			err = rows.Err()
			rows.Close()
			if err != nil {
				return nil, fmt.Errorf("read tree hashes: %w", err)
			}
			for i, idx := range part {
				h, ok := got[idx]
				if !ok || len(h) != tlog.HashSize {
					return nil, fmt.Errorf("read tree hash %d: missing", idx)
				}
				copy(out[lo+i][:], h)
			}
		}
		return out, nil
	})
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

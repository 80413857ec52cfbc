package tiles

import (
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// TileReader reads hash tiles by their C2SP paths through Fetch (an HTTP
// GET of <prefix>/<path>): a tlog.TileReader, so tlog.TileHashReader can
// check them against a signed checkpoint's tree.
type TileReader struct {
	Fetch func(path string) ([]byte, error)
}

// Height is the tiles' height (8).
func (r TileReader) Height() int { return Height }

// ReadTiles fetches each tile.
func (r TileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if t.H != Height || t.L < 0 {
			return nil, fmt.Errorf("tile %v: only hash tiles of height %d are served", t, Height)
		}
		data, err := r.Fetch(Path(t))
		if err != nil {
			return nil, fmt.Errorf("fetch %s: %w", Path(t), err)
		}
		out[i] = data
	}
	return out, nil
}

// SaveTiles keeps nothing: every read fetches again.
func (r TileReader) SaveTiles([]tlog.Tile, [][]byte) {}

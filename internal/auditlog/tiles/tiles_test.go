package tiles

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

func TestPaths(t *testing.T) {
	for _, tt := range []struct {
		tile tlog.Tile
		path string
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, "tile/0/000"},
		{tlog.Tile{H: 8, L: 0, N: 1234067, W: 256}, "tile/0/x001/x234/067"},
		{tlog.Tile{H: 8, L: 2, N: 1000, W: 17}, "tile/2/x001/000.p/17"},
		{tlog.Tile{H: 8, L: -1, N: 5, W: 256}, "tile/entries/005"},
		{tlog.Tile{H: 8, L: -1, N: 67, W: 1}, "tile/entries/067.p/1"},
		{tlog.Tile{H: 8, L: 63, N: 1<<63 - 1, W: 255}, "tile/63/x009/x223/x372/x036/x854/x775/807.p/255"},
	} {
		if got := Path(tt.tile); got != tt.path {
			t.Errorf("Path(%v) = %q, want %q", tt.tile, got, tt.path)
		}
		r, err := ParsePath(tt.path)
		if err != nil || r.Tile != tt.tile {
			t.Errorf("ParsePath(%q) = %v, %v; want %v", tt.path, r.Tile, err, tt.tile)
		}
	}
	for _, p := range []string{"", "checkpoint/", "tile", "tile/", "tile/0", "tile/0/", "tile/-1/000", "tile/+1/000", "tile/01/000",
		"tile/0/00", "tile/0/0000", "tile/0/x000/000", "tile/0/x001/x000", "tile/0/001/000", "tile/0/x1/000", "tile/0/000.p",
		"tile/0/000.p/", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/+5", "tile/0/000/.p/5", "tile/0/000.p/5/",
		"tile/entries", "tile/entry/000", "tile/0/x009/x223/x372/x036/x854/x775/808", "tile/0/x010/x000/x000/x000/x000/x000/x000/000"} {
		var te *Error
		if _, err := ParsePath(p); !errors.As(err, &te) || te.Status != http.StatusBadRequest || te.Japanese == "" {
			t.Errorf("ParsePath(%q): %v, want a 400", p, err)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, tt := range []struct {
		tile tlog.Tile
		size int64
		want bool
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, 256, true},
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, 255, false},
		{tlog.Tile{H: 8, L: 0, N: 0, W: 255}, 255, true},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 1}, 256, true},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 2}, 511, false},
		{tlog.Tile{H: 8, L: 2, N: 0, W: 1}, 70000, true},
		{tlog.Tile{H: 8, L: 1, N: 0, W: 17}, 70000, true}, // an older tree's partial tile
		{tlog.Tile{H: 8, L: 1, N: 1, W: 18}, 70000, false},
		{tlog.Tile{H: 8, L: 1, N: 1, W: 17}, 70000, true},
		{tlog.Tile{H: 8, L: -1, N: 273, W: 112}, 70000, true},
		{tlog.Tile{H: 8, L: -1, N: 273, W: 113}, 70000, false},
		{tlog.Tile{H: 8, L: 8, N: 0, W: 1}, 1<<63 - 1, false},
		{tlog.Tile{H: 8, L: 0, N: 1<<63 - 1, W: 256}, 1<<63 - 1, false},
	} {
		if got := within(tt.tile, tt.size); got != tt.want {
			t.Errorf("within(%v, %d) = %v", tt.tile, tt.size, got)
		}
	}
}

func TestBundles(t *testing.T) {
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte("x"), MaxEntry)}
	b, err := EncodeBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBundle(b)
	if err != nil || len(got) != 3 || string(got[0]) != "a" || len(got[1]) != 0 || len(got[2]) != MaxEntry {
		t.Fatalf("round trip: %d entries, %v", len(got), err)
	}
	if _, err := EncodeBundle([][]byte{make([]byte, MaxEntry+1)}); err == nil {
		t.Errorf("an entry over 65,535 bytes encoded")
	}
	for _, bad := range [][]byte{{0}, {0, 2, 'a'}} {
		if _, err := DecodeBundle(bad); err == nil {
			t.Errorf("DecodeBundle(%v): no error", bad)
		}
	}
}

// memStore is a log in memory, for Read.
type memStore struct {
	size    int64
	hashes  []tlog.Hash
	entries [][]byte
}

func newMemStore(n int) *memStore {
	s := &memStore{}
	for i := range n {
		e := []byte{byte(i), byte(i >> 8)}
		hs, err := tlog.StoredHashes(int64(i), e, tlog.HashReaderFunc(s.read))
		if err != nil {
			panic(err)
		}
		s.hashes = append(s.hashes, hs...)
		s.entries = append(s.entries, e)
	}
	s.size = int64(n)
	return s
}

func (s *memStore) read(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = s.hashes[x]
	}
	return out, nil
}
func (s *memStore) Checkpoint(context.Context) (int64, []byte, error) {
	if s.size == 0 {
		return 0, nil, nil
	}
	return s.size, []byte("test\n"), nil
}
func (s *memStore) HashReader(context.Context) tlog.HashReader { return tlog.HashReaderFunc(s.read) }
func (s *memStore) Entries(_ context.Context, start, end int64) ([][]byte, error) {
	return s.entries[start:end], nil
}

func TestRead(t *testing.T) {
	ctx := context.Background()
	s := newMemStore(600)
	s.entries[3] = nil                                     // pruned
	s.entries[590] = bytes.Repeat([]byte("x"), MaxEntry+1) // too large for a bundle (its hash is not checked here)
	for _, tt := range []struct {
		path   string
		status int
		cache  string
	}{
		{"checkpoint", 200, CacheNoStore},
		{"tile/0/000", 200, CacheImmutable},
		{"tile/0/002.p/88", 200, CacheNoStore},
		{"tile/0/002.p/87", 200, CacheNoStore}, // an older tree's partial tile
		{"tile/0/002.p/89", 404, ""},
		{"tile/1/000.p/2", 200, CacheNoStore},
		{"tile/entries/001", 200, CacheNoStore},
		{"tile/entries/002.p/78", 200, CacheNoStore},
		{"tile/entries/002.p/79", 500, ""},
		{"tile/entries/000", 410, ""},
		{"tile/entries/002", 404, ""},
	} {
		r, err := ParsePath(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		a, err := Read(ctx, s, r)
		var te *Error
		switch {
		case tt.status == 200 && (err != nil || a.CacheControl != tt.cache):
			t.Errorf("%s: %v %v", tt.path, a, err)
		case tt.status != 200 && (!errors.As(err, &te) || te.Status != tt.status):
			t.Errorf("%s: %v, want %d", tt.path, err, tt.status)
		}
	}
	// No checkpoint yet: nothing is served.
	if _, err := Read(ctx, &memStore{}, Resource{Kind: KindHashTile, Tile: tlog.Tile{H: 8, W: 1}}); err == nil {
		t.Errorf("tile served before any checkpoint")
	}
}

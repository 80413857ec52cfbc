// Package tiles serves the audit log as a tiled transparency log (C2SP
// tlog-tiles, https://c2sp.org/tlog-tiles): the signed checkpoint at
// <prefix>/checkpoint, the Merkle tree's hash tiles at
// <prefix>/tile/<L>/<N>[.p/<W>] and the entries in bundles at
// <prefix>/tile/entries/<N>[.p/<W>], each entry prefixed by its length
// (2 bytes, big-endian).
//
// It reads the log through Store — the latest signed checkpoint, the stored
// tree hashes and entries by range — so the same code serves the log from
// its SQL rows (auditlog.TileStore) or from another store. Who may read what
// is the caller's to decide (internal/api for staff, internal/federation for
// peers); this package parses paths, reads and answers.
package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"
)

// Height is the height of a tile (C2SP: 8 levels), and Width the most
// hashes (or entries) one holds: 256.
const (
	Height = 8
	Width  = 1 << Height
)

// ActionBundle is the action of the audit entry that records an entry
// bundle read (or refused): entries name residents, so each read is on
// record, whoever serves it.
const ActionBundle = "audit.bundle"

// MaxEntry is the largest entry a bundle can carry: its length prefix is
// two bytes.
const MaxEntry = 1<<16 - 1

// Store is the log the tiles are read from.
type Store interface {
	// Checkpoint returns the latest signed checkpoint (a C2SP signed note)
	// and the tree size it signs; a nil note when none is signed yet.
	Checkpoint(ctx context.Context) (size int64, note []byte, err error)
	// HashReader reads the tree's stored hashes (tlog's storage indexes).
	HashReader(ctx context.Context) tlog.HashReader
	// Entries returns the entries numbered start to end-1, in order; an
	// entry whose content was pruned is nil.
	Entries(ctx context.Context, start, end int64) ([][]byte, error)
}

// Kind is what a path names.
type Kind int

// The kinds of resource.
const (
	KindCheckpoint Kind = iota
	KindHashTile
	KindEntryBundle
)

// Resource is a parsed path: the checkpoint, a hash tile, or an entry
// bundle. Tile.H is Height and Tile.W the width, 1 to Width; an entry
// bundle has Tile.L -1 (as tlog numbers data tiles).
type Resource struct {
	Kind Kind
	Tile tlog.Tile
}

// Full reports whether r is a full tile or bundle (Width wide).
func (r Resource) Full() bool { return r.Kind != KindCheckpoint && r.Tile.W == Width }

// Error is a request the log cannot answer, with its HTTP status and why,
// in English and in Japanese.
type Error struct {
	Status   int
	Detail   string
	Japanese string
}

func (e *Error) Error() string { return e.Detail }

func badPath(detail string) *Error {
	return &Error{Status: http.StatusBadRequest, Detail: "not a tile path: " + detail,
		Japanese: "タイルのパスが正しくありません（tile/<L>/<N>[.p/<W>]、tile/entries/<N>[.p/<W>] または checkpoint）"}
}

// Path is the C2SP path of tile t (without the prefix): tile/<L>/<N> for
// a hash tile, tile/entries/<N> for an entry bundle (t.L -1), with .p/<W>
// when t is partial.
func Path(t tlog.Tile) string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.L < 0 {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(t.L))
	}
	b.WriteByte('/')
	b.WriteString(formatIndex(t.N))
	if t.W > 0 && t.W < Width {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.W))
	}
	return b.String()
}

// formatIndex writes n as zero-padded 3-digit elements, all but the last
// prefixed with x: 1234067 is x001/x234/067.
func formatIndex(n int64) string {
	parts := []string{fmt.Sprintf("%03d", n%1000)}
	for n /= 1000; n > 0; n /= 1000 {
		parts = append(parts, fmt.Sprintf("x%03d", n%1000))
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// ParsePath parses a path below the prefix: "checkpoint",
// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]", in exactly the
// spelling Path writes (no leading zeros, no empty element). An error is an
// *Error with status 400.
func ParsePath(p string) (Resource, error) {
	if p == "checkpoint" {
		return Resource{Kind: KindCheckpoint}, nil
	}
	rest, ok := strings.CutPrefix(p, "tile/")
	if !ok {
		return Resource{}, badPath(fmt.Sprintf("%.80q does not start with tile/", p))
	}
	elems := strings.Split(rest, "/")
	if len(elems) < 2 {
		return Resource{}, badPath(fmt.Sprintf("%.80q has no tile index", p))
	}
	r := Resource{Kind: KindHashTile, Tile: tlog.Tile{H: Height, W: Width}}
	if elems[0] == "entries" {
		r.Kind, r.Tile.L = KindEntryBundle, -1
	} else {
		l, err := strconv.Atoi(elems[0])
		if err != nil || l < 0 || l > 63 || elems[0] != strconv.Itoa(l) {
			return Resource{}, badPath(fmt.Sprintf("level %.20q: a number from 0 to 63 without leading zeros", elems[0]))
		}
		r.Tile.L = l
	}
	idx := elems[1:]
	// A partial tile ends in .p/<W>: the index's last element carries .p.
	if n := len(idx); n >= 2 && strings.HasSuffix(idx[n-2], ".p") {
		w, err := strconv.Atoi(idx[n-1])
		if err != nil || w < 1 || w >= Width || idx[n-1] != strconv.Itoa(w) {
			return Resource{}, badPath(fmt.Sprintf("width %.20q: a number from 1 to 255 without leading zeros", idx[n-1]))
		}
		r.Tile.W = w
		idx = idx[:n-1]
		idx[n-2] = strings.TrimSuffix(idx[n-2], ".p")
	}
	if len(idx) > 7 { // 7 elements hold every index below 10^21 > 2^63
		return Resource{}, badPath("index too long")
	}
	var n int64
	for i, e := range idx {
		digits := e
		if i < len(idx)-1 {
			var ok bool
			if digits, ok = strings.CutPrefix(e, "x"); !ok {
				return Resource{}, badPath(fmt.Sprintf("index element %.20q: all but the last begin with x", e))
			}
		}
		if len(digits) != 3 || strings.Trim(digits, "0123456789") != "" {
			return Resource{}, badPath(fmt.Sprintf("index element %.20q: three digits", e))
		}
		d, _ := strconv.Atoi(digits)
		if n > (1<<63-1-int64(d))/1000 {
			return Resource{}, badPath("index too large")
		}
		n = n*1000 + int64(d)
	}
	// One spelling per index: x000/123 is 123.
	if Path(tlog.Tile{H: Height, L: r.Tile.L, N: n, W: r.Tile.W}) != p {
		return Resource{}, badPath(fmt.Sprintf("%.80q is not written as C2SP writes it (leading x000 elements?)", p))
	}
	r.Tile.N = n
	return r, nil
}

// Answer is a resource read: its bytes, content type and caching.
type Answer struct {
	Body         []byte
	ContentType  string
	CacheControl string
	// Entries is how many entries an entry bundle carries (0 otherwise).
	Entries int
}

// Caching: a full tile never changes; a partial one, the checkpoint and an
// entry bundle (it names residents, and retention prunes it) are not kept.
const (
	CacheImmutable = "private, max-age=31536000, immutable"
	CacheNoStore   = "no-store"
)

// Content types (C2SP).
const (
	TypeTile       = "application/octet-stream"
	TypeCheckpoint = "text/plain; charset=utf-8"
)

// Read reads r from s, within the tree of the latest signed checkpoint: a
// tile or bundle beyond it is not served (404), so what is served is
// always what that checkpoint signs. A client error is an *Error.
func Read(ctx context.Context, s Store, r Resource) (*Answer, error) {
	size, note, err := s.Checkpoint(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the latest checkpoint: %w", err)
	}
	if note == nil {
		return nil, &Error{Status: http.StatusNotFound, Detail: "no signed checkpoint yet: the node signs one every minute while entries arrive",
			Japanese: "署名済みチェックポイントはまだありません"}
	}
	switch r.Kind {
	case KindCheckpoint:
		return &Answer{Body: note, ContentType: TypeCheckpoint, CacheControl: CacheNoStore}, nil
	case KindHashTile:
		if !within(r.Tile, size) {
			return nil, beyond(r, size)
		}
		data, err := tlog.ReadTileData(r.Tile, s.HashReader(ctx))
		if err != nil {
			return nil, fmt.Errorf("read tile %s: %w", Path(r.Tile), err)
		}
		return &Answer{Body: data, ContentType: TypeTile, CacheControl: cacheOf(r)}, nil
	case KindEntryBundle:
		if !within(r.Tile, size) {
			return nil, beyond(r, size)
		}
		start := r.Tile.N * Width
		entries, err := s.Entries(ctx, start, start+int64(r.Tile.W))
		if err != nil {
			return nil, fmt.Errorf("read entries %d to %d: %w", start, start+int64(r.Tile.W)-1, err)
		}
		if len(entries) != r.Tile.W {
			return nil, fmt.Errorf("read entries %d to %d: %d entries, want %d", start, start+int64(r.Tile.W)-1, len(entries), r.Tile.W)
		}
		if first, last := prunedRange(entries); first >= 0 {
			return nil, &Error{Status: http.StatusGone,
				Detail: fmt.Sprintf("entries %d to %d of this bundle were pruned (retention): their content is gone; their leaf hashes stay in %s, so the tree and later proofs still verify",
					start+int64(first), start+int64(last), Path(tlog.Tile{H: Height, L: 0, N: r.Tile.N, W: r.Tile.W})),
				Japanese: fmt.Sprintf("記録%d〜%dは保存期間を過ぎ、内容を削除済みです（ハッシュのみ保存）", start+int64(first), start+int64(last))}
		}
		body, err := EncodeBundle(entries)
		if err != nil {
			return nil, &Error{Status: http.StatusInternalServerError,
				Detail:   fmt.Sprintf("bundle %s cannot be served: %v; read its entries with /api/v1/audit/entries", Path(r.Tile), err),
				Japanese: "この記録束には65,535バイトを超える記録があるため、タイルとして提供できません"}
		}
		return &Answer{Body: body, ContentType: TypeTile, CacheControl: CacheNoStore, Entries: len(entries)}, nil
	}
	return nil, fmt.Errorf("unknown resource kind %d", r.Kind)
}

func cacheOf(r Resource) string {
	if r.Full() {
		return CacheImmutable
	}
	return CacheNoStore
}

// within reports whether every hash (or entry) of t is in the tree of
// size entries: the tile's last hash covers entries up to
// (N*256 + W) * 256^L.
func within(t tlog.Tile, size int64) bool {
	shift := uint(Height * t.L)
	if t.L < 0 {
		shift = 0
	}
	if shift >= 63 {
		return false
	}
	covered := size >> shift // whole hashes at this level
	return t.N <= (covered-int64(t.W))/Width && t.N*Width+int64(t.W) <= covered
}

func beyond(r Resource, size int64) *Error {
	return &Error{Status: http.StatusNotFound,
		Detail:   fmt.Sprintf("%s is beyond the tree of the latest checkpoint (size %d): wait for a checkpoint that covers it", Path(r.Tile), size),
		Japanese: fmt.Sprintf("このタイルは最新のチェックポイント（%d件）の範囲外です", size)}
}

// prunedRange returns the first and last pruned (nil) entry, or -1, -1.
func prunedRange(entries [][]byte) (first, last int) {
	first, last = -1, -1
	for i, e := range entries {
		if e == nil {
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	return first, last
}

// EncodeBundle writes entries as a C2SP entry bundle: each prefixed by its
// length, two bytes big-endian. An entry over MaxEntry bytes cannot be.
func EncodeBundle(entries [][]byte) ([]byte, error) {
	n := 0
	for _, e := range entries {
		n += 2 + len(e)
	}
	out := make([]byte, 0, n)
	for i, e := range entries {
		if len(e) > MaxEntry {
			return nil, fmt.Errorf("entry %d of the bundle is %d bytes: a C2SP bundle carries at most %d", i, len(e), MaxEntry)
		}
		out = binary.BigEndian.AppendUint16(out, uint16(len(e)))
		out = append(out, e...)
	}
	return out, nil
}

// DecodeBundle splits a C2SP entry bundle into its entries.
func DecodeBundle(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("entry bundle: a length cut short")
		}
		n := int(binary.BigEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, fmt.Errorf("entry bundle: entry %d is cut short", len(out))
		}
		out = append(out, b[2:2+n])
		b = b[2+n:]
	}
	return out, nil
}

// Write answers a: its content type and caching; an entry bundle is
// compressed with gzip when the client accepts it (C2SP: bundles SHOULD be
// compressed at the HTTP layer).
func Write(w http.ResponseWriter, r *http.Request, a *Answer) {
	h := w.Header()
	h.Set("Content-Type", a.ContentType)
	h.Set("Cache-Control", a.CacheControl)
	h.Set("X-Content-Type-Options", "nosniff")
	body := a.Body
	if a.Entries > 0 {
		h.Set("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(body)
			zw.Close()
			body = buf.Bytes()
			h.Set("Content-Encoding", "gzip")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// acceptsGzip reports whether an Accept-Encoding header lists gzip
// without refusing it (q=0).
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

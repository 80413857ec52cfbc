package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/auditlog"
	"jukinet/internal/auditlog/tiles"
	"jukinet/internal/clocktest"
	"jukinet/internal/node"
)

// appendTestEntries appends n synthetic entries at once (group commit);
// those with i < old are dated at the given time (to be pruned).
func appendTestEntries(t *testing.T, s *Server, n, old int, at time.Time) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := auditlog.Entry{Node: s.node.Code(), Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "tiles-test"}, Origin: "host:test",
				Action: "lookup", Query: fmt.Sprintf("entry %d", i), Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK}
			if i < old {
				e.Time = at
			}
			if _, err := s.node.Log.Append(context.Background(), e); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// get fetches prefix/path as b, checking the status and content type.
func (b *browser) tileGet(path string, gz bool) (*http.Response, []byte) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", "/api/v1/audit/"+path, nil)
	req.RemoteAddr = b.remote
	if gz {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	rec := &recorder{h: http.Header{}}
	b.s.ServeHTTP(rec, req)
	resp := &http.Response{StatusCode: rec.code, Header: rec.h}
	body := rec.body.Bytes()
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			b.t.Fatalf("%s: gzip: %v", path, err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			b.t.Fatalf("%s: gzip: %v", path, err)
		}
	}
	return resp, body
}

// recorder is a minimal ResponseWriter (httptest.ResponseRecorder would do;
// this keeps the status of a handler that never calls WriteHeader at 200).
type recorder struct {
	h    http.Header
	code int
	body bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(p)
}

// TestTilesVerifyWithTlog builds a log of several tiles' worth of entries,
// prunes the oldest, and has golang.org/x/mod/sumdb/tlog verify it from
// the tile endpoints alone, fetched through the server as a signed-in
// auditor: the tree hash against the signed checkpoint, a consistency
// proof from an older checkpoint, a record proof for every entry and every
// entry bundle against the level-0 tiles. A tampered tile or bundle is
// caught; the pruned bundle answers 410; an operator who may not read the
// audit log is refused, the bundle refusal on record; malformed paths get
// 400.
func TestTilesVerifyWithTlog(t *testing.T) {
	onBothDatabases(t, func(t *testing.T, s *Server, clock *clocktest.Clock) {
		ctx := context.Background()
		n := s.node
		// Entries 0–… are the demo node's own; then 300 (100 of them old),
		// a checkpoint, 330 more, the pruning, and the checkpoint read.
		old := clock.Now().AddDate(-10, 0, 0)
		appendTestEntries(t, s, 100, 100, old)
		appendTestEntries(t, s, 200, 0, time.Time{})
		first, err := n.Log.Checkpoint(ctx)
		if err != nil || first == nil {
			t.Fatalf("first checkpoint: %v", err)
		}
		appendTestEntries(t, s, 330, 0, time.Time{})
		pruned, err := n.Log.Prune(ctx, old.Add(time.Hour), auditlog.Entry{Node: n.Code(), Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "tiles-test"},
			Origin: "host:test", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK})
		if err != nil || pruned < 100 {
			t.Fatalf("prune: %d pruned, %v", pruned, err)
		}
		if _, err := n.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}

		auditor := signIn(t, s, node.DemoAdmin)
		var fetched []string
		tamper := ""
		fetch := func(path string) ([]byte, error) {
			resp, body := auditor.tileGet(path, false)
			if resp.StatusCode != 200 {
				return nil, fmt.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
			}
			if got := resp.Header.Get("Content-Type"); got != "application/octet-stream" {
				t.Errorf("%s: Content-Type %q", path, got)
			}
			want := tiles.CacheNoStore
			if !strings.Contains(path, ".p/") && !strings.HasPrefix(path, "tile/entries/") {
				want = tiles.CacheImmutable
			}
			if got := resp.Header.Get("Cache-Control"); got != want {
				t.Errorf("%s: Cache-Control %q, want %q", path, got, want)
			}
			fetched = append(fetched, path)
			if path == tamper {
				body = bytes.Clone(body)
				body[len(body)/2] ^= 1
			}
			return body, nil
		}

		// The checkpoint, verified with the node's key.
		resp, cpText := auditor.tileGet("checkpoint", false)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("checkpoint: %d %v", resp.StatusCode, resp.Header)
		}
		if _, err := note.Open(cpText, note.VerifierList(n.Verifier)); err != nil {
			t.Fatalf("checkpoint does not verify with the node's key: %v", err)
		}
		cp, err := auditlog.OpenCheckpoint(cpText, n.Verifier)
		if err != nil {
			t.Fatal(err)
		}
		if cp.Size < 2*tiles.Width+100 || cp.Size%tiles.Width == 0 {
			t.Fatalf("checkpoint size %d: want more than two full tiles and a partial one", cp.Size)
		}
		tree := tlog.Tree{N: cp.Size, Hash: cp.Root}
		thr := tlog.TileHashReader(tree, tiles.TileReader{Fetch: fetch})
		if root, err := tlog.TreeHash(cp.Size, thr); err != nil || root != cp.Root {
			t.Fatalf("tree hash from the tiles: %v %v, want %v", root, err, cp.Root)
		}
		// The older checkpoint's tree is a prefix of this one.
		proof, err := tlog.ProveTree(cp.Size, first.Size, thr)
		if err != nil {
			t.Fatal(err)
		}
		if err := tlog.CheckTree(proof, cp.Size, cp.Root, first.Size, first.Root); err != nil {
			t.Errorf("consistency %d → %d from the tiles: %v", first.Size, cp.Size, err)
		}

		// Every bundle's entries hash to the level-0 tile's leaves, and
		// each has a record proof to the checkpoint's root.
		bundlesRead := 0
		sizeBefore, _ := n.Log.Size(ctx)
		for b := int64(0); b*tiles.Width < cp.Size; b++ {
			w := int(min(cp.Size-b*tiles.Width, tiles.Width))
			path := tiles.Path(tlog.Tile{H: tiles.Height, L: -1, N: b, W: w})
			resp, body := auditor.tileGet(path, b == 1)
			if b == 0 {
				// The first bundle holds the pruned entries: gone, with
				// the reason.
				if resp.StatusCode != http.StatusGone || !strings.Contains(string(body), "pruned") || !strings.Contains(string(body), "保存期間") {
					t.Errorf("bundle with pruned entries: %d %s", resp.StatusCode, body)
				}
				bundlesRead++
				continue
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%s: %d %s", path, resp.StatusCode, body)
			}
			if b == 1 && resp.Header.Get("Content-Encoding") != "gzip" {
				t.Errorf("%s asked with gzip: Content-Encoding %q", path, resp.Header.Get("Content-Encoding"))
			}
			bundlesRead++
			entries, err := tiles.DecodeBundle(body)
			if err != nil || len(entries) != w {
				t.Fatalf("%s: %d entries, %v; want %d", path, len(entries), err, w)
			}
			for i, data := range entries {
				seq := b*tiles.Width + int64(i)
				e, err := auditlog.DecodeEntry(data)
				if err != nil || e.Seq != seq {
					t.Fatalf("%s: entry %d: %v", path, seq, err)
				}
				leaf := tlog.RecordHash(data)
				hs, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
				if err != nil || hs[0] != leaf {
					t.Fatalf("entry %d: its bundle does not hash to its tile's leaf (%v)", seq, err)
				}
				p, err := tlog.ProveRecord(cp.Size, seq, thr)
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckRecord(p, cp.Size, cp.Root, seq, leaf); err != nil {
					t.Fatalf("entry %d: record proof from the tiles: %v", seq, err)
				}
			}
		}
		// The pruned entries keep their leaves: their proofs still check.
		for seq := int64(0); seq < tiles.Width; seq += 37 {
			hs, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
			if err != nil {
				t.Fatal(err)
			}
			p, err := tlog.ProveRecord(cp.Size, seq, thr)
			if err != nil || tlog.CheckRecord(p, cp.Size, cp.Root, seq, hs[0]) != nil {
				t.Errorf("pruned entry %d: record proof: %v", seq, err)
			}
		}
		// Each bundle read is an entry, the admin's, with its count.
		sizeAfter, _ := n.Log.Size(ctx)
		reads, err := auditlog.List(ctx, n.DB, auditlog.Filter{Action: tiles.ActionBundle, After: sizeBefore - 1})
		if err != nil || int64(len(reads)) != sizeAfter-sizeBefore || len(reads) != bundlesRead {
			t.Fatalf("bundle reads logged: %d of %d (%v)", len(reads), bundlesRead, err)
		}
		if e := reads[1].Entry; e.Actor.ID != node.DemoAdmin || e.Decision != auditlog.Allow || e.Count != tiles.Width || !strings.Contains(e.Detail, "sha256") {
			t.Errorf("bundle read entry: %+v", e)
		}
		if e := reads[0].Entry; e.Outcome != auditlog.OutcomeError || !strings.Contains(e.Error, "pruned") {
			t.Errorf("pruned bundle's entry: %+v", e)
		}

		// A tampered tile is caught by tlog's verification.
		for _, path := range []string{"tile/0/001", "tile/1/000.p/" + fmt.Sprint(cp.Size/tiles.Width)} {
			tamper = path
			thr := tlog.TileHashReader(tree, tiles.TileReader{Fetch: fetch})
			_, err1 := tlog.TreeHash(cp.Size, thr)
			_, err2 := tlog.ProveRecord(cp.Size, tiles.Width+5, thr)
			if err1 == nil && err2 == nil {
				t.Errorf("tampered %s: tree hash and record proof still verify", path)
			}
		}
		tamper = ""
		// A tampered entry in a bundle no longer hashes to its leaf.
		_, body := auditor.tileGet("tile/entries/001", false)
		body[100] ^= 1
		entries, _ := tiles.DecodeBundle(body)
		hs, _ := tlog.TileHashReader(tree, tiles.TileReader{Fetch: fetch}).ReadHashes([]int64{tlog.StoredHashIndex(0, tiles.Width)})
		if tlog.RecordHash(entries[0]) == hs[0] {
			t.Errorf("a tampered bundle entry still hashes to its leaf")
		}

		// Not for those who may not read the audit log.
		clerk := signIn(t, s, node.DemoOperator)
		before, _ := n.Log.Size(ctx)
		for _, path := range []string{"checkpoint", "tile/0/000", "tile/entries/001"} {
			resp, body := clerk.tileGet(path, false)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "監査ログを閲覧する権限がありません") {
				t.Errorf("%s as an operator: %d %s", path, resp.StatusCode, body)
			}
		}
		stranger := &browser{t: t, s: s, remote: "192.0.2.7:5555"} // no session, not on the server
		if resp, _ := stranger.tileGet("tile/0/000", false); resp.StatusCode != http.StatusForbidden {
			t.Errorf("tile without a session from another host: %d", resp.StatusCode)
		}
		refused, _ := auditlog.List(ctx, n.DB, auditlog.Filter{Action: tiles.ActionBundle, After: before - 1})
		if len(refused) != 1 || refused[0].Entry.Decision != auditlog.Deny || refused[0].Entry.Actor.ID != node.DemoOperator {
			t.Errorf("refused bundle read not on record: %+v", refused)
		}

		// Malformed paths, and tiles beyond the checkpoint.
		for path, status := range map[string]int{
			"tile/0/1":         400, // not three digits
			"tile/0/x000/001":  400, // not the one spelling
			"tile/0/001/002":   400, // all but the last begin with x
			"tile/00/000":      400,
			"tile/64/000":      400,
			"tile/0/000.p/256": 400,
			"tile/0/000.p/0":   400,
			"tile/0/000.p/07":  400,
			"tile/abc/000":     400,
			"tile/entries/":    400,
			"tile/0":           400,
			"tile/0/000.p/":    400,
			"tile/entries/x999/x999/x999/x999/x999/x999/x999/999": 400,
			"tile/0/x001/000":       404, // beyond the tree
			"tile/2/000":            404,
			"tile/9/000.p/1":        404,
			"tile/entries/x001/000": 404,
			"tile/0/" + fmt.Sprintf("%03d", cp.Size/tiles.Width):           404, // the partial tile is not full yet
			"tile/0/" + fmt.Sprintf("%03d.p/%d", cp.Size/tiles.Width, 255): 404,
		} {
			resp, body := auditor.tileGet(path, false)
			if resp.StatusCode != status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") ||
				!strings.Contains(string(body), "detail_ja") {
				t.Errorf("%s: %d %s, want %d", path, resp.StatusCode, body, status)
			}
		}
		t.Logf("%d tiles fetched for the verification", len(fetched))
	})
}

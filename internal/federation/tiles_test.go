package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/auditlog"
	"jukinet/internal/auditlog/tiles"
	"jukinet/internal/node"
	"jukinet/internal/terminalca"
)

// serveTiles serves n's tile endpoints on a mutual-TLS peer listener, as
// serve opens it, and returns its address and a client presenting cert.
func serveTiles(t *testing.T, n *node.Node) (base string, client func(cert *tls.Certificate) *http.Client) {
	t.Helper()
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		t.Fatal(err)
	}
	recv := NewReceiver(n, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+TilesPrefix+"checkpoint", recv.ServeTiles)
	mux.HandleFunc("GET "+TilesPrefix+"tile/", recv.ServeTiles)
	conf, err := ca.ServerTLS(n.Dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(PeerListener(n, tcp, PeerTLS(n, conf), nil))
	t.Cleanup(func() { srv.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return "https://" + tcp.Addr().String(), func(cert *tls.Certificate) *http.Client {
		c := &tls.Config{RootCAs: roots}
		if cert != nil {
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: c}}
	}
}

func appendEntries(t *testing.T, n *node.Node, count int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, count)
	for i := range count {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := n.Log.Append(context.Background(), auditlog.Entry{Node: Code(n), Actor: console.Actor, Origin: console.Origin,
				Action: "lookup", Query: fmt.Sprintf("entry %d", i), Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK})
			if err != nil {
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

// TestPeersReadTiles: over mutual TLS a node's witness (the prefecture,
// for a municipality) verifies the municipality's log from its tiles with
// tlog — tree hash against the signed checkpoint, each bundle's entries
// against the level-0 tiles, record proofs — and its bundle reads are on
// record as the peer's; a registered peer that is not the witness (a
// municipality reading its prefecture) gets hash tiles and the checkpoint
// but no bundle, refused on record; a request over plain HTTP, without a
// peer's certificate, is refused as unauthenticated; a malformed path is
// refused.
func TestPeersReadTiles(t *testing.T) {
	bothDatabases(t, func(t *testing.T) {
		ctx := context.Background()
		nw := newNetwork(t)
		muni, pref := nw.aomori, nw.pref
		appendEntries(t, muni, 300)
		cp, err := muni.Log.Checkpoint(ctx)
		if err != nil || cp == nil || cp.Size <= tiles.Width {
			t.Fatalf("checkpoint: %v %v", cp, err)
		}
		base, client := serveTiles(t, muni)
		witness := client(nodeCert(t, pref))
		get := func(c *http.Client, base, path string) (int, http.Header, []byte) {
			t.Helper()
			resp, err := c.Get(base + TilesPrefix + path)
			if err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, resp.Header, body
		}
		fetch := func(path string) ([]byte, error) {
			status, h, body := get(witness, base, path)
			if status != 200 || h.Get("Content-Type") != "application/octet-stream" {
				return nil, fmt.Errorf("GET %s: %d %s", path, status, body)
			}
			return body, nil
		}
		status, h, text := get(witness, base, "checkpoint")
		if status != 200 || h.Get("Cache-Control") != "no-store" {
			t.Fatalf("checkpoint: %d %v %s", status, h, text)
		}
		got, err := auditlog.OpenCheckpoint(text, muni.Verifier)
		if err != nil || got.Size != cp.Size {
			t.Fatalf("checkpoint: %v %v", got, err)
		}
		thr := tlog.TileHashReader(tlog.Tree{N: got.Size, Hash: got.Root}, tiles.TileReader{Fetch: fetch})
		if root, err := tlog.TreeHash(got.Size, thr); err != nil || root != got.Root {
			t.Fatalf("tree hash from the tiles: %v", err)
		}
		sizeBefore, _ := muni.Log.Size(ctx)
		bundles := 0
		for b := int64(0); b*tiles.Width < got.Size; b++ {
			w := int(min(got.Size-b*tiles.Width, tiles.Width))
			body, err := fetch(tiles.Path(tlog.Tile{H: tiles.Height, L: -1, N: b, W: w}))
			if err != nil {
				t.Fatal(err)
			}
			bundles++
			entries, err := tiles.DecodeBundle(body)
			if err != nil || len(entries) != w {
				t.Fatalf("bundle %d: %d entries, %v", b, len(entries), err)
			}
			for i, data := range entries {
				seq := b*tiles.Width + int64(i)
				leaf := tlog.RecordHash(data)
				hs, err := thr.ReadHashes([]int64{tlog.StoredHashIndex(0, seq)})
				if err != nil || hs[0] != leaf {
					t.Fatalf("entry %d: not its tile's leaf (%v)", seq, err)
				}
				if seq%50 == 0 || b > 0 {
					p, err := tlog.ProveRecord(got.Size, seq, thr)
					if err != nil || tlog.CheckRecord(p, got.Size, got.Root, seq, leaf) != nil {
						t.Fatalf("entry %d: record proof: %v", seq, err)
					}
				}
			}
		}
		reads, _ := auditlog.List(ctx, muni.DB, auditlog.Filter{Action: tiles.ActionBundle, After: sizeBefore - 1})
		if len(reads) != bundles || reads[0].Entry.Actor != (auditlog.Actor{Kind: auditlog.ActorPeer, ID: "020001", Name: pref.Info.Name()}) ||
			reads[0].Entry.Decision != auditlog.Allow || reads[0].Entry.Count != tiles.Width {
			t.Errorf("bundle reads on record: %d of %d: %+v", len(reads), bundles, reads)
		}
		if status, _, body := get(witness, base, "tile/0/x000/000"); status != 400 || !strings.Contains(string(body), "not a tile path") {
			t.Errorf("malformed path: %d %s", status, body)
		}

		// The municipality reads its prefecture's hash tiles, not its
		// entries: it is not the prefecture's witness.
		appendEntries(t, pref, 10)
		if _, err := pref.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		pbase, pclient := serveTiles(t, pref)
		downstream := pclient(nodeCert(t, muni))
		if status, _, body := get(downstream, pbase, "tile/0/000.p/1"); status != 200 || len(body) != tlog.HashSize {
			t.Errorf("a peer's hash tile: %d %d bytes", status, len(body))
		}
		if status, _, body := get(downstream, pbase, "tile/entries/000.p/1"); status != 403 || !strings.Contains(string(body), "witness only") {
			t.Errorf("a peer that is not the witness reads entries: %d %s", status, body)
		}
		denied, _ := auditlog.List(ctx, pref.DB, auditlog.Filter{Action: tiles.ActionBundle, After: -1})
		if len(denied) != 1 || denied[0].Entry.Decision != auditlog.Deny || denied[0].Entry.Actor.ID != "022012" {
			t.Errorf("refused bundle read on record: %+v", denied)
		}

		// Over plain HTTP a GET names nobody: refused, as unauthenticated.
		recv := NewReceiver(muni, nil)
		plain := httptest.NewServer(http.HandlerFunc(recv.ServeTiles))
		defer plain.Close()
		before, _ := muni.Log.Size(ctx)
		if status, _, body := get(http.DefaultClient, plain.URL, "tile/0/000"); status != 403 || !strings.Contains(string(body), "mutual TLS") {
			t.Errorf("plain HTTP: %d %s", status, body)
		}
		refused, _ := auditlog.List(ctx, muni.DB, auditlog.Filter{Action: actionTiles, After: before - 1})
		if len(refused) != 1 || refused[0].Entry.Actor.Kind != auditlog.ActorHost {
			t.Errorf("plain-HTTP refusal on record: %+v", refused)
		}
	})
}

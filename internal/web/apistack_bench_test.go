package web

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
	"jukinet/internal/terminalca"
)

// BenchmarkAPIStack measures what the HTTP stack costs a JSON API call
// before and around the gate, without a network or a load generator: the
// security middleware, the terminal named by its client certificate, the
// session, the cross-origin check and the JSON answer. "no-endpoint" is a
// signed-in call of an endpoint that does not exist (everything but the
// gate); "lookup" a lookup by 住民票コード through the gate, 32 callers per
// core sharing the audit log's commits. Compare allocs/op between builds.
func BenchmarkAPIStack(b *testing.B) {
	ctx := context.Background()
	n, _ := nodetest.Open(b, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true})
	g, _ := synth.New(synth.Options{Seed: 3, LocalGov: "131083"})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	codes := make([]string, 1000)
	for i := range codes {
		r := g.Next()
		codes[i] = string(r.ResidentCode)
		w.Write(r)
	}
	w.Close()
	console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "bench"}, Origin: "host:bench", Affair: "juki", Reason: "ベンチマーク"}
	if _, err := n.Gate.Import(ctx, console, &buf, resident.UTF8); err != nil {
		b.Fatal(err)
	}
	s, err := New(n, Options{Version: "bench", PublicURL: "https://localhost:8443"})
	if err != nil {
		b.Fatal(err)
	}
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		b.Fatal(err)
	}
	is, err := ca.IssueTerminal(node.DemoTerminal, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	block, _ := pem.Decode(is.CertPEM)
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		b.Fatal(err)
	}
	state := &tls.ConnectionState{HandshakeComplete: true, VerifiedChains: [][]*x509.Certificate{{leaf, ca.Cert}}}
	token, err := s.auth.DemoLogin(ctx, node.DemoOperator, node.DemoTerminal)
	if err != nil {
		b.Fatal(err)
	}
	call := func(path string, want int) error {
		req := httptest.NewRequest("GET", "https://localhost:8443"+path, nil)
		req.RemoteAddr = "192.0.2.10:50000" // not loopback: no demo fallback
		req.TLS = state
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != want {
			return &lookupError{rec.Code}
		}
		return nil
	}
	b.Run("no-endpoint", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := call("/api/v1/nothing", http.StatusNotFound); err != nil {
				b.Fatal(err)
			}
		}
	})
	q := "?affair=juminhyo-copy&reason=" + url.QueryEscape("窓口での本人申請")
	b.Run("lookup", func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(32)
		var next atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := next.Add(1)
				if err := call("/api/v1/residents/"+codes[i%int64(len(codes))]+q, http.StatusOK); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

package web

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// BenchmarkHTTPLookup measures a clerk's lookup by 住民票コード through the
// whole stack — HTTP, session, policy, gate, durable audit entry, HTML — on
// a demo node (SQLite) with JUKINET_BENCH_RESIDENTS residents (default
// 10,000), against, in the same run, the in-process gate lookup and the raw
// driver's point select of the same record. 32 concurrent clients per core.
func BenchmarkHTTPLookup(b *testing.B) {
	n := 10_000
	if s := os.Getenv("JUKINET_BENCH_RESIDENTS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := b.TempDir()
	ctx := context.Background()
	nd, _ := nodetest.Open(b, node.InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", Demo: true})
	g, _ := synth.New(synth.Options{Seed: 2, LocalGov: "131083"})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	codes := make([]string, n)
	for i := range codes {
		r := g.Next()
		codes[i] = string(r.ResidentCode)
		w.Write(r)
	}
	w.Close()
	console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "bench"}, Origin: "host:bench", Affair: "juki", Reason: "ベンチマーク"}
	if _, err := nd.Gate.Import(ctx, console, &buf, resident.UTF8); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	base := "http://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	s, err := New(nd, Options{Version: "bench", PublicURL: base})
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: s}
	go srv.Serve(ln)
	defer srv.Close()
	token, err := s.auth.DemoLogin(ctx, node.DemoOperator, node.DemoTerminal)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	addr := "http://" + ln.Addr().String()

	var next atomic.Int64
	measure := func(b *testing.B, op func(code string) error) {
		var mu sync.Mutex
		var lat []time.Duration
		b.SetParallelism(32)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var mine []time.Duration
			for pb.Next() {
				code := codes[int(next.Add(7919))%len(codes)]
				start := time.Now()
				if err := op(code); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(start))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
		b.StopTimer()
		slices.Sort(lat)
		if len(lat) > 0 {
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		}
	}
	raw, err := nd.DB.PrepareRaw(ctx, `SELECT ir.family_name, ir.given_name, ir.address, ir.date_of_birth FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.resident_code = ?`)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	b.Run("raw-select", func(b *testing.B) {
		measure(b, func(code string) error {
			var a, c, d, e string
			return raw.QueryRowContext(ctx, code).Scan(&a, &c, &d, &e)
		})
	})
	clerk := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator}, Origin: "terminal:" + node.DemoTerminal,
		Affair: "juminhyo-copy", Reason: "窓口での本人申請"}
	b.Run("gate-lookup", func(b *testing.B) {
		measure(b, func(code string) error {
			_, err := nd.Gate.Lookup(ctx, clerk, gate.Key{ResidentCode: code})
			return err
		})
	})
	b.Run("http-lookup", func(b *testing.B) {
		measure(b, func(code string) error {
			form := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
			req, _ := http.NewRequest("POST", addr+"/lookup", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.AddCookie(&http.Cookie{Name: sessionCookie, Value: token})
			resp, err := client.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			var body bytes.Buffer
			body.ReadFrom(resp.Body)
			if resp.StatusCode != 200 || !bytes.Contains(body.Bytes(), []byte("監査ログに記録されました")) {
				return &lookupError{resp.StatusCode}
			}
			return nil
		})
	})
}

type lookupError struct{ status int }

func (e *lookupError) Error() string { return "lookup answered " + strconv.Itoa(e.status) }

package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/terminalca"
	"jukinet/internal/web"
)

// The HTTP rows' caller: the demo node's operator, designated for the
// affair, signed in on the demo terminal, which a client certificate from
// the node's terminal CA names.
const (
	httpAffair = "juminhyo-copy"
	httpReason = "窓口での本人申請"
	// sessionCookie is the web session's cookie (internal/web); the probe
	// in httpRows fails the row when the session it names is not honoured.
	sessionCookie = "jukinet_session"
)

// httpNode is a demo node serving HTTPS as `jukinet serve` does, holding
// the benchmark's register.
type httpNode struct {
	node    *node.Node
	srv     *http.Server
	base    string // https://localhost:PORT
	client  *tls.Config
	ca      *terminalca.CA
	cookie  string
	cleanup []func()
}

func (h *httpNode) close() {
	if h.srv != nil {
		h.srv.Close()
	}
	if h.node != nil {
		h.node.Close()
	}
	for i := len(h.cleanup) - 1; i >= 0; i-- {
		h.cleanup[i]()
	}
}

// startHTTPNode creates a demo node (江東区, its demo staff, terminal and
// rooms) in dir on a database of the benchmark's kind, imports the
// register from csv through its gate, serves it over HTTPS — the handler
// stack `jukinet serve` builds: TLS with the node's server certificate
// asking terminals for theirs, the security middleware, sessions,
// cross-origin protection, the JSON API, the policies, the gate and its
// audit log — and signs the demo operator in on the demo terminal.
func startHTTPNode(ctx context.Context, opt Options, dir string, csv []byte, logger *slog.Logger) (_ *httpNode, err error) {
	h := &httpNode{}
	defer func() {
		if err != nil {
			h.close()
		}
	}()
	dbURL, cleanup, err := scratchDB(ctx, opt.DBURL, dir, "http")
	if err != nil {
		return nil, err
	}
	h.cleanup = append(h.cleanup, cleanup)
	now := opt.Now
	if now == nil {
		now = time.Now
	}
	ndir := filepath.Join(dir, "http-node")
	if _, err := node.Init(ctx, node.InitOptions{Dir: ndir, Profile: "koto-ward", LocalGovCode: "131083", Demo: true, DatabaseURL: dbURL, Now: now}); err != nil {
		return nil, fmt.Errorf("create the HTTP rows' node: %w", err)
	}
	n, err := node.Open(ctx, ndir)
	if err != nil {
		return nil, err
	}
	h.node = n
	n.Now = now
	// The bench serves this node as jukinet serve does: the serving
	// process, journaling as the run says (--journal, --no-journal).
	n.Serving, n.Config.Audit.Journal = true, opt.Journal
	if err := n.OpenGate(ctx, logger); err != nil {
		return nil, err
	}
	console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "bench"}, Origin: "host:bench", Affair: "juki", Reason: "ベンチマーク（架空の住民）"}
	if _, err := n.Gate.Import(ctx, console, bytes.NewReader(csv), resident.UTF8); err != nil {
		return nil, fmt.Errorf("import into the HTTP rows' node: %w", err)
	}
	if n.DB.Dialect() == db.SQLite {
		if _, err := n.DB.Exec(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			return nil, fmt.Errorf("checkpoint after import: %w", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	h.base = fmt.Sprintf("https://localhost:%d", port)
	ca, err := terminalca.Open(n.Dir, n.Info.Name())
	if err != nil {
		ln.Close()
		return nil, err
	}
	h.ca = ca
	conf, err := ca.ServerTLS(n.Dir, "localhost", "127.0.0.1", "::1")
	if err != nil {
		ln.Close()
		return nil, err
	}
	s, err := web.New(n, web.Options{Version: "bench", Logger: logger, PublicURL: h.base})
	if err != nil {
		ln.Close()
		return nil, err
	}
	h.srv = web.NewHTTPServer(s, logger, web.DefaultTimeouts)
	go h.srv.Serve(tls.NewListener(ln, conf))
	if h.client, err = terminalTLS(ca, node.DemoTerminal); err != nil {
		return nil, err
	}
	if h.cookie, err = s.Auth().DemoLogin(ctx, node.DemoOperator, node.DemoTerminal); err != nil {
		return nil, fmt.Errorf("sign the demo operator in: %w", err)
	}
	return h, nil
}

// terminalTLS is a terminal's TLS client: it trusts the node's CA and
// presents a certificate naming terminal.
func terminalTLS(ca *terminalca.CA, terminal string) (*tls.Config, error) {
	is, err := ca.IssueTerminal(terminal, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	pair, err := tls.X509KeyPair(is.CertPEM, is.KeyPEM)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	return &tls.Config{RootCAs: roots, ServerName: "localhost",
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &pair, nil }}, nil
}

// lookupURL is the JSON API's lookup of code.
func (h *httpNode) lookupURL(code string) string {
	return h.base + "/api/v1/residents/" + code + "?affair=" + url.QueryEscape(httpAffair) + "&reason=" + url.QueryEscape(httpReason)
}

// probe checks, before the load, that the session is honoured on the
// terminal (the status page shows the register only to signed-in staff;
// a demo node would otherwise serve its loopback API clients as the demo
// operator without one) and that a lookup answers a record's JSON (with
// the fields the affair may see: the code itself is not among them for
// a copy of the 住民票).
func (h *httpNode) probe(code string) ([]byte, error) {
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: h.client}}
	defer c.CloseIdleConnections()
	get := func(u string) (int, []byte, error) {
		return h.get(c, u, true)
	}
	// The anonymous status page must not show what the signed-in one does,
	// or the probe proves nothing.
	if _, anon, err := h.get(c, h.base+"/status", false); err != nil || bytes.Contains(anon, []byte(h.node.DB.Dialect().String())) {
		return nil, fmt.Errorf("probe: the anonymous status page cannot tell a session from none (%v)", err)
	}
	status, body, err := get(h.base + "/status")
	if err != nil {
		return nil, fmt.Errorf("probe /status: %w", err)
	}
	if status != 200 || !bytes.Contains(body, []byte(h.node.DB.Dialect().String())) {
		return nil, fmt.Errorf("probe: the session is not honoured on terminal %s (/status answered %d without the signed-in view)", node.DemoTerminal, status)
	}
	status, body, err = get(h.lookupURL(code))
	if err != nil {
		return nil, fmt.Errorf("probe lookup: %w", err)
	}
	if status != 200 || !bytes.Contains(body, []byte(`"audit_seq"`)) {
		return nil, fmt.Errorf("probe lookup answered %d: %.300s", status, body)
	}
	return body, nil
}

// get fetches u on the terminal's connection c, with the session's cookie
// when signedIn.
func (h *httpNode) get(c *http.Client, u string, signedIn bool) (int, []byte, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return 0, nil, err
	}
	if signedIn {
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: h.cookie})
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// attack drives url(i) for the i-th request from clients keep-alive
// connections of vegeta's, as fast as they are answered, for dur, and
// returns the row: successful answers per second and vegeta's latency
// percentiles. An answer other than 200, or a body without want, is an
// error.
//
// The clients' connections are opened (TLS handshakes, terminal
// certificates verified) before the clock starts, with one request each:
// the row is the steady state of keep-alive clients.
func attack(clients int, dur time.Duration, conf *tls.Config, cookie string, url func(i int64) string, want []byte) Row {
	// HTTP/1.1 keep-alive over TLS, as browsers and clerks' systems reach
	// the node; the transport is set up whole before the warm-up, which
	// leaves its connections idle in it for vegeta.
	tr := &http.Transport{TLSClientConfig: conf, MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients,
		TLSNextProto: map[string]func(string, *tls.Conn) http.RoundTripper{}}
	client := &http.Client{Transport: tr}
	warm(client, clients, cookie, url(0))
	atk := vegeta.NewAttacker(vegeta.Client(client), vegeta.Workers(uint64(clients)), vegeta.MaxWorkers(uint64(clients)),
		vegeta.Redirects(vegeta.NoFollow), vegeta.Timeout(30*time.Second))
	defer tr.CloseIdleConnections()
	hdr := http.Header{"Cookie": {sessionCookie + "=" + cookie}}
	var next atomic.Int64
	targeter := func(t *vegeta.Target) error {
		t.Method, t.URL, t.Header = "GET", url(next.Add(1)), hdr
		return nil
	}
	var m vegeta.Metrics
	var bad int64
	var firstBad string
	for res := range atk.Attack(targeter, vegeta.ConstantPacer{}, dur, "jukinet-bench") {
		m.Add(res)
		if res.Code != 200 || !bytes.Contains(res.Body, want) {
			if bad++; firstBad == "" {
				firstBad = fmt.Sprintf("%d %s %.200s", res.Code, res.Error, res.Body)
			}
		}
	}
	m.Close()
	r := Row{Ops: int64(m.Requests) - bad, Elapsed: m.Duration + m.Wait, P50: m.Latencies.P50, P99: m.Latencies.P99}
	if r.Elapsed > 0 {
		r.PerSecond = float64(r.Ops) / r.Elapsed.Seconds()
	}
	if bad > 0 {
		r.Note = fmt.Sprintf("ERROR: %d of %d answers wrong, first: %s", bad, m.Requests, firstBad)
	}
	return r
}

// warm opens clients connections to u at once, one request on each.
func warm(c *http.Client, clients int, cookie, u string) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequest("GET", u, nil)
			if err != nil {
				return
			}
			req.Header.Set("Cookie", sessionCookie+"="+cookie)
			if resp, err := c.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	close(start)
	wg.Wait()
}

// httpRows measures, on a node of its own holding the same register: the
// in-process lookup through the node's gate (its policies: the operator's
// designation, training, terminal) by clients goroutines, the floor of
// the HTTP path (the same TLS server and load generator answering a fixed
// JSON body), and the HTTP JSON lookups by clients keep-alive connections.
// When opt.HTTPProfile is set, the process's CPU profile of the HTTP
// lookups alone is written there.
func httpRows(ctx context.Context, opt Options, dir string, csv []byte, codes []string, say func(string, ...any)) ([]Row, error) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	say("HTTP rows: a demo node with the same %d residents, served over HTTPS …", len(codes))
	h, err := startHTTPNode(ctx, opt, dir, csv, logger)
	if err != nil {
		return nil, err
	}
	defer h.close()
	answer, err := h.probe(codes[0])
	if err != nil {
		return nil, err
	}
	var rows []Row

	say("lookups through the node's gate in process, %d clients …", opt.Clients)
	clerk := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator}, Origin: "terminal:" + node.DemoTerminal,
		Affair: httpAffair, Reason: httpReason}
	cpu := processCPU()
	in, rowsNote, err := withRows(ctx, h.node.Log, measure(ctx, opt.Clients, opt.Duration, codes, func(code string) error {
		_, err := h.node.Gate.Lookup(ctx, clerk, gate.Key{ResidentCode: code})
		return err
	}))
	if err != nil {
		return nil, err
	}
	in.ID, in.What = RowGateClients, fmt.Sprintf("lookup through the node's gate in process, %d clients (HTTP baseline)", opt.Clients)
	in.Note = "the node's policies (designation, training, terminal), audited; " + cpuPerOp(cpu, in.Ops) + in.Note + rowsNote
	rows = append(rows, in)

	say("HTTP floor: a fixed JSON answer over the same TLS, %d clients …", opt.Clients)
	floor, err := httpFloor(h, answer, opt.Clients, opt.Duration)
	if err != nil {
		return nil, err
	}
	rows = append(rows, floor)

	say("HTTP JSON lookups, %d keep-alive clients (vegeta) …", opt.Clients)
	var stop func()
	if opt.HTTPProfile != "" {
		f, err := os.Create(opt.HTTPProfile)
		if err != nil {
			return nil, fmt.Errorf("HTTP CPU profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, fmt.Errorf("HTTP CPU profile: %w", err)
		}
		stop = pprof.StopCPUProfile
	}
	cpu = processCPU()
	r, rowsNote, err := withRows(ctx, h.node.Log, attack(opt.Clients, opt.Duration, h.client, h.cookie, func(i int64) string { return h.lookupURL(codes[(i*7919)%int64(len(codes))]) }, []byte(`"audit_seq"`)))
	if stop != nil {
		stop()
	}
	if err != nil {
		return nil, err
	}
	r.ID, r.What = RowHTTP, fmt.Sprintf("HTTP JSON lookup, %d keep-alive clients (vegeta; TLS, terminal certificate, session, policies, gate, audit)", opt.Clients)
	r.Goal = "≥ 70 % of in-process, p99 < 10 ms"
	errNote := r.Note
	r.Note = fmt.Sprintf("%.1f %% of the in-process gate rate, %.1f %% of the HTTP floor; %s with the load generator's",
		100*r.PerSecond/in.PerSecond, 100*r.PerSecond/floor.PerSecond, cpuPerOp(cpu, r.Ops))
	if errNote != "" {
		r.Note += "; " + errNote
	}
	r.Note += rowsNote
	return append(rows, r), nil
}

// httpFloor serves answer from a handler that does nothing else, over the
// node's TLS configuration and an http.Server like the node's, and drives
// it as the HTTP row is driven: what the load generator, TLS and net/http
// cost on this machine before the node does any work.
func httpFloor(h *httpNode, answer []byte, clients int, dur time.Duration) (Row, error) {
	conf, err := h.ca.ServerTLS(h.node.Dir, "localhost", "127.0.0.1", "::1")
	if err != nil {
		return Row{}, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Row{}, err
	}
	srv := web.NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(answer)
	}), slog.New(slog.NewTextHandler(io.Discard, nil)), web.DefaultTimeouts)
	go srv.Serve(tls.NewListener(ln, conf))
	defer srv.Close()
	cpu := processCPU()
	base := fmt.Sprintf("https://localhost:%d/api/v1/residents/", ln.Addr().(*net.TCPAddr).Port)
	r := attack(clients, dur, h.client, h.cookie, func(i int64) string { return base + fmt.Sprint(i) + "?affair=" + httpAffair }, []byte(`"audit_seq"`))
	r.ID, r.What = RowHTTPFloor, fmt.Sprintf("HTTP floor: a fixed %d-byte JSON answer, same TLS and load generator, %d clients", len(answer), clients)
	errNote := r.Note
	r.Note = "no session, no gate: what TLS, net/http and vegeta cost on these cores; " + cpuPerOp(cpu, r.Ops)
	if errNote != "" {
		r.Note += "; " + errNote
	}
	return r, nil
}

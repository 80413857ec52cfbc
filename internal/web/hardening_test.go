package web

import (
	"bufio"
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/api"
	"jukinet/internal/auth/authtest"
	"jukinet/internal/clocktest"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
)

// The HTTP hardening of issue 19 item 4: every route refuses a request
// without a session; cross-origin writes are refused; bodies, headers and
// connections are bounded; every response carries the security headers;
// a sign-in renews the session; repeated failures lock the id out.

// databases runs f on a node on SQLite and on one on PostgreSQL.
func databases(t *testing.T, f func(t *testing.T, dbURL func(t *testing.T) string)) {
	t.Run("sqlite", func(t *testing.T) { f(t, func(*testing.T) string { return "" }) })
	t.Run("postgres", func(t *testing.T) { f(t, func(t *testing.T) string { return dbtest.MigratedPostgresURL(t) }) })
}

// hardServer is a node for 江東区 (a demo node or not) on the database
// dbURL names ("" for SQLite), served at publicURL ("" for the default).
func hardServer(t *testing.T, dbURL string, demo bool, publicURL string) (*Server, *clocktest.Clock) {
	t.Helper()
	n, clock := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: demo, DatabaseURL: dbURL})
	s, err := New(n, Options{Version: "test", PublicURL: publicURL})
	if err != nil {
		t.Fatal(err)
	}
	return s, clock
}

// route is one pattern registered on a ServeMux, read from the source.
type route struct {
	pattern, file string
}

// registeredRoutes reads every pattern this package registers (a call
// X.HandleFunc("…", …) or X.Handle("…", …)) from its source, and those of
// internal/api off its mux (api.Routes): a route added anywhere is in the
// list without anyone adding it.
func registeredRoutes(t *testing.T) []route {
	t.Helper()
	var out []route
	for _, p := range api.Routes() {
		out = append(out, route{pattern: p, file: "internal/api"})
	}
	for _, dir := range []string{"."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(file, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) != 2 {
					return true
				}
				sel, ok := call.Fun.(*ast.SelectorExpr)
				if !ok || (sel.Sel.Name != "HandleFunc" && sel.Sel.Name != "Handle") {
					return true
				}
				lit, ok := call.Args[0].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Errorf("%s: a route whose pattern is not a literal: the hardening tests cannot see it", f)
					return true
				}
				p, _ := strconv.Unquote(lit.Value)
				out = append(out, route{pattern: p, file: filepath.ToSlash(f)})
				return true
			})
		}
	}
	if len(out) < 100 {
		t.Fatalf("found %d routes in the source, expected well over 100", len(out))
	}
	return out
}

// publicRoutes are the routes served without a session, each with what it
// answers a stranger (0: not a 200 with data — a refusal). Everything else
// needs a session. A route here that is no longer registered fails the
// test, so the list stays true.
var publicRoutes = map[string]int{
	"GET /static/": 404, // the embedded CSS and script (GET /static/1: no such file)
	"GET /healthz": 200, // "ok" for the load balancer: no data
	"GET /status":  200, // the node's name only (TestStatusAndStaticShowOnlyWhatIsPublic)
	"GET /login":   200, // the sign-in page
	"GET /metrics": 0,   // the server itself only (403 from elsewhere)
	// The sign-in and enrolment ceremonies and the unlock page: they answer
	// a stranger with a refusal.
	"POST /login/begin": 0, "POST /login/finish": 0, "POST /login/demo": 0, "POST /logout": 0,
	"GET /enrol/{token}": 0, "POST /enrol/{token}/begin": 0, "POST /enrol/{token}/finish": 0,
	"GET /unlock": 0, "POST /unlock/begin": 0, "POST /unlock/finish": 0,
	// Machine endpoints: a peer node or recipient body proves itself with
	// its certificate and signed batch, not a session.
	"/federation/": 0, "/provision/": 0, "POST /federation/v1/batches": 0, "POST /federation/v1/check": 0,
	"POST /federation/v1/witness": 0, "POST /federation/v1/correspondence": 0,
	"POST /federation/v1/entries": 0, "POST /federation/v1/recover": 0,
	"GET /federation/v1/audit/checkpoint": 0, "GET /federation/v1/audit/tile/": 0, // mutual TLS only
	"GET /provision/v1/residents/{code}": 0, "POST /provision/v1/batch": 0,
	// The JSON API's mount and its catch-all 404: the API answers 401 to
	// every request without a session before any route (checked below).
	"/api/": 0,
}

// concrete is a request path for pattern: wildcards filled with 1.
func concrete(pattern string) (method, path string) {
	method, path = "GET", pattern
	if m, p, ok := strings.Cut(pattern, " "); ok {
		method, path = m, p
	}
	path = strings.ReplaceAll(path, "{$}", "")
	path = regexp.MustCompile(`\{[^}]+\}`).ReplaceAllString(path, "1")
	return method, path
}

// checkSecurityHeaders fails unless rec carries the headers every answer
// of the main listener must.
func checkSecurityHeaders(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	h := rec.Header()
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'self'") ||
		strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: Content-Security-Policy %q", what, csp)
	}
	for name, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %s %q, want %q", what, name, got, want)
		}
	}
}

// TestEveryRouteRefusesWithoutSession: every route registered in the source
// answers a request without a session — or with a forged one — with a
// redirect to the sign-in page (screens) or 401 (the JSON API), carrying
// no data, and with the security headers; the few public routes are listed
// with what they answer.
func TestEveryRouteRefusesWithoutSession(t *testing.T) {
	routes := registeredRoutes(t)
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, _ := hardServer(t, dbURL(t), false, "")
		seen := map[string]bool{}
		for _, rt := range routes {
			seen[rt.pattern] = true
			method, path := concrete(rt.pattern)
			for _, cookie := range []string{"", "forged-session-token"} {
				req := httptest.NewRequest(method, path, strings.NewReader("verification_id=K0001"))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.RemoteAddr = "192.0.2.10:40000"
				if cookie != "" {
					req.AddCookie(&http.Cookie{Name: sessionCookie, Value: cookie})
				}
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				what := rt.pattern + " (" + rt.file + ")"
				if cookie != "" {
					what += " with a forged session"
				}
				checkSecurityHeaders(t, what, rec)
				body := rec.Body.String()
				if strings.Contains(body, "ログアウト") || strings.Contains(body, "住民票コード") && !strings.HasPrefix(path, "/api/") {
					t.Errorf("%s: %d shows a signed-in page", what, rec.Code)
				}
				want, public := publicRoutes[rt.pattern]
				switch {
				case public && want != 0:
					if rec.Code != want {
						t.Errorf("%s: %d, want %d", what, rec.Code, want)
					}
				case public:
					if rec.Code < 300 && !(rt.pattern == "/api/" || strings.HasPrefix(path, "/api/")) {
						t.Errorf("%s: %d %q, want a refusal", what, rec.Code, body)
					}
				case strings.HasPrefix(path, "/api/"):
					if rec.Code != http.StatusUnauthorized || !strings.Contains(body, "sign in first") {
						t.Errorf("%s: %d %q, want 401", what, rec.Code, body)
					}
				default:
					if _, p := s.mux.Handler(req); p != rt.pattern {
						t.Errorf("%s: the mux serves %s with %q: the route is not registered as the source says", what, path, p)
					}
					if loc := rec.Header().Get("Location"); rec.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") || len(body) > 64 {
						t.Errorf("%s: %d to %q with %d bytes, want 303 to /login and no data", what, rec.Code, loc, len(body))
					}
				}
			}
		}
		for p := range publicRoutes {
			if !seen[p] {
				t.Errorf("public route %q is not registered any more: take it off the list", p)
			}
		}
	})
}

// TestCrossOriginWritesRefused: every route that changes something (every
// method but GET) refuses a request a browser marks cross-site, or whose
// Origin is another host, before its handler runs — the JSON API, the
// sign-in forms and the machine endpoints included; the same request from
// the node's own pages goes through.
func TestCrossOriginWritesRefused(t *testing.T) {
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, _ := hardServer(t, dbURL(t), true, "")
		ctx := context.Background()
		before, err := s.node.Log.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		writes := 0
		for _, rt := range registeredRoutes(t) {
			method, path := concrete(rt.pattern)
			if method == "GET" {
				continue
			}
			writes++
			for name, hdr := range map[string][2]string{
				"Sec-Fetch-Site: cross-site":       {"Sec-Fetch-Site", "cross-site"},
				"Sec-Fetch-Site: same-site":        {"Sec-Fetch-Site", "same-site"},
				"Origin: http://evil.example.test": {"Origin", "http://evil.example.test"},
			} {
				req := httptest.NewRequest(method, path, strings.NewReader("verification_id="+node.DemoAdmin))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set(hdr[0], hdr[1])
				req.RemoteAddr = "127.0.0.1:40000"
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code != http.StatusForbidden || len(rec.Result().Cookies()) > 0 {
					t.Errorf("%s %s with %s: %d, want 403 and no cookie", method, path, name, rec.Code)
				}
				checkSecurityHeaders(t, rt.pattern+" cross-origin", rec)
			}
		}
		if writes < 50 {
			t.Errorf("only %d write routes found", writes)
		}
		// Refused before any handler: nothing was logged.
		if after, _ := s.node.Log.Size(ctx); after != before {
			t.Errorf("cross-origin requests wrote %d audit entries", after-before)
		}
		// The same sign-in from the node's own page goes through.
		req := httptest.NewRequest("POST", "/login/demo", strings.NewReader("verification_id="+node.DemoAdmin))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		req.Header.Set("Origin", "http://example.com")
		req.RemoteAddr = "127.0.0.1:40000"
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Errorf("same-origin sign-in: %d %s", rec.Code, rec.Body.String())
		}
	})
}

// TestPagesHaveNoInlineScript: no template, and no page a signed-in system
// administrator can open, holds an inline script, an event-handler
// attribute, a javascript: URL or a style attribute — the CSP (script-src
// 'self', style-src 'self') would block them, and allowing them would let
// an injected one run.
func TestPagesHaveNoInlineScript(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>|\son[a-z]+\s*=|javascript:|\sstyle\s*=`)
	check := func(what, text string) {
		for _, m := range inline.FindAllString(text, -1) {
			if strings.HasPrefix(strings.ToLower(m), "<script") && strings.Contains(m, " src=") {
				continue
			}
			t.Errorf("%s: %q", what, m)
		}
	}
	files, err := filepath.Glob("templates/*.html")
	if err != nil || len(files) < 20 {
		t.Fatalf("templates: %v, %d", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, string(b))
	}
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, _ := hardServer(t, dbURL(t), true, "")
		admin := signIn(t, s, node.DemoAdmin)
		pages := 0
		for _, rt := range registeredRoutes(t) {
			method, path := concrete(rt.pattern)
			if method != "GET" || strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/static/") || rt.pattern == "/api/" || !strings.HasPrefix(rt.pattern, "GET ") {
				continue
			}
			rec := admin.do("GET", path, nil)
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				pages++
				check(rt.pattern, rec.Body.String())
			}
		}
		if pages < 20 {
			t.Errorf("only %d pages rendered", pages)
		}
	})
}

// TestTLSHeadersAndCookies: over TLS every answer carries HSTS and every
// cookie is Secure, HttpOnly and SameSite=Strict; over plain HTTP (the demo
// on the server itself) there is no HSTS.
func TestTLSHeadersAndCookies(t *testing.T) {
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, _ := hardServer(t, dbURL(t), true, "https://localhost:8443")
		send := func(method, target string, form url.Values) *httptest.ResponseRecorder {
			var body io.Reader
			if form != nil {
				body = strings.NewReader(form.Encode())
			}
			req := httptest.NewRequest(method, target, body)
			if form != nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			return rec
		}
		for _, rec := range []*httptest.ResponseRecorder{
			send("POST", "https://localhost:8443/login/demo", url.Values{"verification_id": {node.DemoAdmin}}),
			send("GET", "https://localhost:8443/login?lang=en", nil),
			send("GET", "https://localhost:8443/api/v1/audit/checkpoint", nil),
			send("GET", "https://localhost:8443/nope", nil),
		} {
			if got := rec.Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=63072000") {
				t.Errorf("over TLS: Strict-Transport-Security %q", got)
			}
			checkSecurityHeaders(t, "over TLS", rec)
		}
		cookies := 0
		for _, rec := range []*httptest.ResponseRecorder{
			send("POST", "https://localhost:8443/login/demo", url.Values{"verification_id": {node.DemoAdmin}}),
			send("GET", "https://localhost:8443/login?lang=en", nil),
		} {
			for _, c := range rec.Result().Cookies() {
				cookies++
				if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
					t.Errorf("cookie %s over TLS: Secure %v HttpOnly %v SameSite %v", c.Name, c.Secure, c.HttpOnly, c.SameSite)
				}
			}
		}
		if cookies != 2 {
			t.Errorf("%d cookies set, want the session and the language", cookies)
		}
		if got := send("GET", "http://localhost:8080/login", nil).Header().Get("Strict-Transport-Security"); got != "" {
			t.Errorf("over plain HTTP: Strict-Transport-Security %q", got)
		}
	})
}

// TestBodyLimits: a screen's form larger than MaxFormBody is refused before
// it is read — announced (413) or streamed without a length (no sign-in);
// the JSON API refuses a body over 64 KiB.
func TestBodyLimits(t *testing.T) {
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, _ := hardServer(t, dbURL(t), true, "")
		big := "verification_id=" + node.DemoAdmin + "&pad=" + strings.Repeat("x", MaxFormBody)
		for _, chunked := range []bool{false, true} {
			req := httptest.NewRequest("POST", "/login/demo", strings.NewReader(big))
			if chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(strings.NewReader(big))
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			if rec.Code == http.StatusSeeOther || len(rec.Result().Cookies()) > 0 || (!chunked && rec.Code != http.StatusRequestEntityTooLarge) {
				t.Errorf("a %d-byte sign-in form (chunked %v): %d, cookies %v", len(big), chunked, rec.Code, rec.Result().Cookies())
			}
		}
		// Just under the limit is a form like any other.
		small := "verification_id=" + node.DemoAdmin + "&pad=" + strings.Repeat("x", MaxFormBody/2)
		b := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
		req := httptest.NewRequest("POST", "/login/demo", strings.NewReader(small))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = b.remote
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Errorf("a form under the limit: %d", rec.Code)
		}
		admin := signIn(t, s, node.DemoAdmin)
		req = httptest.NewRequest("POST", "/api/v1/search", strings.NewReader(`{"name":"`+strings.Repeat("あ", 30000)+`"}`))
		req.Header.Set("Content-Type", "application/json")
		req.RemoteAddr = admin.remote
		req.AddCookie(admin.cookie)
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "too large") {
			t.Errorf("a 90 KB API body: %d %s", rec.Code, rec.Body.String())
		}
	})
}

// TestServerTimeouts: the listeners' server closes a connection whose
// headers do not arrive in time (a slow client holding it open), one idle
// past the idle timeout, and refuses a header block over MaxHeaderBytes;
// the node's defaults are all set.
func TestServerTimeouts(t *testing.T) {
	d := DefaultTimeouts
	for name, v := range map[string]time.Duration{"ReadHeader": d.ReadHeader, "Read": d.Read, "Write": d.Write, "Idle": d.Idle} {
		if v <= 0 || v > 2*time.Minute {
			t.Errorf("DefaultTimeouts.%s = %v", name, v)
		}
	}
	if d.ReadHeader > d.Read {
		t.Errorf("header timeout %v longer than the request's %v", d.ReadHeader, d.Read)
	}
	short := Timeouts{ReadHeader: 300 * time.Millisecond, Read: time.Second, Write: time.Second, Idle: 400 * time.Millisecond}
	srv := NewHTTPServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }), slog.New(slog.NewTextHandler(io.Discard, nil)), short)
	if srv.MaxHeaderBytes != MaxHeaderBytes || srv.ReadHeaderTimeout != short.ReadHeader || srv.IdleTimeout != short.Idle || srv.WriteTimeout != short.Write || srv.ReadTimeout != short.Read {
		t.Fatalf("server %+v", srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	closedWithin := func(c net.Conn, d time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(d))
		_, err := io.ReadAll(c)
		return err == nil // EOF: the server closed it; a timeout is an error
	}
	// Slow headers: half a request line, then nothing.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
	if !closedWithin(c, 3*time.Second) {
		t.Error("a connection whose headers never end was not closed")
	}
	// Idle keep-alive: one request answered, then silence.
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c2), nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("request: %v", err)
	}
	resp.Body.Close()
	if !closedWithin(c2, 3*time.Second) {
		t.Error("an idle keep-alive connection was not closed")
	}
	// A header block over the limit.
	c3, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	io.WriteString(c3, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 2*MaxHeaderBytes)+"\r\n\r\n")
	resp, err = http.ReadResponse(bufio.NewReader(c3), nil)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a %d-byte header: %v %v", 2*MaxHeaderBytes, resp, err)
	}
}

// TestSignInRenewsSession: a sign-in never keeps a token the browser
// brought (a token planted by someone else is replaced), and ends the
// session the browser held before, so a token taken before the sign-in is
// worthless after it.
func TestSignInRenewsSession(t *testing.T) {
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, _ := hardServer(t, dbURL(t), true, "")
		b := &browser{t: t, s: s, remote: "127.0.0.1:40000", cookie: &http.Cookie{Name: sessionCookie, Value: "planted-by-an-attacker"}}
		if rec := b.do("POST", "/login/demo", url.Values{"verification_id": {node.DemoOperator}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", rec.Code)
		}
		if b.cookie == nil || b.cookie.Value == "planted-by-an-attacker" || len(b.cookie.Value) < 32 {
			t.Fatalf("session cookie after sign-in: %+v", b.cookie)
		}
		first := *b.cookie
		if rec := b.do("GET", "/", nil); rec.Code != http.StatusOK {
			t.Fatalf("signed in: %d", rec.Code)
		}
		// Signing in again (another operator at the same terminal) issues
		// a new token and ends the first.
		if rec := b.do("POST", "/login/demo", url.Values{"verification_id": {node.DemoAdmin}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("second sign-in: %d", rec.Code)
		}
		if b.cookie == nil || b.cookie.Value == first.Value {
			t.Fatalf("the second sign-in kept the token")
		}
		old := &browser{t: t, s: s, remote: b.remote, cookie: &first}
		if rec := old.do("GET", "/", nil); rec.Code != http.StatusSeeOther || !strings.HasPrefix(rec.Header().Get("Location"), "/login") {
			t.Errorf("the token from before the second sign-in: %d to %q, want the sign-in page", rec.Code, rec.Header().Get("Location"))
		}
		if rec := b.do("GET", "/", nil); rec.Code != http.StatusOK {
			t.Errorf("the new session: %d", rec.Code)
		}
	})
}

// TestLockoutAfterFailedSignIns: an operator enrolled with an authenticator
// who fails the profile's max_failed_logins sign-ins in a row is refused
// even with the right authenticator, until lockout_minutes have passed on
// the node's clock.
func TestLockoutAfterFailedSignIns(t *testing.T) {
	databases(t, func(t *testing.T, dbURL func(*testing.T) string) {
		s, clock := hardServer(t, dbURL(t), true, "")
		ctx := context.Background()
		const origin = "http://localhost:8080"
		vid := node.DemoOperator
		post := func(path, body string) (int, map[string]any) {
			req := httptest.NewRequest("POST", path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.RemoteAddr = "127.0.0.1:40000"
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			var out map[string]any
			json.Unmarshal(rec.Body.Bytes(), &out)
			if c := rec.Result().Cookies(); len(c) > 0 && c[0].Value != "" {
				out["cookie"] = c[0].Value
			}
			return rec.Code, out
		}
		options := func(m map[string]any) []byte { b, _ := json.Marshal(m["options"]); return b }
		token, err := s.auth.IssueEnrolment(ctx, adminWho(), vid)
		if err != nil {
			t.Fatal(err)
		}
		a := authtest.New()
		code, m := post("/enrol/"+token+"/begin", "")
		if code != 200 {
			t.Fatalf("enrol begin: %d %v", code, m)
		}
		if code, m := post("/enrol/"+token+"/finish?label=key&ceremony="+url.QueryEscape(m["ceremony"].(string)), string(a.Create(options(m), origin, true))); code != 200 {
			t.Fatalf("enrol finish: %d %v", code, m)
		}
		signIn := func(uv bool) (int, map[string]any) {
			code, m := post("/login/begin", `{"verification_id":"`+vid+`"}`)
			if code != 200 {
				return code, m
			}
			return post("/login/finish?ceremony="+url.QueryEscape(m["ceremony"].(string)), string(a.Get(options(m), origin, uv)))
		}
		if code, m := signIn(true); code != 200 || m["cookie"] == nil {
			t.Fatalf("sign-in with the authenticator: %d %v", code, m)
		}
		max, minutes := s.node.Profile.Session.MaxFailedLogins, s.node.Profile.Session.LockoutMinutes
		for i := range max {
			if code, m := signIn(false); code != http.StatusForbidden || m["cookie"] != nil {
				t.Fatalf("failed sign-in %d: %d %v", i+1, code, m)
			}
		}
		code, m = signIn(true)
		if code != http.StatusForbidden || m["cookie"] != nil || !strings.Contains(m["error"].(string), "ログインできません") {
			t.Fatalf("after %d failures, the right authenticator: %d %v", max, code, m)
		}
		clock.Advance(time.Duration(minutes-1) * time.Minute)
		if code, m := signIn(true); code != http.StatusForbidden || m["cookie"] != nil {
			t.Errorf("%d minutes into a %d-minute lockout: %d %v", minutes-1, minutes, code, m)
		}
		clock.Advance(2 * time.Minute)
		if code, m := signIn(true); code != 200 || m["cookie"] == nil {
			t.Errorf("after the lockout: %d %v", code, m)
		}
	})
}

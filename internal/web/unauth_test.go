package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
)

// TestHealthTellsTheTruth: /healthz fails while the audit log cannot be
// written (every audited request is refused then), and recovers with it.
func TestHealthTellsTheTruth(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	probe := &browser{t: t, s: s, remote: "192.0.2.1:1"}
	if rec := probe.do("GET", "/healthz", nil); rec.Code != http.StatusOK {
		t.Fatalf("healthy node: %d", rec.Code)
	}
	// The log's table out of reach, as on a full disk: an audited
	// request (a sign-in) is refused.
	if _, err := s.node.DB.Exec(ctx, `ALTER TABLE audit_entry RENAME TO audit_entry_away`); err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
	if rec := b.do("POST", "/login/demo", map[string][]string{"verification_id": {node.DemoOperator}}); rec.Code == http.StatusSeeOther {
		t.Fatal("signed in without an audit entry")
	}
	if rec := probe.do("GET", "/healthz", nil); rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "audit log") {
		t.Errorf("node that cannot write its log: %d %s, want 503", rec.Code, rec.Body.String())
	}
	if _, err := s.node.DB.Exec(ctx, `ALTER TABLE audit_entry_away RENAME TO audit_entry`); err != nil {
		t.Fatal(err)
	}
	signIn(t, s, node.DemoOperator)
	if rec := probe.do("GET", "/healthz", nil); rec.Code != http.StatusOK {
		t.Errorf("after the log was written again: %d", rec.Code)
	}
}

// TestStatusAndStaticShowOnlyWhatIsPublic: anonymous /status names the
// node but not its register, log, schema or key; signed-in staff see
// them; /static/ is not listed.
func TestStatusAndStaticShowOnlyWhatIsPublic(t *testing.T) {
	s, _ := demoServer(t)
	// html/template writes the key's + as &#43;.
	secret := []string{strings.ReplaceAll(s.node.Info.PublicKey, "+", "&#43;"), "住民数", "スキーマ版数", "監査ログ", "ノード公開鍵", "1人"}
	anon := &browser{t: t, s: s, remote: "192.0.2.1:1"}
	rec := anon.do("GET", "/status", nil)
	if body := rec.Body.String(); rec.Code != http.StatusOK || !strings.Contains(body, "江東区") {
		t.Errorf("anonymous /status: %d, lacks the node's name", rec.Code)
	}
	for _, w := range secret {
		if strings.Contains(rec.Body.String(), w) {
			t.Errorf("anonymous /status shows %q", w)
		}
	}
	clerk := signIn(t, s, node.DemoOperator)
	body := clerk.do("GET", "/status", nil).Body.String()
	for _, w := range secret {
		if !strings.Contains(body, w) {
			t.Errorf("signed-in /status lacks %q", w)
		}
	}
	for path, want := range map[string]int{"/static/": 404, "/static": 404, "/static/jukinet.css": 200, "/static/vendor/": 404} {
		if got := anon.do("GET", path, nil).Code; got != want && !(path == "/static" && got == http.StatusTemporaryRedirect) {
			t.Errorf("GET %s: %d, want %d", path, got, want)
		}
	}
}

// TestSignInFromNonTerminalNotInOperatorsName: /login/begin from a host
// that is not a terminal, naming a real operator, writes nothing in that
// operator's name.
func TestSignInFromNonTerminalNotInOperatorsName(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	before, err := s.node.Log.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	outsider := &browser{t: t, s: s, remote: "203.0.113.50:40000"}
	for range 50 {
		req := strings.NewReader(`{"verification_id":"` + node.DemoOfficer + `"}`)
		rec := postJSON(outsider, "/login/begin", req)
		if rec.Code != http.StatusForbidden {
			t.Fatalf("sign-in from a non-terminal: %d %s", rec.Code, rec.Body.String())
		}
	}
	if err := s.node.Log.FlushRefusals(ctx, true); err != nil {
		t.Fatal(err)
	}
	listed, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{After: before - 1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) == 0 || len(listed) > 2 {
		t.Errorf("%d entries for 50 refused sign-ins from one host, want 1 or 2", len(listed))
	}
	for _, l := range listed {
		if l.Entry.Actor.Kind != auditlog.ActorHost || l.Entry.Actor.ID != "203.0.113.50" || strings.Contains(l.Entry.Detail, node.DemoOfficer) {
			t.Errorf("entry %d: actor %v, detail %s", l.Seq, l.Entry.Actor, l.Entry.Detail)
		}
	}
}

// postJSON posts a JSON body from b's address.
func postJSON(b *browser, path string, body *strings.Reader) *httptest.ResponseRecorder {
	b.t.Helper()
	req := httptest.NewRequest("POST", path, body)
	req.Header.Set("Content-Type", "application/json")
	req.RemoteAddr = b.remote
	rec := httptest.NewRecorder()
	b.s.ServeHTTP(rec, req)
	return rec
}

// TestSignInAtTerminalAnswersAlike: at an approved terminal (the demo's
// loopback), /login/begin with any id — unknown, long, with a
// right-to-left override or a NUL, or a real person's without a
// credential — gets one answer, leaves a bounded number of fixed-size
// entries that are the terminal's, and raises no denials finding against
// the person named.
func TestSignInAtTerminalAnswersAlike(t *testing.T) {
	s, _ := demoServer(t)
	ctx := context.Background()
	before, err := s.node.Log.Size(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at := &browser{t: t, s: s, remote: "127.0.0.1:40000"}
	begin := func(vid string) string {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"verification_id": vid})
		rec := postJSON(at, "/login/begin", strings.NewReader(string(b)))
		if rec.Code == http.StatusOK {
			t.Fatalf("sign-in of %.20q begun", vid)
		}
		return fmt.Sprint(rec.Code, " ", rec.Body.String())
	}
	unknown := begin("X0")
	tries := map[string]string{node.DemoChief: begin(node.DemoChief)}
	for i := range 300 {
		tries[fmt.Sprintf("X%d", i)] = begin(fmt.Sprintf("X%d", i))
	}
	tries["rtl"] = begin("\u202e" + strings.Repeat("A", 3900))
	tries["nul"] = begin("K\x000001")
	for range 6 {
		tries[node.DemoChief] = begin(node.DemoChief)
	}
	for what, got := range tries {
		if got != unknown {
			t.Errorf("begin with %.20q answers %s, an unknown id %s", what, got, unknown)
		}
	}
	if err := s.node.Log.FlushRefusals(ctx, true); err != nil {
		t.Fatal(err)
	}
	listed, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{After: before - 1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	// Two kinds (unknown id, no credential): a first entry and a count each.
	if len(listed) == 0 || len(listed) > 4 {
		t.Errorf("%d entries for 309 refused sign-ins at one terminal, want 1 to 4", len(listed))
	}
	for _, l := range listed {
		enc, _ := l.Entry.Encode()
		if l.Entry.Actor != (auditlog.Actor{Kind: auditlog.ActorTerminal, ID: node.DemoTerminal}) || len(enc) > 1024 || strings.Contains(string(enc), "AAAA") {
			t.Errorf("entry %d (%d bytes): actor %v: %.200s", l.Seq, len(enc), l.Entry.Actor, enc)
		}
	}
	if len(listed) > 0 {
		day := listed[0].At.In(jptext.JST).Format(time.DateOnly)
		for _, f := range detect.Evaluate(detect.DefaultSettings, day, listed) {
			if f.Rule == detect.RuleDenials {
				t.Errorf("a denials finding from sign-in attempts at a terminal: %+v", f)
			}
		}
	}
}

// BenchmarkSignInBeginRefused times /login/begin at an approved terminal
// refusing an id that does not exist and one that exists without a
// credential (the demo's chief security officer): the two should take
// about as long, so the answer's timing does not tell which staff ids
// exist (issue 23 item 8).
func BenchmarkSignInBeginRefused(b *testing.B) {
	n, _ := nodetest.Open(b, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true})
	s, err := New(n, Options{Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	for name, vid := range map[string]string{"unknown-id": "X0001", "no-credential": node.DemoChief} {
		b.Run(name, func(b *testing.B) {
			body := `{"verification_id":"` + vid + `"}`
			for b.Loop() {
				req := httptest.NewRequest("POST", "/login/begin", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.RemoteAddr = "127.0.0.1:40000"
				rec := httptest.NewRecorder()
				s.ServeHTTP(rec, req)
				if rec.Code == http.StatusOK {
					b.Fatalf("sign-in of %s begun", vid)
				}
			}
		})
	}
}

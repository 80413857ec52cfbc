package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
)

func newServer(t *testing.T) *Server {
	t.Helper()
	n, _ := nodetest.Open(t, node.InitOptions{Profile: "aomori-pref", LocalGovCode: "020001"})
	s, err := New(n, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPages(t *testing.T) {
	s := newServer(t)
	tests := []struct {
		path, cookie string
		status       int
		want, not    string
	}{
		{"/status", "", 200, "青森県", "DEMO"},
		{"/status", "", 200, "都道府県（都道府県サーバ）", ""},
		{"/status?lang=en", "", 200, "Prefecture (都道府県サーバ)", ""},
		{"/status", "en", 200, "Node status", ""},
		{"/", "", 303, "", ""},
		{"/login", "", 200, "照合ID", "DEMO"},
		{"/login", "", 200, "承認された端末として識別できません", ""},
		{"/static/jukinet.js", "", 200, "navigator.credentials.get", ""},
		{"/healthz", "", 200, "ok", ""},
		{"/static/jukinet.css", "", 200, "focus-visible", ""},
		{"/nope", "", 404, "", ""},
	}
	for _, tt := range tests {
		req := httptest.NewRequest("GET", tt.path, nil)
		if tt.cookie != "" {
			req.AddCookie(&http.Cookie{Name: "lang", Value: tt.cookie})
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		body := rec.Body.String()
		if rec.Code != tt.status || !strings.Contains(body, tt.want) || (tt.not != "" && strings.Contains(body, tt.not)) {
			t.Errorf("GET %s (lang %q): %d, want %d with %q and without %q", tt.path, tt.cookie, rec.Code, tt.status, tt.want, tt.not)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy"} {
			if rec.Header().Get(h) == "" {
				t.Errorf("GET %s: no %s header", tt.path, h)
			}
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	s := newServer(t)
	req := httptest.NewRequest("POST", "/", strings.NewReader("x=1"))
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", rec.Code)
	}
}

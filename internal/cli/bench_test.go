package cli

import (
	"strings"
	"testing"

	"jukinet/internal/db/dbtest"
)

// TestBenchFlags: values the benchmark cannot run with are refused before
// anything is built, naming the flag.
func TestBenchFlags(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--residents", "0"}, "--residents 0: must be 1 or more"},
		{[]string{"--residents=-5"}, "--residents -5: must be 1 or more"},
		{[]string{"--duration", "0s"}, "--duration 0s: must be longer than 0"},
		{[]string{"--workers", "0"}, "--workers 0: must be 1 or more"},
		{[]string{"--clients", "0"}, "--clients 0: must be 1 or more"},
		{[]string{"--sustained=-1s"}, "--sustained -1s: must be 0 (skip the row) or more"},
		{[]string{"--http-only", "--import-only"}, "--http-only measures the HTTP rows alone"},
		{[]string{"--http-only", "--wal-only"}, "--http-only measures the HTTP rows alone"},
		{[]string{"--http-cpuprofile", "x.prof"}, "--http-cpuprofile profiles the HTTP rows: give --http or --http-only too"},
		{[]string{"--duration", "soon"}, "--duration"},
		{[]string{"--clients", "many"}, "--clients"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"bench"}, tt.args...)...)
			if code == 0 || !strings.Contains(errOut, tt.want) || strings.Contains(out, "measurement") {
				t.Errorf("exit %d, stderr %q, stdout %q; want a failure naming %q", code, errOut, out, tt.want)
			}
		})
	}
}

// TestBenchHTTPOnly runs the HTTP rows on a small register, on both
// databases, and prints them with the goal table.
func TestBenchHTTPOnly(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresURL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"bench", "--http-only", "--residents", "200", "--duration", "200ms", "--clients", "4"}
			if u := tt.url(t); u != "" {
				args = append(args, "--db", u)
			}
			code, out, errOut := run(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, errOut, out)
			}
			for _, want := range []string{"lookup through the node's gate in process, 4 clients", "HTTP floor", "HTTP JSON lookup, 4 keep-alive clients",
				"goal (issue 20)", "HTTP JSON lookups, 64 keep-alive clients", "audited lookup by 住民票コード, 64 clients"} {
				if !strings.Contains(out, want) {
					t.Errorf("no %q in:\n%s", want, out)
				}
			}
			// Without --journal or --no-journal the run journals as a node
			// on the same database does by default: on SQLite only.
			if got, want := strings.Contains(out, "audit journal)"), tt.name == "sqlite"; got != want {
				t.Errorf("table says audit journal: %v, want %v:\n%s", got, want, out)
			}
			if strings.Contains(out, "ERROR") {
				t.Errorf("a row failed:\n%s", out)
			}
		})
	}
}

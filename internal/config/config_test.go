package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown key", "[node]\nlevel = \"municipality\"\n\n[http]\nadress = \"x\"\n", `jukinet.toml:5: unknown key "http.adress"`},
		{"unknown table", "[nodes]\nlevel = \"x\"\n", `jukinet.toml:1: unknown key "nodes"`},
		{"unknown top key", "demo = true\n", `jukinet.toml:1: unknown key "demo"`},
		{"wrong type", "[node]\ndemo = \"yes\"\n", "jukinet.toml"},
		{"bad duration", "[http]\nshutdown_timeout = \"soon\"\n", `duration "soon"`},
		{"bad log level", "[log]\nlevel = \"loud\"\n", `log.level "loud"`},
		{"WAL bound too small", "[database]\nwal_limit_mib = 1\n", `database.wal_limit_mib = 1: give the SQLite WAL's bound in MiB, from 4`},
		{"WAL bound as text", "[database]\nwal_limit_mib = \"64MB\"\n", "wal_limit_mib"},
		{"WAL bound misspelt", "[database]\nwal_limit = 64\n", `jukinet.toml:2: unknown key "database.wal_limit"`},
		{"syntax", "[node\n", "to end table name"},
		{"peer address without TLS", "[http]\npeer_addr = \"127.0.0.1:8443\"\n", "http.peer_addr needs http.tls = true"},
		{"TLS without a peer address", "[http]\ntls = true\n", "http.tls = true needs http.peer_addr"},
		{"peer address without port", "[http]\ntls = true\npeer_addr = \"127.0.0.1\"\n", "give host:port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(writeFile(t, tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Load error = %v, want %q", err, tt.want)
			}
		})
	}
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no node here") {
		t.Errorf("Load(empty dir) error = %v", err)
	}
}

func TestWriteLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	c := Default()
	c.Node.LocalGovCode, c.Node.Profile, c.Node.Demo = "131083", "koto-ward", true
	c.HTTP.ShutdownTimeout = Duration{3 * time.Second}
	c.Database.WALLimitMiB = 16
	if err := Write(dir, c, []string{"koto-ward", "aomori-pref"}); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, c)
	}
	if err := Write(dir, c, nil); err == nil {
		t.Error("Write over an existing file succeeded")
	}
}

func TestEnvOverrides(t *testing.T) {
	dir := writeFile(t, "[node]\nlocal_gov_code = \"131083\"\n")
	t.Setenv(EnvDatabaseURL, "postgres://127.0.0.1/other")
	t.Setenv(EnvAddr, "127.0.0.1:9999")
	c, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.URL != "postgres://127.0.0.1/other" || c.HTTP.Addr != "127.0.0.1:9999" {
		t.Errorf("overrides not applied: %+v", c)
	}
	if c.Log.Level != "info" || c.Node.SigningKey != "node.key" {
		t.Errorf("defaults not kept: %+v", c)
	}
}

// TestJournalDefault: a file that does not set audit.journal takes its
// database's default (on for SQLite, off for PostgreSQL, also when the
// database comes from the environment); a file that sets it keeps it.
func TestJournalDefault(t *testing.T) {
	tests := []struct {
		name, body, envURL string
		want               bool
	}{
		{"SQLite, not set", "[node]\nlevel = \"municipality\"\n", "", true},
		{"PostgreSQL, not set", "[database]\nurl = \"postgres://127.0.0.1/jk\"\n", "", false},
		{"SQLite in the file, PostgreSQL from the environment", "[node]\nlevel = \"municipality\"\n", "postgres://127.0.0.1/other", false},
		{"SQLite, set off", "[audit]\njournal = false\n", "", false},
		{"PostgreSQL, set on", "[database]\nurl = \"postgres://127.0.0.1/jk\"\n\n[audit]\njournal = true\n", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvDatabaseURL, tt.envURL)
			c, err := Load(writeFile(t, tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if c.Audit.Journal != tt.want {
				t.Errorf("audit.journal = %v, want %v", c.Audit.Journal, tt.want)
			}
			if tt.envURL == "" {
				p, err := Parse(FileName, []byte(tt.body))
				if err != nil || p.Audit.Journal != tt.want {
					t.Errorf("Parse: audit.journal = %v (%v), want %v", p.Audit.Journal, err, tt.want)
				}
			}
		})
	}
}

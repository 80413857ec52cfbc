package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/config"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/profile"
)

func TestInitOpen(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresURL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "node")
			opt := InitOptions{Dir: dir, Profile: "aomori-pref", LocalGovCode: "020001", DatabaseURL: tt.url(t)}
			if _, err := Init(ctx, opt); err != nil {
				t.Fatal(err)
			}
			st, err := os.Stat(filepath.Join(dir, "node.key"))
			if err != nil || st.Mode().Perm() != 0o600 {
				t.Fatalf("node.key: %v, mode %v; want 0600", err, st.Mode().Perm())
			}
			n, err := Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if n.Info.Name() != "青森県" || n.Info.Level != profile.Prefecture || n.Info.Profile.ID != "aomori-pref" || n.Info.Demo {
				t.Errorf("Info = %+v", n.Info)
			}
			if n.Signer.Name() != "jukinet-020001" || n.Verifier.KeyHash() != n.Signer.KeyHash() {
				t.Errorf("signer %s / verifier %s", n.Signer.Name(), n.Verifier.Name())
			}
			// A second init refuses, whatever the database.
			if _, err := Init(ctx, opt); err == nil || !strings.Contains(err.Error(), "already holds a node") {
				t.Errorf("second Init error = %v", err)
			}
		})
	}
}

func TestInitRefusesAndLeavesNothing(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		opt  InitOptions
		want string
	}{
		{"unknown profile", InitOptions{Profile: "osaka", LocalGovCode: "131083"}, `unknown profile "osaka"`},
		{"check digit", InitOptions{Profile: "koto-ward", LocalGovCode: "131084"}, "check digit is 4, expected 3"},
		{"no such body", InitOptions{Profile: "koto-ward", LocalGovCode: "999997"}, "no local government has this code"},
		{"prefecture as municipality", InitOptions{Profile: "koto-ward", LocalGovCode: "130001"}, "a municipality node serves"},
		{"city as prefecture", InitOptions{Profile: "aomori-pref", LocalGovCode: "022012"}, "not a prefecture"},
		{"bad level", InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Level: "city"}, `unknown level "city"`},
		{"bad db url", InitOptions{Profile: "koto-ward", LocalGovCode: "131083", DatabaseURL: "mysql://x"}, "must start with sqlite:"},
		{"unreachable db", InitOptions{Profile: "koto-ward", LocalGovCode: "131083", DatabaseURL: "postgres://127.0.0.1:1/x?connect_timeout=2"}, "cannot reach database"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			tt.opt.Dir = filepath.Join(parent, "node")
			_, err := Init(ctx, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Init error = %v, want %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("Init left %d entries behind, e.g. %s", len(entries), entries[0].Name())
			}
		})
	}
	// In a folder that existed before, only the folder stays.
	dir := t.TempDir()
	_, err := Init(ctx, InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", DatabaseURL: "postgres://127.0.0.1:1/x?connect_timeout=2"})
	if err == nil {
		t.Fatal("Init with unreachable database succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Init left %s behind in an existing folder", entries[0].Name())
	}
}

func TestOpenChecksConsistency(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := Init(ctx, InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", Demo: true}); err != nil {
		t.Fatal(err)
	}
	n, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n.Info.Name() != "東京都江東区" || !n.Info.Demo {
		t.Errorf("Info = %+v", n.Info)
	}
	n.Close()

	// A config edited to another body no longer matches the database.
	path := filepath.Join(dir, config.FileName)
	raw, _ := os.ReadFile(path)
	os.WriteFile(path, []byte(strings.Replace(string(raw), `"131083"`, `"131016"`, 1)), 0o644)
	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "belongs to node 131083") {
		t.Errorf("Open with mismatched config error = %v", err)
	}
	os.WriteFile(path, raw, 0o644)

	// A retention below the law (7 years for provision records) is refused
	// at start, before anything could be pruned.
	for _, years := range []string{"1", "6"} {
		os.WriteFile(path, []byte(strings.Replace(string(raw), "retention_years = 7", "retention_years = "+years, 1)), 0o644)
		if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "retention_years = "+years+" is below the 7 years") {
			t.Errorf("Open with retention_years = %s: error = %v", years, err)
		}
	}
	os.WriteFile(path, raw, 0o644)

	// A key others can read is refused.
	os.Chmod(filepath.Join(dir, "node.key"), 0o644)
	if _, err := Open(ctx, dir); err == nil || !strings.Contains(err.Error(), "readable by others") {
		t.Errorf("Open with 0644 key error = %v", err)
	}
}

package federation

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"jukinet/internal/config"
	"jukinet/internal/node"
)

// TestMetricsShowTheWAL: an SQLite node's metrics carry its write-ahead
// log's size and the bound set in jukinet.toml, which reaches the database.
func TestMetricsShowTheWAL(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "131083")
	if _, err := node.Init(ctx, node.InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, config.FileName)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "wal_limit_mib = 64\n") {
		t.Fatalf("%s does not set wal_limit_mib = 64:\n%s", path, raw)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(raw), "wal_limit_mib = 64\n", "wal_limit_mib = 8\n", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if err := n.OpenGate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewCollector(n))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			switch {
			case m.GetGauge() != nil:
				got[f.GetName()] = m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[f.GetName()] = m.GetCounter().GetValue()
			}
		}
	}
	if v := got["jukinet_sqlite_wal_limit_bytes"]; v != 8<<20 {
		t.Errorf("jukinet_sqlite_wal_limit_bytes = %v, want %d (wal_limit_mib = 8)", v, 8<<20)
	}
	for _, name := range []string{"jukinet_sqlite_wal_bytes", "jukinet_sqlite_wal_cuts_total", "jukinet_sqlite_wal_cuts_failed_total"} {
		if _, ok := got[name]; !ok {
			t.Errorf("no %s metric", name)
		}
	}
}

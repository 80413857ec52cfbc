package cli

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/federation"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// TestRecoverCommand: a node restored from a backup is refused by serve,
// naming jukinet recover; jukinet recover prints what came back and the
// gap, after which audit verify passes and serve no longer refuses it; run
// again on the recovered node it refuses (no false gap). A node without a
// witness is told what to register first.
func TestRecoverCommand(t *testing.T) { eachDatabase(t, testRecoverCommand) }

func testRecoverCommand(t *testing.T, dbURL string) {
	ctx := context.Background()
	dir := newNode(t, dbURL)
	if code, _, errOut := run(t, "recover", "--data", dir); code == 0 || !strings.Contains(errOut, "peer add --role upstream") {
		t.Errorf("recover without a witness: %d %s", code, errOut)
	}
	// 東京都 as the upstream witness, served in this process.
	tokyo := filepath.Join(t.TempDir(), "tokyo")
	args := []string{"init", "--data", tokyo, "--profile", "aomori-pref", "--local-gov", "130001"}
	if dbURL != "" {
		args = append(args, "--db", dbtest.PostgresURL(t))
	}
	if code, _, errOut := run(t, args...); code != 0 {
		t.Fatal(errOut)
	}
	pref := openIn(t, tokyo)
	recv := federation.NewReceiver(pref, nil)
	mux := http.NewServeMux()
	mux.Handle("/federation/v1/batches", recv)
	mux.HandleFunc("/federation/v1/check", recv.ServeCheck)
	mux.HandleFunc("/federation/v1/witness", recv.ServeWitness)
	mux.HandleFunc("/federation/v1/entries", recv.ServeEntries)
	mux.HandleFunc("/federation/v1/recover", recv.ServeRecover)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	pb, err := federation.Export(pref, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := federation.MarshalBundle(pb)
	file := filepath.Join(t.TempDir(), "tokyo.json")
	os.WriteFile(file, raw, 0o644)
	if code, _, errOut := run(t, "peer", "add", "--data", dir, "--role", "upstream", file); code != 0 {
		t.Fatal(errOut)
	}
	_, bundle, _ := run(t, "peer", "export", "--data", dir)
	mb, err := federation.UnmarshalBundle([]byte(bundle))
	if err != nil {
		t.Fatal(err)
	}
	who := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Origin: "host:test"}
	if err := federation.Add(ctx, pref, who, federation.Downstream, mb); err != nil {
		t.Fatal(err)
	}
	work := func(seed string) {
		t.Helper()
		_, csvText, _ := run(t, "gen", "residents", "--count", "5", "--local-gov", "131083", "--seed", seed)
		f := filepath.Join(t.TempDir(), "r.csv")
		os.WriteFile(f, []byte(csvText), 0o644)
		if code, out, errOut := run(t, "import", "residents", "--data", dir, f); code != 0 {
			t.Fatalf("import: %s %s", out, errOut)
		}
		n := openIn(t, dir)
		s := federation.NewSender(n, nil)
		if _, err := s.DeliverOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := n.Log.Checkpoint(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := s.WitnessOnce(ctx); !ok || err != nil {
			t.Fatalf("witness: %v %v", ok, err)
		}
		n.Close()
	}
	work("7")
	// The backup, more work, and the node lost.
	backups := t.TempDir()
	if code, out, errOut := run(t, "backup", "--data", dir, "--to", backups, "--plain"); code != 0 {
		t.Fatalf("backup: %s %s", out, errOut)
	}
	work("8")
	files, _ := filepath.Glob(filepath.Join(backups, "*.jkbackup"))
	if len(files) != 1 {
		t.Fatalf("backups: %v", files)
	}
	restored := filepath.Join(t.TempDir(), "restored")
	args = []string{"restore", "--from", files[0], "--data", restored}
	if dbURL != "" {
		args = append(args, "--db", dbtest.PostgresURL(t))
	}
	if code, out, errOut := run(t, args...); code != 0 || !strings.Contains(out, "jukinet recover --data") {
		t.Fatalf("restore: %d %s %s", code, out, errOut)
	}

	code, _, errOut := run(t, "serve", "--data", restored, "--addr", freeAddr(t))
	if code == 0 || !strings.Contains(errOut, "jukinet recover --data") {
		t.Fatalf("serve on a restored node that was not recovered: %d %s", code, errOut)
	}
	code, out, errOut := run(t, "recover", "--data", restored)
	if code != 0 {
		t.Fatalf("recover: %d %s %s", code, out, errOut)
	}
	for _, want := range []string{"came back from witness 130001", "an unknown number of entries after it are lost", "5 reached the upstream after the backup",
		"5 repaired from the upstream's copy", "Changes not found: none", "Witness 130001 cosigned the recovered log with its gap"} {
		if !strings.Contains(out, want) {
			t.Errorf("recover's report lacks %q:\n%s", want, out)
		}
	}
	if code, out, errOut := run(t, "audit", "verify", "--data", restored); code != 0 {
		t.Errorf("audit verify after recovery: %s %s", out, errOut)
	}
	// Run again on the recovered (healthy) node: refused, no false gap.
	if code, _, errOut := run(t, "recover", "--data", restored); code == 0 || !strings.Contains(errOut, "--restored") {
		t.Errorf("recover on a node not behind its witness: %d %s", code, errOut)
	}
	r := openIn(t, restored)
	if err := federation.CheckRecovered(ctx, r); err != nil {
		t.Errorf("the recovered node may not serve: %v", err)
	}
	r.Close()
}

// openIn opens the node in dir with its gate, on the tests' clock.
func openIn(t *testing.T, dir string) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	n.Now = testClock.Now
	if err := n.OpenGate(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return n
}

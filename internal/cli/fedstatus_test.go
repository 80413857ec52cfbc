package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"jukinet/internal/federation"
	"jukinet/internal/node"
)

// TestFederationStatusSaysSuspendedOrFailing: jukinet federation status
// says that delivery upstream is suspended (naming the suspension and how
// to lift it) or failing (with the last error), not only a lag.
func TestFederationStatusSaysSuspendedOrFailing(t *testing.T) {
	eachDatabase(t, testFederationStatusSaysSuspendedOrFailing)
}

func testFederationStatusSaysSuspendedOrFailing(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	tokyo := filepath.Join(t.TempDir(), "tokyo")
	if code, _, errOut := run(t, "init", "--data", tokyo, "--profile", "aomori-pref", "--local-gov", "130001"); code != 0 {
		t.Fatal(errOut)
	}
	// An upstream nobody answers for.
	_, bundle, _ := run(t, "peer", "export", "--data", tokyo, "--url", "http://127.0.0.1:9")
	file := filepath.Join(t.TempDir(), "tokyo.json")
	os.WriteFile(file, []byte(bundle), 0o644)
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(args, "--data", dir)...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
		return out
	}
	must("peer", "add", "--role", "upstream", file)
	// Changes to deliver.
	_, csvText, _ := run(t, "gen", "residents", "--count", "3", "--local-gov", "131083", "--seed", "4")
	residents := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(residents, []byte(csvText), 0o644)
	must("import", "residents", residents)
	if out := must("federation", "status"); !strings.Contains(out, "delivery: ok") {
		t.Errorf("status before any try:\n%s", out)
	}
	out := must("suspend", "--scope", "outbound", "--reason", "点検中")
	id := regexp.MustCompile(`Suspension (\d+) in force`).FindStringSubmatch(out)
	if id == nil {
		t.Fatalf("suspend: %s", out)
	}
	if out := must("federation", "status"); !strings.Contains(out, "delivery: SUSPENDED here (outbound suspension "+id[1]) ||
		!strings.Contains(out, "点検中") || !strings.Contains(out, "--lift "+id[1]) {
		t.Errorf("status while suspended:\n%s", out)
	}
	// The serving node's sender tries (here in-process): refused by the
	// suspension, then, lifted, failing to reach the upstream.
	deliver := func() error {
		t.Helper()
		n, err := node.Open(context.Background(), dir)
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		n.Now = testClock.Now
		if err := n.OpenGate(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		_, err = federation.NewSender(n, nil).DeliverOnce(context.Background())
		return err
	}
	if err := deliver(); !federation.IsSuspension(err) {
		t.Fatalf("delivery while suspended: %v", err)
	}
	if out := must("federation", "status"); !strings.Contains(out, "delivery: SUSPENDED") || !strings.Contains(out, "last error") || !strings.Contains(out, "利用停止") {
		t.Errorf("status after a refused try:\n%s", out)
	}
	must("suspend", "--lift", id[1], "--reason", "点検終了")
	if err := deliver(); err == nil || federation.IsSuspension(err) {
		t.Fatalf("delivery to an unreachable upstream: %v", err)
	}
	if out := must("federation", "status"); !strings.Contains(out, "delivery: FAILING") || !strings.Contains(out, "last error") || !strings.Contains(out, "send to 130001") {
		t.Errorf("status while failing:\n%s", out)
	}
}

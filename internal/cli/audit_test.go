package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/clocktest"
	"jukinet/internal/config"
	"jukinet/internal/node"
)

func TestAuditPrune(t *testing.T) { eachDatabase(t, testAuditPrune) }

// testAuditPrune: prune cuts at midnight in Japan seven years back, whatever
// the server's zone; it is decided by the policies like any console act, so
// it is refused, and the refusal logged, when console use is off.
func testAuditPrune(t *testing.T, dbURL string) {
	jst := time.FixedZone("JST", 9*60*60)
	// The node is created at 08:30 on 1 April 2019 in Japan.
	clock := clocktest.Frozen(time.Date(2019, 4, 1, 8, 30, 0, 0, jst))
	dir := filepath.Join(t.TempDir(), "node")
	args := []string{"init", "--data", dir, "--profile", "koto-ward", "--local-gov", "131083"}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	if code, _, errOut := runAt(t, clock.Now, args...); code != 0 {
		t.Fatal(errOut)
	}
	// At 00:30 on 2 April in Japan (still 1 April in UTC), a staff change.
	clock.Set(time.Date(2019, 4, 2, 0, 30, 0, 0, jst))
	if code, _, errOut := runAt(t, clock.Now, "staff", "add", "--data", dir, "--id", "K0100", "--name", "区民 次郎", "--department", "kumin", "--title", "主事"); code != 0 {
		t.Fatal(errOut)
	}

	// Seven years on, at 08:00 on 2 April 2026 in Japan (23:00 on 1 April
	// UTC): what was written on 1 April (JST) is past retention; the staff
	// change of 2 April is not.
	clock.Set(time.Date(2026, 4, 2, 8, 0, 0, 0, jst))
	cfg := filepath.Join(dir, config.FileName)
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), "lookup = true", "lookup = false", 1)), 0o644)
	code, out, errOut := runAt(t, clock.Now, "audit", "prune", "--data", dir)
	if code == 0 || !strings.Contains(errOut, "not allowed") {
		t.Fatalf("prune with console use off: exit %d, %s%s", code, out, errOut)
	}
	if pruned, kept := prunedAndKept(t, dir); pruned != 0 {
		t.Fatalf("a refused prune pruned %d entries", pruned)
	} else if denied := lastEntry(t, dir); !strings.Contains(denied, `"action":"prune"`) || !strings.Contains(denied, `"decision":"deny"`) {
		t.Errorf("the refusal is not the last entry (of %d): %s", kept, denied)
	}

	os.WriteFile(cfg, raw, 0o644)
	code, out, errOut = runAt(t, clock.Now, "audit", "prune", "--data", dir)
	if code != 0 || !strings.Contains(out, "before 2019-04-02 (JST)") {
		t.Fatalf("prune: exit %d, %s%s", code, out, errOut)
	}
	pruned, _ := prunedAndKept(t, dir)
	if pruned == 0 || !strings.Contains(out, "Pruned ") {
		t.Fatalf("prune pruned %d entries: %s", pruned, out)
	}
	var staffAdd int
	n := openTestNode(t, dir)
	if err := n.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_entry WHERE payload IS NOT NULL AND at < ?`,
		time.Date(2019, 4, 2, 1, 0, 0, 0, jst)).Scan(&staffAdd); err != nil {
		t.Fatal(err)
	}
	if staffAdd != 1 {
		t.Errorf("entries of 2 April 2019 (JST) that kept their content: %d, want the staff change", staffAdd)
	}
}

// openTestNode opens the node in dir (without its gate) until t ends.
func openTestNode(t *testing.T, dir string) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// prunedAndKept counts the node's entries without and with their content.
func prunedAndKept(t *testing.T, dir string) (pruned, kept int) {
	t.Helper()
	n := openTestNode(t, dir)
	if err := n.DB.QueryRow(context.Background(), `SELECT COUNT(*) FILTER (WHERE payload IS NULL), COUNT(*) FILTER (WHERE payload IS NOT NULL) FROM audit_entry`).Scan(&pruned, &kept); err != nil {
		t.Fatal(err)
	}
	return pruned, kept
}

// lastEntry is the content of the node's last audit entry.
func lastEntry(t *testing.T, dir string) string {
	t.Helper()
	n := openTestNode(t, dir)
	var payload []byte
	if err := n.DB.QueryRow(context.Background(), `SELECT payload FROM audit_entry ORDER BY seq DESC LIMIT 1`).Scan(&payload); err != nil {
		t.Fatal(err)
	}
	return string(payload)
}

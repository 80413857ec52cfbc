package cli

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/gate"
	"jukinet/internal/node"
)

// TestDetectCommands: with daily_residents lowered to 2, three look-ups by
// a colleague on the console are a volume alert; detect run raises it
// once, detect list shows it, detect close closes it with a finding, and a
// setting that cannot work is refused with its name. An alert about the
// closing console user's own look-ups is not his to close.
func TestDetectCommands(t *testing.T) { eachDatabase(t, testDetectCommands) }

func testDetectCommands(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "5", dbURL)
	conf := filepath.Join(dir, "jukinet.toml")
	raw, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "daily_residents = 200") {
		t.Fatalf("init wrote no [detection] section:\n%s", raw)
	}
	os.WriteFile(conf, []byte(strings.Replace(string(raw), "daily_residents = 200", "daily_residents = 2", 1)), 0o600)
	// A colleague's look-ups (another console user), through the gate.
	ctx := context.Background()
	n, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.OpenGate(ctx, slog.New(slog.NewTextHandler(io.Discard, nil))); err != nil {
		t.Fatal(err)
	}
	colleague := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "colleague-" + consoleWho().Actor.ID}, Origin: "host:test",
		Affair: "juminhyo-copy", Reason: "窓口"}
	for _, row := range rows[1:4] {
		if _, err := n.Gate.Lookup(ctx, colleague, gate.Key{ResidentCode: row[0]}); err != nil {
			t.Fatalf("lookup: %v", err)
		}
	}
	n.Close()
	code, out, errOut := run(t, "detect", "run", "--data", dir)
	if code != 0 || !regexp.MustCompile(`[1-2] alerts raised`).MatchString(out) {
		t.Fatalf("detect run: %d %s %s", code, out, errOut)
	}
	if _, out, _ := run(t, "detect", "run", "--data", dir); !strings.Contains(out, "nothing new") {
		t.Errorf("second run: %s", out)
	}
	_, out, _ = run(t, "detect", "list", "--data", dir)
	if !strings.Contains(out, "volume") || !strings.Contains(out, "3 residents provided in one day (threshold 2)") {
		t.Fatalf("detect list:\n%s", out)
	}
	// Close every open alert (a run out of office hours also raises one).
	for _, id := range regexp.MustCompile(`(?m)^(\d+)\s`).FindAllStringSubmatch(out, -1) {
		if code, out, errOut := run(t, "detect", "close", "--data", dir, "--id", id[1], "--finding", "窓口の繁忙による。所属長確認済み"); code != 0 || !strings.Contains(out, "closed") {
			t.Fatalf("detect close %s: %d %s %s", id[1], code, out, errOut)
		}
	}
	if _, out, _ := run(t, "detect", "list", "--data", dir); !strings.Contains(out, "No alerts") {
		t.Errorf("after closing:\n%s", out)
	}
	// The closing time is in Japan, with its zone (issue 23 item 3).
	if _, out, _ := run(t, "detect", "list", "--data", dir, "--all"); !strings.Contains(out, "所属長確認済み") || !regexp.MustCompile(`closed \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} JST by `).MatchString(out) {
		t.Errorf("detect list --all lacks the finding:\n%s", out)
	}
	if code, _, errOut := run(t, "detect", "close", "--data", dir, "--id", "999", "--finding", "x"); code == 0 || !strings.Contains(errOut, "no alert 999") {
		t.Errorf("closing a missing alert: %d %s", code, errOut)
	}
	// Three look-ups of this console user's own: the alert about them is
	// refused to him by the separation-of-duty rule, and stays open.
	for _, row := range rows[1:4] {
		if code, _, errOut := run(t, "lookup", "--data", dir, "--code", row[0], "--affair", "juminhyo-copy", "--reason", "窓口"); code != 0 {
			t.Fatalf("lookup: %s", errOut)
		}
	}
	if code, out, errOut := run(t, "detect", "run", "--data", dir); code != 0 {
		t.Fatalf("detect run: %d %s %s", code, out, errOut)
	}
	_, out, _ = run(t, "detect", "list", "--data", dir)
	own := regexp.MustCompile(`(?m)^(\d+)\s.*volume`).FindStringSubmatch(out)
	if own == nil {
		t.Fatalf("no volume alert about the console user's own look-ups:\n%s", out)
	}
	if code, _, errOut := run(t, "detect", "close", "--data", dir, "--id", own[1], "--finding", "自分で確認"); code == 0 ||
		!strings.Contains(errOut, "koto-ward:8.2/no-self-investigation") || !strings.Contains(errOut, "自分自身の操作") {
		t.Errorf("closing an alert about oneself: %d %s", code, errOut)
	}
	os.WriteFile(conf, []byte(strings.Replace(string(raw), "daily_denials = 5", "daily_denials = 0", 1)), 0o600)
	if code, _, errOut := run(t, "detect", "run", "--data", dir); code == 0 || !strings.Contains(errOut, "daily_denials 0: must be at least 1") {
		t.Errorf("a setting that cannot work: %d %s", code, errOut)
	}
}

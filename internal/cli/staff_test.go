package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/profile"
)

func TestProfileCommands(t *testing.T) {
	code, out, _ := run(t, "profile", "show", "aomori-pref")
	if code != 0 || !strings.Contains(out, "総務部行政経営課長") || !strings.Contains(out, "passport") {
		t.Errorf("profile show: %d %s", code, out)
	}
	code, out, _ = run(t, "profile", "articles", "koto-ward")
	if code != 0 || !strings.Contains(out, "koto-ward:12.1 (端末装置の管理)") || !strings.Contains(out, "[built] staff.designation") ||
		!strings.Contains(out, "test: internal/staff.TestDesignation") || !strings.Contains(out, "[built] training") {
		t.Errorf("profile articles: %d %s", code, out)
	}
	// A broken copy of a built-in profile: every problem with file and line.
	dir := t.TempDir()
	raw, _ := os.ReadFile(filepath.Join("..", "profile", "builtin", "koto-ward", "profile.toml"))
	pol, _ := os.ReadFile(filepath.Join("..", "profile", "builtin", "koto-ward", "policies.cedar"))
	broken := strings.Replace(string(raw), `id = "auditor"`, `id = "mayor"`, 1)
	file := filepath.Join(dir, "profile.toml")
	os.WriteFile(file, []byte(broken), 0o644)
	os.WriteFile(filepath.Join(dir, "policies.cedar"), append(pol, []byte("\npermit (principal, action, resource);\n")...), 0o644)
	code, _, errOut := run(t, "profile", "check", file)
	if code != 1 || !strings.Contains(errOut, file+":") || !strings.Contains(errOut, `unknown role "mayor"`) || !strings.Contains(errOut, "no @id") {
		t.Errorf("profile check of a broken profile: %d %s", code, errOut)
	}
	os.WriteFile(file, raw, 0o644)
	os.WriteFile(filepath.Join(dir, "policies.cedar"), pol, 0o644)
	if code, out, errOut := run(t, "profile", "check", file); code != 0 || !strings.Contains(out, "is valid") {
		t.Errorf("profile check of a good profile: %d %s %s", code, out, errOut)
	}
}

// TestConsoleStaffAndSuspension sets up a clerk from the console, then
// suspends and lifts use of the register.
func TestConsoleStaffAndSuspension(t *testing.T) {
	dir, rows := newNodeWithResidents(t, "5", "")
	code := rows[1][0]
	for _, args := range [][]string{
		{"staff", "add", "--id", "K0001", "--name", "区民 一郎", "--department", "kumin", "--title", "主事"},
		{"staff", "role", "--id", "K0001", "--role", string(profile.SecurityOfficer), "--department", "kumin"},
		{"staff", "terminal", "--id", "T-01", "--name", "窓口1", "--department", "kumin", "--location", "2階", "--manager", "K0001", "--manager-title", "主事"},
		{"approval", "apply", "--department", "kumin", "--affair", "juminhyo-copy", "--purpose", "交付", "--reason", "窓口での請求に応じるため",
			"--start", "2026-11-01", "--end", "R9.3.31", "--terminal", "T-01", "--operator", "K0001"},
		{"approval", "approve", "1", "--reason", "事務の内容と取扱者を確認"},
	} {
		if c, out, errOut := run(t, append(args, "--data", dir)...); c != 0 {
			t.Fatalf("%v: %d %s %s", args, c, out, errOut)
		}
	}
	_, out, _ := run(t, "staff", "list", "--data", dir)
	if !strings.Contains(out, "K0001") || !strings.Contains(out, "[juminhyo-copy]") || !strings.Contains(out, "T-01") {
		t.Errorf("staff list: %s", out)
	}
	// A status report asked for and submitted; the file written with it is
	// a form of the forms register, with its number in the CSV.
	today := testClock.Now().In(jptext.JST)
	day := func(d int) string { return today.AddDate(0, 0, d).Format(time.DateOnly) }
	if c, out, errOut := run(t, "approval", "request", "1", "--from", day(-10), "--to", day(-2), "--due", day(7), "--data", dir); c != 0 {
		t.Fatalf("request a report: %d %s %s", c, out, errOut)
	}
	file := filepath.Join(t.TempDir(), "status.csv")
	sc, sout, errOut := run(t, "approval", "submit", "1", "--note", "異常なし", "--out", file, "--data", dir)
	raw, _ := os.ReadFile(file)
	if c, out := sc, sout; c != 0 || !strings.Contains(out, "submitted") || !strings.Contains(out, "as form R") || !strings.Contains(string(raw), "帳票管理番号") {
		t.Errorf("submit --out: %d %s %s\n%s", c, out, errOut, raw)
	}
	if c, _, errOut := run(t, "staff", "designate", "--data", dir, "--id", "K0001", "--affair", "astrology"); c != 1 || !strings.Contains(errOut, "利用事務「astrology」はありません") {
		t.Errorf("designation for an unknown affair: %d %s", c, errOut)
	}
	// A target that does not exist, a target with the whole node, a whole
	// node without confirmation: refused, naming what to do; nothing in force.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--scope", "terminal", "--target", "T-1"}, `suspension of terminal "T-1": no terminal "T-1" is in use`},
		{[]string{"--scope", "operator", "--target", "K0009"}, `照合ID「K0009」の職員は登録されていないか`},
		{[]string{"--scope", "node", "--target", "T-01", "--confirm-node"}, "a node suspension takes no target"},
		{[]string{"--scope", "node"}, "--confirm-node"},
	} {
		if code, _, errOut := run(t, append([]string{"suspend", "--data", dir, "--reason", "訓練"}, c.args...)...); code != 1 || !strings.Contains(errOut, c.want) {
			t.Errorf("suspend %v: %d %s, want %q", c.args, code, errOut, c.want)
		}
	}
	c, out, _ := run(t, "suspend", "--data", dir, "--scope", "node", "--reason", "訓練", "--confirm-node")
	if c != 0 || !strings.Contains(out, "Suspension 1 in force") {
		t.Fatalf("suspend: %d %s", c, out)
	}
	lookup := []string{"lookup", "--data", dir, "--code", code, "--affair", "juminhyo-copy", "--reason", "確認"}
	if c, _, errOut := run(t, lookup...); c != 1 || !strings.Contains(errOut, "利用停止中です") {
		t.Errorf("lookup under suspension: %d %s", c, errOut)
	}
	if c, out, _ := run(t, "suspend", "--data", dir); c != 0 || !strings.Contains(out, "IN FORCE") {
		t.Errorf("suspend list: %s", out)
	}
	if c, _, errOut := run(t, "suspend", "--data", dir, "--lift", "1"); c != 1 || !strings.Contains(errOut, "--reason") {
		t.Errorf("lift without a reason: %d %s", c, errOut)
	}
	if c, _, errOut := run(t, "suspend", "--data", dir, "--lift", "1", "--reason", "訓練終了"); c != 0 {
		t.Fatal(errOut)
	}
	// Times are Japan's, with the zone said (the database keeps UTC).
	if _, out, _ := run(t, "suspend", "--data", dir); !strings.Contains(out, testClock.Now().In(time.FixedZone("JST", 9*3600)).Format(" 15:")) || !strings.Contains(out, " JST") {
		t.Errorf("suspension list without the time in JST:\n%s", out)
	}
	if _, out, _ := run(t, "suspend", "--data", dir); !strings.Contains(out, "訓練終了") {
		t.Errorf("the list lacks the lifting's reason:\n%s", out)
	}
	if c, _, errOut := run(t, lookup...); c != 0 {
		t.Errorf("lookup after lifting: %d %s", c, errOut)
	}
	// The terminal's client certificate, from the node's CA.
	certDir := t.TempDir()
	if c, out, errOut := run(t, "terminal", "cert", "--data", dir, "--id", "T-01", "--out", certDir); c != 0 || !strings.Contains(out, "Issued the certificate of terminal T-01") {
		t.Errorf("terminal cert: %d %s %s", c, out, errOut)
	}
	if fi, err := os.Stat(filepath.Join(certDir, "T-01.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("terminal key: %v %v", fi, err)
	}
	if c, _, errOut := run(t, "terminal", "cert", "--data", dir, "--id", "T-99", "--out", certDir); c != 1 || !strings.Contains(errOut, "T-99") {
		t.Errorf("certificate of an unknown terminal: %d %s", c, errOut)
	}
	_, out, _ = run(t, "audit", "show", "--data", dir)
	if !strings.Contains(out, "terminal.cert") {
		t.Errorf("audit log lacks the certificate issue")
	}
	if !strings.Contains(out, "decision=deny(suspension:1)") || !strings.Contains(out, "approval.approve") {
		t.Errorf("audit log lacks the suspension or the approval:\n%s", out)
	}
}

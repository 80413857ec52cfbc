package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/report/reporttest"
)

// TestSysauditCommands: from the console, an auditor is registered, an
// audit planned (bad input refused naming the field, nothing stored), its
// checklist generated and printed with the evidence and the log entry, a
// finding and a corrective action already due recorded, the action shown
// overdue, closed, the audit completed once its checks to look at are
// assessed, and its report written as CSV and PDF; every step in the log.
func TestSysauditCommands(t *testing.T) { eachDatabase(t, testSysauditCommands) }

func testSysauditCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	for _, args := range [][]string{
		{"staff", "add", "--id", "AUD01", "--name", "監査 花子", "--department", "joho", "--title", "主査"},
		{"staff", "role", "--id", "AUD01", "--role", "auditor"},
		{"staff", "add", "--id", "K0001", "--name", "区民 一郎", "--department", "kumin", "--title", "主事"},
	} {
		if c, out, errOut := run(t, append(args, "--data", dir)...); c != 0 {
			t.Fatalf("%v: %d %s %s", args, c, out, errOut)
		}
	}
	today := jptext.Midnight(testClock.Now())
	plan := func(set ...string) []string {
		args := map[string]string{"--kind": "periodic", "--title": "定期監査", "--from": today.AddDate(0, -1, 0).Format(time.DateOnly),
			"--to": today.AddDate(0, 0, -1).Format(time.DateOnly), "--scope": "全般", "--auditor": "AUD01"}
		for i := 0; i+1 < len(set); i += 2 {
			args[set[i]] = set[i+1]
		}
		out := []string{"sysaudit", "plan", "--data", dir}
		for k, v := range args {
			out = append(out, k, v)
		}
		return out
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{plan("--auditor", "K0001"), "auditor"},
		{plan("--to", today.AddDate(0, 0, 1).Format(time.DateOnly)), "今日より後"},
		{plan("--from", "きのう"), "初日「きのう」"},
		{plan("--scope", " "), "監査の範囲"},
		{append(plan(), "--article", "koto-ward:99"), "koto-ward:99"},
	} {
		if code, _, errOut := run(t, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", c.args, code, errOut, c.want)
		}
	}
	if _, out, _ := run(t, "sysaudit", "list", "--data", dir); !strings.Contains(out, "No audit recorded") {
		t.Errorf("a refused plan was stored:\n%s", out)
	}
	if code, out, errOut := run(t, plan()...); code != 0 || !strings.Contains(out, "Audit 1 planned") {
		t.Fatalf("plan: %d %s %s", code, out, errOut)
	}
	code, out, errOut := run(t, "sysaudit", "checklist", "--data", dir, "1")
	if code != 0 || !strings.Contains(out, "evidence read from the audit log up to entry") || !strings.Contains(out, "koto-ward:9") || !strings.Contains(out, "(look at)") {
		t.Fatalf("checklist: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, "sysaudit", "finding", "--data", dir, "1", "--check", "1", "--severity", "low", "--description", "記録の整理が必要", "--root-cause", "手順がない"); code != 0 || !strings.Contains(out, "Finding 1") {
		t.Fatalf("finding: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, "sysaudit", "action", "--data", dir, "1", "--description", "手順を作る", "--owner", "NOBODY", "--due", today.Format(time.DateOnly)); code == 0 || !strings.Contains(errOut, "NOBODY") {
		t.Errorf("an action of nobody: %d %s", code, errOut)
	}
	// Agreed on paper and due yesterday: overdue when entered.
	if code, out, errOut := run(t, "sysaudit", "action", "--data", dir, "1", "--description", "手順を作る", "--owner", "K0001", "--due", today.AddDate(0, 0, -1).Format(time.DateOnly)); code != 0 {
		t.Fatalf("action: %d %s %s", code, out, errOut)
	}
	if _, out, _ := run(t, "sysaudit", "list", "--data", dir); !strings.Contains(out, "OVERDUE: action 1 of audit 1, owner K0001") {
		t.Errorf("list does not show the overdue action:\n%s", out)
	}
	for _, args := range [][]string{
		{"sysaudit", "followup", "1", "--note", "手順書の案を作成"},
		{"sysaudit", "close", "1", "--evidence", "手順書（第1版）を確認"},
	} {
		if code, out, errOut := run(t, append(args, "--data", dir)...); code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, "sysaudit", "complete", "--data", dir, "1", "--conclusion", "適切"); code == 0 || !strings.Contains(errOut, "要確認") {
		t.Errorf("completed with checks to look at: %d %s", code, errOut)
	}
	_, out, _ = run(t, "sysaudit", "list", "--data", dir, "--id", "1")
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 3 && strings.Contains(line, "(look at)") && strings.HasPrefix(f[3], "-") {
			if code, o, e := run(t, "sysaudit", "assess", "--data", dir, "1", "--check", f[0], "--result", "not-applicable", "--note", "試験環境"); code != 0 {
				t.Fatalf("assess %s: %d %s %s", f[0], code, o, e)
			}
		}
	}
	if code, out, errOut := run(t, "sysaudit", "complete", "--data", dir, "1", "--conclusion", "概ね適切"); code != 0 {
		t.Fatalf("complete: %d %s %s", code, out, errOut)
	}
	if _, out, _ := run(t, "sysaudit", "list", "--data", dir, "--id", "1"); !strings.Contains(out, "completed") || !strings.Contains(out, "closed") {
		t.Errorf("list --id:\n%s", out)
	}
	code, out, errOut = run(t, "sysaudit", "report", "--data", dir, "1")
	if code != 0 || !strings.HasPrefix(out, "\ufeff区分,番号") || !strings.Contains(out, "是正措置,1,") {
		t.Errorf("report CSV: %d %s\n%s", code, errOut, out)
	}
	file := filepath.Join(t.TempDir(), "audit.pdf")
	if code, out, errOut := run(t, "sysaudit", "report", "--data", dir, "1", "--format", "pdf", "--out", file); code != 0 {
		t.Fatalf("report PDF: %d %s %s", code, out, errOut)
	}
	pdf, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if text := reporttest.Text(t, pdf); !strings.Contains(text, "システム監査報告書") || !strings.Contains(text, "記録の整理が必要") {
		t.Errorf("report PDF:\n%s", text)
	}
	_, out, _ = run(t, "audit", "show", "--data", dir)
	for _, action := range []string{"sysaudit.plan", "sysaudit.checklist", "sysaudit.finding", "sysaudit.action", "sysaudit.follow-up", "sysaudit.close", "sysaudit.assess", "sysaudit.complete", "sysaudit.report"} {
		if !strings.Contains(out, action) {
			t.Errorf("%s is not in the audit log", action)
		}
	}
}

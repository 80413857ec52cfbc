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

// TestFormCommands (koto-ward:14): the residents' batch file and the system
// audit report are forms of the register, each with its control number and
// the residents it concerns, found again by the file's bytes; a form is
// stored and disposed of with the method and witness, bad input refused
// naming the field; the program the node runs is recorded, a start with
// another version is an unapproved change, approved with a note; every
// step is in the audit log.
func TestFormCommands(t *testing.T) { eachDatabase(t, testFormCommands) }

func testFormCommands(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "12", dbURL)
	today := testClock.Now().In(jptext.JST).Format(time.DateOnly)
	code, csvOut, errOut := run(t, "export", "residents", "--data", dir, "--destination", "記録媒体 USB-01（保管庫A）")
	if code != 0 || !strings.Contains(errOut, "Exported 12 residents as form R") {
		t.Fatalf("export: %d %s", code, errOut)
	}
	// The batch file keeps the import layout: its first line is the header.
	if first, _, _ := strings.Cut(csvOut, "\n"); !strings.HasPrefix(strings.TrimPrefix(first, "\ufeff"), strings.Join(rows[0][:2], ",")) {
		t.Errorf("the batch file's first line is %q", first)
	}
	number := strings.Fields(errOut[strings.Index(errOut, "as form ")+len("as form "):])[0]
	file := filepath.Join(t.TempDir(), number+".csv")
	os.WriteFile(file, []byte(csvOut), 0o600)
	_, out, _ := run(t, "form", "show", "--data", dir, "--file", file)
	if !strings.Contains(out, "Form "+number) || !strings.Contains(out, "residents: 12") || !strings.Contains(out, "記録媒体 USB-01") {
		t.Errorf("form show --file:\n%s", out)
	}
	if _, out, _ := run(t, "form", "list", "--data", dir, "--kind", "resident-export"); !strings.Contains(out, number) || !strings.Contains(out, "issued") {
		t.Errorf("form list:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"form", "store", "--data", dir, number, "--date", today, "--place", ""}, "交付先・保管場所"},
		{[]string{"form", "store", "--data", dir, "X-1", "--date", today, "--place", "保管庫A"}, "管理番号「X-1」"},
		{[]string{"form", "dispose", "--data", dir, number, "--date", today, "--method", "eat", "--by", "x", "--witness", "ADMIN01"}, "廃棄の方法"},
		{[]string{"form", "list", "--data", dir, "--state", "lost"}, "state \"lost\""},
	} {
		if code, _, errOut := run(t, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", c.args, code, errOut, c.want)
		}
	}
	if code, out, errOut := run(t, "form", "store", "--data", dir, number, "--date", today, "--place", "保管庫A"); code != 0 || !strings.Contains(out, "store recorded") {
		t.Fatalf("store: %d %s %s", code, out, errOut)
	}
	if code, staffOut, errOut := run(t, "staff", "add", "--id", "K0001", "--name", "情報 一郎", "--department", "joho", "--title", "主事", "--data", dir); code != 0 {
		t.Fatalf("staff add: %s %s", staffOut, errOut)
	}
	if code, out, errOut := run(t, "form", "dispose", "--data", dir, number, "--date", today, "--method", "erase", "--by", "情報 一郎", "--witness", "K0001"); code != 0 {
		t.Fatalf("dispose: %d %s %s", code, out, errOut)
	}
	_, out, _ = run(t, "form", "show", "--data", dir, number)
	if !strings.Contains(out, "state: disposed") || !strings.Contains(out, "erase by 情報 一郎, witnessed by K0001") {
		t.Errorf("after disposal:\n%s", out)
	}

	// The system audit report as PDF: its number printed on it.
	pdf := filepath.Join(t.TempDir(), "report.pdf")
	sysauditPlanned(t, dir)
	if code, out, errOut := run(t, "sysaudit", "report", "--data", dir, "1", "--format", "pdf", "--out", pdf, "--destination", "セキュリティ会議"); code != 0 || !strings.Contains(out, "as form R") {
		t.Fatalf("report: %d %s %s", code, out, errOut)
	} else {
		reportNo := strings.Fields(out[strings.Index(out, "as form ")+len("as form "):])[0]
		b, _ := os.ReadFile(pdf)
		if text := reporttest.Text(t, b); !strings.Contains(text, reportNo) {
			t.Errorf("the PDF does not carry its number %s:\n%s", reportNo, text)
		}
	}

	// Program changes: the baseline, then a start of another version.
	if _, out, _ := run(t, "form", "program-changes", "--data", dir); !strings.Contains(out, "baseline") || strings.Contains(out, "UNAPPROVED") {
		t.Errorf("program changes:\n%s", out)
	}
	old := Version
	Version = "v9.9.9-test"
	_, out, _ = run(t, "form", "program-changes", "--data", dir)
	Version = old
	if !strings.Contains(out, "v9.9.9-test") || !strings.Contains(out, "UNAPPROVED") {
		t.Fatalf("a start of another version:\n%s", out)
	}
	if code, _, errOut := run(t, "form", "approve-program-change", "--data", dir, "2", "--note", ""); code == 0 || !strings.Contains(errOut, "承認の所見") {
		t.Errorf("approval without a note: %d %s", code, errOut)
	}
	if code, out, errOut := run(t, "form", "approve-program-change", "--data", dir, "2", "--note", "版の更新を確認"); code != 0 || !strings.Contains(out, "approved") {
		t.Fatalf("approve: %d %s %s", code, out, errOut)
	}
	_, out, _ = run(t, "audit", "show", "--data", dir)
	for _, action := range []string{"export", "form.store", "form.dispose", "sysaudit.report", "form.program-change", "form.approve-program-change"} {
		if !strings.Contains(out, action) {
			t.Errorf("%s is not in the audit log", action)
		}
	}
}

// sysauditPlanned plans audit 1 on the node in dir, with an auditor AUD01.
func sysauditPlanned(t *testing.T, dir string) {
	t.Helper()
	today := jptext.Midnight(testClock.Now())
	for _, args := range [][]string{
		{"staff", "add", "--id", "AUD01", "--name", "監査 花子", "--department", "joho", "--title", "主査"},
		{"staff", "role", "--id", "AUD01", "--role", "auditor"},
		{"sysaudit", "plan", "--kind", "periodic", "--title", "定期監査", "--from", today.AddDate(0, -1, 0).Format(time.DateOnly),
			"--to", today.AddDate(0, 0, -1).Format(time.DateOnly), "--scope", "全般", "--auditor", "AUD01"},
	} {
		if c, out, errOut := run(t, append(args, "--data", dir)...); c != 0 {
			t.Fatalf("%v: %d %s %s", args, c, out, errOut)
		}
	}
}

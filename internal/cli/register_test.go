package cli

import (
	"context"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// eachDatabase runs fn once per database a node can use, with the URL to
// give init: "" (SQLite in the node's folder) and a fresh PostgreSQL schema
// (skipped, and said so, without JUKINET_TEST_POSTGRES_URL).
func eachDatabase(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, dbtest.MigratedPostgresURL(t)) })
}

// newNode creates a koto-ward node for 江東区 on dbURL (see eachDatabase)
// and returns its folder.
func newNode(t *testing.T, dbURL string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "node")
	args := []string{"init", "--data", dir, "--profile", "koto-ward", "--local-gov", "131083"}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	if code, _, errOut := run(t, args...); code != 0 {
		t.Fatal(errOut)
	}
	return dir
}

// newNodeWithResidents creates a node on dbURL (see eachDatabase) and
// imports n synthetic residents through the CLI, returning the node's
// folder and the CSV rows.
func newNodeWithResidents(t *testing.T, n, dbURL string) (string, [][]string) {
	t.Helper()
	dir := newNode(t, dbURL)
	_, csvText, _ := run(t, "gen", "residents", "--count", n, "--local-gov", "131083", "--seed", "4")
	file := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(file, []byte(csvText), 0o644)
	if code, out, errOut := run(t, "import", "residents", "--data", dir, file); code != 0 || !strings.Contains(out, "added") {
		t.Fatalf("import: %d %s %s", code, out, errOut)
	}
	rows, _ := csv.NewReader(strings.NewReader(csvText)).ReadAll()
	return dir, rows
}

func TestImportCommand(t *testing.T) { eachDatabase(t, testImportCommand) }

func testImportCommand(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "50", dbURL)
	_, csvText, _ := run(t, "gen", "residents", "--count", "50", "--local-gov", "131083", "--seed", "4", "--encoding", "cp932")
	file := filepath.Join(t.TempDir(), "sjis.csv")
	os.WriteFile(file, []byte(csvText), 0o644)
	// The same people in CP932 (detected) add nothing.
	code, out, errOut := run(t, "import", "residents", "--data", dir, file)
	if code != 0 || !strings.Contains(out, "0 added, 0 changed, 50 unchanged") {
		t.Fatalf("re-import: %d %s %s", code, out, errOut)
	}
	// Bad rows: every one reported as line N, column C; nothing imported.
	// Line 4 has two problems.
	badRows := make([][]string, len(rows))
	for i, r := range rows {
		badRows[i] = slices.Clone(r)
	}
	badRows[3][10], badRows[3][11] = "1990-02-30", "9"
	badRows[6][13] = "131016" // 千代田区: not where the address is
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte(csvTextOf(badRows)), 0o644)
	code, _, errOut = run(t, "import", "residents", "--data", dir, bad)
	for _, want := range []string{"line 4, column date_of_birth:", "line 4, column sex:", "line 7, column address: does not begin with 東京都千代田区, the local government of code 131016", "2 bad rows (3 problems); nothing was imported"} {
		if code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("bad import: exit %d, stderr without %q:\n%s", code, want, errOut)
		}
	}
}

func csvTextOf(rows [][]string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.WriteAll(rows)
	return b.String()
}

func TestLookupCommand(t *testing.T) { eachDatabase(t, testLookupCommand) }

func testLookupCommand(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "30", dbURL)
	r := rows[5]
	base := []string{"lookup", "--data", dir, "--affair", "juki", "--reason", "窓口申請"}
	for _, key := range [][]string{
		{"--code", r[0]},
		{"--number", r[1]},
		{"--name", r[4] + r[5], "--birth", r[10]},
		{"--name", r[2] + " " + r[3], "--birth", r[10], "--sex", r[11]},
		{"--code", r[0], "--history"},
	} {
		code, out, errOut := run(t, append(base, key...)...)
		if code != 0 || !strings.Contains(out, r[0]) || !strings.Contains(out, "監査ログに記録されました") {
			t.Errorf("lookup %v: exit %d\n%s%s", key, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, "lookup", "--data", dir, "--code", r[0], "--affair", "x", "--reason", " "); code == 0 || !strings.Contains(errOut, "not allowed") {
		t.Errorf("lookup without a reason: exit %d %s", code, errOut)
	}
	if code, _, errOut := run(t, append(base, "--code", "12345678904")...); code == 0 || !strings.Contains(errOut, "check digit") {
		t.Errorf("bad code: exit %d %s", code, errOut)
	}
	// Console access can be turned off in jukinet.toml.
	cfg := filepath.Join(dir, "jukinet.toml")
	raw, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, []byte(strings.Replace(string(raw), "lookup = true", "lookup = false", 1)), 0o644)
	if code, _, errOut := run(t, append(base, "--code", r[0])...); code == 0 || !strings.Contains(errOut, "console access is disabled") {
		t.Errorf("disabled console: exit %d %s", code, errOut)
	}
	// Every attempt is in the log, the denied ones too.
	_, out, _ := run(t, "audit", "show", "--data", dir, "--resident", r[0])
	if n := strings.Count(out, "\n"); n != 8 { // import, 5 lookups, and the 2 denied attempts on the same resident
		t.Errorf("%d entries for the resident:\n%s", n, out)
	}
}

func TestExportCommand(t *testing.T) { eachDatabase(t, testExportCommand) }

func testExportCommand(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "25", dbURL)
	// One file's residents are registered, and exported, in code order.
	want := append([][]string{rows[0]}, slices.SortedFunc(slices.Values(rows[1:]), func(a, b []string) int { return strings.Compare(a[0], b[0]) })...)
	code, out, errOut := run(t, "export", "residents", "--data", dir)
	if code != 0 || out != csvTextOfCRLF(want) {
		t.Errorf("export: exit %d, %d bytes vs %d; %s", code, len(out), len(csvTextOfCRLF(want)), errOut)
	}
	if code, out, _ := run(t, "export", "residents", "--data", dir, "--as-of", "1900-01-01"); code != 0 || strings.Count(out, "\n") != 1 {
		t.Errorf("export as of 1900: %q", out)
	}
}

func csvTextOfCRLF(rows [][]string) string {
	var b strings.Builder
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	w.WriteAll(rows)
	return b.String()
}

func TestAuditVerifyCatchesTampering(t *testing.T) {
	dir, rows := newNodeWithResidents(t, "20", "") // tampered with in a copy of the SQLite file
	for i := 0; i < 6; i++ {
		run(t, "lookup", "--data", dir, "--code", rows[i+1][0], "--affair", "juminhyo-copy", "--reason", "窓口申請")
	}
	if code, out, errOut := run(t, "audit", "verify", "--data", dir); code != 0 || !strings.HasPrefix(out, "audit log intact: 9 entries") {
		t.Fatalf("verify: %d %s %s", code, out, errOut)
	}
	tamper := []struct {
		name  string
		sql   []string
		entry string
	}{
		{"one byte", []string{`UPDATE audit_entry SET payload = CAST(REPLACE(CAST(payload AS TEXT), '窓口申請', '窓口申讀') AS BLOB) WHERE seq = 3`}, "entry 3"},
		{"deleted", []string{`DELETE FROM audit_subject WHERE seq = 2`, `DELETE FROM audit_entry WHERE seq = 2`}, "entry 2"},
		{"cut", []string{`DELETE FROM audit_subject WHERE seq >= 5`, `DELETE FROM audit_entry WHERE seq >= 5`, `UPDATE audit_tile SET hashes = substr(hashes, 1, 160) WHERE level = 0 AND idx = 0`}, "entry 5"},
	}
	for _, tt := range tamper {
		copyDir := filepath.Join(t.TempDir(), "copy")
		if out, err := exec.Command("cp", "-r", dir, copyDir).CombinedOutput(); err != nil {
			t.Fatalf("copy: %v %s", err, out)
		}
		d, err := db.Open(context.Background(), "sqlite:"+filepath.Join(copyDir, "jukinet.db"))
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range tt.sql {
			if _, err := d.Exec(context.Background(), q); err != nil {
				t.Fatal(err)
			}
		}
		d.Close()
		code, _, errOut := run(t, "audit", "verify", "--data", copyDir)
		if code != 1 || !strings.Contains(errOut, tt.entry) {
			t.Errorf("%s: exit %d, %q; want exit 1 naming %s", tt.name, code, errOut, tt.entry)
		}
	}
	// (Entries 0 and 1 are the first system administrator and their enrolment link.)
	// Proofs check offline, with the node's key only.
	_, proof, _ := run(t, "audit", "prove", "--data", dir, "--entry", "4")
	pf := filepath.Join(t.TempDir(), "p.txt")
	os.WriteFile(pf, []byte(proof), 0o644)
	if code, out, errOut := run(t, "audit", "check-proof", "--key", filepath.Join(dir, "node.pub"), pf); code != 0 || !strings.Contains(out, "proof valid: entry 4") {
		t.Errorf("check-proof: %d %s %s", code, out, errOut)
	}
	other := filepath.Join(t.TempDir(), "other")
	run(t, "init", "--data", other, "--profile", "koto-ward", "--local-gov", "131083")
	if code, _, _ := run(t, "audit", "check-proof", "--key", filepath.Join(other, "node.pub"), pf); code == 0 {
		t.Error("proof accepted with another node's key")
	}
}

// TestAuditVerifyExternalCheckpoints: a checkpoint kept off the node
// verifies the log; a file that is not a checkpoint, or cannot be read, is
// a mistake in the command (exit 2, the log not judged); another node's
// checkpoint, or one altered, cannot vouch for the log (exit 1).
func TestAuditVerifyExternalCheckpoints(t *testing.T) {
	dir, _ := newNodeWithResidents(t, "5", "")
	code, cp, errOut := run(t, "audit", "checkpoint", "--data", dir)
	if code != 0 {
		t.Fatalf("audit checkpoint: %d %s", code, errOut)
	}
	other := filepath.Join(t.TempDir(), "other")
	run(t, "init", "--data", other, "--profile", "koto-ward", "--local-gov", "131083")
	_, otherCP, errOut := run(t, "audit", "checkpoint", "--data", other)
	if otherCP == "" {
		t.Fatalf("another node's checkpoint: %s", errOut)
	}
	lines := strings.SplitN(cp, "\n", 3)
	size, _ := strconv.Atoi(lines[1])
	altered := lines[0] + "\n" + strconv.Itoa(size-1) + "\n" + lines[2]
	files := t.TempDir()
	for _, tt := range []struct {
		name, content string
		code          int
		says          string
	}{
		{"its own", cp, 0, "audit log intact"},
		{"not a checkpoint", "payroll, 2026\n", 2, "not a signed checkpoint"},
		{"missing", "", 2, "no such file"},
		{"another node's", otherCP, 1, "not signed by this node's key"},
		{"altered", altered, 1, "the file was altered"},
	} {
		f := filepath.Join(files, strings.ReplaceAll(tt.name, " ", "-"))
		if tt.name != "missing" {
			os.WriteFile(f, []byte(tt.content), 0o644)
		}
		code, out, errOut := run(t, "audit", "verify", "--data", dir, "--checkpoint", f)
		if code != tt.code || !strings.Contains(out+errOut, tt.says) {
			t.Errorf("%s: exit %d, %q %q; want exit %d saying %q", tt.name, code, out, errOut, tt.code, tt.says)
		}
	}
}

func TestLookupSearchForms(t *testing.T) { eachDatabase(t, testLookupSearchForms) }

// testLookupSearchForms: `jukinet lookup` searches by every default form,
// says why each match matched in Japanese and English, and says which
// items to add to a query that is not enough.
func testLookupSearchForms(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "30", dbURL)
	r := rows[7]
	base := []string{"lookup", "--data", dir, "--affair", "juki", "--reason", "窓口申請"}
	town := string([]rune(strings.TrimPrefix(r[12], "東京都江東区"))[:2]) // the town's first two characters
	for _, tt := range []struct {
		args []string
		why  string
	}{
		{[]string{"--name", r[2], "--birth", r[10]}, "氏・生年月日が一致 (surname, date of birth match)"},
		{[]string{"--kana", r[4][:6], "--birth", r[10]}, "カナ（前方一致）・生年月日が一致 (kana (first letters), date of birth match)"},
		{[]string{"--name", r[2] + " " + r[3], "--address", town}, "氏名・住所が一致 (name, address match)"},
		{[]string{"--birth", r[10], "--address", town}, "生年月日・住所が一致 (date of birth, address match)"},
	} {
		code, out, errOut := run(t, append(base, tt.args...)...)
		if code != 0 || !strings.Contains(out, r[0]) || !strings.Contains(out, tt.why) {
			t.Errorf("lookup %v: exit %d\n%s%s", tt.args, code, out, errOut)
		}
	}
	code, _, errOut := run(t, append(base, "--name", r[2])...)
	if code == 0 || !strings.Contains(errOut, "生年月日、または住所を追加してください") || !strings.Contains(errOut, "add date of birth, or address") {
		t.Errorf("a surname alone: exit %d %s", code, errOut)
	}
	code, _, errOut = run(t, append(base, "--kana", "ア", "--birth", r[10])...)
	if code == 0 || !strings.Contains(errOut, "2文字以上") {
		t.Errorf("one kana: exit %d %s", code, errOut)
	}
	// The audit entry records the query as given.
	_, out, _ := run(t, "audit", "show", "--data", dir, "--resident", r[0])
	if !strings.Contains(out, "kana="+r[4][:6]) {
		t.Errorf("the kana search is not in the log:\n%s", out)
	}
}

package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/report/reporttest"
)

// TestDisclosureVerify: a resident's proof, written from a node's log
// after three look-ups of them, checks offline with the node's key alone
// and names the three; the same proof with one entry left out, with
// another node's key, or demanding a witness that did not cosign, is
// refused (exit 1) saying why.
func TestDisclosureVerify(t *testing.T) {
	dir, rows := newNodeWithResidents(t, "5", "")
	code := rows[1][0]
	for range 3 {
		if c, _, errOut := run(t, "lookup", "--data", dir, "--code", code, "--affair", "juminhyo-copy", "--reason", "窓口申請"); c != 0 {
			t.Fatalf("lookup: %s", errOut)
		}
	}
	ctx := context.Background()
	d, err := db.Open(ctx, "sqlite:"+filepath.Join(dir, "jukinet.db"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := auditlog.ProveResident(ctx, d, code)
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	write := func(p *auditlog.ResidentProof) string {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(t.TempDir(), "proof.json")
		os.WriteFile(f, b, 0o644)
		return f
	}
	key := filepath.Join(dir, "node.pub")
	c, out, errOut := run(t, "disclosure", "verify", "--key", key, write(p))
	// The import and the three look-ups concern the resident.
	if c != 0 || !strings.Contains(out, "proof valid: 4 entries") || !strings.Contains(out, "none was left out") || strings.Count(out, "lookup") != 3 {
		t.Errorf("verify: exit %d\n%s%s", c, out, errOut)
	}
	cut := *p
	cut.Entries = append(cut.Entries[:1:1], cut.Entries[2:]...)
	if c, _, errOut := run(t, "disclosure", "verify", "--key", key, write(&cut)); c != 1 || !strings.Contains(errOut, "proof NOT valid") || !strings.Contains(errOut, "not all the entries") {
		t.Errorf("an entry left out: exit %d %s", c, errOut)
	}
	other := filepath.Join(t.TempDir(), "other")
	run(t, "init", "--data", other, "--profile", "koto-ward", "--local-gov", "131083")
	otherKey := filepath.Join(other, "node.pub")
	if c, _, errOut := run(t, "disclosure", "verify", "--key", otherKey, write(p)); c != 1 || !strings.Contains(errOut, "checkpoint") {
		t.Errorf("another node's key: exit %d %s", c, errOut)
	}
	if c, _, errOut := run(t, "disclosure", "verify", "--key", key, "--witness", otherKey, write(p)); c != 1 || !strings.Contains(errOut, "not cosigned") {
		t.Errorf("a witness that did not cosign: exit %d %s", c, errOut)
	}
	if c, _, errOut := run(t, "disclosure", "verify", "--key", "nonsense", write(p)); c == 0 || !strings.Contains(errOut, "--key") {
		t.Errorf("a bad key: exit %d %s", c, errOut)
	}
	// The offline page: one HTML file that fetches nothing.
	if c, page, _ := run(t, "disclosure", "page"); c != 0 || !strings.HasPrefix(page, "<!DOCTYPE html>") || strings.Contains(page, "http://") ||
		strings.Contains(page, "https://") || !strings.Contains(page, "default-src 'none'") {
		t.Errorf("disclosure page: exit %d, %d bytes", c, len(page))
	}
}

// TestDisclosureCommands walks a resident's disclosure request from the
// console on both databases: received (bad input refused: a code with a
// wrong check digit, a representative without their authority), not
// issued before its decision, decided (a partial disclosure needs its
// reason), issued once as a PDF that lists the look-ups in Japanese and a
// proof that verifies offline with every entry concerning the resident; a
// refused request issues nothing; a request received 20 days ago is listed
// as overdue.
func TestDisclosureCommands(t *testing.T) { eachDatabase(t, testDisclosureCommands) }

func testDisclosureCommands(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "5", dbURL)
	code := rows[1][0]
	for range 2 {
		if c, _, errOut := run(t, "lookup", "--data", dir, "--code", code, "--affair", "juminhyo-copy", "--reason", "窓口申請"); c != 0 {
			t.Fatalf("lookup: %s", errOut)
		}
	}
	receive := []string{"disclosure", "receive", "--data", dir, "--requester", "self", "--id-check", "driver-licence", "--item", "accesses", "--item", "provisions"}
	bad := code[:10] + string("0123456789"[(int(code[10]-'0')+1)%10])
	if c, _, errOut := run(t, append(receive, "--resident", bad)...); c != 1 || !strings.Contains(errOut, "住民票コード") {
		t.Errorf("a wrong check digit: exit %d %s", c, errOut)
	}
	if c, _, errOut := run(t, "disclosure", "receive", "--data", dir, "--resident", code, "--requester", "representative", "--id-check", "passport",
		"--item", "accesses", "--name", "見本 代理"); c != 1 || !strings.Contains(errOut, "代理権の確認方法") {
		t.Errorf("a representative without authority: exit %d %s", c, errOut)
	}
	c, out, errOut := run(t, append(receive, "--resident", code)...)
	due := testClock.Now().In(jptext.JST).AddDate(0, 0, 14).Format(time.DateOnly)
	if c != 0 || !strings.Contains(out, "Disclosure request 1 received") || !strings.Contains(out, due) {
		t.Fatalf("receive: exit %d %s %s (want due %s)", c, out, errOut, due)
	}
	pdf, proof := filepath.Join(t.TempDir(), "d.pdf"), filepath.Join(t.TempDir(), "d.json")
	issue := []string{"disclosure", "issue", "--data", dir, "1", "--pdf", pdf, "--proof", proof}
	if c, _, errOut := run(t, issue...); c != 1 || !strings.Contains(errOut, "まだ決定されていません") {
		t.Errorf("issue before the decision: exit %d %s", c, errOut)
	}
	if c, _, errOut := run(t, "disclosure", "decide", "--data", dir, "1", "--decision", "partial"); c != 1 || !strings.Contains(errOut, "理由が必要") {
		t.Errorf("partial without a reason: exit %d %s", c, errOut)
	}
	if c, _, errOut := run(t, "disclosure", "decide", "--data", dir, "1", "--decision", "disclose"); c != 0 {
		t.Fatalf("decide: %s", errOut)
	}
	if c, _, errOut := run(t, "disclosure", "decide", "--data", dir, "1", "--decision", "refuse", "--reason", "x"); c != 1 || !strings.Contains(errOut, "決定済み") {
		t.Errorf("decide twice: exit %d %s", c, errOut)
	}
	// The import, the two look-ups, the request, its decision and the refused
	// second decision concern the resident.
	if c, out, errOut := run(t, issue...); c != 0 || !strings.Contains(out, "6 entries") || !strings.Contains(out, "(form R") {
		t.Fatalf("issue: exit %d %s %s", c, out, errOut)
	}
	if c, _, errOut := run(t, issue...); c != 1 || !strings.Contains(errOut, "交付済み") {
		t.Errorf("issue twice: exit %d %s", c, errOut)
	}
	raw, err := os.ReadFile(pdf)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(reporttest.Text(t, raw)), "")
	for _, want := range []string{"本人確認情報の提供状況等の開示書", code, "一括取込", "開示請求の受付", "開示の決定", "住民票の写し等の交付：窓口申請"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	if n := strings.Count(text, "照会（"); n != 0 || strings.Count(text, "照会") < 2 {
		t.Errorf("the PDF's look-ups: %d\n%s", strings.Count(text, "照会"), text)
	}
	if c, out, errOut := run(t, "disclosure", "verify", "--key", filepath.Join(dir, "node.pub"), proof); c != 0 || !strings.Contains(out, "proof valid: 6 entries") {
		t.Errorf("the issued proof: exit %d %s %s", c, out, errOut)
	}

	// A refused request issues nothing; a request 20 days old is overdue.
	run(t, append(receive, "--resident", rows[2][0])...)
	if c, _, errOut := run(t, "disclosure", "decide", "--data", dir, "2", "--decision", "refuse", "--reason", "請求者の本人確認ができなかった"); c != 0 {
		t.Fatalf("refuse: %s", errOut)
	}
	if c, _, errOut := run(t, "disclosure", "issue", "--data", dir, "2", "--pdf", pdf, "--proof", proof); c != 1 || !strings.Contains(errOut, "不開示") {
		t.Errorf("issue a refused request: exit %d %s", c, errOut)
	}
	old := testClock.Now().In(jptext.JST).AddDate(0, 0, -20).Format(time.DateOnly)
	run(t, append(receive, "--resident", rows[3][0], "--received", old)...)
	c, out, errOut = run(t, "disclosure", "list", "--data", dir)
	if c != 0 || !strings.Contains(out, "issued") || !strings.Contains(out, "closed") || strings.Count(out, "OVERDUE") != 1 {
		t.Errorf("list: exit %d\n%s%s", c, out, errOut)
	}
}

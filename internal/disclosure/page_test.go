package disclosure

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// chromium finds Debian's Chromium, or skips loudly (fails when CI says
// the browser is required).
func chromium(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("JUKINET_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := exec.LookPath(p); err == nil {
			return p
		}
	}
	if os.Getenv("JUKINET_REQUIRE_BROWSER") != "" {
		t.Fatal("browser tests: Chromium not found at /usr/bin/chromium (apt-get install chromium), and JUKINET_REQUIRE_BROWSER is set")
	}
	t.Skip("browser tests SKIPPED: Chromium not found at /usr/bin/chromium (apt-get install chromium; bash .ci/run installs it)")
	return ""
}

func newKey(t *testing.T, name string) (note.Signer, string) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, vkey
}

// js quotes s as a JavaScript string.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestVerifierPage opens, on both databases' logs, the offline verification page from a file in
// headless Chromium (no server: file://) and checks real proofs with it:
// an intact proof, cosigned by the witness, verifies and lists the
// resident's records; the same proof with one record left out, with a
// record's content changed, checked with another node's key or demanding a
// witness that did not cosign, is refused saying why; a resident no record
// concerns verifies with none.
func TestVerifierPage(t *testing.T) {
	path := chromium(t)
	dbtest.Run(t, func(t *testing.T, d *db.DB) { testVerifierPage(t, path, d) })
}

func testVerifierPage(t *testing.T, path string, d *db.DB) {
	ctx := context.Background()
	signer, nodeKey := newKey(t, "jukinet-131083")
	clock := clocktest.New()
	l, err := auditlog.Open(ctx, d, signer, auditlog.Options{Origin: "jukinet/131083", CheckpointEvery: time.Hour, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	resident, other := "10000000001", "10000000002"
	for i := range 9 {
		subjects := []string{other}
		if i%3 == 1 {
			subjects = append(subjects, resident)
		}
		e := auditlog.Entry{Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "op1"}, Origin: "terminal:T1",
			Action: "lookup", Affair: "住民票の写しの交付", Reason: fmt.Sprintf("窓口申請 %d", i), Decision: auditlog.Allow, Policy: "test",
			Outcome: auditlog.OutcomeOK, Count: len(subjects), Subjects: subjects}
		if _, err := l.Append(ctx, e); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Minute)
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	witness, witnessKey := newKey(t, "jukinet-130001")
	v, _ := note.NewVerifier(nodeKey)
	opened, err := note.Open(cp.Note, note.VerifierList(v))
	if err != nil {
		t.Fatal(err)
	}
	cosigned, err := note.Sign(opened, witness)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO audit_cosignature (size, witness, note, at) VALUES (?, ?, ?, ?)`, cp.Size, "jukinet-130001", string(cosigned), clock.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	proof := func(code string) *auditlog.ResidentProof {
		p, err := auditlog.ProveResident(ctx, d, code)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	file := filepath.Join(t.TempDir(), "verify.html")
	if err := os.WriteFile(file, VerifierPage(), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.Flag("disable-dev-shm-usage", true))
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()

	check := func(what string, p *auditlog.ResidentProof, key, witnesses string) (ok bool, text string) {
		t.Helper()
		doc, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var state string
		err = chromedp.Run(bctx, chromedp.Navigate("file://"+file),
			chromedp.WaitVisible(`#verify`, chromedp.ByQuery),
			chromedp.Evaluate(fmt.Sprintf(`document.getElementById("proof").value = %s;
				document.getElementById("node-key").value = %s;
				document.getElementById("witness-keys").value = %s;`, js(string(doc)), js(key), js(witnesses)), nil),
			chromedp.Click(`#verify`, chromedp.ByQuery),
			chromedp.WaitVisible(`#result > div`, chromedp.ByQuery),
			chromedp.AttributeValue(`#result > div`, "data-testid", &state, nil, chromedp.ByQuery),
			chromedp.Text(`#result`, &text, chromedp.ByQuery))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return state == "verified", text
	}

	if ok, text := check("intact", proof(resident), nodeKey, witnessKey); !ok || !strings.Contains(text, "記録 3 件") ||
		!strings.Contains(text, "漏れはありません") || !strings.Contains(text, "jukinet-130001 の連署を確認") || strings.Count(text, "窓口申請") != 3 {
		t.Errorf("an intact proof: %v\n%s", ok, text)
	}
	if ok, text := check("nobody's", proof("19999999999"), nodeKey, ""); !ok || !strings.Contains(text, "記録 0 件") {
		t.Errorf("a resident no record concerns: %v\n%s", ok, text)
	}
	_, otherKey := newKey(t, "jukinet-131083")
	for _, c := range []struct {
		name, key, witnesses string
		change               func(p *auditlog.ResidentProof)
		want                 string
	}{
		{"a record left out", nodeKey, "", func(p *auditlog.ResidentProof) { p.Entries = p.Entries[1:] }, "漏れまたは追加があります"},
		{"a content changed", nodeKey, "", func(p *auditlog.ResidentProof) {
			p.Entries[0].Content = strings.Replace(p.Entries[0].Content, "窓口申請", "窓口申讀", 1)
		}, "改変されています"},
		{"a proof hash changed", nodeKey, "", func(p *auditlog.ResidentProof) { p.Entries[1].Proof[0][0] ^= 1 }, "監査ログにありません"},
		{"a content blanked", nodeKey, "", func(p *auditlog.ResidentProof) { p.Entries[1].Content = "" }, "内容がありません"},
		{"a proof hash cut short", nodeKey, "", func(p *auditlog.ResidentProof) { p.Entries[0].Proof[0] = p.Entries[0].Proof[0][:31] }, "長さが正しくありません"},
		{"the resident's leaf claimed absent", nodeKey, "", func(p *auditlog.ResidentProof) { p.Map.Found = false; p.Entries = nil }, "漏れまたは追加"},
		{"another node's key", otherKey, "", func(*auditlog.ResidentProof) {}, "有効な署名がありません"},
		{"a witness that did not cosign", nodeKey, otherKey, func(*auditlog.ResidentProof) {}, "連署がありません"},
	} {
		p := proof(resident)
		c.change(p)
		if ok, text := check(c.name, p, c.key, c.witnesses); ok || !strings.Contains(text, "検証に失敗しました") || !strings.Contains(text, c.want) {
			t.Errorf("%s: verified %v\n%s\nwant %q", c.name, ok, text, c.want)
		}
	}
}

package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
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

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/federation"
	"jukinet/internal/node"
	"jukinet/internal/resident"
	"jukinet/internal/synth"

	"golang.org/x/mod/sumdb/note"
)

// nodeSigner reads the signing key of the node in dir.
func nodeSigner(t *testing.T, dir string) note.Signer {
	t.Helper()
	n, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	return n.Signer
}

// TestNetworkEndToEnd runs four real node processes on loopback — 青森市
// (022012) and 八戸市 (022039), 青森県 (020001) and the national node —
// wires them by bundles, imports residents at the municipalities, and
// checks every change reaches the national node exactly once, also when
// the prefecture is killed with SIGKILL mid-stream and restarted.
func TestNetworkEndToEnd(t *testing.T) {
	bin := buildJukinet(t)
	root := t.TempDir()
	dir := func(name string) string { return filepath.Join(root, name) }
	jk := runJukinet(t, bin)
	jk("init", "--data", dir("national"), "--profile", "aomori-pref", "--level", "national")
	jk("init", "--data", dir("pref"), "--profile", "aomori-pref", "--local-gov", "020001")
	jk("init", "--data", dir("aomori"), "--profile", "koto-ward", "--local-gov", "022012")
	jk("init", "--data", dir("hachinohe"), "--profile", "koto-ward", "--local-gov", "022039")
	addr := map[string]string{}
	for _, n := range []string{"national", "pref", "aomori", "hachinohe"} {
		addr[n] = freeAddr(t)
	}
	bundle := func(n string) string {
		f := filepath.Join(root, n+".bundle.json")
		os.WriteFile(f, []byte(jk("peer", "export", "--data", dir(n), "--url", "http://"+addr[n])), 0o644)
		return f
	}
	jk("peer", "add", "--data", dir("national"), "--role", "downstream", bundle("pref"))
	jk("peer", "add", "--data", dir("pref"), "--role", "upstream", bundle("national"))
	for _, m := range []string{"aomori", "hachinohe"} {
		jk("peer", "add", "--data", dir("pref"), "--role", "downstream", bundle(m))
		jk("peer", "add", "--data", dir(m), "--role", "upstream", bundle("pref"))
	}
	servers := map[string]*exec.Cmd{}
	serve := func(n string) {
		servers[n] = start(t, bin, "serve", "--data", dir(n), "--addr", addr[n])
		waitHealthy(t, addr[n])
	}
	for _, n := range []string{"national", "pref", "aomori", "hachinohe"} {
		serve(n)
	}
	importResidents := func(n, code string, count, seed int) {
		f := filepath.Join(root, fmt.Sprintf("%s-%d.csv", n, seed))
		os.WriteFile(f, []byte(jk("gen", "residents", "--count", strconv.Itoa(count), "--local-gov", code, "--seed", strconv.Itoa(seed))), 0o644)
		jk("import", "residents", "--data", dir(n), f)
	}
	received := regexp.MustCompile(`(?m)^(\d{6})\s+last (\d+)`)
	waitFor := func(n, source string, want int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		var status string
		for time.Now().Before(deadline) {
			status = jk("federation", "status", "--data", dir(n))
			for _, m := range received.FindAllStringSubmatch(status, -1) {
				if got, _ := strconv.Atoi(m[2]); m[1] == source && got == want {
					return
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s did not receive %d changes from %s:\n%s", n, want, source, status)
	}

	importResidents("aomori", "022012", 200, 1)
	importResidents("hachinohe", "022039", 150, 2)
	waitFor("pref", "022012", 200)
	waitFor("pref", "022039", 150)
	waitFor("national", "020001", 350)

	// Kill the prefecture mid-stream, restart it: nothing lost or doubled.
	importResidents("aomori", "022012", 300, 3)
	time.Sleep(50 * time.Millisecond) // 青森市's sender is at work
	servers["pref"].Process.Signal(syscall.SIGKILL)
	servers["pref"].Wait()
	importResidents("hachinohe", "022039", 50, 4)
	serve("pref")
	waitFor("pref", "022012", 500)
	waitFor("pref", "022039", 200)
	waitFor("national", "020001", 700)

	exported, err := exec.Command(bin, "export", "residents", "--data", dir("national")).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(exported)), "\n")
	if len(lines)-1 != 700 {
		t.Errorf("the national node holds %d residents, want 700", len(lines)-1)
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		code := strings.SplitN(l, ",", 2)[0]
		if seen[code] {
			t.Errorf("resident %s held twice", code)
		}
		seen[code] = true
	}
	// The consistency check agrees, from the municipality and from the
	// prefecture (for a municipality's records, against the national node).
	if out := jk("federation", "check", "--data", dir("aomori"), "--local-gov", "022012"); !strings.Contains(out, "500 residents here, 500 upstream; 0 of 4096 buckets differ") {
		t.Errorf("check at 青森市: %s", out)
	}
	if out := jk("federation", "check", "--data", dir("pref"), "--local-gov", "022039"); !strings.Contains(out, "200 residents here, 200 upstream") {
		t.Errorf("check at 青森県: %s", out)
	}
	// A record altered directly in the prefecture's database is found, and
	// repaired from the source.
	victim := strings.SplitN(lines[1], ",", 2)[0]
	pd, err := db.Open(context.Background(), "sqlite:"+filepath.Join(dir("pref"), "jukinet.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pd.Exec(context.Background(), `UPDATE identity_record SET address = '改ざん' WHERE resident_code = ?`, victim); err != nil {
		t.Fatal(err)
	}
	pd.Close()
	owner := "aomori"
	if out, err := exec.Command(bin, "federation", "check", "--data", dir("hachinohe"), "--local-gov", "022039").CombinedOutput(); err != nil {
		if !strings.Contains(string(out), victim) {
			t.Errorf("八戸市's check failed without naming %s: %s", victim, out)
		}
		owner = "hachinohe"
	}
	code := map[string]string{"aomori": "022012", "hachinohe": "022039"}[owner]
	out, err := exec.Command(bin, "federation", "check", "--data", dir(owner), "--local-gov", code).CombinedOutput()
	if err == nil || !strings.Contains(string(out), victim+"  differs") {
		t.Fatalf("the altered record was not found: %v %s", err, out)
	}
	jk("federation", "check", "--data", dir(owner), "--local-gov", code, "--repair")
	// Until the sender delivers the repair, the check reports the resident
	// as undelivered (exit 0); then as agreeing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command(bin, "federation", "check", "--data", dir(owner), "--local-gov", code).CombinedOutput()
		if err != nil && strings.Contains(string(out), victim+"  differs") {
			t.Fatalf("queued for repair, but reported as differing: %s", out)
		}
		if err == nil && strings.Contains(string(out), " 0 residents differ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not repaired: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, n := range []string{"pref", "national"} {
		if out := jk("audit", "verify", "--data", dir(n)); !strings.HasPrefix(out, "audit log intact") {
			t.Errorf("%s: %s", n, out)
		}
	}
	// Attacks on the running prefecture, each refused and alerted.
	attack := func(name, keyDir string, b federation.Batch, wantStatus int, wantAlert string) {
		t.Helper()
		signer := nodeSigner(t, keyDir)
		msg, err := federation.SignBatch(b, signer)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post("http://"+addr["pref"]+"/federation/v1/batches", "text/plain", bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus || (wantAlert != "" && !strings.Contains(string(body), wantAlert)) {
			t.Errorf("%s: %d %s, want %d with alert %q", name, resp.StatusCode, body, wantStatus, wantAlert)
		}
	}
	g, _ := synth.New(synth.Options{Seed: 99, LocalGov: "022012"})
	rec := g.Next()
	forger := filepath.Join(root, "forger")
	jk("init", "--data", forger, "--profile", "koto-ward", "--local-gov", "022012") // the right name, another key
	one := func(seq int64, r resident.IdentityRecord) []federation.WireChange {
		return []federation.WireChange{{Seq: seq, Record: federation.WireRecordOf(r)}}
	}
	attack("forged", forger, federation.Batch{Source: "022012", Target: "020001", Changes: one(501, rec)}, 403, "bad-signature")
	attack("replayed", dir("aomori"), federation.Batch{Source: "022012", Target: "020001", Changes: one(1, rec)}, 200, "")
	foreign := rec
	foreign.LocalGov = "022039"
	attack("another municipality's code", dir("aomori"), federation.Batch{Source: "022012", Target: "020001", Changes: one(501, foreign)}, 403, "foreign-code")
	g8, _ := synth.New(synth.Options{Seed: 98, LocalGov: "022039"})
	attack("sequence gap", dir("hachinohe"), federation.Batch{Source: "022039", Target: "020001", Changes: one(999, g8.Next())}, 409, "sequence-gap")
	status := jk("federation", "status", "--data", dir("pref"))
	for _, want := range []string{"bad-signature", "foreign-code", "sequence-gap", `022012\s+last \d+\s+STOPPED`, `022039\s+last 200\s+STOPPED`} {
		if !regexp.MustCompile(want).MatchString(status) {
			t.Errorf("prefecture's status lacks %q:\n%s", want, status)
		}
	}
	if out := jk("audit", "verify", "--data", dir("pref")); !strings.HasPrefix(out, "audit log intact") {
		t.Errorf("prefecture after the attacks: %s", out)
	}
	jk("federation", "resume", "--data", dir("pref"), "--source", "022012")
	jk("federation", "resume", "--data", dir("pref"), "--source", "022039")

	// The municipalities' and the prefecture's logs are witnessed upstream;
	// the national node's by the peer it names.
	jk("federation", "witness", "--data", dir("national"), "--peer", "020001")
	for _, n := range []string{"aomori", "pref", "national"} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			if status := jk("federation", "status", "--data", dir(n)); strings.Contains(status, "audit log witnessed: checkpoint") {
				break
			} else if time.Now().After(deadline) {
				t.Errorf("%s's log was not witnessed:\n%s", n, status)
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	if status := jk("federation", "status", "--data", dir("national")); strings.Contains(status, "alerts:") {
		t.Errorf("alerts on a clean run:\n%s", status)
	}
}

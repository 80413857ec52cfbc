package main

import (
	"context"
	"fmt"
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
)

// TestNetworkEndToEnd runs four real node processes on loopback — 青森市
// (022012) and 八戸市 (022039), 青森県 (020001) and the national node —
// wires them by bundles, imports residents at the municipalities, and
// checks every change reaches the national node exactly once, also when
// the prefecture is killed with SIGKILL mid-stream and restarted.
func TestNetworkEndToEnd(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "jukinet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	root := t.TempDir()
	dir := func(name string) string { return filepath.Join(root, name) }
	jk := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("jukinet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := exec.Command(bin, "federation", "check", "--data", dir(owner), "--local-gov", code).CombinedOutput()
		if err == nil {
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
	// The municipalities' and the prefecture's logs are witnessed upstream.
	for _, n := range []string{"aomori", "pref"} {
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

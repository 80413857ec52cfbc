package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jukinet/internal/correspondence"
)

// farDue is the due day of the test's request. The node processes run on
// the system clock, which the test does not read: a day after any the
// suite runs on.
const farDue = "2099-12-31"

// TestCorrespondenceBetweenProcesses runs three real node processes — 青森市
// (022012), 青森県 (020001) and the national node — wired by bundles: the
// municipality sends a signed report to its prefecture, which acknowledges
// it (seen in the sender's state and in both logs); the prefecture reports
// to the national node and requests an investigation of the municipality,
// which answers; a forged and a replayed report are refused and alerted
// at the prefecture, whose log stays intact.
func TestCorrespondenceBetweenProcesses(t *testing.T) {
	bin := buildJukinet(t)
	root := t.TempDir()
	dir := func(name string) string { return filepath.Join(root, name) }
	jk := runJukinet(t, bin)
	jk("init", "--data", dir("national"), "--profile", "aomori-pref", "--level", "national")
	jk("init", "--data", dir("pref"), "--profile", "aomori-pref", "--local-gov", "020001")
	jk("init", "--data", dir("aomori"), "--profile", "koto-ward", "--local-gov", "022012")
	addr := map[string]string{}
	for _, n := range []string{"national", "pref", "aomori"} {
		addr[n] = freeAddr(t)
	}
	bundle := func(n string) string {
		f := filepath.Join(root, n+".bundle.json")
		os.WriteFile(f, []byte(jk("peer", "export", "--data", dir(n), "--url", "http://"+addr[n])), 0o644)
		return f
	}
	jk("peer", "add", "--data", dir("national"), "--role", "downstream", bundle("pref"))
	jk("peer", "add", "--data", dir("pref"), "--role", "upstream", bundle("national"))
	jk("peer", "add", "--data", dir("pref"), "--role", "downstream", bundle("aomori")) // with its address: requests go down
	jk("peer", "add", "--data", dir("aomori"), "--role", "upstream", bundle("pref"))
	for _, n := range []string{"national", "pref", "aomori"} {
		start(t, bin, "serve", "--data", dir(n), "--addr", addr[n])
		waitHealthy(t, addr[n])
	}
	waitState := func(n, id, want string) string {
		t.Helper()
		// Counted waits (about 30 s), never the clock.
		var out string
		for tries := 0; tries < 150; tries++ {
			if out = jk("correspondence", "show", "--data", dir(n), "--id", id); strings.Contains(out, want) {
				return out
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Fatalf("%s: %s never showed %q:\n%s", n, id, want, out)
		return ""
	}

	// 青森市 → 青森県: a signed report, acknowledged.
	out := jk("correspondence", "send", "--data", dir("aomori"), "--to", "020001", "--kind", "incident",
		"--subject", "不適正な閲覧の疑いについて（報告）", "--body", "検知した閲覧について調査しています。", "--ref", "incident:1")
	if !strings.Contains(out, "Document 022012-020001-1 (incident) queued for 020001") {
		t.Fatalf("send: %s", out)
	}
	shown := waitState("aomori", "022012-020001-1", "state acknowledged")
	if !strings.Contains(shown, "-- acknowledgement --\njukinet-correspondence-ack v1") || !strings.Contains(shown, "— jukinet-020001 ") {
		t.Errorf("the municipality's record lacks the prefecture's signed acknowledgement:\n%s", shown)
	}
	if in := jk("correspondence", "list", "--data", dir("pref"), "--direction", "in"); !regexp.MustCompile(`022012-020001-1\s+in\s+from 022012\s+incident\s+received`).MatchString(in) {
		t.Errorf("the prefecture's inbox:\n%s", in)
	}
	if l := jk("audit", "show", "--data", dir("aomori"), "--action", "correspondence.acknowledged"); !strings.Contains(l, "document:022012-020001-1") {
		t.Errorf("the municipality's log:\n%s", l)
	}
	if l := jk("audit", "show", "--data", dir("pref"), "--action", "correspondence.receive"); !strings.Contains(l, "document:022012-020001-1") {
		t.Errorf("the prefecture's log:\n%s", l)
	}

	// 青森県 → national: a usage report; 青森県 → 青森市: a request, answered.
	jk("correspondence", "send", "--data", dir("pref"), "--to", "national", "--kind", "usage", "--subject", "利用状況の報告", "--body", "別添のとおり")
	waitState("pref", "020001-national-1", "state acknowledged")
	jk("correspondence", "send", "--data", dir("pref"), "--to", "022012", "--kind", "investigate", "--subject", "アクセスの調査の依頼",
		"--body", "記録 4821 番の閲覧について調査し、回答願います。", "--ref", "audit-entry:4821", "--due", farDue)
	waitState("pref", "020001-022012-1", "state acknowledged")
	if l := jk("correspondence", "list", "--data", dir("aomori"), "--direction", "in"); !strings.Contains(l, "request open") {
		t.Errorf("the municipality's open request:\n%s", l)
	}
	jk("correspondence", "answer", "--data", dir("aomori"), "--id", "020001-022012-1", "--subject", "調査結果の回答", "--body", "業務上の閲覧と確認しました。")
	waitState("pref", "020001-022012-1", "request answered, due")

	// Attacks on the running prefecture, each refused and alerted.
	postDoc := func(name string, msg []byte, wantStatus int, wantAlert string) {
		t.Helper()
		resp, err := http.Post("http://"+addr["pref"]+"/federation/v1/correspondence", "text/plain", bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != wantStatus || !strings.Contains(string(body), fmt.Sprintf("%q", wantAlert)) {
			t.Errorf("%s: %d %s, want %d with alert %q", name, resp.StatusCode, body, wantStatus, wantAlert)
		}
	}
	forger := filepath.Join(root, "forger")
	jk("init", "--data", forger, "--profile", "koto-ward", "--local-gov", "022012") // the right name, another key
	forged, err := correspondence.Sign(correspondence.Document{ID: "022012-020001-2", Sender: "022012", Recipient: "020001", Seq: 2, Kind: correspondence.KindOther,
		Subject: "偽の報告", Body: "偽", SentBy: "console:x", SentAt: time.Unix(1800000000, 0)}, nodeSigner(t, forger))
	if err != nil {
		t.Fatal(err)
	}
	postDoc("forged", forged, http.StatusForbidden, "bad-signature")
	shown = jk("correspondence", "show", "--data", dir("aomori"), "--id", "022012-020001-1")
	_, replayed, _ := strings.Cut(shown, "-- signed note --\n")
	replayed, _, _ = strings.Cut(replayed, "-- acknowledgement --")
	postDoc("replayed", []byte(replayed), http.StatusConflict, "replay")
	status := jk("federation", "status", "--data", dir("pref"))
	for _, want := range []string{"bad-signature", "replay"} {
		if !strings.Contains(status, want) {
			t.Errorf("the prefecture's status lacks the alert %s:\n%s", want, status)
		}
	}
	if l := jk("correspondence", "list", "--data", dir("pref"), "--direction", "in"); strings.Contains(l, "偽") || strings.Count(l, "022012-020001-") != 2 {
		t.Errorf("the prefecture stored a refused document:\n%s", l)
	}
	for _, n := range []string{"aomori", "pref", "national"} {
		if out := jk("audit", "verify", "--data", dir(n)); !strings.HasPrefix(out, "audit log intact") {
			t.Errorf("%s: %s", n, out)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jukinet/internal/api"
	"jukinet/internal/auditlog"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/node"
)

// TestSIGKILLLosesNothingAcknowledged kills a serving node with SIGKILL while
// clients look residents up and change them, restarts it, and checks that
// every answer a client received has its audit entry, every acknowledged
// change is stored, and the audit log verifies — on SQLite and on
// PostgreSQL, whose audit entries are committed by a pipeline.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	bin := buildJukinet(t)
	t.Run("sqlite", func(t *testing.T) { killUnderLoad(t, bin, "") })
	t.Run("postgres", func(t *testing.T) { killUnderLoad(t, bin, dbtest.PostgresURL(t)) })
}

// killUnderLoad runs the SIGKILL test on a demo node whose database is
// dbURL (empty: SQLite in its folder).
func killUnderLoad(t *testing.T, bin, dbURL string) {
	dir := filepath.Join(t.TempDir(), "node")
	addr := freeAddr(t)
	args := []string{"demo", "--data", dir, "--addr", addr, "--residents", "300"}
	if dbURL != "" {
		args = append(args, "--db", dbURL)
	}
	server := start(t, bin, args...)
	waitHealthy(t, addr)

	exported, err := exec.Command(bin, "export", "residents", "--data", dir).Output()
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	rows, _ := csv.NewReader(bytes.NewReader(exported)).ReadAll()
	codes := make([]string, 0, len(rows)-1)
	for _, r := range rows[1:] {
		codes = append(codes, r[0])
	}

	var mu sync.Mutex
	answered := map[string]bool{}  // case references of lookups that got an answer
	changed := map[string]string{} // resident code → address of its last acknowledged change
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				ref := fmt.Sprintf("kill-L%d-%d", w, n)
				q := url.Values{"affair": {"juminhyo-copy"}, "reason": {"障害試験"}, "case": {ref}}
				resp, err := client.Get("http://" + addr + "/api/v1/residents/" + codes[(w*31+n)%len(codes)] + "?" + q.Encode())
				if err != nil {
					return // the server is gone
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					answered[ref] = true
					mu.Unlock()
				}
			}
		}(w)
	}
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				code := codes[(n*2+w)%len(codes)]
				q := url.Values{"affair": {"juki"}, "reason": {"障害試験"}}
				resp, err := client.Get("http://" + addr + "/api/v1/residents/" + code + "?" + q.Encode())
				if err != nil {
					return
				}
				var rec api.Record
				json.NewDecoder(resp.Body).Decode(&rec)
				resp.Body.Close()
				rec.Address = fmt.Sprintf("東京都江東区東陽四丁目%d番%d号", w+1, n+1)
				rec.ChangeReason = "転居"
				rec.ChangeDate = time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, n).Format(time.DateOnly)
				body, _ := json.Marshal(api.ChangeRequest{Record: rec, Affair: "juki", Reason: "障害試験"})
				resp, err = client.Post("http://"+addr+"/api/v1/changes", "application/json", bytes.NewReader(body))
				if err != nil {
					return
				}
				resp.Body.Close()
				if resp.StatusCode == 200 {
					mu.Lock()
					changed[code] = rec.Address
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(1500 * time.Millisecond)
	if err := server.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	server.Wait()
	close(stop)
	wg.Wait()
	if len(answered) < 20 || len(changed) < 5 {
		t.Fatalf("too little load before the kill: %d lookups, %d changes answered", len(answered), len(changed))
	}

	// Restart: the node opens, serves, and stops cleanly.
	addr2 := freeAddr(t)
	again := start(t, bin, "serve", "--data", dir, "--addr", addr2)
	waitHealthy(t, addr2)
	again.Process.Signal(syscall.SIGTERM)
	if err := again.Wait(); err != nil {
		t.Fatalf("restarted server did not stop cleanly: %v", err)
	}

	ctx := context.Background()
	n, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	logged := map[string]bool{}
	for after := int64(-1); ; {
		page, err := auditlog.List(ctx, n.DB, auditlog.Filter{After: after, Limit: 1000, Action: "lookup"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		for _, l := range page {
			if l.Entry != nil && l.Entry.Outcome == auditlog.OutcomeOK {
				logged[l.Entry.CaseRef] = true
			}
			after = l.Seq
		}
	}
	for ref := range answered {
		if !logged[ref] {
			t.Errorf("lookup %s was answered but has no audit entry", ref)
		}
	}
	for code, address := range changed {
		var count int
		if err := n.DB.QueryRow(ctx, `SELECT COUNT(*) FROM identity_record WHERE resident_code = ? AND address = ?`, code, address).Scan(&count); err != nil {
			t.Fatal(err)
		}
		if count != 1 {
			t.Errorf("acknowledged change of %s to %s is missing", code, address)
		}
	}
	rep, err := auditlog.Verify(ctx, n.DB, n.Verifier)
	if err != nil {
		t.Fatalf("audit verify after SIGKILL: %v", err)
	}
	t.Logf("killed under load: %d answered lookups and %d acknowledged changes all logged and stored; %s", len(answered), len(changed), rep)
}

// lockedBuffer is a bytes.Buffer safe for one writer and a reader at once.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func start(t *testing.T, bin string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out := new(lockedBuffer) // written by exec's copying goroutine, read in Cleanup
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("%s output:\n%s", strings.Join(args[:1], " "), out.String())
		}
	})
	return cmd
}

func waitHealthy(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not become healthy", addr)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildJukinet builds the binary once for a test that runs node processes.
func buildJukinet(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "jukinet")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

// runJukinet returns a function that runs a jukinet command to its end and
// returns its output, failing t if it fails.
func runJukinet(t *testing.T, bin string) func(args ...string) string {
	return func(args ...string) string {
		t.Helper()
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("jukinet %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
}

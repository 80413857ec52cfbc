package faults

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"jukinet/internal/db"
)

// The binary under test, built once per test binary (go build of
// ./cmd/jukinet, as a user builds it).
var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// jukinet returns the path of the built binary, building it the first time.
func jukinet(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "jukinet-faults-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(buildDir, "jukinet")
		out, err := exec.Command("go", "build", "-o", binPath, "jukinet/cmd/jukinet").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build ./cmd/jukinet: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running jukinet process whose output goes to a file.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // once done
}

// startProc starts jukinet with args, its output appended to logPath; the
// process is killed when the test ends.
func startProc(t *testing.T, logPath string, args ...string) *proc {
	t.Helper()
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "=== jukinet %s\n", strings.Join(args, " "))
	cmd := exec.Command(jukinet(t), args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start jukinet %s: %v", strings.Join(args, " "), err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	t.Cleanup(func() { p.kill() })
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// stop sends SIGTERM and waits: the error is the exit status.
func (p *proc) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	return p.err
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// run runs jukinet with args to the end and returns its combined output
// and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(jukinet(t), args...).CombinedOutput()
	return string(out), err
}

// must runs jukinet with args and fails the test if it fails.
func must(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("jukinet %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// freeAddr returns a loopback address nobody listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// poll calls ok every interval, at most tries times, until it returns
// true: a wait counted in tries, never read from the clock.
func poll(tries int, interval time.Duration, ok func() bool) bool {
	for i := 0; i < tries; i++ {
		if ok() {
			return true
		}
		time.Sleep(interval)
	}
	return false
}

// tail returns the last n bytes of a file, for failure messages.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Size() > n {
		f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// node is one jukinet node: its folder, address, database and the serving
// process, if any.
type node struct {
	name  string
	dir   string
	addr  string
	dbURL string // empty: SQLite in dir
	log   string // the serving processes' output
	srv   *proc
}

func newNode(t *testing.T, root, name, dbURL string) *node {
	return &node{name: name, dir: filepath.Join(root, name), addr: freeAddr(t), dbURL: dbURL, log: filepath.Join(root, name+".log")}
}

// url is the node's database URL.
func (n *node) url() string {
	if n.dbURL != "" {
		return n.dbURL
	}
	return "sqlite:" + filepath.Join(n.dir, "jukinet.db")
}

// serve starts `jukinet serve` and waits until it answers /healthz.
func (n *node) serve(t *testing.T) {
	t.Helper()
	n.srv = startProc(t, n.log, "serve", "--data", n.dir, "--addr", n.addr)
	n.waitHealthy(t)
}

func (n *node) waitHealthy(t *testing.T) {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	if !poll(600, 100*time.Millisecond, func() bool {
		if n.srv != nil && n.srv.exited() {
			return false
		}
		resp, err := c.Get("http://" + n.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}) {
		t.Fatalf("%s did not become healthy; its log ends:\n%s", n.name, tail(n.log, 4000))
	}
}

// db opens the node's database, for the checks (reads only).
func (n *node) db(t *testing.T) *db.DB {
	t.Helper()
	d, err := db.Open(context.Background(), n.url())
	if err != nil {
		t.Fatalf("open %s's database: %v", n.name, err)
	}
	return d
}

// client is the HTTP client of the load and the checks.
var client = &http.Client{
	Timeout:   15 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
}

// getJSON GETs url and decodes a 200 answer into v; it returns the status
// (0 when no answer came).
func getJSON(url string, v any) (int, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err // an answer cut off is no answer
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(body, v); err != nil {
			return 0, fmt.Errorf("decode %s: %w", url, err)
		}
	}
	return resp.StatusCode, nil
}

// postJSON POSTs body as JSON and decodes a 200 answer into v.
func postJSON(url string, body, v any) (int, []byte, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	if resp.StatusCode == http.StatusOK && v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			return 0, out, fmt.Errorf("decode %s: %w", url, err)
		}
	}
	return resp.StatusCode, out, nil
}

// auditEntry is an entry of GET /api/v1/audit/entries, as much of it as the
// checks need.
type auditEntry struct {
	Seq    int64  `json:"seq"`
	Action string `json:"action"`
	Entry  *struct {
		CaseRef string `json:"case_ref"`
		Outcome string `json:"outcome"`
		Action  string `json:"action"`
	} `json:"entry"`
}

// readEntries pages through the node's audit log after seq `after` through
// its API and calls fn for each entry; it returns the last seq seen.
func readEntries(t *testing.T, addr string, after int64, fn func(auditEntry)) int64 {
	t.Helper()
	for {
		var page struct {
			Entries []auditEntry `json:"entries"`
		}
		url := fmt.Sprintf("http://%s/api/v1/audit/entries?after=%d&limit=1000", addr, after)
		status, err := getJSON(url, &page)
		if err != nil || status != http.StatusOK {
			t.Fatalf("read the audit log after %d: %d %v", after, status, err)
		}
		if len(page.Entries) == 0 {
			return after
		}
		for _, e := range page.Entries {
			fn(e)
			after = e.Seq
		}
	}
}

// readAll reads and closes an answer's body.
func readAll(resp *http.Response) []byte {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// jsonUnmarshal decodes b into v, ignoring errors (for samples in messages).
func jsonUnmarshal(b []byte, v any) { json.Unmarshal(b, v) }

package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jukinet/internal/clocktest"
	"jukinet/internal/ids"
)

// run runs jukinet in-process and returns its exit status and output.
// testClock is the clock every command in these tests runs on.
var testClock = clocktest.New()

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	return runAt(t, testClock.Now, args...)
}

// runAt runs jukinet with args on the clock now.
func runAt(t *testing.T, now func() time.Time, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(&Env{Ctx: context.Background(), Stdout: &out, Stderr: &errOut, Now: now}, args)
	return code, out.String(), errOut.String()
}

func TestIDsCheck(t *testing.T) {
	code, out, _ := run(t, "ids", "check", "131083", "020001", "983205673214")
	if code != 0 {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	if !strings.Contains(out, "131083\t地方公共団体コード\tvalid\t東京都江東区") || !strings.Contains(out, "983205673214\t個人番号\tvalid") {
		t.Errorf("output:\n%s", out)
	}
	// The six 北方領土 villages are on the official list (issue 19).
	code, out, _ = run(t, "ids", "check", "016951", "016969", "016977", "016985", "016993", "017001")
	if code != 0 || !strings.Contains(out, "016951\t地方公共団体コード\tvalid\t北海道色丹郡色丹村") || !strings.Contains(out, "017001\t地方公共団体コード\tvalid\t北海道蘂取郡蘂取村") {
		t.Errorf("北方領土 villages: exit %d, output:\n%s", code, out)
	}
	for _, v := range []string{"131084", "983205673215"} {
		code, out, _ := run(t, "ids", "check", v)
		if code == 0 || !strings.Contains(out, "check digit") {
			t.Errorf("ids check %s: exit %d, output %q", v, code, out)
		}
	}
	// One bad value among good ones fails the run, and every line is printed.
	code, out, _ = run(t, "ids", "check", "131083", "12345", "12345678903")
	if code != 1 || strings.Count(out, "\n") != 3 {
		t.Errorf("mixed: exit %d, output:\n%s", code, out)
	}
}

// TestIDsCheckThroughTime: an abolished code is named as such, with its day
// and the body that holds its area now; a code established later says since
// when; names are the official list's (issue 24 item 3).
func TestIDsCheckThroughTime(t *testing.T) {
	code, out, _ := run(t, "ids", "check", "221317")
	if code != 1 || out != "221317\t地方公共団体コード\tabolished on 2024-01-01 (静岡県浜松市中区): merged into 221384 浜松市中央区 (2024年1月1日に廃止。現在は221384 浜松市中央区)\n" {
		t.Errorf("221317: exit %d, output %q", code, out)
	}
	code, out, _ = run(t, "ids", "check", "221350")
	if code != 1 || !strings.Contains(out, "divided among 221384 浜松市中央区 and 221392 浜松市浜名区") {
		t.Errorf("221350: exit %d, output %q", code, out)
	}
	code, out, _ = run(t, "ids", "check", "221384", "394050", "403440")
	if code != 0 || !strings.Contains(out, "221384\t地方公共団体コード\tvalid\t静岡県浜松市中央区 (in force since 2024-01-01)") ||
		!strings.Contains(out, "\t高知県高岡郡梼原町\n") || !strings.Contains(out, "\t福岡県糟屋郡須恵町\n") {
		t.Errorf("in force: exit %d, output:\n%s", code, out)
	}
	code, out, _ = run(t, "ids", "check", "221422")
	if code != 1 || !strings.Contains(out, "invalid: no local government has this code") {
		t.Errorf("unknown: exit %d, output %q", code, out)
	}
}

func TestGenResidents(t *testing.T) {
	code, first, errOut := run(t, "gen", "residents", "--count", "1000", "--local-gov", "131083", "--seed", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	_, second, _ := run(t, "gen", "residents", "--count", "1000", "--local-gov", "131083", "--seed", "1")
	if first != second {
		t.Error("two runs with seed 1 differ")
	}
	rows, err := csv.NewReader(strings.NewReader(first)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1001 {
		t.Fatalf("%d rows, want header + 1000", len(rows))
	}
	for _, r := range rows[1:] {
		if _, err := ids.ParseResidentCode(r[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := ids.ParseIndividualNumber(r[1]); err != nil {
			t.Fatal(err)
		}
		if r[13] != "131083" {
			t.Fatalf("local_gov_code = %s", r[13])
		}
	}
	for _, args := range [][]string{
		{"gen", "residents", "--count", "5", "--local-gov", "131084"},
		{"gen", "residents", "--count", "5", "--local-gov", "130001"},
		{"gen", "residents", "--count", "-1", "--local-gov", "131083"},
		{"gen", "residents", "--count", "5", "--local-gov", "131083", "--encoding", "latin1"},
	} {
		if code, _, errOut := run(t, args...); code == 0 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want one line and non-zero", args, code, errOut)
		}
	}
}

func TestInitErrors(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "n")
	if code, out, errOut := run(t, "init", "--data", dir, "--profile", "koto-ward", "--local-gov", "131083"); code != 0 {
		t.Fatalf("init: exit %d: %s %s", code, out, errOut)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "jukinet.toml"))
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"init", "--data", dir, "--profile", "koto-ward", "--local-gov", "131083"}, "already holds a node"},
		{[]string{"init", "--data", dir + "2", "--profile", "osaka", "--local-gov", "131083"}, "osaka"},
		{[]string{"init", "--data", dir + "2", "--profile", "koto-ward", "--local-gov", "131084"}, "check digit is 4, expected 3"},
		{[]string{"init", "--data", dir + "2", "--profile", "koto-ward", "--local-gov", "999997"}, "no local government has this code"},
		{[]string{"init", "--data", dir + "2", "--profile", "koto-ward", "--local-gov", "131083", "--db", "postgres://127.0.0.1:1/x?connect_timeout=2"}, "cannot reach database"},
	}
	for _, tt := range tests {
		code, _, errOut := run(t, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q; want one line with %q", tt.args, code, errOut, tt.want)
		}
	}
	if _, err := os.Stat(dir + "2"); err == nil {
		t.Error("a failed init left its folder behind")
	}
	after, _ := os.ReadFile(filepath.Join(dir, "jukinet.toml"))
	if !bytes.Equal(before, after) {
		t.Error("a refused init changed the existing node's config")
	}
	// A config with an unknown key stops serve with the key and the file.
	os.WriteFile(filepath.Join(dir, "jukinet.toml"), []byte(strings.Replace(string(before), "addr = ", "port = 8080\naddr = ", 1)), 0o644)
	code, _, errOut := run(t, "serve", "--data", dir)
	if code == 0 || !strings.Contains(errOut, `unknown key "http.port"`) || !strings.Contains(errOut, "jukinet.toml") {
		t.Errorf("serve with unknown key: exit %d, stderr %q", code, errOut)
	}
}

// TestDemoServesAndStops runs the demo twice: the first run creates the node
// and its residents, the second reuses them; both answer HTTP and shut down
// when their context ends, as on SIGINT.
func TestDemoServesAndStops(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	for i, want := range []string{"Loaded 300 synthetic residents", "The register holds 300 residents"} {
		addr := freeAddr(t)
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut syncBuffer
		done := make(chan int)
		go func() {
			done <- Run(&Env{Ctx: ctx, Stdout: &out, Stderr: &errOut, Now: testClock.Now}, []string{"demo", "--data", dir, "--addr", addr, "--residents", "300"})
		}()
		body := waitForPage(t, "http://"+addr+"/status", done)
		// The register's size is for signed-in staff only.
		if !strings.Contains(body, "東京都江東区") || !strings.Contains(body, "DEMO") || strings.Contains(body, "300人") {
			t.Errorf("run %d: page lacks node name or DEMO banner, or shows the resident count to anyone:\n%s", i, body)
		}
		// The front page leads a browser on this machine to sign in, with
		// the demo staff offered for one-click sign-in.
		if login := get(t, "http://"+addr+"/"); !strings.Contains(login, "デモ用ワンクリックログイン") || !strings.Contains(login, "見本 取扱者") ||
			!strings.Contains(login, "見本 保守員（demo-contractor）") || !strings.Contains(login, "見本 入力員（demo-contractor-lacking）") || !strings.Contains(login, "委託先の職員（見本データ入力株式会社（デモ））") {
			t.Errorf("run %d: sign-in page lacks the demo staff and contractors:\n%s", i, login)
		}
		en := get(t, "http://"+addr+"/status?lang=en")
		if !strings.Contains(en, "Node status") {
			t.Errorf("run %d: English page lacks its title", i)
		}
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Fatalf("run %d: exit %d: %s", i, code, errOut.String())
			}
		case <-time.After(20 * time.Second):
			t.Fatalf("run %d: demo did not stop", i)
		}
		if !strings.Contains(out.String(), want) || !strings.Contains(out.String(), "Stopped.") {
			t.Errorf("run %d: output lacks %q or Stopped.:\n%s", i, want, out.String())
		}
		// How to sign in names who shows each refusal.
		for _, who := range []string{"demo-expired", "demo-contractor ", "demo-contractor-lacking", "再委託の禁止"} {
			if !strings.Contains(out.String(), who) {
				t.Errorf("run %d: the sign-in instructions lack %q:\n%s", i, who, out.String())
			}
		}
	}
	// The residents went in through the gate, once, and the log is intact.
	code, out, errOut := run(t, "audit", "verify", "--data", dir)
	if code != 0 || !strings.Contains(out, "audit log intact") {
		t.Fatalf("audit verify: exit %d: %s %s", code, out, errOut)
	}
	code, out, _ = run(t, "audit", "show", "--data", dir, "--action", "import")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, "count=300") {
		t.Errorf("import entries:\n%s", out)
	}
	// One demo resident is under a support measure (支援措置), marked once.
	if code, out, errOut := run(t, "protect", "list", "--data", dir); code != 0 || strings.Count(out, "in force") != 1 || !strings.Contains(out, "dv") {
		t.Errorf("the demo's protected resident: %d %s %s", code, out, errOut)
	}
	// Times are shown in Japan Standard Time, as on the screens.
	if f := strings.Fields(out); len(f) < 2 || !strings.HasSuffix(f[1], "+09:00") {
		t.Errorf("audit show gives the time as %q, want JST (+09:00)", f[1:2])
	}
}

func TestDemoRefusesRealNode(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, "init", "--data", dir, "--profile", "koto-ward", "--local-gov", "131083"); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut := run(t, "demo", "--data", dir, "--addr", freeAddr(t))
	if code == 0 || !strings.Contains(errOut, "not a demo node") {
		t.Errorf("demo on a real node: exit %d, %q", code, errOut)
	}
}

// A demo folder keeps the database it was made with: --db is for a new one.
func TestDemoRefusesNewDatabaseForExistingNode(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := run(t, "init", "--data", dir, "--profile", "koto-ward", "--local-gov", "131083"); code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut := run(t, "demo", "--data", dir, "--addr", freeAddr(t), "--db", "postgres://u:secret@127.0.0.1/other")
	if code == 0 || !strings.Contains(errOut, "already holds a node") || strings.Contains(errOut, "secret") {
		t.Errorf("demo --db on an existing node: exit %d, %q", code, errOut)
	}
}

func TestVersionAndHelp(t *testing.T) {
	if code, out, _ := run(t, "version"); code != 0 || !strings.HasPrefix(out, "jukinet ") {
		t.Errorf("version: %d %q", code, out)
	}
	for _, cmd := range []string{"init", "serve", "demo", "ids", "gen"} {
		if code, out, _ := run(t, cmd, "--help"); code != 0 || !strings.Contains(out, "Usage: jukinet "+cmd) {
			t.Errorf("%s --help: exit %d, %q", cmd, code, out)
		}
	}
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

func waitForPage(t *testing.T, url string, done chan int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case code := <-done:
			t.Fatalf("server exited early with %d", code)
		default:
		}
		if resp, err := http.Get(url); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return string(b)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s did not answer within 30s", url)
	return ""
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	return string(b)
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

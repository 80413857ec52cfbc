package faults

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"jukinet/internal/api"
	"jukinet/internal/config"
	"jukinet/internal/db/dbtest"
)

// EnvCycles overrides how many SIGKILL cycles each database gets (default:
// 3, or 100 with -tags faults).
const EnvCycles = "JUKINET_FAULT_CYCLES"

func cycles(t *testing.T) int {
	if v := os.Getenv(EnvCycles); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: give a number of cycles, 1 or more", EnvCycles, v)
		}
		return n
	}
	return defaultCycles
}

// TestSIGKILLCycles kills a municipality node (江東区, a demo node whose
// loopback API needs no session) with SIGKILL again and again while clients
// look residents up, search, change records and import CSV files, and while
// it delivers its changes to its prefecture (東京都), which is killed with
// it in about one cycle in three. After each restart it checks that every
// request that got a 200 has its audit entry, that no acknowledged change is
// lost (the register holds it, or the one change sent after it whose answer
// the kill cut off), that every import is in the register whole or not at
// all, that `jukinet audit verify` passes on both nodes, that searches find
// the records as they now stand, and that once delivery has caught up the
// prefecture holds every version of the municipality exactly once and
// `jukinet federation check` is clean. SQLite and PostgreSQL (both nodes on
// the one database kind).
func TestSIGKILLCycles(t *testing.T) {
	n := cycles(t)
	// The municipality's server journals its look-ups and searches
	// (audit.journal, on by default on SQLite): every answered one must be
	// in the log after the kill, from the journal's recovery.
	t.Run("sqlite", func(t *testing.T) { killCycles(t, n, "", "", true) })
	// It commits each group's rows on the request's path, as a node with
	// journal = false does (the default on PostgreSQL).
	t.Run("sqlite-sql-rows", func(t *testing.T) { killCycles(t, n, "", "", false) })
	t.Run("postgres", func(t *testing.T) { killCycles(t, n, dbtest.PostgresURL(t), dbtest.PostgresURL(t), false) })
}

// person is a resident the load asks for.
type person struct {
	code, kana, dob string
}

// changeState follows the changes of one resident, all made by one worker.
type changeState struct {
	acked      string // address of the last acknowledged change
	pending    string // address of a change sent whose answer never came
	pendingRef string
	refused    []string // addresses of changes answered with an error
}

// importRun is one CSV import through `jukinet import residents`.
type importRun struct {
	ref     string
	people  []person
	acked   bool // the command exited 0
	refused string
}

// figures are what a run counts.
type figures struct {
	cycles, answered, entries, changes, imports, delivered int
	// mismatches: each must stay 0.
	lost, unlogged, halfApplied, duplicated, phantom, stale, alerts int
}

func (f figures) mismatches() int {
	return f.lost + f.unlogged + f.halfApplied + f.duplicated + f.phantom + f.stale + f.alerts
}

// killRun is the state of one database's run.
type killRun struct {
	t        *testing.T
	root     string
	m, p     *node // 江東区 and 東京都
	pool     []person
	mine     [2][]string // the residents each change worker changes
	changes  map[string]*changeState
	counters [2]int // per change worker: the next address number
	seed     int    // the next gen seed of an import
	cursor   int64  // audit entries of 江東区 read so far
	// used holds every 住民票コード and 個人番号 in the register or in a
	// file generated so far: generated files are drawn at random, and
	// across a long run two files share a code (the birthday bound), which
	// would make the second look half-applied.
	used map[string]bool
	fig  figures
	// journal is the municipality's audit.journal, written into its
	// configuration after the demo made it.
	journal bool
}

const (
	muniCode  = "131083" // 江東区, the demo's body
	prefCode  = "130001" // 東京都
	reasonTxt = "障害試験"
)

func killCycles(t *testing.T, cycles int, muniURL, prefURL string, journal bool) {
	root := t.TempDir()
	r := &killRun{t: t, root: root, changes: map[string]*changeState{}, seed: 1000, cursor: -1, used: map[string]bool{}, journal: journal}
	r.m = newNode(t, root, "koto", muniURL)
	r.p = newNode(t, root, "tokyo", prefURL)
	r.setUp()

	// The figures, also when a check stops the run.
	defer func() {
		f := r.fig
		t.Logf("faults %s: cycles=%d answered=%d entries=%d changes=%d imports=%d delivered=%d lost=%d unlogged=%d half_applied=%d duplicated=%d phantom=%d stale=%d alerts=%d",
			dbName(muniURL), f.cycles, f.answered, f.entries, f.changes, f.imports, f.delivered, f.lost, f.unlogged, f.halfApplied, f.duplicated, f.phantom, f.stale, f.alerts)
		if f.mismatches() != 0 {
			t.Errorf("%d mismatches", f.mismatches())
		}
	}()
	rng := rand.New(rand.NewSource(19))
	for c := 1; c <= cycles; c++ {
		// When to kill, drawn from the seeded generator: after a number
		// of answered requests; in some cycles once an import has been
		// acknowledged, in others while one is running.
		target := 50 + rng.Intn(400)
		mode := rng.Intn(10)
		extra := rng.Intn(40)
		killPref := rng.Intn(3) == 0
		ld := r.load(c, rng.Int63())
		due := func() bool {
			ld.mu.Lock()
			defer ld.mu.Unlock()
			n := len(ld.answered)
			switch {
			case mode < 4:
				return n >= target
			case mode < 7:
				return n >= target && ld.acked > 0
			default:
				return n >= target/2 && ld.importer != nil && n >= ld.startedAt+extra
			}
		}
		if !ld.wait(due) {
			ld.halt(r.m)
			t.Fatalf("cycle %d: no progress at %d of %d requests answered (statuses %v); 江東区's log ends:\n%s", c, ld.count(), target, ld.statuses(), tail(r.m.log, 3000))
		}
		if killPref {
			r.p.srv.kill()
		}
		ld.halt(r.m)
		if killPref {
			r.p.serve(t)
		}
		r.m.serve(t)
		sizes := make([]int, len(ld.imports))
		for i, imp := range ld.imports {
			sizes[i] = len(imp.people)
		}
		t.Logf("cycle %d: killed after %d answers (mode %d), %d imports started %v, %d acknowledged; prefecture killed: %v",
			c, len(ld.answered), mode, len(ld.imports), sizes, ld.acked, killPref)
		r.check(c, ld, killPref)
		r.fig.cycles++
		if t.Failed() {
			break
		}
	}
}

func dbName(u string) string {
	if u == "" {
		return "sqlite"
	}
	return "postgres"
}

// setUp creates 江東区 as a demo node with 300 residents and 東京都 as a
// prefecture node, makes them peers, starts both and sends the demo's
// residents up (a consistency check's repair), so that the two registers
// agree before the first cycle.
func (r *killRun) setUp() {
	t, m, p := r.t, r.m, r.p
	args := []string{"demo", "--data", m.dir, "--addr", m.addr, "--residents", "300"}
	if m.dbURL != "" {
		args = append(args, "--db", m.dbURL)
	}
	m.srv = startProc(t, m.log, args...)
	m.waitHealthy(t)
	if err := m.srv.stop(); err != nil {
		t.Fatalf("stop the demo: %v\n%s", err, tail(m.log, 3000))
	}
	conf := filepath.Join(m.dir, config.FileName)
	b, err := os.ReadFile(conf)
	setting := regexp.MustCompile(`(?m)^journal = (true|false)$`)
	if err != nil || !setting.Match(b) {
		t.Fatalf("read audit.journal in %s: %v", conf, err)
	}
	if err := os.WriteFile(conf, setting.ReplaceAll(b, fmt.Appendf(nil, "journal = %v", r.journal)), 0o600); err != nil {
		t.Fatal(err)
	}
	if !r.journal {
		// The demo stopped cleanly, every journaled entry with its rows: a
		// node without a journal has no journal folder.
		if err := os.RemoveAll(filepath.Join(m.dir, "audit-journal")); err != nil {
			t.Fatal(err)
		}
	}
	logText, _ := os.ReadFile(m.log)
	protected := map[string]bool{}
	for _, s := range regexp.MustCompile(`Resident (\d{11}) is under a support measure`).FindAllStringSubmatch(string(logText), -1) {
		protected[s[1]] = true
	}
	args = []string{"init", "--data", p.dir, "--profile", "aomori-pref", "--local-gov", prefCode}
	if p.dbURL != "" {
		args = append(args, "--db", p.dbURL)
	}
	must(t, args...)
	bundle := func(n *node) string {
		f := filepath.Join(r.root, n.name+".bundle.json")
		if err := os.WriteFile(f, []byte(must(t, "peer", "export", "--data", n.dir, "--url", "http://"+n.addr)), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	must(t, "peer", "add", "--data", p.dir, "--role", "downstream", bundle(m))
	must(t, "peer", "add", "--data", m.dir, "--role", "upstream", bundle(p))
	p.serve(t)
	m.serve(t)
	// The server journals exactly when its configuration says so: it then
	// holds the journal's writer lock.
	if journals := writerLockHeld(t, filepath.Join(m.dir, "audit-journal", "writer.lock")); journals != r.journal {
		t.Fatalf("the municipality's server journals its audit log: %v, want %v", journals, r.journal)
	}
	must(t, "federation", "check", "--data", m.dir, "--local-gov", muniCode, "--repair")
	r.waitDelivered()

	d := m.db(t)
	defer d.Close()
	rows, err := d.Query(t.Context(), `SELECT r.resident_code, ir.individual_number, ir.family_name_kana, ir.given_name_kana, ir.date_of_birth
		FROM resident r JOIN identity_record ir ON ir.id = r.record_id ORDER BY r.resident_code`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var p person
		var number, family, given string
		if err := rows.Scan(&p.code, &number, &family, &given, &p.dob); err != nil {
			t.Fatal(err)
		}
		r.used[p.code], r.used[number] = true, true
		p.kana = family + " " + given
		if !protected[p.code] {
			r.pool = append(r.pool, p)
		}
	}
	rows.Close()
	if len(r.pool) < 100 {
		t.Fatalf("the demo holds %d residents", len(r.pool))
	}
	for i, p := range r.pool {
		if i%4 < 2 { // half the residents are changed, by two workers
			r.mine[i%4] = append(r.mine[i%4], p.code)
			r.changes[p.code] = &changeState{}
		}
	}
}

var lagRe = regexp.MustCompile(`upstream delivery: last change (\d+), acknowledged (\d+)`)

// waitDelivered waits until 江東区's upstream has acknowledged every change.
func (r *killRun) waitDelivered() {
	t := r.t
	var status string
	stopped := false
	if !poll(1200, 100*time.Millisecond, func() bool {
		status, _ = run(t, "federation", "status", "--data", r.m.dir)
		if strings.Contains(status, "stopped after an alert") {
			stopped = true // it will not catch up
			return true
		}
		s := lagRe.FindStringSubmatch(status)
		return s != nil && s[1] == s[2]
	}) || stopped {
		t.Fatalf("delivery to 東京都 did not catch up:\n%s\n東京都's log ends:\n%s", status, tail(r.p.log, 3000))
	}
}

// cycleLoad is the load of one cycle.
type cycleLoad struct {
	run   *killRun
	cycle int
	addr  string

	mu       sync.Mutex
	stopped  bool
	answered map[string]string // case reference → kind, of requests answered 200
	status   map[int]int       // answers by status
	imports  []*importRun
	importer *exec.Cmd // the import running, if any
	// startedAt is how many requests had been answered when the latest
	// import started; acked how many imports were acknowledged.
	startedAt, acked int
	wg               sync.WaitGroup
}

func (ld *cycleLoad) count() int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return len(ld.answered)
}

func (ld *cycleLoad) statuses() map[int]int {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return copyCounts(ld.status)
}

func copyCounts(m map[int]int) map[int]int {
	out := make(map[int]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// wait polls due until it holds, or until no request has been answered
// for 6,000 polls (about a minute) — 60,000 while an import runs: a bulk
// load holds the node's one writer, and audited requests wait for it
// (docs/federation.md) — and then reports false.
func (ld *cycleLoad) wait(due func() bool) bool {
	last, stall := 0, 0
	for !due() {
		time.Sleep(10 * time.Millisecond)
		ld.mu.Lock()
		n, importing := len(ld.answered), ld.importer != nil
		ld.mu.Unlock()
		if n > last {
			last, stall = n, 0
			continue
		}
		stall++
		if stall > 6000 && (!importing || stall > 60000) {
			return false
		}
	}
	return true
}

func (ld *cycleLoad) isStopped() bool {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	return ld.stopped
}

// answer records an answer; it reports whether the worker goes on.
func (ld *cycleLoad) answer(ref, kind string, status int, err error) bool {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	if err != nil {
		return !ld.stopped
	}
	ld.status[status]++
	if status == http.StatusOK {
		ld.answered[ref] = kind
	}
	return true
}

// halt kills 江東区 with SIGKILL, and the import running with it, and
// waits for the workers to notice.
func (ld *cycleLoad) halt(m *node) {
	m.srv.kill()
	ld.mu.Lock()
	ld.stopped = true
	if ld.importer != nil {
		ld.importer.Process.Kill()
	}
	ld.mu.Unlock()
	ld.wg.Wait()
}

// load starts the workers of a cycle: three look residents up, one
// searches, two change records (each its own residents), one imports CSV
// files with the command line, one file after another.
func (r *killRun) load(cycle int, seed int64) *cycleLoad {
	ld := &cycleLoad{run: r, cycle: cycle, addr: "http://" + r.m.addr, answered: map[string]string{}, status: map[int]int{}}
	base := rand.New(rand.NewSource(seed))
	for w := 0; w < 3; w++ {
		ld.go_(base.Int63(), func(rng *rand.Rand) { ld.lookups(w, rng) })
	}
	ld.go_(base.Int63(), func(rng *rand.Rand) { ld.searches(rng) })
	for w := 0; w < 2; w++ {
		ld.go_(base.Int63(), func(rng *rand.Rand) { ld.changes(w, rng) })
	}
	ld.go_(base.Int63(), func(rng *rand.Rand) { ld.importsLoop(rng) })
	return ld
}

func (ld *cycleLoad) go_(seed int64, fn func(*rand.Rand)) {
	ld.wg.Add(1)
	go func() {
		defer ld.wg.Done()
		fn(rand.New(rand.NewSource(seed)))
	}()
}

func lookupURL(addr, code, affair, ref string) string {
	q := url.Values{"affair": {affair}, "reason": {reasonTxt}, "case": {ref}}
	return addr + "/api/v1/residents/" + code + "?" + q.Encode()
}

func (ld *cycleLoad) lookups(w int, rng *rand.Rand) {
	pool := ld.run.pool
	for n := 0; !ld.isStopped(); n++ {
		ref := fmt.Sprintf("F%d-L%d-%d", ld.cycle, w, n)
		status, err := getJSON(lookupURL(ld.addr, pool[rng.Intn(len(pool))].code, "juminhyo-copy", ref), nil)
		if !ld.answer(ref, "lookup", status, err) {
			return
		}
	}
}

func (ld *cycleLoad) searches(rng *rand.Rand) {
	pool := ld.run.pool
	for n := 0; !ld.isStopped(); n++ {
		ref := fmt.Sprintf("F%d-S-%d", ld.cycle, n)
		p := pool[rng.Intn(len(pool))]
		status, _, err := postJSON(ld.addr+"/api/v1/search", api.SearchRequest{Name: p.kana, DateOfBirth: p.dob, Affair: "juki", Reason: reasonTxt, Case: ref}, nil)
		if !ld.answer(ref, "search", status, err) {
			return
		}
	}
}

// changes reads a resident's record and sends it back with a new
// address, unique in the whole run, one resident after another.
func (ld *cycleLoad) changes(w int, _ *rand.Rand) {
	r := ld.run
	mine := r.mine[w]
	for n := 0; !ld.isStopped(); n++ {
		code := mine[(ld.cycle*7+n)%len(mine)]
		gref := fmt.Sprintf("F%d-G%d-%d", ld.cycle, w, n)
		var rec api.Record
		status, err := getJSON(lookupURL(ld.addr, code, "juki", gref), &rec)
		if !ld.answer(gref, "lookup", status, err) {
			return
		}
		if status != http.StatusOK {
			continue
		}
		r.counters[w]++ // only this worker touches its counter and its residents
		rec.Address = fmt.Sprintf("東京都江東区東陽四丁目%d番%d号", w+1, r.counters[w])
		rec.ChangeReason = "転居"
		cref := fmt.Sprintf("F%d-C%d-%d", ld.cycle, w, n)
		st := r.changes[code]
		st.pending, st.pendingRef = rec.Address, cref
		status, body, err := postJSON(ld.addr+"/api/v1/changes", api.ChangeRequest{Record: rec, Affair: "juki", Reason: reasonTxt, Case: cref}, nil)
		if err != nil {
			if ld.answer(cref, "change", 0, err) {
				continue // no answer, but the node still runs: it stays pending
			}
			return
		}
		ld.answer(cref, "change", status, nil)
		st.pending, st.pendingRef = "", ""
		if status == http.StatusOK {
			st.acked = rec.Address
			ld.mu.Lock()
			r.fig.changes++
			ld.mu.Unlock()
		} else {
			st.refused = append(st.refused, rec.Address)
			r.t.Logf("cycle %d: change %s refused: %d %s", ld.cycle, cref, status, body)
		}
	}
}

// importsLoop imports generated files one after another through the command
// line, as a clerk's batch would: mostly small files, now and then one of a
// thousand residents or so.
func (ld *cycleLoad) importsLoop(rng *rand.Rand) {
	r := ld.run
	t := r.t
	for !ld.isStopped() {
		ld.mu.Lock()
		r.seed++
		seed := r.seed
		ld.mu.Unlock()
		k := 5 + rng.Intn(60)
		if rng.Intn(6) == 0 {
			k = 500 + rng.Intn(1000)
		}
		if bulkImports && rng.Intn(40) == 0 {
			k = 50_000 + rng.Intn(1000)
		}
		csvText, err := exec.Command(jukinet(t), "gen", "residents", "--count", strconv.Itoa(k), "--local-gov", muniCode, "--seed", strconv.Itoa(seed)).Output()
		if err != nil {
			t.Errorf("gen residents: %v", err)
			return
		}
		recs, err := csv.NewReader(bytes.NewReader(csvText)).ReadAll()
		if err != nil || len(recs) != k+1 {
			t.Errorf("gen residents wrote %d rows: %v", len(recs), err)
			return
		}
		// Rows whose code or number an earlier file or the register
		// holds are left out: every file's residents are new.
		kept := recs[:1]
		imp := &importRun{ref: fmt.Sprintf("F%d-I-%d", ld.cycle, seed)}
		for _, row := range recs[1:] {
			if r.used[row[0]] || r.used[row[1]] {
				continue
			}
			r.used[row[0]], r.used[row[1]] = true, true
			kept = append(kept, row)
			imp.people = append(imp.people, person{code: row[0], kana: row[4] + " " + row[5], dob: row[10]})
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.WriteAll(kept)
		file := filepath.Join(r.root, fmt.Sprintf("import-%d.csv", seed))
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Error(err)
			return
		}
		var out bytes.Buffer
		cmd := exec.Command(jukinet(t), "import", "residents", "--data", r.m.dir, "--case", imp.ref, file)
		cmd.Stdout, cmd.Stderr = &out, &out
		ld.mu.Lock()
		if ld.stopped {
			ld.mu.Unlock()
			return
		}
		if err := cmd.Start(); err != nil {
			ld.mu.Unlock()
			t.Errorf("start import: %v", err)
			return
		}
		ld.importer, ld.startedAt = cmd, len(ld.answered)
		ld.imports = append(ld.imports, imp)
		ld.mu.Unlock()
		err = cmd.Wait()
		ld.mu.Lock()
		ld.importer = nil
		stopped := ld.stopped
		if err == nil {
			imp.acked = true
			ld.acked++
			ld.answered[imp.ref] = "import"
		} else if !stopped {
			imp.refused = out.String()
		}
		ld.mu.Unlock()
		if err != nil && !stopped {
			t.Logf("cycle %d: import %s refused: %v %s", ld.cycle, imp.ref, err, out.String())
		}
	}
}

// check runs the checks after a cycle's restart.
func (r *killRun) check(cycle int, ld *cycleLoad, prefKilled bool) {
	t, m := r.t, r.m
	fig := &r.fig
	fig.answered += len(ld.answered)

	// Every answered request has its entry; so has every change the
	// register turns out to hold.
	ok := map[string]bool{}
	r.cursor = readEntries(t, m.addr, r.cursor, func(e auditEntry) {
		if e.Entry != nil && e.Entry.CaseRef != "" && e.Entry.Outcome == "ok" {
			ok[e.Entry.CaseRef] = true
		}
	})
	for ref, kind := range ld.answered {
		if !ok[ref] {
			fig.unlogged++
			t.Errorf("cycle %d: %s %s was answered 200 but has no audit entry", cycle, kind, ref)
		}
	}

	d := m.db(t)
	defer d.Close()
	ctx := t.Context()
	current := func(code string) string {
		var addr string
		err := d.QueryRow(ctx, `SELECT ir.address FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.resident_code = ?`, code).Scan(&addr)
		if err != nil {
			t.Fatalf("read %s: %v", code, err)
		}
		return addr
	}
	versions := func(code, addr string) int {
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM identity_record WHERE resident_code = ? AND address = ?`, code, addr).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	var changed []person
	for _, p := range r.pool {
		st := r.changes[p.code]
		if st == nil {
			continue
		}
		cur := current(p.code)
		switch {
		case st.pending != "" && cur == st.pending:
			// Committed, the answer cut off by the kill: logged all the same.
			if !ok[st.pendingRef] {
				fig.unlogged++
				t.Errorf("cycle %d: change %s is in the register but has no audit entry", cycle, st.pendingRef)
			}
			st.acked = st.pending
			changed = append(changed, p)
		case st.acked != "" && cur != st.acked:
			fig.lost++
			t.Errorf("cycle %d: the acknowledged change of %s to %s is lost: the register says %s", cycle, p.code, st.acked, cur)
		case st.acked != "" && cur == st.acked:
			changed = append(changed, p)
		}
		if st.pending != "" && cur != st.pending && versions(p.code, st.pending) != 0 {
			fig.phantom++
			t.Errorf("cycle %d: change %s unanswered and not current, yet stored", cycle, st.pendingRef)
		}
		for _, a := range st.refused {
			if versions(p.code, a) != 0 {
				fig.phantom++
				t.Errorf("cycle %d: a change of %s to %s was refused, yet stored", cycle, p.code, a)
			}
		}
		st.pending, st.pendingRef, st.refused = "", "", nil
	}

	// Imports: whole or not at all; acknowledged ones whole.
	var imported []person
	for _, imp := range ld.imports {
		present := 0
		for from := 0; from < len(imp.people); from += 1000 {
			part := imp.people[from:min(from+1000, len(imp.people))]
			args := make([]any, len(part))
			marks := make([]string, len(part))
			for i, p := range part {
				args[i], marks[i] = p.code, "?"
			}
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM resident WHERE resident_code IN (`+strings.Join(marks, ",")+`)`, args...).Scan(&n); err != nil {
				t.Fatal(err)
			}
			present += n
		}
		switch {
		case present != 0 && present != len(imp.people):
			fig.halfApplied++
			t.Errorf("cycle %d: import %s is half-applied: %d of %d residents", cycle, imp.ref, present, len(imp.people))
		case imp.acked && present == 0:
			fig.lost++
			t.Errorf("cycle %d: import %s was acknowledged but none of its %d residents is in the register", cycle, imp.ref, len(imp.people))
		case present == len(imp.people):
			fig.imports++
			if !ok[imp.ref] {
				fig.unlogged++
				t.Errorf("cycle %d: import %s is in the register but has no audit entry", cycle, imp.ref)
			}
			imported = append(imported, imp.people[len(imp.people)/2])
		case imp.refused != "":
			t.Errorf("cycle %d: import %s refused: %s", cycle, imp.ref, imp.refused)
		}
	}

	// The log verifies on both nodes.
	out := must(t, "audit", "verify", "--data", m.dir)
	if s := regexp.MustCompile(`audit log intact: (\d+) entries`).FindStringSubmatch(out); s != nil {
		fig.entries, _ = strconv.Atoi(s[1])
	} else {
		t.Errorf("cycle %d: 江東区's audit verify: %s", cycle, out)
	}
	if prefKilled || cycle%10 == 0 {
		if out := must(t, "audit", "verify", "--data", r.p.dir); !strings.HasPrefix(out, "audit log intact") {
			t.Errorf("cycle %d: 東京都's audit verify: %s", cycle, out)
		}
	}

	// Searches find the records as they now stand (a few per cycle).
	sample := append(changed[:min(3, len(changed))], imported[:min(2, len(imported))]...)
	for i, p := range sample {
		addr := current(p.code)
		var res struct {
			Matches []api.Record `json:"matches"`
		}
		ref := fmt.Sprintf("F%d-check-%d", cycle, i)
		var status int
		var body []byte
		var err error
		// A timeout is tried again (eight tries): after a bulk import the
		// node's one writer is busy delivering 50,000 changes, and the
		// search waits for its audit entry.
		for try := 0; try < 8; try++ {
			if status, body, err = postJSON("http://"+m.addr+"/api/v1/search", api.SearchRequest{Name: p.kana, DateOfBirth: p.dob, Address: addr, Affair: "juki", Reason: reasonTxt, Case: fmt.Sprintf("%s-%d", ref, try)}, &res); err == nil {
				break
			}
		}
		if err != nil || status != http.StatusOK {
			t.Fatalf("cycle %d: search %s: %d %v %s", cycle, ref, status, err, body)
		}
		found := false
		for _, rec := range res.Matches {
			found = found || (rec.ResidentCode == p.code && rec.Address == addr)
		}
		if !found {
			fig.stale++
			t.Errorf("cycle %d: a search for %s (%s, %s, %s) does not find it: %s", cycle, p.code, p.kana, p.dob, addr, body)
		}
	}

	// Delivery catches up; the prefecture holds every version once.
	r.waitDelivered()
	held := func(n *node) map[[2]string]int {
		d := n.db(t)
		defer d.Close()
		rows, err := d.Query(ctx, `SELECT resident_code, address, COUNT(*) FROM identity_record WHERE local_gov_code = ? GROUP BY resident_code, address`, muniCode)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[[2]string]int{}
		for rows.Next() {
			var code, addr string
			var n int
			if err := rows.Scan(&code, &addr, &n); err != nil {
				t.Fatal(err)
			}
			out[[2]string{code, addr}] = n
		}
		return out
	}
	here, there := held(m), held(r.p)
	fig.delivered = 0
	for k, n := range there {
		fig.delivered += n
		if n > 1 {
			fig.duplicated++
			t.Errorf("cycle %d: 東京都 holds %s at %s %d times", cycle, k[0], k[1], n)
		}
		if here[k] == 0 {
			fig.phantom++
			t.Errorf("cycle %d: 東京都 holds %s at %s, which 江東区 never had", cycle, k[0], k[1])
		}
	}
	for k := range here {
		if there[k] == 0 {
			fig.lost++
			t.Errorf("cycle %d: 東京都 lacks %s at %s", cycle, k[0], k[1])
		}
	}
	if out := must(t, "federation", "status", "--data", r.p.dir); strings.Contains(out, "alerts:") {
		fig.alerts++
		t.Errorf("cycle %d: alerts at 東京都:\n%s", cycle, out)
	}
	if out, err := run(t, "federation", "check", "--data", m.dir, "--local-gov", muniCode); err != nil || !strings.Contains(out, " 0 residents differ") {
		fig.lost++
		t.Errorf("cycle %d: federation check: %v\n%s", cycle, err, out)
	}
}

// writerLockHeld reports whether a process holds the audit journal's
// writer lock at path (a missing file: no).
func writerLockHeld(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if err == nil {
		unix.Flock(int(f.Fd()), unix.LOCK_UN)
		return false
	}
	if !errors.Is(err, unix.EWOULDBLOCK) {
		t.Fatalf("try the journal's writer lock: %v", err)
	}
	return true
}

// Package bench measures the gate on a synthetic register: import, audited
// lookups against the raw driver's point-select rate on the same table in
// the same run, four-item search, and audit verification. `jukinet bench`
// prints its table; the gate's Go benchmarks use it too.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// EnvJournalInFlight, set, is the audit journal's groups in flight in a
// --journal run (auditlog.Options.JournalInFlight).
const EnvJournalInFlight = "JUKINET_BENCH_JOURNAL_INFLIGHT"

// Options configure a run.
type Options struct {
	Residents int           // register size
	DBURL     string        // empty: SQLite in a temporary folder
	Duration  time.Duration // per timed measurement
	Workers   int           // synchronous workers (each waits for its answer)
	Clients   int           // concurrent clients for the group-commit rows
	Seed      uint64
	// ImportOnly stops after the import row (for profiling the import).
	ImportOnly bool
	// Sustained is the length of the sustained-load row: Clients audited
	// lookups without pause while the SQLite WAL is watched; zero skips it.
	Sustained time.Duration
	// SustainedOnly measures the import, the raw baseline and the
	// sustained-load row only.
	SustainedOnly bool
	// Journal runs the audit log with its journal (auditlog.Options.Journal):
	// entries without work durable in a segment file, rows by the indexer.
	Journal bool
	// HTTP adds the HTTP rows: a demo node holding the same register,
	// served over HTTPS as `jukinet serve` serves it, its JSON API driven
	// by Clients keep-alive connections of a load generator (vegeta),
	// beside the same lookups through its gate in process.
	HTTP bool
	// HTTPOnly measures the HTTP rows alone (no import row, no others).
	HTTPOnly bool
	// HTTPProfile, when set, receives the CPU profile of the HTTP lookups
	// alone (server and load generator share the process).
	HTTPProfile string
	// MemProfile, when set, receives a heap profile taken as the import
	// ends (before its memory is given back).
	MemProfile string
	// Now is the HTTP rows' node's clock; nil means time.Now.
	Now func() time.Time
}

// Row is one line of the result table.
type Row struct {
	// ID names the row for the goal table (RowImport …); empty for rows
	// no goal reads.
	ID        string
	What      string
	Ops       int64
	Elapsed   time.Duration
	P50, P99  time.Duration
	Goal      string
	Note      string
	PerSecond float64
}

// Result is a run's table.
type Result struct {
	Dialect string
	Rows    []Row
	// Sustained holds the sustained-load row's figures, when it ran.
	Sustained *Sustained
}

// Sustained is what the sustained-load row saw.
type Sustained struct {
	Window           time.Duration // the length of the first and last windows
	FirstRate        float64       // lookups per second in the first window
	LastRate         float64       // lookups per second in the last window
	MaxWAL           int64         // the largest size of the WAL file seen, bytes (SQLite)
	WALLimit         int64         // the WAL's configured bound (SQLite)
	Cuts, FailedCuts int64         // escalated checkpoints tried, and failed, during the row
}

// Run builds a register of opt.Residents through the gate and measures it.
func Run(ctx context.Context, opt Options, progress io.Writer) (*Result, error) {
	if opt.Duration <= 0 {
		opt.Duration = 5 * time.Second
	}
	if opt.Workers <= 0 {
		opt.Workers = 2
	}
	if opt.Clients <= 0 {
		opt.Clients = 64
	}
	dir, err := os.MkdirTemp("", "jukinet-bench-*")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	url := opt.DBURL
	if url == "" {
		url = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	d, err := db.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return nil, err
	}
	var n int64
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_entry`).Scan(&n); err != nil || n > 0 {
		return nil, fmt.Errorf("bench needs an empty database (%s has %d audit entries)", db.Redact(url), n)
	}
	skey, vkey, _ := note.GenerateKey(rand.Reader, "jukinet-bench")
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	logOpt := auditlog.Options{CheckpointEvery: time.Hour}
	if opt.Journal {
		logOpt.Journal, logOpt.JournalWrites = filepath.Join(dir, "audit-journal"), true
		// For measurements of groups in flight (docs/benchmarks.md): 1
		// syncs each group before writing the next.
		if v := os.Getenv(EnvJournalInFlight); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("%s=%q: give a number of groups, 1 or more", EnvJournalInFlight, v)
			}
			logOpt.JournalInFlight = n
		}
	}
	l, err := auditlog.Open(ctx, d, signer, logOpt)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	lg, _ := ids.LookupLocalGov("131083")
	g := gate.New(d, l, gate.RequiredFields{ConsoleAllowed: true}, lg, profile.Municipality)
	res := &Result{Dialect: d.Dialect().String()}
	if opt.Journal {
		res.Dialect += ", audit journal"
	}
	say := func(format string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, format+"\n", args...)
		}
	}

	// Import.
	say("generating %d synthetic residents …", opt.Residents)
	file, err := writeSynthetic(dir, opt.Residents, opt.Seed, lg.Code)
	if err != nil {
		return nil, err
	}
	recs, codes := file.sample, file.codes
	csv := func() ([]byte, error) { return os.ReadFile(file.path) }
	if opt.HTTPOnly {
		data, err := csv()
		if err != nil {
			return nil, err
		}
		rows, err := httpRows(ctx, opt, dir, data, codes, say)
		if err != nil {
			return nil, err
		}
		res.add(say, rows...)
		return res, nil
	}
	say("importing through the gate (%s) …", mib(file.size))
	in, err := os.Open(file.path)
	if err != nil {
		return nil, err
	}
	// The peak memory of the import alone: what generating the file took
	// is given back and the process's peak reset first.
	runtime.GC()
	debug.FreeOSMemory()
	resetPeakRSS()
	mem := watchMemory()
	start := time.Now()
	rep, err := g.ImportWith(ctx, operator("一括取込", "ベンチマーク"), bufio.NewReaderSize(in, 1<<20), gate.ImportOptions{Encoding: resident.UTF8, Size: file.size, Progress: mem.progress})
	in.Close()
	el := time.Since(start)
	peak := mem.peak()
	if opt.MemProfile != "" {
		if err := writeHeapProfile(opt.MemProfile); err != nil {
			return nil, err
		}
	}
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	how := "held in memory"
	if file.size >= gate.StreamImportBytes {
		how = "streamed"
	}
	res.add(say, Row{ID: RowImport, What: fmt.Sprintf("import %d rows (parse, validate, store, audit)", rep.Added), Ops: int64(rep.Added), Elapsed: el,
		Goal: "1,000,000 in ≤ 30 s", PerSecond: float64(rep.Added) / el.Seconds(), Note: how + "; " + peak})
	if !opt.HTTP {
		os.Remove(file.path) // disk for the baseline's copy of the register
	}
	if d.Dialect() == db.SQLite {
		// Measure in steady state: copy the import's WAL into the database
		// now, not during the timed rows.
		say("checkpointing the import …")
		if err := truncateWAL(ctx, d); err != nil {
			return nil, fmt.Errorf("checkpoint after import: %w", err)
		}
	}
	if disk, err := diskUsed(ctx, d, url); err == nil {
		res.add(say, Row{ID: RowDisk, What: "disk used by the database", Ops: disk, PerSecond: 0,
			Note: fmt.Sprintf("%s in all, %d bytes per resident (register, search keys, audit log)", mib(disk), disk/max(int64(rep.Added), 1))})
	} else {
		say("disk used: %v", err)
	}
	if opt.ImportOnly {
		return res, nil
	}
	say("raw bulk insert of the same rows …")
	ri, err := rawBulkInsert(ctx, d, opt.DBURL, dir, rep.Added)
	if err != nil {
		return nil, err
	}
	res.add(say, ri)
	if d.Dialect() == db.SQLite {
		// A node in service has its database in the system's page cache;
		// the import and the baseline's copy have just pushed it out. Read
		// the file once so the timed rows measure the register, not a cold
		// disk (at 1 M nothing is evicted; at 14 M, without this, every
		// look-up waited for the disk).
		say("reading the database once into the system's page cache …")
		if w, err := warmFile(ctx, sqlitePath(url)); err == nil {
			say("  %s", w)
		} else {
			say("  not read: %v", err)
		}
	}

	// Raw baseline: the driver alone, the same query the register runs for
	// a lookup by code, no gate, no log.
	say("raw driver point selects, %d workers …", opt.Workers)
	rawStmt, err := d.PrepareRaw(ctx, `SELECT ir.family_name, ir.given_name, ir.address, ir.date_of_birth FROM resident r JOIN identity_record ir ON ir.id = r.record_id WHERE r.resident_code = ?`)
	if err != nil {
		return nil, err
	}
	defer rawStmt.Close()
	raw := measure(ctx, opt.Workers, opt.Duration, codes, func(code string) error {
		var a, b, c, e string
		return rawStmt.QueryRowContext(ctx, code).Scan(&a, &b, &c, &e)
	})
	raw.ID, raw.What, raw.Note = RowRawSelect, fmt.Sprintf("raw driver point select, %d workers (baseline)", opt.Workers), "no gate, no audit"
	res.add(say, raw)
	req := operator("住民票の写しの交付", "窓口での本人申請")
	lookup := func(code string) error {
		_, err := g.Lookup(ctx, req, gate.Key{ResidentCode: code})
		return err
	}
	if opt.SustainedOnly {
		if opt.Sustained <= 0 {
			opt.Sustained = time.Minute
		}
		say("sustained audited lookups, %d clients for %s …", opt.Clients, opt.Sustained)
		sr, err := sustainedRow(ctx, d, l, res, raw, opt.Clients, opt.Sustained, codes, lookup)
		if err != nil {
			return nil, err
		}
		res.add(say, sr)
		return res, nil
	}
	// The floors: no request that waits for a durable write beats them.
	for _, f := range []struct {
		id, what, note string
		run            func() (Row, error)
	}{
		{RowDiskFloor, "durable write floor", "ceiling for requests that each wait for a durable write",
			func() (Row, error) { return durableFloor(ctx, dir, opt.Workers, opt.Duration) }},
		{RowCommitFloor, "database commit floor", "the database's own durable commit, nothing read",
			func() (Row, error) { return commitFloor(ctx, d, opt.Workers, opt.Duration) }},
	} {
		say("%s, %d workers …", f.what, opt.Workers)
		floor, err := f.run()
		if err != nil {
			return nil, err
		}
		floor.ID, floor.Note = f.id, fmt.Sprintf("%s (%.0f %% of baseline)", f.note, 100*floor.PerSecond/raw.PerSecond)
		res.add(say, floor)
	}

	say("audited lookups through the gate, %d workers …", opt.Workers)
	gl, rowsNote, err := withRows(ctx, l, measure(ctx, opt.Workers, opt.Duration, codes, lookup))
	if err != nil {
		return nil, err
	}
	gl.ID, gl.What, gl.Goal = RowLookupWorkers, fmt.Sprintf("audited lookup, %d workers", opt.Workers), "≥ 50 % of baseline"
	gl.Note = fmt.Sprintf("%.1f %% of baseline; each waits for its durable entry%s", 100*gl.PerSecond/raw.PerSecond, rowsNote)
	res.add(say, gl)
	say("audited lookups through the gate, %d concurrent clients …", opt.Clients)
	gc, rowsNote, err := withRows(ctx, l, measure(ctx, opt.Clients, opt.Duration, codes, lookup))
	if err != nil {
		return nil, err
	}
	gc.ID, gc.What, gc.Goal = RowLookupClients, fmt.Sprintf("audited lookup, %d clients on %d cores (group commit)", opt.Clients, numCPU()), "≥ 50 % of baseline"
	gc.Note = fmt.Sprintf("%.1f %% of baseline%s", 100*gc.PerSecond/raw.PerSecond, rowsNote)
	res.add(say, gc)

	if opt.Sustained > 0 {
		say("sustained audited lookups, %d clients for %s …", opt.Clients, opt.Sustained)
		sr, err := sustainedRow(ctx, d, l, res, raw, opt.Clients, opt.Sustained, codes, lookup)
		if err != nil {
			return nil, err
		}
		res.add(say, sr)
	}

	// Four-item search: kana name of a real resident, birth date, sex.
	search := func(i int) func(string) error {
		return func(string) error {
			r := recs[i%len(recs)]
			_, _, err := g.Search(ctx, req, gate.SearchQuery{Name: r.FamilyName + r.GivenName, DateOfBirth: r.DateOfBirth, Sex: r.Sex})
			return err
		}
	}
	say("raw search queries, %d workers …", opt.Workers)
	rs, err := rawSearch(ctx, d, recs, opt.Workers, opt.Duration)
	if err != nil {
		return nil, err
	}
	res.add(say, rs)
	var next atomic.Int64
	say("four-item searches, %d workers …", opt.Workers)
	s2, rowsNote, err := withRows(ctx, l, measure(ctx, opt.Workers, opt.Duration, codes, func(string) error { return search(int(next.Add(7919)))("") }))
	if err != nil {
		return nil, err
	}
	s2.ID, s2.What, s2.Goal = RowSearchWorkers, fmt.Sprintf("four-item search with variant folding, %d workers", opt.Workers), "≥ 5,000/s"
	s2.Note = strings.TrimPrefix(rowsNote, "; ")
	res.add(say, s2)
	sc, rowsNote, err := withRows(ctx, l, measure(ctx, opt.Clients, opt.Duration, codes, func(string) error { return search(int(next.Add(7919)))("") }))
	if err != nil {
		return nil, err
	}
	sc.ID, sc.What, sc.Goal = RowSearchClients, fmt.Sprintf("four-item search, %d clients", opt.Clients), "≥ 5,000/s"
	sc.Note = strings.TrimPrefix(rowsNote, "; ")
	res.add(say, sc)

	// Verify the whole log, after the checkpoint that takes the import's
	// residents into the resident map (the first after a large import is
	// the longest a node signs).
	say("checkpoint: the resident map takes every resident the log names …")
	start = time.Now()
	if _, err := l.Checkpoint(ctx); err != nil {
		return nil, err
	}
	el = time.Since(start)
	mapped := subjectRows(ctx, d)
	res.add(say, Row{ID: RowCheckpoint, What: fmt.Sprintf("checkpoint after the import (resident map of %d subject rows)", mapped), Ops: mapped, Elapsed: el,
		PerSecond: float64(mapped) / el.Seconds(), Note: el.Round(time.Millisecond).String() + " in all"})
	// A journaled log's latest entries get their rows from its indexer:
	// verify reads rows.
	if err := l.Sync(ctx); err != nil {
		return nil, fmt.Errorf("write the journaled entries' rows: %w", err)
	}
	say("audit verify …")
	start = time.Now()
	vr, err := auditlog.Verify(ctx, d, verifier)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	el = time.Since(start)
	subjects := subjectRows(ctx, d)
	res.add(say, Row{ID: RowVerify, What: fmt.Sprintf("audit verify (%d entries, %d subject rows)", vr.Entries, subjects), Ops: vr.Entries, Elapsed: el,
		Goal: "≥ 500,000 entries/s", PerSecond: float64(vr.Entries) / el.Seconds(),
		Note: fmt.Sprintf("%s in all; %.0f subject rows/s (the import's entry lists every resident)", el.Round(time.Millisecond), float64(subjects)/el.Seconds())})
	say("SHA-256 over the log's bytes …")
	sh, err := sha256Rate(ctx, d)
	if err != nil {
		return nil, err
	}
	res.add(say, sh)

	if opt.HTTP {
		data, err := csv()
		if err != nil {
			return nil, err
		}
		rows, err := httpRows(ctx, opt, dir, data, codes, say)
		if err != nil {
			return nil, err
		}
		res.add(say, rows...)
	}
	return res, nil
}

// add appends rows to the table and says each (a long run's rows are in
// its progress output as they are measured, even if it does not finish).
func (r *Result) add(say func(string, ...any), rows ...Row) {
	r.Rows = append(r.Rows, rows...)
	for _, row := range rows {
		say("  → %s: %d ops, %.0f/s, p50 %s, p99 %s; %s", row.What, row.Ops, row.PerSecond, row.P50, row.P99, row.Note)
	}
}

// withRows ends a timed row of audited calls when their entries' rows are
// written too. A journaled log writes them after the entries are durable
// (up to a second later under load): without this a row would leave its
// indexing to the next one. It returns the row with the time taken added
// and a note saying how long that was.
func withRows(ctx context.Context, l *auditlog.Log, r Row) (Row, string, error) {
	start := time.Now()
	if err := l.Sync(ctx); err != nil {
		return r, "", fmt.Errorf("write the journaled entries' rows: %w", err)
	}
	if l.Journaled() {
		took := time.Since(start)
		r.Elapsed += took
		r.PerSecond = float64(r.Ops) / r.Elapsed.Seconds()
		return r, fmt.Sprintf("; the last rows written %s after the last call, counted", took.Round(time.Millisecond)), nil
	}
	return r, "", nil
}

// sustainedRow runs audited lookups from clients goroutines for dur
// without pause, the load under which a WAL that is never restarted grows
// without bound, and reports the WAL file's largest size and the lookup
// rate in the first and last windows (10 s, or a third of a shorter run):
// a rate that falls is a database slowing as its WAL grows.
func sustainedRow(ctx context.Context, d *db.DB, l *auditlog.Log, res *Result, raw Row, clients int, dur time.Duration, codes []string, lookup func(string) error) (Row, error) {
	walBytes := func() int64 { st, _ := d.WAL(); return st.Bytes }
	before, _ := d.WAL()
	var done atomic.Int64
	type sample struct {
		at  time.Duration
		ops int64
	}
	var samples []sample
	var maxWAL int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(sampled)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			maxWAL = max(maxWAL, walBytes())
			samples = append(samples, sample{time.Since(start), done.Load()})
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	r := measure(ctx, clients, dur, codes, func(code string) error {
		err := lookup(code)
		if err == nil {
			done.Add(1)
		}
		return err
	})
	// The windows' rates are those of the look-ups; the row's rate ends
	// when their entries' rows are written, and the largest WAL counts
	// that writing too.
	end := sample{time.Since(start), done.Load()}
	r, rowsNote, err := withRows(ctx, l, r)
	close(stop)
	<-sampled
	if err != nil {
		return r, err
	}
	maxWAL = max(maxWAL, walBytes())
	window := min(10*time.Second, dur/3)
	// The samples nearest the end of the first window and the start of the
	// last one.
	first, last := samples[0], samples[0]
	for _, s := range samples {
		if s.at <= window {
			first = s
		}
		if s.at <= end.at-window {
			last = s
		}
	}
	after, isSQLite := d.WAL()
	st := &Sustained{Window: window, MaxWAL: maxWAL, WALLimit: after.Limit, Cuts: after.Cuts - before.Cuts, FailedCuts: after.Failed - before.Failed}
	if first.at > 0 {
		st.FirstRate = float64(first.ops) / first.at.Seconds()
	}
	if span := end.at - last.at; span > 0 {
		st.LastRate = float64(end.ops-last.ops) / span.Seconds()
	}
	res.Sustained = st
	r.ID, r.What = RowSustained, fmt.Sprintf("audited lookup, %d clients, sustained %s", clients, dur)
	errNote := r.Note
	r.Goal = "last rate ≥ first"
	r.Note = fmt.Sprintf("first %s %.0f/s, last %s %.0f/s (%.1f %% of baseline)",
		window.Round(time.Millisecond), st.FirstRate, window.Round(time.Millisecond), st.LastRate, 100*st.LastRate/raw.PerSecond)
	if isSQLite {
		r.Goal = "WAL ≤ " + mib(st.WALLimit) + "; last rate ≥ first"
		r.Note += fmt.Sprintf("; largest WAL %s, %d WAL cuts (%d failed) holding commits %s in all, %s at most",
			mib(maxWAL), st.Cuts, st.FailedCuts, (after.Held - before.Held).Round(time.Millisecond), after.Longest.Round(time.Millisecond))
	}
	r.Note += rowsNote + errNote
	return r, nil
}

// mib writes a size in bytes in MiB.
func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func subjectRows(ctx context.Context, d *db.DB) int64 {
	var n int64
	d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_subject`).Scan(&n)
	return n
}

func operator(affair, reason string) gate.Request {
	return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "bench"}, Origin: "terminal:bench", Affair: affair, Reason: reason}
}

// durableFloor measures the fastest a durable write can be on the disk
// holding dir: each worker overwrites 512 bytes of its own preallocated
// file and syncs it, waiting for each sync before the next write. No
// request that must wait for its audit entry to be durable, one at a time
// per worker, can go faster than this on that disk.
func durableFloor(ctx context.Context, dir string, workers int, d time.Duration) (Row, error) {
	const size = 1 << 20
	files := make(chan *os.File, workers)
	for w := 0; w < workers; w++ {
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("floor-%d", w)))
		if err != nil {
			return Row{}, fmt.Errorf("durable write floor: %w", err)
		}
		defer f.Close()
		if _, err := f.Write(make([]byte, size)); err != nil {
			return Row{}, fmt.Errorf("durable write floor: %w", err)
		}
		if err := f.Sync(); err != nil {
			return Row{}, fmt.Errorf("durable write floor: %w", err)
		}
		files <- f
	}
	block := make([]byte, 512)
	var n atomic.Int64
	r := measure(ctx, workers, d, []string{""}, func(string) error {
		f := <-files
		defer func() { files <- f }()
		if _, err := f.WriteAt(block, (n.Add(1)*512)%size); err != nil {
			return err
		}
		return f.Sync()
	})
	r.What = fmt.Sprintf("durable write floor: 512-byte write + fsync, %d workers", workers)
	return r, nil
}

// commitFloor measures the database's own durable commits: each worker
// inserts one 512-byte row into a scratch table in a transaction of its
// own and waits for the commit. The transactions take turns, as the audit
// log's one committer does (on SQLite a writer that finds another at work
// would also sleep in its busy handler). An audited request waits for such
// a commit after its read; its entry has more rows, shared with others'.
func commitFloor(ctx context.Context, d *db.DB, workers int, dur time.Duration) (Row, error) {
	if _, err := d.Exec(ctx, `CREATE TABLE bench_commit_floor (id BIGINT PRIMARY KEY, body TEXT NOT NULL)`); err != nil {
		return Row{}, fmt.Errorf("database commit floor: %w", err)
	}
	defer d.Exec(context.Background(), `DROP TABLE bench_commit_floor`)
	body := string(bytes.Repeat([]byte{'x'}, 512))
	var id atomic.Int64
	var turn sync.Mutex
	r := measure(ctx, workers, dur, []string{""}, func(string) error {
		turn.Lock()
		defer turn.Unlock()
		return d.Transact(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO bench_commit_floor (id, body) VALUES (?, ?)`, id.Add(1), body)
			return err
		})
	})
	r.What = fmt.Sprintf("database commit floor: 512-byte row + commit, %d workers taking turns", workers)
	return r, nil
}

// measure runs op from workers goroutines for d and returns the rate and
// latency percentiles.
func measure(ctx context.Context, workers int, d time.Duration, codes []string, op func(code string) error) Row {
	var wg sync.WaitGroup
	lat := make([][]time.Duration, workers)
	var ops atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(d)
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			i := w * 7919
			for time.Now().Before(deadline) && ctx.Err() == nil {
				t := time.Now()
				if err := op(codes[i%len(codes)]); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				lat[w] = append(lat[w], time.Since(t))
				ops.Add(1)
				i += 104729
			}
		}(w)
	}
	wg.Wait()
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := Row{Ops: ops.Load(), Elapsed: el, PerSecond: float64(ops.Load()) / el.Seconds()}
	if len(all) > 0 {
		r.P50, r.P99 = all[len(all)/2], all[len(all)*99/100]
	}
	if err, ok := firstErr.Load().(error); ok {
		r.Note = "ERROR: " + err.Error()
	}
	return r
}

// Print writes the result as a table.
func (r *Result) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "measurement (%s)\tops\tper second\tp50\tp99\tgoal\tnote\n", r.Dialect)
	for _, row := range r.Rows {
		p50, p99 := "-", "-"
		if row.P50 > 0 {
			p50, p99 = row.P50.Round(time.Microsecond).String(), row.P99.Round(time.Microsecond).String()
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%s\t%s\n", row.What, row.Ops, row.PerSecond, p50, p99, row.Goal, row.Note)
	}
	tw.Flush()
}

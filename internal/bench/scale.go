package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// Sample sizes: what a run keeps of its register for the timed rows, so a
// register of any size is measured in the same memory.
const (
	sampleRecords = 1 << 16 // records the searches draw from
	sampleCodes   = 1 << 20 // resident codes the look-ups draw from
)

// syntheticFile is a register written as an import file.
type syntheticFile struct {
	path   string
	size   int64
	sample []resident.IdentityRecord // up to sampleRecords, spread over the file
	codes  []string                  // up to sampleCodes, spread over the file
}

// writeSynthetic writes n synthetic residents of local government lg to a
// CSV file in dir, in resident-code order (as a municipal system's export
// sorted by code; the import stores such a file fastest), and keeps a
// sample spread over it. The codes are drawn one per equal slice of the
// code space, so they come sorted and distinct without being held.
func writeSynthetic(dir string, n int, seed uint64, lg ids.LocalGovCode) (syntheticFile, error) {
	f := syntheticFile{path: filepath.Join(dir, "residents.csv")}
	gen, err := synth.New(synth.Options{Seed: seed, LocalGov: lg})
	if err != nil {
		return f, err
	}
	out, err := os.Create(f.path)
	if err != nil {
		return f, fmt.Errorf("write the synthetic register: %w", err)
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 1<<20)
	w := resident.NewCSVWriter(bw, resident.UTF8)
	r := rand.New(rand.NewPCG(seed, 0x636f6465)) // "code"
	step := uint64(10_000_000_000) / uint64(max(n, 1))
	recordEvery, codeEvery := max(1, n/sampleRecords), max(1, n/sampleCodes)
	for i := 0; i < n; i++ {
		rec := gen.Next()
		ten := fmt.Sprintf("%010d", uint64(i)*step+r.Uint64N(max(step, 1)))
		rec.ResidentCode = ids.ResidentCode(ten + strconv.Itoa(ids.ResidentCodeCheckDigit(ten)))
		if err := w.Write(rec); err != nil {
			return f, fmt.Errorf("write the synthetic register: %w", err)
		}
		if i%recordEvery == 0 && len(f.sample) < sampleRecords {
			f.sample = append(f.sample, rec)
		}
		if i%codeEvery == 0 && len(f.codes) < sampleCodes {
			f.codes = append(f.codes, string(rec.ResidentCode))
		}
	}
	if err := w.Close(); err != nil {
		return f, fmt.Errorf("write the synthetic register: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return f, fmt.Errorf("write the synthetic register: %w", err)
	}
	f.compact()
	st, err := out.Stat()
	if err != nil {
		return f, err
	}
	f.size = st.Size()
	return f, out.Close()
}

// resetPeakRSS starts the process's peak resident memory (VmHWM) again
// from its current size (Linux; elsewhere nothing happens).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// procStatus reads fields of /proc/self/status in KiB (0 where absent).
func procStatus(fields ...string) []int64 {
	out := make([]int64, len(fields))
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(status), "\n") {
		for i, f := range fields {
			if rest, ok := strings.CutPrefix(line, f+":"); ok {
				out[i], _ = strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			}
		}
	}
	return out
}

// memWatch samples the process's anonymous memory (the heap and SQLite's
// page cache; not the database's pages mapped from the file, which the
// kernel may drop) every 50 ms until stopped, and at its largest sample
// keeps Go's share (what Go's runtime holds from the system and has not
// given back; the rest is SQLite's, through its C allocator) and the
// stage the import was in.
type memWatch struct {
	stop    chan struct{}
	done    chan struct{}
	stage   atomic.Value // string: the import's stage, set by the import's progress
	maxAnon int64        // KiB
	goAtMax int64        // KiB
	atMax   string       // the stage at maxAnon
}

func watchMemory() *memWatch {
	w := &memWatch{stop: make(chan struct{}), done: make(chan struct{})}
	w.stage.Store("start")
	samples := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	// JUKINET_BENCH_MEMLOG=1 prints the memory every ten seconds, for
	// finding what grows during a long import.
	memlog := os.Getenv("JUKINET_BENCH_MEMLOG") == "1"
	goKiB := func() int64 {
		metrics.Read(samples)
		return int64(samples[0].Value.Uint64()-samples[1].Value.Uint64()) >> 10
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			anon := procStatus("RssAnon")[0]
			if anon > w.maxAnon {
				w.maxAnon, w.atMax, w.goAtMax = anon, w.stage.Load().(string), goKiB()
			}
			if memlog && i%200 == 0 {
				g := goKiB()
				fmt.Fprintf(os.Stderr, "%s memory while %s: anonymous %s, Go %s (objects %s), SQLite and the rest %s\n",
					time.Now().Format("15:04:05"), w.stage.Load(), mib(anon<<10), mib(g<<10), mib(int64(samples[2].Value.Uint64())), mib(max(anon-g, 0)<<10))
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

// progress is the import's progress function that tells w its stage.
func (w *memWatch) progress(stage gate.ImportStage, done, total int) {
	switch stage {
	case gate.ImportReading:
		w.stage.Store("reading")
	case gate.ImportWriting:
		if done < total {
			w.stage.Store("writing")
		} else {
			w.stage.Store("finishing") // indexes, the audit entry and its subjects
		}
	}
}

// peak stops the watch and says the peak RSS (VmHWM since resetPeakRSS)
// and the largest anonymous part seen with Go's share of it, or "unknown"
// where /proc does not say.
func (w *memWatch) peak() string {
	close(w.stop)
	<-w.done
	hwm := procStatus("VmHWM")[0]
	if hwm == 0 {
		return "peak RSS unknown"
	}
	return fmt.Sprintf("peak RSS %s (anonymous %s, the rest the database file's pages mapped; at the anonymous peak, while %s: Go %s, SQLite and the rest %s)",
		mib(hwm<<10), mib(w.maxAnon<<10), w.atMax, mib(w.goAtMax<<10), mib(max(w.maxAnon-w.goAtMax, 0)<<10))
}

// sqlitePath is the file of a sqlite: database URL.
func sqlitePath(url string) string {
	path := strings.TrimPrefix(url, "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	return path
}

// warmFile reads the file at path once, so the system keeps its pages in
// its cache (as far as memory allows), and says how much and how fast.
func warmFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	start := time.Now()
	buf := make([]byte, 1<<20)
	var n int64
	for ctx.Err() == nil {
		k, err := f.Read(buf)
		n += int64(k)
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	el := time.Since(start)
	return fmt.Sprintf("%s read in %.1f s (%.0f MiB/s)", mib(n), el.Seconds(), float64(n)/(1<<20)/max(el.Seconds(), 1e-9)), ctx.Err()
}

// truncateWAL copies SQLite's WAL into the database and empties it, trying
// again while a reader or another checkpoint holds it (a checkpoint that
// cannot finish says so in its busy column, not with an error: the WAL,
// counted as disk, would then hold a second copy of every page the import
// wrote). The node's own checkpointer may be copying the same WAL: after
// a 14 M import that is 10 GB and minutes, so it waits up to half an hour.
func truncateWAL(ctx context.Context, d *db.DB) error {
	deadline := time.Now().Add(30 * time.Minute)
	for {
		var busy, logFrames, copied int64
		if err := d.QueryRow(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &copied); err != nil {
			return err
		}
		if busy == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the WAL could not be emptied for half an hour (%d of %d frames copied)", copied, logFrames)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// diskUsed is the bytes the database takes: SQLite's file and its WAL,
// PostgreSQL's database.
func diskUsed(ctx context.Context, d *db.DB, url string) (int64, error) {
	if d.Dialect() == db.Postgres {
		var n int64
		err := d.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
		return n, err
	}
	path := sqlitePath(url)
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if st, err := os.Stat(p); err == nil {
			total += st.Size()
		}
	}
	if total == 0 {
		return 0, fmt.Errorf("no database file at %s", path)
	}
	return total, nil
}

// writeHeapProfile writes the heap profile (in use and allocated) to path.
func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile: %w", err)
	}
	return f.Close()
}

// compact copies the kept sample and codes into memory of their own: kept
// as generated, each pins the heap span it was made in among the
// generator's garbage (a 14-million-row run pinned over a gigabyte), which
// would count in the import's peak memory.
func (f *syntheticFile) compact() {
	runtime.GC()
	var all strings.Builder
	for _, c := range f.codes {
		all.WriteString(c)
	}
	joined := all.String()
	codes := make([]string, len(f.codes))
	for i, c := range f.codes {
		codes[i], joined = joined[:len(c)], joined[len(c):]
	}
	f.codes = codes
	sample := make([]resident.IdentityRecord, len(f.sample))
	for i, r := range f.sample {
		sample[i] = resident.IdentityRecord{
			ResidentCode: ids.ResidentCode(strings.Clone(string(r.ResidentCode))), IndividualNumber: ids.IndividualNumber(strings.Clone(string(r.IndividualNumber))),
			FamilyName: strings.Clone(r.FamilyName), GivenName: strings.Clone(r.GivenName), FamilyNameKana: strings.Clone(r.FamilyNameKana), GivenNameKana: strings.Clone(r.GivenNameKana),
			FormerSurname: strings.Clone(r.FormerSurname), FormerSurnameKana: strings.Clone(r.FormerSurnameKana), Alias: strings.Clone(r.Alias), AliasKana: strings.Clone(r.AliasKana),
			DateOfBirth: r.DateOfBirth, Sex: r.Sex, Address: strings.Clone(r.Address), LocalGov: r.LocalGov, ChangeReason: r.ChangeReason, ChangeDate: r.ChangeDate,
		}
	}
	f.sample = sample
}

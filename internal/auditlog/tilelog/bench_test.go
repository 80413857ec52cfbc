package tilelog

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sys/unix"
)

// The benchmarks measure the disk's floors and the journal in the same run:
//
//	go test -run '^$' -bench . -benchtime 20000x ./internal/auditlog/tilelog
//
// Each row reports rate/s, p50 and p99 latency in µs, and for journal rows
// the mean group size and the share of the matching floor (2 callers: the
// floor of 2 goroutines each writing + fdatasyncing its own file; 64
// callers: the group-commit floor with two groups in flight, the journal's
// default). Verify rows report entries/s and their
// share of the machine's SHA-256 rate over the same bytes, measured in
// memory in the same run. JOURNAL_BENCH_ENTRIES sets how many entries the
// verify benchmarks read (default 200000).

const benchEntrySize = 512

func loadavg(b *testing.B) {
	if s, err := os.ReadFile("/proc/loadavg"); err == nil {
		b.Logf("load average: %s", strings.TrimSpace(string(s)))
	}
}

// runWorkers runs b.N calls of op spread over workers goroutines and reports
// the rate and latency percentiles. It returns the rate.
func runWorkers(b *testing.B, workers int, op func(w int) error) float64 {
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range workers {
		n := b.N / workers
		if w < b.N%workers {
			n++
		}
		wg.Go(func() {
			l := make([]time.Duration, 0, n)
			for range n {
				// A latency, read from the monotonic clock: a duration
				// measured, never a date decided on.
				t0 := time.Now()
				if err := op(w); err != nil {
					b.Error(err)
					return
				}
				l = append(l, time.Since(t0))
			}
			lat[w] = l
		})
	}
	wg.Wait()
	b.StopTimer()
	elapsed := b.Elapsed()
	all := slices.Concat(lat...)
	slices.Sort(all)
	rate := float64(len(all)) / elapsed.Seconds()
	b.ReportMetric(rate, "ops/s")
	if len(all) > 0 {
		b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
	}
	b.ReportMetric(0, "ns/op")
	return rate
}

// preallocated creates a file of size bytes reserved with fallocate.
func preallocated(b *testing.B, path string, size int64) *os.File {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		b.Fatal(err)
	}
	if err := unix.Fallocate(int(f.Fd()), 0, 0, size); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	return f
}

// floorOwnFiles: each worker writes 512 bytes at the end of its own
// preallocated file and fdatasyncs it, one request at a time.
func floorOwnFiles(b *testing.B, workers int) float64 {
	dir := b.TempDir()
	files := make([]*os.File, workers)
	offs := make([]int64, workers)
	for w := range files {
		files[w] = preallocated(b, filepath.Join(dir, fmt.Sprintf("f%d", w)), int64(b.N/workers+1)*benchEntrySize)
		defer files[w].Close()
	}
	rec := make([]byte, benchEntrySize)
	return runWorkers(b, workers, func(w int) error {
		if _, err := files[w].WriteAt(rec, offs[w]); err != nil {
			return err
		}
		offs[w] += benchEntrySize
		return unix.Fdatasync(int(files[w].Fd()))
	})
}

// floorSameFile: each worker writes 512 bytes at the end of its own region
// of one shared preallocated file and fdatasyncs it, one request at a time:
// whether syncs of one file overlap as those of separate files do.
func floorSameFile(b *testing.B, workers int) float64 {
	per := int64(b.N/workers+1) * benchEntrySize
	f := preallocated(b, filepath.Join(b.TempDir(), "s"), per*int64(workers))
	defer f.Close()
	offs := make([]int64, workers)
	for w := range offs {
		offs[w] = int64(w) * per
	}
	rec := make([]byte, benchEntrySize)
	return runWorkers(b, workers, func(w int) error {
		if _, err := f.WriteAt(rec, offs[w]); err != nil {
			return err
		}
		offs[w] += benchEntrySize
		return unix.Fdatasync(int(f.Fd()))
	})
}

// floorGroupCommit: workers hand 512-byte records to one writer, which
// writes what has queued with one write and one fdatasync, then releases
// them, with up to inflight groups writing and syncing at once (released in
// order): the journal's design without its format, hashes or bookkeeping.
func floorGroupCommit(b *testing.B, workers, inflight int) float64 {
	f := preallocated(b, filepath.Join(b.TempDir(), "g"), int64(b.N+1)*benchEntrySize)
	defer f.Close()
	reqs := make(chan chan struct{}, 4096)
	type batch struct {
		reqs   []chan struct{}
		synced chan struct{}
	}
	inOrder := make(chan *batch, inflight)
	var groups, records int64
	released := make(chan struct{})
	go func() { // releaser
		defer close(released)
		for bt := range inOrder {
			<-bt.synced
			groups++
			records += int64(len(bt.reqs))
			for _, r := range bt.reqs {
				close(r)
			}
		}
	}()
	go func() { // writer
		defer close(inOrder)
		var off int64
		for first := range reqs {
			bt := &batch{reqs: []chan struct{}{first}, synced: make(chan struct{})}
		collect:
			for len(bt.reqs) < 1024 {
				select {
				case r := <-reqs:
					bt.reqs = append(bt.reqs, r)
				default:
					break collect
				}
			}
			inOrder <- bt // blocks while inflight batches are on their way
			buf := make([]byte, len(bt.reqs)*benchEntrySize)
			go func(at int64) {
				if _, err := f.WriteAt(buf, at); err != nil {
					panic(err)
				}
				if err := unix.Fdatasync(int(f.Fd())); err != nil {
					panic(err)
				}
				close(bt.synced)
			}(off)
			off += int64(len(buf))
		}
	}()
	rate := runWorkers(b, workers, func(int) error {
		done := make(chan struct{})
		reqs <- done
		<-done
		return nil
	})
	close(reqs)
	<-released
	if groups > 0 {
		b.ReportMetric(float64(records)/float64(groups), "batch")
	}
	return rate
}

func BenchmarkAppend(b *testing.B) {
	loadavg(b)
	floors := map[int]float64{}
	b.Run("floor=write+fdatasync-own-file/callers=2", func(b *testing.B) { floors[2] = floorOwnFiles(b, 2) })
	b.Run("floor=write+fdatasync-same-file/callers=2", func(b *testing.B) { floorSameFile(b, 2) })
	b.Run("floor=write+fdatasync-own-file/callers=64", func(b *testing.B) { floorOwnFiles(b, 64) })
	b.Run("floor=group-commit/inflight=1/callers=64", func(b *testing.B) { floorGroupCommit(b, 64, 1) })
	b.Run("floor=group-commit/inflight=2/callers=2", func(b *testing.B) { floorGroupCommit(b, 2, 2) })
	b.Run("floor=group-commit/inflight=2/callers=64", func(b *testing.B) { floors[64] = floorGroupCommit(b, 64, 2) })
	rec := make([]byte, benchEntrySize)
	for _, sync := range []SyncMode{SyncFdatasync, SyncFsync, SyncODSync} {
		for _, pre := range []Prealloc{PreallocFallocate, PreallocZero, PreallocNone} {
			inflights := []int{DefaultInFlight}
			if sync == SyncFdatasync {
				inflights = []int{1, 2, 4}
			}
			for _, inflight := range inflights {
				for _, callers := range []int{2, 64} {
					name := fmt.Sprintf("journal/sync=%v/prealloc=%v/inflight=%d/callers=%d", sync, pre, inflight, callers)
					b.Run(name, func(b *testing.B) {
						j, err := Open(b.TempDir(), Options{Sync: sync, Prealloc: pre, InFlight: inflight})
						if err != nil {
							b.Fatal(err)
						}
						defer j.Close()
						rate := runWorkers(b, callers, func(int) error {
							_, err := j.AppendBytes(context.Background(), rec)
							return err
						})
						st := j.Stats()
						if st.Groups > 0 {
							b.ReportMetric(float64(st.Records)/float64(st.Groups), "batch")
						}
						if f := floors[callers]; f > 0 {
							b.ReportMetric(100*rate/f, "%floor")
						}
					})
				}
			}
		}
	}
	loadavg(b)
}

// benchJournal is a journal of benchEntries() 512-byte entries, built once.
var benchJournal struct {
	once sync.Once
	dir  string
	err  error
}

func benchEntries() int64 {
	if n, err := strconv.ParseInt(os.Getenv("JOURNAL_BENCH_ENTRIES"), 10, 64); err == nil && n > 0 {
		return n
	}
	return 200000
}

func benchEntry(seq int64) []byte {
	b := make([]byte, benchEntrySize)
	copy(b, fmt.Sprintf("entry %d ", seq))
	for i := 16; i < len(b); i++ {
		b[i] = byte(seq) + byte(i)
	}
	return b
}

func openBenchJournal(b *testing.B) *Journal {
	benchJournal.once.Do(func() {
		dir, err := os.MkdirTemp("", "journal-bench-")
		if err != nil {
			benchJournal.err = err
			return
		}
		benchJournal.dir = dir
		j, err := Open(dir, Options{})
		if err != nil {
			benchJournal.err = err
			return
		}
		n := benchEntries()
		var wg sync.WaitGroup
		for w := range int64(64) {
			wg.Go(func() {
				for i := w; i < n; i += 64 {
					if _, err := j.Append(context.Background(), func(seq int64) ([]byte, error) { return benchEntry(seq), nil }); err != nil {
						benchJournal.err = err
						return
					}
				}
			})
		}
		wg.Wait()
		if err := j.Close(); err != nil && benchJournal.err == nil {
			benchJournal.err = err
		}
	})
	if benchJournal.err != nil {
		b.Fatal(benchJournal.err)
	}
	j, err := Open(benchJournal.dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return j
}

// passes runs pass b.N times and reports entries/s over n entries a pass.
func passes(b *testing.B, n int64, pass func() error) float64 {
	b.ResetTimer()
	for range b.N {
		if err := pass(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	rate := float64(n) * float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "entries/s")
	b.ReportMetric(rate*benchEntrySize/1e6, "MB/s")
	return rate
}

func BenchmarkVerify(b *testing.B) {
	loadavg(b)
	j := openBenchJournal(b)
	defer j.Close()
	n := j.Size()
	b.Logf("%d entries of %d bytes (the segments are in the page cache, as after a recent write)", n, benchEntrySize)
	// The same bytes in memory, for the hash ceilings: one allocation, so
	// the collector has no pointers to scan in it.
	memBuf := make([]byte, 0, n*benchEntrySize)
	for i := range n {
		memBuf = append(memBuf, benchEntry(i)...)
	}
	mem := memEntries(memBuf)
	var raw float64
	b.Run("ceiling=sha256-in-memory", func(b *testing.B) {
		raw = passes(b, n, func() error {
			for _, e := range mem.all {
				_ = sha256.Sum256(e)
			}
			return nil
		})
	})
	b.Run("ceiling=merkle-in-memory", func(b *testing.B) {
		r := passes(b, n, func() error {
			_, err := memMerkle(mem)
			return err
		})
		b.ReportMetric(100*r/raw, "%sha256")
	})
	b.Run("scan", func(b *testing.B) {
		r := passes(b, n, func() error { return j.Scan(0, func(int64, []byte) error { return nil }) })
		b.ReportMetric(100*r/raw, "%sha256")
	})
	b.Run("scan+leaf-hash", func(b *testing.B) {
		r := passes(b, n, func() error {
			return j.Scan(0, func(_ int64, data []byte) error { _ = tlog.RecordHash(data); return nil })
		})
		b.ReportMetric(100*r/raw, "%sha256")
	})
	b.Run("verify", func(b *testing.B) {
		want, err := j.TreeHash(n)
		if err != nil {
			b.Fatal(err)
		}
		r := passes(b, n, func() error {
			got, err := j.Verify()
			if err == nil && got != want {
				err = fmt.Errorf("Verify = %v, want %v", got, want)
			}
			return err
		})
		b.ReportMetric(100*r/raw, "%sha256")
	})
	loadavg(b)
}

// memEntries iterates over the 512-byte entries in buf.
type memEntries []byte

func (m memEntries) all(yield func(int64, []byte) bool) {
	for i := 0; i+benchEntrySize <= len(m); i += benchEntrySize {
		if !yield(int64(i/benchEntrySize), m[i:i+benchEntrySize]) {
			return
		}
	}
}

// memMerkle computes the tree hash over mem with an in-memory right edge.
func memMerkle(mem memEntries) (tlog.Hash, error) {
	var edge [64]frontierHash
	r := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			level, _ := tlog.SplitStoredHashIndex(idx)
			out[i] = edge[level].hash
		}
		return out, nil
	})
	n := int64(0)
	for seq, e := range mem.all {
		n++
		hs, err := tlog.StoredHashes(seq, e, r)
		if err != nil {
			return tlog.Hash{}, err
		}
		for level, h := range hs {
			edge[level] = frontierHash{ok: true, pos: seq >> level, hash: h}
		}
	}
	return tlog.TreeHash(n, r)
}

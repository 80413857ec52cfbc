package auditlog

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db/dbtest"
)

// BenchmarkVerify verifies a log of JUKINET_BENCH_ENTRIES entries (default
// 100,000), each with one subject, on SQLite, and reports entries/s and
// the process's CPU time (user and system) per entry verified.
func BenchmarkVerify(b *testing.B) {
	n := 100_000
	if s := os.Getenv("JUKINET_BENCH_ENTRIES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("JUKINET_BENCH_ENTRIES: %v", err)
		}
		n = v
	}
	d := dbtest.OpenSQLite(b)
	s, v := newKey(b)
	l := openLog(b, d, s)
	const writers = 512
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += writers {
				if _, err := l.Append(context.Background(), entry(i, fmt.Sprintf("%011d", i))); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if _, err := l.Checkpoint(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		rep, err := Verify(context.Background(), d, v)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Entries != int64(n) {
			b.Fatalf("verified %d entries, want %d", rep.Entries, n)
		}
	}
	cpu = processCPU() - cpu
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(n)/float64(b.N), "cpu-µs/entry")
}

// BenchmarkVerifyImport verifies a log whose one entry concerns 1,000,000
// residents (an import's), and reports subject rows/s and the CPU time
// per subject row.
func BenchmarkVerifyImport(b *testing.B) {
	const n = 1_000_000
	d := dbtest.OpenSQLite(b)
	s, v := newKey(b)
	l := openLog(b, d, s)
	codes := make([]string, n)
	for i := range codes {
		codes[i] = fmt.Sprintf("%011d", i*7919%n)
	}
	if _, err := l.Append(context.Background(), entry(0, codes...)); err != nil {
		b.Fatal(err)
	}
	if _, err := l.Checkpoint(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu := processCPU()
	for b.Loop() {
		if _, err := Verify(context.Background(), d, v); err != nil {
			b.Fatal(err)
		}
	}
	cpu = processCPU() - cpu
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "subject-rows/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(n)/float64(b.N), "cpu-µs/subject-row")
}

// BenchmarkCheckpointResidentMap measures what the resident map adds to a
// checkpoint on SQLite: a log of 100,000 entries concerning 100,000
// residents (the map built at its first checkpoint, reported as
// first-build-ms), then per iteration 1,000 entries concerning residents
// already in the map and 100 new ones, and one checkpoint (ms/checkpoint,
// with the map brought up to date). The raw baseline in the same run:
// reading those 1,100 entries' subject rows and leaf hashes with one
// select (raw-read-ms), which the map's update cannot do without.
func BenchmarkCheckpointResidentMap(b *testing.B) {
	ctx := context.Background()
	d := dbtest.OpenSQLite(b)
	s, _ := newKey(b)
	l := openLog(b, d, s)
	const base = 100_000
	var wg sync.WaitGroup
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < base; i += 64 {
				if _, err := l.Append(ctx, entry(i, fmt.Sprintf("%011d", i))); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	// Phases are timed with the benchmark's own timer (b.Elapsed), the
	// appends between them with it stopped.
	b.ResetTimer()
	if _, err := l.Checkpoint(ctx); err != nil {
		b.Fatal(err)
	}
	first := b.Elapsed()
	next := base
	var inCheckpoint, raw time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		from, _ := l.Size(ctx)
		for j := range 1_100 {
			code := fmt.Sprintf("%011d", (i*7919+j*104729)%base)
			if j >= 1_000 {
				code = fmt.Sprintf("%011d", next)
				next++
			}
			if _, err := l.Append(ctx, entry(j, code)); err != nil {
				b.Fatal(err)
			}
		}
		to, _ := l.Size(ctx)
		before := b.Elapsed()
		b.StartTimer()
		if _, err := l.Checkpoint(ctx); err != nil {
			b.Fatal(err)
		}
		mid := b.Elapsed()
		inCheckpoint += mid - before
		n := 0
		if err := subjectRows(ctx, d, from, to, func(string, int64, tlog.Hash) error { n++; return nil }); err != nil || n != 1_100 {
			b.Fatalf("raw read: %d rows, %v", n, err)
		}
		raw += b.Elapsed() - mid
	}
	b.ReportMetric(float64(first.Milliseconds()), "first-build-ms")
	b.ReportMetric(float64(inCheckpoint.Microseconds())/1000/float64(b.N), "ms/checkpoint")
	b.ReportMetric(float64(raw.Microseconds())/1000/float64(b.N), "raw-read-ms")
}

package auditlog

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"testing"

	"jukinet/internal/db/dbtest"
)

// BenchmarkVerify verifies a log of JUKINET_BENCH_ENTRIES entries (default
// 100,000), each with one subject, on SQLite, and reports entries/s.
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
	for b.Loop() {
		rep, err := Verify(context.Background(), d, v)
		if err != nil {
			b.Fatal(err)
		}
		if rep.Entries != int64(n) {
			b.Fatalf("verified %d entries, want %d", rep.Entries, n)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkVerifyImport verifies a log whose one entry concerns 1,000,000
// residents (an import's), and reports subject rows/s.
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
	for b.Loop() {
		if _, err := Verify(context.Background(), d, v); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "subject-rows/s")
}

package resident_test

import (
	"bytes"
	"testing"
	"time"

	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// BenchmarkReadCSV reads and checks 100,000 synthetic rows, and reports
// rows/s.
func BenchmarkReadCSV(b *testing.B) {
	const n = 100_000
	g, err := synth.New(synth.Options{Seed: 1, LocalGov: "131083"})
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	for i := 0; i < n; i++ {
		if err := w.Write(g.Next()); err != nil {
			b.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		rows, bad, err := resident.ReadCSV(bytes.NewReader(buf.Bytes()), "", time.Date(2026, time.June, 1, 12, 0, 0, 0, time.UTC))
		if err != nil || len(bad) > 0 || len(rows) != n {
			b.Fatalf("%d rows, %v, %v", len(rows), bad, err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

package bench

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
)

// TestRunSmall runs the whole benchmark on a small register, on both
// databases, so the harness itself is tested.
func TestRunSmall(t *testing.T) {
	for _, tt := range []struct {
		name    string
		url     func(t *testing.T) string
		journal bool
		stream  bool // the import streamed, however small the file
	}{
		{"sqlite", func(t *testing.T) string { return "" }, false, false},
		{"sqlite-streamed", func(t *testing.T) string { return "" }, false, true},
		{"sqlite-journal", func(t *testing.T) string { return "" }, true, false},
		{"postgres", func(t *testing.T) string { return dbtest.PostgresURL(t) }, false, false},
		{"postgres-streamed", func(t *testing.T) string { return dbtest.PostgresURL(t) }, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			url := tt.url(t)
			if tt.stream {
				saved := gate.StreamImportBytes
				gate.StreamImportBytes = 0
				defer func() { gate.StreamImportBytes = saved }()
			}
			res, err := Run(context.Background(), Options{Residents: 400, DBURL: url, Duration: 150 * time.Millisecond, Clients: 8, Sustained: 600 * time.Millisecond, Journal: tt.journal}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Rows) != 15 {
				t.Fatalf("%d rows", len(res.Rows))
			}
			for _, r := range res.Rows {
				if r.Ops == 0 || strings.HasPrefix(r.Note, "ERROR") {
					t.Errorf("%s: %d ops, %s", r.What, r.Ops, r.Note)
				}
			}
			if s := res.Sustained; s == nil || s.FirstRate <= 0 || s.LastRate <= 0 || (url == "") != (s.MaxWAL > 0 && s.WALLimit > 0) {
				t.Errorf("sustained-load figures: %+v", s)
			}
			var out strings.Builder
			res.Print(&out)
			how := "held in memory; peak RSS "
			if tt.stream {
				how = "streamed; peak RSS "
			}
			if !strings.Contains(res.Rows[0].Note, how) || !strings.Contains(res.Rows[1].Note, "bytes per resident") {
				t.Errorf("the import row says %q, the disk row %q", res.Rows[0].Note, res.Rows[1].Note)
			}
			for _, row := range []string{"disk used", "checkpoint after the import", "raw driver point select", "durable write floor", "database commit floor", "sustained", "raw bulk insert", "raw search query", "SHA-256"} {
				if !strings.Contains(out.String(), row) {
					t.Errorf("no %q row in the table:\n%s", row, out.String())
				}
			}
		})
	}
}

// BenchmarkGate reports every row of the benchmark table as a metric,
// the raw driver baseline among them. Size it with JUKINET_BENCH_RESIDENTS
// (default 20,000); jukinet bench runs the full 1,000,000.
func BenchmarkGate(b *testing.B) {
	n := 20000
	if s := os.Getenv("JUKINET_BENCH_RESIDENTS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < b.N; i++ {
		res, err := Run(context.Background(), Options{Residents: n, Duration: 2 * time.Second, DBURL: os.Getenv("JUKINET_BENCH_DB")}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res.Rows {
			b.ReportMetric(r.PerSecond, metricName(r.What)+"/s")
			if r.P99 > 0 {
				b.ReportMetric(float64(r.P99.Microseconds()), metricName(r.What)+"-p99-µs")
			}
		}
	}
}

func metricName(what string) string {
	if i := strings.Index(what, "("); i > 0 {
		what = what[:i]
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(what, ",", " ")), "-")
}

// TestTruncateWALWaitsForReaders: the disk row counts the database and its
// WAL, so the checkpoint before it must empty the WAL even when a reader
// holds it at first (a busy checkpoint is no error in SQLite, and the WAL
// would be counted as a second copy of the pages).
func TestTruncateWALWaitsForReaders(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "wal.db")
	d, err := db.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(ctx, `CREATE TABLE t (v BLOB)`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		if _, err := d.Exec(ctx, `INSERT INTO t VALUES (zeroblob(8192))`); err != nil {
			t.Fatal(err)
		}
	}
	// A reader holds a snapshot for a while.
	held := make(chan struct{})
	go d.ReadTx(ctx, func(tx db.Querier) error {
		var n int
		tx.QueryRow(ctx, `SELECT COUNT(*) FROM t`).Scan(&n)
		close(held)
		time.Sleep(500 * time.Millisecond)
		return nil
	})
	<-held
	if err := truncateWAL(ctx, d); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() != 0 {
		t.Errorf("the WAL after truncateWAL: %v, %v", st.Size(), err)
	}
}

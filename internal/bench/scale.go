package bench

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"jukinet/internal/db"
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

// peakRSS is the process's peak resident memory since resetPeakRSS, or
// "unknown" where /proc does not say.
func peakRSS() string {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err == nil {
				return mib(kib << 10)
			}
		}
	}
	return "unknown"
}

// diskUsed is the bytes the database takes: SQLite's file and its WAL,
// PostgreSQL's database.
func diskUsed(ctx context.Context, d *db.DB, url string) (int64, error) {
	if d.Dialect() == db.Postgres {
		var n int64
		err := d.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
		return n, err
	}
	path := strings.TrimPrefix(url, "sqlite:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
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

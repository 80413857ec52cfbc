package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"jukinet/internal/bench"
)

// BenchCmd is `jukinet bench`.
type BenchCmd struct {
	Residents  int           `default:"1000000" help:"Size of the synthetic register."`
	DB         string        `name:"db" help:"Database URL of an empty database (default: SQLite in a temporary folder)."`
	Duration   time.Duration `default:"5s" help:"Length of each timed measurement."`
	Workers    int           `default:"2" help:"Synchronous workers."`
	Clients    int           `default:"64" help:"Concurrent clients for the group-commit measurements."`
	ImportOnly bool          `name:"import-only" help:"Measure the import only."`
	Sustained  time.Duration `default:"60s" help:"Length of the sustained-load row (audited lookups from --clients without pause, the SQLite WAL watched); 0 skips it."`
	WALOnly    bool          `name:"wal-only" help:"Measure the import, the raw baseline and the sustained-load row only."`
	Journal    bool          `name:"journal" help:"Run the audit log with its journal (docs/design/audit-storage.md)."`
	CPUProfile string        `name:"cpuprofile" type:"path" help:"Write a CPU profile of the run to this file (go tool pprof)."`
}

// Run prints one table.
func (c BenchCmd) Run(env *Env) error {
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	res, err := bench.Run(env.Ctx, bench.Options{Residents: c.Residents, DBURL: c.DB, Duration: c.Duration, Workers: c.Workers, Clients: c.Clients, Seed: 1, ImportOnly: c.ImportOnly,
		Sustained: c.Sustained, SustainedOnly: c.WALOnly, Journal: c.Journal}, env.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout)
	res.Print(env.Stdout)
	return nil
}

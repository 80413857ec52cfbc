package cli

import (
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"jukinet/internal/bench"
	"jukinet/internal/config"
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
	Journal    *bool         `name:"journal" negatable:"" help:"Run the audit log with its journal (audit.journal; docs/design/audit-storage.md); --no-journal commits each group's rows on the request's path. Without either, as a node on the same database does by default: journaled on SQLite, not on PostgreSQL."`
	CPUProfile string        `name:"cpuprofile" type:"path" help:"Write a CPU profile of the run to this file (go tool pprof)."`
	MemProfile string        `name:"memprofile" type:"path" help:"Write a heap profile taken as the import ends to this file (go tool pprof)."`
	HTTP       bool          `name:"http" help:"Add the HTTP rows: a demo node with the same register served over HTTPS as jukinet serve does, its JSON API driven by --clients keep-alive connections of a load generator (vegeta)."`
	HTTPOnly   bool          `name:"http-only" help:"Measure the HTTP rows only."`
	HTTPProf   string        `name:"http-cpuprofile" type:"path" help:"Write a CPU profile of the HTTP lookups alone to this file (with --http or --http-only)."`
}

// check refuses flag values the benchmark cannot run with, naming the flag.
func (c BenchCmd) check() error {
	switch {
	case c.Residents < 1:
		return fmt.Errorf("--residents %d: must be 1 or more", c.Residents)
	case c.Duration <= 0:
		return fmt.Errorf("--duration %s: must be longer than 0", c.Duration)
	case c.Workers < 1:
		return fmt.Errorf("--workers %d: must be 1 or more", c.Workers)
	case c.Clients < 1:
		return fmt.Errorf("--clients %d: must be 1 or more", c.Clients)
	case c.Sustained < 0:
		return fmt.Errorf("--sustained %s: must be 0 (skip the row) or more", c.Sustained)
	case c.HTTPOnly && (c.ImportOnly || c.WALOnly):
		return fmt.Errorf("--http-only measures the HTTP rows alone: leave out --import-only and --wal-only")
	case c.HTTPProf != "" && !c.HTTP && !c.HTTPOnly:
		return fmt.Errorf("--http-cpuprofile profiles the HTTP rows: give --http or --http-only too")
	}
	return nil
}

// Run prints one table.
func (c BenchCmd) Run(env *Env) error {
	if err := c.check(); err != nil {
		return err
	}
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
	journal := config.JournalDefault(c.DB)
	if c.Journal != nil {
		journal = *c.Journal
	}
	res, err := bench.Run(env.Ctx, bench.Options{Residents: c.Residents, DBURL: c.DB, Duration: c.Duration, Workers: c.Workers, Clients: c.Clients, Seed: 1, ImportOnly: c.ImportOnly, MemProfile: c.MemProfile,
		Sustained: c.Sustained, SustainedOnly: c.WALOnly, HTTP: c.HTTP, HTTPOnly: c.HTTPOnly, HTTPProfile: c.HTTPProf, Now: env.Now, Journal: journal}, env.Stderr)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout)
	res.Print(env.Stdout)
	fmt.Fprintln(env.Stdout)
	bench.PrintGoals(env.Stdout, res.Goals())
	return nil
}

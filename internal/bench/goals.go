package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The rows the goal table reads, by Row.ID.
const (
	RowImport        = "import"
	RowDisk          = "disk"
	RowRawInsert     = "raw-insert"
	RowRawSelect     = "raw-select"
	RowDiskFloor     = "disk-floor"
	RowCommitFloor   = "commit-floor"
	RowLookupWorkers = "lookup-workers"
	RowLookupClients = "lookup-clients"
	RowSustained     = "sustained"
	RowRawSearch     = "raw-search"
	RowSearchWorkers = "search-workers"
	RowSearchClients = "search-clients"
	RowCheckpoint    = "checkpoint"
	RowVerify        = "verify"
	RowSHA256        = "sha256"
	RowGateClients   = "node-gate-clients"
	RowHTTPFloor     = "http-floor"
	RowHTTP          = "http"
)

// Goal is one line of the goal table: a goal of issue 20 decided on
// figures measured in the same run.
type Goal struct {
	What     string // the goal row
	Measured string // the figure, or why there is none
	Target   string // the goal
	// Met says the goal is met; Known says the rows it needs were
	// measured (a goal not measured is neither met nor missed).
	Met, Known bool
}

// verifyRateGoal is the verify row's absolute goal, entries per second.
const verifyRateGoal = 500_000

// httpP99Goal is the HTTP row's latency goal.
const httpP99Goal = 10 * time.Millisecond

// Goals decides the goals of issue 20 on the run's rows: each ratio is
// against a baseline of the same run.
func (r *Result) Goals() []Goal {
	byID := map[string]Row{}
	for _, row := range r.Rows {
		if row.ID != "" && row.Ops > 0 && !failed(row) {
			byID[row.ID] = row
		}
	}
	ratio := func(what, target string, minRatio float64, id, base, baseName string) Goal {
		g := Goal{What: what, Target: target}
		a, okA := byID[id]
		b, okB := byID[base]
		if !okA || !okB || b.PerSecond <= 0 {
			g.Measured = "not measured"
			return g
		}
		f := a.PerSecond / b.PerSecond
		g.Known, g.Met = true, f >= minRatio
		g.Measured = fmt.Sprintf("%.1f %% of %s (%s/s of %s/s)", 100*f, baseName, thousands(a.PerSecond), thousands(b.PerSecond))
		return g
	}
	goals := []Goal{
		ratio("audited lookup by 住民票コード, 64 clients", "≥ 50 % of the raw select rate", 0.5, RowLookupClients, RowRawSelect, "raw select"),
		ratio("audited lookup, 2 synchronous workers", "≥ 85 % of the disk's fsync floor", 0.85, RowLookupWorkers, RowDiskFloor, "fsync floor"),
		ratio("four-item search, 64 clients", "≥ 40 % of a raw search query's rate", 0.4, RowSearchClients, RowRawSearch, "raw search"),
	}
	v := Goal{What: "audit verify", Target: "≥ 500,000 entries/s and ≥ 50 % of SHA-256 over the same bytes", Measured: "not measured"}
	if vr, ok := byID[RowVerify]; ok {
		v.Known = true
		v.Met = vr.PerSecond >= verifyRateGoal
		v.Measured = fmt.Sprintf("%s entries/s", thousands(vr.PerSecond))
		if sr, ok := byID[RowSHA256]; ok && sr.PerSecond > 0 {
			f := vr.PerSecond / sr.PerSecond
			v.Met = v.Met && f >= 0.5
			v.Measured += fmt.Sprintf(", %.1f %% of SHA-256 (%s/s)", 100*f, thousands(sr.PerSecond))
		} else {
			v.Met = false
			v.Measured += ", SHA-256 not measured"
		}
	}
	goals = append(goals, v,
		ratio("import", "≥ 60 % of a raw bulk insert of the same rows", 0.6, RowImport, RowRawInsert, "raw bulk insert"))
	h := ratio("HTTP JSON lookups, 64 keep-alive clients", "≥ 70 % of the in-process gate rate, p99 < 10 ms", 0.7, RowHTTP, RowGateClients, "in-process")
	if h.Known {
		p99 := byID[RowHTTP].P99
		h.Met = h.Met && p99 > 0 && p99 < httpP99Goal
		h.Measured += fmt.Sprintf(", p99 %s", p99.Round(10*time.Microsecond))
	} else if _, ok := byID[RowHTTP]; !ok {
		h.Measured = "not measured (jukinet bench --http)"
	}
	return append(goals, h)
}

// failed says a row's measurement stopped on an error.
func failed(r Row) bool { return strings.Contains(r.Note, "ERROR:") }

// PrintGoals writes the goal table: one line per goal, with ✓ when met,
// ✗ when missed and – when not measured.
func PrintGoals(w io.Writer, goals []Goal) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "goal (issue 20)\tmeasured\tgoal\t\n")
	for _, g := range goals {
		mark := "–"
		switch {
		case g.Known && g.Met:
			mark = "✓"
		case g.Known:
			mark = "✗"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.What, g.Measured, g.Target, mark)
	}
	tw.Flush()
}

// thousands writes a rate rounded to a whole number with thousands
// separators: 12,345.
func thousands(f float64) string {
	n := int64(f + 0.5)
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+len(s)/3)
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

package bench

import (
	"strings"
	"testing"
	"time"
)

// TestGoals decides the goal table on fixed figures: each goal met, missed
// and not measured, and the line it prints.
func TestGoals(t *testing.T) {
	row := func(id string, perSecond float64) Row { return Row{ID: id, Ops: 1, PerSecond: perSecond} }
	all := []Row{
		row(RowImport, 30_000), row(RowRawInsert, 50_000), // 60 %: met
		row(RowRawSelect, 100_000), row(RowLookupClients, 49_999), // just under 50 %
		row(RowDiskFloor, 10_000), row(RowLookupWorkers, 8_500), // 85 %: met
		row(RowRawSearch, 10_000), row(RowSearchClients, 4_000), // 40 %: met
		row(RowVerify, 600_000), row(RowSHA256, 1_000_000), // both parts met
		row(RowGateClients, 10_000), {ID: RowHTTP, Ops: 1, PerSecond: 7_500, P99: 9 * time.Millisecond},
	}
	with := func(rows []Row, id string, change func(*Row)) []Row {
		out := append([]Row(nil), rows...)
		for i := range out {
			if out[i].ID == id {
				change(&out[i])
			}
		}
		return out
	}
	without := func(rows []Row, id string) []Row {
		var out []Row
		for _, r := range rows {
			if r.ID != id {
				out = append(out, r)
			}
		}
		return out
	}
	for _, tt := range []struct {
		name string
		rows []Row
		goal int    // index in the table
		want string // ✓, ✗ or –
		text string // in the measured figure
	}{
		{"lookup under half the raw select", all, 0, "✗", "50.0 % of raw select (49,999/s of 100,000/s)"},
		{"lookup at half the raw select", with(all, RowLookupClients, func(r *Row) { r.PerSecond = 50_000 }), 0, "✓", "50.0 %"},
		{"two workers at 85 % of the fsync floor", all, 1, "✓", "85.0 % of fsync floor"},
		{"search at 40 %", all, 2, "✓", "40.0 % of raw search"},
		{"no raw search baseline", without(all, RowRawSearch), 2, "–", "not measured"},
		{"verify fast enough on both counts", all, 3, "✓", "600,000 entries/s, 60.0 % of SHA-256 (1,000,000/s)"},
		{"verify under 500,000 entries/s", with(all, RowVerify, func(r *Row) { r.PerSecond = 499_000 }), 3, "✗", "499,000 entries/s"},
		{"verify under half of SHA-256", with(all, RowSHA256, func(r *Row) { r.PerSecond = 1_300_000 }), 3, "✗", "46.2 % of SHA-256"},
		{"verify without the SHA-256 row", without(all, RowSHA256), 3, "✗", "SHA-256 not measured"},
		{"import at 60 %", all, 4, "✓", "60.0 % of raw bulk insert"},
		{"HTTP at 75 %, p99 9 ms", all, 5, "✓", "75.0 % of in-process (7,500/s of 10,000/s), p99 9ms"},
		{"HTTP p99 at 10 ms", with(all, RowHTTP, func(r *Row) { r.P99 = 10 * time.Millisecond }), 5, "✗", "p99 10ms"},
		{"HTTP under 70 %", with(all, RowHTTP, func(r *Row) { r.PerSecond = 6_999 }), 5, "✗", "70.0 %"},
		{"HTTP not run", without(all, RowHTTP), 5, "–", "not measured (jukinet bench --http)"},
		{"a row that stopped on an error is not a figure", with(all, RowImport, func(r *Row) { r.Note = "ERROR: disk full" }), 4, "–", "not measured"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			goals := (&Result{Rows: tt.rows}).Goals()
			if len(goals) != 6 {
				t.Fatalf("%d goals, want the 6 rows of issue 20", len(goals))
			}
			var out strings.Builder
			PrintGoals(&out, goals[tt.goal:tt.goal+1])
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 2 {
				t.Fatalf("printed:\n%s", out.String())
			}
			line := lines[1]
			if !strings.HasSuffix(strings.TrimSpace(line), tt.want) || !strings.Contains(line, tt.text) || !strings.HasPrefix(line, goals[tt.goal].What) {
				t.Errorf("goal line %q, want it to end in %s and hold %q", line, tt.want, tt.text)
			}
		})
	}
}

// TestThousands writes rates as the table does.
func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999.4: "999", 999.5: "1,000", 1234567: "1,234,567", 100000: "100,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %s, want %s", in, got, want)
		}
	}
}

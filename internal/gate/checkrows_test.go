package gate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/synth"

	"jukinet/internal/ids"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// TestCheckRows: codes and numbers given twice and rows of another local
// government are reported in line order, a line's in column order (scope,
// code, number), and the list ends with the line that reaches
// resident.MaxRowErrors, all of that line's errors kept.
func TestCheckRows(t *testing.T) {
	g := &Gate{node: ids.LocalGov{Code: "131083"}, level: profile.Municipality}
	row := func(line int, code, number, lg string) resident.Row {
		return resident.Row{Line: line, Record: resident.IdentityRecord{ResidentCode: ids.ResidentCode(code), IndividualNumber: ids.IndividualNumber(number), LocalGov: ids.LocalGovCode(lg)}}
	}
	rows := []resident.Row{
		row(2, "A", "1", "131083"),
		row(3, "B", "2", "131083"),
		row(4, "A", "2", "131016"), // all three wrong
		row(5, "C", "3", "131016"),
		row(6, "B", "4", "131083"),
	}
	var got []string
	for _, e := range g.checkRows(rows) {
		got = append(got, fmt.Sprintf("%d %s %s", e.Line, e.Column, strings.TrimSpace(e.Reason[:min(len(e.Reason), 14)])))
	}
	want := []string{
		"4 local_gov_code 131016 is not",
		"4 resident_code also on line 2",
		"4 individual_number also on line 3",
		"5 local_gov_code 131016 is not",
		"6 resident_code also on line 3",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("checkRows:\n got %q\nwant %q", got, want)
	}

	// Every row after the first repeats its code and number: the list
	// stops at the line that reaches MaxRowErrors, with both its errors.
	rows = rows[:0]
	for i := 0; i < resident.MaxRowErrors; i++ {
		rows = append(rows, row(i+2, "A", "1", "131083"))
	}
	bad := g.checkRows(rows)
	if n := len(bad); n != resident.MaxRowErrors || bad[n-1].Line != resident.MaxRowErrors/2+2 || bad[n-2].Line != bad[n-1].Line {
		t.Errorf("%d errors, the last on line %d", n, bad[n-1].Line)
	}
}

// TestImportRefusesHeldNumber: a file row whose individual number another
// registered resident holds is reported on its file line and column, and
// nothing of the file is imported.
func TestImportRefusesHeldNumber(t *testing.T) {
	importModes(t, func(t *testing.T) { testImportRefusesHeldNumber(t) })
}

func testImportRefusesHeldNumber(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		held := f.importRecords(t, 3)
		g, _ := synth.New(synth.Options{Seed: 31, LocalGov: "131083"})
		var buf bytes.Buffer
		w := resident.NewCSVWriter(&buf, resident.UTF8)
		for i := 0; i < 4; i++ {
			r := g.Next()
			if i == 2 {
				r.IndividualNumber = held[1].IndividualNumber // line 4 of the file
			}
			w.Write(r)
		}
		w.Close()
		_, err := f.g.Import(ctx, clerk, &buf, resident.UTF8)
		var ie *ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != 4 || ie.Rows[0].Column != "individual_number" {
			t.Fatalf("import with a held number: %v", err)
		}
		if n, _ := f.g.Count(ctx); n != 3 {
			t.Errorf("%d residents after the refused import, want 3", n)
		}
	})
}

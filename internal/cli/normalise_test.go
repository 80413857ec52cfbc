package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"
	"golang.org/x/text/width"

	"jukinet/internal/clocktest"
	"jukinet/internal/jptext"
)

// halfWidth writes full-width katakana as legacy systems do: ガ as ｶﾞ.
func halfWidth(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch r {
		case '\u3099':
			b.WriteRune('ﾞ')
		case '\u309A':
			b.WriteRune('ﾟ')
		default:
			b.WriteString(width.Narrow.String(string(r)))
		}
	}
	return b.String()
}

// eraLetter writes an ISO date as H2.3.4.
func eraLetter(iso string) string {
	d, _ := time.Parse(time.DateOnly, iso)
	w, _ := jptext.ToWareki(d)
	return fmt.Sprintf("%s%d.%d.%d", w.Era.Letter, w.Year, int(w.Month), w.Day)
}

// TestImportLegacyForms: a file as legacy municipal systems export it (BOM,
// half-width readings, full-width codes, 和暦 dates) imports, stores the
// normalised values (an export gives back the clean file), prints the
// counts by column and writes the report, a form of the register.
func TestImportLegacyForms(t *testing.T) { eachDatabase(t, testImportLegacyForms) }

func testImportLegacyForms(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	_, clean, _ := run(t, "gen", "residents", "--count", "40", "--local-gov", "131083", "--seed", "7")
	rows, err := csvRows(clean)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{}
	legacy := make([][]string, len(rows))
	for i, r := range rows {
		legacy[i] = append([]string(nil), r...)
		if i == 0 {
			continue
		}
		l := legacy[i]
		for _, c := range []int{4, 5, 7, 9} { // the readings
			if l[c] != "" {
				l[c] = halfWidth(l[c])
				want[rows[0][c]+": 半角カナ→全角"]++
			}
		}
		if i%3 == 0 {
			l[0] = width.Widen.String(l[0])
			want["resident_code: 全角英数→半角"]++
		}
		if d, _ := time.Parse(time.DateOnly, l[10]); d.Year() >= 1873 {
			l[10] = eraLetter(l[10])
			want["date_of_birth: 和暦→西暦"]++
		}
		d, _ := time.Parse(time.DateOnly, l[15])
		l[15] = jptext.FormatWareki(d) // 令和元年5月1日
		want["change_date: 和暦→西暦"]++
	}
	file := filepath.Join(t.TempDir(), "legacy.csv")
	os.WriteFile(file, []byte("\uFEFF"+csvTextOf(legacy)), 0o644)

	code, out, errOut := run(t, "import", "residents", "--data", dir, file)
	if code != 0 || !strings.Contains(out, "40 added") {
		t.Fatalf("import: %d\n%s\n%s", code, out, errOut)
	}
	if errOut != "" {
		t.Errorf("stderr is not a terminal, yet: %q", errOut)
	}
	for what, n := range want {
		col, how, _ := strings.Cut(what, ": ")
		line := regexpLine(out, col, how)
		if line == "" || !strings.Contains(line, fmt.Sprintf(": %d件", n)) {
			t.Errorf("summary lacks %s %s: %d件:\n%s", col, how, n, out)
		}
	}
	if !strings.Contains(out, "file: BOMを除去: 1件") {
		t.Errorf("summary lacks the BOM:\n%s", out)
	}
	report := filepath.Join(filepath.Dir(file), "legacy.normalised.csv")
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}
	if !bytes.HasPrefix(b, []byte("\uFEFF")) {
		t.Errorf("the report of a file with a BOM has none: %q", b[:min(20, len(b))])
	}
	lines, err := csvRows(strings.TrimPrefix(string(b), "\uFEFF"))
	if err != nil {
		t.Fatal(err)
	}
	total := 1 // the BOM
	for _, n := range want {
		total += n
	}
	// One line per value, however many ways it changed: here each value
	// changed one way.
	if len(lines) != total+1 || strings.Join(lines[0], ",") != "line,column,項目,normalisation,original,stored" {
		t.Errorf("report has %d lines, want %d: %v", len(lines), total+1, lines[:min(3, len(lines))])
	}
	first := rows[1]
	if got := lines[2]; got[0] != "2" || got[4] != halfWidth(first[4]) || got[5] != first[4] {
		t.Errorf("report line %v, want line 2 %s → %s", got, halfWidth(first[4]), first[4])
	}
	// The report is a form of the register, issued with the import.
	if code, out, errOut := run(t, "form", "show", "--data", dir, "--file", report); code != 0 || !strings.Contains(out, "(import-report, csv)") {
		t.Errorf("form show --file report: %d\n%s\n%s", code, out, errOut)
	}
	// The register holds the normalised values only: today's export is the
	// clean file.
	code, exported, errOut := run(t, "export", "residents", "--data", dir)
	if code != 0 {
		t.Fatal(errOut)
	}
	if got, _ := csvRows(exported); !sameRows(got, rows) {
		t.Errorf("export differs from the clean file:\n%s\nwant\n%s", exported, clean)
	}
	// A second import of the same file stores nothing new, and will not
	// overwrite the report: a form the operator keeps.
	if code, _, errOut := run(t, "import", "residents", "--data", dir, file); code == 0 || !strings.Contains(errOut, "exists already") {
		t.Errorf("import again: %d %s", code, errOut)
	}
	again := filepath.Join(t.TempDir(), "again.csv")
	if code, out, errOut := run(t, "import", "residents", "--data", dir, "--report", again, file); code != 0 || !strings.Contains(out, "0 added, 0 changed, 40 unchanged") {
		t.Errorf("import again: %d %s %s", code, out, errOut)
	}
}

func csvRows(text string) ([][]string, error) {
	return csv.NewReader(strings.NewReader(text)).ReadAll()
}

// regexpLine returns the summary line of col and how, or "".
func regexpLine(out, col, how string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), col+" ") && strings.Contains(l, ": "+how+": ") {
			return l
		}
	}
	return ""
}

// sameRows reports whether a and b hold the same rows, in any order.
func sameRows(a, b [][]string) bool {
	join := func(rows [][]string) []string {
		s := make([]string, len(rows))
		for i, r := range rows {
			s[i] = strings.Join(r, "\x00")
		}
		slices.Sort(s)
		return s
	}
	return slices.Equal(join(a), join(b))
}

// TestProgressLine: a terminal gets the line redrawn in place, at most
// every progressEvery of the command's clock; anything else gets nothing.
func TestProgressLine(t *testing.T) {
	clock := clocktest.Frozen(clocktest.Start())
	var out bytes.Buffer
	env := &Env{Stderr: &out, Now: clock.Now}
	p := newProgress(env, "Importing")
	p.update("reading", 10, 0.1)
	p.done()
	if out.Len() != 0 {
		t.Errorf("not a terminal, yet: %q", out.String())
	}
	env.Terminal = func(w io.Writer) bool { return w == &out }
	p = newProgress(env, "Importing")
	p.update("reading", 0, -1)
	clock.Advance(time.Second)
	p.update("reading", 50_000, -1) // not a new stage: shown, a second after the last
	clock.Advance(time.Millisecond)
	p.update("reading", 50_100, -1) // too soon: not shown
	clock.Advance(time.Millisecond)
	p.update("writing", 0, 0) // a new stage: shown
	clock.Advance(2 * time.Second)
	p.update("writing", 25_000, 0.25)
	p.done()
	want := "\rImporting: reading 0 rows\x1b[K" +
		"\rImporting: reading 50,000 rows, 50,000 rows/s\x1b[K" +
		"\rImporting: writing 0 rows\x1b[K" +
		"\rImporting: writing 25,000 rows, 12,500 rows/s, ETA 0:06\x1b[K" +
		"\r\x1b[K"
	if got := out.String(); got != want {
		t.Errorf("terminal got\n%q\nwant\n%q", got, want)
	}
}

func TestProgressText(t *testing.T) {
	tests := []struct {
		done     int
		fraction float64
		elapsed  time.Duration
		want     string
	}{
		{0, -1, 0, "Exporting: writing 0 rows"},
		{1_204_000, -1, 20 * time.Second, "Exporting: writing 1,204,000 rows, 60,200 rows/s"},
		{1_000, 0.5, 10 * time.Second, "Exporting: writing 1,000 rows, 100 rows/s, ETA 0:10"},
		{1_000, 0.001, 10 * time.Second, "Exporting: writing 1,000 rows, 100 rows/s, ETA 2:46:30"},
		{2_000, 1, 10 * time.Second, "Exporting: writing 2,000 rows, 200 rows/s"},
	}
	for _, tt := range tests {
		if got := progressText("Exporting", "writing", tt.done, tt.fraction, tt.elapsed); got != tt.want {
			t.Errorf("progressText(%d, %v, %v) = %q, want %q", tt.done, tt.fraction, tt.elapsed, got, tt.want)
		}
	}
}

// TestImportProgressOnTerminal: an import run with a (fake) terminal on
// stderr draws its progress there and erases it before the summary.
func TestImportProgressOnTerminal(t *testing.T) {
	dir := newNode(t, "")
	_, clean, _ := run(t, "gen", "residents", "--count", "30", "--local-gov", "131083", "--seed", "3")
	file := filepath.Join(t.TempDir(), "r.csv")
	os.WriteFile(file, []byte(clean), 0o644)
	var out, errOut bytes.Buffer
	env := &Env{Ctx: context.Background(), Stdout: &out, Stderr: &errOut, Now: testClock.Now}
	env.Terminal = func(w io.Writer) bool { return w == &errOut }
	if code := Run(env, []string{"import", "residents", "--data", dir, file}); code != 0 {
		t.Fatalf("import: %s %s", out.String(), errOut.String())
	}
	got := errOut.String()
	if !strings.Contains(got, "\rImporting r.csv: reading 30 rows") || !strings.Contains(got, "\rImporting r.csv: writing 30 rows") || !strings.HasSuffix(got, "\r\x1b[K") {
		t.Errorf("stderr: %q", got)
	}
	errOut.Reset()
	if code := Run(env, []string{"export", "residents", "--data", dir}); code != 0 {
		t.Fatalf("export: %s", errOut.String())
	}
	if got := errOut.String(); !strings.Contains(got, "\rExporting: writing 30 rows") || !strings.Contains(got, "\r\x1b[K") {
		t.Errorf("export stderr: %q", got)
	}
}

package cli

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// TestProtectCommands: a mark with bad input is refused in Japanese and
// stores nothing; a good one is recorded and listed; a console look-up of
// the resident is then refused without a case reference and allowed with
// one (the immediate alert listed by detect list at once); protect end
// lifts it.
func TestProtectCommands(t *testing.T) { eachDatabase(t, testProtectCommands) }

func testProtectCommands(t *testing.T, dbURL string) {
	dir, rows := newNodeWithResidents(t, "3", dbURL)
	code := rows[1][0]
	now := testClock.Now().In(jptext.JST)
	start, end := now.Format(time.DateOnly), now.AddDate(0, 6, 0).Format(time.DateOnly)
	mark := func(code, end, category string) []string {
		return []string{"protect", "mark", "--data", dir, "--code", code, "--start", start, "--end", end, "--department", "kumin", "--category", category}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{mark(code, end, "近所の人"), "区分"},
		{mark(code, now.AddDate(2, 0, 0).Format(time.DateOnly), "dv"), "1年"},
		{mark("12345678901", end, "dv"), "住民票コード"},
	} {
		if exit, _, errOut := run(t, c.args...); exit == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", c.args, exit, errOut, c.want)
		}
	}
	if _, out, _ := run(t, "protect", "list", "--data", dir, "--all"); strings.Contains(out, code) {
		t.Fatalf("a refused mark was stored:\n%s", out)
	}
	if c, out, errOut := run(t, mark(code, end, "dv")...); c != 0 || !strings.Contains(out, "Protection 1 recorded") {
		t.Fatalf("mark: %d %s %s", c, out, errOut)
	}
	if _, out, _ := run(t, "protect", "list", "--data", dir); !strings.Contains(out, code) || !strings.Contains(out, "in force") {
		t.Fatalf("list:\n%s", out)
	}
	look := []string{"lookup", "--data", dir, "--code", code, "--affair", "juminhyo-copy", "--reason", "窓口"}
	if c, _, errOut := run(t, look...); c == 0 || !strings.Contains(errOut, "koto-ward:8.1/protected-resident") {
		t.Fatalf("lookup without a case: %d %s", c, errOut)
	}
	if c, out, errOut := run(t, append(look, "--case", "受付-55")...); c != 0 || !strings.Contains(out, rows[1][2]) {
		t.Fatalf("lookup with a case: %d %s %s", c, out, errOut)
	}
	if _, out, _ := run(t, "detect", "list", "--data", dir); !strings.Contains(out, "protected") || !strings.Contains(out, "console:") {
		t.Fatalf("the immediate alert is not listed:\n%s", out)
	}
	if c, out, errOut := run(t, "protect", "end", "--data", dir, "--id", "1"); c != 0 || !strings.Contains(out, "ends on") {
		t.Fatalf("end: %d %s %s", c, out, errOut)
	}
	if c, _, errOut := run(t, look...); c != 0 {
		t.Fatalf("lookup after the end: %s", errOut)
	}
}

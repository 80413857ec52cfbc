package cli

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// TestContractCommands: a contract with bad input is refused naming the
// field and stores nothing; a good one is recorded (logged) with its
// clauses, person and report; list says which clauses are missing until
// all five are recorded.
func TestContractCommands(t *testing.T) { eachDatabase(t, testContractCommands) }

func testContractCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	if c, out, errOut := run(t, "staff", "add", "--id", "V0001", "--name", "委託 一郎", "--department", "kumin", "--title", "受託者", "--data", dir); c != 0 {
		t.Fatalf("staff add: %d %s %s", c, out, errOut)
	}
	now := testClock.Now().In(jptext.JST)
	start, end := now.AddDate(0, 0, -10).Format(time.DateOnly), now.AddDate(0, 11, 0).Format(time.DateOnly)
	add := func(vendor, start, end, survey string) []string {
		return []string{"contract", "add", "--data", dir, "--vendor", vendor, "--scope", "端末の保守", "--start", start, "--end", end, "--survey", survey}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{add(" ", start, end, "Pマーク確認"), "委託先"},
		{add("株式会社保守", "来月", end, "Pマーク確認"), "開始日「来月」"},
		{add("株式会社保守", end, start, "Pマーク確認"), "end"},
		{add("株式会社保守", start, end, "確認\t済"), "survey"},
	} {
		if code, _, errOut := run(t, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", c.args, code, errOut, c.want)
		}
	}
	if _, out, _ := run(t, "contract", "list", "--data", dir); strings.Contains(out, "株式会社保守") {
		t.Errorf("a refused contract was stored:\n%s", out)
	}
	if code, out, errOut := run(t, add("株式会社保守", start, end, "Pマーク確認")...); code != 0 || !strings.Contains(out, "Contract 1 recorded") {
		t.Fatalf("add: %d %s %s", code, out, errOut)
	}
	for _, args := range [][]string{
		{"contract", "clause", "--contract", "1", "--clause", "no-subcontracting", "--reference", "第5条"},
		{"contract", "person", "--contract", "1", "--id", "V0001"},
		{"contract", "report", "--contract", "1", "--kind", "handling", "--date", now.Format(time.DateOnly), "--summary", "月次の取扱状況報告"},
	} {
		if c, out, errOut := run(t, append(args, "--data", dir)...); c != 0 {
			t.Fatalf("%v: %d %s %s", args, c, out, errOut)
		}
	}
	if code, _, errOut := run(t, "contract", "clause", "--data", dir, "--contract", "1", "--clause", "lunch", "--reference", "第1条"); code == 0 || !strings.Contains(errOut, "lunch") {
		t.Errorf("unknown clause: %d %s", code, errOut)
	}
	_, out, _ := run(t, "contract", "list", "--data", dir)
	if !strings.Contains(out, "in force") || !strings.Contains(out, "MISSING materials") || strings.Contains(out, "MISSING no-subcontracting") || !strings.Contains(out, "V0001") {
		t.Errorf("list:\n%s", out)
	}
	// 契約の解除: bad input refused naming the field; today's end at once.
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--contract", "1", "--reason", " "}, "reason"},
		{[]string{"--contract", "1", "--reason", "契約違反", "--date", "きのう"}, "解除日「きのう」"},
		{[]string{"--contract", "1", "--reason", "契約違反", "--date", now.AddDate(0, 0, -1).Format(time.DateOnly)}, "before today"},
		{[]string{"--contract", "9", "--reason", "契約違反"}, "contract 9 is not recorded"},
	} {
		if code, _, errOut := run(t, append([]string{"contract", "end", "--data", dir}, c.args...)...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("contract end %v: exit %d, %s; want a refusal naming %q", c.args, code, errOut, c.want)
		}
	}
	if _, out, _ := run(t, "contract", "list", "--data", dir); strings.Contains(out, "ENDED") {
		t.Errorf("a refused end was stored:\n%s", out)
	}
	// (The day is the clock's when the command runs: either side of a
	// midnight the suite may be run across.)
	dayBefore := testClock.Now().In(jptext.JST).Format(time.DateOnly)
	if code, out, errOut := run(t, "contract", "end", "--data", dir, "--contract", "1", "--reason", "再委託の発覚"); code != 0 || !strings.Contains(out, "Contract 1 ended now") {
		t.Fatalf("contract end: %d %s %s", code, out, errOut)
	}
	dayAfter := testClock.Now().In(jptext.JST).Format(time.DateOnly)
	if _, out, _ := run(t, "contract", "list", "--data", dir); !strings.Contains(out, "ENDED EARLY on "+dayBefore+" (再委託の発覚)") && !strings.Contains(out, "ENDED EARLY on "+dayAfter+" (再委託の発覚)") {
		t.Errorf("list after the end:\n%s", out)
	}
	if _, out, _ := run(t, "audit", "show", "--data", dir); !strings.Contains(out, "contract.add") || !strings.Contains(out, "contract.report") || !strings.Contains(out, "contract.end") {
		t.Errorf("the changes are not in the audit log:\n%s", out)
	}
}

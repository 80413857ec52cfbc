package cli

import (
	"strings"
	"testing"
)

// TestIncidentCommands: an outage is opened from the console, cannot be
// closed before coordination, notice and recovery are recorded, then is;
// show and list tell its state.
func TestIncidentCommands(t *testing.T) { eachDatabase(t, testIncidentCommands) }

func testIncidentCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	code, out, errOut := run(t, "incident", "open", "--data", dir, "--kind", "outage", "--title", "CS機器の障害", "--summary", "9時から照会不能")
	if code != 0 || !strings.Contains(out, "Incident 1 opened") || !strings.Contains(out, "coordination, notice, recovery") {
		t.Fatalf("open: %d %s %s", code, out, errOut)
	}
	if code, _, errOut := run(t, "incident", "close", "--data", dir, "--id", "1", "--conclusion", "復旧"); code == 0 || !strings.Contains(errOut, "coordination, notice, recovery") {
		t.Errorf("close before the measures: %d %s", code, errOut)
	}
	for _, m := range [][2]string{{"coordination", "J-LISに連絡"}, {"notice", "区ホームページに掲載"}, {"recovery", "機器交換、11時復旧"}} {
		if code, _, errOut := run(t, "incident", "measure", "--data", dir, "--id", "1", "--kind", m[0], "--text", m[1]); code != 0 {
			t.Fatalf("measure %s: %s", m[0], errOut)
		}
	}
	if _, out, _ := run(t, "incident", "show", "--data", dir, "--id", "1"); !strings.Contains(out, "区ホームページに掲載") || !strings.Contains(out, "the required measures are recorded") {
		t.Errorf("show:\n%s", out)
	}
	if code, out, errOut := run(t, "incident", "close", "--data", dir, "--id", "1", "--conclusion", "復旧済み、再発防止策を会議に報告"); code != 0 || !strings.Contains(out, "closed") {
		t.Fatalf("close: %d %s %s", code, out, errOut)
	}
	if _, out, _ := run(t, "incident", "list", "--data", dir); !strings.Contains(out, "No incidents") {
		t.Errorf("list:\n%s", out)
	}
	if _, out, _ := run(t, "incident", "list", "--data", dir, "--all"); !strings.Contains(out, "CS機器の障害") || !strings.Contains(out, "closed") {
		t.Errorf("list --all:\n%s", out)
	}
	if code, _, errOut := run(t, "incident", "show", "--data", dir, "--id", "7"); code == 0 || !strings.Contains(errOut, "no incident 7") {
		t.Errorf("show a missing incident: %d %s", code, errOut)
	}
}

package cli

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// TestTrainingCommands: the courses are listed; a session with bad input is
// refused naming the field and stores nothing; a good one is recorded
// (logged) and makes the designated operator trained; list names who is
// not trained and who expires within 30 days.
func TestTrainingCommands(t *testing.T) { eachDatabase(t, testTrainingCommands) }

func testTrainingCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	for _, args := range [][]string{
		{"staff", "add", "--id", "K0001", "--name", "区民 一郎", "--department", "kumin", "--title", "主事"},
		{"staff", "designate", "--id", "K0001", "--affair", "juminhyo-copy"},
	} {
		if c, out, errOut := run(t, append(args, "--data", dir)...); c != 0 {
			t.Fatalf("%v: %d %s %s", args, c, out, errOut)
		}
	}
	if code, out, errOut := run(t, "training", "courses", "--data", dir); code != 0 || !strings.Contains(out, "住基ネット機器操作研修") || !strings.Contains(out, "12 months") {
		t.Errorf("courses: %d %s %s", code, out, errOut)
	}
	if _, out, _ := run(t, "training", "list", "--data", dir); !strings.Contains(out, "K0001") || !strings.Contains(out, "NOT TRAINED") {
		t.Errorf("list before training:\n%s", out)
	}
	now := testClock.Now().In(jptext.JST)
	// 11 months and a few days ago: expires within 30 days.
	held := now.AddDate(0, -11, -5).Format(time.DateOnly)
	session := func(course, date, attendee string) []string {
		return []string{"training", "session", "--data", dir, "--course", course, "--date", date, "--trainer", "区民 課長", "--material", "手順書", "--attendee", attendee}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{session("cooking", held, "K0001"), "course \"cooking\""},
		{session("operation", "来週", "K0001"), "実施日「来週」"},
		{session("operation", now.AddDate(0, 0, 1).Format(time.DateOnly), "K0001"), "after today"},
		{session("operation", held, "K0001,NOBODY"), "NOBODY"},
	} {
		if code, _, errOut := run(t, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", c.args, code, errOut, c.want)
		}
	}
	if _, out, _ := run(t, "training", "list", "--data", dir, "--sessions"); strings.Contains(out, "手順書") {
		t.Errorf("a refused session was stored:\n%s", out)
	}
	for _, course := range []string{"operation", "security"} {
		if code, out, errOut := run(t, session(course, held, "K0001")...); code != 0 || !strings.Contains(out, "recorded") {
			t.Fatalf("session %s: %d %s %s", course, code, out, errOut)
		}
	}
	_, out, _ := run(t, "training", "list", "--data", dir)
	if strings.Contains(out, "NOT TRAINED") || !strings.Contains(out, "Expiring within 30 days") || !strings.Contains(out, "K0001 区民 一郎") {
		t.Errorf("list after training:\n%s", out)
	}
	if _, out, _ := run(t, "audit", "show", "--data", dir); !strings.Contains(out, "training.session") {
		t.Errorf("the session is not in the audit log:\n%s", out)
	}
}

package cli

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// TestCouncilCommands enters a meeting held yesterday from the console:
// bad input refused naming the field with nothing stored; attendance
// checked against the council's membership (staff called to attend
// recorded apart); no decision without the quorum; the minutes approved in
// the name of the chair close the record; a directive due yesterday is
// listed overdue until the department reports it complete; a request's
// answer is recorded.
func TestCouncilCommands(t *testing.T) { eachDatabase(t, testCouncilCommands) }

func testCouncilCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	must := func(args ...string) string {
		t.Helper()
		code, out, errOut := run(t, append(args, "--data", dir)...)
		if code != 0 {
			t.Fatalf("%v: %d %s %s", args, code, out, errOut)
		}
		return out
	}
	refused := func(want string, args ...string) {
		t.Helper()
		if code, _, errOut := run(t, append(args, "--data", dir)...); code == 0 || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", args, code, errOut, want)
		}
	}
	for _, p := range [][3]string{{"CSO", "統括 太郎", "副区長"}, {"M1", "政策 一郎", "政策経営部長"}, {"M2", "総務 二郎", "総務部長"}, {"M3", "危機 三郎", "危機管理課長"},
		{"M4", "経理 四郎", "経理課長"}, {"K0001", "区民 一郎", "主事"}} {
		must("staff", "add", "--id", p[0], "--name", p[1], "--department", "joho", "--title", p[2])
	}
	must("staff", "role", "--id", "CSO", "--role", "chief_security_officer")
	now := testClock.Now().In(jptext.JST)
	yesterday, later := now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 10).Format(time.DateOnly)
	meeting := func(date, clock, place string) []string {
		return []string{"council", "meeting", "--kind", "regular", "--date", date, "--time", clock, "--place", place}
	}
	refused("開催日「きのう」", meeting("きのう", "14:00", "第1会議室")...)
	refused("開催時刻「25:00」", meeting(yesterday, "25:00", "第1会議室")...)
	refused("開催場所", meeting(yesterday, "14:00", " ")...)
	refused("臨時会議", append(meeting(yesterday, "14:00", "第1会議室"), "--source", "incident:1")...)
	if out := must("council", "list"); !strings.Contains(out, "No meeting recorded.") {
		t.Errorf("a refused meeting was stored:\n%s", out)
	}
	if out := must(meeting(yesterday, "14:00", "第1会議室")...); !strings.Contains(out, "Meeting 1 convened") {
		t.Errorf("meeting: %s", out)
	}
	// ADMIN is the system administrator, whose role the 情報システム課長 fills.
	if out := must("council", "attend", "--meeting", "1", "--id", "CSO,ADMIN", "--id", "M1", "--id", "M2"); !strings.Contains(out, "4 of the council's 11 seats present (quorum 6)") {
		t.Errorf("attend: %s", out)
	}
	refused("構成員", "council", "attend", "--meeting", "1", "--id", "K0001")
	must("council", "attend", "--meeting", "1", "--id", "K0001", "--related")
	must("council", "item", "--meeting", "1", "--title", "端末の設置場所の点検")
	refused("定足数", "council", "decide", "--meeting", "1", "--text", "点検する", "--method", "consent")
	must("council", "attend", "--meeting", "1", "--id", "M3,M4")
	if out := must("council", "decide", "--meeting", "1", "--item", "1", "--text", "各部署は端末の設置場所を点検する", "--method", "vote", "--for", "5", "--against", "1"); !strings.Contains(out, "Decision 1 recorded") {
		t.Errorf("decide: %s", out)
	}
	must("council", "minutes", "--meeting", "1", "--text", "1 開会 2 点検を決定 3 閉会")
	refused("議長ではありません", "council", "approve", "--meeting", "1", "--chair", "M1")
	must("council", "approve", "--meeting", "1", "--chair", "CSO")
	refused("記録は確定しています", "council", "attend", "--meeting", "1", "--id", "M3")

	refused("期限「あした」", "council", "directive", "--decision", "1", "--department", "kumin", "--text", "点検", "--due", "あした")
	refused("指示先の部署「nowhere」", "council", "directive", "--decision", "1", "--department", "nowhere", "--text", "点検", "--due", yesterday)
	if out := must("council", "directive", "--decision", "1", "--department", "kumin", "--text", "窓口端末を点検し報告すること", "--due", yesterday); !strings.Contains(out, "Directive 1 recorded: to 区民課") {
		t.Errorf("directive: %s", out)
	}
	if out := must("council", "request", "--decision", "1", "--body", "教育委員会", "--text", "学務課の端末の点検を要請する", "--due", later); !strings.Contains(out, "Request 2 recorded: to 教育委員会") {
		t.Errorf("request: %s", out)
	}
	out := must("council", "list", "--overdue")
	if !strings.Contains(out, "OVERDUE") || !strings.Contains(out, "窓口端末を点検し報告すること") || strings.Contains(out, "教育委員会") || strings.Contains(out, "meeting 1") {
		t.Errorf("list --overdue:\n%s", out)
	}
	refused("受領が記録されていません", "council", "complete", "1", "--note", "点検済み")
	must("council", "ack", "1")
	must("council", "complete", "1", "--note", "2台を点検した")
	must("council", "answer", "2", "--text", "点検を実施する")
	out = must("council", "list")
	for _, want := range []string{"meeting 1", "closed: minutes approved by operator:CSO", "present 6/11, quorum met", "K0001 (staff 主事)", "item 1 (#1)", "vote 5-1-0, adopted",
		"complete ", "2台を点検した", "answered ", "点検を実施する"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "OVERDUE") {
		t.Errorf("a completed directive is listed overdue:\n%s", out)
	}
}

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// TestFacilityCommands: a room is recorded and a person authorised; a
// card-reader CSV with a bad row imports nothing and names line and
// column; a good one imports, marking the unauthorised entry; a terminal's
// installation is approved; all of it is listed and in the audit log.
func TestFacilityCommands(t *testing.T) { eachDatabase(t, testFacilityCommands) }

func testFacilityCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	ok := func(want string, args ...string) {
		t.Helper()
		if code, out, errOut := run(t, append(args, "--data", dir)...); code != 0 || !strings.Contains(out, want) {
			t.Fatalf("%v: exit %d, %s %s; want %q", args, code, out, errOut, want)
		}
	}
	ok("Registered", "staff", "add", "--id", "K0001", "--name", "情報 一郎", "--department", "kumin", "--title", "主事")
	ok("", "staff", "terminal", "--id", "T-01", "--name", "窓口1", "--department", "kumin", "--location", "2階")
	if code, _, errOut := run(t, "facility", "room", "--data", dir, "--id", "R-SV", "--building", "本庁舎", "--name", "サーバ室", "--level", "4"); code == 0 || !strings.Contains(errOut, "level 4") {
		t.Errorf("room at level 4: exit %d, %s", code, errOut)
	}
	ok("Room R-SV recorded", "facility", "room", "--id", "R-SV", "--building", "本庁舎", "--name", "サーバ室", "--level", "2")
	ok("K0001 may enter R-SV", "facility", "authorise", "--room", "R-SV", "--person", "K0001")
	day := testClock.Now().In(jptext.JST).Format(time.DateOnly)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("room_id,verification_id,direction,time\nR-SV,K0001,in,"+day+" 08:00\nR-SV,K0001,sideways,"+day+" 08:10\n"), 0o600)
	if code, _, errOut := run(t, "facility", "import", "--data", dir, bad); code == 0 || !strings.Contains(errOut, "3行目 3列（direction）") {
		t.Errorf("bad import: exit %d, %s", code, errOut)
	}
	if _, out, _ := run(t, "facility", "list", "--data", dir); strings.Contains(out, "card") {
		t.Errorf("a refused import stored entries:\n%s", out)
	}
	good := filepath.Join(t.TempDir(), "good.csv")
	os.WriteFile(good, []byte("room_id,verification_id,direction,time\nR-SV,K0001,in,"+day+" 08:00\nR-SV,ADMIN01,in,"+day+" 08:10\n"), 0o600)
	ok("Imported 2 entries (1 not authorised", "facility", "import", good)
	// Times are printed in Japan, with their zone (issue 23 item 3).
	ok(" at "+day+" 08:20 JST. NOT AUTHORISED", "facility", "entry", "--room", "R-SV", "--visitor", "保守 太郎", "--escort", "ADMIN01", "--purpose", "点検", "--direction", "in", "--time", day+" 08:20")
	ok("may no longer enter R-SV", "facility", "authorise", "--room", "R-SV", "--person", "K0001", "--revoke")
	ok("Terminal T-01 installed in R-SV", "facility", "install", "--terminal", "T-01", "--room", "R-SV", "--manager", "K0001")
	_, out, _ := run(t, "facility", "list", "--data", dir)
	for _, want := range []string{"R-SV", "K0001", "T-01", "保守 太郎 (escort ADMIN01)", "card", day + " 08:20 JST"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if _, out, _ := run(t, "audit", "show", "--data", dir); !strings.Contains(out, "facility.import") || !strings.Contains(out, "facility.install") {
		t.Errorf("the changes are not in the audit log:\n%s", out)
	}
}

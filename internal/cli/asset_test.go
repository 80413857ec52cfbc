package cli

import (
	"strings"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// TestAssetCommands: bad input is refused naming the field and stores
// nothing; an asset is registered and listed with the terminals; a server
// is not retired without the erasure record, and is with one; both are in
// the audit log.
func TestAssetCommands(t *testing.T) { eachDatabase(t, testAssetCommands) }

func testAssetCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	if c, out, errOut := run(t, "staff", "add", "--id", "K0001", "--name", "情報 一郎", "--department", "kumin", "--title", "主事", "--data", dir); c != 0 {
		t.Fatalf("staff add: %d %s %s", c, out, errOut)
	}
	today := testClock.Now().In(jptext.JST).Format(time.DateOnly)
	add := func(kind, installed string) []string {
		return []string{"asset", "add", "--data", dir, "--id", "SV-01", "--kind", kind, "--name", "CSサーバ", "--location", "サーバ室", "--manager", "K0001", "--installed", installed}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{add("printer", today), "kind \"printer\""},
		{add("server", "来週"), "設置日「来週」"},
		{add("terminal", today), "terminals are registered"},
	} {
		if code, _, errOut := run(t, c.args...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %s; want a refusal naming %q", c.args, code, errOut, c.want)
		}
	}
	if _, out, _ := run(t, "asset", "list", "--data", dir); strings.Contains(out, "SV-01") {
		t.Errorf("a refused asset was stored:\n%s", out)
	}
	if code, out, errOut := run(t, add("server", today)...); code != 0 || !strings.Contains(out, "registered") {
		t.Fatalf("asset add: %d %s %s", code, out, errOut)
	}
	retire := []string{"asset", "retire", "--data", dir, "--id", "SV-01", "--date", today, "--reason", "更新"}
	if code, _, errOut := run(t, retire...); code == 0 || !strings.Contains(errOut, "erased or destroyed") {
		t.Errorf("retired without an erasure record: %d %s", code, errOut)
	}
	erasure := append(retire, "--method", "destroy", "--erased-by", "保守業者 山田", "--witness", "K0001", "--erased", today)
	if code, out, errOut := run(t, erasure...); code != 0 || !strings.Contains(out, "retired") {
		t.Fatalf("asset retire: %d %s %s", code, out, errOut)
	}
	_, out, _ := run(t, "asset", "list", "--data", dir)
	if !strings.Contains(out, "SV-01") || !strings.Contains(out, "media destroy by 保守業者 山田, witness K0001") {
		t.Errorf("list:\n%s", out)
	}
	if _, out, _ := run(t, "audit", "show", "--data", dir); !strings.Contains(out, "asset.add") || !strings.Contains(out, "asset.retire") {
		t.Errorf("the changes are not in the audit log:\n%s", out)
	}
}

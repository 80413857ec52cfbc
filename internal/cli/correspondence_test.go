package cli

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/correspondence"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestCorrespondenceCommands: from the console of 江東区, with 東京都 as its
// upstream peer: bad input refused naming the field, nothing stored; a
// report sent is numbered, signed and queued, listed and shown with its
// note; a request received from Tokyo is listed open, overdue once its due
// day is over on the node's clock, and answered, which closes it.
func TestCorrespondenceCommands(t *testing.T) { eachDatabase(t, testCorrespondenceCommands) }

func testCorrespondenceCommands(t *testing.T, dbURL string) {
	dir := newNode(t, dbURL)
	tokyo := filepath.Join(t.TempDir(), "tokyo")
	if code, _, errOut := run(t, "init", "--data", tokyo, "--profile", "aomori-pref", "--local-gov", "130001"); code != 0 {
		t.Fatal(errOut)
	}
	_, bundle, _ := run(t, "peer", "export", "--data", tokyo, "--url", "http://127.0.0.1:9")
	file := filepath.Join(t.TempDir(), "tokyo.json")
	os.WriteFile(file, []byte(bundle), 0o644)
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
	must("peer", "add", "--role", "upstream", file)
	send := func(extra ...string) []string {
		return append([]string{"correspondence", "send", "--to", "130001", "--subject", "研修未了者の照会について（報告）", "--body", "確認しました。"}, extra...)
	}
	refused("回答期限", send("--kind", "measures")...)
	refused("参照「resident:12」", send("--kind", "incident", "--ref", "resident:12")...)
	refused("接続先", "correspondence", "send", "--to", "022012", "--kind", "other", "--subject", "a", "--body", "b")
	refused("件名", "correspondence", "send", "--to", "130001", "--kind", "other", "--subject", " ", "--body", "b")
	if out := must("correspondence", "list"); !strings.Contains(out, "No document.") {
		t.Errorf("refused documents were stored:\n%s", out)
	}
	if out := must(send("--kind", "incident", "--ref", "incident:1", "--ref", "audit-entry:12")...); !strings.Contains(out, "Document 131083-130001-1 (incident) queued for 130001, signed") {
		t.Errorf("send: %s", out)
	}
	if out := must("correspondence", "list", "--direction", "out"); !regexp.MustCompile(`131083-130001-1\s+out\s+to 130001\s+incident\s+queued`).MatchString(out) {
		t.Errorf("list:\n%s", out)
	}
	if out := must("correspondence", "show", "--id", "131083-130001-1"); !strings.Contains(out, "references incident:1 audit-entry:12") || !strings.Contains(out, "-- signed note --\njukinet-correspondence v1") ||
		!strings.Contains(out, "— jukinet-131083 ") {
		t.Errorf("show:\n%s", out)
	}

	// A request from Tokyo, signed with its key, as the federation hands it over.
	ctx := context.Background()
	tn, err := node.Open(ctx, tokyo)
	if err != nil {
		t.Fatal(err)
	}
	today := jptext.Midnight(testClock.Now())
	req := correspondence.Document{ID: "130001-131083-1", Sender: "130001", Recipient: "131083", Seq: 1, Kind: correspondence.KindInvestigate,
		Subject: "アクセスの調査の依頼", Body: "記録 4821 番の照会について回答願います。", References: []string{"audit-entry:4821"}, Due: today.AddDate(0, 0, 2),
		SentBy: "operator:TKY", SentAt: testClock.Now()}
	msg, err := correspondence.Sign(req, tn.Signer)
	tn.Close()
	if err != nil {
		t.Fatal(err)
	}
	req.Note = string(msg)
	wn, err := node.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	wn.Now = testClock.Now
	if err := wn.OpenGate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	_, err = wn.Correspondence.Receive(ctx, auditlog.Actor{Kind: auditlog.ActorPeer, ID: "130001"}, req)
	wn.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := must("correspondence", "list", "--direction", "in"); !strings.Contains(out, "request open (due "+today.AddDate(0, 0, 2).Format(time.DateOnly)+")") {
		t.Errorf("the request received:\n%s", out)
	}
	later := func() time.Time { return testClock.Now().AddDate(0, 0, 3) }
	if code, out, errOut := runAt(t, later, "correspondence", "list", "--overdue", "--data", dir); code != 0 || !strings.Contains(out, "130001-131083-1") || !strings.Contains(out, "request overdue") {
		t.Errorf("overdue three days later: %d %s %s", code, out, errOut)
	}
	refused("依頼ではありません", "correspondence", "answer", "--id", "131083-130001-1", "--subject", "回答", "--body", "回答")
	if out := must("correspondence", "answer", "--id", "130001-131083-1", "--subject", "調査結果", "--body", "業務上の照会と確認しました。", "--ref", "audit-entry:4821"); !strings.Contains(out, "Answer 131083-130001-2 to request 130001-131083-1 queued for 130001") {
		t.Errorf("answer: %s", out)
	}
	if code, out, _ := runAt(t, later, "correspondence", "list", "--overdue", "--data", dir); code != 0 || !strings.Contains(out, "No document.") {
		t.Errorf("still overdue after its answer:\n%s", out)
	}
	refused("回答済み", "correspondence", "answer", "--id", "130001-131083-1", "--subject", "再回答", "--body", "重ねて")
}

package web

import (
	"context"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/correspondence"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestAPICorrespondence: reports and requests through the JSON API on both
// databases: a clerk may not read them; the chief security officer sends
// a request to Tokyo (bad input refused in Japanese, nothing stored; the
// entry his, at his terminal), reads it back with its signed note, sees
// Tokyo's request overdue once its due day is over, and answers it.
func TestAPICorrespondence(t *testing.T) {
	onBothDatabases(t, testAPICorrespondence)
}

func testAPICorrespondence(t *testing.T, s *Server, clock *clocktest.Clock) {
	ctx := context.Background()
	tokyo := withTokyo(t, s)
	chief, clerk := signIn(t, s, node.DemoChief), signIn(t, s, node.DemoOperator)
	rec, v := clerk.call("GET", "/api/v1/correspondence", "", "")
	wantProblem(t, "the clerk reads the correspondence", rec, v, 403, "forbidden", "閲覧する権限がありません")
	rec, v = clerk.call("POST", "/api/v1/correspondence", "", `{"to":"130001","kind":"other","subject":"件名","body":"本文"}`)
	wantProblem(t, "the clerk sends", rec, v, 403, "forbidden", "")

	today := jptext.Midnight(clock.Now())
	due := today.AddDate(0, 0, 7).Format("2006-01-02")
	rec, v = chief.call("POST", "/api/v1/correspondence", "", `{"to":"130001","kind":"measures","subject":"措置の要請","body":"照会記録の点検を要請します。"}`)
	wantProblem(t, "a request without its due day", rec, v, 400, "invalid", "回答期限")
	rec, v = chief.call("POST", "/api/v1/correspondence", "", `{"to":"130001","kind":"other","subject":"報告","body":"本文","refs":["resident:1"]}`)
	wantProblem(t, "a reference naming a resident", rec, v, 400, "invalid", "参照")
	if all, _ := correspondence.List(ctx, s.node.DB, ""); len(all) != 0 {
		t.Fatalf("refused calls stored %+v", all)
	}
	rec, v = chief.call("POST", "/api/v1/correspondence", "", `{"to":"130001","kind":"report-request","subject":"措置の実施状況の報告のお願い","body":"第15条により報告を求めます。","due":"`+due+`"}`)
	if rec.Code != 201 || rec.Header().Get("Location") != "/api/v1/correspondence/131083-130001-1" || v["state"] != "queued" || v["request_state"] != "open" || v["due"] != due {
		t.Fatalf("send: %d %v", rec.Code, v)
	}
	wantEntry(t, s, "correspondence.send", node.DemoChief, auditlog.Allow)
	rec, v = chief.call("GET", "/api/v1/correspondence/131083-130001-1", "", "")
	if rec.Code != 200 || v["note"] == "" || v["kind_ja"] != "報告の求め" {
		t.Errorf("one document: %d %v", rec.Code, v)
	}

	req := correspondence.Document{ID: "130001-131083-1", Sender: "130001", Recipient: "131083", Seq: 1, Kind: correspondence.KindInvestigate,
		Subject: "アクセスの調査の依頼", Body: "記録 4821 番の照会について回答願います。", References: []string{"audit-entry:4821"},
		Due: today.AddDate(0, 0, 1), SentBy: "operator:TKY", SentAt: clock.Now()}
	msg, err := correspondence.Sign(req, tokyo.Signer)
	if err != nil {
		t.Fatal(err)
	}
	req.Note = string(msg)
	if _, err := s.node.Correspondence.Receive(ctx, auditlog.Actor{Kind: auditlog.ActorPeer, ID: "130001"}, req); err != nil {
		t.Fatal(err)
	}
	clock.Set(today.AddDate(0, 0, 2).Add(10 * time.Hour))
	chief = signIn(t, s, node.DemoChief) // a new day, a new session
	rec, v = chief.call("GET", "/api/v1/correspondence?overdue=1", "", "")
	docs, _ := v["documents"].([]any)
	if rec.Code != 200 || len(docs) != 1 || docs[0].(map[string]any)["id"] != "130001-131083-1" || docs[0].(map[string]any)["request_state"] != "overdue" {
		t.Fatalf("overdue: %d %v", rec.Code, v)
	}
	rec, v = chief.call("POST", "/api/v1/correspondence/130001-131083-1/answer", "", `{"subject":"調査結果","body":""}`)
	wantProblem(t, "an answer without text", rec, v, 400, "invalid", "本文")
	rec, v = chief.call("POST", "/api/v1/correspondence/130001-131083-1/answer", "", `{"subject":"調査結果","body":"業務上の照会と確認しました。","refs":["audit-entry:4821"]}`)
	if rec.Code != 201 || v["id"] != "131083-130001-2" || v["answers"] != "130001-131083-1" || v["recipient"] != "130001" {
		t.Fatalf("answer: %d %v", rec.Code, v)
	}
	rec, v = chief.call("GET", "/api/v1/correspondence?direction=in", "", "")
	docs, _ = v["documents"].([]any)
	if rec.Code != 200 || len(docs) != 1 || docs[0].(map[string]any)["request_state"] != "answered" {
		t.Errorf("the inbox after the answer: %d %v", rec.Code, v)
	}
}

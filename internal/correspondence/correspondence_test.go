package correspondence_test

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/correspondence"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// The ward of the tests (131083) writes to Tokyo (130001), its upstream,
// whose key the test holds.
const (
	ward  = "131083"
	tokyo = "130001"
	chief = "CSO"
)

type fixture struct {
	*Fixture
	Reg         *correspondence.Register
	tokyoSigner note.Signer
	tokyoKey    note.Verifier
}

func key(t *testing.T, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	Must(t, err)
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	return s, v
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	f := New(t, d, "koto-ward")
	signer, _ := key(t, "jukinet-"+ward)
	ts, tv := key(t, "jukinet-"+tokyo)
	reg := correspondence.New(d, f.Log, f.Engine, f.Profile, ward, signer)
	reg.Now = f.Clock.Now
	// Tokyo as the ward's upstream peer, as jukinet peer add records it.
	_, err := d.Exec(context.Background(), `INSERT INTO fed_peer (code, role, level, name, url, note_key, ca_pem, added_at, added_seq) VALUES (?, 'upstream', 'prefecture', '東京都', 'http://127.0.0.1:1', '', '', ?, 0)`,
		tokyo, f.Clock.Now())
	Must(t, err)
	f.SetUpWard(t)
	Must(t, f.Staff.AddPerson(context.Background(), f.Admin, staff.Person{VerificationID: chief, Name: "統括 太郎", Department: "joho", Title: "副区長"}))
	Must(t, f.Staff.AssignRole(context.Background(), f.Admin, chief, profile.ChiefSecurityOfficer, ""))
	return &fixture{Fixture: f, Reg: reg, tokyoSigner: ts, tokyoKey: tv}
}

// fromTokyo is a document Tokyo signed for the ward.
func (f *fixture) fromTokyo(t *testing.T, seq int64, kind correspondence.Kind, due time.Time, answers string, refs ...string) correspondence.Document {
	t.Helper()
	d := correspondence.Document{ID: correspondence.ID(tokyo, ward, seq), Sender: tokyo, Recipient: ward, Seq: seq, Kind: kind,
		Subject: "住基ネットの管理状況について", Body: "貴区の措置の実施状況を報告願います。", References: refs, Answers: answers, Due: due,
		SentBy: "operator:TKY-ADMIN", SentByName: "東京 管理", SentAt: f.Clock.Now()}
	msg, err := correspondence.Sign(d, f.tokyoSigner)
	Must(t, err)
	opened, signer, err := correspondence.Open(msg, note.VerifierList(f.tokyoKey))
	if err != nil || signer != "jukinet-"+tokyo {
		t.Fatalf("open Tokyo's document: %v %s", err, signer)
	}
	return opened
}

var tokyoPeer = auditlog.Actor{Kind: auditlog.ActorPeer, ID: tokyo, Name: "東京都"}

func entries(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	out := map[string]int{}
	for _, e := range l {
		if strings.HasPrefix(e.Action, "correspondence.") {
			out[e.Action+"/"+e.Entry.Outcome]++
		}
	}
	return out
}

func expect(t *testing.T, what string, err error, code apperr.Code, ja string) {
	t.Helper()
	if apperr.CodeOf(err) != code || !strings.Contains(apperr.JapaneseOf(err), ja) {
		t.Errorf("%s: %v (%s), want %s ~%q", what, err, apperr.JapaneseOf(err), code, ja)
	}
}

// TestSendQueuesSignedDocument: the chief security officer's report is
// numbered per recipient, signed with the node's key, queued and logged
// before it leaves; staff without the article's role are refused, logged.
func TestSendQueuesSignedDocument(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		cso := Operator(chief, "T-CSO")
		doc, err := f.Reg.Send(ctx, cso, correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindIncident,
			Subject: "不適正な閲覧の疑いについて（報告）", Body: "職員による閲覧の疑いを検知し、調査中です。\n措置は追って報告します。", References: []string{"incident:3", "alert:7"}})
		Must(t, err)
		if doc.ID != "131083-130001-1" || doc.State != correspondence.Queued || doc.Seq != 1 || doc.SentBy != "operator:"+chief {
			t.Errorf("sent: %+v", doc)
		}
		if _, _, err := correspondence.Open([]byte(doc.Note), note.VerifierList(f.tokyoKey)); err == nil {
			t.Error("the document opens with another body's key")
		}
		queue, err := correspondence.Queue(ctx, d)
		Must(t, err)
		if len(queue) != 1 || queue[0].ID != doc.ID || queue[0].Body != doc.Body || strings.Join(queue[0].References, " ") != "incident:3 alert:7" {
			t.Fatalf("queue: %+v", queue)
		}
		second, err := f.Reg.Send(ctx, f.Admin, correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindUsage, Subject: "利用状況の報告", Body: "別添のとおり", References: []string{"status-report:1"}})
		Must(t, err)
		if second.ID != "131083-130001-2" {
			t.Errorf("the second document is %s", second.ID)
		}
		for _, who := range []staff.Who{Operator("SO-KUMIN", "T-SO"), Operator(Clerk, "T-KUMIN-01")} {
			_, err := f.Reg.Send(ctx, who, correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindOther, Subject: "件名", Body: "本文"})
			expect(t, who.Actor.ID, err, apperr.Forbidden, "")
		}
		got := entries(t, d)
		if got["correspondence.send/ok"] != 2 || got["correspondence.send/denied"] != 2 {
			t.Errorf("log: %v", got)
		}
		// The send entry names the document.
		l, _ := auditlog.List(ctx, d, auditlog.Filter{Action: "correspondence.send", After: -1})
		if len(l) == 0 || l[0].Entry.Query != "document:131083-130001-1" || l[0].Entry.Policy != "koto-ward:15/send-correspondence" {
			t.Errorf("the send entry: %+v", l)
		}
	})
}

// TestBadDocumentsStoreNothing: every rule of a draft is applied before
// anything is stored, with a message a clerk can act on.
func TestBadDocumentsStoreNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		today := jptext.Midnight(f.Clock.Now())
		for _, c := range []struct {
			name  string
			draft correspondence.Draft
			ja    string
		}{
			{"unknown kind", correspondence.Draft{Recipient: tokyo, Kind: "gossip", Subject: "a", Body: "b"}, "種類"},
			{"no subject", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindOther, Body: "b"}, "件名"},
			{"no body", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindOther, Subject: "a"}, "本文"},
			{"control character", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindOther, Subject: "a\u202e", Body: "b"}, "件名"},
			{"long subject", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindOther, Subject: strings.Repeat("あ", 101), Body: "b"}, "件名"},
			{"request without due", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindMeasures, Subject: "a", Body: "b"}, "回答期限"},
			{"due in the past", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindMeasures, Subject: "a", Body: "b", Due: today.AddDate(0, 0, -1)}, "過ぎた日"},
			{"investigation without its access", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindInvestigate, Subject: "a", Body: "b", Due: today}, "audit-entry"},
			{"bad reference", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindOther, Subject: "a", Body: "b", References: []string{"resident:12345678901"}}, "参照"},
			{"answer to nothing", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindAnswer, Subject: "a", Body: "b"}, "回答する依頼"},
			{"answer to an unknown request", correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindAnswer, Subject: "a", Body: "b", Answers: "130001-131083-9"}, "記録されていません"},
			{"not a peer", correspondence.Draft{Recipient: "022012", Kind: correspondence.KindOther, Subject: "a", Body: "b"}, "接続先"},
		} {
			_, err := f.Reg.Send(ctx, f.Admin, c.draft)
			if apperr.CodeOf(err) != apperr.Invalid && apperr.CodeOf(err) != apperr.NotFound || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
				t.Errorf("%s: %v (%s), want ~%q", c.name, err, apperr.JapaneseOf(err), c.ja)
			}
		}
		all, err := correspondence.List(ctx, d, "")
		Must(t, err)
		if len(all) != 0 {
			t.Errorf("stored after refusals: %+v", all)
		}
		if _, err := correspondence.ParseReferences("incident:3, audit:2、audit-entry:1234 document:131083-130001-1"); err != nil {
			t.Errorf("references as a clerk writes them: %v", err)
		}
	})
}

// TestReceiveRefusesReplays: a document is stored once; the same id again,
// or a sequence not after the sender's last, is a replay and stores
// nothing; a document breaking the field rules is refused.
func TestReceiveRefusesReplays(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		two := f.fromTokyo(t, 2, correspondence.KindOther, time.Time{}, "")
		ack, err := f.Reg.Receive(ctx, tokyoPeer, two)
		Must(t, err)
		// The acknowledgement verifies with the ward's key, for this document.
		_, wardKey := key(t, "jukinet-other")
		if _, err := correspondence.OpenAck(ack, two, wardKey); err == nil {
			t.Error("the acknowledgement opens with another key")
		}
		held, err := correspondence.Get(ctx, d, two.ID)
		Must(t, err)
		if held.Direction != correspondence.In || held.State != correspondence.Received || held.Note != two.Note || held.AckNote != string(ack) {
			t.Errorf("held: %+v", held)
		}
		if again, ok, err := correspondence.Resent(ctx, d, two); err != nil || !ok || string(again) != string(ack) {
			t.Errorf("a retry of the same note: %v %v", ok, err)
		}
		for name, doc := range map[string]correspondence.Document{
			"the same document": two,
			"an earlier number": f.fromTokyo(t, 1, correspondence.KindOther, time.Time{}, ""),
			"the same number":   f.fromTokyo(t, 2, correspondence.KindAudit, time.Time{}, ""),
		} {
			_, err := f.Reg.Receive(ctx, tokyoPeer, doc)
			var replay *correspondence.ReplayError
			if !errors.As(err, &replay) || !errors.Is(err, correspondence.ErrReplay) {
				t.Errorf("%s: %v, want a replay", name, err)
			}
		}
		bad := f.fromTokyo(t, 3, correspondence.KindOther, time.Time{}, "")
		bad.Subject = "a\u202eb"
		if _, err := f.Reg.Receive(ctx, tokyoPeer, bad); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("a subject with a bidi control: %v", err)
		}
		mislabelled := f.fromTokyo(t, 4, correspondence.KindOther, time.Time{}, "")
		mislabelled.Seq = 5
		if _, err := f.Reg.Receive(ctx, tokyoPeer, mislabelled); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("an id that does not match the sequence: %v", err)
		}
		if _, err := f.Reg.Receive(ctx, tokyoPeer, f.fromTokyo(t, 7, correspondence.KindOther, time.Time{}, "")); err != nil {
			t.Errorf("a later number: %v", err)
		}
		got := entries(t, d)
		if got["correspondence.receive/ok"] != 2 {
			t.Errorf("log: %v", got)
		}
	})
}

// TestRequestsTrackedToAnswer: a request received is open, overdue once
// its due day is over on the node's clock, answered by the answer the
// ward sends (once only); the ward's own request is answered by the answer
// it receives.
func TestRequestsTrackedToAnswer(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d)
		today := jptext.Midnight(f.Clock.Now())
		req := f.fromTokyo(t, 1, correspondence.KindInvestigate, today.AddDate(0, 0, 3), "", "audit-entry:4821")
		_, err := f.Reg.Receive(ctx, tokyoPeer, req)
		Must(t, err)
		held, _ := correspondence.Get(ctx, d, req.ID)
		if held.RequestState(f.Clock.Now()) != "open" {
			t.Errorf("a new request: %s", held.RequestState(f.Clock.Now()))
		}
		f.Clock.Set(today.AddDate(0, 0, 3).Add(23 * time.Hour))
		if over, _ := correspondence.Overdue(ctx, d, f.Clock.Now()); len(over) != 0 {
			t.Errorf("overdue on its due day: %+v", over)
		}
		f.Clock.Set(today.AddDate(0, 0, 4))
		over, err := correspondence.Overdue(ctx, d, f.Clock.Now())
		Must(t, err)
		if len(over) != 1 || over[0].ID != req.ID {
			t.Fatalf("overdue the day after: %+v", over)
		}
		// The answer goes to the request's sender, and closes it.
		ans, err := f.Reg.Answer(ctx, Operator(chief, "T-CSO"), req.ID, "調査結果の回答", "業務上の閲覧と確認しました。", []string{"audit-entry:4821"})
		Must(t, err)
		if ans.Recipient != tokyo || ans.Kind != correspondence.KindAnswer || ans.Answers != req.ID {
			t.Errorf("answer: %+v", ans)
		}
		held, _ = correspondence.Get(ctx, d, req.ID)
		if held.AnsweredBy != ans.ID || held.RequestState(f.Clock.Now()) != "answered" {
			t.Errorf("answered request: %+v", held)
		}
		if over, _ := correspondence.Overdue(ctx, d, f.Clock.Now()); len(over) != 0 {
			t.Errorf("overdue after its answer: %+v", over)
		}
		_, err = f.Reg.Answer(ctx, f.Admin, req.ID, "再回答", "重ねて", nil)
		expect(t, "a second answer", err, apperr.Conflict, "回答済み")
		_, err = f.Reg.Answer(ctx, f.Admin, ans.ID, "回答", "回答", nil)
		expect(t, "an answer to a report", err, apperr.Invalid, "依頼ではありません")

		// The ward's own request to Tokyo, answered from there.
		mine, err := f.Reg.Send(ctx, f.Admin, correspondence.Draft{Recipient: tokyo, Kind: correspondence.KindReportRequest, Subject: "措置の実施状況の報告のお願い",
			Body: "第15条により報告を求めます。", Due: jptext.Midnight(f.Clock.Now()).AddDate(0, 0, 10)})
		Must(t, err)
		_, err = f.Reg.Receive(ctx, tokyoPeer, f.fromTokyo(t, 2, correspondence.KindAnswer, time.Time{}, mine.ID))
		Must(t, err)
		mine, _ = correspondence.Get(ctx, d, mine.ID)
		if mine.AnsweredBy != correspondence.ID(tokyo, ward, 2) {
			t.Errorf("the ward's request after Tokyo's answer: %+v", mine)
		}
	})
}

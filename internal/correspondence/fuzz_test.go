package correspondence

import (
	"crypto/rand"
	"reflect"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
)

func fuzzKey(f *testing.F, name string) (note.Signer, note.Verifier) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		f.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		f.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		f.Fatal(err)
	}
	return s, v
}

// FuzzOpen: a document its sender signed, whatever its JSON says, opens
// to a document that signs and opens again to the same document (the
// same fields, the same instants), never to something else; bytes the
// key did not sign never open.
func FuzzOpen(f *testing.F) {
	s, v := fuzzKey(f, "jukinet-131083")
	vs := note.VerifierList(v)
	d := Document{ID: "131083-000001", Sender: "131083", Recipient: "130001", Seq: 1, Kind: "report", Subject: "報告",
		Body: "第15条による報告\n改行", References: []string{"130001-000002"}, SentBy: "op1", SentByName: "江東 太郎",
		SentAt: time.Date(2026, 11, 2, 1, 2, 3, 456, time.UTC), Due: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	msg, err := Sign(d, s)
	if err != nil {
		f.Fatal(err)
	}
	opened, err := note.Open(msg, vs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(opened.Text[len(docHeader)+1:], false)
	f.Add(`{"id":"x","sent_at":"2026-11-02T01:02:03+09:00","due":"令和8年12月1日"}`+"\n", false)
	f.Add(`{"id":"x","sent_at":"2026-11-02T01:02:03Z","extra":1}`+"\n", false)
	f.Add(string(msg), true)
	f.Fuzz(func(t *testing.T, text string, raw bool) {
		var msg []byte
		if raw {
			msg = []byte(text) // as received: must carry the key's signature
		} else {
			var err error
			if msg, err = note.Sign(&note.Note{Text: docHeader + "\n" + text}, s); err != nil {
				return
			}
		}
		d, signer, err := Open(msg, vs)
		if err != nil {
			return
		}
		if signer != s.Name() {
			t.Fatalf("signer %q", signer)
		}
		again, err := Sign(d, s)
		if err != nil {
			t.Fatalf("an opened document does not sign: %v", err)
		}
		d2, _, err := Open(again, vs)
		if err != nil {
			t.Fatalf("opened %+v; signed again it is refused: %v", d, err)
		}
		d.Note, d2.Note = "", ""
		if !d.SentAt.Equal(d2.SentAt) || !d.Due.Equal(d2.Due) {
			t.Fatalf("times changed: %v %v, then %v %v", d.SentAt, d.Due, d2.SentAt, d2.Due)
		}
		d.SentAt, d2.SentAt, d.Due, d2.Due = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(d, d2) {
			t.Fatalf("opened %+v; signed again it opens as %+v", d, d2)
		}
	})
}

// FuzzOpenAck: an acknowledgement opens only when the recipient's key
// signed it and it names the document as sent, by its digest.
func FuzzOpenAck(f *testing.F) {
	s, _ := fuzzKey(f, "jukinet-131083")
	rs, rv := fuzzKey(f, "jukinet-130001")
	d := Document{ID: "131083-000001", Sender: "131083", Recipient: "130001", Seq: 1, Kind: "report", Subject: "報告", Body: "本文",
		SentBy: "op1", SentAt: time.Date(2026, 11, 2, 1, 2, 3, 0, time.UTC)}
	msg, err := Sign(d, s)
	if err != nil {
		f.Fatal(err)
	}
	d.Note = string(msg)
	a := Ack{ID: d.ID, Sender: d.Sender, Recipient: d.Recipient, Seq: d.Seq, DocSHA256: Digest(msg), ReceivedAt: "2026-11-02T01:02:04Z"}
	ack, err := SignAck(a, rs)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ack)
	forged, err := SignAck(a, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(forged)
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := OpenAck(b, d, rv)
		if err != nil {
			return
		}
		if got.ID != d.ID || got.Seq != d.Seq || got.DocSHA256 != Digest(msg) || got.Sender != d.Sender || got.Recipient != d.Recipient {
			t.Fatalf("accepted %+v for %s", got, d.ID)
		}
	})
}

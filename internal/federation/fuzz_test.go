package federation

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"reflect"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/protect"
)

// fuzzKey is a node key for the batch fuzz targets.
func fuzzKey(f *testing.F, name string) (note.Signer, note.Verifiers) {
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
	return s, note.VerifierList(v)
}

// fuzzBatch is a batch as a municipality sends one.
func fuzzBatch() Batch {
	rec := WireRecord{ResidentCode: "12345678903", IndividualNumber: "123456789018", FamilyName: "髙橋", GivenName: "花子",
		FamilyNameKana: "タカハシ", GivenNameKana: "ハナコ", DateOfBirth: "1970-03-02", Sex: 2, Address: "東京都江東区東陽四丁目11番28号",
		LocalGov: "131083", ChangeReason: "転入", ChangeDate: "2001-04-01"}
	return Batch{Source: "131083", Target: "130001",
		Changes:     []WireChange{{Seq: 1, Record: rec}, {Seq: 2, PreviousCode: "12345678903", Repair: true, Record: rec}},
		Protections: []protect.Wire{{ID: 1, ResidentCode: "12345678903", StartsOn: "2026-01-05", EndsOn: "2027-01-04", Department: "住民課", Category: "dv"}}}
}

// FuzzOpenBatch: a batch its sender signed, whatever its JSON says, opens
// to a batch that signs and opens again to the same batch, and the
// records toGate accepts go back on the wire as they came.
func FuzzOpenBatch(f *testing.F) {
	s, vs := fuzzKey(f, "jukinet-131083")
	body, err := json.Marshal(fuzzBatch())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(body))
	f.Add(`{"source":"131083","changes":[{"seq":1,"record":{"date_of_birth":"1970-02-30","change_date":"x","change_reason":"01"}}]}`)
	f.Add(`{"changes":[{"record":{"date_of_birth":"1970-03-02","change_date":"2001-04-01","change_reason":"転入","sex":9}}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		msg, err := note.Sign(&note.Note{Text: batchHeader + "\n" + body + "\n"}, s)
		if err != nil {
			return // not a note's text
		}
		b, signer, err := open(msg, vs)
		if err != nil {
			return
		}
		if signer != s.Name() {
			t.Fatalf("signer %q, signed by %q", signer, s.Name())
		}
		again, err := sign(b, s)
		if err != nil {
			t.Fatalf("an opened batch does not sign: %v", err)
		}
		b2, _, err := open(again, vs)
		if err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("opened %+v; signed again it opens as %+v, %v", b, b2, err)
		}
		changes, err := toGate(b)
		if err != nil {
			return
		}
		for i, c := range changes {
			back := wireRecord(c.Record)
			rec, err := back.record()
			if err != nil || !reflect.DeepEqual(rec, c.Record) {
				t.Fatalf("change %d: %+v goes on the wire as %+v, which reads %+v, %v", i, c.Record, back, rec, err)
			}
		}
	})
}

// FuzzOpenBatchForged: bytes nobody signed never open. Whatever opens is
// the one batch the key signed, however its note is spelled.
func FuzzOpenBatchForged(f *testing.F) {
	s, vs := fuzzKey(f, "jukinet-131083")
	want := fuzzBatch()
	msg, err := sign(want, s)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(msg)
	f.Add(bytes.Replace(msg, []byte("髙橋"), []byte("高橋"), 1))
	f.Add(append(bytes.Clone(msg), msg[bytes.LastIndex(msg, []byte("\n— ")):]...))
	other, _ := fuzzKey(f, "jukinet-131083")
	forged, err := sign(want, other)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(forged)
	f.Fuzz(func(t *testing.T, msg []byte) {
		b, _, err := open(msg, vs)
		if err != nil {
			return
		}
		if !reflect.DeepEqual(b, want) {
			t.Fatalf("opened a batch the key never signed: %+v", b)
		}
	})
}

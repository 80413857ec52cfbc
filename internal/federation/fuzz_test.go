package federation

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"reflect"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/ids"
	"jukinet/internal/node"
	"jukinet/internal/profile"
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

// fuzzCAPEM is a self-signed CA certificate in PEM, as a bundle carries.
func fuzzCAPEM(f *testing.F) string {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "jukinet CA 東京都"},
		NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		f.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// FuzzPeerBundle: a bundle file is read and checked as `jukinet peer add`
// does, by a municipality (its upstream, the prefecture) and by the
// prefecture (a downstream municipality). A refusal is an apperr with a
// Japanese message for the console; a bundle accepted carries what the
// node will need of it — a key named for its code and a CA certificate
// that TLS can use (accepted, then unusable when the first batch goes, is
// the gap this guards) — and written out as a file it reads back the same.
func FuzzPeerBundle(f *testing.F) {
	caPEM := fuzzCAPEM(f)
	pref, ok := ids.LookupLocalGov("130001")
	muni, ok2 := ids.LookupLocalGov("131083")
	if !ok || !ok2 {
		f.Fatal("local government codes 130001 and 131083 are not in the list")
	}
	nodes := []struct {
		n    *node.Node
		role string
		peer string // the code a peer of that role has
	}{
		{&node.Node{Info: node.Info{LocalGov: muni, Level: profile.Municipality}}, Upstream, "130001"},
		{&node.Node{Info: node.Info{LocalGov: pref, Level: profile.Prefecture}}, Downstream, "131083"},
	}
	keys := map[string]string{}
	for _, nd := range nodes {
		_, vkey, err := note.GenerateKey(rand.Reader, "jukinet-"+nd.peer)
		if err != nil {
			f.Fatal(err)
		}
		keys[nd.peer] = vkey
	}
	for i, nd := range nodes {
		level := map[string]string{Upstream: "prefecture", Downstream: "municipality"}[nd.role]
		b := Bundle{Code: nd.peer, Level: level, Name: "東京都", URL: "https://" + nd.peer + ".example:8443", NoteKey: keys[nd.peer], CAPEM: caPEM}
		raw, err := MarshalBundle(b)
		if err != nil {
			f.Fatal(err)
		}
		if err := checkBundle(nd.n, nd.role, b); err != nil {
			f.Fatalf("the seed bundle %d is refused: %v", i, err)
		}
		f.Add(raw, uint8(i))
		b.CAPEM = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
		raw, _ = MarshalBundle(b)
		f.Add(raw, uint8(i))
		b.CAPEM = ""
		raw, _ = MarshalBundle(b)
		f.Add(raw, uint8(i))
	}
	f.Add([]byte(`{"code":"1"}`), uint8(0))
	f.Fuzz(func(t *testing.T, raw []byte, which uint8) {
		nd := nodes[int(which)%len(nodes)]
		b, err := UnmarshalBundle(raw)
		if err != nil {
			return // the CLI says what it is not
		}
		if err := checkBundle(nd.n, nd.role, b); err != nil {
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Japanese == "" || ae.Code != apperr.Invalid {
				t.Fatalf("refused with %T %v: not an apperr with Japanese text", err, err)
			}
			return
		}
		if b.Code != nd.peer {
			t.Fatalf("a %s bundle of %q accepted by %s", nd.role, b.Code, nd.n.Info.LocalGov.Code)
		}
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(b.CAPEM)) || !certUsable(b.CAPEM) {
			t.Fatalf("accepted a bundle whose CA the node cannot use: %q", b.CAPEM)
		}
		again, err := MarshalBundle(b)
		if err != nil {
			t.Fatal(err)
		}
		b2, err := UnmarshalBundle(again)
		if err != nil || b2 != b {
			t.Fatalf("written out, %+v reads back as %+v, %v", b, b2, err)
		}
	})
}

// certUsable is what certFrom reads of a CA: its first PEM block.
func certUsable(caPEM string) bool {
	block, _ := pem.Decode([]byte(caPEM))
	if block == nil {
		return false
	}
	_, err := x509.ParseCertificate(block.Bytes)
	return err == nil
}

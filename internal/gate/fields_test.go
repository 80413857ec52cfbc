package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// fixedNow is "now" for the gate's rules in these tests.
func fixedNow() time.Time { return time.Date(2026, time.June, 1, 3, 0, 0, 0, time.UTC) }

// TestRequestFieldRules: every call's affair, reason and case, and a
// search's terms, follow the field rules: a bad value is refused as
// invalid, naming the field and the rule (not as "missing"), and the log
// keeps a fixed-size stand-in for it, not the value.
func TestRequestFieldRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		recs := f.importRecords(t, 3)
		key := Key{ResidentCode: string(recs[0].ResidentCode)}
		with := func(mod func(*Request)) Request { r := clerk; mod(&r); return r }
		tests := []struct {
			name string
			call func() error
			want string // part of the English message
			ja   string // part of the Japanese one
		}{
			{"1 MB reason", func() error {
				_, err := f.g.Lookup(ctx, with(func(r *Request) { r.Reason = strings.Repeat("理", 1<<20) }), key)
				return err
			}, "reason: longer than 200 characters (1048576 given)", "利用の理由：200文字以内"},
			{"reason with NUL", func() error {
				_, err := f.g.Lookup(ctx, with(func(r *Request) { r.Reason = "窓口\x00" }), key)
				return err
			}, "reason: character 3: the control character U+0000", "利用の理由：3文字目"},
			{"reason with invalid UTF-8", func() error {
				_, err := f.g.History(ctx, with(func(r *Request) { r.Reason = "窓口\xe3" }), key)
				return err
			}, "reason: not valid UTF-8", "利用の理由：文字コード"},
			{"affair with RLO", func() error {
				_, err := f.g.Lookup(ctx, with(func(r *Request) { r.Affair = "住民票\u202Eの写し" }), key)
				return err
			}, "affair: character 4: the invisible format character U+202E", "利用事務：4文字目"},
			{"long case", func() error {
				_, err := f.g.Lookup(ctx, with(func(r *Request) { r.CaseRef = strings.Repeat("1", 65) }), key)
				return err
			}, "case: longer than 64 characters", "案件番号：64文字以内"},
			{"10,000-character search name", func() error {
				_, _, err := f.g.Search(ctx, clerk, SearchQuery{Name: strings.Repeat("ア", 10000), DateOfBirth: recs[0].DateOfBirth})
				return err
			}, "name: longer than 201 characters", "氏名：201文字以内"},
			{"search name with NUL", func() error {
				_, _, err := f.g.Search(ctx, clerk, SearchQuery{Name: "\x00", DateOfBirth: recs[0].DateOfBirth})
				return err
			}, "name: character 1: the control character U+0000", "氏名：1文字目"},
			{"search address with invalid UTF-8", func() error {
				_, _, err := f.g.Search(ctx, clerk, SearchQuery{Name: "ア", DateOfBirth: recs[0].DateOfBirth, Address: "\xff"})
				return err
			}, "address: not valid UTF-8", "住所：文字コード"},
			{"1 MB resident code", func() error {
				_, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: strings.Repeat("1", 1<<20)})
				return err
			}, "resident code", "住民票コード"},
		}
		for _, tt := range tests {
			before := len(f.entries(t))
			err := tt.call()
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Code != apperr.Invalid || !strings.Contains(ae.Message, tt.want) || !strings.Contains(ae.Japanese, tt.ja) {
				t.Errorf("%s: %v (%s), want invalid: %q / %q", tt.name, err, apperr.JapaneseOf(err), tt.want, tt.ja)
				continue
			}
			es := f.entries(t)
			if len(es) != before+1 {
				t.Errorf("%s: %d entries logged, want 1", tt.name, len(es)-before)
				continue
			}
			e := es[len(es)-1].Entry
			b, _ := json.Marshal(e)
			if e.Outcome != auditlog.OutcomeError || len(b) > 2048 {
				t.Errorf("%s: logged as %s, %d bytes: %.300s", tt.name, e.Outcome, len(b), b)
			}
		}
	})
}

// TestReplicatedRecordsFollowTheFieldRules: a record a peer sends is held
// to the same rules as one a clerk enters: nothing of the batch applies.
func TestReplicatedRecordsFollowTheFieldRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.g.Now = fixedNow
		ctx := context.Background()
		g, _ := synth.New(synth.Options{Seed: 4, LocalGov: "131083"})
		peer := Request{Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: "131083"}, Origin: "node:131083", Affair: "juki", Reason: "本人確認情報の通知"}
		tests := []struct {
			name   string
			change func(r *resident.IdentityRecord)
			want   string
		}{
			{"RLO in a name", func(r *resident.IdentityRecord) { r.FamilyName = "\u202E" + r.FamilyName }, "family_name: character 1: the invisible format character U+202E"},
			{"NUL in an address", func(r *resident.IdentityRecord) { r.Address += "\x00" }, "address:"},
			{"10,000-character name", func(r *resident.IdentityRecord) { r.GivenName = strings.Repeat("髙", 10000) }, "given_name: longer than 100 characters"},
			{"future birth date", func(r *resident.IdentityRecord) {
				r.DateOfBirth, r.ChangeReason, r.ChangeDate = resident.Date(2026, time.June, 2), resident.ReasonBirth, resident.Date(2026, time.June, 2)
			}, "date_of_birth: 2026-06-02 is after today (2026-06-01)"},
		}
		seq := int64(0)
		for _, tt := range tests {
			good := g.Next()
			bad := g.Next()
			tt.change(&bad)
			_, _, err := f.g.Replicate(ctx, peer, "131083", []Replicated{{Seq: seq + 1, Record: good}, {Seq: seq + 2, Record: bad}})
			if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%s: %v, want invalid: %q", tt.name, err, tt.want)
			}
		}
		if n, _ := f.g.Count(ctx); n != 0 {
			t.Errorf("%d residents applied from refused batches", n)
		}
		// The same batch without the bad record applies: the set-up is sound.
		applied, _, err := f.g.Replicate(ctx, peer, "131083", []Replicated{{Seq: seq + 1, Record: g.Next()}})
		if err != nil || applied != 1 {
			t.Errorf("good batch: %d applied, %v", applied, err)
		}
	})
}

// TestImportRefusesDamagedCP932: a CP932 file with one damaged double-byte
// character imports nothing and says where the damage is.
func TestImportRefusesDamagedCP932(t *testing.T) {
	importModes(t, func(t *testing.T) { testImportRefusesDamagedCP932(t) })
}

func testImportRefusesDamagedCP932(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.g.Now = fixedNow
		ctx := context.Background()
		g, _ := synth.New(synth.Options{Seed: 3, LocalGov: "131083"})
		var sjis bytes.Buffer
		w := resident.NewCSVWriter(&sjis, resident.CP932)
		for i := 0; i < 5; i++ {
			r := g.Next()
			if i == 2 {
				r.FamilyName, r.FamilyNameKana, r.FormerSurname, r.FormerSurnameKana, r.Alias, r.AliasKana = "近藤", "コンドウ", "", "", "", ""
			}
			w.Write(r)
		}
		w.Close()
		raw := bytes.Replace(sjis.Bytes(), []byte{0x8B, 0xDF, 0x93, 0xA1}, []byte{0x8B, 0x93, 0xA1}, 1) // 近藤 lost a byte: 挙｡
		_, err := f.g.Import(ctx, clerk, bytes.NewReader(raw), "")
		var ie *ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != 4 || ie.Rows[0].Column != "family_name" {
			t.Fatalf("damaged CP932 import: %v", err)
		}
		if n, _ := f.g.Count(ctx); n != 0 {
			t.Errorf("%d residents imported from a damaged file", n)
		}
	})
}

// TestBatchRowsFollowTheFieldRules: a batch row (一括提供) searching by the
// four items is held to the same rules as a clerk's search.
func TestBatchRowsFollowTheFieldRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		recs := f.importRecords(t, 2)
		out, err := f.g.Provide(ctx, clerk, []ProvideQuery{
			{Line: 2, Search: &SearchQuery{Name: recs[0].FamilyNameKana + "\x00", DateOfBirth: recs[0].DateOfBirth}},
			{Line: 3, Search: &SearchQuery{Name: recs[0].FamilyName, DateOfBirth: recs[0].DateOfBirth, Address: "\u202E"}},
		})
		if err != nil || len(out) != 2 {
			t.Fatalf("provide: %v %v", out, err)
		}
		for i, want := range []string{"氏名：", "住所："} {
			if out[i].Status != Invalid || !strings.HasPrefix(out[i].Error, want) {
				t.Errorf("row %d: %+v, want invalid: %s…", out[i].Line, out[i], want)
			}
		}
	})
}

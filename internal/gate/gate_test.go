package gate

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/ids"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

type fixture struct {
	d   *db.DB
	log *auditlog.Log
	g   *Gate
	v   note.Verifier
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	skey, vkey, _ := note.GenerateKey(rand.Reader, "jukinet-131083")
	s, _ := note.NewSigner(skey)
	v, _ := note.NewVerifier(vkey)
	clock := clocktest.New()
	l, err := auditlog.Open(context.Background(), d, s, auditlog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	lg, _ := ids.LookupLocalGov("131083")
	g := New(d, l, RequiredFields{ConsoleAllowed: true}, lg, profile.Municipality)
	g.Now = clock.Now
	return &fixture{d: d, log: l, g: g, v: v}
}

var clerk = Request{
	Actor:  auditlog.Actor{Kind: auditlog.ActorOperator, ID: "K0001", Name: "区民 一郎"},
	Origin: "terminal:T-01", Affair: "住民票の写しの交付", Reason: "窓口での本人申請",
}

func (f *fixture) entries(t *testing.T) []auditlog.Listed {
	t.Helper()
	l, err := auditlog.List(context.Background(), f.d, auditlog.Filter{After: -1, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func (f *fixture) importRecords(t *testing.T, n int) []resident.IdentityRecord {
	t.Helper()
	g, _ := synth.New(synth.Options{Seed: 9, LocalGov: "131083"})
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	recs := make([]resident.IdentityRecord, n)
	for i := range recs {
		recs[i] = g.Next()
		w.Write(recs[i])
	}
	w.Close()
	rep, err := f.g.Import(context.Background(), clerk, &buf, "")
	if err != nil || rep.Added != n {
		t.Fatalf("import: %+v %v", rep, err)
	}
	return recs
}

func TestLookupIsLoggedBeforeReturn(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		recs := f.importRecords(t, 50)
		want := recs[3]
		got, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: string(want.ResidentCode)})
		if err != nil || got.IdentityRecord != want {
			t.Fatalf("lookup: %+v %v", got, err)
		}
		if _, err := f.g.Lookup(ctx, clerk, Key{IndividualNumber: string(want.IndividualNumber)}); err != nil {
			t.Fatal(err)
		}
		es := f.entries(t)
		last := es[len(es)-1].Entry
		if last.Action != "lookup" || last.Decision != auditlog.Allow || last.Count != 1 || last.Provision == nil ||
			last.Actor.ID != "K0001" || last.Origin != "terminal:T-01" || last.Affair != clerk.Affair {
			t.Errorf("entry %+v", last)
		}
		// The provision record is indexed by resident.
		mine, _ := auditlog.List(ctx, d, auditlog.Filter{Resident: string(want.ResidentCode), After: -1})
		if len(mine) != 3 { // import, lookup by code, lookup by number
			t.Errorf("%d entries for the resident, want 3", len(mine))
		}
		f.log.Checkpoint(ctx)
		if _, err := auditlog.Verify(ctx, d, f.v); err != nil {
			t.Fatal(err)
		}
	})
}

func TestEveryAttemptIsLogged(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		recs := f.importRecords(t, 5)
		// Two residents born the same day in the ward: too many for a limit of 1.
		twins := recs[0]
		second := recs[1]
		second.DateOfBirth, second.ChangeDate = twins.DateOfBirth, twins.DateOfBirth
		second.ChangeReason = resident.ReasonExOfficioCorrect
		if second.ChangeDate.Before(recs[1].ChangeDate) {
			second.ChangeDate = recs[1].ChangeDate
		}
		if _, err := f.g.Apply(ctx, clerk, Change{Record: second}); err != nil {
			t.Fatal(err)
		}
		noReason := clerk
		noReason.Reason = ""
		noOrigin := clerk
		noOrigin.Origin = "desk 5"
		tests := []struct {
			name    string
			call    func() error
			code    apperr.Code
			outcome string
			query   string // the entry's query, when given
		}{
			{"no reason", func() error { _, err := f.g.Lookup(ctx, noReason, Key{ResidentCode: "12345678903"}); return err }, apperr.Forbidden, auditlog.OutcomeDenied, ""},
			{"bad origin", func() error { _, _, err := f.g.Search(ctx, noOrigin, SearchQuery{Name: "x"}); return err }, apperr.Forbidden, auditlog.OutcomeDenied, ""},
			{"bad code", func() error { _, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: "12345678904"}); return err }, apperr.Invalid, auditlog.OutcomeError, ""},
			{"unknown", func() error { _, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: "12345678903"}); return err }, apperr.NotFound, auditlog.OutcomeError, ""},
			{"no birth date", func() error { _, _, err := f.g.Search(ctx, clerk, SearchQuery{Name: "山田"}); return err }, apperr.Invalid, auditlog.OutcomeError, "name=山田 birth="},
			{"kana too short", func() error {
				_, _, err := f.g.Search(ctx, clerk, SearchQuery{Kana: "や", DateOfBirth: resident.Date(1980, 1, 1)})
				return err
			}, apperr.Invalid, auditlog.OutcomeError, "name= birth=1980-01-01 kana=や"},
			{"too broad", func() error {
				f.g.SearchLimit = 1
				defer func() { f.g.SearchLimit = 20 }()
				_, _, err := f.g.Search(ctx, clerk, SearchQuery{DateOfBirth: twins.DateOfBirth, Address: "江東区"})
				var qe *QueryError
				if !errors.As(err, &qe) || !strings.HasPrefix(apperr.JapaneseOf(err), "該当が多すぎます（2件") {
					t.Errorf("too broad: %v", err)
				}
				return err
			}, apperr.Invalid, auditlog.OutcomeError, "name= birth=" + twins.DateOfBirth.Format(time.DateOnly) + " address=江東区"},
			{"birth date in the future", func() error {
				_, _, err := f.g.Search(ctx, clerk, SearchQuery{Name: "山田", DateOfBirth: clocktest.Start().AddDate(3, 0, 0).UTC().Truncate(24 * time.Hour)})
				return err
			}, apperr.Invalid, auditlog.OutcomeError, ""},
		}
		for _, tt := range tests {
			before := len(f.entries(t))
			err := tt.call()
			if apperr.CodeOf(err) != tt.code {
				t.Errorf("%s: error %v, want %s", tt.name, err, tt.code)
			}
			es := f.entries(t)
			if len(es) != before+1 || es[len(es)-1].Entry.Outcome != tt.outcome || es[len(es)-1].Entry.Count != 0 {
				t.Errorf("%s: not logged as %s: %+v", tt.name, tt.outcome, es[len(es)-1].Entry)
			}
			if got := es[len(es)-1].Entry.Query; tt.query != "" && got != tt.query {
				t.Errorf("%s: logged query %q, want %q", tt.name, got, tt.query)
			}
			// A refusal keeps the reason the clerk was told, in Japanese,
			// beside the English (the audit screen shows it in its
			// language).
			if e := es[len(es)-1].Entry; tt.outcome == auditlog.OutcomeDenied && (e.Why == "" || e.WhyJapanese == "" || e.WhyJapanese != apperr.JapaneseOf(err)) {
				t.Errorf("%s: logged the reason as %q / %q, want the Japanese %q", tt.name, e.Why, e.WhyJapanese, apperr.JapaneseOf(err))
			}
		}
	})
}

func TestFailsClosedWithoutLog(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	f := newFixture(t, d)
	recs := f.importRecords(t, 3)
	f.log.Close()
	rec, err := f.g.Lookup(context.Background(), clerk, Key{ResidentCode: string(recs[0].ResidentCode)})
	if apperr.CodeOf(err) != apperr.Unavailable || rec.FamilyName != "" {
		t.Fatalf("lookup without a log returned %+v, %v", rec, err)
	}
	changed := recs[0]
	changed.Address += "　別館"
	changed.ChangeReason, changed.ChangeDate = resident.ReasonMoveWithin, resident.Date(2026, 3, 31)
	if _, err := f.g.Apply(context.Background(), clerk, Change{Record: changed}); apperr.CodeOf(err) != apperr.Unavailable {
		t.Fatalf("apply without a log: %v", err)
	}
}

func TestApplyAtomicWithEntry(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		recs := f.importRecords(t, 3)
		moved := recs[1]
		moved.Address, moved.ChangeReason, moved.ChangeDate = "東京都江東区東陽四丁目11番28号", resident.ReasonMoveWithin, resident.Date(2026, 3, 31)
		got, err := f.g.Apply(ctx, clerk, Change{Record: moved})
		if err != nil || got.Version != 2 {
			t.Fatalf("apply: %+v %v", got, err)
		}
		es := f.entries(t)
		if got.AuditSeq != es[len(es)-1].Seq {
			t.Errorf("version made by entry %d, last entry %d", got.AuditSeq, es[len(es)-1].Seq)
		}
		// A change the register refuses leaves no version, and is logged.
		back := moved
		back.ChangeDate = moved.ChangeDate.AddDate(0, 0, -1)
		back.Address = "東京都江東区x"
		if _, err := f.g.Apply(ctx, clerk, Change{Record: back}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("back-dated change: %v", err)
		}
		hist, _ := f.g.History(ctx, clerk, Key{ResidentCode: string(moved.ResidentCode)})
		if len(hist) != 2 {
			t.Errorf("%d versions after a refused change, want 2", len(hist))
		}
		es = f.entries(t)
		if e := es[len(es)-2].Entry; e.Action != "apply" || e.Outcome != auditlog.OutcomeError {
			t.Errorf("refused change logged as %+v", e)
		}
		// A record of another municipality does not belong on this node.
		other := moved
		other.LocalGov = "131016"
		if _, err := f.g.Apply(ctx, clerk, Change{Record: other}); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("other municipality: %v", err)
		}
	})
}

func TestImportAllOrNothing(t *testing.T) {
	importModes(t, func(t *testing.T) { testImportAllOrNothing(t) })
}

func testImportAllOrNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		g, _ := synth.New(synth.Options{Seed: 2, LocalGov: "131083"})
		var buf, sjis bytes.Buffer
		w, sw := resident.NewCSVWriter(&buf, resident.UTF8), resident.NewCSVWriter(&sjis, resident.CP932)
		var recs []resident.IdentityRecord
		for i := 0; i < 20; i++ {
			recs = append(recs, g.Next())
			w.Write(recs[i])
			sw.Write(recs[i])
		}
		w.Close()
		sw.Close()
		good := buf.Bytes()
		// Break line 5 (a check digit), duplicate line 3 on line 22, and put
		// a resident of another ward on line 23.
		text := strings.Split(string(good), "\r\n")
		text[4] = strings.Replace(text[4], string(recs[3].ResidentCode), string(recs[3].ResidentCode[:10])+string('0'+(recs[3].ResidentCode[10]-'0'+1)%10), 1)
		other := recs[5]
		other.ResidentCode, other.IndividualNumber, other.LocalGov = "10000000006", "983205673214", "131016"
		other.Address = "東京都千代田区一番町1"
		var extra bytes.Buffer
		ew := resident.NewCSVWriter(&extra, resident.UTF8)
		ew.Write(other)
		ew.Close()
		otherLine := strings.Split(extra.String(), "\r\n")[1]
		bad := strings.Join(append(text[:len(text)-1], text[2], otherLine), "\r\n") + "\r\n"
		_, err := f.g.Import(ctx, clerk, strings.NewReader(bad), resident.UTF8)
		var ie *ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("import with bad rows: %v", err)
		}
		msg := ie.Error()
		for _, want := range []string{"line 5, column resident_code: check digit", "line 22, column resident_code: also on line 3", "line 23, column local_gov_code"} {
			if !strings.Contains(msg, want) {
				t.Errorf("missing %q in:\n%s", want, msg)
			}
		}
		if n, _ := f.g.Count(ctx); n != 0 {
			t.Fatalf("%d residents after a refused import", n)
		}
		// The good file, in CP932 (detected), imports; again, it adds nothing.
		rep, err := f.g.Import(ctx, clerk, bytes.NewReader(sjis.Bytes()), "")
		if err != nil || rep.Added != 20 {
			t.Fatalf("import: %+v %v", rep, err)
		}
		rep, err = f.g.Import(ctx, clerk, bytes.NewReader(good), "")
		if err != nil || rep.Unchanged != 20 || rep.Added+rep.Changed != 0 {
			t.Fatalf("re-import: %+v %v", rep, err)
		}
		es := f.entries(t)
		if len(es) != 3 || es[0].Entry.Outcome != auditlog.OutcomeError || es[1].Entry.Count != 20 || es[2].Entry.Count != 0 {
			t.Errorf("import entries: %v", es)
		}
	})
}

func TestExportProvidesAfterLogging(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.importRecords(t, 40)
		var out bytes.Buffer
		n, err := f.g.Export(ctx, clerk, resident.Date(2026, 4, 1), resident.UTF8, &out)
		if err != nil || n != 40 || strings.Count(out.String(), "\r\n") != 41 {
			t.Fatalf("export: %d %v", n, err)
		}
		es := f.entries(t)
		last := es[len(es)-1].Entry
		if last.Action != "export" || last.SubjectCount != 40 || last.Provision == nil || last.Provision.Function != "export" {
			t.Errorf("export entry %+v", last)
		}
		// Exporting to a writer that fails still leaves the entry: the data
		// may have partly left.
		if _, err := f.g.Export(ctx, clerk, resident.Date(2026, 4, 1), resident.UTF8, failingWriter{}); err == nil {
			t.Error("export to a failing writer succeeded")
		}
	})
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

package synth

import (
	"bytes"
	"strings"
	"testing"

	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

func generate(t *testing.T, opt Options, n int) []resident.IdentityRecord {
	t.Helper()
	g, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]resident.IdentityRecord, n)
	for i := range out {
		out[i] = g.Next()
	}
	return out
}

func TestDeterministic(t *testing.T) {
	a := generate(t, Options{Seed: 7, LocalGov: "131083"}, 500)
	b := generate(t, Options{Seed: 7, LocalGov: "131083"}, 500)
	c := generate(t, Options{Seed: 8, LocalGov: "131083"}, 500)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("record %d differs between runs with one seed:\n%+v\n%+v", i, a[i], b[i])
		}
	}
	if a[0] == c[0] {
		t.Errorf("seeds 7 and 8 gave the same first record")
	}
}

func TestPopulationShape(t *testing.T) {
	const n = 20000
	recs := generate(t, Options{Seed: 1, LocalGov: "131083"}, n)
	lg, _ := ids.LookupLocalGov("131083")
	codes, numbers := map[ids.ResidentCode]bool{}, map[ids.IndividualNumber]bool{}
	var old, young, female, variant, former, alias, foreign int
	for _, r := range recs {
		if _, err := ids.ParseResidentCode(string(r.ResidentCode)); err != nil {
			t.Fatal(err)
		}
		if _, err := ids.ParseIndividualNumber(string(r.IndividualNumber)); err != nil {
			t.Fatal(err)
		}
		if codes[r.ResidentCode] || numbers[r.IndividualNumber] {
			t.Fatalf("duplicate code in %+v", r)
		}
		codes[r.ResidentCode], numbers[r.IndividualNumber] = true, true
		if !strings.HasPrefix(r.Address, "東京都江東区") || r.LocalGov != lg.Code {
			t.Fatalf("address %q / local gov %s not in 江東区", r.Address, r.LocalGov)
		}
		if r.FamilyName == "" || r.GivenName == "" || r.FamilyNameKana == "" || r.GivenNameKana == "" {
			t.Fatalf("missing name part: %+v", r)
		}
		if r.ChangeDate.Before(r.DateOfBirth) || r.ChangeDate.After(DefaultAsOf) {
			t.Fatalf("change date %v outside birth..as-of: %+v", r.ChangeDate, r)
		}
		age := DefaultAsOf.Year() - r.DateOfBirth.Year()
		if age >= 65 {
			old++
		}
		if age < 15 {
			young++
		}
		if r.Sex == resident.SexFemale {
			female++
		}
		if jptext.NameKey(r.FamilyName) != r.FamilyName && !isLatin(r.FamilyName) {
			variant++
		}
		if r.FormerSurname != "" {
			former++
		}
		if r.Alias != "" {
			alias++
		}
		if isLatin(r.FamilyName) {
			foreign++
		}
	}
	// Japan 2024: about 29% are 65 or older and 11% under 15; a little over half are women.
	checkShare(t, "aged 65+", old, n, 0.25, 0.34)
	checkShare(t, "under 15", young, n, 0.09, 0.14)
	checkShare(t, "women", female, n, 0.49, 0.54)
	checkShare(t, "variant-kanji surnames", variant, n, 0.01, 0.06)
	checkShare(t, "with 旧氏", former, n, 0.005, 0.05)
	checkShare(t, "foreign residents", foreign, n, 0.015, 0.035)
	if alias == 0 {
		t.Error("no resident has a 通称")
	}
}

func isLatin(s string) bool { return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ ") == "" }

func checkShare(t *testing.T, what string, got, n int, lo, hi float64) {
	t.Helper()
	if s := float64(got) / float64(n); s < lo || s > hi {
		t.Errorf("%s: %.3f of residents, want %.3f–%.3f", what, s, lo, hi)
	}
}

func TestCP932OnlyEncodable(t *testing.T) {
	recs := generate(t, Options{Seed: 3, LocalGov: "022012", Encoding: resident.CP932}, 5000)
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.CP932)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(recs[0].Address, "青森県青森市") {
		t.Errorf("address %q not in 青森市", recs[0].Address)
	}
}

func TestNewRejects(t *testing.T) {
	for _, code := range []ids.LocalGovCode{"020001", "999999", ""} {
		if _, err := New(Options{LocalGov: code}); err == nil {
			t.Errorf("New(%q) succeeded; want an error", code)
		}
	}
}

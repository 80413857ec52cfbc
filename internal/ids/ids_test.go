package ids

import (
	"encoding/csv"
	"errors"
	"math/rand/v2"
	"os"
	"testing"
	"unicode/utf8"
)

func TestParseIndividualNumber(t *testing.T) {
	tests := []struct {
		in   string
		want IndividualNumber
		rule Rule
	}{
		{"983205673214", "983205673214", ""},
		{"123456789018", "123456789018", ""},
		{"1234-5678-9018", "123456789018", ""},
		{"１２３４５６７８９０１８", "123456789018", ""},
		{" 123456789018 ", "123456789018", ""},
		{"123456789019", "", RuleCheckDigit},
		{"983205673215", "", RuleCheckDigit},
		{"12345678901", "", RuleLength},
		{"12345678901a", "", RuleNotDigits},
		{"", "", RuleEmpty},
	}
	for _, tt := range tests {
		got, err := ParseIndividualNumber(tt.in)
		checkParse(t, tt.in, string(got), string(tt.want), err, tt.rule)
	}
}

func TestParseResidentCode(t *testing.T) {
	// 1234567890 → weights from the right 2..7,2..7: 0·2+9·3+8·4+7·5+6·6+5·7+4·2+3·3+2·4+1·5 = 195;
	// 195 mod 11 = 8 → check 3.
	tests := []struct {
		in   string
		want ResidentCode
		rule Rule
	}{
		{"12345678903", "12345678903", ""},
		{"1234-567-8903", "12345678903", ""},
		{"12345678904", "", RuleCheckDigit},
		{"1234567890", "", RuleLength},
		{"1234567890x", "", RuleNotDigits},
	}
	for _, tt := range tests {
		got, err := ParseResidentCode(tt.in)
		checkParse(t, tt.in, string(got), string(tt.want), err, tt.rule)
	}
}

func TestParseLocalGovCode(t *testing.T) {
	tests := []struct {
		in   string
		want LocalGovCode
		rule Rule
	}{
		{"131083", "131083", ""},
		{"020001", "020001", ""},
		{"130001", "130001", ""},
		{"131084", "", RuleCheckDigit},
		{"13108", "", RuleLength},
	}
	for _, tt := range tests {
		got, err := ParseLocalGovCode(tt.in)
		checkParse(t, tt.in, string(got), string(tt.want), err, tt.rule)
	}
}

func checkParse(t *testing.T, in, got, want string, err error, rule Rule) {
	t.Helper()
	if rule == "" {
		if err != nil || got != want {
			t.Errorf("parse %q = %q, %v; want %q", in, got, err, want)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Rule != rule {
		t.Errorf("parse %q: error %v, want rule %s", in, err, rule)
		return
	}
	if e.Error() == "" || e.Japanese() == "" {
		t.Errorf("parse %q: empty message", in)
	}
}

func TestCheckDigitErrorNamesDigits(t *testing.T) {
	_, err := ParseLocalGovCode("131084")
	if got, want := err.Error(), `local government code "131084": check digit is 4, expected 3`; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
}

func TestEmbeddedLocalGovs(t *testing.T) {
	all := LocalGovs()
	if n := len(all); n < 1900 || n > 2000 {
		t.Fatalf("embedded list has %d bodies, want about 1,960", n)
	}
	kinds := map[LocalGovKind]int{}
	for _, lg := range all {
		if _, err := ParseLocalGovCode(string(lg.Code)); err != nil {
			t.Errorf("embedded %s %s: %v", lg.Code, lg.Name, err)
		}
		if lg.Name == "" || lg.Kana == "" || lg.Prefecture == "" {
			t.Errorf("embedded %s: missing name, kana or prefecture: %+v", lg.Code, lg)
		}
		if _, ok := LookupLocalGov(lg.Code.Prefecture()); !ok {
			t.Errorf("embedded %s: prefecture %s not in list", lg.Code, lg.Code.Prefecture())
		}
		kinds[lg.Kind]++
	}
	if kinds[LGPrefecture] != 47 || kinds[LGSpecialWard] != 23 || kinds[LGDesignatedCity] != 20 {
		t.Errorf("kinds = %v, want 47 prefectures, 23 special wards, 20 designated cities", kinds)
	}
	anchors := map[LocalGovCode]string{
		"131083": "東京都江東区",
		"020001": "青森県",
		"130001": "東京都",
		"022012": "青森県青森市",
		"022039": "青森県八戸市",
		"011002": "北海道札幌市",
		"011011": "北海道札幌市中央区",
		"014231": "北海道空知郡南幌町",
		"133817": "東京都三宅村",
	}
	for c, want := range anchors {
		lg, ok := LookupLocalGov(c)
		if !ok || lg.FullName() != want {
			t.Errorf("LookupLocalGov(%s) = %q, %v; want %q", c, lg.FullName(), ok, want)
		}
	}
	if lg, _ := LookupLocalGov("131083"); lg.Kana != "コウトウク" {
		t.Errorf("江東区 kana = %q", lg.Kana)
	}
}

func TestParseExistingLocalGov(t *testing.T) {
	// Find a code with a valid check digit that names no body, rather than
	// hard-coding one that a future list might contain.
	var missing string
	for p := 10000; p < 99999; p += 7 {
		five := []byte{byte('0' + p/10000), byte('0' + p/1000%10), byte('0' + p/100%10), byte('0' + p/10%10), byte('0' + p%10)}
		c := string(five) + string(rune('0'+LocalGovCheckDigit(string(five))))
		if _, ok := LookupLocalGov(LocalGovCode(c)); !ok {
			missing = c
			break
		}
	}
	_, err := ParseExistingLocalGov(missing)
	var e *Error
	if !errors.As(err, &e) || e.Rule != RuleUnknownLG {
		t.Errorf("ParseExistingLocalGov(%s) = %v, want unknown local government", missing, err)
	}
	if lg, err := ParseExistingLocalGov("131083"); err != nil || lg.Name != "江東区" {
		t.Errorf("ParseExistingLocalGov(131083) = %v, %v", lg, err)
	}
}

func TestGeneratedCodesValidate(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		if c := NewResidentCode(r); Classify(string(c)) != KindResidentCode {
			t.Fatalf("NewResidentCode = %s: wrong length", c)
		} else if _, err := ParseResidentCode(string(c)); err != nil {
			t.Fatalf("NewResidentCode = %s: %v", c, err)
		}
		if n := NewIndividualNumber(r); Classify(string(n)) != KindIndividualNumber {
			t.Fatalf("NewIndividualNumber = %s: wrong length", n)
		} else if _, err := ParseIndividualNumber(string(n)); err != nil {
			t.Fatalf("NewIndividualNumber = %s: %v", n, err)
		}
	}
}

// A single changed digit is always caught by both mod-11 rules.
func TestCheckDigitCatchesSingleDigitChange(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		n := []byte(NewIndividualNumber(r))
		pos := r.IntN(11)
		n[pos] = byte('0' + (int(n[pos]-'0')+1+r.IntN(9))%10)
		if _, err := ParseIndividualNumber(string(n)); err == nil {
			// A mod-11 check digit maps two residues (0 and 1) to 0, so a
			// change can slip through only when both give check digit 0.
			if n[11] != '0' {
				t.Fatalf("changed number %s still validates", n)
			}
		}
	}
}

func fuzzParser[T ~string](f *testing.F, parse func(string) (T, error), seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := parse(s)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("parse %q: error %v is not *Error", s, err)
			}
			if e.Error() == "" || !utf8.ValidString(e.Japanese()) {
				t.Fatalf("parse %q: bad message", s)
			}
			return
		}
		// A parsed code is canonical: it parses to itself.
		again, err := parse(string(got))
		if err != nil || again != got {
			t.Fatalf("parse %q = %q, but reparse = %q, %v", s, got, again, err)
		}
		for _, r := range string(got) {
			if r < '0' || r > '9' {
				t.Fatalf("parse %q = %q: non-digit", s, got)
			}
		}
	})
}

func FuzzParseResidentCode(f *testing.F) {
	fuzzParser(f, ParseResidentCode, "12345678903", "１２３４５６７８９０３", "1-2", "")
}

func FuzzParseIndividualNumber(f *testing.F) {
	fuzzParser(f, ParseIndividualNumber, "983205673214", "1234 5678 9018", "x")
}

func FuzzParseLocalGovCode(f *testing.F) {
	fuzzParser(f, ParseLocalGovCode, "131083", "020001", "13108４")
}

// TestEmbeddedListHasEveryOfficialCode: every code of the official list
// (testdata/official-localgov-codes.csv, 総務省's list with the wards of the
// designated cities) has a valid check digit and names the same body in the
// embedded list — the six 北方領土 villages included, which the postcode data
// the list is generated from lacks — and the embedded list holds no code the
// official list does not.
func TestEmbeddedListHasEveryOfficialCode(t *testing.T) {
	f, err := os.Open("testdata/official-localgov-codes.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comment = '#'
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	official := map[LocalGovCode]bool{}
	for _, row := range rows[1:] {
		code, pref, name := row[0], row[1], row[2]
		official[LocalGovCode(code)] = true
		lg, err := ParseExistingLocalGov(code)
		if err != nil {
			t.Errorf("official code %s (%s%s): %v", code, pref, name, err)
			continue
		}
		if lg.Prefecture != pref || (name != "" && lg.ShortName() != name) {
			t.Errorf("official code %s is %s%s, embedded %s", code, pref, name, lg.FullName())
		}
	}
	if len(official) != 1965 {
		t.Errorf("official list has %d codes, want 1,965 (47 prefectures, 1,741 municipalities, 171 wards, 6 北方領土 villages)", len(official))
	}
	for _, lg := range LocalGovs() {
		if !official[lg.Code] {
			t.Errorf("embedded %s %s is not on the official list", lg.Code, lg.FullName())
		}
	}
	// The 北方領土 villages, check digits verified by hand: 0·6+1·5+6·4+9·3+5·2
	// = 66, 66 mod 11 = 0, (11−0) mod 10 = 1 → 016951; and so on.
	for code, want := range map[string]string{
		"016951": "北海道色丹郡色丹村", "016969": "北海道国後郡泊村", "016977": "北海道国後郡留夜別村",
		"016985": "北海道択捉郡留別村", "016993": "北海道紗那郡紗那村", "017001": "北海道蘂取郡蘂取村",
	} {
		lg, err := ParseExistingLocalGov(code)
		if err != nil || lg.FullName() != want || lg.Kind != LGVillage {
			t.Errorf("%s: %q %s, %v; want %s", code, lg.FullName(), lg.Kind, err, want)
		}
	}
}

package ids

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// LocalGovCode is a 地方公共団体コード: 2 prefecture digits, 3 municipality
// digits and a check digit.
type LocalGovCode string

// LocalGovCheckDigit computes the check digit of a 地方公共団体コード from its
// first five digits: weights 6,5,4,3,2; check = (11 − Σ mod 11) mod 10.
func LocalGovCheckDigit(five string) int {
	sum := 0
	for i, w := range [5]int{6, 5, 4, 3, 2} {
		sum += int(five[i]-'0') * w
	}
	return (11 - sum%11) % 10
}

// ParseLocalGovCode checks the form and check digit of a local government
// code. It does not check that the body exists; LookupLocalGov does.
func ParseLocalGovCode(s string) (LocalGovCode, error) {
	d, err := digitsOf(KindLocalGovCode, s)
	if err != nil {
		return "", err
	}
	if err := checkLast(KindLocalGovCode, s, d, LocalGovCheckDigit(d[:5])); err != nil {
		return "", err
	}
	return LocalGovCode(d), nil
}

// ParseExistingLocalGov parses s and returns the local government it names,
// if that body is in force today: an *Error if the form is wrong, if no body
// ever had the code (RuleUnknownLG), or if the body was abolished
// (RuleAbolishedLG, naming the date and the bodies that took it over). Use it
// for anything new: a node, generated residents, a record made today.
func ParseExistingLocalGov(s string) (LocalGov, error) {
	lg, err := parseKnownLocalGov(s)
	if err != nil {
		return LocalGov{}, err
	}
	if lg.Abolished() {
		return LocalGov{}, abolishedError(s, lg)
	}
	return lg, nil
}

// ParseLocalGovOn parses s and returns the local government it names, if
// that code could be written on a record dated day (its civil date counts,
// not its time): it is refused only when no body ever had it, or when the
// body had been abolished by day (RuleAbolishedLG). A removed record (除票)
// of 2020 keeps 221317 浜松市中区, abolished on 2024-01-01; a record dated
// 2024-01-01 or later cannot. A code established after day is accepted: a
// body's records are re-coded when it is reorganised, and keep their dates.
func ParseLocalGovOn(s string, day time.Time) (LocalGov, error) {
	lg, err := parseKnownLocalGov(s)
	if err != nil {
		return LocalGov{}, err
	}
	if lg.Abolished() && !civilDate(day).Before(lg.ValidUntil) {
		return LocalGov{}, abolishedError(s, lg)
	}
	return lg, nil
}

// parseKnownLocalGov parses s and finds its body, abolished or not.
func parseKnownLocalGov(s string) (LocalGov, error) {
	c, err := ParseLocalGovCode(s)
	if err != nil {
		return LocalGov{}, err
	}
	lg, ok := LookupLocalGov(c)
	if !ok {
		return LocalGov{}, &Error{Kind: KindLocalGovCode, Value: shown(s), Rule: RuleUnknownLG}
	}
	return lg, nil
}

func abolishedError(s string, lg LocalGov) *Error {
	return &Error{Kind: KindLocalGovCode, Value: shown(s), Rule: RuleAbolishedLG, Abolished: &lg}
}

// Prefecture returns the code of the prefecture the body belongs to
// (for a prefecture, itself).
func (c LocalGovCode) Prefecture() LocalGovCode {
	five := string(c[:2]) + "000"
	return LocalGovCode(five + string(rune('0'+LocalGovCheckDigit(five))))
}

func (c LocalGovCode) String() string { return string(c) }

// LocalGovKind says what sort of body a local government is.
type LocalGovKind string

// The kinds of local government in the embedded list.
const (
	LGPrefecture     LocalGovKind = "prefecture"      // 都道府県
	LGDesignatedCity LocalGovKind = "designated_city" // 政令指定都市
	LGWard           LocalGovKind = "ward"            // 政令指定都市の区 (行政区)
	LGSpecialWard    LocalGovKind = "special_ward"    // 東京都の特別区
	LGCity           LocalGovKind = "city"            // 市
	LGTown           LocalGovKind = "town"            // 町
	LGVillage        LocalGovKind = "village"         // 村
)

// LocalGov is one Japanese local government.
type LocalGov struct {
	Code           LocalGovCode
	Kind           LocalGovKind
	Prefecture     string // 都道府県名
	PrefectureKana string
	Parent         string // 郡 of a town or village, or the city of a ward; may be empty
	ParentKana     string
	Name           string // official name, e.g. 江東区, 南幌町, 中央区
	Kana           string // reading in katakana

	// ValidFrom is the first day the code was in force; zero when that is
	// before the history the list covers (docs/codes.md).
	ValidFrom time.Time
	// ValidUntil is the first day the code was no longer in force (the day
	// of the change); zero while it is in force.
	ValidUntil time.Time
	// Successors are the bodies that took over an abolished body's area, as
	// of the change; Change says how. Both are empty while it is in force.
	Successors []LocalGovCode
	Change     LocalGovChange
}

// LocalGovChange says how a body ceased to exist (廃置分合 or a new code).
type LocalGovChange string

// The changes that end a code.
const (
	// ChangeMerged: the body's whole area went into one body that existed
	// before (編入) or that took in other bodies too (中区 221317 → 中央区
	// 221384, with 東区, 西区, 南区 and part of 北区).
	ChangeMerged LocalGovChange = "merged"
	// ChangeSplit: the body's area was divided among several bodies
	// (北区 221350 → 中央区 221384 and 浜名区 221392).
	ChangeSplit LocalGovChange = "split"
	// ChangeRenamed: the same area alone became one body under a new name
	// and code.
	ChangeRenamed LocalGovChange = "renamed"
	// ChangeRecoded: the same area alone, under the same name, was given a
	// new code (天竜区 221376 → 221406).
	ChangeRecoded LocalGovChange = "recoded"
)

// Abolished reports whether the code has ceased to be in force.
func (lg LocalGov) Abolished() bool { return !lg.ValidUntil.IsZero() }

// InForceOn reports whether the code was in force on day's civil date.
func (lg LocalGov) InForceOn(day time.Time) bool {
	d := civilDate(day)
	return (lg.ValidFrom.IsZero() || !d.Before(lg.ValidFrom)) && (lg.ValidUntil.IsZero() || d.Before(lg.ValidUntil))
}

// CurrentSuccessors are the bodies in force that now hold an abolished
// body's area: its successors, and theirs in turn where a successor was
// itself abolished later. It is empty for a body in force.
func (lg LocalGov) CurrentSuccessors() []LocalGov {
	var out []LocalGov
	seen := map[LocalGovCode]bool{lg.Code: true}
	var walk func(LocalGov)
	walk = func(b LocalGov) {
		for _, c := range b.Successors {
			if seen[c] {
				continue
			}
			seen[c] = true
			s, ok := LookupLocalGov(c)
			switch {
			case !ok:
				continue // never in the embedded list: TestEmbeddedHistory
			case s.Abolished():
				walk(s)
			default:
				out = append(out, s)
			}
		}
	}
	walk(lg)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// civilDate is t's year, month and day at midnight UTC, as the list's dates are.
func civilDate(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// FullName is the name as written in an address: prefecture, then county or
// city, then the body (東京都江東区, 北海道空知郡南幌町, 北海道札幌市中央区).
// For a prefecture it is the prefecture's name.
func (lg LocalGov) FullName() string {
	if lg.Kind == LGPrefecture {
		return lg.Prefecture
	}
	return lg.Prefecture + lg.Parent + lg.Name
}

// ShortName is the name within its prefecture, with the designated city of a
// ward but without the county of a town (札幌市中央区, 南幌町, 江東区).
func (lg LocalGov) ShortName() string {
	if lg.Kind == LGWard {
		return lg.Parent + lg.Name
	}
	return lg.Name
}

// localGovCSV is the embedded list; see internal/genlocalgov for its source
// and docs/codes.md for the history it covers.
//
//go:embed localgov.csv
var localGovCSV string

var localGovs = sync.OnceValues(func() (map[LocalGovCode]LocalGov, error) {
	return parseLocalGovList(localGovCSV)
})

// parseLocalGovList reads the list's CSV: code, kind, prefecture and its
// kana, parent and its kana, name and its kana, valid_from, valid_until
// (YYYY-MM-DD or empty), successors (codes separated by spaces) and change.
func parseLocalGovList(text string) (map[LocalGovCode]LocalGov, error) {
	rows, err := csv.NewReader(strings.NewReader(text)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read embedded local government list: %w", err)
	}
	if len(rows) == 0 || len(rows[0]) != 12 {
		return nil, fmt.Errorf("read embedded local government list: want a header of 12 columns")
	}
	date := func(code, s string) (time.Time, error) {
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("read embedded local government list: %s: %w", code, err)
		}
		return t, nil
	}
	m := make(map[LocalGovCode]LocalGov, len(rows))
	for _, r := range rows[1:] {
		c := LocalGovCode(r[0])
		lg := LocalGov{Code: c, Kind: LocalGovKind(r[1]), Prefecture: r[2], PrefectureKana: r[3], Parent: r[4], ParentKana: r[5], Name: r[6], Kana: r[7], Change: LocalGovChange(r[11])}
		if lg.ValidFrom, err = date(r[0], r[8]); err != nil {
			return nil, err
		}
		if lg.ValidUntil, err = date(r[0], r[9]); err != nil {
			return nil, err
		}
		for _, s := range strings.Fields(r[10]) {
			lg.Successors = append(lg.Successors, LocalGovCode(s))
		}
		m[c] = lg
	}
	return m, nil
}

func mustLocalGovs() map[LocalGovCode]LocalGov {
	m, err := localGovs()
	if err != nil {
		panic(err) // the embedded file is checked by tests; this cannot happen in a built binary
	}
	return m
}

// LookupLocalGov returns the local government with code c, abolished or not
// (see LocalGov.Abolished).
func LookupLocalGov(c LocalGovCode) (LocalGov, bool) {
	lg, ok := mustLocalGovs()[c]
	return lg, ok
}

// LocalGovs returns every embedded local government, abolished ones
// included, ordered by code.
func LocalGovs() []LocalGov {
	m := mustLocalGovs()
	out := make([]LocalGov, 0, len(m))
	for _, lg := range m {
		out = append(out, lg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

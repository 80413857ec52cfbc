package ids

import (
	_ "embed"
	"encoding/csv"
	"fmt"
	"sort"
	"strings"
	"sync"
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
// or an *Error if the form is wrong or no such body exists.
func ParseExistingLocalGov(s string) (LocalGov, error) {
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

// localGovCSV is the embedded list; see internal/genlocalgov for its source.
//
//go:embed localgov.csv
var localGovCSV string

var localGovs = sync.OnceValues(func() (map[LocalGovCode]LocalGov, error) {
	rows, err := csv.NewReader(strings.NewReader(localGovCSV)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read embedded local government list: %w", err)
	}
	m := make(map[LocalGovCode]LocalGov, len(rows))
	for _, r := range rows[1:] {
		c := LocalGovCode(r[0])
		m[c] = LocalGov{Code: c, Kind: LocalGovKind(r[1]), Prefecture: r[2], PrefectureKana: r[3], Parent: r[4], ParentKana: r[5], Name: r[6], Kana: r[7]}
	}
	return m, nil
})

func mustLocalGovs() map[LocalGovCode]LocalGov {
	m, err := localGovs()
	if err != nil {
		panic(err) // the embedded file is checked by tests; this cannot happen in a built binary
	}
	return m
}

// LookupLocalGov returns the local government with code c.
func LookupLocalGov(c LocalGovCode) (LocalGov, bool) {
	lg, ok := mustLocalGovs()[c]
	return lg, ok
}

// LocalGovs returns every embedded local government, ordered by code.
func LocalGovs() []LocalGov {
	m := mustLocalGovs()
	out := make([]LocalGov, 0, len(m))
	for _, lg := range m {
		out = append(out, lg)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

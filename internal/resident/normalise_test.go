package resident

import (
	"bytes"
	"encoding/csv"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
	"pgregory.net/rapid"

	"jukinet/internal/ids"
)

func TestNormaliseField(t *testing.T) {
	tests := []struct {
		column, in, want string
		how              Normalisation
	}{
		// Readings in half-width katakana, voiced and semi-voiced marks joined.
		{"family_name_kana", "ﾜﾀﾅﾍﾞ", "ワタナベ", NormHalfWidthKana},
		{"given_name_kana", "ｼﾞﾛｳ", "ジロウ", NormHalfWidthKana},
		{"family_name_kana", "ﾎﾟｰﾙ", "ポール", NormHalfWidthKana},
		{"alias_kana", "ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス", NormHalfWidthKana},
		{"former_surname_kana", "ｳﾞｨｯﾂ", "ヴィッツ", NormHalfWidthKana},
		{"alias_kana", "ﾏﾘｱ ｸﾞﾗﾝﾃﾞ", "マリア　グランデ", NormHalfWidthKana}, // a half-width reading's spaces widen too
		{"family_name_kana", "ﾜﾀﾅﾍﾞ  ", "ワタナベ", NormTrim | NormHalfWidthKana},
		{"family_name_kana", "ワタナベ　", "ワタナベ", NormTrim},
		{"family_name_kana", "ワタナベ ジロウ", "ワタナベ ジロウ", 0},            // full width: spaces kept as given
		{"family_name_kana", "ﾜﾀﾅﾍﾞA", "ワタナベA", NormHalfWidthKana}, // still refused by the field rule
		// Names and the address: trimmed only; half-width kana are left for
		// the field rule to refuse (a damaged Shift_JIS file shows so).
		{"family_name", "ｽﾐｽ", "ｽﾐｽ", 0},
		{"family_name", "ﾟ藤", "ﾟ藤", 0},
		{"given_name", "Ｊｏｈｎ", "Ｊｏｈｎ", 0},
		{"address", "東京都江東区東陽四丁目11番28号ｺｰﾎﾟ２０１", "東京都江東区東陽四丁目11番28号ｺｰﾎﾟ２０１", 0},
		{"family_name", " 渡辺 ", "渡辺", NormTrim},
		// Codes, sex and change reason: full-width ASCII narrowed.
		{"resident_code", "１２３４５６７８９０３", "12345678903", NormFullWidthASCII},
		{"individual_number", "１２３４５６７８９０１８　", "123456789018", NormFullWidthASCII | NormTrim},
		{"local_gov_code", " 131083", "131083", NormTrim},
		{"sex", "２", "2", NormFullWidthASCII},
		{"change_reason", "ｍｏｖｅ＿ｉｎ", "move_in", NormFullWidthASCII},
		{"change_reason", "転入", "転入", 0},
		{"resident_code", "12345678903", "12345678903", 0},
		// Dates: every era, 元年, full width, other Gregorian forms.
		{"date_of_birth", "H2.3.4", "1990-03-04", NormWareki},
		{"date_of_birth", "H02.03.04", "1990-03-04", NormWareki},
		{"date_of_birth", "平成2年3月4日", "1990-03-04", NormWareki},
		{"date_of_birth", "平成元年1月8日", "1989-01-08", NormWareki},
		{"date_of_birth", "平成31年4月30日", "2019-04-30", NormWareki},
		{"change_date", "R1.5.1", "2019-05-01", NormWareki},
		{"change_date", "令和元年5月1日", "2019-05-01", NormWareki},
		{"date_of_birth", "S45.3.2", "1970-03-02", NormWareki},
		{"date_of_birth", "昭和64年1月7日", "1989-01-07", NormWareki},
		{"date_of_birth", "T15.12.24", "1926-12-24", NormWareki},
		{"date_of_birth", "大正元年7月30日", "1912-07-30", NormWareki},
		{"date_of_birth", "M45.7.29", "1912-07-29", NormWareki},
		{"date_of_birth", "明治6年1月1日", "1873-01-01", NormWareki},
		{"date_of_birth", "Ｈ２．３．４", "1990-03-04", NormFullWidthASCII | NormWareki},
		{"date_of_birth", "１９９０－０３－０４", "1990-03-04", NormFullWidthASCII},
		{"date_of_birth", "1990/3/4", "1990-03-04", NormDateForm},
		{"date_of_birth", "1990年3月4日", "1990-03-04", NormDateForm},
		{"date_of_birth", "1990-03-04", "1990-03-04", 0},
		// The compact forms of legacy municipal systems: YYYYMMDD, and the
		// era's code (1 明治 … 5 令和) or letter, then YYMMDD.
		{"date_of_birth", "19900304", "1990-03-04", NormDateForm},
		{"date_of_birth", "１９９００３０４", "1990-03-04", NormFullWidthASCII | NormDateForm},
		{"date_of_birth", " 19900304 ", "1990-03-04", NormTrim | NormDateForm},
		{"date_of_birth", "4020304", "1990-03-04", NormWareki},
		{"change_date", "5010501", "2019-05-01", NormWareki},
		{"date_of_birth", "3640107", "1989-01-07", NormWareki},
		{"date_of_birth", "H020304", "1990-03-04", NormWareki},
		{"date_of_birth", "４０２０３０４", "1990-03-04", NormFullWidthASCII | NormWareki},
		{"date_of_birth", "4310501", "4310501", 0},   // past 平成's end: refused
		{"date_of_birth", "19900230", "19900230", 0}, // no such day
		{"date_of_birth", "6010101", "6010101", 0},   // no era 6
		{"date_of_birth", "199003041", "199003041", 0},
		// A date past its era's end is not normalised: the check refuses it.
		{"date_of_birth", "平成31年5月1日", "平成31年5月1日", 0},
		{"date_of_birth", "", "", 0},
	}
	for _, tt := range tests {
		got, how := NormaliseField(tt.column, tt.in)
		if got != tt.want || how != tt.how {
			t.Errorf("NormaliseField(%s, %q) = %q, %q; want %q, %q", tt.column, tt.in, got, how.English(), tt.want, tt.how.English())
		}
		if again, how2 := NormaliseField(tt.column, got); again != got || how2 != 0 {
			t.Errorf("NormaliseField(%s, %q) = %q, %q: not idempotent", tt.column, got, again, how2.English())
		}
	}
}

// legacyFile is a file in the forms legacy municipal systems write: BOM,
// half-width readings, full-width codes, 和暦 dates, padded fields.
func legacyFile() string {
	rows := [][]string{
		CSVHeader,
		{"12345678903", "123456789018", "髙橋", "花子", "ﾀｶﾊｼ", "ﾊﾅｺ", "山田", "ﾔﾏﾀﾞ", "", "", "S45.3.2", "2", "東京都江東区東陽四丁目11番28号", "131083", "転入", "H13.4.1"},
		{"１０００００００００６", "983205673214", "渡邊", "次郎", "ﾜﾀﾅﾍﾞ", "ｼﾞﾛｳ", "", "", "", "", "平成2年9月9日", "１", "東京都江東区南砂二丁目3番", "131083", "転入", "令和元年5月1日"},
		{"10000000014", "894621308565", "鈴木", "一郎", "スズキ", "イチロウ", "", "", "", "", "1990-09-09", "1", "東京都江東区亀戸一丁目1番", "131083", "転入", "2020-01-01"},
	}
	var b strings.Builder
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	w.WriteAll(rows)
	return b.String()
}

func TestReadFileNormalisesLegacyForms(t *testing.T) {
	raw := legacyFile()
	sj, _, err := transform.String(japanese.ShiftJIS.NewEncoder(), strings.TrimPrefix(raw, "\uFEFF"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		data string
		enc  Encoding
		bom  bool
	}{{"utf-8 with BOM", raw, "", true}, {"cp932", sj, "", false}} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := ReadFile(strings.NewReader(tt.data), tt.enc, testNow, nil)
			if err != nil || len(f.Bad) > 0 || len(f.Rows) != 3 {
				t.Fatalf("ReadFile: %v %v %d rows", err, f.Bad, len(f.Rows))
			}
			if f.BOM != tt.bom {
				t.Errorf("BOM = %v", f.BOM)
			}
			if f.Rows[0].Record != sample {
				t.Errorf("row 1 = %+v, want %+v", f.Rows[0].Record, sample)
			}
			r := f.Rows[1].Record
			if r.ResidentCode != "10000000006" || r.FamilyNameKana != "ワタナベ" || r.GivenNameKana != "ジロウ" || r.Sex != SexMale ||
				r.DateOfBirth != Date(1990, 9, 9) || r.ChangeDate != Date(2019, 5, 1) {
				t.Errorf("row 2 = %+v", r)
			}
			if len(f.Rows[2].Changes) != 0 {
				t.Errorf("row 3 changed: %+v", f.Rows[2].Changes)
			}
			got := map[string]int{}
			for _, c := range CountChanges(f.Rows, f.BOM) {
				got[c.Column+" "+c.How.Japanese()] = c.Values
			}
			want := map[string]int{
				"family_name_kana 半角カナ→全角": 2, "given_name_kana 半角カナ→全角": 2, "former_surname_kana 半角カナ→全角": 1,
				"date_of_birth 和暦→西暦": 2, "change_date 和暦→西暦": 2,
				"resident_code 全角英数→半角": 1, "sex 全角英数→半角": 1,
			}
			if tt.bom {
				want[" BOMを除去"] = 1
			}
			if len(got) != len(want) {
				t.Errorf("counts %v, want %v", got, want)
			}
			for k, n := range want {
				if got[k] != n {
					t.Errorf("count %q = %d, want %d (all: %v)", k, got[k], n, got)
				}
			}
			var buf bytes.Buffer
			n, err := WriteNormReport(&buf, f.Encoding, f.Rows, f.BOM)
			if err != nil {
				t.Fatal(err)
			}
			text := buf.String()
			if tt.bom != strings.HasPrefix(text, "\uFEFF") {
				t.Errorf("report BOM: %q", text[:10])
			}
			text = strings.TrimPrefix(text, "\uFEFF")
			if f.Encoding == CP932 {
				text, _, _ = transform.String(japanese.ShiftJIS.NewDecoder(), text)
			}
			lines, err := csv.NewReader(strings.NewReader(text)).ReadAll()
			if err != nil || len(lines) != n+1 {
				t.Fatalf("report: %d values, %d lines, %v:\n%s", n, len(lines), err, text)
			}
			wantLine := []string{"3", "family_name_kana", "氏（フリガナ）", "半角カナ→全角", "ﾜﾀﾅﾍﾞ", "ワタナベ"}
			found := false
			for _, l := range lines {
				found = found || strings.Join(l, ",") == strings.Join(wantLine, ",")
			}
			if !found {
				t.Errorf("report lacks %v:\n%s", wantLine, text)
			}
		})
	}
}

// TestReadFileRefusesAfterNormalising: what is still wrong once normalised
// is refused as before, on its line and column, saying it was normalised;
// a date past its era's end names the day it is.
func TestReadFileRefusesAfterNormalising(t *testing.T) {
	rows := [][]string{CSVHeader,
		{"12345678903", "123456789018", "髙橋", "花子", "ﾀｶﾊｼA", "ﾊﾅｺ", "", "", "", "", "平成31年5月1日", "2", "東京都江東区東陽四丁目11番28号", "131083", "転入", "H13.4.1"},
	}
	var b strings.Builder
	csv.NewWriter(&b).WriteAll(rows)
	f, err := ReadFile(strings.NewReader(b.String()), "", testNow, nil)
	if err != nil || len(f.Rows) != 0 || len(f.Bad) != 2 {
		t.Fatalf("ReadFile: %v rows %v bad %v", err, f.Rows, f.Bad)
	}
	for i, want := range []struct{ column, says string }{
		{"date_of_birth", "that day is 令和元年5月1日 (2019-05-01)"},
		{"family_name_kana", "checked after normalisation: half-width katakana → full-width"},
	} {
		if e := f.Bad[i]; e.Line != 2 || e.Column != want.column || !strings.Contains(e.Reason, want.says) {
			t.Errorf("error %d = %v; want line 2, %s, saying %q", i, e, want.column, want.says)
		}
	}
}

// TestReadFileNormalisesCompactDates: the compact dates of legacy municipal
// systems (19900304, 4020304 for 平成2年3月4日) import as YYYY-MM-DD, each
// reported with its normalisation; the era and the date of birth are
// checked as in any other form.
func TestReadFileNormalisesCompactDates(t *testing.T) {
	row := func(code, birth, change string) []string {
		eleven := "1" + code[1:]
		number := eleven + strconv.Itoa(ids.IndividualNumberCheckDigit(eleven))
		return []string{code, number, "鈴木", "一郎", "スズキ", "イチロウ", "", "", "", "", birth, "1", "東京都江東区亀戸一丁目1番", "131083", "転入", change}
	}
	rows := [][]string{CSVHeader,
		row("12345678903", "19900304", "5010501"),
		row("10000000006", "4020304", "20190501"),
		row("10000000014", "H020304", "5080401"),
		row("10000000022", "4310501", "2020-01-01"),  // past 平成's end
		row("10000000030", "5080602", "2026-06-02"),  // born tomorrow (testNow is 2026-06-01)
		row("10000000049", "19900230", "2020-01-01"), // no such day
	}
	var b strings.Builder
	csv.NewWriter(&b).WriteAll(rows)
	f, err := ReadFile(strings.NewReader(b.String()), "", testNow, nil)
	if err != nil || len(f.Rows) != 3 {
		t.Fatalf("ReadFile: %v rows %+v bad %v", err, f.Rows, f.Bad)
	}
	for i, want := range []struct{ birth, change time.Time }{
		{Date(1990, 3, 4), Date(2019, 5, 1)},
		{Date(1990, 3, 4), Date(2019, 5, 1)},
		{Date(1990, 3, 4), Date(2026, 4, 1)},
	} {
		if r := f.Rows[i].Record; r.DateOfBirth != want.birth || r.ChangeDate != want.change {
			t.Errorf("row %d: born %v, changed %v; want %v, %v", i+1, r.DateOfBirth, r.ChangeDate, want.birth, want.change)
		}
	}
	changes := map[string]string{}
	for _, r := range f.Rows {
		for _, c := range r.Changes {
			changes[c.Original] = c.Column + " " + c.How.Japanese() + " " + c.Stored
		}
	}
	for orig, want := range map[string]string{
		"19900304": "date_of_birth 日付の書式→西暦YYYY-MM-DD 1990-03-04",
		"5010501":  "change_date 和暦→西暦 2019-05-01",
		"4020304":  "date_of_birth 和暦→西暦 1990-03-04",
		"20190501": "change_date 日付の書式→西暦YYYY-MM-DD 2019-05-01",
		"H020304":  "date_of_birth 和暦→西暦 1990-03-04",
		"5080401":  "change_date 和暦→西暦 2026-04-01",
	} {
		if changes[orig] != want {
			t.Errorf("change of %q = %q, want %q", orig, changes[orig], want)
		}
	}
	got := map[string]int{}
	for _, c := range CountChanges(f.Rows, f.BOM) {
		got[c.Column+" "+c.How.Japanese()] = c.Values
	}
	if want := map[string]int{"date_of_birth 日付の書式→西暦YYYY-MM-DD": 1, "date_of_birth 和暦→西暦": 2,
		"change_date 和暦→西暦": 2, "change_date 日付の書式→西暦YYYY-MM-DD": 1}; !maps.Equal(got, want) {
		t.Errorf("counts %v, want %v", got, want)
	}
	if len(f.Bad) != 3 {
		t.Fatalf("bad %v, want 3", f.Bad)
	}
	for i, want := range []struct {
		line   int
		column string
		says   string
	}{
		{5, "date_of_birth", "that day is 令和元年5月1日 (2019-05-01)"},
		{6, "date_of_birth", "2026-06-02 is after today (2026-06-01)"},
		{7, "date_of_birth", "no such day"},
	} {
		if e := f.Bad[i]; e.Line != want.line || e.Column != want.column || !strings.Contains(e.Reason, want.says) {
			t.Errorf("error %d = %v; want line %d, %s, saying %q", i, e, want.line, want.column, want.says)
		}
	}
}

// FuzzNormaliseIdempotent: normalising a normalised value changes nothing,
// in every column.
func FuzzNormaliseIdempotent(f *testing.F) {
	for _, s := range []string{"ﾜﾀﾅﾍﾞ ｼﾞﾛｳ", "H02.03.04", "平成元年1月8日", "１２３４", "　ｱﾞ　", "ﾟ", "Ｒ１．５．１", "1990/3/4", " \u3000x", "19900304", "4020304", "H020304", "１９９００３０４", "4310501"} {
		f.Add(uint8(4), s)
		f.Add(uint8(10), s)
	}
	f.Fuzz(func(t *testing.T, col uint8, s string) {
		column := CSVHeader[int(col)%len(CSVHeader)]
		once, _ := NormaliseField(column, s)
		if twice, how := NormaliseField(column, once); twice != once || how != 0 {
			t.Fatalf("NormaliseField(%s, %q) = %q, then %q (%s)", column, s, once, twice, how.English())
		}
	})
}

// TestNormaliseIdempotent is FuzzNormaliseIdempotent's property on strings
// drawn from what legacy files hold.
func TestNormaliseIdempotent(t *testing.T) {
	alphabet := []rune("ｱｲｳｶｷｸﾊﾋﾌﾜｦﾝﾞﾟｰ･｡｢ アガパー・ 　０１２３４５６７８９ＨＳＲ．／－0123456789HSRTM./-年月日元平成令和昭和大正明治渡辺abc")
	rapid.Check(t, func(t *rapid.T) {
		column := rapid.SampledFrom(CSVHeader).Draw(t, "column")
		n := rapid.IntRange(0, 16).Draw(t, "n")
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteRune(rapid.SampledFrom(alphabet).Draw(t, "r"))
		}
		once, _ := NormaliseField(column, b.String())
		if twice, how := NormaliseField(column, once); twice != once || how != 0 {
			t.Fatalf("NormaliseField(%s, %q) = %q, then %q (%s)", column, b.String(), once, twice, how.English())
		}
	})
}

package jptext

import (
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"
)

func TestWidenKana(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ﾜﾀﾅﾍﾞ", "ワタナベ"},
		{"ﾊﾟﾝﾀﾞ", "パンダ"},
		{"ﾎﾟﾙﾄｶﾞﾙ", "ポルトガル"},
		{"ｳﾞｧｲｵﾘﾝ", "ヴァイオリン"},
		{"ﾜﾞ", "ヷ"},
		{"ｦﾞ", "ヺ"},
		{"ｶﾞｯｺｳ", "ガッコウ"},
		{"ｼﾞｮﾝ･ｽﾐｽ", "ジョン・スミス"},
		{"ｺｰﾋｰ", "コーヒー"},
		{"ﾜﾀﾅﾍﾞ ｼﾞﾛｳ", "ワタナベ ジロウ"}, // spaces are the caller's (a reading widens them)
		{"｢ｱ｣｡､", "「ア」。、"},
		{"カﾞ", "ガ"},   // a half-width mark after a full-width kana joins it
		{"ｱﾞ", "ア゛"},  // no such letter: the spacing mark stays, for the field rule to refuse
		{"ﾟﾊ", "゜ハ"},  // a mark at the start joins nothing
		{"ﾊﾟﾟ", "パ゜"}, // nor does a second one
		{"渡辺", "渡辺"},  // nothing to widen
		{"ABC 123", "ABC 123"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := WidenKana(tt.in); got != tt.want {
			t.Errorf("WidenKana(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNarrowASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"１２３４５６７８９０１", "12345678901"},
		{"Ｈ２．３．４", "H2.3.4"},
		{"ｍｏｖｅ＿ｉｎ", "move_in"},
		{"１９９０－０３－０４", "1990-03-04"},
		{"　１　", " 1 "},
		{"平成２年", "平成2年"},   // the kanji are kept
		{"ﾜﾀﾅﾍﾞ", "ﾜﾀﾅﾍﾞ"}, // half-width kana are no ASCII
		{"12345678901", "12345678901"},
	}
	for _, tt := range tests {
		if got := NarrowASCII(tt.in); got != tt.want {
			t.Errorf("NarrowASCII(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestParseDateForms: each era, in each form legacy files write, and the
// eras' first and last days; a day past an era's end is refused, naming
// the day it is.
func TestParseDateForms(t *testing.T) {
	ok := []struct {
		in   string
		want time.Time
		form DateForm
	}{
		{"H2.3.4", date(1990, 3, 4), DateWareki},
		{"H02.03.04", date(1990, 3, 4), DateWareki},
		{"h2/3/4", date(1990, 3, 4), DateWareki},
		{"平成2年3月4日", date(1990, 3, 4), DateWareki},
		{"平成元年1月8日", date(1989, 1, 8), DateWareki},
		{"平成31年4月30日", date(2019, 4, 30), DateWareki},
		{"H31.4.30", date(2019, 4, 30), DateWareki},
		{"R1.5.1", date(2019, 5, 1), DateWareki},
		{"令和元年5月1日", date(2019, 5, 1), DateWareki},
		{"令和8年11月22日", date(2026, 11, 22), DateWareki},
		{"S64.1.7", date(1989, 1, 7), DateWareki},
		{"昭和元年12月25日", date(1926, 12, 25), DateWareki},
		{"S45.3.2", date(1970, 3, 2), DateWareki},
		{"Ｓ４５．３．２", date(1970, 3, 2), DateWareki},
		{"T15.12.24", date(1926, 12, 24), DateWareki},
		{"大正元年7月30日", date(1912, 7, 30), DateWareki},
		{"M45.7.29", date(1912, 7, 29), DateWareki},
		{"明治6年1月1日", date(1873, 1, 1), DateWareki},
		{"1990-03-04", date(1990, 3, 4), DateISO},
		{"1990/3/4", date(1990, 3, 4), DateSeireki},
		{"1990年3月4日", date(1990, 3, 4), DateSeireki},
		{"１９９０－０３－０４", date(1990, 3, 4), DateSeireki},
		// The compact forms of legacy municipal systems.
		{"19900304", date(1990, 3, 4), DateSeireki},
		{"１９９００３０４", date(1990, 3, 4), DateSeireki},
		{" 19900304　", date(1990, 3, 4), DateSeireki},
		{"20190501", date(2019, 5, 1), DateSeireki},
		{"4020304", date(1990, 3, 4), DateWareki},
		{"４０２０３０４", date(1990, 3, 4), DateWareki},
		{"5010501", date(2019, 5, 1), DateWareki},
		{"4310430", date(2019, 4, 30), DateWareki},
		{"4010108", date(1989, 1, 8), DateWareki},
		{"3640107", date(1989, 1, 7), DateWareki},
		{"3451225", date(1970, 12, 25), DateWareki},
		{"2150101", date(1926, 1, 1), DateWareki}, // 大正15年, still 大正
		{"2151224", date(1926, 12, 24), DateWareki},
		{"2010730", date(1912, 7, 30), DateWareki},
		{"1450729", date(1912, 7, 29), DateWareki},
		{"1060101", date(1873, 1, 1), DateWareki},
		{"H020304", date(1990, 3, 4), DateWareki},
		{"h020304", date(1990, 3, 4), DateWareki},
		{"Ｈ０２０３０４", date(1990, 3, 4), DateWareki},
		{"R010501", date(2019, 5, 1), DateWareki},
		// Era years of four digits: every day to 9999 reads back as 和暦
		// (FuzzParseDate found 70000101 written as 令和4982年1月1日).
		{"令和4982年1月1日", date(7000, 1, 1), DateWareki},
		{"R7981.12.31", date(9999, 12, 31), DateWareki},
		{"70000101", date(7000, 1, 1), DateSeireki},
		{"S640107", date(1989, 1, 7), DateWareki},
	}
	for _, tt := range ok {
		got, form, err := ParseDateForm(tt.in)
		if err != nil || !got.Equal(tt.want) || form != tt.form {
			t.Errorf("ParseDateForm(%q) = %v, %v, %v; want %v, %v", tt.in, got.Format(time.DateOnly), form, err, tt.want.Format(time.DateOnly), tt.form)
		}
	}
	bad := []struct{ in, says string }{
		{"平成31年5月1日", "that day is 令和元年5月1日 (2019-05-01)"},
		{"H31.5.1", "that day is 令和元年5月1日 (2019-05-01)"},
		{"平成32年1月1日", "that day is 令和2年1月1日 (2020-01-01)"},
		{"令和元年4月30日", "that day is 平成31年4月30日 (2019-04-30)"},
		{"昭和64年1月8日", "that day is 平成元年1月8日 (1989-01-08)"},
		{"平成元年1月7日", "that day is 昭和64年1月7日 (1989-01-07)"},
		{"T15.12.25", "that day is 昭和元年12月25日 (1926-12-25)"},
		{"大正元年7月29日", "that day is 明治45年7月29日 (1912-07-29)"},
		{"M45.7.30", "that day is 大正元年7月30日 (1912-07-30)"},
		{"H2.2.30", "no such day"},
		{"R0.1.1", "era year must be 1 or more"},
		{"X2.3.4", "write it as"},
		// The compact forms keep every rule of the others.
		{"4310501", "that day is 令和元年5月1日 (2019-05-01)"},
		{"H310501", "that day is 令和元年5月1日 (2019-05-01)"},
		{"5010430", "that day is 平成31年4月30日 (2019-04-30)"},
		{"3640108", "that day is 平成元年1月8日 (1989-01-08)"},
		{"4010107", "that day is 昭和64年1月7日 (1989-01-07)"},
		{"2151225", "that day is 昭和元年12月25日 (1926-12-25)"},
		{"2160101", "that day is 昭和2年1月1日 (1927-01-01)"},
		{"1450730", "that day is 大正元年7月30日 (1912-07-30)"},
		{"2010729", "that day is 明治45年7月29日 (1912-07-29)"},
		{"1051231", "not within 明治"},
		{"19900230", "no such day"},
		{"19901301", "no such day"},
		{"19900001", "no such day"},
		{"4020230", "no such day"},
		{"H020230", "no such day"},
		{"4000101", "era year must be 1 or more"},
		{"R000501", "era year must be 1 or more"},
		{"1990030", "no such day"}, // 7 digits, era code 1: 明治99年0月30日
		{"199003041", "write it as"},
		{"199034", "write it as"},
		{"6010101", "write it as"},
		{"9020304", "write it as"},
		{"0010101", "write it as"},
		{"H20304", "write it as"},
		{"H0203041", "write it as"},
		{"X020304", "write it as"},
		{"1990 0304", "write it as"},
		{"402 0304", "write it as"},
		{"H02 0304", "write it as"},
		{"-1990304", "write it as"},
		{"M1000.1.1", "that day is 令和849年1月1日 (2867-01-01)"},
		{"令和10000年1月1日", "write it as"},
	}
	for _, tt := range bad {
		_, _, err := ParseDateForm(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("ParseDateForm(%q): %v; want an error saying %q", tt.in, err, tt.says)
		}
	}
}

// TestWidthIdempotent: widening and narrowing twice gives what once gives.
func TestWidthIdempotent(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := textGen().Draw(t, "s")
		for name, f := range map[string]func(string) string{"WidenKana": WidenKana, "NarrowASCII": NarrowASCII} {
			once := f(s)
			if twice := f(once); twice != once {
				t.Fatalf("%s not idempotent on %q: %q then %q", name, s, once, twice)
			}
		}
	})
}

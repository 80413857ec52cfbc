package jptext

import (
	"testing"
	"time"
)

func TestFormatWareki(t *testing.T) {
	tests := []struct {
		d    time.Time
		want string
	}{
		{date(2019, 5, 1), "令和元年5月1日"},
		{date(2019, 4, 30), "平成31年4月30日"},
		{date(1989, 1, 8), "平成元年1月8日"},
		{date(1989, 1, 7), "昭和64年1月7日"},
		{date(1926, 12, 25), "昭和元年12月25日"},
		{date(1926, 12, 24), "大正15年12月24日"},
		{date(1912, 7, 30), "大正元年7月30日"},
		{date(1912, 7, 29), "明治45年7月29日"},
		{date(1873, 1, 1), "明治6年1月1日"},
		{date(1872, 12, 31), "1872年12月31日"},
		{date(2026, 11, 22), "令和8年11月22日"},
	}
	for _, tt := range tests {
		if got := FormatWareki(tt.d); got != tt.want {
			t.Errorf("FormatWareki(%s) = %q, want %q", tt.d.Format(time.DateOnly), got, tt.want)
		}
	}
	if got, want := FormatBoth(date(2019, 5, 1)), "令和元年5月1日（2019年5月1日）"; got != want {
		t.Errorf("FormatBoth = %q, want %q", got, want)
	}
}

func TestParseDate(t *testing.T) {
	ok := map[string]time.Time{
		"令和元年5月1日":    date(2019, 5, 1),
		"令和1年5月1日":    date(2019, 5, 1),
		"R1.5.1":      date(2019, 5, 1),
		"r01/05/01":   date(2019, 5, 1),
		"Ｓ４５．３．２":     date(1970, 3, 2),
		"昭和64年1月7日":   date(1989, 1, 7),
		"2019-05-01":  date(2019, 5, 1),
		"2019/5/1":    date(2019, 5, 1),
		"２０１９年５月１日":   date(2019, 5, 1),
		" 平成 元年1月8日 ": date(1989, 1, 8),
		"19900304":    date(1990, 3, 4),
		"１９９００３０４":    date(1990, 3, 4),
		"4020304":     date(1990, 3, 4),
		"5010501":     date(2019, 5, 1),
		"H020304":     date(1990, 3, 4),
	}
	for in, want := range ok {
		got, err := ParseDate(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	bad := []string{"令和元年4月30日", "平成31年5月1日", "昭和64年1月8日", "R0.1.1", "2019-02-29", "2019-13-01", "5/1", "", "明日",
		"4310501", "1450730", "2151225", "19900230", "4020230", "1990030", "199003041", "6010101", "0010101", "1990 0304"}
	for _, in := range bad {
		if got, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) = %v, want error", in, got)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"令和元年5月1日", "R1.5.1", "2019-05-01", "H31.4.30", "明治6年1月1日", "19900304", "4020304", "5010501", "H020304", "１９９００３０４"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			return
		}
		// Whatever parses formats back to a string that parses to the same day.
		for _, text := range []string{FormatWareki(d), d.Format(time.DateOnly)} {
			again, err := ParseDate(text)
			if err != nil || !again.Equal(d) {
				t.Fatalf("ParseDate(%q) = %v; ParseDate(%q) = %v, %v", s, d, text, again, err)
			}
		}
	})
}

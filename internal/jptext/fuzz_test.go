package jptext

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzFormatParseDate: every day from 1873 (the Gregorian calendar's
// adoption) to 9999, written as the screens write it (和暦, 西暦, both
// styles of era letter) or as legacy municipal systems export it
// (19900304; 4020304 and H020304 while the era year has two digits), reads
// back as the same day; the era letter form is the one the clerk types.
func FuzzFormatParseDate(f *testing.F) {
	for _, d := range []int32{0, 14000, 42000, 53000, 53001, 66000, 106000} {
		f.Add(d)
	}
	for _, d := range []time.Time{date(1990, 3, 4), date(2019, 5, 1), date(2019, 4, 30), date(1912, 7, 30), date(2117, 12, 31), date(2118, 1, 1), date(7000, 1, 1), date(9999, 12, 31)} {
		f.Add(int32(d.Sub(date(1873, 1, 1)).Hours() / 24))
	}
	f.Fuzz(func(t *testing.T, days int32) {
		first := date(1873, 1, 1)
		last := date(9999, 12, 31)
		d := first.AddDate(0, 0, int(days))
		if d.Before(first) || d.After(last) {
			return
		}
		w, ok := ToWareki(d)
		if !ok {
			t.Fatalf("%v has no era date", d)
		}
		texts := []string{FormatWareki(d), FormatSeireki(d), d.Format(time.DateOnly),
			w.Era.Letter + strings.Join([]string{strconv.Itoa(w.Year), strconv.Itoa(int(w.Month)), strconv.Itoa(w.Day)}, "."),
			strings.ReplaceAll(FormatWareki(d), "元年", "1年"),
			d.Format("20060102")}
		if w.Year < 100 {
			yymmdd := fmt.Sprintf("%02d%02d%02d", w.Year, int(w.Month), w.Day)
			texts = append(texts, strconv.Itoa(eraCode(t, w.Era))+yymmdd, w.Era.Letter+yymmdd)
		}
		for _, text := range texts {
			got, err := ParseDate(text)
			if err != nil || !got.Equal(d) {
				t.Fatalf("%v written as %q reads as %v, %v", d, text, got, err)
			}
		}
	})
}

// eraCode is the code legacy systems give era e: 1 明治 to 5 令和.
func eraCode(t *testing.T, e Era) int {
	for i := range Eras {
		if Eras[i].Name == e.Name {
			return i + 1
		}
	}
	t.Fatalf("no era %s", e.Name)
	return 0
}

// FuzzParseDateErrors: a date that does not read is refused with a message
// that is valid text and quotes what was typed (replacing bytes that are
// not UTF-8), never with an empty or garbled one.
func FuzzParseDateErrors(f *testing.F) {
	for _, s := range []string{"令和元年4月30日", "R0.1.1", "2019-02-29", "\xff令和", "明日", "H31.13.1", "",
		"4310501", "1450730", "19900230", "4020230", "1990030", "199003041", "6010101", "0010101", "１９９００３０４"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, err := ParseDate(s)
		if err == nil {
			return
		}
		msg := err.Error()
		if !utf8.ValidString(msg) || !strings.HasPrefix(msg, "date ") {
			t.Fatalf("ParseDate(%q): %q", s, msg)
		}
	})
}

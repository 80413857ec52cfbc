package jptext

import (
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzFormatParseDate: every day from 1873 (the Gregorian calendar's
// adoption) to 9999, written as the screens write it (和暦, 西暦, both
// styles of era letter), reads back as the same day; the era letter form
// is the one the clerk types.
func FuzzFormatParseDate(f *testing.F) {
	for _, d := range []int32{0, 14000, 42000, 53000, 53001, 66000, 106000} {
		f.Add(d)
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
			strings.ReplaceAll(FormatWareki(d), "元年", "1年")}
		for _, text := range texts {
			got, err := ParseDate(text)
			if err != nil || !got.Equal(d) {
				t.Fatalf("%v written as %q reads as %v, %v", d, text, got, err)
			}
		}
	})
}

// FuzzParseDateErrors: a date that does not read is refused with a message
// that is valid text and quotes what was typed (replacing bytes that are
// not UTF-8), never with an empty or garbled one.
func FuzzParseDateErrors(f *testing.F) {
	for _, s := range []string{"令和元年4月30日", "R0.1.1", "2019-02-29", "\xff令和", "明日", "H31.13.1", ""} {
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

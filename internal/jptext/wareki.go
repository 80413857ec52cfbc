package jptext

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Era is a Japanese era (元号).
type Era struct {
	Name   string // 令和
	Letter string // R
	Start  time.Time
}

// Eras lists the eras jukinet formats, oldest first, with the Gregorian day
// each began. 明治 is shown only from 1873-01-01 (明治6年), when Japan moved to
// the Gregorian calendar; earlier dates of 明治 are lunisolar ones.
var Eras = []Era{
	{"明治", "M", date(1868, 10, 23)},
	{"大正", "T", date(1912, 7, 30)},
	{"昭和", "S", date(1926, 12, 25)},
	{"平成", "H", date(1989, 1, 8)},
	{"令和", "R", date(2019, 5, 1)},
}

// gregorianAdoption is the first day a Gregorian date has a 和暦 equivalent
// with the same month and day.
var gregorianAdoption = date(1873, 1, 1)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// WarekiDate is a date in an era: 令和元年5月1日 is {令和, 1, 5, 1}.
type WarekiDate struct {
	Era   Era
	Year  int
	Month time.Month
	Day   int
}

// ToWareki returns the era date of t (its year, month and day; the clock and
// zone are ignored). ok is false before 1873-01-01.
func ToWareki(t time.Time) (WarekiDate, bool) {
	d := date(t.Year(), t.Month(), t.Day())
	if d.Before(gregorianAdoption) {
		return WarekiDate{}, false
	}
	for i := len(Eras) - 1; i >= 0; i-- {
		if !d.Before(Eras[i].Start) {
			e := Eras[i]
			return WarekiDate{Era: e, Year: d.Year() - e.Start.Year() + 1, Month: d.Month(), Day: d.Day()}, true
		}
	}
	return WarekiDate{}, false
}

// String formats the date as 令和元年5月1日.
func (w WarekiDate) String() string {
	y := strconv.Itoa(w.Year)
	if w.Year == 1 {
		y = "元"
	}
	return fmt.Sprintf("%s%s年%d月%d日", w.Era.Name, y, int(w.Month), w.Day)
}

// FormatWareki formats t as 令和元年5月1日, or as 1872年12月31日 when it has no
// era date.
func FormatWareki(t time.Time) string {
	if w, ok := ToWareki(t); ok {
		return w.String()
	}
	return FormatSeireki(t)
}

// FormatSeireki formats t as 2019年5月1日; the year has four digits, as
// ParseDate reads it back (0999年1月1日).
func FormatSeireki(t time.Time) string {
	return fmt.Sprintf("%04d年%d月%d日", t.Year(), int(t.Month()), t.Day())
}

// JST is Japan Standard Time (UTC+9, no daylight saving time), the zone
// dates and times are shown in.
var JST = time.FixedZone("JST", 9*3600)

// FormatBoth formats t as 令和元年5月1日（2019年5月1日）, the form screens use.
func FormatBoth(t time.Time) string {
	if w, ok := ToWareki(t); ok {
		return w.String() + "（" + FormatSeireki(t) + "）"
	}
	return FormatSeireki(t)
}

var (
	// An era year has up to four digits: 9999-12-31 is 令和7981年12月31日.
	warekiKanji  = regexp.MustCompile(`^(明治|大正|昭和|平成|令和)(元|\d{1,4})年(\d{1,2})月(\d{1,2})日$`)
	warekiLetter = regexp.MustCompile(`^([MTSHR])(\d{1,4})[./\-](\d{1,2})[./\-](\d{1,2})$`)
	seirekiKanji = regexp.MustCompile(`^(\d{4})年(\d{1,2})月(\d{1,2})日$`)
	seirekiDash  = regexp.MustCompile(`^(\d{4})[./\-](\d{1,2})[./\-](\d{1,2})$`)
	// The compact forms of legacy municipal systems (住民記録システム):
	// 19900304 (YYYYMMDD), 4020304 (the era's code, then YYMMDD) and
	// H020304 (the era's letter, then YYMMDD). Only exactly these lengths
	// read, and the era codes 1 to 5: 1990030 or 6010101 is refused.
	seirekiCompact = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	warekiCode     = regexp.MustCompile(`^([1-5])(\d{2})(\d{2})(\d{2})$`)
	warekiCompact  = regexp.MustCompile(`^([MTSHR])(\d{2})(\d{2})(\d{2})$`)
)

// eraCodes are the era codes of the 7-digit form 4020304 (平成2年3月4日), the
// one legacy municipal systems write: 1 明治, 2 大正, 3 昭和, 4 平成, 5 令和.
var eraCodes = map[string]string{"1": "明治", "2": "大正", "3": "昭和", "4": "平成", "5": "令和"}

// ParseDate reads a date the way clerks write one: 令和元年5月1日, 令和1年5月1日,
// R1.5.1, r01/05/01, 2019年5月1日, 2019-05-01 or 2019/5/1, in full- or
// half-width characters; and as legacy municipal systems export one:
// 20190501 (YYYYMMDD), 5010501 (the era's code, 1 明治 to 5 令和, then
// YYMMDD) or R010501. An era date must lie within its era: 平成31年5月1日
// (or 4310501) is refused, naming the day it is (令和元年5月1日).
func ParseDate(s string) (time.Time, error) {
	t, _, err := ParseDateForm(s)
	return t, err
}

// DateForm is how a date ParseDateForm read was written.
type DateForm int

// The forms of a date.
const (
	// DateISO is 2019-05-01 exactly, in half-width digits.
	DateISO DateForm = iota + 1
	// DateSeireki is another Gregorian form: 2019/5/1, 2019年5月1日,
	// 20190501, full-width digits.
	DateSeireki
	// DateWareki is an era date: 令和元年5月1日, R1.5.1, 5010501, R010501.
	DateWareki
)

// ParseDateForm is ParseDate, saying also how the date was written.
func ParseDateForm(s string) (time.Time, DateForm, error) {
	t, era, err := parseDate(s)
	switch {
	case err != nil:
		return time.Time{}, 0, err
	case era:
		return t, DateWareki, nil
	case s == t.Format(time.DateOnly):
		return t, DateISO, nil
	}
	return t, DateSeireki, nil
}

// parseDate is ParseDate, saying also whether the date was an era date.
func parseDate(s string) (time.Time, bool, error) {
	nfkc := norm.NFKC.String(s)
	in := strings.ToUpper(strings.Join(strings.Fields(nfkc), ""))
	// The compact forms are read only as written, without spaces inside:
	// their fields have no separators, so "1990 0304" is no date.
	compact := in == strings.ToUpper(strings.TrimSpace(nfkc))
	var y, m, d int
	var era *Era
	switch {
	case warekiKanji.MatchString(in):
		p := warekiKanji.FindStringSubmatch(in)
		era = eraByName(p[1])
		y = atoiOr(p[2], 1)
		m, d = atoiOr(p[3], 0), atoiOr(p[4], 0)
	case warekiLetter.MatchString(in):
		p := warekiLetter.FindStringSubmatch(in)
		era = eraByLetter(p[1])
		y, m, d = atoiOr(p[2], 0), atoiOr(p[3], 0), atoiOr(p[4], 0)
	case seirekiKanji.MatchString(in):
		p := seirekiKanji.FindStringSubmatch(in)
		y, m, d = atoiOr(p[1], 0), atoiOr(p[2], 0), atoiOr(p[3], 0)
	case seirekiDash.MatchString(in):
		p := seirekiDash.FindStringSubmatch(in)
		y, m, d = atoiOr(p[1], 0), atoiOr(p[2], 0), atoiOr(p[3], 0)
	case compact && seirekiCompact.MatchString(in):
		p := seirekiCompact.FindStringSubmatch(in)
		y, m, d = atoiOr(p[1], 0), atoiOr(p[2], 0), atoiOr(p[3], 0)
	case compact && warekiCode.MatchString(in):
		p := warekiCode.FindStringSubmatch(in)
		era = eraByName(eraCodes[p[1]])
		y, m, d = atoiOr(p[2], 0), atoiOr(p[3], 0), atoiOr(p[4], 0)
	case compact && warekiCompact.MatchString(in):
		p := warekiCompact.FindStringSubmatch(in)
		era = eraByLetter(p[1])
		y, m, d = atoiOr(p[2], 0), atoiOr(p[3], 0), atoiOr(p[4], 0)
	default:
		return time.Time{}, false, fmt.Errorf("date %q: write it as 令和元年5月1日, R1.5.1, 2019-05-01, 20190501 or 5010501 (era code 1 明治 to 5 令和, then YYMMDD)", shownText(s))
	}
	if era != nil {
		if y < 1 {
			return time.Time{}, false, fmt.Errorf("date %q: era year must be 1 or more", shownText(s))
		}
		y += era.Start.Year() - 1
	}
	t := date(y, time.Month(m), d)
	if m < 1 || m > 12 || d < 1 || t.Month() != time.Month(m) || t.Day() != d {
		return time.Time{}, false, fmt.Errorf("date %q: no such day", shownText(s))
	}
	if era != nil {
		w, ok := ToWareki(t)
		if !ok || w.Era.Name != era.Name {
			msg := fmt.Sprintf("date %q: not within %s (%s)", shownText(s), era.Name, eraSpan(era))
			if ok {
				// 平成31年5月1日 counts on past the era's end: name the day.
				msg += fmt.Sprintf("; that day is %s (%s)", w, t.Format(time.DateOnly))
			}
			return time.Time{}, false, errors.New(msg)
		}
	}
	return t, era != nil, nil
}

func eraSpan(e *Era) string {
	for i := range Eras {
		if Eras[i].Name == e.Name && i+1 < len(Eras) {
			return fmt.Sprintf("%s to %s", e.Start.Format(time.DateOnly), Eras[i+1].Start.AddDate(0, 0, -1).Format(time.DateOnly))
		}
	}
	return "from " + e.Start.Format(time.DateOnly)
}

func eraByName(n string) *Era {
	for i := range Eras {
		if Eras[i].Name == n {
			return &Eras[i]
		}
	}
	return nil
}

func eraByLetter(l string) *Era {
	for i := range Eras {
		if Eras[i].Letter == l {
			return &Eras[i]
		}
	}
	return nil
}

func atoiOr(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		return def
	}
	return n
}

func shownText(s string) string { return strings.ToValidUTF8(s, "\uFFFD") }

// Midnight is the start of t's day in Japan Standard Time: the instant a
// day-long period (a contract's, an approval's) starts.
func Midnight(t time.Time) time.Time {
	t = t.In(JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, JST)
}

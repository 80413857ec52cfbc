package jptext

import (
	"math"
	"time"
)

// Holiday returns the name of the national holiday (国民の祝日, or a day the
// Act on National Holidays makes a rest day: 振替休日, 国民の休日) that the
// day of t falls on, in Japan. It follows the Act as it stands since 2020,
// including the moved holidays of 2020 and 2021 (the Tokyo Games); the
// equinoxes are computed by the usual formula, valid 1980–2099.
func Holiday(t time.Time) (string, bool) {
	t = t.In(JST)
	y, m, d := t.Date()
	if name, ok := namedHoliday(y, m, d); ok {
		return name, true
	}
	day := time.Date(y, m, d, 0, 0, 0, 0, JST)
	// 振替休日: a holiday on a Sunday moves the rest to the next day that
	// is not a holiday.
	for back := day.AddDate(0, 0, -1); ; back = back.AddDate(0, 0, -1) {
		by, bm, bd := back.Date()
		if _, ok := namedHoliday(by, bm, bd); !ok {
			break
		}
		if back.Weekday() == time.Sunday {
			return "振替休日", true
		}
	}
	// 国民の休日: a day between two holidays.
	py, pm, pd := day.AddDate(0, 0, -1).Date()
	ny, nm, nd := day.AddDate(0, 0, 1).Date()
	_, before := namedHoliday(py, pm, pd)
	_, after := namedHoliday(ny, nm, nd)
	if before && after && day.Weekday() != time.Sunday {
		return "国民の休日", true
	}
	return "", false
}

// namedHoliday reports the holidays the Act names, by date.
func namedHoliday(y int, m time.Month, d int) (string, bool) {
	nthMonday := func(n int) int {
		first := time.Date(y, m, 1, 0, 0, 0, 0, JST).Weekday()
		return 1 + (int(time.Monday)-int(first)+7)%7 + 7*(n-1)
	}
	switch m {
	case time.January:
		switch d {
		case 1:
			return "元日", true
		case nthMonday(2):
			return "成人の日", true
		}
	case time.February:
		switch {
		case d == 11:
			return "建国記念の日", true
		case d == 23 && y >= 2020:
			return "天皇誕生日", true
		}
	case time.March:
		if d == equinox(y, 20.8431) {
			return "春分の日", true
		}
	case time.April:
		if d == 29 {
			return "昭和の日", true
		}
	case time.May:
		switch d {
		case 3:
			return "憲法記念日", true
		case 4:
			return "みどりの日", true
		case 5:
			return "こどもの日", true
		}
	case time.July:
		switch {
		case y == 2020 && d == 23, y == 2021 && d == 22, y != 2020 && y != 2021 && d == nthMonday(3):
			return "海の日", true
		case y == 2020 && d == 24, y == 2021 && d == 23:
			return "スポーツの日", true
		}
	case time.August:
		switch {
		case y == 2020 && d == 10, y == 2021 && d == 8, y != 2020 && y != 2021 && d == 11:
			return "山の日", true
		}
	case time.September:
		switch d {
		case nthMonday(3):
			return "敬老の日", true
		case equinox(y, 23.2488):
			return "秋分の日", true
		}
	case time.October:
		if d == nthMonday(2) && y != 2020 && y != 2021 {
			return "スポーツの日", true
		}
	case time.November:
		switch d {
		case 3:
			return "文化の日", true
		case 23:
			return "勤労感謝の日", true
		}
	}
	return "", false
}

// equinox is the day of the month of the vernal (base 20.8431) or
// autumnal (23.2488) equinox in year y, by the formula used for 1980–2099.
func equinox(y int, base float64) int {
	return int(math.Floor(base+0.242194*float64(y-1980))) - (y-1980)/4
}

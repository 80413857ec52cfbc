package jptext

import (
	"slices"
	"testing"
	"time"
)

// TestHolidays compares whole years with the Cabinet Office's published
// lists of national holidays (国民の祝日・休日).
func TestHolidays(t *testing.T) {
	for year, want := range map[int][]string{
		2021: {"01-01", "01-11", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "07-22", "07-23", "08-08", "08-09",
			"09-20", "09-23", "11-03", "11-23"},
		2025: {"01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06", "07-21", "08-11",
			"09-15", "09-23", "10-13", "11-03", "11-23", "11-24"},
		2026: {"01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06", "07-20", "08-11",
			"09-21", "09-22", "09-23", "10-12", "11-03", "11-23"},
	} {
		var got []string
		for d := time.Date(year, 1, 1, 12, 0, 0, 0, JST); d.Year() == year; d = d.AddDate(0, 0, 1) {
			if _, ok := Holiday(d); ok {
				got = append(got, d.Format("01-02"))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%d:\n got  %v\n want %v", year, got, want)
		}
	}
	if name, _ := Holiday(time.Date(2026, 9, 22, 9, 0, 0, 0, JST)); name != "国民の休日" {
		t.Errorf("2026-09-22: %q", name)
	}
	if name, _ := Holiday(time.Date(2025, 11, 24, 9, 0, 0, 0, JST)); name != "振替休日" {
		t.Errorf("2025-11-24: %q", name)
	}
	// The day is the day in Japan: 15:00 UTC on 2 May is 3 May in Japan.
	if _, ok := Holiday(time.Date(2026, 5, 2, 15, 0, 0, 0, time.UTC)); !ok {
		t.Error("3 May in Japan, given in UTC, is not a holiday")
	}
}

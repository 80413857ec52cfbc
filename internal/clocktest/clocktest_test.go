package clocktest

import (
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"", DefaultStart, false},
		{"2026-12-27", time.Date(2026, 12, 27, 10, 0, 0, 0, jst), false},
		{"2027-01-01T23:59:30+09:00", time.Date(2027, 1, 1, 23, 59, 30, 0, jst), false},
		{"2027-01-01T00:00:00Z", time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), false},
		{"tomorrow", time.Time{}, true},
		{"2026-13-01", time.Time{}, true},
	} {
		got, err := Parse(tt.in)
		if (err != nil) != tt.bad || !got.Equal(tt.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

func TestClockSetsAndMoves(t *testing.T) {
	start := time.Date(2026, 12, 29, 17, 14, 0, 0, jst)
	c := Frozen(start)
	if !c.Now().Equal(start) {
		t.Fatalf("frozen clock shows %v", c.Now())
	}
	c.Advance(2 * time.Minute)
	if want := start.Add(2 * time.Minute); !c.Now().Equal(want) {
		t.Errorf("advanced: %v, want %v", c.Now(), want)
	}
	m := At(start)
	if got := m.Now(); got.Before(start) || got.Sub(start) > time.Minute {
		t.Errorf("moving clock started at %v, shows %v", start, got)
	}
	m.Set(start.AddDate(1, 0, 0))
	if got := m.Now(); got.Year() != 2027 {
		t.Errorf("set to 2027, shows %v", got)
	}
}

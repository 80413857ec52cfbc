// Package clocktest gives tests a clock that never reads today's date, so
// the suite passes on a Sunday, a holiday, 29 December and 1 January alike.
//
// A Clock starts at a fixed instant and then moves with the time that
// really elapses (the monotonic clock), so timeouts and orderings behave as
// they do in production while the date stays the test's choice. The
// instant is, unless a test sets its own, Start(): Tuesday 1 December 2026
// at 10:00 in Japan, or the value of JUKINET_TEST_NOW, with which the
// whole suite is run on a chosen day:
//
//	JUKINET_TEST_NOW=2026-12-27 go test ./...                 # a Sunday, 10:00 JST
//	JUKINET_TEST_NOW=2027-01-01T23:59:30+09:00 go test ./...  # New Year's Day, near midnight
//
// The system clock is never changed. TLS certificate validity stays on
// the system clock on both sides of a handshake, as it does in production.
package clocktest

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// EnvNow names the variable that moves every test clock's starting instant:
// a date (YYYY-MM-DD, read as 10:00 in Japan) or an RFC 3339 time.
const EnvNow = "JUKINET_TEST_NOW"

// jst is Japan Standard Time (no daylight saving); jptext.JST is the same
// zone, not imported here so that any package's tests can use this one.
var jst = time.FixedZone("JST", 9*60*60)

// DefaultStart is the instant test clocks start at when JUKINET_TEST_NOW is
// unset: an ordinary office morning, Tuesday 1 December 2026, 10:00 JST.
var DefaultStart = time.Date(2026, 12, 1, 10, 0, 0, 0, jst)

var (
	startOnce sync.Once
	start     time.Time
	startErr  error
)

// Start is the instant every test clock starts at: JUKINET_TEST_NOW if set,
// DefaultStart otherwise. A value that cannot be read panics, naming the
// variable, rather than silently testing another day.
func Start() time.Time {
	startOnce.Do(func() {
		start, startErr = Parse(os.Getenv(EnvNow))
	})
	if startErr != nil {
		panic(startErr)
	}
	return start
}

// Parse reads a JUKINET_TEST_NOW value: empty (DefaultStart), a date
// (10:00 JST that day) or an RFC 3339 time.
func Parse(v string) (time.Time, error) {
	if v == "" {
		return DefaultStart, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, v, jst); err == nil {
		return t.Add(10 * time.Hour), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s=%q: want a date (2026-12-27) or an RFC 3339 time (2026-12-27T23:59:30+09:00)", EnvNow, v)
	}
	return t, nil
}

// Clock is a test's clock. Its zero value is not usable; call New or At.
type Clock struct {
	mu     sync.Mutex
	base   time.Time // the instant the clock showed at mark
	mark   time.Time // when base was set, on the monotonic clock
	frozen bool
}

// New returns a clock that starts at Start() and moves with elapsed time.
func New() *Clock { return At(Start()) }

// At returns a clock that starts at t and moves with elapsed time.
func At(t time.Time) *Clock {
	return &Clock{base: t, mark: time.Now()}
}

// Frozen returns a clock that shows t until it is set or advanced.
func Frozen(t time.Time) *Clock {
	return &Clock{base: t, mark: time.Now(), frozen: true}
}

// Now is the clock's current time. Pass the method value (c.Now) wherever
// a package takes a func() time.Time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.base
	}
	// time.Since uses the monotonic reading only: the wall date is never read.
	return c.base.Add(time.Since(c.mark))
}

// Set moves the clock to t; it goes on from there.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base, c.mark = t, time.Now()
}

// Advance moves the clock forward by d (back, if d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = c.base.Add(d)
}

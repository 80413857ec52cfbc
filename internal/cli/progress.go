package cli

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal: Env.Terminal when set (tests
// fake one), else whether w is an *os.File on a terminal.
func (e *Env) isTerminal(w io.Writer) bool {
	if e.Terminal != nil {
		return e.Terminal(w)
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progressEvery is how often, on the command's clock, the line is redrawn.
const progressEvery = 200 * time.Millisecond

// progressLine is one line on the terminal that says how a long command
// goes: rows done, rows per second, and the time left when the total is
// known. It is redrawn in place (carriage return, erase to the end of the
// line), at most every progressEvery, and written only when its writer is a
// terminal: a log file or a pipe gets nothing. Its methods may be called
// from any goroutine.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer // nil: silent
	now   func() time.Time
	verb  string // "Importing"
	stage string
	start time.Time // of the stage
	drawn time.Time // last drawn; zero: never
	shown bool      // a line is on the screen
}

// newProgress returns the progress line of a command on env's standard
// error, silent when that is not a terminal.
func newProgress(env *Env, verb string) *progressLine {
	p := &progressLine{now: env.now, verb: verb}
	if env.isTerminal(env.Stderr) {
		p.w = env.Stderr
	}
	return p
}

// update says that done rows of the stage are done; fraction is the part of
// the whole stage that is done (0 to 1), or negative when not known.
func (p *progressLine) update(stage string, done int, fraction float64) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if stage != p.stage {
		p.stage, p.start, p.drawn = stage, now, time.Time{}
	}
	if !p.drawn.IsZero() && now.Sub(p.drawn) < progressEvery && fraction < 1 {
		return
	}
	p.drawn = now
	fmt.Fprintf(p.w, "\r%s\x1b[K", progressText(p.verb, stage, done, fraction, now.Sub(p.start)))
	p.shown = true
}

// done erases the line, so the summary after it starts a clean line.
func (p *progressLine) done() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.shown = false
	}
}

// progressText is the line's text: "Importing: writing 120,000 rows,
// 52,300 rows/s, ETA 0:12". The rate and the time left are left out until
// some time has passed (they would mean nothing), the time left also while
// nothing is done or the total is not known.
func progressText(verb, stage string, done int, fraction float64, elapsed time.Duration) string {
	s := fmt.Sprintf("%s: %s %s rows", verb, stage, thousands(done))
	if elapsed < time.Second/10 {
		return s
	}
	s += fmt.Sprintf(", %s rows/s", thousands(int(float64(done)/elapsed.Seconds())))
	if fraction > 0 && fraction < 1 {
		left := time.Duration(float64(elapsed) * (1 - fraction) / fraction)
		s += ", ETA " + clockDuration(left)
	}
	return s
}

// thousands writes n with comma separators: 1,204,000.
func thousands(n int) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// clockDuration writes d as 1:02:03 or 2:03, rounded up to the second.
func clockDuration(d time.Duration) string {
	sec := int((d + time.Second - 1) / time.Second)
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}

// countingReader counts the bytes read through it (an import's progress
// through its file).
type countingReader struct {
	mu sync.Mutex
	r  io.Reader
	n  int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.mu.Lock()
	c.n += int64(n)
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

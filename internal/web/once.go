package web

import (
	"crypto/rand"
	"strings"
	"sync"
	"time"
)

// A look-up or a history is sent by POST, so who is looked up and why never
// travels in a URL; its result page is not stored (no-store). A browser
// asked to reload that page sends the form again, and some do so without
// asking: each form therefore carries a value used once (issue 23 item 8).
// Sent a second time, the request is not made: the page says it was a
// reload and offers the form, filled in, to send again — a new access,
// logged as one, only when the clerk asks for it.
//
// The used values are remembered in memory. A value carries the run of the
// server that issued it (its epoch): one from before a restart is not
// fresh, so a result page reloaded after the server restarted asks too,
// instead of looking the resident up again.

// onceSet issues the once-values of one run of the server and remembers
// those used, for a day.
type onceSet struct {
	mu    sync.Mutex
	epoch string // this run's mark, the start of every value it issues
	used  map[string]time.Time
}

// issue returns a fresh value for a form, marked with this run's epoch.
func (o *onceSet) issue() string {
	o.mu.Lock()
	if o.epoch == "" {
		o.epoch = newOnce()[:12]
	}
	e := o.epoch
	o.mu.Unlock()
	return e + "-" + newOnce()
}

// onceKeep is how long a used value is remembered: longer than any session
// lasts, after which the page that carried it cannot be reloaded anyway.
const onceKeep = 24 * time.Hour

// newOnce returns 128 random bits as 32 letters (a to p, four bits each).
// No digits: an audit view's token travels in a URL, and a run of eleven
// or twelve hexadecimal digits there could read as a 住民票コード or a 個人番号
// (about one token in fifty did).
func newOnce() string {
	b := make([]byte, 16)
	rand.Read(b)
	out := make([]byte, 0, 32)
	for _, c := range b {
		out = append(out, 'a'+c>>4, 'a'+c&15)
	}
	return string(out)
}

// take reports whether v is fresh, and from now on remembers it as used.
// An empty value (a request not sent from the screens' forms) is fresh; a
// value this run did not issue (from before a restart, or made up) is not.
func (o *onceSet) take(v string, now time.Time) bool {
	if v == "" {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.epoch == "" || !strings.HasPrefix(v, o.epoch+"-") {
		return false
	}
	if o.used == nil {
		o.used = map[string]time.Time{}
	}
	if _, ok := o.used[v]; ok {
		return false
	}
	if len(o.used) >= 1024 {
		for k, at := range o.used {
			if now.Sub(at) > onceKeep {
				delete(o.used, k)
			}
		}
	}
	o.used[v] = now
	return true
}

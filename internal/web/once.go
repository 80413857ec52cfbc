package web

import (
	"crypto/rand"
	"encoding/hex"
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

// onceSet remembers the once-values that were used, for a day.
type onceSet struct {
	mu   sync.Mutex
	used map[string]time.Time
}

// onceKeep is how long a used value is remembered: longer than any session
// lasts, after which the page that carried it cannot be reloaded anyway.
const onceKeep = 24 * time.Hour

// newOnce returns a fresh value for a form.
func newOnce() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// take reports whether v is fresh, and from now on remembers it as used.
// An empty value (a request not sent from the screens' forms) is fresh.
func (o *onceSet) take(v string, now time.Time) bool {
	if v == "" {
		return true
	}
	o.mu.Lock()
	defer o.mu.Unlock()
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

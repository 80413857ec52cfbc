package web

import (
	"net/url"
	"sync"
	"time"
)

// The audit screen's filter is sent by POST and kept on the server under a
// short-lived token: the screen, its pages and a reload are then
// /audit?view=TOKEN, and a 住民票コード typed into the filter (or sent from
// an alert) never travels in a URL — browser history, proxies, server
// logs (issue 23 item 8). Reloading a view reads the log again and logs
// nothing; an export of the view is its own POST, logged once.

// auditViewKeep is how long a filter is kept after it was last used: a
// working day.
const auditViewKeep = 12 * time.Hour

// auditViewMax bounds the filters kept at once; the least recently used
// goes first.
const auditViewMax = 4096

// auditViews are the filters kept, by token.
type auditViews struct {
	mu    sync.Mutex
	views map[string]*auditView
}

// auditView is one kept filter: whose it is (only they may use its
// token), what it holds, and when it was last used.
type auditView struct {
	actor  string
	values url.Values
	used   time.Time
}

// put keeps values as actor's filter and returns its token.
func (a *auditViews) put(actor string, values url.Values, now time.Time) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.views == nil {
		a.views = map[string]*auditView{}
	}
	if len(a.views) >= auditViewMax {
		oldest := ""
		for k, v := range a.views {
			if now.Sub(v.used) > auditViewKeep {
				delete(a.views, k)
			} else if oldest == "" || v.used.Before(a.views[oldest].used) {
				oldest = k
			}
		}
		if len(a.views) >= auditViewMax {
			delete(a.views, oldest)
		}
	}
	token := newOnce()
	a.views[token] = &auditView{actor: actor, values: values, used: now}
	return token
}

// get returns actor's filter kept under token, or false when there is
// none (never kept, another's, or expired).
func (a *auditViews) get(token, actor string, now time.Time) (url.Values, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, ok := a.views[token]
	if !ok || v.actor != actor {
		return nil, false
	}
	if now.Sub(v.used) > auditViewKeep {
		delete(a.views, token)
		return nil, false
	}
	v.used = now
	out := url.Values{}
	for k, vs := range v.values {
		out[k] = append([]string(nil), vs...)
	}
	return out, true
}

package auditlog

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// DefaultRefusalWindow is how long repeated refusals from one source are
// counted before their count is logged.
const DefaultRefusalWindow = 10 * time.Minute

// maxRefusalSources bounds the sources counted at once; refusals from
// further sources are counted together (actor host:*), so that many
// addresses cannot make many entries either.
const maxRefusalSources = 256

// otherSources is the source of refusals beyond maxRefusalSources.
const otherSources = "*"

// Refusal is a request refused before its sender was authenticated: a
// federation batch that is not signed by a peer, a sign-in begun on a
// device that is not an approved terminal. Whoever reaches the port can
// send one, so the log keeps only fixed-size facts about it — never what
// the sender wrote or claimed to be — and repeats are counted, not logged
// one by one: in each window (Options.RefusalWindow) the first refusal of
// an action and kind from a source is logged at once, and the count of the
// others in one entry when the window ends.
type Refusal struct {
	Node string // the node writing the entry
	// Action and Why are the caller's constants: what was attempted
	// (federation.batch, auth.login) and why it was refused
	// (bad-signature, not-a-terminal).
	Action, Why string
	// Addr is the sender's network address (the request's RemoteAddr):
	// the entry's actor unless Terminal is set. Refusals are counted per
	// IPv4 address and per IPv6 /64.
	Addr string
	// Terminal is the approved terminal the request came from (its client
	// certificate named it), if any: the entry's actor then (kind
	// terminal), and what repeats are counted by.
	Terminal string
	// CertSubject is the subject of the client certificate the connection
	// presented and the node verified, if any.
	CertSubject string
	// Body is what was read of the request, hashed and counted; Size is
	// its length when it was not read (the declared Content-Length).
	Body []byte
	Size int64
	// Claimed is what to keep of an identity the sender claimed: a
	// registered operator's verification id the caller has checked, or a
	// fixed stand-in (ClaimUnregistered), never the sender's own text;
	// empty when nothing is kept. It is never the actor, and only the
	// first entry of a window names it.
	Claimed string
	// Work, if set, runs in the transaction of each entry logged for this
	// source and kind (the first and the count): an alert row, say, whose
	// text it takes from the entry.
	Work Work
}

// ClaimUnregistered stands in the log for a claimed identity that is not
// a registered one: what the sender typed is not kept.
const ClaimUnregistered = "(unregistered)"

type refusalKey struct {
	action, why, source string
	kind                ActorKind // of the source: host or terminal
}

// refusalWindow is one source's refusals of one kind since start.
type refusalWindow struct {
	start, last time.Time
	repeats     int   // refusals after the first, not yet logged
	bytes       int64 // their bodies' total length
	lastBody    string
	node, cert  string
	work        Work
}

type refusals struct {
	mu       sync.Mutex
	windows  map[refusalKey]*refusalWindow
	stopOnce sync.Once
}

// Refuse records a refused unauthenticated request: the first of its kind
// from its source in the window as an entry at once (durable when Refuse
// returns), the others counted. It also logs the counts of the windows
// that have ended. An error means an entry could not be appended.
func (l *Log) Refuse(ctx context.Context, r Refusal) error {
	now := l.opt.Now()
	size := r.Size
	bodyHash := ""
	if r.Body != nil {
		size = int64(len(r.Body))
		sum := sha256.Sum256(r.Body)
		bodyHash = hex.EncodeToString(sum[:])
	}
	host := hostOf(r.Addr)
	key := refusalKey{action: clip(r.Action, 64), why: clip(r.Why, 64), source: sourceOf(host), kind: ActorHost}
	from := host
	if r.Terminal != "" {
		key.source, key.kind = clip(r.Terminal, 64), ActorTerminal
		from = fmt.Sprintf("terminal %s (%s)", key.source, host)
	}
	l.refusals.mu.Lock()
	due := l.endedLocked(now, false)
	w := l.refusals.windows[key]
	if w == nil && len(l.refusals.windows) >= maxRefusalSources {
		key.source, key.kind = otherSources, ActorHost
		w = l.refusals.windows[key]
	}
	first := w == nil
	if first {
		l.refusals.windows[key] = &refusalWindow{start: now, last: now, node: r.Node, cert: clip(r.CertSubject, 128), work: r.Work}
	} else {
		w.repeats++
		w.bytes += size
		w.last, w.lastBody = now, bodyHash
	}
	l.refusals.mu.Unlock()
	err := l.appendRefusals(ctx, due)
	if !first {
		return err
	}
	detail := fmt.Sprintf("unauthenticated request from %s refused; body sha256=%s bytes=%d; client certificate %q; claimed id %s; further refusals of this kind from this source are counted for %s and logged as one entry",
		from, orDash(bodyHash), size, clip(r.CertSubject, 128), orDash(clip(r.Claimed, 64)), l.opt.RefusalWindow)
	e := refusalEntry(r.Node, key, 1, detail)
	if r.Work != nil {
		_, workErr, appendErr := l.AppendWith(ctx, e, r.Work)
		return errors.Join(err, appendErr, workErr)
	}
	_, appendErr := l.Append(ctx, e)
	return errors.Join(err, appendErr)
}

// FlushRefusals logs the counts of the refusal windows that have ended (all
// of them when all): one entry per source and kind that had repeats.
func (l *Log) FlushRefusals(ctx context.Context, all bool) error {
	l.refusals.mu.Lock()
	due := l.endedLocked(l.opt.Now(), all)
	l.refusals.mu.Unlock()
	return l.appendRefusals(ctx, due)
}

// dueRefusal is an ended window to log.
type dueRefusal struct {
	key refusalKey
	w   *refusalWindow
}

// endedLocked removes the windows that have ended by now (all when all)
// and returns those with repeats to log. The caller holds the lock.
func (l *Log) endedLocked(now time.Time, all bool) []dueRefusal {
	var due []dueRefusal
	for k, w := range l.refusals.windows {
		if !all && now.Sub(w.start) < l.opt.RefusalWindow {
			continue
		}
		delete(l.refusals.windows, k)
		if w.repeats > 0 {
			due = append(due, dueRefusal{k, w})
		}
	}
	return due
}

func (l *Log) appendRefusals(ctx context.Context, due []dueRefusal) error {
	var errs []error
	for _, d := range due {
		detail := fmt.Sprintf("%d further unauthenticated requests from %s:%s refused from %s to %s (%s); %d body bytes in all, last body sha256=%s; client certificate %q",
			d.w.repeats, d.key.kind, d.key.source, d.w.start.UTC().Format(time.RFC3339), d.w.last.UTC().Format(time.RFC3339), d.key.why, d.w.bytes, orDash(d.w.lastBody), d.w.cert)
		e := refusalEntry(d.w.node, d.key, d.w.repeats, detail)
		var err, workErr error
		if d.w.work != nil {
			_, workErr, err = l.AppendWith(ctx, e, d.w.work)
		} else {
			_, err = l.Append(ctx, e)
		}
		errs = append(errs, err, workErr)
	}
	return errors.Join(errs...)
}

// refusalEntry is an entry of count refusals: the actor is the source
// they were counted by (a host, or an approved terminal).
func refusalEntry(node string, k refusalKey, count int, detail string) Entry {
	return Entry{Node: node, Actor: Actor{Kind: k.kind, ID: k.source}, Origin: string(k.kind) + ":" + k.source, Action: k.action,
		Decision: Deny, Policy: "jukinet:unauthenticated", Why: k.why, Outcome: OutcomeDenied, Count: count, Detail: detail}
}

// flushRefusalsEvery logs ended windows' counts every tick until Close.
func (l *Log) flushRefusalsEvery(tick time.Duration) {
	defer close(l.flusherDone)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := l.FlushRefusals(context.Background(), false); err != nil {
				l.opt.Logger.Error("log the counted refusals", "err", err)
			}
		case <-l.flusherStop:
			return
		}
	}
}

func (l *Log) stopFlusher() {
	l.refusals.stopOnce.Do(func() { close(l.flusherStop) })
	<-l.flusherDone
}

// hostOf is the address without its port, clipped: a RemoteAddr is
// host:port; anything else is kept as it is.
func hostOf(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		addr = h
	}
	if addr == "" {
		return "unknown"
	}
	return clip(addr, 64)
}

// sourceOf is what refusals are counted by: an IPv4 address, or an IPv6
// address's /64 (one host holds a whole /64).
func sourceOf(host string) string {
	ip := net.ParseIP(host)
	if ip == nil || ip.To4() != nil {
		return host
	}
	return (&net.IPNet{IP: ip.Mask(net.CIDRMask(64, 128)), Mask: net.CIDRMask(64, 128)}).String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clip cuts s to at most n bytes of valid UTF-8, without control
// characters: what a refusal keeps of a string it did not choose.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return '?'
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

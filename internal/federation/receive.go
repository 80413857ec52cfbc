package federation

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/profile"
)

// Alert kinds.
const (
	AlertSignature  = "bad-signature" // not signed by a registered downstream node
	AlertForeign    = "foreign-code"  // a record of a body the source may not send
	AlertGap        = "sequence-gap"  // changes missing before the batch
	AlertMisdirect  = "misdirected"   // meant for another node
	AlertMalformed  = "malformed"
	AlertOtherLevel = "not-downstream"
)

// Receiver answers batches from downstream nodes (POST /federation/v1/batches).
type Receiver struct {
	n      *node.Node
	logger *slog.Logger
	// unauthenticated holds a slot while a body from a sender not yet
	// known (plain HTTP, before its signature is checked) is read; reading
	// names the hosts holding one (one each).
	unauthenticated chan struct{}
	mu              sync.Mutex
	reading         map[string]bool
	// bodyGrace and bodyRate pace an unauthenticated body (paced): the
	// defaults UnauthenticatedGrace and UnauthenticatedRate; tests
	// shorten them.
	bodyGrace time.Duration
	bodyRate  int64
}

// Limits on what a receiver reads, and when.
const (
	// MaxBatchBytes is the most a signed batch may weigh. A batch of
	// BatchSize synthetic changes weighs 7.3 MiB (380 bytes a change); the
	// limit leaves twice that for long names and addresses, and the sender
	// splits a batch that would weigh more.
	MaxBatchBytes = 16 << 20
	// maxRequestBytes bounds a consistency-check or witness request: a few
	// kilobytes (4,096 bucket numbers, a proof of 64 hashes).
	maxRequestBytes = 256 << 10
	// UnauthenticatedBodies is how many bodies of senders not yet known
	// are read at once; others are answered 503 at once, unread.
	UnauthenticatedBodies = 2
	// UnauthenticatedGrace and UnauthenticatedRate bound how long an
	// unauthenticated body may take to arrive: the grace, then at least
	// the rate on average (a full 16 MiB batch: 74 s). A sender dribbling
	// a body to hold a slot is cut off after the grace, not after the
	// server's ReadTimeout.
	UnauthenticatedGrace = 10 * time.Second
	UnauthenticatedRate  = 256 << 10 // bytes a second
)

// NewReceiver returns the receiver of node n.
func NewReceiver(n *node.Node, logger *slog.Logger) *Receiver {
	if logger == nil {
		logger = slog.Default()
	}
	return &Receiver{n: n, logger: logger, unauthenticated: make(chan struct{}, UnauthenticatedBodies), reading: map[string]bool{},
		bodyGrace: UnauthenticatedGrace, bodyRate: UnauthenticatedRate}
}

// admit takes a slot to read an unauthenticated body from addr: none when
// all UnauthenticatedBodies are taken, or when addr's host holds one
// already (so that one host cannot take them all). release gives it back.
func (r *Receiver) admit(addr string) (release func(), ok bool) {
	host := addr
	if h, _, err := net.SplitHostPort(addr); err == nil {
		host = h
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reading[host] {
		return nil, false
	}
	select {
	case r.unauthenticated <- struct{}{}:
	default:
		return nil, false
	}
	r.reading[host] = true
	return func() {
		r.mu.Lock()
		delete(r.reading, host)
		r.mu.Unlock()
		<-r.unauthenticated
	}, true
}

// paced reads an unauthenticated body under a read deadline that grows
// with what has arrived: grace from the start, then a second for each
// rate bytes. A sender slower than that gets a timeout and loses its slot.
type paced struct {
	body  io.Reader
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	rate  int64
	read  int64
}

func (p *paced) Read(b []byte) (int, error) {
	n, err := p.body.Read(b)
	if n > 0 {
		p.read += int64(n)
		p.rc.SetReadDeadline(p.start.Add(p.grace + time.Duration(p.read*int64(time.Second)/p.rate)))
	}
	return n, err
}

// Ack is the receiver's answer: the last change of the source it holds.
type Ack struct {
	Source  string `json:"source"`
	Last    int64  `json:"last"`
	Applied int    `json:"applied"`
}

// refusal is an error answer; Alert names the alert raised, if any.
type refusal struct {
	Status int    `json:"-"`
	Error  string `json:"error"`
	Alert  string `json:"alert,omitempty"`
	// Code is the domain error's code when it says more than the status:
	// "suspended" tells the sender that a suspension (利用停止) refused its
	// batch, so it tries again at its interval to catch the lifting.
	Code string `json:"code,omitempty"`
	// Last is, with the code "rewind", the last change of the source this
	// node holds: a node restored from a backup asks its sources to send
	// again from the one after it.
	Last int64 `json:"last,omitempty"`
}

// codeRewind asks a source to send its changes again from the one after
// the refusal's Last: this node was restored from a backup.
const codeRewind = "rewind"

// Conn is what a request's connection says of its sender before its body
// is read.
type Conn struct {
	Addr string // the peer's address (RemoteAddr)
	// Chains are the client certificate chains the TLS handshake verified
	// (none over plain HTTP).
	Chains [][]*x509.Certificate
	TLS    bool
}

func connOf(req *http.Request) Conn {
	c := Conn{Addr: req.RemoteAddr}
	if req.TLS != nil {
		c.TLS, c.Chains = true, req.TLS.VerifiedChains
	}
	return c
}

// subject is the verified client certificate's subject, if any.
func (c Conn) subject() string {
	if len(c.Chains) > 0 && len(c.Chains[0]) > 0 {
		return c.Chains[0][0].Subject.String()
	}
	return ""
}

// Why a request was refused before its sender was known.
const (
	whyNoCertificate = "no-node-certificate" // over TLS, not a registered peer's node certificate
	whyTooLarge      = "too-large"
	whyUnreadable    = "unreadable" // the body could not be read: malformed framing, say
	// whyCutShort: the sender's connection ended before its body did (the
	// sending node crashed or was killed mid-send, or the network dropped
	// the connection). Recorded like any refusal, but raises no alert: the
	// sender sends the batch again, and there is nothing for an operator to
	// investigate that the audit entry does not already hold.
	whyCutShort  = "cut-short"
	whySignature = "bad-signature"
	whyTooSlow   = "too-slow" // the body did not arrive in time (paced)
)

// readSigned reads the body of a request to a machine-to-machine endpoint
// once its sender is as known as the connection can make it, and checks
// its signature. Over TLS the connection must carry the node certificate
// of a registered peer accept takes (mutual TLS: anything else is refused
// before a byte of the body is read); over plain HTTP the sender is known
// only by the signature, so at most UnauthenticatedBodies such bodies are
// read at once, each at most limit bytes. verify checks the signature
// against the accepted peers' keys. A refusal is recorded as a fixed-size,
// rate-limited entry (auditlog.Refuse) and answered; ok is false then.
func (r *Receiver) readSigned(w http.ResponseWriter, req *http.Request, action string, accept func(Peer) bool, limit int64,
	verify func(msg []byte, vs note.Verifiers) error) (msg []byte, conn Conn, ok bool) {
	ctx := req.Context()
	conn = connOf(req)
	ss, err := peerSigners(ctx, r.n.DB, accept)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, refusal{Error: err.Error()})
		return nil, conn, false
	}
	known := false
	if conn.TLS {
		for _, p := range ss.byName {
			if certFrom(conn.Chains, p) {
				known = true
				break
			}
		}
		if !known {
			r.refuse(ctx, w, conn, action, whyNoCertificate, nil, req.ContentLength, http.StatusForbidden,
				"present the node certificate (CN node:CODE) of a registered peer: this endpoint is mutual TLS")
			return nil, conn, false
		}
	}
	if req.ContentLength > limit {
		r.refuse(ctx, w, conn, action, whyTooLarge, nil, req.ContentLength, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("the body is larger than %d bytes", limit))
		return nil, conn, false
	}
	var body io.Reader = http.MaxBytesReader(w, req.Body, limit)
	if !known {
		release, ok := r.admit(conn.Addr)
		if !ok {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, refusal{Error: "busy reading other unauthenticated requests: try again"})
			return nil, conn, false
		}
		defer release()
		rc := http.NewResponseController(w)
		start := time.Now()
		if err := rc.SetReadDeadline(start.Add(r.bodyGrace)); err == nil {
			defer rc.SetReadDeadline(time.Time{})
			body = &paced{body: body, rc: rc, start: start, grace: r.bodyGrace, rate: r.bodyRate}
		}
	}
	msg, err = io.ReadAll(body)
	if err != nil {
		why, status := whyUnreadable, http.StatusBadRequest
		if _, big := errors.AsType[*http.MaxBytesError](err); big {
			why, status = whyTooLarge, http.StatusRequestEntityTooLarge
		} else if errors.Is(err, os.ErrDeadlineExceeded) {
			why, status = whyTooSlow, http.StatusRequestTimeout
		} else if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
			why = whyCutShort
		}
		r.refuse(ctx, w, conn, action, why, msg, 0, status, "read the body: "+err.Error())
		return nil, conn, false
	}
	if err := verify(msg, ss.list); err != nil {
		r.refuse(ctx, w, conn, action, whySignature, msg, 0, http.StatusForbidden, "refused: "+err.Error())
		return nil, conn, false
	}
	return msg, conn, true
}

// refuse records a request refused before its sender was authenticated
// — hash, length, address and certificate subject only, repeats counted
// (auditlog.Refuse) — with an alert row for each entry, and answers it.
func (r *Receiver) refuse(ctx context.Context, w http.ResponseWriter, conn Conn, action, why string, body []byte, size int64, status int, answer string) {
	if err := r.refusal(ctx, conn, action, why, body, size); err != nil {
		r.logger.Error("record a refused federation request", "action", action, "why", why, "err", err)
	}
	// At debug level only: the audit log keeps the first refusal of each
	// kind per source and window and counts the rest; a line per request
	// at warn level would let anyone who reaches the port fill the system log.
	r.logger.Debug("federation request refused before its sender was known", "action", action, "why", why, "from", conn.Addr)
	alert := ""
	if why == whySignature || why == whyNoCertificate {
		alert = AlertSignature
	}
	writeJSON(w, status, refusal{Error: answer, Alert: alert})
}

func (r *Receiver) refusal(ctx context.Context, conn Conn, action, why string, body []byte, size int64) error {
	return recordRefusal(ctx, r.n, conn, action, why, body, size)
}

// recordRefusal records a request or connection refused before its
// sender was known: a fixed-size, rate-limited entry (auditlog.Refuse)
// with an alert row for each entry, except for a body cut short by its
// sender's connection (whyCutShort), which is an entry only.
func recordRefusal(ctx context.Context, n *node.Node, conn Conn, action, why string, body []byte, size int64) error {
	ref := auditlog.Refusal{Node: Code(n), Action: action, Why: why, Addr: conn.Addr, CertSubject: conn.subject(), Body: body, Size: size}
	if why != whyCutShort {
		ref.Work = func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
			// The alert's text is the entry's: fixed-size, never the sender's.
			_, err := tx.Exec(ctx, `INSERT INTO fed_alert (at, source, kind, detail) VALUES (?, ?, ?, ?)`, e.Time, e.Origin, why, e.Detail)
			return err
		}
	}
	// Recorded even when the sender has gone: its dropped connection
	// cancels the request's context.
	return n.Log.Refuse(context.WithoutCancel(ctx), ref)
}

// verifyNote checks that msg is a signed note of one of vs.
func verifyNote(msg []byte, vs note.Verifiers) error {
	_, err := note.Open(msg, vs)
	return err
}

// Actions of requests refused before their sender was known.
const (
	actionBatch   = "federation.batch"
	actionCheck   = "federation.check"
	actionWitness = "federation.witness"
)

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a signed batch", http.StatusMethodNotAllowed)
		return
	}
	msg, conn, ok := r.readSigned(w, req, actionBatch, isDownstream, MaxBatchBytes, verifyNote)
	if !ok {
		return
	}
	ack, ref := r.Receive(req.Context(), msg, conn)
	if ref != nil {
		writeJSON(w, ref.Status, ref)
		return
	}
	writeJSON(w, http.StatusOK, ack)
}

// certFrom says whether a verified client certificate chain is the node
// certificate (CN node:CODE) of peer p, issued by p's own CA.
func certFrom(chains [][]*x509.Certificate, p Peer) bool {
	block, _ := pem.Decode([]byte(p.CAPEM))
	if block == nil {
		return false
	}
	for _, chain := range chains {
		if len(chain) > 0 && chain[0].Subject.CommonName == "node:"+p.Code && bytes.Equal(chain[len(chain)-1].Raw, block.Bytes) {
			return true
		}
	}
	return false
}

// Receive checks and applies one signed batch. conn is what the
// connection says of the sender: over TLS, its node certificate must be
// the signer's.
func (r *Receiver) Receive(ctx context.Context, msg []byte, conn Conn) (Ack, *refusal) {
	ss, err := peerSigners(ctx, r.n.DB, isDownstream)
	if err != nil {
		return Ack{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	b, signer, err := open(msg, ss.list)
	if err != nil {
		// Not signed by a peer: nothing of it is trusted, nor logged.
		if err := r.refusal(ctx, conn, actionBatch, whySignature, msg, 0); err != nil {
			r.logger.Error("record a refused federation request", "err", err)
		}
		return Ack{}, &refusal{Status: http.StatusForbidden, Error: "batch refused: " + err.Error(), Alert: AlertSignature}
	}
	peer := ss.byName[signer]
	switch {
	case b.Source != peer.Code:
		return Ack{}, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden, fmt.Sprintf("batch signed by %s claims to come from %.40q", peer.Code, b.Source), true)
	case conn.TLS && !certFrom(conn.Chains, peer):
		return Ack{}, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden, fmt.Sprintf("batch of %s sent over a connection without %s's node certificate", peer.Code, peer.Code), true)
	case b.Target != Code(r.n):
		return Ack{}, r.alert(ctx, peer.Code, AlertMisdirect, http.StatusForbidden, fmt.Sprintf("batch for %.40q sent to %s", b.Target, Code(r.n)), false)
	}
	for _, c := range b.Changes {
		if !mayNotify(profile.Level(peer.Level), peer.Code, c.Record.LocalGov) {
			return Ack{}, r.alert(ctx, peer.Code, AlertForeign, http.StatusForbidden,
				fmt.Sprintf("change %d is a record of %s, which %s may not notify", c.Seq, c.Record.LocalGov, peer.Code), true)
		}
	}
	changes, err := toGate(b)
	if err != nil {
		return Ack{}, r.alert(ctx, peer.Code, AlertMalformed, http.StatusBadRequest, "batch refused: "+err.Error(), true)
	}
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, Origin: "node:" + peer.Code,
		Affair: RegisterAffair(r.n.Profile), Reason: "本人確認情報の通知（住民基本台帳法第30条の7）"}
	// The protections first: a record never arrives here without the
	// restriction that came with it (receiving one again changes nothing).
	if err := r.n.Protect.Receive(ctx, peer.Code, b.Protections); err != nil {
		r.logger.Warn("protections from a downstream node refused", "source", peer.Code, "err", err)
		return Ack{}, &refusal{Status: http.StatusUnprocessableEntity, Error: "protections refused: " + err.Error()}
	}
	applied, last, err := r.n.Gate.Replicate(ctx, req, peer.Code, changes)
	var gap *gate.SequenceError
	switch {
	case errors.As(err, &gap) && r.restoredSince(ctx, peer.Code):
		// Restored from a backup: the changes after the last one held here
		// were lost with the data; the source has them, and sends them again.
		return Ack{}, &refusal{Status: http.StatusConflict, Code: codeRewind, Last: gap.Last,
			Error: fmt.Sprintf("this node was restored from a backup and holds %s's changes up to %d: send again from %d", peer.Code, gap.Last, gap.Last+1)}
	case errors.As(err, &gap):
		return Ack{}, r.alert(ctx, peer.Code, AlertGap, http.StatusConflict, gap.Error(), true)
	case errors.Is(err, gate.ErrSourceStopped):
		return Ack{}, &refusal{Status: http.StatusConflict, Error: err.Error()}
	case err != nil:
		status := http.StatusServiceUnavailable
		if c := apperr.CodeOf(err); c == apperr.Forbidden || c == apperr.Suspended {
			status = http.StatusForbidden
		} else if c == apperr.Invalid || c == apperr.Conflict {
			status = http.StatusUnprocessableEntity
		}
		r.logger.Warn("changes from a downstream node refused", "source", peer.Code, "err", err)
		ref := &refusal{Status: status, Error: err.Error() + "（" + apperr.JapaneseOf(err) + "）"}
		if apperr.CodeOf(err) == apperr.Suspended {
			ref.Code = string(apperr.Suspended)
		}
		return Ack{}, ref
	}
	if _, err := r.n.DB.Exec(ctx, `UPDATE fed_inbox SET restored_at = NULL WHERE source = ? AND restored_at IS NOT NULL`, peer.Code); err != nil {
		r.logger.Error("clear the restore mark of a source", "source", peer.Code, "err", err)
	}
	return Ack{Source: peer.Code, Last: last, Applied: applied}, nil
}

// restoredSince says whether this node was restored from a backup since
// source last delivered a batch it applied (markSourcesRestored).
func (r *Receiver) restoredSince(ctx context.Context, source string) bool {
	var at sql.NullTime
	err := r.n.DB.QueryRow(ctx, `SELECT restored_at FROM fed_inbox WHERE source = ?`, source).Scan(&at)
	return err == nil && at.Valid
}

// mayNotify says whether a node of level and code may notify records of
// local government lg: a municipality its own, a prefecture those in it.
func mayNotify(level profile.Level, code, lg string) bool {
	switch level {
	case profile.Municipality:
		return lg == code
	case profile.Prefecture:
		return len(lg) == 6 && len(code) == 6 && lg[:2] == code[:2]
	}
	return false
}

// alert records an alert (and stops the source when stop), and returns the
// refusal to answer.
func (r *Receiver) alert(ctx context.Context, source, kind string, status int, detail string, stop bool) *refusal {
	if err := RaiseAlert(ctx, r.n, source, kind, detail, stop); err != nil {
		r.logger.Error("record a federation alert", "source", source, "kind", kind, "err", err)
	}
	r.logger.Warn("federation alert", "source", source, "kind", kind, "detail", detail)
	return &refusal{Status: status, Error: detail, Alert: kind}
}

// RaiseAlert records an alert, logged, and stops the source when stop.
func RaiseAlert(ctx context.Context, n *node.Node, source, kind, detail string, stop bool) error {
	e := auditlog.Entry{Node: Code(n), Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + Code(n),
		Action: "federation.alert", Query: "source:" + source, Detail: kind + ": " + detail,
		Decision: auditlog.Deny, Policy: "jukinet:federation-checks", Why: kind, Outcome: auditlog.OutcomeDenied}
	_, workErr, err := n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		if _, err := tx.Exec(ctx, `INSERT INTO fed_alert (at, source, kind, detail) VALUES (?, ?, ?, ?)`, e.Time, source, kind, detail); err != nil {
			return err
		}
		if !stop {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO fed_inbox (source, last_seq) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM fed_inbox WHERE source = ?)`, source, source); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE fed_inbox SET stopped_at = ?, stop_reason = ? WHERE source = ? AND stopped_at IS NULL`, e.Time, kind+": "+detail, source)
		return err
	})
	if err != nil {
		return err
	}
	return workErr
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// RegisterAffair is the profile's affair for changes to the register, under
// which notifications travel.
func RegisterAffair(p *profile.Profile) string {
	for _, a := range p.Affairs {
		if a.Changes {
			return a.ID
		}
	}
	return ""
}

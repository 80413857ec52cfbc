package federation

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/terminalca"
)

// BatchSize is the most changes one batch carries. Large batches matter at
// the receivers: a batch's changes land on random pages of every index, and
// each changed page is written once per batch, so fewer, larger batches
// write far less (1,000,000 changes end to end: 3,906/s with 5,000 per
// batch, 5,818/s with 20,000). A batch of 20,000 synthetic records is
// 7.6 MB signed; the receiver accepts up to 64 MiB. Larger batches gain
// little (50,000: +7 %) and hold the receiver's one writer, and so every
// audited request there, for longer (a 20,000 batch takes a few seconds).
const BatchSize = 20000

// Sender delivers the outbox to the upstream node.
type Sender struct {
	n      *node.Node
	logger *slog.Logger
	client *http.Client
	// Wake, when sent to, makes Run try at once (after a change).
	Wake chan struct{}
	// BatchSize is the most changes one batch carries (NewSender: the
	// constant BatchSize; tests set fewer).
	BatchSize int
}

// NewSender returns the sender of node n.
func NewSender(n *node.Node, logger *slog.Logger) *Sender {
	if logger == nil {
		logger = slog.Default()
	}
	return &Sender{n: n, logger: logger, client: &http.Client{Timeout: 60 * time.Second, Transport: withBusyRetry(nil)}, Wake: make(chan struct{}, 1), BatchSize: BatchSize}
}

// upstream returns the registered upstream peer, if any.
func upstream(ctx context.Context, n *node.Node) (*Peer, error) {
	peers, err := Peers(ctx, n.DB)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		if p.Role == Upstream {
			return &p, nil
		}
	}
	return nil, nil
}

// httpClient is the client for the upstream: over HTTPS it trusts only the
// upstream's CA and presents this node's certificate (CN node:CODE).
func (s *Sender) httpClient(p *Peer) (*http.Client, error) {
	if !strings.HasPrefix(p.URL, "https://") {
		return s.client, nil
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM([]byte(p.CAPEM)) {
		return nil, errors.New("the upstream's CA in its bundle is not PEM")
	}
	ca, err := terminalca.Open(s.n.Dir, s.n.Info.Name())
	if err != nil {
		return nil, err
	}
	cert, err := ca.NodeCertificate(s.n.Dir, Code(s.n))
	if err != nil {
		return nil, err
	}
	return &http.Client{Timeout: 60 * time.Second, Transport: withBusyRetry(&http.Transport{TLSClientConfig: &tls.Config{
		MinVersion: tls.VersionTLS12, RootCAs: roots, Certificates: []tls.Certificate{cert},
	}})}, nil
}

// deliveredUpTo returns the last change sequence the upstream peer has
// acknowledged (0 before the first).
func deliveredUpTo(ctx context.Context, n *node.Node, peer string) (int64, error) {
	var acked int64
	err := n.DB.QueryRow(ctx, `SELECT last_acked FROM fed_delivery WHERE peer = ?`, peer).Scan(&acked)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("read delivery cursor: %w", err)
	}
	return acked, nil
}

// DeliverOnce sends the next batch of undelivered changes, if any, and
// records the upstream's acknowledgement. It returns how many it sent.
func (s *Sender) DeliverOnce(ctx context.Context) (int, error) {
	return s.deliverOnce(ctx, false)
}

// rewind moves the delivery cursor back from acked to last, the last
// change an upstream restored from a backup holds, logs it, and delivers
// again from there.
func (s *Sender) rewind(ctx context.Context, p *Peer, req gate.Request, acked, last int64) (int, error) {
	e := auditlog.Entry{Node: Code(s.n), Actor: req.Actor, Origin: req.Origin, Action: "federation.rewind", Query: "peer:" + p.Code,
		Detail:   fmt.Sprintf("%s was restored from a backup and holds this node's changes up to %d (it had acknowledged %d): the changes after %d are sent again", p.Code, last, acked, last),
		Decision: auditlog.Allow, Policy: "jukinet:notify-upstream", Why: "the upstream was restored from a backup", Outcome: auditlog.OutcomeOK}
	_, workErr, err := s.n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `UPDATE fed_delivery SET last_acked = ? WHERE peer = ?`, last, p.Code)
		return err
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return 0, fmt.Errorf("send the changes after %d to %s again: %w", last, p.Code, err)
	}
	return s.deliverOnce(ctx, true)
}

// deliverOnce is DeliverOnce; rewound says the cursor was just moved back
// for an upstream restored from a backup (it is not moved back twice).
func (s *Sender) deliverOnce(ctx context.Context, rewound bool) (int, error) {
	p, err := upstream(ctx, s.n)
	if err != nil || p == nil {
		return 0, err
	}
	acked, err := deliveredUpTo(ctx, s.n, p.Code)
	if err != nil {
		return 0, err
	}
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "federation"}, Origin: "node:" + Code(s.n),
		Affair: RegisterAffair(s.n.Profile), Reason: "本人確認情報の通知（住民基本台帳法第30条の7）: " + p.Code}
	ns, err := s.n.Gate.Outbound(ctx, req, acked, s.BatchSize)
	if err != nil {
		// An outbound suspension (or any failure to read the outbox):
		// kept with the cursor, for federation status to say why.
		s.record(ctx, p.Code, nil, err)
		return 0, err
	}
	ws, wsUpTo, err := s.n.Protect.Outbound(ctx, p.Code)
	if err != nil {
		s.record(ctx, p.Code, nil, err)
		return 0, err
	}
	if len(ns) == 0 && len(ws) == 0 {
		s.clearError(ctx, p.Code)
		return 0, nil
	}
	b := Batch{Source: Code(s.n), Target: p.Code, Protections: ws}
	for _, c := range ns {
		b.Changes = append(b.Changes, WireChange{Seq: c.Seq, PreviousCode: c.PreviousCode, Repair: c.Repair, Record: wireRecord(c.IdentityRecord)})
	}
	msg, err := sign(b, s.n.Signer)
	// The upstream reads at most MaxBatchBytes: a batch of long records is
	// sent in halves (the rest goes next, after the acknowledgement).
	for err == nil && len(msg) > MaxBatchBytes && len(b.Changes) > 1 {
		b.Changes = b.Changes[:len(b.Changes)/2]
		msg, err = sign(b, s.n.Signer)
	}
	if err != nil {
		return 0, err
	}
	ack, err := s.post(ctx, p, msg)
	var ref *refusedError
	if errors.As(err, &ref) && ref.code == codeRewind && ref.last < acked && !rewound {
		// The upstream was restored from a backup: the changes after its
		// last are sent again (the outbox keeps them).
		return s.rewind(ctx, p, req, acked, ref.last)
	}
	s.record(ctx, p.Code, ack, err)
	if errors.As(err, &ref) {
		// The upstream answered no (a suspension, an alert): logged here too.
		e := auditlog.Entry{Node: Code(s.n), Actor: req.Actor, Origin: req.Origin, Action: "federation.refused", Query: "peer:" + p.Code,
			Detail: ref.Error(), Decision: auditlog.Deny, Policy: "upstream:" + p.Code, Why: ref.body, Outcome: auditlog.OutcomeDenied}
		if _, lerr := s.n.Log.Append(ctx, e); lerr != nil {
			s.logger.Error("log the upstream's refusal", "err", lerr)
		}
	}
	if err != nil {
		return 0, err
	}
	if len(ws) > 0 {
		if err := s.n.Protect.Delivered(ctx, p.Code, ws, wsUpTo); err != nil {
			return 0, err
		}
	}
	return len(b.Changes) + len(ws), nil
}

// refusedError is the upstream's refusal of a batch.
type refusedError struct {
	peer   string
	status int
	body   string
	code   string // the refusal's code ("suspended"), if any
	last   int64  // with the code "rewind": the last change the upstream holds
}

// IsSuspension says whether err is a delivery refused by a suspension
// (利用停止): this node's outbound suspension, or the upstream's
// suspension of this node's notifications. Such a refusal lasts until
// someone lifts it, so the sender tries again at its interval (rather
// than backing off) and resumes at once after the lifting.
func IsSuspension(err error) bool {
	if err == nil {
		return false
	}
	if ref, ok := errors.AsType[*refusedError](err); ok {
		return ref.code == string(apperr.Suspended)
	}
	return apperr.CodeOf(err) == apperr.Suspended
}

// SuspendedPrefix begins the delivery error kept for a suspension (see
// IsSuspension), so that federation status says "suspended" rather than
// "failing".
const SuspendedPrefix = "suspended: "

func (e *refusedError) Error() string {
	return fmt.Sprintf("%s refused the batch (%d): %s", e.peer, e.status, e.body)
}

func (s *Sender) post(ctx context.Context, p *Peer, msg []byte) (*Ack, error) {
	client, err := s.httpClient(p)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(p.URL, "/")+"/federation/v1/batches", bytes.NewReader(msg))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("send to %s: %w", p.Code, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		ref := &refusedError{peer: p.Code, status: resp.StatusCode, body: strings.TrimSpace(string(body))}
		var r refusal
		if json.Unmarshal(body, &r) == nil {
			ref.code, ref.last = r.Code, r.Last
		}
		return nil, ref
	}
	var ack Ack
	if err := json.Unmarshal(body, &ack); err != nil {
		return nil, fmt.Errorf("%s answered: %w", p.Code, err)
	}
	return &ack, nil
}

// record keeps the upstream's acknowledgement (or the error) in the
// delivery cursor, also when ctx ends meanwhile (shutdown): an
// acknowledged batch is not sent again.
func (s *Sender) record(ctx context.Context, peer string, ack *Ack, sendErr error) {
	ctx = context.WithoutCancel(ctx)
	last, msg := int64(-1), ""
	if ack != nil {
		last = ack.Last
	}
	if sendErr != nil {
		msg = sendErr.Error()
		if suspendedHere(sendErr) {
			msg += "（" + apperr.JapaneseOf(sendErr) + "）"
		}
		if IsSuspension(sendErr) && !strings.HasPrefix(msg, SuspendedPrefix) {
			msg = SuspendedPrefix + msg
		}
	}
	_, err := s.n.DB.Exec(ctx, `INSERT INTO fed_delivery (peer, last_acked, last_try, last_error) VALUES (?, ?, ?, ?)
		ON CONFLICT (peer) DO UPDATE SET last_acked = CASE WHEN excluded.last_acked > fed_delivery.last_acked THEN excluded.last_acked ELSE fed_delivery.last_acked END,
		last_try = excluded.last_try, last_error = excluded.last_error`, peer, max(last, 0), s.n.Now(), msg)
	if err != nil {
		s.logger.Error("record delivery", "peer", peer, "err", err)
	}
}

// clearError forgets the last delivery error once there is nothing to
// send (a suspension lifted with nothing pending, say).
func (s *Sender) clearError(ctx context.Context, peer string) {
	if _, err := s.n.DB.Exec(context.WithoutCancel(ctx), `UPDATE fed_delivery SET last_error = '' WHERE peer = ? AND last_error <> ''`, peer); err != nil {
		s.logger.Error("record delivery", "peer", peer, "err", err)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// MaxBackoff is the longest the sender waits after a failed delivery.
const MaxBackoff = 30 * time.Second

// nextWait is how long Run waits after a try that ended in err, and the
// back-off after that: failures back off from 1 s to MaxBackoff (a
// suspension at the upstream too: each refused batch is logged on both
// nodes, so it is not tried every interval).
func nextWait(err error, backoff, interval time.Duration) (wait, next time.Duration) {
	if err == nil {
		return interval, time.Second
	}
	return backoff, min(2*backoff, MaxBackoff)
}

// suspendedHere says whether err is this node's own outbound suspension
// (the gate refused to read the outbox), as opposed to a refusal by the
// upstream.
func suspendedHere(err error) bool {
	if _, ok := errors.AsType[*refusedError](err); ok {
		return false
	}
	return apperr.CodeOf(err) == apperr.Suspended
}

// waitForLift waits, after this node's outbound suspension refused a
// delivery, until the staff data changes (a suspension lifted here, by
// this process or another: jukinet suspend --lift), checked every
// interval without trying the gate — each try would be a logged denial —
// or until Wake, or MaxBackoff at the most. It reports false when ctx
// ended.
func (s *Sender) waitForLift(ctx context.Context, interval time.Duration) bool {
	from, err := staff.Version(ctx, s.n.DB)
	if err != nil {
		from = -1
	}
	deadline := time.NewTimer(MaxBackoff)
	defer deadline.Stop()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-s.Wake:
			return true
		case <-deadline.C:
			return true
		case <-tick.C:
			if v, err := staff.Version(ctx, s.n.DB); err != nil || v != from {
				return true
			}
		}
	}
}

// Run delivers until ctx ends: at once while there is more, then every
// interval or on Wake. While this node's outbound suspension refuses
// delivery it watches the staff data every interval and tries again as
// soon as it changes (the suspension lifted); a change committed in this
// process wakes it at once. After another error it backs off (up to
// MaxBackoff).
func (s *Sender) Run(ctx context.Context, interval time.Duration) {
	if s.n.Staff != nil {
		// A suspension lifted in this process (the admin screen) wakes
		// the sender at once; one lifted elsewhere (jukinet suspend
		// --lift, the upstream) is caught at the next interval.
		s.n.Staff.OnChange(func() {
			select {
			case s.Wake <- struct{}{}:
			default:
			}
		})
	}
	backoff, logged := time.Second, ""
	for {
		n, err := s.DeliverOnce(ctx)
		if err == nil {
			if _, werr := s.WitnessOnce(ctx); werr != nil && ctx.Err() == nil {
				s.logger.Warn("witnessing the audit log's checkpoint", "err", werr)
			}
		}
		if err != nil && ctx.Err() != nil {
			return
		}
		if err == nil && n > 0 {
			backoff = time.Second
			continue
		}
		if msg := errText(err); msg != "" && msg != logged {
			s.logger.Warn("delivering changes upstream", "err", err)
		}
		logged = errText(err)
		if suspendedHere(err) {
			// Resumes within an interval of the lifting.
			backoff = time.Second
			if !s.waitForLift(ctx, interval) {
				return
			}
			continue
		}
		var wait time.Duration
		wait, backoff = nextWait(err, backoff, interval)
		select {
		case <-ctx.Done():
			return
		case <-s.Wake:
		case <-time.After(wait):
		}
	}
}

package federation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/correspondence"
	"jukinet/internal/node"
)

// Reports and requests between bodies (internal/correspondence) travel
// between any two registered peers, up (a municipality's reports to its
// prefecture, a prefecture's to the national node) and down (a prefecture's
// requests to a municipality): POST /federation/v1/correspondence, the
// document's signed note as the body, the recipient's signed
// acknowledgement as the answer.

// AlertReplay is a document received again: an id already held, or a
// sequence not after the sender's last.
const AlertReplay = "replay"

// maxDocumentBytes bounds a document's signed note: a body of 4,000
// characters escaped in JSON and the rest fit in a fraction of it.
const maxDocumentBytes = 64 << 10

const actionCorrespondence = "federation.correspondence"

// anyPeer accepts every registered peer: documents go both ways.
func anyPeer(Peer) bool { return true }

// ServeCorrespondence answers POST /federation/v1/correspondence from a
// registered peer: over TLS only with that peer's node certificate
// (readSigned), the note signed by a registered peer's key, and that
// peer the document's sender, addressed to this node, not a replay. The
// answer is this node's signed acknowledgement.
func (r *Receiver) ServeCorrespondence(w http.ResponseWriter, req *http.Request) {
	msg, conn, ok := r.readSigned(w, req, actionCorrespondence, anyPeer, maxDocumentBytes, verifyNote)
	if !ok {
		return
	}
	ack, ref := r.ReceiveDocument(req.Context(), msg, conn)
	if ref != nil {
		writeJSON(w, ref.Status, ref)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(ack)
}

// ReceiveDocument checks and records one signed document and returns the
// signed acknowledgement. Each refusal after the signature verified raises
// an alert (federation.alert, fed_alert) naming the peer; none stops the
// peer's change notifications.
func (r *Receiver) ReceiveDocument(ctx context.Context, msg []byte, conn Conn) ([]byte, *refusal) {
	ss, err := peerSigners(ctx, r.n.DB, anyPeer)
	if err != nil {
		return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	n, err := note.Open(msg, ss.list)
	if err != nil {
		// Not signed by a peer: nothing of it is trusted, nor logged.
		if err := r.refusal(ctx, conn, actionCorrespondence, whySignature, msg, 0); err != nil {
			r.logger.Error("record a refused federation request", "err", err)
		}
		return nil, &refusal{Status: http.StatusForbidden, Error: "document refused: " + err.Error(), Alert: AlertSignature}
	}
	peer := ss.byName[n.Sigs[0].Name]
	d, _, err := correspondence.Open(msg, ss.list)
	switch {
	case err != nil:
		return nil, r.alert(ctx, peer.Code, AlertMalformed, http.StatusBadRequest, "document refused: "+err.Error(), false)
	case d.Sender != peer.Code:
		return nil, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden, fmt.Sprintf("document signed by %s claims to come from %.40q", peer.Code, d.Sender), false)
	case conn.TLS && !certFrom(conn.Chains, peer):
		return nil, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden, fmt.Sprintf("document of %s sent over a connection without %s's node certificate", peer.Code, peer.Code), false)
	case d.Recipient != Code(r.n):
		return nil, r.alert(ctx, peer.Code, AlertMisdirect, http.StatusForbidden, fmt.Sprintf("document for %.40q sent to %s", d.Recipient, Code(r.n)), false)
	}
	if conn.TLS {
		// Over mutual TLS the connection is the sender's own: the same
		// note again is its retry after a lost acknowledgement. Over plain
		// HTTP anyone may have copied it, so it is a replay.
		if ack, ok, err := correspondence.Resent(ctx, r.n.DB, d); err != nil {
			return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
		} else if ok {
			return ack, nil
		}
	}
	ack, err := r.n.Correspondence.Receive(ctx, auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, d)
	if replay, ok := errors.AsType[*correspondence.ReplayError](err); ok {
		return nil, r.alert(ctx, peer.Code, AlertReplay, http.StatusConflict, replay.Error(), false)
	}
	switch {
	case err == nil:
		return ack, nil
	case apperr.CodeOf(err) == apperr.Invalid:
		return nil, r.alert(ctx, peer.Code, AlertMalformed, http.StatusUnprocessableEntity, "document refused: "+err.Error(), false)
	}
	r.logger.Warn("a document from a peer could not be recorded", "source", peer.Code, "err", err)
	return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
}

// Correspondent delivers the documents this node queued
// (internal/correspondence) to their recipients, each recipient's in
// sequence order, and records each acknowledgement or refusal.
type Correspondent struct {
	s *Sender
	// Wake, when sent to, makes Run try at once (after a document is queued).
	Wake chan struct{}
}

// NewCorrespondent returns the correspondent of node n; it wakes when the
// node's correspondence queues a document.
func NewCorrespondent(n *node.Node, logger *slog.Logger) *Correspondent {
	c := &Correspondent{s: NewSender(n, logger), Wake: make(chan struct{}, 1)}
	if n.Correspondence != nil {
		n.Correspondence.Wake = func() {
			select {
			case c.Wake <- struct{}{}:
			default:
			}
		}
	}
	return c
}

// DeliverOnce tries every queued document once, in order per recipient
// (a recipient unreachable keeps the rest of its documents for the next
// try), and returns how many were acknowledged or refused.
func (c *Correspondent) DeliverOnce(ctx context.Context) (int, error) {
	n := c.s.n
	queue, err := correspondence.Queue(ctx, n.DB)
	if err != nil || len(queue) == 0 {
		return 0, err
	}
	peers, err := Peers(ctx, n.DB)
	if err != nil {
		return 0, err
	}
	byCode := map[string]Peer{}
	for _, p := range peers {
		byCode[p.Code] = p
	}
	done, blocked := 0, map[string]bool{}
	var firstErr error
	for _, d := range queue {
		if blocked[d.Recipient] {
			continue
		}
		err := c.deliver(ctx, byCode, d)
		if err == nil {
			done++
			continue
		}
		if _, refused := errors.AsType[*refusedError](err); refused {
			done++
			continue
		}
		blocked[d.Recipient] = true
		if aerr := n.Correspondence.Attempted(context.WithoutCancel(ctx), d.ID, err.Error()); aerr != nil {
			return done, aerr
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return done, firstErr
}

// deliver posts one document and records the answer.
func (c *Correspondent) deliver(ctx context.Context, peers map[string]Peer, d correspondence.Document) error {
	n := c.s.n
	p, ok := peers[d.Recipient]
	if !ok || p.URL == "" {
		return fmt.Errorf("%s is not a registered peer with an address (jukinet peer add)", d.Recipient)
	}
	v, err := note.NewVerifier(p.NoteKey)
	if err != nil {
		return fmt.Errorf("%s's key: %w", p.Code, err)
	}
	client, err := c.s.httpClient(&p)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(p.URL, "/")+"/federation/v1/correspondence", bytes.NewReader([]byte(d.Note)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("send %s to %s: %w", d.ID, p.Code, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	// What the recipient answered is recorded even when ctx ends meanwhile.
	ctx = context.WithoutCancel(ctx)
	switch {
	case resp.StatusCode == http.StatusOK:
		return n.Correspondence.Acknowledged(ctx, d.ID, body, v)
	// A refusal of the document itself is final; 401 and 403 refuse the
	// caller (its certificate while it is being registered at the peer, a
	// suspension), so the document waits and is tried again.
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests &&
		resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden:
		ref := &refusedError{peer: p.Code, status: resp.StatusCode, body: strings.TrimSpace(string(body))}
		if err := n.Correspondence.Refused(ctx, d.ID, ref.Error()); err != nil {
			return err
		}
		return ref
	}
	return fmt.Errorf("%s answered %d: %.200s", p.Code, resp.StatusCode, strings.TrimSpace(string(body)))
}

// Run delivers until ctx ends: at once while documents are queued, then
// every interval or on Wake; after an error it backs off (up to 30 s).
func (c *Correspondent) Run(ctx context.Context, interval time.Duration) {
	backoff := time.Second
	for {
		k, err := c.DeliverOnce(ctx)
		wait := interval
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			c.s.logger.Warn("delivering reports and requests", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, 30*time.Second)
		case k > 0:
			backoff = time.Second
			continue
		default:
			backoff = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-c.Wake:
		case <-time.After(wait):
		}
	}
}

package federation

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

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
}

// NewReceiver returns the receiver of node n.
func NewReceiver(n *node.Node, logger *slog.Logger) *Receiver {
	if logger == nil {
		logger = slog.Default()
	}
	return &Receiver{n: n, logger: logger}
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
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a signed batch", http.StatusMethodNotAllowed)
		return
	}
	msg, err := io.ReadAll(http.MaxBytesReader(w, req.Body, 64<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, refusal{Error: "read batch: " + err.Error()})
		return
	}
	var chains [][]*x509.Certificate
	if req.TLS != nil {
		chains = req.TLS.VerifiedChains
	}
	ack, ref := r.Receive(req.Context(), msg, chains)
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

// Receive checks and applies one signed batch. chains are the TLS client
// certificate chains verified for the connection (none over plain HTTP);
// when present, they must be the signer's node certificate.
func (r *Receiver) Receive(ctx context.Context, msg []byte, chains [][]*x509.Certificate) (Ack, *refusal) {
	ss, err := peerSigners(ctx, r.n.DB, isDownstream)
	if err != nil {
		return Ack{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	b, signer, err := open(msg, ss.list)
	if err != nil {
		return Ack{}, r.alert(ctx, claimedSource(msg), AlertSignature, http.StatusForbidden, "batch refused: "+err.Error(), false)
	}
	peer := ss.byName[signer]
	switch {
	case b.Source != peer.Code:
		return Ack{}, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden, fmt.Sprintf("batch signed by %s claims to come from %s", peer.Code, b.Source), true)
	case len(chains) > 0 && !certFrom(chains, peer):
		return Ack{}, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden, fmt.Sprintf("batch of %s sent over a connection without %s's node certificate", peer.Code, peer.Code), true)
	case b.Target != Code(r.n):
		return Ack{}, r.alert(ctx, peer.Code, AlertMisdirect, http.StatusForbidden, fmt.Sprintf("batch for %s sent to %s", b.Target, Code(r.n)), false)
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
	applied, last, err := r.n.Gate.Replicate(ctx, req, peer.Code, changes)
	var gap *gate.SequenceError
	switch {
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
		return Ack{}, &refusal{Status: status, Error: err.Error() + "（" + apperr.JapaneseOf(err) + "）"}
	}
	return Ack{Source: peer.Code, Last: last, Applied: applied}, nil
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
	now := time.Now()
	_, workErr, err := n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		if _, err := tx.Exec(ctx, `INSERT INTO fed_alert (at, source, kind, detail) VALUES (?, ?, ?, ?)`, now, source, kind, detail); err != nil {
			return err
		}
		if !stop {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO fed_inbox (source, last_seq) SELECT ?, 0 WHERE NOT EXISTS (SELECT 1 FROM fed_inbox WHERE source = ?)`, source, source); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE fed_inbox SET stopped_at = ?, stop_reason = ? WHERE source = ? AND stopped_at IS NULL`, now, kind+": "+detail, source)
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

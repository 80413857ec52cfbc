package federation

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/node"
	"jukinet/internal/profile"
)

// AlertFork is a checkpoint inconsistent with what the witness saw before:
// the node's log was rewritten, cut or forked.
const AlertFork = "log-inconsistent"

// WitnessRequest carries a node's latest checkpoint and the proof that it
// extends the last one its witness cosigned.
type WitnessRequest struct {
	Checkpoint string   `json:"checkpoint"` // signed note
	OldSize    int64    `json:"old_size"`
	Proof      []string `json:"proof"` // base64 hashes
}

// ServeWitness answers POST /federation/v1/witness: it checks a downstream
// node's checkpoint against the last one it cosigned for that node and, if
// the log only grew, cosigns it.
func (r *Receiver) ServeWitness(w http.ResponseWriter, req *http.Request) {
	var wr WitnessRequest
	_, _, ok := r.readSigned(w, req, actionWitness, mayBeWitnessed, maxRequestBytes, func(msg []byte, vs note.Verifiers) error {
		if err := json.Unmarshal(msg, &wr); err != nil {
			return fmt.Errorf("witness request: %w", err)
		}
		_, err := note.Open([]byte(wr.Checkpoint), vs)
		return err
	})
	if !ok {
		return
	}
	cosigned, ref := r.Witness(req.Context(), wr)
	if ref != nil {
		writeJSON(w, ref.Status, ref)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write(cosigned)
}

// mayBeWitnessed are the peers whose checkpoints this node cosigns: its
// downstream nodes, and the national node when it is this node's upstream
// (it has none of its own to witness it).
func mayBeWitnessed(p Peer) bool {
	return p.Role == Downstream || p.Role == Upstream && p.Level == string(profile.National)
}

// Witness checks and cosigns a checkpoint.
func (r *Receiver) Witness(ctx context.Context, wr WitnessRequest) ([]byte, *refusal) {
	ss, err := peerSigners(ctx, r.n.DB, mayBeWitnessed)
	if err != nil {
		return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	n, err := note.Open([]byte(wr.Checkpoint), ss.list)
	if err != nil {
		// A peer removed since readSigned checked the signature.
		return nil, &refusal{Status: http.StatusForbidden, Error: "checkpoint refused: " + err.Error()}
	}
	peer := ss.byName[n.Sigs[0].Name]
	cp, err := auditlog.OpenCheckpoint([]byte(wr.Checkpoint), ss.keys[n.Sigs[0].Name])
	if err != nil {
		return nil, &refusal{Status: http.StatusBadRequest, Error: err.Error()}
	}
	var lastSize int64
	var lastRoot string
	err = r.n.DB.QueryRow(ctx, `SELECT size, root FROM fed_witnessed WHERE peer = ?`, peer.Code).Scan(&lastSize, &lastRoot)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	root := base64.StdEncoding.EncodeToString(cp.Root[:])
	switch {
	case cp.Size < lastSize:
		return nil, r.forked(ctx, peer.Code, lastSize,
			fmt.Sprintf("checkpoint of size %d is smaller than the %d already witnessed: the log was cut", cp.Size, lastSize))
	case cp.Size == lastSize && root != lastRoot:
		return nil, r.forked(ctx, peer.Code, lastSize,
			fmt.Sprintf("a second root for size %d: the log was rewritten", cp.Size))
	case lastSize > 0 && cp.Size > lastSize && wr.OldSize != lastSize:
		// A proof from another size (a node restored from a backup knows
		// an older cosigned size): the entries the witness holds decide
		// below, as they do in every case.
	case lastSize > 0 && cp.Size > lastSize:
		var oldRoot tlog.Hash
		b, _ := base64.StdEncoding.DecodeString(lastRoot)
		copy(oldRoot[:], b)
		proof := make(tlog.TreeProof, len(wr.Proof))
		for i, p := range wr.Proof {
			h, err := base64.StdEncoding.DecodeString(p)
			if err != nil || len(h) != tlog.HashSize {
				return nil, &refusal{Status: http.StatusBadRequest, Error: "bad proof hash"}
			}
			copy(proof[i][:], h)
		}
		if err := tlog.CheckTree(proof, cp.Size, cp.Root, lastSize, oldRoot); err != nil {
			return nil, r.forked(ctx, peer.Code, lastSize,
				fmt.Sprintf("checkpoint of size %d does not extend the one witnessed at %d: %v", cp.Size, lastSize, err))
		}
	}
	// Only entries the witness holds are cosigned: it computes the root
	// from them itself.
	frontier, gaps, ref := r.cosignable(ctx, peer, cp)
	if ref != nil {
		return nil, ref
	}
	cosigned, err := note.Sign(n, r.n.Signer)
	if err != nil {
		return nil, &refusal{Status: http.StatusInternalServerError, Error: err.Error()}
	}
	e := auditlog.Entry{Node: Code(r.n), Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, Origin: "node:" + peer.Code,
		Action: "federation.witness", Query: fmt.Sprintf("size=%d", cp.Size), Detail: "root " + root,
		Decision: auditlog.Allow, Policy: "jukinet:witness", Why: "the log only grew", Outcome: auditlog.OutcomeOK}
	_, workErr, err := r.n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		_, err := tx.Exec(ctx, `INSERT INTO fed_witnessed (peer, size, root, note, at, frontier) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (peer) DO UPDATE SET size = excluded.size, root = excluded.root, note = excluded.note, at = excluded.at, frontier = excluded.frontier`,
			peer.Code, cp.Size, root, string(cosigned), e.Time, encodeFrontier(frontier))
		return err
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	// A restored node's explicit gap, now cosigned, is an alert here.
	for _, g := range gaps {
		if err := RaiseAlert(ctx, r.n, peer.Code, AlertLogGap, g, false); err != nil {
			r.logger.Error("record a federation alert", "source", peer.Code, "kind", AlertLogGap, "err", err)
		}
	}
	return cosigned, nil
}

// WitnessOnce sends this node's latest checkpoint to its upstream, if it
// is newer than the last one cosigned, and stores the cosignature.
func (s *Sender) WitnessOnce(ctx context.Context) (bool, error) {
	p, err := witness(ctx, s.n)
	if err != nil || p == nil {
		return false, err
	}
	cp, err := auditlog.LatestCheckpoint(ctx, s.n.DB)
	if err != nil || cp == nil {
		return false, err
	}
	var lastSize int64
	if err := s.n.DB.QueryRow(ctx, `SELECT COALESCE(MAX(size), 0) FROM audit_cosignature`).Scan(&lastSize); err != nil {
		return false, err
	}
	if cp.Size <= lastSize {
		return false, nil
	}
	// The entries first: the witness cosigns only entries it holds.
	if err := s.shipEntries(ctx, p, lastSize, cp.Size); err != nil {
		return false, err
	}
	proof, err := auditlog.ConsistencyProof(ctx, s.n.DB, lastSize, cp.Size)
	if err != nil {
		return false, err
	}
	wr := WitnessRequest{Checkpoint: string(cp.Note), OldSize: lastSize}
	for _, h := range proof {
		wr.Proof = append(wr.Proof, base64.StdEncoding.EncodeToString(h[:]))
	}
	body, _ := json.Marshal(wr)
	client, err := s.httpClient(p)
	if err != nil {
		return false, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(p.URL, "/")+"/federation/v1/witness", bytes.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return false, fmt.Errorf("witness at %s: %w", p.Code, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%s refused to witness checkpoint %d (%d): %s", p.Code, cp.Size, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	// Keep it only if both signatures verify.
	wv, err := note.NewVerifier(p.NoteKey)
	if err != nil {
		return false, err
	}
	n, err := note.Open(raw, note.VerifierList(s.n.Verifier, wv))
	if err != nil || len(n.Sigs) < 2 {
		return false, fmt.Errorf("cosigned checkpoint from %s does not verify: %v", p.Code, err)
	}
	if _, err := s.n.DB.Exec(ctx, `INSERT INTO audit_cosignature (size, witness, note, at) VALUES (?, ?, ?, ?)`, cp.Size, wv.Name(), string(raw), s.n.Now()); err != nil {
		return false, fmt.Errorf("store cosignature: %w", err)
	}
	return true, nil
}

// witness is the peer that cosigns this node's checkpoints: its upstream,
// or for the national node the peer marked as its witness.
func witness(ctx context.Context, n *node.Node) (*Peer, error) {
	peers, err := Peers(ctx, n.DB)
	if err != nil {
		return nil, err
	}
	for _, p := range peers {
		if p.Role == Upstream || p.Witness {
			return &p, nil
		}
	}
	return nil, nil
}

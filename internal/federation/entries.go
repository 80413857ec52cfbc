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
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
)

// The witness keeps a copy of each downstream node's audit entries, so that
// a node restored from a backup gets back every entry its witness cosigned
// (recover.go). The node ships its entries (POST /federation/v1/entries, in
// signed chunks of at most MaxBatchBytes) before the checkpoint that covers
// them; the witness holds them, and cosigns a checkpoint only when it holds
// every entry up to its size and the entries' leaves, folded onto the right
// edge of the tree it cosigned last (its frontier), make the checkpoint's
// root. So every cosigned entry is recoverable, and entries that do not
// hash into the checkpoint are never cosigned (they are dropped, with the
// alert log-inconsistent).

// AlertLogGap is raised by a witness when a node's entries, cosigned,
// include an audit.gap entry: the node was restored from a backup and says
// that entries written after the last one it recovered are lost.
const AlertLogGap = "log-gap"

// Actions of the entries a node writes on recovery.
const (
	ActionRecovered = "audit.recovered"
	ActionGap       = "audit.gap"
)

// entriesHeader and recoverHeader are the first lines of the signed
// requests that ship entries to the witness and ask them back.
const (
	entriesHeader = "jukinet-entries v1"
	recoverHeader = "jukinet-recover v1"
)

// Actions of the requests refused before their sender was known.
const (
	actionEntries = "federation.entries"
	actionRecover = "federation.recover"
)

// shipBytes is about how much of a node's entries one request carries
// (well under MaxBatchBytes, the most the witness reads).
const shipBytes = 4 << 20

// EntriesRequest ships a node's audit entries from From to its witness;
// Frontier is the right edge of the node's tree at From (base64), which
// a witness that cosigned before it kept entries needs once.
type EntriesRequest struct {
	Source   string                  `json:"source"`
	Target   string                  `json:"target"`
	From     int64                   `json:"from"`
	Frontier []string                `json:"frontier,omitempty"`
	Entries  []auditlog.ShippedEntry `json:"entries"`
}

// EntriesAnswer says up to which entry the witness holds the node's log.
type EntriesAnswer struct {
	Held  int64  `json:"held"`
	Error string `json:"error,omitempty"`
}

// ServeEntries answers POST /federation/v1/entries from a node this node
// witnesses.
func (r *Receiver) ServeEntries(w http.ResponseWriter, req *http.Request) {
	msg, conn, ok := r.readSigned(w, req, actionEntries, mayBeWitnessed, MaxBatchBytes, verifyNote)
	if !ok {
		return
	}
	held, ref := r.Entries(req.Context(), msg, conn)
	if ref != nil {
		writeJSON(w, ref.Status, EntriesAnswer{Held: held, Error: ref.Error})
		return
	}
	writeJSON(w, http.StatusOK, EntriesAnswer{Held: held})
}

// signedBy opens a signed request of one of the peers accept takes, with
// its header, into v, and checks that it comes from the peer it names
// (source) over a connection that carries that peer's node certificate.
func (r *Receiver) signedBy(ctx context.Context, msg []byte, conn Conn, accept func(Peer) bool, header string, v any, source func() string) (*Peer, *refusal) {
	ss, err := peerSigners(ctx, r.n.DB, accept)
	if err != nil {
		return nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	n, err := note.Open(msg, ss.list)
	if err != nil {
		// A peer removed since readSigned checked the signature.
		return nil, &refusal{Status: http.StatusForbidden, Error: "request refused: " + err.Error()}
	}
	peer := ss.byName[n.Sigs[0].Name]
	h, body, _ := strings.Cut(n.Text, "\n")
	if h != header || json.Unmarshal([]byte(body), v) != nil {
		return nil, r.alert(ctx, peer.Code, AlertMalformed, http.StatusBadRequest, "not a "+header+" request", false)
	}
	switch {
	case source() != peer.Code:
		return nil, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden,
			fmt.Sprintf("%s signed a request for the audit entries of %.40q: a node may ship and ask back only its own", peer.Code, source()), false)
	case conn.TLS && !certFrom(conn.Chains, peer):
		return nil, r.alert(ctx, peer.Code, AlertSignature, http.StatusForbidden,
			fmt.Sprintf("request of %s sent over a connection without %s's node certificate", peer.Code, peer.Code), false)
	}
	return &peer, nil
}

// witnessState is what a witness holds of a node's log: the size, root and
// frontier it cosigned last (frontier nil when it cosigned before it kept
// entries), and the entries it holds, up to held (entries beyond size await
// their checkpoint). first is the first entry it holds.
type witnessState struct {
	size     int64
	root     string
	note     string
	frontier auditlog.Frontier
	noFront  bool
	first    int64
	held     int64
}

func readWitnessState(ctx context.Context, q db.Querier, peer string) (witnessState, error) {
	var st witnessState
	var frontier sql.NullString
	err := q.QueryRow(ctx, `SELECT size, root, note, frontier FROM fed_witnessed WHERE peer = ?`, peer).Scan(&st.size, &st.root, &st.note, &frontier)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("read what this node witnessed of %s: %w", peer, err)
	}
	if frontier.Valid {
		f, err := decodeFrontier(frontier.String)
		if err != nil {
			return st, err
		}
		st.frontier = f
	} else if st.size > 0 {
		st.noFront = true
	}
	var lo, hi sql.NullInt64
	if err := q.QueryRow(ctx, `SELECT MIN(seq), MAX(seq) FROM fed_witness_entry WHERE peer = ?`, peer).Scan(&lo, &hi); err != nil {
		return st, fmt.Errorf("read the entries held of %s: %w", peer, err)
	}
	st.first, st.held = st.size, st.size
	if hi.Valid {
		st.first, st.held = lo.Int64, max(st.size, hi.Int64+1)
	}
	return st, nil
}

func encodeFrontier(f auditlog.Frontier) string {
	parts := make([]string, len(f))
	for i, h := range f {
		parts[i] = base64.StdEncoding.EncodeToString(h[:])
	}
	return strings.Join(parts, "\n")
}

func decodeFrontier(s string) (auditlog.Frontier, error) {
	if s == "" {
		return auditlog.Frontier{}, nil
	}
	return decodeHashes(strings.Split(s, "\n"))
}

func decodeHashes(list []string) (auditlog.Frontier, error) {
	f := auditlog.Frontier{}
	for _, p := range list {
		b, err := base64.StdEncoding.DecodeString(p)
		if err != nil || len(b) != tlog.HashSize {
			return nil, errors.New("a frontier hash is not a base64 SHA-256")
		}
		var h tlog.Hash
		copy(h[:], b)
		f = append(f, h)
	}
	return f, nil
}

// Entries stores the entries a node ships, once checked: they must
// continue what the witness holds of its log, each a canonical entry with
// its residents (or a pruned one's leaf hash). It returns how many entries
// of the node's log the witness now holds; a request from another place
// than that is refused (409) with the answer's held saying where to start.
func (r *Receiver) Entries(ctx context.Context, msg []byte, conn Conn) (int64, *refusal) {
	var er EntriesRequest
	peer, ref := r.signedBy(ctx, msg, conn, mayBeWitnessed, entriesHeader, &er, func() string { return er.Source })
	if ref != nil {
		return 0, ref
	}
	if er.Target != Code(r.n) {
		return 0, r.alert(ctx, peer.Code, AlertMisdirect, http.StatusForbidden, fmt.Sprintf("entries for %.40q sent to %s", er.Target, Code(r.n)), false)
	}
	st, err := readWitnessState(ctx, r.n.DB, peer.Code)
	if err != nil {
		return 0, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	if er.From != st.held {
		return st.held, &refusal{Status: http.StatusConflict, Error: fmt.Sprintf("this witness holds %s's entries up to %d: ship from there", peer.Code, st.held)}
	}
	var frontier *auditlog.Frontier
	if st.noFront {
		// Cosigned before entries were kept: the node's frontier at the
		// cosigned size, checked against the cosigned root, lets the
		// witness compute the next roots itself.
		f, err := decodeHashes(er.Frontier)
		if err != nil || !f.Fits(st.size) {
			return st.held, &refusal{Status: http.StatusBadRequest, Error: fmt.Sprintf("send the frontier of your tree at %d with these entries", st.size)}
		}
		root := f.Root()
		if base64.StdEncoding.EncodeToString(root[:]) != st.root {
			return st.held, r.alert(ctx, peer.Code, AlertFork, http.StatusConflict,
				fmt.Sprintf("the frontier sent at size %d does not make the root witnessed there", st.size), false)
		}
		frontier = &f
	}
	rows := make([][]any, 0, len(er.Entries))
	var actions []string
	for i, s := range er.Entries {
		if s.Seq != er.From+int64(i) {
			return st.held, r.alert(ctx, peer.Code, AlertMalformed, http.StatusBadRequest, fmt.Sprintf("entry %d shipped in place of %d", s.Seq, er.From+int64(i)), false)
		}
		c, err := s.Check()
		if err != nil {
			return st.held, r.alert(ctx, peer.Code, AlertMalformed, http.StatusBadRequest, "entries refused: "+err.Error(), false)
		}
		rows = append(rows, []any{peer.Code, s.Seq, c.At, c.Actor, c.Action, s.Payload, c.Leaf[:], strings.Join(s.Subjects, "\n")})
		actions = append(actions, c.Action)
	}
	held := er.From + int64(len(rows))
	e := auditlog.Entry{Node: Code(r.n), Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, Origin: "node:" + peer.Code,
		Action: actionEntries, Query: fmt.Sprintf("from=%d to=%d", er.From, held), Count: len(rows),
		Decision: auditlog.Allow, Policy: "jukinet:witness", Why: "a copy of the node's audit entries, kept for its recovery", Outcome: auditlog.OutcomeOK}
	_, workErr, err := r.n.Log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		again, err := readWitnessState(ctx, tx, peer.Code)
		if err != nil {
			return err
		}
		if again.held != er.From {
			return fmt.Errorf("entries of %s shipped twice at once", peer.Code)
		}
		if frontier != nil {
			if _, err := tx.Exec(ctx, `UPDATE fed_witnessed SET frontier = ? WHERE peer = ?`, encodeFrontier(*frontier), peer.Code); err != nil {
				return fmt.Errorf("store the frontier of %s: %w", peer.Code, err)
			}
		}
		return db.InsertMany(ctx, tx, "fed_witness_entry", []string{"peer", "seq", "at", "actor_id", "action", "payload", "leaf_hash", "subjects"}, rows)
	})
	if err == nil {
		err = workErr
	}
	if err != nil {
		return st.held, &refusal{Status: http.StatusServiceUnavailable, Error: "store the entries: " + err.Error()}
	}
	return held, nil
}

// cosignable checks, before a witness cosigns cp for peer, that it holds
// the node's entries up to the checkpoint and that they make its root; it
// returns the frontier at the checkpoint and the audit.gap entries among
// the newly covered ones. A mismatch drops the held entries beyond the
// last cosigned size (the node ships them again) and is an alert.
func (r *Receiver) cosignable(ctx context.Context, peer Peer, cp *auditlog.Checkpoint) (auditlog.Frontier, []string, *refusal) {
	st, err := readWitnessState(ctx, r.n.DB, peer.Code)
	if err != nil {
		return nil, nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	if st.noFront || st.held < cp.Size {
		return nil, nil, &refusal{Status: http.StatusConflict, Error: fmt.Sprintf("ship your audit entries from %d to %d first (POST /federation/v1/entries): this witness cosigns only entries it holds", st.held, cp.Size)}
	}
	f := st.frontier
	var gaps []string
	rows, err := r.n.DB.Query(ctx, `SELECT seq, leaf_hash, action, payload FROM fed_witness_entry WHERE peer = ? AND seq >= ? AND seq < ? ORDER BY seq`, peer.Code, st.size, cp.Size)
	if err != nil {
		return nil, nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	next := st.size
	for rows.Next() {
		var seq int64
		var leaf, payload []byte
		var action string
		if err := rows.Scan(&seq, &leaf, &action, &payload); err != nil {
			rows.Close()
			return nil, nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
		}
		if seq != next {
			break
		}
		var h tlog.Hash
		copy(h[:], leaf)
		f = f.Append(seq, h)
		next++
		if action == ActionGap {
			if e, err := auditlog.DecodeEntry(payload); err == nil {
				gaps = append(gaps, fmt.Sprintf("entry %d: %.300s", seq, e.Detail))
			}
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	if next != cp.Size || f.Root() != cp.Root {
		return nil, nil, r.forked(ctx, peer.Code, st.size, fmt.Sprintf("the entries shipped up to %d do not make the root of the checkpoint of size %d", next, cp.Size))
	}
	return f, gaps, nil
}

// forked drops the entries held of peer beyond the cosigned size (they
// belong to a history the witness refused) and raises the alert.
func (r *Receiver) forked(ctx context.Context, peer string, cosigned int64, detail string) *refusal {
	if _, err := r.n.DB.Exec(ctx, `DELETE FROM fed_witness_entry WHERE peer = ? AND seq >= ?`, peer, cosigned); err != nil {
		r.logger.Error("drop the entries of a refused checkpoint", "peer", peer, "err", err)
	}
	return r.alert(ctx, peer, AlertFork, http.StatusConflict, detail, false)
}

// shipEntries ships this node's entries up to size to the witness p,
// starting where the witness says it holds them (from is the first guess:
// the size it last cosigned).
func (s *Sender) shipEntries(ctx context.Context, p *Peer, from, size int64) error {
	client, err := s.httpClient(p)
	if err != nil {
		return err
	}
	sendFrontier := true
	for tries := 0; from < size; tries++ {
		if tries > 10000 {
			return fmt.Errorf("ship audit entries to %s: no progress", p.Code)
		}
		es, err := auditlog.ReadShipped(ctx, s.n.DB, from, size, shipBytes)
		if err != nil {
			return err
		}
		er := EntriesRequest{Source: Code(s.n), Target: p.Code, From: from, Entries: es}
		if sendFrontier && from > 0 {
			f, err := auditlog.ReadFrontier(ctx, s.n.DB, from)
			if err != nil {
				return err
			}
			for _, h := range f {
				er.Frontier = append(er.Frontier, base64.StdEncoding.EncodeToString(h[:]))
			}
		}
		var ans EntriesAnswer
		status, err := s.postSigned(ctx, client, p, "/federation/v1/entries", entriesHeader, er, &ans)
		switch {
		case err != nil:
			return fmt.Errorf("ship audit entries to %s: %w", p.Code, err)
		case status == http.StatusOK:
			from, sendFrontier = ans.Held, false
		case status == http.StatusConflict && ans.Held != from && ans.Held <= size:
			from, sendFrontier = ans.Held, true // start where the witness holds them
		case status == http.StatusConflict && ans.Held > size:
			return fmt.Errorf("%s holds %d of this node's audit entries, more than its %d: was this node restored from a backup? Run jukinet recover", p.Code, ans.Held, size)
		default:
			return fmt.Errorf("%s refused this node's audit entries from %d (%d): %s", p.Code, from, status, ans.Error)
		}
	}
	return nil
}

// postSigned signs v under header, posts it to the peer's path and decodes
// the JSON answer into out, whatever its status.
func (s *Sender) postSigned(ctx context.Context, client *http.Client, p *Peer, path, header string, v, out any) (int, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return 0, err
	}
	msg, err := note.Sign(&note.Note{Text: header + "\n" + string(body) + "\n"}, s.n.Signer)
	if err != nil {
		return 0, fmt.Errorf("sign the request: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimSuffix(p.URL, "/")+path, bytes.NewReader(msg))
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 2*MaxBatchBytes))
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read the answer: %w", err)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, fmt.Errorf("answer (%d) is not JSON: %.200s", resp.StatusCode, raw)
	}
	return resp.StatusCode, nil
}

// RecoverRequest asks the witness for this node's entries from From and the
// last checkpoint it cosigned; At is when asked.
type RecoverRequest struct {
	Source string `json:"source"`
	Target string `json:"target"`
	From   int64  `json:"from"`
	Max    int    `json:"max_bytes,omitempty"` // 0: the checkpoint only
	At     string `json:"at"`
}

// RecoverAnswer carries the witness's last cosigned checkpoint of the node
// (empty when it cosigned none), the first entry it holds, a page of the
// node's entries from the asked size, and the last change of the node it
// applied (its federation sequence, when it is the node's upstream).
type RecoverAnswer struct {
	Checkpoint string                  `json:"checkpoint"`
	Size       int64                   `json:"size"`
	First      int64                   `json:"first"`
	Entries    []auditlog.ShippedEntry `json:"entries,omitempty"`
	Acked      int64                   `json:"acked"`
	Error      string                  `json:"error,omitempty"`
}

// recoverPage is the most entry bytes one answer carries.
const recoverPage = 8 << 20

// ServeRecover answers POST /federation/v1/recover: a node this node
// witnesses asks for its own entries back.
func (r *Receiver) ServeRecover(w http.ResponseWriter, req *http.Request) {
	msg, conn, ok := r.readSigned(w, req, actionRecover, mayBeWitnessed, maxRequestBytes, verifyNote)
	if !ok {
		return
	}
	ans, ref := r.Recover(req.Context(), msg, conn)
	if ref != nil {
		writeJSON(w, ref.Status, RecoverAnswer{Error: ref.Error})
		return
	}
	writeJSON(w, http.StatusOK, ans)
}

// Recover answers a node's request for its own entries: only the node
// itself (its signature, and over TLS its node certificate) gets them. The
// answer is logged.
func (r *Receiver) Recover(ctx context.Context, msg []byte, conn Conn) (RecoverAnswer, *refusal) {
	var rr RecoverRequest
	peer, ref := r.signedBy(ctx, msg, conn, mayBeWitnessed, recoverHeader, &rr, func() string { return rr.Source })
	if ref != nil {
		return RecoverAnswer{}, ref
	}
	at, err := time.Parse(time.RFC3339, rr.At)
	switch {
	case rr.Target != Code(r.n):
		return RecoverAnswer{}, r.alert(ctx, peer.Code, AlertMisdirect, http.StatusForbidden, fmt.Sprintf("request for %.40q sent to %s", rr.Target, Code(r.n)), false)
	case err != nil || r.n.Now().Sub(at) > 5*time.Minute || at.Sub(r.n.Now()) > 5*time.Minute:
		return RecoverAnswer{}, &refusal{Status: http.StatusForbidden, Error: "stale request"}
	}
	st, err := readWitnessState(ctx, r.n.DB, peer.Code)
	if err != nil {
		return RecoverAnswer{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	ans := RecoverAnswer{Checkpoint: st.note, Size: st.size, First: st.first}
	if err := r.n.DB.QueryRow(ctx, `SELECT COALESCE(MAX(last_seq), 0) FROM fed_inbox WHERE source = ?`, peer.Code).Scan(&ans.Acked); err != nil {
		return RecoverAnswer{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	if rr.Max > 0 && st.held > st.size {
		// Entries shipped beyond the last cosigned checkpoint belong to the
		// log that was lost: the recovered node writes on from the
		// cosigned size, and ships its own.
		if _, err := r.n.DB.Exec(ctx, `DELETE FROM fed_witness_entry WHERE peer = ? AND seq >= ?`, peer.Code, st.size); err != nil {
			return RecoverAnswer{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
		}
	}
	if rr.Max > 0 && rr.From < st.size {
		if rr.From < st.first {
			return ans, &refusal{Status: http.StatusConflict, Error: fmt.Sprintf("this witness holds %s's entries only from %d (it cosigned before it kept entries), not from %d", peer.Code, st.first, rr.From)}
		}
		if ans.Entries, err = readHeld(ctx, r.n.DB, peer.Code, rr.From, st.size, min(rr.Max, recoverPage)); err != nil {
			return RecoverAnswer{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
		}
	}
	e := auditlog.Entry{Node: Code(r.n), Actor: auditlog.Actor{Kind: auditlog.ActorPeer, ID: peer.Code, Name: peer.Name}, Origin: "node:" + peer.Code,
		Action: actionRecover, Query: fmt.Sprintf("from=%d", rr.From), Count: len(ans.Entries),
		Detail:   fmt.Sprintf("cosigned size %d; returned entries %d..%d", st.size, rr.From, rr.From+int64(len(ans.Entries))),
		Decision: auditlog.Allow, Policy: "jukinet:witness", Why: "a node's own audit entries, back to it", Outcome: auditlog.OutcomeOK}
	if _, err := r.n.Log.Append(ctx, e); err != nil {
		return RecoverAnswer{}, &refusal{Status: http.StatusServiceUnavailable, Error: err.Error()}
	}
	return ans, nil
}

// readHeld reads the held entries of peer from from (below to), about
// maxBytes of them.
func readHeld(ctx context.Context, q db.Querier, peer string, from, to int64, maxBytes int) ([]auditlog.ShippedEntry, error) {
	rows, err := q.Query(ctx, `SELECT seq, at, actor_id, action, payload, leaf_hash, subjects FROM fed_witness_entry
		WHERE peer = ? AND seq >= ? AND seq < ? ORDER BY seq LIMIT 100000`, peer, from, to)
	if err != nil {
		return nil, fmt.Errorf("read the entries held of %s: %w", peer, err)
	}
	defer rows.Close()
	var out []auditlog.ShippedEntry
	total := 0
	for rows.Next() && total < maxBytes {
		var s auditlog.ShippedEntry
		var at time.Time
		var actor, action, subjects string
		var leaf []byte
		if err := rows.Scan(&s.Seq, &at, &actor, &action, &s.Payload, &leaf, &subjects); err != nil {
			return nil, fmt.Errorf("read the entries held of %s: %w", peer, err)
		}
		if s.Payload == nil {
			s.Leaf, s.At, s.Actor, s.Action = leaf, at.UTC(), actor, action
		}
		if subjects != "" {
			s.Subjects = strings.Split(subjects, "\n")
		}
		out = append(out, s)
		total += s.Size()
	}
	return out, rows.Err()
}

// askRecover asks the witness p for this node's entries from from (max
// bytes of them; 0 for the checkpoint only).
func (s *Sender) askRecover(ctx context.Context, p *Peer, from int64, maxBytes int) (RecoverAnswer, error) {
	client, err := s.httpClient(p)
	if err != nil {
		return RecoverAnswer{}, err
	}
	var ans RecoverAnswer
	rr := RecoverRequest{Source: Code(s.n), Target: p.Code, From: from, Max: maxBytes, At: s.n.Now().UTC().Format(time.RFC3339)}
	status, err := s.postSigned(ctx, client, p, "/federation/v1/recover", recoverHeader, rr, &ans)
	if err != nil {
		return ans, fmt.Errorf("ask %s for this node's audit entries: %w", p.Code, err)
	}
	if status != http.StatusOK {
		return ans, fmt.Errorf("%s refused to return this node's audit entries (%d): %s", p.Code, status, ans.Error)
	}
	return ans, nil
}

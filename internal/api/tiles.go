package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"jukinet/internal/auditlog"
	"jukinet/internal/auditlog/tiles"
)

// The audit log as a tiled transparency log (C2SP tlog-tiles) under the
// prefix /api/v1/audit: the checkpoint, hash tiles and entry bundles, to
// the callers the policies let read the audit log (MayAudit). Hash tiles
// and the checkpoint carry no personal data and are not logged; each entry
// bundle read — or refused — is an audit entry (tiles.ActionBundle), appended
// before a byte is sent.

func (h *Handler) checkpoint(w http.ResponseWriter, r *http.Request) {
	if !h.mayAudit(w, r) {
		return
	}
	h.serveTile(w, r, tiles.Resource{Kind: tiles.KindCheckpoint})
}

func (h *Handler) tile(w http.ResponseWriter, r *http.Request) {
	res, err := tiles.ParsePath("tile/" + r.PathValue("path"))
	if err != nil {
		h.tileProblem(w, r, err)
		return
	}
	if res.Kind != tiles.KindEntryBundle {
		if !h.mayAudit(w, r) {
			return
		}
		h.serveTile(w, r, res)
		return
	}
	c := callerOf(r)
	v := c.auditVerdict(r.Context())
	e := auditlog.Entry{Node: h.node.Code(), Actor: c.Actor, Origin: c.Origin, Action: tiles.ActionBundle, Query: tiles.Path(res.Tile),
		Decision: auditlog.Allow, Policy: v.Policy, Why: v.Why, WhyJapanese: v.Japanese, Outcome: auditlog.OutcomeOK}
	if !v.Allow {
		e.Decision, e.Outcome = auditlog.Deny, auditlog.OutcomeDenied
		if _, err := h.node.Log.Append(r.Context(), e); err != nil {
			h.fail(w, r, err)
			return
		}
		h.mayAudit(w, r) // answers the refusal
		return
	}
	a, err := tiles.Read(r.Context(), h.tiles, res)
	if err != nil {
		var te *tiles.Error
		if !errors.As(err, &te) {
			h.fail(w, r, err)
			return
		}
		// A bundle asked for and not served (pruned, beyond the tree) is
		// an attempt on record too.
		e.Outcome, e.Error = auditlog.OutcomeError, te.Detail
		if _, err := h.node.Log.Append(r.Context(), e); err != nil {
			h.fail(w, r, err)
			return
		}
		h.tileProblem(w, r, err)
		return
	}
	sum := sha256.Sum256(a.Body)
	start := res.Tile.N * tiles.Width
	e.Count = a.Entries
	e.Detail = fmt.Sprintf("entries %d to %d, %d bytes, sha256 %s", start, start+int64(a.Entries)-1, len(a.Body), hex.EncodeToString(sum[:]))
	if _, err := h.node.Log.Append(r.Context(), e); err != nil {
		h.fail(w, r, err)
		return
	}
	tiles.Write(w, r, a)
}

// serveTile answers a hash tile or the checkpoint.
func (h *Handler) serveTile(w http.ResponseWriter, r *http.Request, res tiles.Resource) {
	a, err := tiles.Read(r.Context(), h.tiles, res)
	if err != nil {
		h.tileProblem(w, r, err)
		return
	}
	tiles.Write(w, r, a)
}

// tileProblem answers a tile request the log cannot answer.
func (h *Handler) tileProblem(w http.ResponseWriter, r *http.Request, err error) {
	var te *tiles.Error
	if !errors.As(err, &te) {
		h.fail(w, r, err)
		return
	}
	code := "not_found"
	switch te.Status {
	case http.StatusBadRequest:
		code = "invalid"
	case http.StatusGone:
		code = "gone"
	case http.StatusInternalServerError:
		code = "internal"
	}
	h.problem(w, r, te.Status, code, te.Detail, te.Japanese)
}

package api

import (
	"fmt"
	"net/http"

	"jukinet/internal/protect"
)

// Protected residents (支援措置) through the API: the register (listing it
// is decided and logged by the register itself: view-protected), marking
// and ending a support measure (mark-protected), behind the same
// re-verification as the screen's forms.
func (h *Handler) protectRoutes() {
	h.mux.HandleFunc("GET /api/v1/protected-residents", h.protectedResidents)
	h.mux.HandleFunc("POST /api/v1/protected-residents", h.markProtected)
	h.mux.HandleFunc("POST /api/v1/protected-residents/{id}/end", h.endProtected)
}

// ProtectionRequest is the body of POST /api/v1/protected-residents.
type ProtectionRequest struct {
	ResidentCode string `json:"resident_code"`
	Start        string `json:"start"` // YYYY-MM-DD
	End          string `json:"end"`   // the last day, within a year of the first
	Department   string `json:"department"`
	Category     string `json:"category"` // dv, stalking, child-abuse, elder-abuse, other
}

// Protection is one support measure as the API answers it.
type Protection struct {
	ID int64 `json:"id"`
	ProtectionRequest
	InForce    bool   `json:"in_force"`
	Source     string `json:"source,omitempty"` // the node it was received from
	EndedOn    string `json:"ended_on,omitempty"`
	RecordedBy string `json:"recorded_by"`
	RecordedAt string `json:"recorded_at"`
}

// ProtectionEndRequest is the body of POST /api/v1/protected-residents/{id}/end.
type ProtectionEndRequest struct {
	Date string `json:"date"` // YYYY-MM-DD; today ends it at once
}

func (h *Handler) protectionJSON(p protect.Protection) Protection {
	out := Protection{ID: p.ID, ProtectionRequest: ProtectionRequest{ResidentCode: p.ResidentCode, Start: dayJSON(p.Start), End: dayJSON(p.End),
		Department: p.Department, Category: p.Category}, InForce: p.InForce(h.node.Now()), Source: p.Source,
		RecordedBy: p.RecordedBy, RecordedAt: instantJSON(p.RecordedAt)}
	if p.Ended != nil {
		out.EndedOn = dayJSON(p.Ended.Day)
	}
	return out
}

// protectedResidents answers the register (?all=1: ended and past too).
func (h *Handler) protectedResidents(w http.ResponseWriter, r *http.Request) {
	ps, err := h.node.Protect.List(r.Context(), who(r), r.URL.Query().Get("all") == "1")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Protection, len(ps))
	for i, p := range ps {
		out[i] = h.protectionJSON(p)
	}
	h.json(w, map[string][]Protection{"protected_residents": out})
}

func (h *Handler) markProtected(w http.ResponseWriter, r *http.Request) {
	var req ProtectionRequest
	if !h.changeBody(w, r, &req, "支援措置の登録の形式が正しくありません") {
		return
	}
	start, err := day("start", "支援措置の開始日", req.Start)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	end, err := day("end", "支援措置の終了日", req.End)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.node.Protect.Mark(r.Context(), who(r), protect.Mark{ResidentCode: req.ResidentCode, Start: start, End: end, Department: req.Department, Category: req.Category})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, fmt.Sprintf("/api/v1/protected-residents/%d", id), map[string]int64{"id": id})
}

func (h *Handler) endProtected(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "支援措置の番号")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req ProtectionEndRequest
	if !h.changeBody(w, r, &req, "支援措置の終了の形式が正しくありません") {
		return
	}
	d, err := day("date", "終了する日", req.Date)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if now := h.node.Now(); dayJSON(d) == dayJSON(now) {
		d = now // today: from this moment
	}
	if err := h.node.Protect.End(r.Context(), who(r), id, d); err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, map[string]any{"id": id, "ended_on": dayJSON(d)})
}

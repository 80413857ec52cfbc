package api

import (
	"encoding/json"
	"net/http"

	"jukinet/internal/disclosure"
	"jukinet/internal/staff"
)

// Residents' disclosure requests (本人確認情報・提供状況の開示) through the
// API: a counter system records a request, the department's head's system
// its decision, and the issue answers the resident's proof (the PDF is the
// screen's and the CLI's). The register decides each by the profile's
// policies and logs it as an entry concerning the resident.
func (h *Handler) disclosureRoutes() {
	h.mux.HandleFunc("GET /api/v1/disclosures", h.disclosures)
	h.mux.HandleFunc("POST /api/v1/disclosures", h.receiveDisclosure)
	h.mux.HandleFunc("POST /api/v1/disclosures/{id}/decision", h.decideDisclosure)
	h.mux.HandleFunc("POST /api/v1/disclosures/{id}/issue", h.issueDisclosure)
}

// Disclosure is a disclosure request as the API shows it.
type Disclosure struct {
	ID            int64    `json:"id"`
	Resident      string   `json:"resident"`
	Requester     string   `json:"requester"` // self or representative
	RequesterName string   `json:"requester_name,omitempty"`
	Authority     string   `json:"authority,omitempty"`
	IDCheck       string   `json:"id_check"`
	Items         []string `json:"items"`
	Received      string   `json:"received"`
	Due           string   `json:"due"`
	// State is received, decided, issued or closed; Overdue on the node's
	// clock: undecided past its due day.
	State       string `json:"state"`
	StateJa     string `json:"state_ja"`
	Overdue     bool   `json:"overdue"`
	Decision    string `json:"decision,omitempty"`
	Reason      string `json:"reason,omitempty"`
	DecidedBy   string `json:"decided_by,omitempty"`
	DecidedAt   string `json:"decided_at,omitempty"`
	IssuedBy    string `json:"issued_by,omitempty"`
	IssuedAt    string `json:"issued_at,omitempty"`
	Delivery    string `json:"delivery,omitempty"`
	Entries     int64  `json:"entries,omitempty"`
	ProofSHA256 string `json:"proof_sha256,omitempty"`
}

func (h *Handler) disclosureJSON(q disclosure.Request) Disclosure {
	j := Disclosure{ID: q.ID, Resident: q.Resident, Requester: string(q.Requester), RequesterName: q.RequesterName, Authority: q.Authority,
		IDCheck: string(q.IDCheck), Items: []string{}, Received: dayJSON(q.Received), Due: dayJSON(q.Due), State: string(q.State()),
		StateJa: q.State().Japanese(), Overdue: q.Overdue(h.node.Now()), Decision: string(q.Decision), Reason: q.Reason, DecidedBy: q.DecidedBy,
		DecidedAt: instantJSON(q.DecidedAt), IssuedBy: q.IssuedBy, IssuedAt: instantJSON(q.IssuedAt), Delivery: q.Delivery, Entries: q.Entries,
		ProofSHA256: q.ProofSHA256}
	for _, it := range q.Items {
		j.Items = append(j.Items, string(it))
	}
	return j
}

// disclosures lists the requests, the newest first (view-disclosures).
func (h *Handler) disclosures(w http.ResponseWriter, r *http.Request) {
	dept := staff.Resource{Kind: "department", ID: h.node.Profile.Disclosure.Department}
	if v := h.node.Policy.MayAdminister(r.Context(), who(r), disclosure.ActView, dept); !v.Allow {
		h.problem(w, r, http.StatusForbidden, "forbidden", "not for your role: "+v.Why, "この情報を閲覧する権限がありません。"+v.Japanese)
		return
	}
	all, err := disclosure.List(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Disclosure, 0, len(all))
	for _, q := range all {
		out = append(out, h.disclosureJSON(q))
	}
	h.json(w, map[string]any{"as_of": instantJSON(h.node.Now()), "disclosures": out})
}

// DisclosureRequest is the body of POST /api/v1/disclosures.
type DisclosureRequest struct {
	Resident      string   `json:"resident"`
	Requester     string   `json:"requester"`
	RequesterName string   `json:"requester_name"`
	Authority     string   `json:"authority"`
	IDCheck       string   `json:"id_check"`
	Items         []string `json:"items"`
	Received      string   `json:"received"` // YYYY-MM-DD; today when omitted
}

// receiveDisclosure records a request (receive-disclosure, logged as
// disclosure.receive).
func (h *Handler) receiveDisclosure(w http.ResponseWriter, r *http.Request) {
	var req DisclosureRequest
	if !h.changeBody(w, r, &req, "開示請求の形式が正しくありません") {
		return
	}
	q := disclosure.Request{Resident: req.Resident, Requester: disclosure.Requester(req.Requester), RequesterName: req.RequesterName,
		Authority: req.Authority, IDCheck: disclosure.IDCheck(req.IDCheck)}
	for _, it := range req.Items {
		q.Items = append(q.Items, disclosure.Item(it))
	}
	if req.Received != "" {
		d, err := day("received", "受付日", req.Received)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		q.Received = d
	}
	id, err := h.node.Disclosures.Receive(r.Context(), who(r), q)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	stored, err := disclosure.Get(r.Context(), h.node.DB, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, "", h.disclosureJSON(stored))
}

// DisclosureDecision is the body of POST /api/v1/disclosures/{id}/decision.
type DisclosureDecision struct {
	Decision string `json:"decision"` // disclose, partial or refuse
	Reason   string `json:"reason"`
}

// decideDisclosure records the head's decision (decide-disclosure, logged
// as disclosure.disclose, .partial or .refuse).
func (h *Handler) decideDisclosure(w http.ResponseWriter, r *http.Request) {
	var req DisclosureDecision
	if !h.changeBody(w, r, &req, "決定の形式が正しくありません") {
		return
	}
	changeByID(h, w, r, "開示請求の番号", func(id int64) error {
		return h.node.Disclosures.Decide(r.Context(), who(r), id, disclosure.Decision(req.Decision), req.Reason)
	}, func(id int64) (Disclosure, error) {
		q, err := disclosure.Get(r.Context(), h.node.DB, id)
		return h.disclosureJSON(q), err
	})
}

// DisclosureIssue is the body of POST /api/v1/disclosures/{id}/issue.
type DisclosureIssue struct {
	Delivery string `json:"delivery"` // 窓口交付 when empty
}

// DisclosureIssued is what an issue answers: the request as recorded, the
// document's control number in the forms register, the resident's proof
// (the file to hand over, as issued) and the document itself (PDF, base64).
type DisclosureIssued struct {
	Request Disclosure      `json:"request"`
	Form    string          `json:"form"`
	Proof   json.RawMessage `json:"proof"`
	PDF     []byte          `json:"pdf"`
}

// issueDisclosure issues a decided request (receive-disclosure, logged as
// disclosure.issue with the document's form) and answers the proof and
// the document.
func (h *Handler) issueDisclosure(w http.ResponseWriter, r *http.Request) {
	var req DisclosureIssue
	if !h.changeBody(w, r, &req, "交付の形式が正しくありません") {
		return
	}
	id, err := pathID(r, "id", "開示請求の番号")
	var doc *disclosure.IssuedDocument
	if err == nil {
		var people []staff.Person
		if people, err = h.node.Staff.People(r.Context()); err == nil {
			doc, err = h.node.Disclosures.Issue(r.Context(), who(r), id, req.Delivery, disclosure.PDF(h.node.Profile, h.node.Info.Name(), people, h.node.Now()))
		}
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, DisclosureIssued{Request: h.disclosureJSON(doc.Request), Form: doc.Form.Number.String(), Proof: doc.JSON, PDF: doc.PDF})
}

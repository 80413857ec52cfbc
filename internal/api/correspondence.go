package api

import (
	"net/http"
	"net/url"
	"strings"

	"jukinet/internal/correspondence"
)

// Reports and requests between bodies (internal/correspondence,
// koto-ward:15) through the API: what the screens show and do, as JSON.
// Reads ask view-correspondence; a send or an answer needs the re-check
// and is decided by send-correspondence and logged by the register.
func (h *Handler) correspondenceRoutes() {
	h.mux.HandleFunc("GET /api/v1/correspondence", h.documents)
	h.mux.HandleFunc("POST /api/v1/correspondence", h.sendDocument)
	h.mux.HandleFunc("GET /api/v1/correspondence/{id}", h.document)
	h.mux.HandleFunc("POST /api/v1/correspondence/{id}/answer", h.answerDocument)
}

// Document is a report or a request as the API gives it.
type Document struct {
	ID           string   `json:"id"`
	Direction    string   `json:"direction"` // out (sent) or in (received)
	Sender       string   `json:"sender"`
	Recipient    string   `json:"recipient"`
	Kind         string   `json:"kind"`
	KindJa       string   `json:"kind_ja"`
	Subject      string   `json:"subject"`
	Body         string   `json:"body"`
	References   []string `json:"refs"`
	Answers      string   `json:"answers,omitempty"`
	Due          string   `json:"due,omitempty"`
	SentBy       string   `json:"sent_by"`
	SentByName   string   `json:"sent_by_name,omitempty"`
	SentAt       string   `json:"sent_at"`
	State        string   `json:"state"` // queued, delivered, acknowledged, refused; received
	RequestState string   `json:"request_state,omitempty"`
	AnsweredBy   string   `json:"answered_by,omitempty"`
	AckedAt      string   `json:"acknowledged_at,omitempty"`
	Attempts     int      `json:"attempts"`
	LastError    string   `json:"last_error,omitempty"`
	// Note and Ack are the signed note and the recipient's signed
	// acknowledgement (one document only).
	Note string `json:"note,omitempty"`
	Ack  string `json:"acknowledgement,omitempty"`
}

func (h *Handler) documentJSON(d correspondence.Document, full bool) Document {
	out := Document{ID: d.ID, Direction: string(d.Direction), Sender: d.Sender, Recipient: d.Recipient, Kind: string(d.Kind), KindJa: d.Kind.Japanese(),
		Subject: d.Subject, Body: d.Body, References: orEmpty(d.References), Answers: d.Answers, Due: dayJSON(d.Due), SentBy: d.SentBy,
		SentByName: d.SentByName, SentAt: instantJSON(d.SentAt), State: string(d.State), RequestState: d.RequestState(h.node.Now()),
		AnsweredBy: d.AnsweredBy, AckedAt: instantJSON(d.AckedAt), Attempts: d.Attempts, LastError: d.LastError}
	if full {
		out.Note, out.Ack = d.Note, d.AckNote
	}
	return out
}

// documents lists the documents (?direction=in|out, ?overdue=1 for the
// requests past their due day, unanswered).
func (h *Handler) documents(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, correspondence.ActView) {
		return
	}
	q := r.URL.Query()
	var all []correspondence.Document
	var err error
	switch dir := q.Get("direction"); {
	case q.Get("overdue") != "":
		all, err = correspondence.Overdue(r.Context(), h.node.DB, h.node.Now())
	case dir == "" || dir == "in" || dir == "out":
		all, err = correspondence.List(r.Context(), h.node.DB, correspondence.Direction(dir))
	default:
		h.problem(w, r, http.StatusBadRequest, "invalid", "direction: in or out", "direction には in（受信）か out（送付）を指定してください")
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Document, 0, len(all))
	for _, d := range all {
		out = append(out, h.documentJSON(d, false))
	}
	h.json(w, map[string]any{"as_of": instantJSON(h.node.Now()), "documents": out})
}

func (h *Handler) document(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, correspondence.ActView) {
		return
	}
	d, err := correspondence.Get(r.Context(), h.node.DB, r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, h.documentJSON(d, true))
}

// DocumentRequest is the body of POST /api/v1/correspondence.
type DocumentRequest struct {
	To         string   `json:"to"`
	Kind       string   `json:"kind"`
	Subject    string   `json:"subject"`
	Body       string   `json:"body"`
	References []string `json:"refs"`
	Due        string   `json:"due"` // a request's due day, YYYY-MM-DD
}

// sendDocument signs and queues a report or a request (send-correspondence,
// logged as correspondence.send).
func (h *Handler) sendDocument(w http.ResponseWriter, r *http.Request) {
	var req DocumentRequest
	if !h.changeBody(w, r, &req, "報告・依頼の形式が正しくありません") {
		return
	}
	refs, err := correspondence.CheckReferences(req.References)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	draft := correspondence.Draft{Recipient: req.To, Kind: correspondence.Kind(req.Kind), Subject: req.Subject, Body: req.Body, References: refs}
	if strings.TrimSpace(req.Due) != "" || draft.Kind.Request() {
		if draft.Due, err = day("due", "回答期限", req.Due); err != nil {
			h.fail(w, r, err)
			return
		}
	}
	d, err := h.node.Correspondence.Send(r.Context(), who(r), draft)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, "/api/v1/correspondence/"+url.PathEscape(d.ID), h.documentJSON(d, true))
}

// AnswerRequest is the body of POST /api/v1/correspondence/{id}/answer.
type AnswerRequest struct {
	Subject    string   `json:"subject"`
	Body       string   `json:"body"`
	References []string `json:"refs"`
}

// answerDocument sends the answer to a request received.
func (h *Handler) answerDocument(w http.ResponseWriter, r *http.Request) {
	var req AnswerRequest
	if !h.changeBody(w, r, &req, "回答の形式が正しくありません") {
		return
	}
	refs, err := correspondence.CheckReferences(req.References)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.node.Correspondence.Answer(r.Context(), who(r), r.PathValue("id"), req.Subject, req.Body, refs)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, "/api/v1/correspondence/"+url.PathEscape(d.ID), h.documentJSON(d, true))
}

package api

import (
	"net/http"
	"strconv"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/form"
)

// The forms register (帳票管理簿, koto-ward:14) and the record of program
// changes, for machines: the same reads and changes as the /forms screens,
// decided by the same policies (view-forms, manage-forms, dispose-forms,
// approve-program-change) and logged the same way; a change needs the
// re-check, as the screens' forms do.
func (h *Handler) formRoutes() {
	h.mux.HandleFunc("GET /api/v1/forms", h.forms)
	h.mux.HandleFunc("GET /api/v1/forms/{no}", h.formOne)
	h.mux.HandleFunc("POST /api/v1/forms/{no}/steps", h.formStep)
	h.mux.HandleFunc("GET /api/v1/program-changes", h.programChanges)
	h.mux.HandleFunc("POST /api/v1/program-changes/{id}/approval", h.approveProgramChange)
}

// Form is a form of the register.
type Form struct {
	Number      string     `json:"number"` // the control number printed on it, R8-000012
	State       string     `json:"state"`  // issued, stored, taken-out, handed-over, disposed, void
	Kind        string     `json:"kind"`   // audit-log, usage-status, sysaudit-report, resident-export
	Format      string     `json:"format"` // pdf, csv
	Title       string     `json:"title"`
	Covers      string     `json:"covers"`
	Residents   int        `json:"residents"`
	Bytes       int64      `json:"bytes"`
	SHA256      string     `json:"sha256"`
	Destination string     `json:"destination"`
	Due         string     `json:"due,omitempty"` // YYYY-MM-DD
	Overdue     bool       `json:"overdue"`
	IssuedBy    string     `json:"issued_by,omitempty"`
	IssuedAt    string     `json:"issued_at,omitempty"`
	IssuedSeq   int64      `json:"issued_entry,omitempty"`
	VoidReason  string     `json:"void_reason,omitempty"`
	Steps       []FormStep `json:"steps,omitempty"`
}

// FormStepRequest is the body of POST /api/v1/forms/{no}/steps.
type FormStepRequest struct {
	Step    string `json:"step"` // store, take-out, return, hand-over, dispose
	Date    string `json:"date"` // YYYY-MM-DD
	Place   string `json:"place,omitempty"`
	Until   string `json:"until,omitempty"` // a take-out: YYYY-MM-DD
	Method  string `json:"method,omitempty"`
	DoneBy  string `json:"done_by,omitempty"`
	Witness string `json:"witness,omitempty"`
	Note    string `json:"note,omitempty"`
}

// FormStep is a step as recorded.
type FormStep struct {
	FormStepRequest
	RecordedBy string `json:"recorded_by"`
	RecordedAt string `json:"recorded_at"`
	Entry      int64  `json:"entry"`
}

func formJSON(f form.Form, now time.Time) Form {
	j := Form{Number: f.Number.String(), State: string(f.State), Kind: string(f.Kind), Format: f.Format, Title: f.Title, Covers: f.Covers,
		Residents: f.Residents, Bytes: f.Bytes, SHA256: f.Digest, Destination: f.Destination, Due: dayJSON(f.Due), Overdue: f.OverdueAt(now),
		IssuedBy: f.IssuedBy, IssuedAt: instantJSON(f.IssuedAt), IssuedSeq: f.IssuedSeq, VoidReason: f.VoidReason}
	for _, s := range f.Steps {
		j.Steps = append(j.Steps, FormStep{FormStepRequest: FormStepRequest{Step: string(s.Kind), Date: dayJSON(s.Day), Place: s.Place, Until: dayJSON(s.Until),
			Method: string(s.Method), DoneBy: s.DoneBy, Witness: s.Witness, Note: s.Note}, RecordedBy: s.RecordedBy, RecordedAt: instantJSON(s.RecordedAt), Entry: s.Seq})
	}
	return j
}

// forms lists the register (view-forms): ?state=, ?kind=, ?overdue=true.
func (h *Handler) forms(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, form.ActView) {
		return
	}
	q := r.URL.Query()
	f := form.Filter{State: form.State(q.Get("state")), Kind: form.Kind(q.Get("kind")), Overdue: q.Get("overdue") == "true" || q.Get("overdue") == "1", Now: h.node.Now()}
	if _, ok := form.StateJapanese[f.State]; f.State != "" && (!ok || f.State == form.Reserved) {
		h.fail(w, r, apperr.New(apperr.Invalid, "state "+strconv.Quote(string(f.State))+": use issued, stored, taken-out, handed-over, disposed or void", "状態の指定が正しくありません"))
		return
	}
	if f.Kind != "" && form.KindName(f.Kind, false) == string(f.Kind) {
		h.fail(w, r, apperr.New(apperr.Invalid, "kind "+strconv.Quote(string(f.Kind))+": use audit-log, usage-status, sysaudit-report or resident-export", "種類の指定が正しくありません"))
		return
	}
	all, err := form.List(r.Context(), h.node.DB, f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Form, 0, len(all))
	for _, x := range all {
		out = append(out, formJSON(x, f.Now))
	}
	h.json(w, map[string]any{"forms": out})
}

// formOne answers one form with its steps (view-forms).
func (h *Handler) formOne(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, form.ActView) {
		return
	}
	n, err := form.ParseNumber(r.PathValue("no"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := form.Get(r.Context(), h.node.DB, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, formJSON(f, h.node.Now()))
}

// formStep records a step of a form (manage-forms, dispose-forms; logged
// as form.STEP) and answers the form as it is now.
func (h *Handler) formStep(w http.ResponseWriter, r *http.Request) {
	n, err := form.ParseNumber(r.PathValue("no"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req FormStepRequest
	if !h.changeBody(w, r, &req, "帳票の手続の記録の形式が正しくありません") {
		return
	}
	s := form.Step{Kind: form.StepKind(req.Step), Place: req.Place, Method: form.Method(req.Method), DoneBy: req.DoneBy, Witness: req.Witness, Note: req.Note}
	if s.Day, err = day("date", "実施日", req.Date); err == nil && s.Kind == form.StepTakeOut {
		s.Until, err = day("until", "返却予定日", req.Until)
	}
	if err == nil {
		err = h.node.Forms.Record(r.Context(), who(r), n, s)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	f, err := form.Get(r.Context(), h.node.DB, n)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, "/api/v1/forms/"+n.String(), formJSON(f, h.node.Now()))
}

// ProgramChange is a record of the program the node ran.
type ProgramChange struct {
	ID                    int64    `json:"id"`
	Version               string   `json:"version"`
	Profile               string   `json:"profile"`
	ProfileSHA256         string   `json:"profile_sha256"`
	PreviousVersion       string   `json:"previous_version,omitempty"`
	PreviousProfileSHA256 string   `json:"previous_profile_sha256,omitempty"`
	Changed               []string `json:"changed"` // version, profile
	DetectedAt            string   `json:"detected_at"`
	Entry                 int64    `json:"entry,omitempty"`
	Baseline              bool     `json:"baseline"`
	Approved              bool     `json:"approved"`
	ApprovedBy            string   `json:"approved_by,omitempty"`
	ApprovedAt            string   `json:"approved_at,omitempty"`
	Note                  string   `json:"note,omitempty"`
}

// ProgramApprovalRequest is the body of POST /api/v1/program-changes/{id}/approval.
type ProgramApprovalRequest struct {
	Note string `json:"note"`
}

func (h *Handler) programChangeList(r *http.Request) ([]ProgramChange, error) {
	all, err := form.ProgramChanges(r.Context(), h.node.DB)
	if err != nil {
		return nil, err
	}
	out := make([]ProgramChange, 0, len(all))
	for _, c := range all {
		out = append(out, ProgramChange{ID: c.ID, Version: c.Version, Profile: c.ProfileID, ProfileSHA256: c.ProfileDigest,
			PreviousVersion: c.Previous.Version, PreviousProfileSHA256: c.Previous.ProfileDigest, Changed: orEmpty(c.What()),
			DetectedAt: instantJSON(c.DetectedAt), Entry: c.Seq, Baseline: c.Baseline, Approved: c.Approved(), ApprovedBy: c.ApprovedBy,
			ApprovedAt: instantJSON(c.ApprovedAt), Note: c.Note})
	}
	return out, nil
}

// programChanges lists the record of program changes (view-forms).
func (h *Handler) programChanges(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, form.ActView) {
		return
	}
	out, err := h.programChangeList(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, map[string]any{"program_changes": out})
}

// approveProgramChange approves a change with a note
// (approve-program-change, logged as form.approve-program-change).
func (h *Handler) approveProgramChange(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(w, r, apperr.New(apperr.NotFound, "no such program change", "そのプログラム変更はありません"))
		return
	}
	var req ProgramApprovalRequest
	if !h.changeBody(w, r, &req, "承認の形式が正しくありません") {
		return
	}
	if err := h.node.Forms.ApproveProgramChange(r.Context(), who(r), id, req.Note); err != nil {
		h.fail(w, r, err)
		return
	}
	out, err := h.programChangeList(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, c := range out {
		if c.ID == id {
			h.created(w, "", c)
			return
		}
	}
	h.fail(w, r, apperr.New(apperr.NotFound, "no such program change", "そのプログラム変更はありません"))
}

package api

import (
	"fmt"
	"net/http"

	"jukinet/internal/apperr"
	"jukinet/internal/approval"
)

// Usage approvals (利用の承認, aomori-pref:7, koto-ward:12.1) through the
// API: the department's system applies, withdraws, notifies the end and
// submits status reports; the system administrator's decides and asks for
// reports. The register decides each by the profile's policies and logs
// it (approval.apply, approval.approve …); the API translates.
func (h *Handler) approvalRoutes() {
	h.mux.HandleFunc("GET /api/v1/approvals", h.approvals)
	h.mux.HandleFunc("GET /api/v1/approvals/{id}", h.approval)
	h.mux.HandleFunc("POST /api/v1/approvals", h.applyUsage)
	h.mux.HandleFunc("POST /api/v1/approvals/{id}/decision", h.decideUsage)
	h.mux.HandleFunc("POST /api/v1/approvals/{id}/withdrawal", h.withdrawUsage)
	h.mux.HandleFunc("POST /api/v1/approvals/{id}/end", h.endUsage)
	h.mux.HandleFunc("POST /api/v1/approvals/{id}/report-requests", h.requestUsageReport)
	h.mux.HandleFunc("POST /api/v1/approval-reports/{id}/submission", h.submitUsageReport)
	h.mux.HandleFunc("GET /api/v1/approvals/{id}/status", h.usageStatus)
}

// Approval is an application for the use of an affair and what became of it.
type Approval struct {
	ID             int64    `json:"id"`
	Department     string   `json:"department"`
	DepartmentName string   `json:"department_name,omitempty"`
	Affair         string   `json:"affair"`
	AffairName     string   `json:"affair_name,omitempty"`
	Purpose        string   `json:"purpose"`
	Reason         string   `json:"reason"`
	Start          string   `json:"start"` // the first day of the use
	End            string   `json:"end"`   // the last day
	Terminals      []string `json:"terminals"`
	Operators      []string `json:"operators"` // verification ids
	// State is applied, approved, refused, withdrawn or ended; StateJa its
	// Japanese name.
	State   string `json:"state"`
	StateJa string `json:"state_ja"`
	// InForce on the node's clock: approved, within its period, not ended.
	// NotYet: before its first day; Over: past its last day.
	InForce        bool             `json:"in_force"`
	NotYet         bool             `json:"not_yet"`
	Over           bool             `json:"over"`
	AppliedBy      string           `json:"applied_by"`
	AppliedAt      string           `json:"applied_at"`
	DecidedBy      string           `json:"decided_by,omitempty"`
	DecidedAt      string           `json:"decided_at,omitempty"`
	DecisionReason string           `json:"decision_reason,omitempty"`
	EndedBy        string           `json:"ended_by,omitempty"`
	EndedAt        string           `json:"ended_at,omitempty"`
	EndReason      string           `json:"end_reason,omitempty"`
	Reports        []ApprovalReport `json:"reports"`
}

// ApprovalReport is a status report asked for, and its submission.
type ApprovalReport struct {
	ID          int64  `json:"id"`
	Approval    int64  `json:"approval"`
	From        string `json:"from"`
	To          string `json:"to"`
	Due         string `json:"due"`
	RequestedBy string `json:"requested_by"`
	RequestedAt string `json:"requested_at"`
	Submitted   bool   `json:"submitted"`
	SubmittedBy string `json:"submitted_by,omitempty"`
	SubmittedAt string `json:"submitted_at,omitempty"`
	// SHA256 is the digest of the status CSV submitted; Summary its counts.
	SHA256  string `json:"sha256,omitempty"`
	Summary string `json:"summary,omitempty"`
	Note    string `json:"note,omitempty"`
}

func (h *Handler) approvalJSON(a approval.Approval) Approval {
	now := h.node.Now()
	j := Approval{ID: a.ID, Department: a.Department, Affair: a.Affair, Purpose: a.Purpose, Reason: a.Reason,
		Start: dayJSON(a.Start), End: dayJSON(a.End), Terminals: orEmpty(a.Terminals), Operators: orEmpty(a.Operators),
		State: string(a.State), StateJa: a.State.Japanese(), InForce: a.InForce(now), NotYet: now.Before(a.Start), Over: !now.Before(a.Until()),
		AppliedBy: a.AppliedBy, AppliedAt: instantJSON(a.AppliedAt), DecidedBy: a.DecidedBy, DecidedAt: instantJSON(a.DecidedAt),
		DecisionReason: a.DecisionReason, EndedBy: a.EndedBy, EndedAt: instantJSON(a.EndedAt), EndReason: a.EndReason,
		Reports: make([]ApprovalReport, 0, len(a.Reports))}
	if d, ok := h.node.Profile.Department(a.Department); ok {
		j.DepartmentName = d.Name
	}
	if af, ok := h.node.Profile.Affair(a.Affair); ok {
		j.AffairName = af.Name
	}
	for _, r := range a.Reports {
		j.Reports = append(j.Reports, reportJSON(r))
	}
	return j
}

func reportJSON(r approval.Report) ApprovalReport {
	return ApprovalReport{ID: r.ID, Approval: r.Approval, From: dayJSON(r.From), To: dayJSON(r.To), Due: dayJSON(r.Due),
		RequestedBy: r.RequestedBy, RequestedAt: instantJSON(r.RequestedAt), Submitted: r.Submitted(), SubmittedBy: r.SubmittedBy,
		SubmittedAt: instantJSON(r.SubmittedAt), SHA256: r.Digest, Summary: r.Summary, Note: r.Note}
}

// approvals lists every application, newest first (view-approvals).
func (h *Handler) approvals(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, approval.ActView) {
		return
	}
	all, err := approval.List(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Approval, 0, len(all))
	for _, a := range all {
		out = append(out, h.approvalJSON(a))
	}
	h.json(w, map[string]any{"approvals": out})
}

// approvalID reads the application number of the path.
func (h *Handler) approvalID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := pathID(r, "id", "申請番号")
	if err != nil {
		h.fail(w, r, err)
		return 0, false
	}
	return id, true
}

// approval answers one application (view-approvals).
func (h *Handler) approval(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, approval.ActView) {
		return
	}
	id, ok := h.approvalID(w, r)
	if !ok {
		return
	}
	h.answerApproval(w, r, id, http.StatusOK)
}

// answerApproval answers the application id as it stands now.
func (h *Handler) answerApproval(w http.ResponseWriter, r *http.Request, id int64, status int) {
	a, err := approval.Get(r.Context(), h.node.DB, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if status == http.StatusCreated {
		h.created(w, fmt.Sprintf("/api/v1/approvals/%d", id), h.approvalJSON(a))
		return
	}
	h.json(w, h.approvalJSON(a))
}

// ApplyRequest is the body of POST /api/v1/approvals: a department's
// application to start using an affair (aomori-pref:7.1).
type ApplyRequest struct {
	Department string   `json:"department"`
	Affair     string   `json:"affair"`
	Purpose    string   `json:"purpose"`
	Reason     string   `json:"reason"`
	Start      string   `json:"start"` // YYYY-MM-DD
	End        string   `json:"end"`   // YYYY-MM-DD
	Terminals  []string `json:"terminals"`
	Operators  []string `json:"operators"` // verification ids
}

func (h *Handler) applyUsage(w http.ResponseWriter, r *http.Request) {
	var req ApplyRequest
	if !h.changeBody(w, r, &req, "利用の申請の形式が正しくありません") {
		return
	}
	start, err := day("start", "利用の開始日", req.Start)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	end, err := day("end", "利用の終了日", req.End)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	id, err := h.node.Approvals.Apply(r.Context(), who(r), approval.Approval{Department: req.Department, Affair: req.Affair,
		Purpose: req.Purpose, Reason: req.Reason, Start: start, End: end, Terminals: req.Terminals, Operators: req.Operators})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerApproval(w, r, id, http.StatusCreated)
}

// DecisionRequest is the body of POST /api/v1/approvals/{id}/decision.
type DecisionRequest struct {
	// Approve is true to approve, false to refuse; it must be given.
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason"`
}

func (h *Handler) decideUsage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.approvalID(w, r)
	if !ok {
		return
	}
	var req DecisionRequest
	if !h.changeBody(w, r, &req, "承認・不承認の形式が正しくありません") {
		return
	}
	if req.Approve == nil {
		h.fail(w, r, apperr.New(apperr.Invalid, `approve: give true (approve) or false (refuse)`, "承認（\"approve\": true）か不承認（\"approve\": false）かを指定してください"))
		return
	}
	if err := h.node.Approvals.Decide(r.Context(), who(r), id, *req.Approve, req.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerApproval(w, r, id, http.StatusOK)
}

// ReasonRequest is the body of a withdrawal and of an end: why.
type ReasonRequest struct {
	Reason string `json:"reason"`
}

func (h *Handler) withdrawUsage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.approvalID(w, r)
	if !ok {
		return
	}
	var req ReasonRequest
	if !h.changeBody(w, r, &req, "取下げの形式が正しくありません") {
		return
	}
	if err := h.node.Approvals.Withdraw(r.Context(), who(r), id, req.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerApproval(w, r, id, http.StatusOK)
}

func (h *Handler) endUsage(w http.ResponseWriter, r *http.Request) {
	id, ok := h.approvalID(w, r)
	if !ok {
		return
	}
	var req ReasonRequest
	if !h.changeBody(w, r, &req, "利用の終了の形式が正しくありません") {
		return
	}
	if err := h.node.Approvals.End(r.Context(), who(r), id, req.Reason); err != nil {
		h.fail(w, r, err)
		return
	}
	h.answerApproval(w, r, id, http.StatusOK)
}

// ReportRequest is the body of POST /api/v1/approvals/{id}/report-requests:
// the days to report on (a closed period, before today) and the day due.
type ReportRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
	Due  string `json:"due"`
}

func (h *Handler) requestUsageReport(w http.ResponseWriter, r *http.Request) {
	id, ok := h.approvalID(w, r)
	if !ok {
		return
	}
	var req ReportRequest
	if !h.changeBody(w, r, &req, "状況報告の依頼の形式が正しくありません") {
		return
	}
	from, err := day("from", "報告の対象期間の初日", req.From)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	to, err := day("to", "報告の対象期間の末日", req.To)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	due, err := day("due", "報告の期限", req.Due)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rid, err := h.node.Approvals.RequestReport(r.Context(), who(r), id, from, to, due)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, _, err := h.node.Approvals.Report(r.Context(), rid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.created(w, "", reportJSON(rep))
}

// SubmissionRequest is the body of POST /api/v1/approval-reports/{id}/submission.
type SubmissionRequest struct {
	Note string `json:"note"`
}

// submitUsageReport records the department's submission of a status report
// asked for: the node counts it from the log and records the counts and the
// SHA-256 of its CSV; the answer carries both.
func (h *Handler) submitUsageReport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id", "報告番号")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var req SubmissionRequest
	if !h.changeBody(w, r, &req, "状況報告の提出の形式が正しくありません") {
		return
	}
	st, err := h.node.Approvals.SubmitReport(r.Context(), who(r), id, req.Note, approval.Status.CSV)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rep, _, err := h.node.Approvals.Report(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, map[string]any{"report": reportJSON(rep), "status": statusJSON(st)})
}

// UsageStatus is a status report's counts (利用状況報告, aomori-pref:7.3).
type UsageStatus struct {
	Approval       int64  `json:"approval"`
	Department     string `json:"department"`
	DepartmentName string `json:"department_name"`
	Affair         string `json:"affair"`
	AffairName     string `json:"affair_name"`
	From           string `json:"from"`
	To             string `json:"to"`
	// UpTo is the audit log's last entry counted.
	UpTo    int64        `json:"up_to_seq"`
	Total   Use          `json:"total"`
	People  []Use        `json:"people"`
	Alerts  []UsageAlert `json:"alerts"`
	Summary string       `json:"summary"` // the counts in one Japanese line
}

// Use is what one person (or everyone, in the total) did with the use.
type Use struct {
	VerificationID string `json:"verification_id,omitempty"`
	Name           string `json:"name,omitempty"`
	Uses           int    `json:"uses"` // the four below
	Lookups        int    `json:"lookups"`
	Searches       int    `json:"searches"`
	Histories      int    `json:"histories"`
	Changes        int    `json:"changes"`
	Denied         int    `json:"denied"`
	Errors         int    `json:"errors"`
	Residents      int    `json:"residents"`
	Alerts         int    `json:"alerts"`
}

// UsageAlert is a detection alert a status report lists.
type UsageAlert struct {
	Rule    string `json:"rule"`
	Day     string `json:"day"`
	Subject string `json:"subject"`
	Detail  string `json:"detail"`
}

func useJSON(u approval.Use) Use {
	return Use{VerificationID: u.VID, Name: u.Name, Uses: u.Uses(), Lookups: u.Lookups, Searches: u.Searches, Histories: u.Histories,
		Changes: u.Changes, Denied: u.Denied, Errors: u.Errors, Residents: u.Residents, Alerts: u.Alerts}
}

func statusJSON(st approval.Status) UsageStatus {
	out := UsageStatus{Approval: st.Approval.ID, Department: st.Approval.Department, DepartmentName: st.DepartmentName,
		Affair: st.Approval.Affair, AffairName: st.AffairName, From: dayJSON(st.From), To: dayJSON(st.To), UpTo: st.UpTo,
		Total: useJSON(st.Total), People: make([]Use, 0, len(st.People)), Alerts: make([]UsageAlert, 0, len(st.Alerts)), Summary: st.Summary()}
	for _, u := range st.People {
		out.People = append(out.People, useJSON(u))
	}
	for _, a := range st.Alerts {
		out.Alerts = append(out.Alerts, UsageAlert{Rule: a.Rule, Day: a.Day, Subject: a.Subject, Detail: a.Detail})
	}
	return out
}

// usageStatus counts the status of an approved use for the days from to to
// (?from=&to=, YYYY-MM-DD) from the log. The register decides it
// (view-approvals on the department) and logs it as approval.status: a
// report drawn from the log is itself an access to it.
func (h *Handler) usageStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := h.approvalID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, err := day("from", "報告の対象期間の初日", q.Get("from"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	to, err := day("to", "報告の対象期間の末日", q.Get("to"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	st, err := h.node.Approvals.Status(r.Context(), who(r), id, from, to)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, statusJSON(st))
}

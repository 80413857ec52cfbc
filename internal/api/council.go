package api

import (
	"net/http"
	"strconv"

	"jukinet/internal/council"
	"jukinet/internal/sysaudit"
)

// The security council's record (koto-ward:5, 6) and the system audits
// (koto-ward:9, aomori-pref:11) through the API: what a department's
// system reads (the directives it is given, the corrective actions it
// owns) and the answers it sends back (a directive acknowledged and
// reported complete, a corrective action's progress and its closure).
// Meetings, decisions and the audit's own work stay on the screens, where
// the chair and the auditor record them. Each register decides by the
// profile's policies and logs the change; the API translates.
func (h *Handler) councilRoutes() {
	h.mux.HandleFunc("GET /api/v1/council/meetings", h.meetings)
	h.mux.HandleFunc("GET /api/v1/council/meetings/{id}", h.meeting)
	h.mux.HandleFunc("GET /api/v1/council/directives", h.directives)
	h.mux.HandleFunc("POST /api/v1/council/directives/{id}/acknowledgement", h.acknowledgeDirective)
	h.mux.HandleFunc("POST /api/v1/council/directives/{id}/completion", h.completeDirective)
	h.mux.HandleFunc("GET /api/v1/audits", h.audits)
	h.mux.HandleFunc("GET /api/v1/audits/{id}", h.audit)
	h.mux.HandleFunc("POST /api/v1/audit-actions/{id}/follow-ups", h.followUpAction)
	h.mux.HandleFunc("POST /api/v1/audit-actions/{id}/closure", h.closeAction)
}

// Meeting is a meeting of the security council as the API shows it.
type Meeting struct {
	ID     int64  `json:"id"`
	Kind   string `json:"kind"` // regular or extraordinary
	KindJa string `json:"kind_ja"`
	At     string `json:"at"`
	Place  string `json:"place"`
	// Source is the incident or alert it was called from ("incident:3").
	Source     string `json:"source,omitempty"`
	ConvenedBy string `json:"convened_by"`
	// Present is how many of the council's seats were filled; Quorum how
	// many it needs to decide.
	Present   int                `json:"present"`
	Quorum    int                `json:"quorum"`
	Attendees []MeetingAttendee  `json:"attendees"`
	Items     []MeetingItem      `json:"agenda"`
	Decisions []MeetingDecision  `json:"decisions"`
	Minutes   string             `json:"minutes,omitempty"`
	Approved  *MeetingApproval   `json:"minutes_approved,omitempty"`
	Directive []DirectiveSummary `json:"directives"`
}

// MeetingAttendee is a person present at a meeting, and the seat they filled.
type MeetingAttendee struct {
	VerificationID string `json:"verification_id"`
	Name           string `json:"name"`
	Seat           string `json:"seat"`
	SeatJa         string `json:"seat_ja"`
	Post           string `json:"post,omitempty"`
}

// MeetingItem is an agenda item.
type MeetingItem struct {
	ID     int64  `json:"id"`
	Number int    `json:"number"`
	Title  string `json:"title"`
	// Ref links the incident, alert or directive it is about ("alert:5").
	Ref string `json:"ref,omitempty"`
}

// MeetingDecision is a decision of a meeting, with its vote.
type MeetingDecision struct {
	ID       int64  `json:"id"`
	Item     int64  `json:"agenda_item,omitempty"`
	Text     string `json:"text"`
	Method   string `json:"method"` // consent or vote
	For      int    `json:"for"`
	Against  int    `json:"against"`
	Abstain  int    `json:"abstain"`
	Adopted  bool   `json:"adopted"`
	Recorded string `json:"recorded_at"`
}

// MeetingApproval is who approved the minutes, and when: the record is closed.
type MeetingApproval struct {
	By string `json:"by"`
	At string `json:"at"`
}

// DirectiveSummary is a directive of the chief security officer, or a
// request to another body, and how far it got.
type DirectiveSummary struct {
	ID         int64  `json:"id"`
	Decision   int64  `json:"decision"`
	Meeting    int64  `json:"meeting"`
	Kind       string `json:"kind"` // directive or request
	Department string `json:"department,omitempty"`
	Body       string `json:"body,omitempty"`
	Addressee  string `json:"addressee"`
	Text       string `json:"text"`
	Due        string `json:"due"`
	IssuedBy   string `json:"issued_by"`
	IssuedAt   string `json:"issued_at"`
	// AcknowledgedAt and CompletedAt are "" until done; Note is the
	// completion report (a request's answer).
	AcknowledgedBy string `json:"acknowledged_by,omitempty"`
	AcknowledgedAt string `json:"acknowledged_at,omitempty"`
	CompletedBy    string `json:"completed_by,omitempty"`
	CompletedAt    string `json:"completed_at,omitempty"`
	Note           string `json:"note,omitempty"`
	// Overdue on the node's clock: past its due day and not done.
	Overdue bool `json:"overdue"`
}

func (h *Handler) meetingJSON(m council.Meeting, ds []council.Directive) Meeting {
	j := Meeting{ID: m.ID, Kind: string(m.Kind), KindJa: m.Kind.Japanese(), At: instantJSON(m.At), Place: m.Place, Source: m.Source,
		ConvenedBy: m.ConvenedBy, Present: m.Present(), Minutes: m.Minutes,
		Attendees: []MeetingAttendee{}, Items: []MeetingItem{}, Decisions: []MeetingDecision{}, Directive: []DirectiveSummary{}}
	if c := h.node.Council.Council(); c != nil {
		j.Quorum = c.QuorumNeeded()
	}
	for _, a := range m.Attendees {
		j.Attendees = append(j.Attendees, MeetingAttendee{VerificationID: a.VID, Name: a.Name, Seat: string(a.Seat), SeatJa: a.Seat.Japanese(), Post: a.Post})
	}
	for _, it := range m.Items {
		ref := ""
		if it.RefKind != "" {
			ref = it.RefKind + ":" + strconv.FormatInt(it.RefID, 10)
		}
		j.Items = append(j.Items, MeetingItem{ID: it.ID, Number: it.Number, Title: it.Title, Ref: ref})
	}
	for _, d := range m.Decisions {
		j.Decisions = append(j.Decisions, MeetingDecision{ID: d.ID, Item: d.Item, Text: d.Text, Method: string(d.Method),
			For: d.For, Against: d.Against, Abstain: d.Abstain, Adopted: d.Adopted, Recorded: instantJSON(d.RecordedAt)})
	}
	if m.Closed() {
		j.Approved = &MeetingApproval{By: m.ApprovedBy, At: instantJSON(m.ApprovedAt)}
	}
	for _, d := range ds {
		if d.Meeting == m.ID {
			j.Directive = append(j.Directive, h.directiveJSON(d))
		}
	}
	return j
}

func (h *Handler) directiveJSON(d council.Directive) DirectiveSummary {
	return DirectiveSummary{ID: d.ID, Decision: d.Decision, Meeting: d.Meeting, Kind: string(d.Kind), Department: d.Department, Body: d.Body,
		Addressee: d.Addressee(h.node.Profile), Text: d.Text, Due: dayJSON(d.Due), IssuedBy: d.IssuedBy, IssuedAt: instantJSON(d.IssuedAt),
		AcknowledgedBy: d.AcknowledgedBy, AcknowledgedAt: instantJSON(d.AcknowledgedAt), CompletedBy: d.CompletedBy, CompletedAt: instantJSON(d.CompletedAt),
		Note: d.Note, Overdue: d.Overdue(h.node.Now())}
}

// meetings lists the council's meetings, the latest first, each with its
// attendance, agenda, decisions and directives (view-council).
func (h *Handler) meetings(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, council.ActView) {
		return
	}
	ms, err := council.List(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ds, err := council.Directives(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Meeting, 0, len(ms))
	for _, m := range ms {
		out = append(out, h.meetingJSON(m, ds))
	}
	h.json(w, map[string]any{"meetings": out})
}

// meeting answers one meeting (view-council).
func (h *Handler) meeting(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, council.ActView) {
		return
	}
	id, err := pathID(r, "id", "会議の番号")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := council.Get(r.Context(), h.node.DB, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ds, err := council.Directives(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, h.meetingJSON(m, ds))
}

// directives lists the directives and requests, the newest first;
// ?department=ID keeps one department's, ?overdue=1 only those overdue on
// the node's clock (view-council).
func (h *Handler) directives(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, council.ActView) {
		return
	}
	ds, err := council.Directives(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	dept, overdue := r.URL.Query().Get("department"), r.URL.Query().Get("overdue") == "1"
	out := []DirectiveSummary{}
	for _, d := range ds {
		j := h.directiveJSON(d)
		if (dept != "" && d.Department != dept) || (overdue && !j.Overdue) {
			continue
		}
		out = append(out, j)
	}
	h.json(w, map[string]any{"as_of": instantJSON(h.node.Now()), "directives": out})
}

// changeByID runs change on the number the path names (ja names it in an
// error), then answers the record as it now stands, as read gives it.
func changeByID[T any](h *Handler, w http.ResponseWriter, r *http.Request, ja string, change func(id int64) error, read func(id int64) (T, error)) {
	id, err := pathID(r, "id", ja)
	if err == nil {
		err = change(id)
	}
	var v T
	if err == nil {
		v, err = read(id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, v)
}

// directiveChange runs a department's answer to a directive, then answers
// the directive as it now stands.
func (h *Handler) directiveChange(w http.ResponseWriter, r *http.Request, change func(id int64) error) {
	changeByID(h, w, r, "指示の番号", change, func(id int64) (DirectiveSummary, error) {
		d, err := council.GetDirective(r.Context(), h.node.DB, id)
		return h.directiveJSON(d), err
	})
}

// acknowledgeDirective records that the department's head received a
// directive (acknowledge-directive, logged as council.acknowledge).
func (h *Handler) acknowledgeDirective(w http.ResponseWriter, r *http.Request) {
	if !h.verified(w, r) {
		return
	}
	h.directiveChange(w, r, func(id int64) error { return h.node.Council.Acknowledge(r.Context(), who(r), id) })
}

// NoteRequest is the body of a report with a note: a directive's
// completion ({"note": …}), a corrective action's follow-up ({"note": …})
// or closure ({"evidence": …}).
type NoteRequest struct {
	Note     string `json:"note,omitempty"`
	Evidence string `json:"evidence,omitempty"`
}

// completeDirective records the department's report that a directive is
// carried out (acknowledge-directive, logged as council.complete).
func (h *Handler) completeDirective(w http.ResponseWriter, r *http.Request) {
	var req NoteRequest
	if !h.changeBody(w, r, &req, "完了の報告の形式が正しくありません") {
		return
	}
	h.directiveChange(w, r, func(id int64) error { return h.node.Council.Complete(r.Context(), who(r), id, req.Note) })
}

// Audit is a system audit as the API shows it.
type Audit struct {
	ID      int64  `json:"id"`
	Kind    string `json:"kind"` // periodic or ad-hoc
	KindJa  string `json:"kind_ja"`
	Title   string `json:"title"`
	From    string `json:"from"`
	To      string `json:"to"`
	Scope   string `json:"scope"`
	Auditor string `json:"auditor"`
	State   string `json:"state"`
	StateJa string `json:"state_ja"`
	// UpTo is the audit log's last entry the evidence was read up to (-1
	// before the checklist).
	UpTo       int64          `json:"evidence_up_to_entry"`
	Conclusion string         `json:"conclusion,omitempty"`
	Checks     []AuditCheck   `json:"checklist,omitempty"`
	Findings   []AuditFinding `json:"findings"`
}

// AuditCheck is one item of the checklist, with the evidence the node collected.
type AuditCheck struct {
	ID        int64            `json:"id"`
	Position  int              `json:"position"`
	Article   string           `json:"article"`
	Feature   string           `json:"feature"`
	Evidence  string           `json:"evidence"`
	Figures   map[string]int64 `json:"figures"`
	Attention bool             `json:"attention"`
	Result    string           `json:"result,omitempty"`
	Note      string           `json:"note,omitempty"`
}

// AuditFinding is a finding and its corrective actions.
type AuditFinding struct {
	ID          int64         `json:"id"`
	Check       int64         `json:"check"`
	Article     string        `json:"article"`
	Severity    string        `json:"severity"`
	Description string        `json:"description"`
	RootCause   string        `json:"root_cause"`
	Actions     []AuditAction `json:"corrective_actions"`
}

// AuditAction is a corrective action (是正措置).
type AuditAction struct {
	ID          int64    `json:"id"`
	Audit       int64    `json:"audit"`
	Finding     int64    `json:"finding"`
	Description string   `json:"description"`
	Owner       string   `json:"owner"`
	Due         string   `json:"due"`
	Closed      bool     `json:"closed"`
	ClosedBy    string   `json:"closed_by,omitempty"`
	ClosedAt    string   `json:"closed_at,omitempty"`
	Evidence    string   `json:"evidence,omitempty"`
	Overdue     bool     `json:"overdue"`
	FollowUps   []string `json:"follow_ups"`
}

func (h *Handler) auditJSON(p sysaudit.Plan) Audit {
	j := Audit{ID: p.ID, Kind: string(p.Kind), KindJa: p.Kind.Japanese(), Title: p.Title, From: dayJSON(p.From), To: dayJSON(p.To),
		Scope: p.Scope, Auditor: p.Auditor, State: string(p.State), StateJa: p.State.Japanese(), UpTo: p.UpTo, Conclusion: p.Conclusion,
		Findings: []AuditFinding{}}
	for _, c := range p.Checks {
		figs := map[string]int64{}
		for _, f := range c.Figures {
			figs[f.Name] = f.Value
		}
		j.Checks = append(j.Checks, AuditCheck{ID: c.ID, Position: c.Position, Article: c.Article, Feature: c.Feature, Evidence: c.Evidence,
			Figures: figs, Attention: c.Attention, Result: string(c.Result), Note: c.Note})
	}
	for _, f := range p.Findings {
		jf := AuditFinding{ID: f.ID, Check: f.Check, Article: f.Article, Severity: string(f.Severity), Description: f.Description,
			RootCause: f.RootCause, Actions: []AuditAction{}}
		for _, a := range f.Actions {
			a.Plan = p.ID
			jf.Actions = append(jf.Actions, h.actionJSON(a))
		}
		j.Findings = append(j.Findings, jf)
	}
	return j
}

func (h *Handler) actionJSON(a sysaudit.Action) AuditAction {
	j := AuditAction{ID: a.ID, Audit: a.Plan, Finding: a.Finding, Description: a.Description, Owner: a.Owner, Due: dayJSON(a.Due),
		Closed: a.Closed(), ClosedBy: a.ClosedBy, ClosedAt: instantJSON(a.ClosedAt), Evidence: a.Evidence, Overdue: a.OverdueAt(h.node.Now()),
		FollowUps: []string{}}
	for _, f := range a.FollowUps {
		j.FollowUps = append(j.FollowUps, f.Note)
	}
	return j
}

// audits lists the audits, newest first, with their findings and
// corrective actions (view-audits); the checklist is the audit's own.
func (h *Handler) audits(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, sysaudit.ActView) {
		return
	}
	ps, err := sysaudit.List(r.Context(), h.node.DB)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	out := make([]Audit, 0, len(ps))
	for _, p := range ps {
		out = append(out, h.auditJSON(p))
	}
	h.json(w, map[string]any{"as_of": instantJSON(h.node.Now()), "audits": out})
}

// audit answers one audit with its checklist and the evidence of each
// check (view-audits).
func (h *Handler) audit(w http.ResponseWriter, r *http.Request) {
	if !h.mayView(w, r, sysaudit.ActView) {
		return
	}
	id, err := pathID(r, "id", "監査の番号")
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p, err := sysaudit.Get(r.Context(), h.node.DB, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.json(w, h.auditJSON(p))
}

// actionChange runs a change to a corrective action, then answers the
// action as it now stands.
func (h *Handler) actionChange(w http.ResponseWriter, r *http.Request, change func(id int64) error) {
	changeByID(h, w, r, "是正措置の番号", change, func(id int64) (AuditAction, error) {
		a, err := sysaudit.GetAction(r.Context(), h.node.DB, id)
		return h.actionJSON(a), err
	})
}

// followUpAction records a note on a corrective action's progress
// (follow-up-audit-action: its owner, the auditor, the chief; logged as
// sysaudit.follow-up).
func (h *Handler) followUpAction(w http.ResponseWriter, r *http.Request) {
	var req NoteRequest
	if !h.changeBody(w, r, &req, "経過の記録の形式が正しくありません") {
		return
	}
	h.actionChange(w, r, func(id int64) error { return h.node.SysAudits.FollowUp(r.Context(), who(r), id, req.Note) })
}

// closeAction closes a corrective action with the evidence of its
// completion (close-audit-action: never by its owner; logged as
// sysaudit.close).
func (h *Handler) closeAction(w http.ResponseWriter, r *http.Request) {
	var req NoteRequest
	if !h.changeBody(w, r, &req, "完了の証跡の形式が正しくありません") {
		return
	}
	h.actionChange(w, r, func(id int64) error { return h.node.SysAudits.CloseAction(r.Context(), who(r), id, req.Evidence) })
}

package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/federation"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

func (s *Server) nodeResource() staff.Resource {
	return staff.Resource{Kind: "node", ID: string(s.node.Info.LocalGov.Code)}
}

// allowed asks the policies whether c may take action on res. When not, it
// answers with the refusal, which says who may (no dead end: 「…を行う権限が
// ありません（セキュリティ統括責任者、…が行えます）」), and returns false.
func (s *Server) allowed(w http.ResponseWriter, r *http.Request, c *current, action string, res staff.Resource) bool {
	v := s.node.Policy.MayAdminister(r.Context(), c.who(), action, res)
	if v.Allow {
		return true
	}
	s.problem(w, r, apperr.New(apperr.Forbidden, "this screen is not for your role: "+v.Why, "この画面を利用する権限がありません。"+v.Japanese))
	return false
}

// staffMax and suspensionMax are the longest values of the text inputs of
// the staff and suspension screens, from the fields' one definition
// (docs/fields.md), as the lookup form's are (fieldMax).
var (
	staffMax = map[string]int{
		"name": staff.FieldPersonName.Max, "kana": staff.FieldPersonKana.Max, "title": staff.FieldPersonTitle.Max,
		"terminal_name": staff.FieldTerminalName.Max, "location": staff.FieldTerminalLocation.Max, "manager_title": staff.FieldManagerTitle.Max,
		"removal_reason": staff.FieldRemovalReason.Max,
	}
	suspensionMax = map[string]int{"reason": staff.FieldSuspensionReason.Max, "lift_reason": staff.FieldLiftReason.Max}
)

func (s *Server) staffPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderStaff(w, r, c, http.StatusOK, typedForm{})
}

// staffInputs are the inputs of the staff screen's forms, in the order
// they appear; a row's form (designate-VID, leave-VID, enrol-VID,
// credential-N) has the inputs of its kind.
var staffInputs = map[string]formInputs{
	"person":     {order: []string{"verification_id", "name", "kana", "department", "title"}},
	"role":       {order: []string{"verification_id", "role", "department"}},
	"terminal":   {order: []string{"id", "name", "department", "location", "manager", "manager_title"}},
	"manager":    {order: []string{"manager", "manager_title"}},
	"designate":  {order: []string{"affair"}},
	"leave":      {order: []string{"reason"}},
	"enrol":      {},
	"credential": {order: []string{"reason"}},
}

// renderStaff shows the staff screen; typed, when set, is the form
// refused, shown again with its error at its input.
func (s *Server) renderStaff(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, staff.ActViewStaff, s.nodeResource()) {
		return
	}
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	st, err := staff.Load(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	terminals, err := s.node.Staff.Terminals(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	creds, err := s.node.Staff.Credentials(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	type row struct {
		staff.Person
		Roles        string
		Affairs      []string // IDs of the designated affairs
		CanDesignate bool
		CanEnrol     bool
	}
	var rows []row
	for _, p := range people {
		rw := row{Person: p}
		if m := st.People[p.VerificationID]; m != nil {
			rw.Roles = rolesOf(m, s.wordsFor(r))
			rw.Affairs = m.Affairs
		}
		if p.Active {
			// Nobody designates himself (separation of duties): no form on one's own row.
			rw.CanDesignate = s.may(ctx, c, staff.ActDesignate, staff.Resource{Kind: "department", ID: p.Department,
				Subjects: []auditlog.Actor{{Kind: auditlog.ActorOperator, ID: p.VerificationID}}})
			rw.CanEnrol = s.may(ctx, c, staff.ActEnrol, staff.Resource{Kind: "person", ID: p.VerificationID})
		}
		rows = append(rows, rw)
	}
	can, err := s.node.Policy.Permissions(ctx, c.who(), s.nodeResource(), staff.ActRegisterStaff, staff.ActAssignRole, staff.ActApproveTerminal)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	// A terminal's manager is reported by whom the policies allow for its
	// department (the department's security officer, in the built-in
	// profiles), not necessarily by who approves terminals: the approval
	// form asks for a manager only from one who may report one, and each
	// terminal's row has the form for those who may for its department.
	mayReport, canReportAny := map[string]bool{}, false
	for _, d := range s.node.Profile.Departments {
		mayReport[d.ID] = s.may(ctx, c, staff.ActReportManager, staff.Resource{Kind: "department", ID: d.ID})
		canReportAny = canReportAny || mayReport[d.ID]
	}
	whoReports := ""
	if !canReportAny && len(s.node.Profile.Departments) > 0 {
		v := s.node.Policy.MayAdminister(ctx, c.who(), staff.ActReportManager, staff.Resource{Kind: "department", ID: s.node.Profile.Departments[0].ID})
		whoReports = s.wordsFor(r).pick(v.Japanese, v.Why)
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "staff", "Staff", map[string]any{
		"Typed": typed, "People": rows, "Terminals": terminals, "Credentials": creds,
		"AllAffairs": s.node.Profile.Affairs, "Departments": s.node.Profile.Departments, "Roles": s.node.Profile.Roles,
		"Link": r.URL.Query().Get("link"), "Done": r.URL.Query().Get("done"),
		"CanRegister": can[staff.ActRegisterStaff], "CanAssign": can[staff.ActAssignRole],
		"CanTerminal":      can[staff.ActApproveTerminal],
		"MayReportManager": mayReport, "CanReportManager": canReportAny, "WhoReportsManager": whoReports,
		"CanRemoveCredential": s.may(ctx, c, staff.ActEnrol, staff.Resource{Kind: "person", ID: c.person.VerificationID}),
		"Max":                 staffMax,
	})
}

func (s *Server) staffDesignate(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/staff") {
		return
	}
	var err error
	if r.FormValue("end") != "" {
		err = s.node.Staff.EndDesignation(r.Context(), c.who(), r.FormValue("verification_id"), r.FormValue("affair"))
	} else {
		err = s.node.Staff.Designate(r.Context(), c.who(), r.FormValue("verification_id"), r.FormValue("affair"))
	}
	if s.staffRefused(w, r, c, "designate", "designate-"+r.FormValue("verification_id"), err) {
		return
	}
	http.Redirect(w, r, "/staff?done=designation", http.StatusSeeOther)
}

func (s *Server) staffEnrolmentLink(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/staff") {
		return
	}
	token, err := s.auth.IssueEnrolment(r.Context(), c.who(), r.FormValue("verification_id"))
	if s.staffRefused(w, r, c, "enrol", "enrol-"+r.FormValue("verification_id"), err) {
		return
	}
	http.Redirect(w, r, "/staff?link="+token+"#enrolment-link", http.StatusSeeOther)
}

// staffRefused answers a form of the staff screen refused with err: the
// screen again, the error at its input (refusedAt); kind names the form's
// inputs (staffInputs), form the form on the screen.
func (s *Server) staffRefused(w http.ResponseWriter, r *http.Request, c *current, kind, form string, err error) bool {
	return s.refusedAt(w, r, form, staffInputs[kind], err, func(status int, t typedForm) { s.renderStaff(w, r, c, status, t) })
}

func (s *Server) suspensionsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderSuspensions(w, r, c, http.StatusOK, suspensionTyped{})
}

// suspensionTyped is what an order or a lifting that was refused carried:
// the screen shows it again, its error next to the form it came from.
type suspensionTyped struct {
	Scope, Target, Reason string
	LiftID                int64
	Error                 string
}

// scopeForm is one of the suspension screen's order forms: a scope, the
// targets to choose from (none for the whole node and outbound notices),
// and what was typed into it, when it was refused.
type scopeForm struct {
	Scope, Legend string
	Options       []targetOption
	Node          bool // the whole node: a warning and a confirmation
	Reason, Error string
}

type targetOption struct {
	Value, Label string
	Selected     bool
}

// renderSuspensions shows the suspension screen with status; typed, when
// set, is an order or lifting that was refused, shown again with its error.
func (s *Server) renderSuspensions(w http.ResponseWriter, r *http.Request, c *current, status int, typed suspensionTyped) {
	ctx := r.Context()
	if !s.allowed(w, r, c, staff.ActViewSuspensions, s.nodeResource()) {
		return
	}
	sps, err := s.node.Staff.Suspensions(ctx, false)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	data := map[string]any{
		"Suspensions": describeSuspensions(sps, s.wordsFor(r)), "CanOrder": s.may(ctx, c, staff.ActSuspend, s.nodeResource()),
		"Max": suspensionMax, "Typed": typed,
	}
	if data["CanOrder"] == true {
		// The targets are chosen from what exists and is in use: a typed
		// target that exists nowhere would suspend nothing.
		forms, err := s.suspensionForms(ctx, s.wordsFor(r), typed)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		data["Forms"] = forms
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "suspensions", "Suspensions", data)
}

// suspensionForms are the order forms, one per scope, each with the
// targets in use to choose from: departments and affairs of the profile,
// terminals in use, staff in post, downstream nodes (when there are any).
func (s *Server) suspensionForms(ctx context.Context, wd words, typed suspensionTyped) ([]scopeForm, error) {
	terminals, err := s.node.Staff.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		return nil, err
	}
	peers, err := federation.Peers(ctx, s.node.DB)
	if err != nil {
		return nil, err
	}
	var depts, trms, ops, affairs, downs []targetOption
	for _, d := range s.node.Profile.Departments {
		depts = append(depts, targetOption{Value: d.ID, Label: wd.dept(d.ID) + "（" + d.ID + "）"})
	}
	for _, t := range terminals {
		if t.RetiredAt.IsZero() {
			trms = append(trms, targetOption{Value: t.ID, Label: t.ID + " " + t.Name + "（" + t.Location + "）"})
		}
	}
	for _, p := range people {
		if p.Active {
			ops = append(ops, targetOption{Value: p.VerificationID, Label: p.VerificationID + " " + p.Name + "（" + p.Title + "）"})
		}
	}
	for _, a := range s.node.Profile.Affairs {
		affairs = append(affairs, targetOption{Value: a.ID, Label: wd.affair(a.ID) + "（" + a.ID + "）"})
	}
	for _, p := range peers {
		if p.Role == federation.Downstream {
			downs = append(downs, targetOption{Value: p.Code, Label: p.Name + "（" + p.Code + "）"})
		}
	}
	forms := []scopeForm{
		{Scope: string(staff.ScopeDepartment), Legend: "ScopeDepartment", Options: depts},
		{Scope: string(staff.ScopeTerminal), Legend: "ScopeTerminal", Options: trms},
		{Scope: string(staff.ScopeOperator), Legend: "ScopeOperator", Options: ops},
		{Scope: string(staff.ScopeAffair), Legend: "ScopeAffair", Options: affairs},
	}
	if len(downs) > 0 {
		forms = append(forms, scopeForm{Scope: string(staff.ScopePeer), Legend: "ScopePeer", Options: downs})
	}
	forms = append(forms, scopeForm{Scope: string(staff.ScopeOutbound), Legend: "ScopeOutbound"},
		scopeForm{Scope: string(staff.ScopeNode), Legend: "ScopeNode", Node: true})
	for i := range forms {
		f := &forms[i]
		if typed.LiftID != 0 || f.Scope != typed.Scope {
			continue
		}
		f.Reason, f.Error = typed.Reason, typed.Error
		for j := range f.Options {
			f.Options[j].Selected = f.Options[j].Value == typed.Target
		}
	}
	return forms, nil
}

// suspend orders a suspension from one of the screen's forms: each scope
// has its own, with its target chosen from a list, and the whole node's
// asks for a confirmation.
func (s *Server) suspend(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/suspensions") {
		return
	}
	typed := suspensionTyped{Scope: r.FormValue("scope"), Target: strings.TrimSpace(r.FormValue("target")), Reason: strings.TrimSpace(r.FormValue("reason"))}
	_, err := s.node.Staff.Suspend(r.Context(), c.who(), staff.Suspension{Scope: staff.Scope(typed.Scope), Target: typed.Target,
		Reason: typed.Reason, Confirmed: r.FormValue("confirm") == "yes"})
	if formError(err) {
		// The clerk's input: the screen again, the error next to the form
		// and what was typed kept.
		typed.Error = message(r, err)
		s.renderSuspensions(w, r, c, statusOf(err), typed)
		return
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	http.Redirect(w, r, "/suspensions", http.StatusSeeOther)
}

// formError says whether err is about what a form carried (invalid, not
// found, conflict): shown next to the form, not on a page of its own.
func formError(err error) bool {
	switch apperr.CodeOf(err) {
	case apperr.Invalid, apperr.NotFound, apperr.Conflict:
		return true
	}
	return false
}

func (s *Server) lift(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/suspensions") {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.node.Staff.Lift(r.Context(), c.who(), id, r.FormValue("reason"))
		if formError(err) {
			s.renderSuspensions(w, r, c, statusOf(err), suspensionTyped{LiftID: id, Reason: strings.TrimSpace(r.FormValue("reason")), Error: message(r, err)})
			return
		}
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	http.Redirect(w, r, "/suspensions", http.StatusSeeOther)
}

// auditPage shows the audit screen: a filter kept under a token
// (?view=TOKEN, with ?before=SEQ for its older pages), or the filter in
// the query (links from other screens: ?actor=…, ?action=…) — never a
// 住民票コード, which only travels in a form's body (auditView).
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.allowed(w, r, c, staff.ActViewAudit, s.nodeResource()) {
		return
	}
	q := r.URL.Query()
	switch view := q.Get("view"); {
	case view != "":
		kept, ok := s.auditViews.get(view, c.who().Actor.String(), s.node.Now())
		if !ok {
			s.renderAuditView(w, r, c, auditShown{Q: url.Values{}, Expired: true})
			return
		}
		kept.Set("before", q.Get("before"))
		s.renderAuditView(w, r, c, auditShown{Q: kept, View: view})
	case q.Has("resident"):
		// A 住民票コード came in a URL: it is neither used nor shown again,
		// and the field says where it belongs.
		q.Del("resident")
		s.renderAuditView(w, r, c, auditShown{Q: q, ResidentInURL: true})
	default:
		s.renderAuditView(w, r, c, auditShown{Q: q})
	}
}

// auditFilter keeps the filter sent from the audit screen's form (or an
// alert's button) and shows it: POST /audit answers with a redirect to
// /audit?view=TOKEN, so the filter stays out of every URL and a reload
// reads the view again without sending anything.
func (s *Server) auditFilter(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.allowed(w, r, c, staff.ActViewAudit, s.nodeResource()) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, apperr.New(apperr.Invalid, "unreadable form", "送信された内容を読み取れませんでした"))
		return
	}
	kept := url.Values{}
	for _, k := range auditFilterKeys {
		v := strings.TrimSpace(r.PostForm.Get(k))
		if len(v) > exportFilterMax {
			s.problem(w, r, apperr.New(apperr.Invalid, fmt.Sprintf("the filter's %s is longer than %d bytes", k, exportFilterMax), "絞り込みの条件が長すぎます"))
			return
		}
		if v != "" {
			kept.Set(k, v)
		}
	}
	token := s.auditViews.put(c.who().Actor.String(), kept, s.node.Now())
	http.Redirect(w, r, "/audit?view="+token, http.StatusSeeOther)
}

// auditFilterKeys are the audit screen's filter fields, as its form, its
// page links and an export's form carry them.
var auditFilterKeys = []string{"since", "until", "actor", "dept", "terminal", "affair", "action", "outcome", "resident"}

// auditTyped is the audit screen's filter as typed: each field trimmed,
// and the first field that could not be read (with its message).
type auditTyped struct {
	Values   map[string]string
	View     string // the token the filter is kept under, if it is (auditView)
	Dept     string // the department's ID, when one is chosen
	BadField string
	BadText  string
}

// Get is the typed value of field key.
func (t auditTyped) Get(key string) string { return t.Values[key] }

// auditFilterOf reads the audit screen's filter from q (the screen's query,
// or an export's form): the entries it lists, newest first. Each field
// takes a code or a label in either language (照会 or lookup, 区民課 or
// its ID, 拒否 or denied); days as clerks write them (2026-11-22,
// R8.11.22 …) in Japan. The department keeps the entries of its staff as
// the staff register places them now.
func (s *Server) auditFilterOf(ctx context.Context, wd words, q url.Values) (auditlog.Filter, auditTyped, error) {
	t := auditTyped{Values: map[string]string{}}
	for _, k := range auditFilterKeys {
		t.Values[k] = strings.TrimSpace(q.Get(k))
	}
	bad := func(key, msg string) {
		if t.BadField == "" {
			t.BadField, t.BadText = key, wd.msg(msg)
		}
	}
	f := auditlog.Filter{After: -1, Limit: 100, Newest: true, Resident: t.Get("resident"), Actor: t.Get("actor"), Action: actionCode(t.Get("action"))}
	day := func(key string) time.Time {
		v := t.Get(key)
		if v == "" {
			return time.Time{}
		}
		d, err := jptext.ParseDate(v)
		if err != nil {
			bad(key, "BadSinceDay")
			return time.Time{}
		}
		return time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, jptext.JST)
	}
	f.Since = day("since")
	if until := day("until"); !until.IsZero() {
		f.Until = until.AddDate(0, 0, 1) // to the end of that day
	}
	if v := t.Get("dept"); v != "" {
		id := ""
		for _, d := range s.node.Profile.Departments {
			if v == d.ID || v == d.Name || strings.EqualFold(v, d.NameEN) {
				id = d.ID
			}
		}
		if id == "" {
			bad("dept", "BadFilterChoice")
		} else {
			people, err := s.node.Staff.People(ctx)
			if err != nil {
				return f, t, err
			}
			t.Dept, f.Actors = id, []string{}
			for _, p := range people {
				if p.Department == id {
					f.Actors = append(f.Actors, string(auditlog.ActorOperator)+":"+p.VerificationID)
				}
			}
		}
	}
	if v := t.Get("terminal"); v != "" {
		f.Origin = v
		if !strings.Contains(v, ":") {
			f.Origin = "terminal:" + v
		}
	}
	if v := t.Get("affair"); v != "" {
		for _, a := range s.node.Profile.Affairs {
			if v == a.ID || v == a.Name || strings.EqualFold(v, a.NameEN) {
				f.Affair = a.ID
			}
		}
		if f.Affair == "" {
			bad("affair", "BadFilterChoice")
		}
	}
	if v := t.Get("outcome"); v != "" {
		for _, o := range []string{auditlog.OutcomeOK, auditlog.OutcomeDenied, auditlog.OutcomeError} {
			if v == o || v == outcomeText(words{p: wd.p, loc: s.locs["ja"]}, o) || strings.EqualFold(v, outcomeText(words{en: true, p: wd.p, loc: s.locs["en"]}, o)) {
				f.Outcome = o
			}
		}
		if f.Outcome == "" {
			bad("outcome", "BadFilterChoice")
		}
	}
	return f, t, nil
}

// renderAudit shows the audit screen for the filter in q, with exportErr
// (an export that could not be made) above the entries.
func (s *Server) renderAudit(w http.ResponseWriter, r *http.Request, c *current, q url.Values, status int, exportErr string) {
	s.renderAuditView(w, r, c, auditShown{Q: q, Status: status, ExportErr: exportErr})
}

// auditShown is what the audit screen is asked to show.
type auditShown struct {
	Q             url.Values // the filter (and before=SEQ, the page)
	View          string     // the token Q was kept under, if it was
	Status        int        // 0 for 200
	ExportErr     string     // an export that could not be made
	ResidentInURL bool       // a 住民票コード came in the URL: refused
	Expired       bool       // the view's token is unknown: nothing listed
}

func (s *Server) renderAuditView(w http.ResponseWriter, r *http.Request, c *current, sh auditShown) {
	ctx := r.Context()
	wd := s.wordsFor(r)
	q, status, exportErr := sh.Q, sh.Status, sh.ExportErr
	if status == 0 {
		status = http.StatusOK
	}
	f, typed, err := s.auditFilterOf(ctx, wd, q)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	typed.View = sh.View
	if sh.ResidentInURL {
		typed.BadField, typed.BadText = "resident", wd.msg("AuditResidentInURL")
	}
	if typed.View == "" && typed.Get("resident") != "" {
		// A filter with a 住民票コード shown without a token (an export
		// refused for its destination): its page links get one.
		kept := url.Values{}
		for _, k := range auditFilterKeys {
			if v := typed.Get(k); v != "" {
				kept.Set(k, v)
			}
		}
		typed.View = s.auditViews.put(c.who().Actor.String(), kept, s.node.Now())
	}
	// Pages of 100, newest first: ?before=SEQ shows the entries older than
	// SEQ, and the screen says where it is in the total (「1,234件中 101–200件」).
	if b, err := strconv.ParseInt(q.Get("before"), 10, 64); err == nil && b > 0 {
		f.Before = b
	}
	var entries []auditlog.Listed
	var page auditPageInfo
	if typed.BadField == "" && !sh.Expired {
		// Every entry appended so far, journaled ones included.
		if err := s.node.Log.Sync(ctx); err != nil {
			s.problem(w, r, err)
			return
		}
		var err error
		if entries, err = auditlog.List(ctx, s.node.DB, f); err != nil {
			s.problem(w, r, err)
			return
		}
		if page, err = s.auditPaging(ctx, f, entries, typed); err != nil {
			s.problem(w, r, err)
			return
		}
	} else if status == http.StatusOK && typed.BadField != "" {
		status = http.StatusBadRequest
	}
	choices, err := s.auditChoices(ctx, wd)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "audit", "AuditLog", map[string]any{"Entries": entries, "Filter": f, "Typed": typed, "Choices": choices,
		"Page": page, "ExportError": exportErr, "Verification": s.verification.view(langOf(r)), "Expired": sh.Expired})
}

// auditChoices are what the audit screen's filter offers to choose from,
// in the page's language: departments, affairs and outcomes (value and
// label), the terminals in use.
func (s *Server) auditChoices(ctx context.Context, wd words) (map[string][]targetOption, error) {
	out := map[string][]targetOption{}
	for _, d := range s.node.Profile.Departments {
		out["dept"] = append(out["dept"], targetOption{Value: d.ID, Label: wd.dept(d.ID)})
	}
	for _, a := range s.node.Profile.Affairs {
		out["affair"] = append(out["affair"], targetOption{Value: a.ID, Label: wd.affair(a.ID)})
	}
	for _, o := range []string{auditlog.OutcomeOK, auditlog.OutcomeDenied, auditlog.OutcomeError} {
		out["outcome"] = append(out["outcome"], targetOption{Value: o, Label: outcomeText(wd, o)})
	}
	terminals, err := s.node.Staff.Terminals(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range terminals {
		out["terminal"] = append(out["terminal"], targetOption{Value: t.ID, Label: t.Name})
	}
	return out, nil
}

// auditPageInfo says where a page of the audit screen is in the entries
// that match its filter, and links to the older page and to the newest.
type auditPageInfo struct {
	Total, First, Last int64
	Older, Newest      string // URLs, empty when there is none
}

// Shown is the position written for people: counts with thousands
// separators (「1,234件中 101–200件」).
func (p auditPageInfo) Shown() map[string]string {
	return map[string]string{"Total": thousands(p.Total), "First": thousands(p.First), "Last": thousands(p.Last)}
}

// thousands writes n with a comma between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// auditPaging places entries (a page of f, newest first) in the total that
// matches f without its page bound.
func (s *Server) auditPaging(ctx context.Context, f auditlog.Filter, entries []auditlog.Listed, typed auditTyped) (auditPageInfo, error) {
	all := f
	all.Before = 0
	total, err := auditlog.Count(ctx, s.node.DB, all)
	if err != nil || len(entries) == 0 {
		return auditPageInfo{Total: total}, err
	}
	var newer int64
	if f.Before > 0 {
		above := all
		above.After = f.Before - 1 // the entries at or after the page's bound
		if newer, err = auditlog.Count(ctx, s.node.DB, above); err != nil {
			return auditPageInfo{}, err
		}
	}
	p := auditPageInfo{Total: total, First: newer + 1, Last: newer + int64(len(entries))}
	link := func(before int64) string {
		v := url.Values{}
		if typed.View != "" {
			v.Set("view", typed.View) // the filter kept on the server
		} else {
			for _, k := range auditFilterKeys {
				if x := typed.Get(k); x != "" {
					v.Set(k, x)
				}
			}
		}
		if before > 0 {
			v.Set("before", strconv.FormatInt(before, 10))
		}
		return "/audit?" + v.Encode()
	}
	if p.Last < total {
		p.Older = link(entries[len(entries)-1].Seq)
	}
	if f.Before > 0 {
		p.Newest = link(0)
	}
	return p, nil
}

// auditVerify starts verifying the audit log in the background, unless a
// verification started here is still running, and goes back to the audit
// screen, which shows how it is going and how it ended: a long log takes
// longer than a page may wait.
func (s *Server) auditVerify(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.allowed(w, r, c, staff.ActViewAudit, s.nodeResource()) {
		return
	}
	s.verification.start(s.node, s.opt.Logger)
	http.Redirect(w, r, "/audit", http.StatusSeeOther)
}

// verification is the audit-log check started from the audit screen.
type verification struct {
	mu       sync.Mutex
	running  bool
	started  time.Time
	progress int64 // entries verified so far, while running
	finished time.Time
	report   auditlog.Report
	err      error
}

// start begins a verification of n's log unless one is running.
func (v *verification) start(n *node.Node, logger *slog.Logger) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.running {
		return
	}
	v.running, v.started, v.progress = true, n.Now(), 0
	go func() {
		rep, err := auditlog.VerifyProgress(context.Background(), n.DB, n.Verifier, func(entries int64) {
			v.mu.Lock()
			v.progress = entries
			v.mu.Unlock()
		})
		if err != nil {
			logger.Error("audit log verification from the audit screen", "err", err)
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		v.running, v.finished, v.report, v.err = false, n.Now(), rep, err
	}()
}

// verificationView is what the audit screen shows of the verification.
type verificationView struct {
	Running, Done, Intact, Broken bool
	Started, Finished             string // JST
	Entries, Pruned, Checked      int64
	Progress                      int64
	Checkpoints                   int
	Elapsed, Problem              string
}

func (v *verification) view(lang string) verificationView {
	v.mu.Lock()
	defer v.mu.Unlock()
	at := func(t time.Time) string { return shownInstant(t, lang) }
	out := verificationView{Running: v.running, Started: at(v.started), Progress: v.progress}
	if v.finished.IsZero() {
		return out
	}
	out.Done, out.Finished = true, at(v.finished)
	var p *auditlog.Problem
	switch {
	case v.err == nil:
		out.Intact = true
		out.Entries, out.Pruned, out.Checkpoints, out.Checked = v.report.Entries, v.report.Pruned, v.report.Checkpoints, v.report.Checked
		out.Elapsed = v.report.Elapsed.Round(time.Millisecond).String()
	case errors.As(v.err, &p):
		out.Broken, out.Problem = true, p.Error()
	default:
		out.Problem = v.err.Error()
	}
	return out
}

// staffChange runs one administrative change from a staff screen form:
// after a recent verification, decided by the policies, logged; then back
// to the staff screen.
// A refused change shows the screen again with its error at the form's
// input; kind and form are as staffRefused takes them.
func (s *Server) staffChange(w http.ResponseWriter, r *http.Request, c *current, kind, form string, change func() error) {
	if !s.recentlyVerified(w, r, c, "/staff") {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	if s.staffRefused(w, r, c, kind, form, change()) {
		return
	}
	http.Redirect(w, r, "/staff?done=1", http.StatusSeeOther)
}

func (s *Server) staffAddPerson(w http.ResponseWriter, r *http.Request, c *current) {
	s.staffChange(w, r, c, "person", "person", func() error {
		return s.node.Staff.AddPerson(r.Context(), c.who(), staff.Person{VerificationID: strings.TrimSpace(r.FormValue("verification_id")),
			Name: strings.TrimSpace(r.FormValue("name")), NameKana: strings.TrimSpace(r.FormValue("kana")),
			Department: r.FormValue("department"), Title: strings.TrimSpace(r.FormValue("title"))})
	})
}

func (s *Server) staffRemovePerson(w http.ResponseWriter, r *http.Request, c *current) {
	s.staffChange(w, r, c, "leave", "leave-"+r.PathValue("vid"), func() error {
		return s.node.Staff.RemovePerson(r.Context(), c.who(), r.PathValue("vid"), r.FormValue("reason"))
	})
}

func (s *Server) staffAssignRole(w http.ResponseWriter, r *http.Request, c *current) {
	s.staffChange(w, r, c, "role", "role", func() error {
		return s.node.Staff.AssignRole(r.Context(), c.who(), strings.TrimSpace(r.FormValue("verification_id")), profile.RoleID(r.FormValue("role")), r.FormValue("department"))
	})
}

func (s *Server) staffApproveTerminal(w http.ResponseWriter, r *http.Request, c *current) {
	s.staffChange(w, r, c, "terminal", "terminal", func() error {
		// The manager, when given, is recorded with the approval in one
		// transaction: refused, nothing is stored, the terminal neither.
		return s.node.Staff.ApproveTerminal(r.Context(), c.who(), staff.Terminal{ID: strings.TrimSpace(r.FormValue("id")),
			Name: strings.TrimSpace(r.FormValue("name")), Department: r.FormValue("department"), Location: strings.TrimSpace(r.FormValue("location")),
			ManagerVID: strings.TrimSpace(r.FormValue("manager")), ManagerTitle: strings.TrimSpace(r.FormValue("manager_title"))})
	})
}

// staffReportManager reports the manager of an approved terminal
// (端末機管理者), from the terminal's row.
func (s *Server) staffReportManager(w http.ResponseWriter, r *http.Request, c *current) {
	id := r.PathValue("id")
	s.staffChange(w, r, c, "manager", "manager-"+id, func() error {
		return s.node.Staff.ReportTerminalManager(r.Context(), c.who(), id, strings.TrimSpace(r.FormValue("manager")), strings.TrimSpace(r.FormValue("manager_title")))
	})
}

func (s *Server) staffRemoveCredential(w http.ResponseWriter, r *http.Request, c *current) {
	s.staffChange(w, r, c, "credential", "credential-"+r.PathValue("id"), func() error {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			return apperr.New(apperr.Invalid, "bad credential number", "照合情報の番号が正しくありません")
		}
		return s.node.Staff.RemoveCredential(r.Context(), c.who(), id, strings.TrimSpace(r.FormValue("reason")))
	})
}

func (s *Server) networkPage(w http.ResponseWriter, r *http.Request, c *current) {
	ctx := r.Context()
	if !s.allowed(w, r, c, staff.ActViewAudit, s.nodeResource()) {
		return
	}
	st, err := federation.GetStatus(ctx, s.node)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lag := ""
	if st.Pending > 0 {
		lag = time.Since(st.OldestSince).Round(time.Second).String()
	}
	s.page(w, r, c, "network", "Network", map[string]any{"Status": st, "Lag": lag})
}

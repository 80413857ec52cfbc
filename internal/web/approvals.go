package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/staff"
	"jukinet/internal/sysaudit"
)

// The usage approvals screen (利用の承認, aomori-pref:7, koto-ward:12.1):
// every application with its state, period, terminals and staff, the
// forms each role may use on it (apply, approve or refuse, withdraw, end,
// ask for and submit a status report), and the status reports as CSV and
// PDF. Every change is behind the biometric re-check.
func (s *Server) approvalRoutes() {
	s.mux.HandleFunc("GET /approvals", s.signedIn(s.approvalsPage))
	s.mux.HandleFunc("POST /approvals", s.signedIn(s.applyUsage))
	s.mux.HandleFunc("POST /approvals/decide", s.signedIn(s.decideUsage))
	s.mux.HandleFunc("POST /approvals/withdraw", s.signedIn(s.withdrawUsage))
	s.mux.HandleFunc("POST /approvals/end", s.signedIn(s.endUsage))
	s.mux.HandleFunc("POST /approvals/reports", s.signedIn(s.requestUsageReport))
	s.mux.HandleFunc("POST /approvals/reports/submit", s.signedIn(s.submitUsageReport))
	s.mux.HandleFunc("POST /approvals/status", s.signedIn(s.usageStatus))
}

// approvalRow is an application as the screen shows it, with what the
// signed-in person may do to it.
type approvalRow struct {
	approval.Approval
	InForce, NotYet, Over         bool
	CanDecide, CanWithdraw        bool
	CanEnd, CanRequest, CanSubmit bool
}

// typedForm is what a refused form carried: the screen (approvals,
// council, audits, disclosures, forms, correspondence) is shown again with
// the error in that form, tied to its inputs, and what was typed kept.
type typedForm struct {
	Form   string     // the form's id on its screen: apply-DEPT, decide-N, convene, attend-N, plan …
	Values url.Values // what was posted
	Error  string     // the message, in the page's language
	// Fields are the inputs the error is about, when it names them: a
	// screen that places messages by input shows each next to its own.
	Fields fieldErrors
	// First is the form's first input: the focus goes to it when the
	// error names none (refusedAt sets it from the form's inputs).
	First string
}

// Bad says whether input field of form is marked invalid: the refused
// form's input the error is about, or each of its inputs when the error
// names none.
func (t typedForm) Bad(form, field string) bool {
	return t.Is(form) && (!t.Fields.Any() || t.Fields.Of(field) != "")
}

// At is the message next to input field of form, or "" (the error names
// no input: Whole).
func (t typedForm) At(form, field string) string {
	if !t.Is(form) {
		return ""
	}
	return t.Fields.Of(field)
}

// Whole says whether form was refused for an error that names no input:
// its message stands for the whole form.
func (t typedForm) Whole(form string) bool { return t.Is(form) && !t.Fields.Any() }

// Focus says whether input field of the refused form gets the focus: the
// first input the error is about, or the form's first input (First) when
// the error names none.
func (t typedForm) Focus(form, field string) bool {
	return t.Is(form) && (t.Fields.Focus(field) || (!t.Fields.Any() && t.First != "" && field == t.First))
}

// Is says whether the refused form is form.
func (t typedForm) Is(form string) bool { return t.Error != "" && t.Form == form }

// Value is what was typed in field of form, or def when another form was refused.
func (t typedForm) Value(form, field, def string) string {
	if t.Form != form || t.Values == nil {
		return def
	}
	return t.Values.Get(field)
}

// Checked says whether value was ticked in field of the refused form.
func (t typedForm) Checked(form, field, value string) bool {
	return t.Form == form && slices.Contains(t.Values[field], value)
}

func (s *Server) approvalsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderApprovals(w, r, c, http.StatusOK, typedForm{})
}

// answerRefused answers a form refused with err: when err is about what
// the form carried, again shows the screen with the error in that form;
// otherwise the error page. It reports whether it wrote a response.
func (s *Server) answerRefused(w http.ResponseWriter, r *http.Request, form string, err error, again func(status int, typed typedForm)) bool {
	switch {
	case err == nil:
		return false
	case formError(err):
		again(statusOf(err), typedForm{Form: form, Values: r.PostForm, Error: message(r, err), Fields: fieldErrorsOf(r, err, nil, nil)})
	default:
		s.problem(w, r, err)
	}
	return true
}

// refused answers a form of the approvals screen (answerRefused).
func (s *Server) refused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.answerRefused(w, r, form, err, func(status int, t typedForm) { s.renderApprovals(w, r, c, status, t) })
}

func (s *Server) renderApprovals(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, approval.ActView, s.nodeResource()) {
		return
	}
	all, err := approval.List(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	var rows []approvalRow
	for _, a := range all {
		dept := staff.Resource{Kind: "department", ID: a.Department}
		row := approvalRow{Approval: a, InForce: a.InForce(now), NotYet: now.Before(a.Start), Over: !now.Before(a.Until())}
		switch a.State {
		case approval.Applied:
			decide := dept
			if heads, err := staff.Heads(ctx, s.node.DB, a.Department); err == nil {
				decide.Subjects = heads
			}
			if kind, id, ok := strings.Cut(a.AppliedBy, ":"); ok && kind == string(auditlog.ActorOperator) {
				decide.Subjects = append(decide.Subjects, auditlog.Actor{Kind: auditlog.ActorOperator, ID: id})
			}
			row.CanDecide = s.may(ctx, c, approval.ActApprove, decide)
			row.CanWithdraw = s.may(ctx, c, approval.ActApply, dept)
		case approval.Approved:
			row.CanEnd = s.may(ctx, c, approval.ActEnd, dept)
			row.CanRequest = s.may(ctx, c, approval.ActApprove, dept)
		case approval.Ended:
			row.CanRequest = s.may(ctx, c, approval.ActApprove, dept)
		}
		for _, rep := range a.Reports {
			if !rep.Submitted() {
				row.CanSubmit = s.may(ctx, c, approval.ActApply, dept)
			}
		}
		rows = append(rows, row)
	}
	// The departments the signed-in person may apply for, with their
	// terminals in use and staff.
	type option struct{ ID, Name string }
	type deptForm struct {
		ID, Name  string
		Terminals []option
		People    []option
	}
	var forms []deptForm
	terminals, err := s.node.Staff.Terminals(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	wd := s.wordsFor(r)
	for _, d := range s.node.Profile.Departments {
		if !s.may(ctx, c, approval.ActApply, staff.Resource{Kind: "department", ID: d.ID}) {
			continue
		}
		f := deptForm{ID: d.ID, Name: wd.dept(d.ID)}
		for _, t := range terminals {
			if t.Department == d.ID && t.RetiredAt.IsZero() {
				f.Terminals = append(f.Terminals, option{t.ID, t.Name})
			}
		}
		for _, p := range people {
			if p.Department == d.ID && p.Active {
				f.People = append(f.People, option{p.VerificationID, p.Name})
			}
		}
		forms = append(forms, f)
	}
	today := jptext.Midnight(now)
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "approvals", "UsageApprovals", map[string]any{
		"Typed": typed, "Rows": rows, "Forms": forms, "Affairs": s.node.Profile.Affairs,
		"Today": today.Format(time.DateOnly), "YearOn": today.AddDate(1, 0, -1).Format(time.DateOnly),
		"LastMonthFrom": time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, jptext.JST).AddDate(0, -1, 0).Format(time.DateOnly),
		"LastMonthTo":   time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, jptext.JST).AddDate(0, 0, -1).Format(time.DateOnly),
		"DueDefault":    today.AddDate(0, 0, 14).Format(time.DateOnly),
		"MaxPurpose":    approval.FieldPurpose.Max, "MaxReason": approval.FieldReason.Max, "MaxDecided": approval.FieldDecided.Max,
		"MaxEnd": approval.FieldEnd.Max, "MaxNote": approval.FieldNote.Max,
	})
}

// approvalForm reads a posted form behind the re-check; ok is false when a
// response was written.
func (s *Server) approvalForm(w http.ResponseWriter, r *http.Request, c *current) bool {
	if !s.recentlyVerified(w, r, c, "/approvals") {
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return false
	}
	return true
}

// formID reads a positive number a form names.
func formID(r *http.Request, field, ja string) (int64, error) {
	v := strings.TrimSpace(r.FormValue(field))
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.Invalid, field+": give the number", ja+"を選んでください")
	}
	return id, nil
}

// formPeriod reads the first and last day a report form names.
func formPeriod(r *http.Request) (from, to time.Time, err error) {
	if from, err = jptext.ParseDay("from", "報告の対象期間の初日", r.FormValue("from")); err != nil {
		return
	}
	to, err = jptext.ParseDay("to", "報告の対象期間の末日", r.FormValue("to"))
	return
}

func (s *Server) applyUsage(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.approvalForm(w, r, c) {
		return
	}
	form := "apply-" + r.FormValue("department")
	start, err := jptext.ParseDay("start", "利用の開始日", r.FormValue("start"))
	var end time.Time
	if err == nil {
		end, err = jptext.ParseDay("end", "利用の終了日", r.FormValue("end"))
	}
	if err == nil {
		_, err = s.node.Approvals.Apply(r.Context(), c.who(), approval.Approval{Department: r.FormValue("department"), Affair: r.FormValue("affair"),
			Purpose: r.FormValue("purpose"), Reason: r.FormValue("reason"), Start: start, End: end,
			Terminals: r.Form["terminal"], Operators: r.Form["operator"]})
	}
	if s.refused(w, r, c, form, err) {
		return
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (s *Server) decideUsage(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.approvalForm(w, r, c) {
		return
	}
	id, err := formID(r, "approval", "申請番号")
	if err == nil {
		switch r.FormValue("decision") {
		case "approve":
			err = s.node.Approvals.Decide(r.Context(), c.who(), id, true, r.FormValue("reason"))
		case "refuse":
			err = s.node.Approvals.Decide(r.Context(), c.who(), id, false, r.FormValue("reason"))
		default:
			err = apperr.New(apperr.Invalid, "decision: approve or refuse", "承認か不承認かを選んでください")
		}
	}
	if s.refused(w, r, c, "decide-"+r.FormValue("approval"), err) {
		return
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (s *Server) withdrawUsage(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.approvalForm(w, r, c) {
		return
	}
	id, err := formID(r, "approval", "申請番号")
	if err == nil {
		err = s.node.Approvals.Withdraw(r.Context(), c.who(), id, r.FormValue("reason"))
	}
	if s.refused(w, r, c, "withdraw-"+r.FormValue("approval"), err) {
		return
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (s *Server) endUsage(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.approvalForm(w, r, c) {
		return
	}
	id, err := formID(r, "approval", "申請番号")
	if err == nil {
		err = s.node.Approvals.End(r.Context(), c.who(), id, r.FormValue("reason"))
	}
	if s.refused(w, r, c, "end-"+r.FormValue("approval"), err) {
		return
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (s *Server) requestUsageReport(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.approvalForm(w, r, c) {
		return
	}
	id, err := formID(r, "approval", "申請番号")
	var from, to, due time.Time
	if err == nil {
		from, to, err = formPeriod(r)
	}
	if err == nil {
		due, err = jptext.ParseDay("due", "報告の期限", r.FormValue("due"))
	}
	if err == nil {
		_, err = s.node.Approvals.RequestReport(r.Context(), c.who(), id, from, to, due)
	}
	if s.refused(w, r, c, "request-"+r.FormValue("approval"), err) {
		return
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

func (s *Server) submitUsageReport(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.approvalForm(w, r, c) {
		return
	}
	id, err := formID(r, "report", "報告番号")
	if err == nil {
		_, err = s.node.Approvals.SubmitReport(r.Context(), c.who(), id, r.FormValue("note"), approval.Status.CSV)
	}
	if s.refused(w, r, c, "submit-"+r.FormValue("report"), err) {
		return
	}
	http.Redirect(w, r, "/approvals", http.StatusSeeOther)
}

// usageStatus sends a status report of an approval for a period as CSV or
// PDF: counted from the log now, and itself recorded in the log with the
// form it is in the forms register (koto-ward:14), whose number is printed
// on it and names the file.
func (s *Server) usageStatus(w http.ResponseWriter, r *http.Request, c *current) {
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	id, err := formID(r, "approval", "申請番号")
	var from, to time.Time
	if err == nil {
		from, to, err = formPeriod(r)
	}
	if err == nil {
		err = form.CheckDestination(r.FormValue("destination"))
	}
	format := "csv"
	if r.FormValue("format") == "pdf" {
		format = "pdf"
	}
	var st approval.Status
	var f form.Form
	var b []byte
	if err == nil {
		st, f, b, err = s.node.Approvals.StatusExport(r.Context(), c.who(), id, from, to, format, func(st approval.Status) ([]byte, error) {
			if format == "pdf" {
				return s.statusPDF(st)
			}
			return st.CSV()
		}, strings.TrimSpace(r.FormValue("destination")))
	}
	if s.refused(w, r, c, "status-"+r.FormValue("approval"), err) {
		return
	}
	name := fmt.Sprintf("usage-report-%d-%s-%s-%s", id, st.From.Format("20060102"), st.To.Format("20060102"), f.Number)
	if format == "pdf" {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pdf"`)
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	}
	w.Write(b)
}

// approvalReminders are what the approvals record holds for c: the
// applications they may decide, and the status reports and renewals of
// the departments they may apply for.
func (s *Server) approvalReminders(ctx context.Context, c *current) ([]approval.Reminder, error) {
	all, err := approval.Reminders(ctx, s.node.DB, s.node.Now())
	if err != nil {
		return nil, err
	}
	var out []approval.Reminder
	for _, rm := range all {
		dept := staff.Resource{Kind: "department", ID: rm.Approval.Department}
		action := approval.ActApply
		if rm.Kind == "decide" {
			action = approval.ActApprove
			if heads, err := staff.Heads(ctx, s.node.DB, dept.ID); err == nil {
				dept.Subjects = heads
			}
		}
		if s.may(ctx, c, action, dept) {
			out = append(out, rm)
		}
	}
	return out, nil
}

// overdueDirectives are the council's directives and requests past their
// due day (koto-ward:6) that c sees: all of them for those who see the
// council's record, their own departments' for the heads who acknowledge
// them.
func (s *Server) overdueDirectives(ctx context.Context, c *current) ([]council.Directive, error) {
	all, err := council.Overdue(ctx, s.node.DB, s.node.Now())
	if err != nil || len(all) == 0 {
		return nil, err
	}
	if s.may(ctx, c, council.ActView, s.nodeResource()) {
		return all, nil
	}
	var out []council.Directive
	for _, d := range all {
		if d.Department != "" && s.may(ctx, c, council.ActAcknowledge, staff.Resource{Kind: "department", ID: d.Department}) {
			out = append(out, d)
		}
	}
	return out, nil
}

// overdueAuditActions are the system audits' corrective actions past their
// due day (koto-ward:9, aomori-pref:11) that c sees: all of them for those
// who see the audits, their own for the staff who carry them out.
func (s *Server) overdueAuditActions(ctx context.Context, c *current) ([]sysaudit.Action, error) {
	all, err := sysaudit.Overdue(ctx, s.node.DB, s.node.Now())
	if err != nil || len(all) == 0 {
		return nil, err
	}
	if s.may(ctx, c, sysaudit.ActView, s.nodeResource()) {
		return all, nil
	}
	var out []sysaudit.Action
	for _, a := range all {
		if a.Owner == c.person.VerificationID {
			out = append(out, a)
		}
	}
	return out, nil
}

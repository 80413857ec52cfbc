package web

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/report"
	"jukinet/internal/staff"
	"jukinet/internal/sysaudit"
)

// The system audits screens (システム監査, koto-ward:9, aomori-pref:11):
// /audits lists the audits and the overdue corrective actions and offers
// the chief the plan form; /audits/{id} shows one audit — its checklist
// with the evidence the node collected, findings, corrective actions — with
// the forms each role may use on it, and its report as PDF and CSV. (Not
// /audit, which is the audit log.) Every change is behind the biometric
// re-check; a refused form is shown again with the error in it.
func (s *Server) sysauditRoutes() {
	s.mux.HandleFunc("GET /audits", s.signedIn(s.auditsPage))
	s.mux.HandleFunc("POST /audits", s.signedIn(s.planAudit))
	s.mux.HandleFunc("GET /audits/{id}", s.signedIn(s.sysauditPage))
	s.mux.HandleFunc("POST /audits/{id}/checklist", s.signedIn(s.auditChecklist))
	s.mux.HandleFunc("POST /audits/{id}/assess", s.signedIn(s.auditAssess))
	s.mux.HandleFunc("POST /audits/{id}/findings", s.signedIn(s.auditFinding))
	s.mux.HandleFunc("POST /audits/{id}/actions", s.signedIn(s.auditAction))
	s.mux.HandleFunc("POST /audits/{id}/follow-up", s.signedIn(s.auditFollowUp))
	s.mux.HandleFunc("POST /audits/{id}/close", s.signedIn(s.auditClose))
	s.mux.HandleFunc("POST /audits/{id}/complete", s.signedIn(s.auditComplete))
	s.mux.HandleFunc("POST /audits/{id}/report", s.signedIn(s.auditReport))
}

// auditMax is the longest value of each text input of the audit screens,
// from the fields' one definition (docs/fields.md).
var auditMax = map[string]int{
	"title": sysaudit.FieldTitle.Max, "scope": sysaudit.FieldScope.Max, "note": sysaudit.FieldNote.Max,
	"description": sysaudit.FieldDescription.Max, "root_cause": sysaudit.FieldRootCause.Max, "action": sysaudit.FieldAction.Max,
	"follow_up": sysaudit.FieldFollowUp.Max, "evidence": sysaudit.FieldClosure.Max, "conclusion": sysaudit.FieldConclusion.Max,
}

// auditRow is an audit as the list shows it.
type auditRow struct {
	sysaudit.Plan
	Findings, Open, Overdue int
}

// overdueRow is an overdue corrective action as the list shows it.
type overdueRow struct {
	sysaudit.Action
	Days int // days past its due day
}

func (s *Server) auditsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderAudits(w, r, c, http.StatusOK, typedForm{})
}

// auditors are the active staff members who may be named auditor: those
// with the profile's auditor role (anyone active when it has none).
func (s *Server) auditors(r *http.Request) ([]choice, error) {
	st, err := s.node.Policy.State(r.Context())
	if err != nil {
		return nil, err
	}
	_, hasRole := s.node.Profile.Role(profile.Auditor)
	var out []choice
	for vid, m := range st.People {
		if !hasRole || slices.Contains(m.Roles, profile.Auditor) {
			out = append(out, choice{vid, m.Name + "（" + vid + "）"})
		}
	}
	slices.SortFunc(out, func(a, b choice) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (s *Server) renderAudits(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, sysaudit.ActView, s.nodeResource()) {
		return
	}
	all, err := sysaudit.List(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	rows := make([]auditRow, len(all))
	for i, p := range all {
		rows[i].Plan, rows[i].Findings = p, len(p.Findings)
		for _, f := range p.Findings {
			for _, a := range f.Actions {
				if !a.Closed() {
					rows[i].Open++
				}
				if a.OverdueAt(now) {
					rows[i].Overdue++
				}
			}
		}
	}
	overdue, err := sysaudit.Overdue(ctx, s.node.DB, now)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	late := make([]overdueRow, len(overdue))
	for i, a := range overdue {
		late[i] = overdueRow{Action: a, Days: int(jptext.Midnight(now).Sub(a.Due).Hours() / 24)}
	}
	data := map[string]any{"Typed": typed, "Rows": rows, "Overdue": late, "Max": auditMax, "Kinds": []sysaudit.Kind{sysaudit.Periodic, sysaudit.AdHoc}}
	// No dead end: who may not plan is told who may.
	v := s.node.Policy.MayAdminister(ctx, c.who(), sysaudit.ActPlan, s.nodeResource())
	data["CanPlan"], data["WhoMay"] = v.Allow, s.wordsFor(r).pick(v.Japanese, v.Why)
	if v.Allow {
		if data["Auditors"], err = s.auditors(r); err != nil {
			s.problem(w, r, err)
			return
		}
		today := jptext.Midnight(now)
		first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, jptext.JST)
		data["FromDefault"] = first.AddDate(0, -3, 0).Format(time.DateOnly)
		data["ToDefault"] = first.AddDate(0, 0, -1).Format(time.DateOnly)
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "audits", "SystemAudits", data)
}

// auditForm reads a posted form behind the re-check; ok is false when a
// response was written.
func (s *Server) auditForm(w http.ResponseWriter, r *http.Request, c *current, back string) bool {
	if !s.recentlyVerified(w, r, c, back) {
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return false
	}
	return true
}

func (s *Server) planAudit(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.auditForm(w, r, c, "/audits") {
		return
	}
	from, err := jptext.ParseDay("from", "監査の対象期間の初日", r.FormValue("from"))
	var to time.Time
	if err == nil {
		to, err = jptext.ParseDay("to", "監査の対象期間の末日", r.FormValue("to"))
	}
	var id int64
	if err == nil {
		id, err = s.node.SysAudits.Plan(r.Context(), c.who(), sysaudit.Plan{Kind: sysaudit.Kind(r.FormValue("kind")), Title: r.FormValue("title"),
			From: from, To: to, Scope: r.FormValue("scope"), Articles: []string{r.FormValue("articles")}, Auditor: r.FormValue("auditor")})
	}
	if s.answerRefused(w, r, "plan", err, func(status int, t typedForm) { s.renderAudits(w, r, c, status, t) }) {
		return
	}
	http.Redirect(w, r, "/audits/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// auditID reads the audit's number from the path.
func auditID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.NotFound, "no such audit", "その監査はありません")
	}
	return id, nil
}

// actionRow is a corrective action with what the signed-in person may do to it.
type actionRow struct {
	sysaudit.Action
	Overdue, CanFollowUp, CanClose bool
}

// findingRow is a finding with its check's position and its actions.
type findingRow struct {
	sysaudit.Finding
	Position int
	Feature  string
	Rows     []actionRow
}

func (s *Server) sysauditPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderSysaudit(w, r, c, http.StatusOK, typedForm{})
}

func (s *Server) renderSysaudit(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, sysaudit.ActView, s.nodeResource()) {
		return
	}
	id, err := auditID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := sysaudit.Get(ctx, s.node.DB, id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	conduct := s.may(ctx, c, sysaudit.ActConduct, staff.Resource{Kind: "person", ID: p.Auditor})
	var findings []findingRow
	for _, f := range p.Findings {
		row := findingRow{Finding: f}
		for _, ch := range p.Checks {
			if ch.ID == f.Check {
				row.Position, row.Feature = ch.Position, ch.Feature
			}
		}
		for _, a := range f.Actions {
			ar := actionRow{Action: a, Overdue: a.OverdueAt(now)}
			if !a.Closed() {
				ar.CanFollowUp = s.may(ctx, c, sysaudit.ActFollowUp, staff.Resource{Kind: "person", ID: a.Owner})
				ar.CanClose = s.may(ctx, c, sysaudit.ActClose, staff.Resource{Kind: "node", ID: string(s.node.Info.LocalGov.Code),
					Subjects: []auditlog.Actor{{Kind: auditlog.ActorOperator, ID: a.Owner}}})
			}
			row.Rows = append(row.Rows, ar)
		}
		findings = append(findings, row)
	}
	attention := 0
	for _, ch := range p.Checks {
		if ch.Attention {
			attention++
		}
	}
	headings := map[string]string{}
	for _, a := range s.node.Profile.Articles {
		headings[a.ID] = a.Heading
	}
	data := map[string]any{
		"Typed": typed, "Plan": p, "Findings": findings, "Attention": attention, "Max": auditMax, "Headings": headings,
		"CanConduct": conduct, "InProgress": p.State == sysaudit.InProgress, "Planned": p.State == sysaudit.Planned,
		"CanAct":     conduct && p.State != sysaudit.Planned,
		"Results":    []sysaudit.Result{sysaudit.Conforming, sysaudit.Nonconforming, sysaudit.NotApplicable},
		"Severities": []sysaudit.Severity{sysaudit.High, sysaudit.Medium, sysaudit.Low},
		"DueDefault": jptext.Midnight(now).AddDate(0, 1, 0).Format(time.DateOnly),
	}
	if !conduct {
		v := s.node.Policy.MayAdminister(ctx, c.who(), sysaudit.ActConduct, staff.Resource{Kind: "person", ID: p.Auditor})
		data["WhoMay"] = s.wordsFor(r).pick(v.Japanese, v.Why)
	}
	if conduct && p.State != sysaudit.Planned {
		people, err := s.node.Staff.People(ctx)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var owners []choice
		for _, pe := range people {
			if pe.Active {
				owners = append(owners, choice{pe.VerificationID, pe.Name + "（" + pe.VerificationID + "）"})
			}
		}
		data["Owners"] = owners
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "sysaudit", "SystemAudit", data)
}

// auditChange reads a form of one audit's page behind the re-check, runs
// change, and answers: back to the audit, or the page again with the
// error in form. change returns the form's id and the error.
func (s *Server) auditChange(w http.ResponseWriter, r *http.Request, c *current, change func(id int64) (string, error)) {
	id, err := auditID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	back := "/audits/" + strconv.FormatInt(id, 10)
	if !s.auditForm(w, r, c, back) {
		return
	}
	form, err := change(id)
	if s.answerRefused(w, r, form, err, func(status int, t typedForm) { s.renderSysaudit(w, r, c, status, t) }) {
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) auditChecklist(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(id int64) (string, error) {
		_, err := s.node.SysAudits.Generate(r.Context(), c.who(), id)
		return "checklist", err
	})
}

func (s *Server) auditAssess(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(int64) (string, error) {
		check, err := formID(r, "check", "点検項目")
		if err == nil {
			err = s.node.SysAudits.Assess(r.Context(), c.who(), check, sysaudit.Result(r.FormValue("result")), r.FormValue("note"))
		}
		return "assess-" + r.FormValue("check"), err
	})
}

func (s *Server) auditFinding(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(int64) (string, error) {
		check, err := formID(r, "check", "指摘の対象の点検項目")
		if err == nil {
			_, err = s.node.SysAudits.RecordFinding(r.Context(), c.who(), sysaudit.Finding{Check: check, Severity: sysaudit.Severity(r.FormValue("severity")),
				Description: r.FormValue("description"), RootCause: r.FormValue("root_cause")})
		}
		return "finding", err
	})
}

func (s *Server) auditAction(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(int64) (string, error) {
		finding, err := formID(r, "finding", "指摘")
		var due time.Time
		if err == nil {
			due, err = jptext.ParseDay("due", "是正措置の期限", r.FormValue("due"))
		}
		if err == nil {
			_, err = s.node.SysAudits.AddAction(r.Context(), c.who(), sysaudit.Action{Finding: finding, Description: r.FormValue("action"),
				Owner: r.FormValue("owner"), Due: due})
		}
		return "action-" + r.FormValue("finding"), err
	})
}

func (s *Server) auditFollowUp(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(int64) (string, error) {
		action, err := formID(r, "action", "是正措置")
		if err == nil {
			err = s.node.SysAudits.FollowUp(r.Context(), c.who(), action, r.FormValue("follow_up"))
		}
		return "follow-up-" + r.FormValue("action"), err
	})
}

func (s *Server) auditClose(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(int64) (string, error) {
		action, err := formID(r, "action", "是正措置")
		if err == nil {
			err = s.node.SysAudits.CloseAction(r.Context(), c.who(), action, r.FormValue("evidence"))
		}
		return "close-" + r.FormValue("action"), err
	})
}

func (s *Server) auditComplete(w http.ResponseWriter, r *http.Request, c *current) {
	s.auditChange(w, r, c, func(id int64) (string, error) {
		return "complete", s.node.SysAudits.Complete(r.Context(), c.who(), id, r.FormValue("conclusion"))
	})
}

// auditReport sends the audit's report as PDF (format=pdf) or CSV; the
// issue is recorded in the log with the form it is in the forms register
// (koto-ward:14), whose number is printed on the PDF and names the file, so
// it is asked for by POST (a GET, which another site can make a browser
// send, writes nothing).
func (s *Server) auditReport(w http.ResponseWriter, r *http.Request, c *current) {
	id, err := auditID(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	format := "csv"
	if r.FormValue("format") == "pdf" {
		format = "pdf"
	}
	dest := strings.TrimSpace(r.FormValue("destination"))
	if err := form.CheckDestination(dest); err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	_, f, b, err := s.node.SysAudits.ReportExport(r.Context(), c.who(), id, format, func(p sysaudit.Plan, no form.Number) ([]byte, error) {
		var b bytes.Buffer
		if format == "pdf" {
			chief, _ := s.node.Profile.Role(profile.ChiefSecurityOfficer)
			issuer := s.node.Info.Name() + " " + chief.Name
			d := p.Document(s.node.Profile, issuer, now, now)
			d.Control = "帳票管理番号 " + no.String()
			if err := report.WritePDF(&b, d); err != nil {
				return nil, fmt.Errorf("render the report of audit %d: %w", id, err)
			}
		} else if err := report.WriteCSV(&b, p.Table(now), report.UTF8BOM); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}, dest)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	name := fmt.Sprintf("system-audit-%d-%s-%s", id, now.In(jptext.JST).Format("20060102"), f.Number)
	if format == "pdf" {
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pdf"`)
	} else {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.csv"`)
	}
	w.Write(b)
}

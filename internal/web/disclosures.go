package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"jukinet/internal/disclosure"
	"jukinet/internal/jptext"
	"jukinet/internal/staff"
)

// The disclosure requests screen (本人確認情報・提供状況の開示): the
// department that keeps the register receives a resident's request, its
// head decides within the profile's days, the department issues the
// document — the PDF for the resident and the proof file that shows every
// access is listed and none left out — and reprints it. Overdue requests
// are marked. Every change is behind the biometric re-check; every step,
// reprints included, is an audit entry concerning the resident.
func (s *Server) disclosureRoutes() {
	s.mux.HandleFunc("GET /disclosures", s.signedIn(s.disclosuresPage))
	s.mux.HandleFunc("POST /disclosures", s.signedIn(s.receiveDisclosure))
	s.mux.HandleFunc("POST /disclosures/decide", s.signedIn(s.decideDisclosure))
	s.mux.HandleFunc("POST /disclosures/issue", s.signedIn(s.issueDisclosure))
	s.mux.HandleFunc("POST /disclosures/document", s.signedIn(s.disclosureDocument))
	s.mux.HandleFunc("POST /disclosures/reprint", s.signedIn(s.disclosureReprint))
}

// disclosureRow is a request as the screen shows it, with what the
// signed-in person may do to it.
type disclosureRow struct {
	disclosure.Request
	Overdue             bool
	CanDecide, CanIssue bool
}

// disclosureDept is the department that keeps the register, as the policies know it.
func (s *Server) disclosureDept() staff.Resource {
	return staff.Resource{Kind: "department", ID: s.node.Profile.Disclosure.Department}
}

func (s *Server) disclosuresPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderDisclosures(w, r, c, http.StatusOK, typedForm{})
}

func (s *Server) renderDisclosures(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	dept := s.disclosureDept()
	if !s.allowed(w, r, c, disclosure.ActView, dept) {
		return
	}
	all, err := disclosure.List(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	canReceive, canDecide := s.may(ctx, c, disclosure.ActReceive, dept), s.may(ctx, c, disclosure.ActDecide, dept)
	rows := make([]disclosureRow, 0, len(all))
	for _, q := range all {
		st := q.State()
		rows = append(rows, disclosureRow{Request: q, Overdue: q.Overdue(now), CanDecide: canDecide && st == disclosure.Received,
			CanIssue: canReceive && (st == disclosure.Decided || st == disclosure.Issued)})
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "disclosures", "Disclosures", map[string]any{
		"Typed": typed, "Rows": rows, "CanReceive": canReceive, "CanDecide": canDecide, "Days": s.node.Profile.Disclosure.Days,
		"DeptName": s.wordsFor(r).dept(s.node.Profile.Disclosure.Department), "Today": jptext.Midnight(now).Format(time.DateOnly),
		"IDChecks": disclosure.IDChecks, "Items": disclosure.Items, "Decisions": []string{"disclose", "partial", "refuse"},
		"Requesters": []string{"self", "representative"},
		"Max": map[string]int{"requester_name": disclosure.FieldRequesterName.Max, "authority": disclosure.FieldAuthority.Max,
			"reason": disclosure.FieldReason.Max, "delivery": disclosure.FieldDelivery.Max},
	})
}

// disclosureRefused answers a refused form of the screen (answerRefused).
func (s *Server) disclosureRefused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.answerRefused(w, r, form, err, func(status int, t typedForm) { s.renderDisclosures(w, r, c, status, t) })
}

// disclosureForm reads a posted form behind the re-check.
func (s *Server) disclosureForm(w http.ResponseWriter, r *http.Request, c *current) bool {
	if !s.recentlyVerified(w, r, c, "/disclosures") {
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return false
	}
	return true
}

func (s *Server) receiveDisclosure(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.disclosureForm(w, r, c) {
		return
	}
	q := disclosure.Request{Resident: r.FormValue("resident"), Requester: disclosure.Requester(r.FormValue("requester")),
		RequesterName: r.FormValue("requester_name"), Authority: r.FormValue("authority"), IDCheck: disclosure.IDCheck(r.FormValue("id_check"))}
	for _, it := range r.Form["item"] {
		q.Items = append(q.Items, disclosure.Item(it))
	}
	var err error
	if v := r.FormValue("received"); v != "" {
		q.Received, err = jptext.ParseDay("received", "受付日", v)
	}
	if err == nil {
		_, err = s.node.Disclosures.Receive(r.Context(), c.who(), q)
	}
	if s.disclosureRefused(w, r, c, "receive", err) {
		return
	}
	http.Redirect(w, r, "/disclosures", http.StatusSeeOther)
}

func (s *Server) decideDisclosure(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.disclosureForm(w, r, c) {
		return
	}
	id, err := formID(r, "request", "開示請求の番号")
	if err == nil {
		err = s.node.Disclosures.Decide(r.Context(), c.who(), id, disclosure.Decision(r.FormValue("decision")), r.FormValue("reason"))
	}
	if s.disclosureRefused(w, r, c, "decide-"+r.FormValue("request"), err) {
		return
	}
	http.Redirect(w, r, "/disclosures", http.StatusSeeOther)
}

func (s *Server) issueDisclosure(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.disclosureForm(w, r, c) {
		return
	}
	id, err := formID(r, "request", "開示請求の番号")
	if err == nil {
		var render disclosure.Render
		if render, err = s.disclosureRender(r); err == nil {
			_, err = s.node.Disclosures.Issue(r.Context(), c.who(), id, r.FormValue("delivery"), render)
		}
	}
	if s.disclosureRefused(w, r, c, "issue-"+r.FormValue("request"), err) {
		return
	}
	http.Redirect(w, r, "/disclosures", http.StatusSeeOther)
}

// disclosureRender is how the screen renders the document for the
// resident, with the node's staff as they are now.
func (s *Server) disclosureRender(r *http.Request) (disclosure.Render, error) {
	people, err := s.node.Staff.People(r.Context())
	if err != nil {
		return nil, err
	}
	return disclosure.PDF(s.node.Profile, s.node.Info.Name(), people, s.node.Now()), nil
}

// disclosureDocument sends an issued request's document as issued: the
// PDF handed over (its form's number on it) or the proof file, logged as
// a download before the file leaves.
func (s *Server) disclosureDocument(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.disclosureForm(w, r, c) {
		return
	}
	id, err := formID(r, "request", "開示請求の番号")
	var doc *disclosure.IssuedDocument
	if err == nil {
		doc, err = s.node.Disclosures.Download(r.Context(), c.who(), id)
	}
	if s.disclosureRefused(w, r, c, "issue-"+r.FormValue("request"), err) {
		return
	}
	s.sendDisclosure(w, r, doc)
}

// disclosureReprint prints the document again as a new form of the forms
// register (a resident who lost it, a copy for the file), logged as a
// reprint before it leaves.
func (s *Server) disclosureReprint(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.disclosureForm(w, r, c) {
		return
	}
	id, err := formID(r, "request", "開示請求の番号")
	var doc *disclosure.IssuedDocument
	if err == nil {
		var render disclosure.Render
		if render, err = s.disclosureRender(r); err == nil {
			doc, err = s.node.Disclosures.Reissue(r.Context(), c.who(), id, r.FormValue("destination"), render)
		}
	}
	if s.disclosureRefused(w, r, c, "issue-"+r.FormValue("request"), err) {
		return
	}
	s.sendDisclosure(w, r, doc)
}

// sendDisclosure answers the PDF, or the proof file when format=json.
func (s *Server) sendDisclosure(w http.ResponseWriter, r *http.Request, doc *disclosure.IssuedDocument) {
	name := fmt.Sprintf("disclosure-%d-%s", doc.Request.ID, doc.Form.Number)
	if r.FormValue("format") == "json" {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.json"`)
		w.Write(doc.JSON)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`.pdf"`)
	w.Write(doc.PDF)
}

// overdueDisclosures are the disclosure requests whose decision is past its
// due day, for those who receive or decide them.
func (s *Server) overdueDisclosures(ctx context.Context, c *current) ([]disclosure.Request, error) {
	dept := s.disclosureDept()
	if !s.may(ctx, c, disclosure.ActDecide, dept) && !s.may(ctx, c, disclosure.ActReceive, dept) {
		return nil, nil
	}
	return disclosure.Overdue(ctx, s.node.DB, s.node.Now())
}

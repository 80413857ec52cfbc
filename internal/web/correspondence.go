package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"jukinet/internal/approval"
	"jukinet/internal/correspondence"
	"jukinet/internal/incident"
	"jukinet/internal/jptext"
	"jukinet/internal/sysaudit"
)

// The correspondence screens (報告・依頼, koto-ward:15): the requests
// overdue on the node's clock first, then the inbox and the outbox with
// each document's state (queued, delivered, acknowledged, refused;
// received) and, for a request, open, answered or overdue; a form to draft
// and send a report or a request to a peer body, with references picked
// from the node's incidents, audits and usage status reports; a document's
// page with its signed note, the recipient's acknowledgement and, for a
// request received, the form to answer it. Every send is behind the
// biometric re-check; a refused form is shown again with its error tied
// to its inputs and what was typed kept.
func (s *Server) correspondenceRoutes() {
	s.mux.HandleFunc("GET /correspondence", s.signedIn(s.correspondencePage))
	s.mux.HandleFunc("POST /correspondence", s.signedIn(s.sendDocument))
	s.mux.HandleFunc("GET /correspondence/{id}", s.signedIn(s.documentPage))
	s.mux.HandleFunc("POST /correspondence/{id}/answer", s.signedIn(s.answerDocument))
}

// The correspondence's entries in the audit log, as people call them.
func init() {
	for code, l := range map[string]actionLabel{
		"correspondence.send":         {"他機関への報告・依頼の送付", "Report or request sent"},
		"correspondence.receive":      {"他機関からの報告・依頼の受信", "Report or request received"},
		"correspondence.acknowledged": {"送付先の受領確認", "Receipt acknowledged by the recipient"},
		"correspondence.delivered":    {"送付（受領確認を検証できず）", "Delivered (acknowledgement not verified)"},
		"correspondence.refused":      {"送付先による受領拒否", "Refused by the recipient"},
	} {
		actionLabels[code] = l
	}
}

// documentRow is a document as the screens show it.
type documentRow struct {
	correspondence.Document
	KindName     string
	StateName    string
	RequestState string // open, answered, overdue; "" for a report
	PeerName     string
	BodyLines    []string
}

// refChoice is something of this node a document may reference.
type refChoice struct{ Value, Label string }

func (s *Server) documentRow(wd words, d correspondence.Document, names map[string]string, now time.Time) documentRow {
	row := documentRow{Document: d, KindName: wd.pick(d.Kind.Japanese(), d.Kind.English()), StateName: wd.pick(d.State.Japanese(), d.State.English()),
		RequestState: d.RequestState(now), PeerName: d.Peer(), BodyLines: strings.Split(d.Body, "\n")}
	if n := names[d.Peer()]; n != "" {
		row.PeerName = fmt.Sprintf("%s（%s）", n, d.Peer())
	}
	return row
}

// bodyNames names the registered peers by code.
func (s *Server) bodyNames(r *http.Request) ([]correspondence.Body, map[string]string, error) {
	bodies, err := correspondence.Bodies(r.Context(), s.node.DB)
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{}
	for _, b := range bodies {
		names[b.Code] = b.Name
	}
	return bodies, names, nil
}

func (s *Server) correspondencePage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderCorrespondence(w, r, c, http.StatusOK, typedForm{})
}

func (s *Server) renderCorrespondence(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, correspondence.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	now := s.node.Now()
	bodies, names, err := s.bodyNames(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	all, err := correspondence.List(ctx, s.node.DB, "")
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var inbox, outbox, overdue []documentRow
	for _, d := range all {
		row := s.documentRow(wd, d, names, now)
		if d.Direction == correspondence.In {
			inbox = append(inbox, row)
		} else {
			outbox = append(outbox, row)
		}
		if d.Overdue(now) {
			overdue = append(overdue, row)
		}
	}
	canSend := s.may(ctx, c, correspondence.ActSend, s.nodeResource())
	var refs []refChoice
	if canSend {
		if refs, err = s.referenceChoices(r, wd); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	var kinds []refChoice
	for _, k := range correspondence.Kinds {
		if k != correspondence.KindAnswer {
			kinds = append(kinds, refChoice{string(k), wd.pick(k.Japanese(), k.English())})
		}
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	today := jptext.Midnight(now)
	s.page(w, r, c, "correspondence", "Correspondence", map[string]any{
		"Typed": typed, "Inbox": inbox, "Outbox": outbox, "Overdue": overdue, "CanSend": canSend, "Bodies": bodies, "Kinds": kinds, "Refs": refs,
		"DueDefault": today.AddDate(0, 0, 14).Format(time.DateOnly), "MaxSubject": correspondence.FieldSubject.Max, "MaxBody": correspondence.FieldBody.Max,
	})
}

// referenceChoices are the node's incidents, system audits and submitted
// usage status reports, which a report may reference.
func (s *Server) referenceChoices(r *http.Request, wd words) ([]refChoice, error) {
	ctx := r.Context()
	var out []refChoice
	ins, err := incident.List(ctx, s.node.DB, true)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		out = append(out, refChoice{fmt.Sprintf("%s:%d", correspondence.RefIncident, in.ID), fmt.Sprintf("%s %d：%s", wd.pick("事案", "Incident"), in.ID, in.Title)})
	}
	plans, err := sysaudit.List(ctx, s.node.DB)
	if err != nil {
		return nil, err
	}
	for _, p := range plans {
		out = append(out, refChoice{fmt.Sprintf("%s:%d", correspondence.RefAudit, p.ID), fmt.Sprintf("%s %d：%s", wd.pick("監査", "Audit"), p.ID, p.Title)})
	}
	approvals, err := approval.List(ctx, s.node.DB)
	if err != nil {
		return nil, err
	}
	for _, a := range approvals {
		for _, rep := range a.Reports {
			if rep.Submitted() {
				out = append(out, refChoice{fmt.Sprintf("%s:%d", correspondence.RefStatusReport, rep.ID),
					fmt.Sprintf("%s %d：%s〜%s", wd.pick("利用状況報告", "Usage status report"), rep.ID, jptext.FormatWareki(rep.From), jptext.FormatWareki(rep.To))})
			}
		}
	}
	return out, nil
}

// correspondenceRefused answers a refused form: the screen (or the
// document's page, for an answer) again with the error in form when err
// is about what the form carried, the error page otherwise.
func (s *Server) correspondenceRefused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.answerRefused(w, r, form, err, func(status int, t typedForm) {
		if form == "answer" {
			s.renderDocument(w, r, c, status, t)
		} else {
			s.renderCorrespondence(w, r, c, status, t)
		}
	})
}

// postedReferences reads the references picked and typed.
func postedReferences(r *http.Request) ([]string, error) {
	return correspondence.ParseReferences(strings.Join(append(r.PostForm["ref"], r.FormValue("refs")), " "))
}

func (s *Server) sendDocument(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/correspondence") {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	refs, err := postedReferences(r)
	var due time.Time
	if err == nil && correspondence.Kind(r.FormValue("kind")).Request() {
		due, err = correspondence.ParseDue(r.FormValue("due"))
	}
	var d correspondence.Document
	if err == nil {
		d, err = s.node.Correspondence.Send(r.Context(), c.who(), correspondence.Draft{Recipient: r.FormValue("to"), Kind: correspondence.Kind(r.FormValue("kind")),
			Subject: r.FormValue("subject"), Body: r.FormValue("body"), References: refs, Due: due})
	}
	if s.correspondenceRefused(w, r, c, "send", err) {
		return
	}
	http.Redirect(w, r, "/correspondence/"+url.PathEscape(d.ID), http.StatusSeeOther)
}

func (s *Server) documentPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderDocument(w, r, c, http.StatusOK, typedForm{})
}

func (s *Server) renderDocument(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, correspondence.ActView, s.nodeResource()) {
		return
	}
	d, err := correspondence.Get(ctx, s.node.DB, r.PathValue("id"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	_, names, err := s.bodyNames(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	wd := s.wordsFor(r)
	row := s.documentRow(wd, d, names, s.node.Now())
	canAnswer := d.Direction == correspondence.In && d.Kind.Request() && !d.Answered() && s.may(ctx, c, correspondence.ActSend, s.nodeResource())
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "document", "CorrespondenceDocument", map[string]any{
		"Typed": typed, "Doc": row, "CanAnswer": canAnswer, "MaxSubject": correspondence.FieldSubject.Max, "MaxBody": correspondence.FieldBody.Max,
		"AnswerSubject": wd.pick("「"+d.Subject+"」への回答", "Answer: "+d.Subject),
	})
}

func (s *Server) answerDocument(w http.ResponseWriter, r *http.Request, c *current) {
	id := r.PathValue("id")
	if !s.recentlyVerified(w, r, c, "/correspondence/"+url.PathEscape(id)) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	refs, err := postedReferences(r)
	var d correspondence.Document
	if err == nil {
		d, err = s.node.Correspondence.Answer(r.Context(), c.who(), id, r.FormValue("subject"), r.FormValue("body"), refs)
	}
	if s.correspondenceRefused(w, r, c, "answer", err) {
		return
	}
	http.Redirect(w, r, "/correspondence/"+url.PathEscape(d.ID), http.StatusSeeOther)
}

// overdueRequests are the requests past their due day, unanswered — those
// this body owes an answer to and those it awaits — for those who see the
// correspondence (the dashboard).
func (s *Server) overdueRequests(ctx context.Context, c *current) ([]correspondence.Document, error) {
	if !s.may(ctx, c, correspondence.ActView, s.nodeResource()) {
		return nil, nil
	}
	return correspondence.Overdue(ctx, s.node.DB, s.node.Now())
}

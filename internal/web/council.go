package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/council"
	"jukinet/internal/detect"
	"jukinet/internal/incident"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// The security council screen (セキュリティ会議, koto-ward:5, 6): the
// directives overdue on the node's clock first; the meetings with their
// attendance against the quorum, agenda, decisions and minutes; the
// directives and requests with their state; and the forms each role may
// use — the chair and the vice chair convene (an extraordinary meeting may
// be called from an open incident or alert: /council?source=incident:N)
// and record a meeting, the chair approves its minutes, the chief
// security officer directs departments and requests other bodies, the
// department's head acknowledges and reports completion. Every change is
// behind the biometric re-check; a refused form is shown again with its
// error tied to its inputs and what was typed kept.
func (s *Server) councilRoutes() {
	s.mux.HandleFunc("GET /council", s.signedIn(s.councilPage))
	s.mux.HandleFunc("POST /council/meetings", s.signedIn(s.conveneMeeting))
	s.mux.HandleFunc("POST /council/attend", s.signedIn(s.attendMeeting))
	s.mux.HandleFunc("POST /council/items", s.signedIn(s.addAgendaItem))
	s.mux.HandleFunc("POST /council/decisions", s.signedIn(s.recordDecision))
	s.mux.HandleFunc("POST /council/minutes", s.signedIn(s.recordMinutes))
	s.mux.HandleFunc("POST /council/approve", s.signedIn(s.approveMinutes))
	s.mux.HandleFunc("POST /council/directives", s.signedIn(s.issueDirective))
	s.mux.HandleFunc("POST /council/directives/ack", s.signedIn(s.acknowledgeDirective))
	s.mux.HandleFunc("POST /council/directives/complete", s.signedIn(s.completeDirective))
	s.mux.HandleFunc("POST /council/directives/answer", s.signedIn(s.answerRequest))
}

// The council's entries in the audit log, as people call them.
func init() {
	for code, l := range map[string]actionLabel{
		"council.convene":         {"セキュリティ会議の招集", "Council meeting convened"},
		"council.attend":          {"会議の出席の記録", "Council attendance recorded"},
		"council.item":            {"会議の議題の追加", "Council agenda item added"},
		"council.decide":          {"会議の議決の記録", "Council decision recorded"},
		"council.minutes":         {"会議の議事録の記録", "Council minutes recorded"},
		"council.approve-minutes": {"会議の議事録の承認", "Council minutes approved"},
		"council.directive":       {"関係部署への指示", "Directive issued"},
		"council.request":         {"他機関への要請", "Request to another body"},
		"council.acknowledge":     {"指示の受領", "Directive acknowledged"},
		"council.complete":        {"指示の完了の報告", "Directive reported complete"},
		"council.answer":          {"要請への回答の記録", "Answer to a request recorded"},
	} {
		actionLabels[code] = l
	}
}

// meetingRow is a meeting as the screen shows it.
type meetingRow struct {
	council.Meeting
	Time string // the time of day it begins (JST)
	// MinutesLines are the minutes' lines, each shown as a paragraph.
	MinutesLines []string
	Quorate      bool
	Begun        bool
	Source       string // what an extraordinary meeting was called about, in words
	Absent       []council.Holder
	Adopted      []council.Decision
	ItemText     map[int64]string
}

// directiveRow is a directive or request as the screen shows it.
type directiveRow struct {
	council.Directive
	To              string
	Overdue         bool
	CanAck, CanDone bool
	CanAnswer       bool
}

// sourceChoice is an open incident or alert an extraordinary meeting may
// be called about.
type sourceChoice struct{ Value, Label string }

func (s *Server) councilPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderCouncil(w, r, c, http.StatusOK, typedForm{})
}

// councilRefused answers a form of the council screen: when err is about
// what the form carried, the screen again with the error in form;
// otherwise the error page. It reports whether it wrote a response.
func (s *Server) councilRefused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.answerRefused(w, r, form, err, func(status int, t typedForm) { s.renderCouncil(w, r, c, status, t) })
}

func (s *Server) renderCouncil(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, council.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	meetings, err := council.List(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	directives, err := council.Directives(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	holders, err := s.node.Council.Holders(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	cc := s.node.Profile.Council
	var rows []meetingRow
	for _, m := range meetings {
		row := meetingRow{Meeting: m, Time: m.At.In(jptext.JST).Format("15:04"), Begun: m.Begun(now), ItemText: map[int64]string{}}
		if m.Minutes != "" {
			row.MinutesLines = strings.Split(m.Minutes, "\n")
		}
		if cc != nil {
			row.Quorate = m.Present() >= cc.QuorumNeeded()
		}
		if kind, id := m.SourceRef(); kind != "" {
			row.Source = fmt.Sprintf("%s %d", refName(wd, kind), id)
		}
		// The attendees in the council's order: chair, vice chair, the
		// members as the profile lists their posts, then staff called.
		slices.SortStableFunc(row.Attendees, func(a, b council.Attendee) int { return seatRank(cc, a.Seat, a.Post) - seatRank(cc, b.Seat, b.Post) })
		for _, h := range holders {
			if !slices.ContainsFunc(m.Attendees, func(a council.Attendee) bool { return a.VID == h.VID }) {
				row.Absent = append(row.Absent, h)
			}
		}
		for _, it := range m.Items {
			row.ItemText[it.ID] = fmt.Sprintf("%d. %s", it.Number, it.Title)
		}
		for _, d := range m.Decisions {
			if d.Adopted {
				row.Adopted = append(row.Adopted, d)
			}
		}
		rows = append(rows, row)
	}
	var drows, overdue []directiveRow
	for _, d := range directives {
		row := directiveRow{Directive: d, To: d.Addressee(s.node.Profile), Overdue: d.Overdue(now)}
		if d.Kind == council.KindDirective {
			row.To = wd.dept(d.Department)
			if !d.Done() {
				may := s.may(ctx, c, council.ActAcknowledge, staff.Resource{Kind: "department", ID: d.Department})
				row.CanAck, row.CanDone = may && !d.Acknowledged(), may && d.Acknowledged()
			}
		} else if !d.Done() {
			row.CanAnswer = s.may(ctx, c, council.ActIssue, s.nodeResource())
		}
		drows = append(drows, row)
		if row.Overdue {
			overdue = append(overdue, row)
		}
	}
	// The longest overdue first, as council.Overdue lists them.
	slices.SortStableFunc(overdue, func(a, b directiveRow) int { return a.Due.Compare(b.Due) })
	canManage := s.may(ctx, c, council.ActManage, s.nodeResource())
	canApprove := s.may(ctx, c, council.ActApproveMinutes, s.nodeResource())
	canIssue := s.may(ctx, c, council.ActIssue, s.nodeResource())
	var sources []sourceChoice
	if canManage {
		ins, err := incident.List(ctx, s.node.DB, false)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		for _, in := range ins {
			sources = append(sources, sourceChoice{fmt.Sprintf("incident:%d", in.ID), fmt.Sprintf("%s %d：%s", refName(wd, council.RefIncident), in.ID, in.Title)})
		}
		als, err := detect.List(ctx, s.node.DB, false)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		for _, a := range als {
			sources = append(sources, sourceChoice{fmt.Sprintf("alert:%d", a.ID), fmt.Sprintf("%s %d：%s（%s）", refName(wd, council.RefAlert), a.ID, a.RuleName(langOf(r)), a.Day)})
		}
	}
	// Agenda items may link the same, and any directive overdue.
	links := append([]sourceChoice(nil), sources...)
	for _, d := range overdue {
		links = append(links, sourceChoice{fmt.Sprintf("directive:%d", d.ID), fmt.Sprintf("%s %d：%s（%s）", refName(wd, council.RefDirective), d.ID, d.Text, d.To)})
	}
	source := r.URL.Query().Get("source")
	if typed.Form == "convene" {
		source = typed.Value("convene", "source", "")
	}
	kind := "regular"
	if source != "" {
		kind = "extraordinary"
	}
	// A refusal of a form the screen no longer shows (a meeting closed in
	// the meantime) is shown above the record instead.
	shown := map[string]bool{"convene": canManage}
	for _, m := range rows {
		open := !m.Closed()
		for _, f := range []string{"attend", "item", "decide", "minutes"} {
			shown[fmt.Sprintf("%s-%d", f, m.ID)] = canManage && open
		}
		shown[fmt.Sprintf("approve-%d", m.ID)] = canApprove && open && m.Minutes != ""
		for _, d := range m.Adopted {
			shown[fmt.Sprintf("issue-%d", d.ID)] = canIssue
		}
	}
	for _, d := range drows {
		shown[fmt.Sprintf("ack-%d", d.ID)], shown[fmt.Sprintf("complete-%d", d.ID)], shown[fmt.Sprintf("answer-%d", d.ID)] = d.CanAck, d.CanDone, d.CanAnswer
	}
	lost := ""
	if typed.Error != "" && !shown[typed.Form] {
		lost = typed.Error
	}
	today := jptext.Midnight(now)
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	data := map[string]any{
		"Typed": typed, "Meetings": rows, "Directives": drows, "Overdue": overdue, "Council": cc, "Holders": holders,
		"CanManage": canManage, "CanApprove": canApprove, "CanIssue": canIssue, "LostError": lost, "Departments": s.node.Profile.Departments, "Bodies": council.Bodies,
		"Sources": sources, "Links": links, "Source": source, "Kind": kind,
		"Today": today.Format(time.DateOnly), "DueDefault": today.AddDate(0, 0, 14).Format(time.DateOnly),
		"MaxPlace": council.FieldPlace.Max, "MaxItem": council.FieldItem.Max, "MaxDecision": council.FieldDecision.Max,
		"MaxMinutes": council.FieldMinutes.Max, "MaxDirective": council.FieldDirective.Max, "MaxBody": council.FieldBody.Max,
		"MaxNote": council.FieldNote.Max, "MaxAnswer": council.FieldAnswer.Max,
	}
	if cc != nil {
		data["Seats"], data["Quorum"] = cc.Seats(), cc.QuorumNeeded()
	}
	s.page(w, r, c, "council", "Council", data)
}

// seatRank orders attendees: the chair, the vice chair, the members in
// the order of the profile's posts, staff called to attend.
func seatRank(cc *profile.Council, seat council.Seat, post string) int {
	switch seat {
	case council.SeatChair:
		return 0
	case council.SeatViceChair:
		return 1
	case council.SeatMember:
		if cc != nil {
			if i := slices.Index(cc.Members, post); i >= 0 {
				return 2 + i
			}
		}
		return 1000
	}
	return 2000
}

// refName names a kind of record an agenda item links.
func refName(wd words, kind string) string {
	switch kind {
	case council.RefIncident:
		return wd.pick("事案", "Incident")
	case council.RefAlert:
		return wd.pick("検知", "Alert")
	case council.RefDirective:
		return wd.pick("指示・要請", "Directive")
	}
	return kind
}

// councilForm reads a posted form behind the re-check; ok is false when a
// response was written.
func (s *Server) councilForm(w http.ResponseWriter, r *http.Request, c *current) bool {
	if !s.recentlyVerified(w, r, c, "/council") {
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return false
	}
	return true
}

// councilNumber reads a positive number a form names.
func councilNumber(r *http.Request, field, ja string) (int64, error) {
	v := strings.TrimSpace(r.FormValue(field))
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.Invalid, field+": give the number", ja+"を選んでください")
	}
	return id, nil
}

// councilCount reads a vote count (empty is 0).
func councilCount(r *http.Request, field, ja string) (int, error) {
	v := strings.TrimSpace(r.FormValue(field))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: a number", field, v), fmt.Sprintf("%s「%s」は数字で入力してください", ja, v))
	}
	return n, nil
}

// councilDone redirects to the screen, at the meeting or directive changed.
func councilDone(w http.ResponseWriter, r *http.Request, anchor string) {
	http.Redirect(w, r, "/council#"+anchor, http.StatusSeeOther)
}

func (s *Server) conveneMeeting(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	at, err := council.ParseAt(r.FormValue("date"), r.FormValue("time"))
	var id int64
	if err == nil {
		id, err = s.node.Council.Convene(r.Context(), c.who(), council.Meeting{Kind: council.Kind(r.FormValue("kind")), At: at,
			Place: r.FormValue("place"), Source: r.FormValue("source")})
	}
	if s.councilRefused(w, r, c, "convene", err) {
		return
	}
	councilDone(w, r, fmt.Sprintf("meeting-%d", id))
}

func (s *Server) attendMeeting(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "meeting", "会議")
	if err == nil {
		err = s.node.Council.Attend(r.Context(), c.who(), id, r.Form["member"], []string{r.FormValue("related")})
	}
	if s.councilRefused(w, r, c, "attend-"+r.FormValue("meeting"), err) {
		return
	}
	councilDone(w, r, "meeting-"+r.FormValue("meeting"))
}

func (s *Server) addAgendaItem(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "meeting", "会議")
	it := council.Item{Title: r.FormValue("title")}
	if ref := r.FormValue("ref"); err == nil && ref != "" {
		kind, n, _ := strings.Cut(ref, ":")
		it.RefKind = kind
		if it.RefID, err = strconv.ParseInt(n, 10, 64); err != nil {
			err = apperr.New(apperr.Invalid, fmt.Sprintf("ref %q: kind:number", ref), "議題に結び付ける記録を選び直してください")
		}
	}
	if err == nil {
		_, err = s.node.Council.AddItem(r.Context(), c.who(), id, it)
	}
	if s.councilRefused(w, r, c, "item-"+r.FormValue("meeting"), err) {
		return
	}
	councilDone(w, r, "meeting-"+r.FormValue("meeting"))
}

func (s *Server) recordDecision(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "meeting", "会議")
	d := council.Decision{Text: r.FormValue("text"), Method: council.Method(r.FormValue("method"))}
	if err == nil && r.FormValue("item") != "" {
		d.Item, err = councilNumber(r, "item", "議題")
	}
	if err == nil && d.Method == council.Vote {
		if d.For, err = councilCount(r, "for", "賛成"); err == nil {
			if d.Against, err = councilCount(r, "against", "反対"); err == nil {
				d.Abstain, err = councilCount(r, "abstain", "棄権")
			}
		}
	}
	if err == nil {
		_, err = s.node.Council.Decide(r.Context(), c.who(), id, d)
	}
	if s.councilRefused(w, r, c, "decide-"+r.FormValue("meeting"), err) {
		return
	}
	councilDone(w, r, "meeting-"+r.FormValue("meeting"))
}

func (s *Server) recordMinutes(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "meeting", "会議")
	if err == nil {
		err = s.node.Council.RecordMinutes(r.Context(), c.who(), id, r.FormValue("minutes"))
	}
	if s.councilRefused(w, r, c, "minutes-"+r.FormValue("meeting"), err) {
		return
	}
	councilDone(w, r, "meeting-"+r.FormValue("meeting"))
}

func (s *Server) approveMinutes(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "meeting", "会議")
	if err == nil {
		err = s.node.Council.ApproveMinutes(r.Context(), c.who(), id, "")
	}
	if s.councilRefused(w, r, c, "approve-"+r.FormValue("meeting"), err) {
		return
	}
	councilDone(w, r, "meeting-"+r.FormValue("meeting"))
}

func (s *Server) issueDirective(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	dec, err := councilNumber(r, "decision", "議決")
	var due time.Time
	if err == nil {
		due, err = jptext.ParseDay("due", "期限", r.FormValue("due"))
	}
	var id int64
	if err == nil {
		d := council.Directive{Decision: dec, Kind: council.DirectiveKind(r.FormValue("kind")), Text: r.FormValue("text"), Due: due}
		if d.Kind == council.KindRequest {
			d.Body = r.FormValue("body")
		} else {
			d.Department = r.FormValue("department")
		}
		id, err = s.node.Council.Issue(r.Context(), c.who(), d)
	}
	if s.councilRefused(w, r, c, "issue-"+r.FormValue("decision"), err) {
		return
	}
	councilDone(w, r, fmt.Sprintf("directive-%d", id))
}

func (s *Server) acknowledgeDirective(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "directive", "指示")
	if err == nil {
		err = s.node.Council.Acknowledge(r.Context(), c.who(), id)
	}
	if s.councilRefused(w, r, c, "ack-"+r.FormValue("directive"), err) {
		return
	}
	councilDone(w, r, "directive-"+r.FormValue("directive"))
}

func (s *Server) completeDirective(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "directive", "指示")
	if err == nil {
		err = s.node.Council.Complete(r.Context(), c.who(), id, r.FormValue("note"))
	}
	if s.councilRefused(w, r, c, "complete-"+r.FormValue("directive"), err) {
		return
	}
	councilDone(w, r, "directive-"+r.FormValue("directive"))
}

func (s *Server) answerRequest(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.councilForm(w, r, c) {
		return
	}
	id, err := councilNumber(r, "directive", "要請")
	if err == nil {
		err = s.node.Council.Answer(r.Context(), c.who(), id, r.FormValue("answer"))
	}
	if s.councilRefused(w, r, c, "answer-"+r.FormValue("directive"), err) {
		return
	}
	councilDone(w, r, "directive-"+r.FormValue("directive"))
}

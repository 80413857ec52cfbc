package web

import (
	"html/template"
	"jukinet/internal/council"
	"net/http"
	"regexp"
	"strconv"

	"jukinet/internal/apperr"
	"jukinet/internal/detect"
	"jukinet/internal/staff"
)

// alertRow is an alert as the alerts screen shows it.
type alertRow struct {
	detect.Alert
	RuleName  string
	Detail    template.HTML // in the page's language, dates kept on one line
	Resident  bool          // the subject is a 住民票コード (else an actor kind:id)
	Immediate bool          // raised by the gate at the moment of the read (支援措置)
}

// alertsPage lists the alerts of improper use (不正利用の検知): the open
// ones, or all with ?all=1, with a form to close each for those who may
// investigate.
func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderAlerts(w, r, c, http.StatusOK, typedForm{})
}

// alertCloseInputs are the inputs of the form that closes an alert.
var alertCloseInputs = formInputs{order: []string{"finding"}}

// renderAlerts shows the alerts screen; typed, when set, is an alert's
// closing form refused, shown again with its error at its input.
func (s *Server) renderAlerts(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, staff.ActViewAlerts, s.nodeResource()) {
		return
	}
	all := r.URL.Query().Get("all") == "1"
	alerts, err := detect.List(ctx, s.node.DB, all)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lang := langOf(r)
	rows := make([]alertRow, len(alerts))
	for i, a := range alerts {
		rows[i] = alertRow{Alert: a, RuleName: a.RuleName(lang), Detail: unbrokenDates(s.wordsFor(r).actionsIn(a.Described(lang))), Resident: detect.AboutResident(a.Rule), Immediate: detect.Immediate(a.Rule)}
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "alerts", "Detection", map[string]any{
		"Typed": typed, "Alerts": rows, "All": all, "CanInvestigate": s.may(ctx, c, staff.ActInvestigate, s.nodeResource()),
		"CanConvene": s.node.Profile.Council != nil && s.may(ctx, c, council.ActManage, s.nodeResource()),
		"MaxFinding": detect.FieldFinding.Max,
	})
}

// closeAlert closes an alert with the investigation's finding.
func (s *Server) closeAlert(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/alerts") {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.problem(w, r, apperr.New(apperr.NotFound, "no such alert", "その検知はありません"))
		return
	}
	err = s.node.Detect.Close(r.Context(), c.who(), id, r.FormValue("finding"))
	if s.refusedAt(w, r, "close-"+strconv.FormatInt(id, 10), alertCloseInputs, err, func(status int, t typedForm) { s.renderAlerts(w, r, c, status, t) }) {
		return
	}
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
}

// timedAction is an access as an alert's detail lists it: the time of day
// and the audit log's action code ("23:40 lookup").
var timedAction = regexp.MustCompile(`\b(\d{2}:\d{2}) ([a-z][a-z0-9-]*(?:\.[a-z][a-z0-9-]*)*)\b`)

// actionsIn names, in the page's language, the actions an alert's detail
// lists by their codes: 「23:40 照会」, "23:40 Lookup". The detection keeps
// the codes; the screen shows the labels.
// datePattern is a date in an alert's detail (和暦 or ISO).
var datePattern = regexp.MustCompile(`(明治|大正|昭和|平成|令和)(元|\d{1,2})年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2}`)

// unbrokenDates escapes an alert's detail and keeps each date in it on one
// line (a detail lists the days of the repeat rule).
func unbrokenDates(detail string) template.HTML {
	return template.HTML(datePattern.ReplaceAllString(template.HTMLEscapeString(detail), `<span class="nowrap">$0</span>`))
}

func (w words) actionsIn(detail string) string {
	return timedAction.ReplaceAllStringFunc(detail, func(m string) string {
		p := timedAction.FindStringSubmatch(m)
		return p[1] + " " + w.action(p[2])
	})
}

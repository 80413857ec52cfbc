package web

import (
	"net/http"
	"strconv"
	"strings"

	"jukinet/internal/apperr"
	"jukinet/internal/council"
	"jukinet/internal/incident"
	"jukinet/internal/staff"
)

// choice is an option of a select: an id and its name in the page's
// language.
type choice struct{ ID, Name string }

func choices(ids []string, lang string) []choice {
	out := make([]choice, len(ids))
	for i, id := range ids {
		out[i] = choice{id, incident.Name(id, lang)}
	}
	return out
}

// incidentMax is the longest value of each text input of the incident
// screens, from the fields' one definition (docs/fields.md).
var incidentMax = map[string]int{
	"title": incident.FieldTitle.Max, "summary": incident.FieldSummary.Max,
	"text": incident.FieldMeasureText.Max, "conclusion": incident.FieldConclusion.Max,
}

// incidentsPage lists the incidents (事案) and offers to open one; with
// ?alert=N the form starts from that detection alert.
func (s *Server) incidentsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderIncidents(w, r, c, http.StatusOK, typedForm{})
}

// incidentInputs are the inputs of the form that opens an incident, in
// the order they appear.
var incidentInputs = []string{"kind", "title", "summary", "alert"}

// renderIncidents shows the incidents screen; typed, when set, is the
// opening form refused, shown again with its error at its input.
func (s *Server) renderIncidents(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, staff.ActViewIncidents, s.nodeResource()) {
		return
	}
	all := r.URL.Query().Get("all") == "1"
	list, err := incident.List(ctx, s.node.DB, all)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lang := langOf(r)
	// No dead end: who may not record an incident is told who may.
	v := s.node.Policy.MayAdminister(ctx, c.who(), staff.ActManageIncidents, s.nodeResource())
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "incidents", "Incidents", map[string]any{
		"Incidents": list, "All": all, "Kinds": choices(incident.Kinds, lang),
		"FromAlert": r.URL.Query().Get("alert"), "CanManage": v.Allow, "WhoMay": s.wordsFor(r).pick(v.Japanese, v.Why),
		"Max": incidentMax, "Typed": typed,
	})
}

// openIncident opens an incident from the form.
func (s *Server) openIncident(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/incidents") {
		return
	}
	in := incident.Incident{Kind: r.FormValue("kind"), Title: r.FormValue("title"), Summary: r.FormValue("summary")}
	var err error
	if a := strings.TrimSpace(r.FormValue("alert")); a != "" {
		if in.AlertID, err = strconv.ParseInt(a, 10, 64); err != nil || in.AlertID <= 0 {
			err = apperr.New(apperr.Invalid, "alert: give the alert's number", "検知の番号を数字で入力してください").At("alert")
		}
	}
	var id int64
	if err == nil {
		id, err = s.node.Incidents.Open(r.Context(), c.who(), in)
	}
	// A field the register refuses: the form again, the error at its
	// input and what was typed kept.
	if s.answerRefused(w, r, "open", err, func(status int, t typedForm) {
		t.Fields = fieldErrorsOf(r, err, nil, incidentInputs)
		s.renderIncidents(w, r, c, status, t)
	}) {
		return
	}
	http.Redirect(w, r, "/incidents/"+strconv.FormatInt(id, 10), http.StatusSeeOther)
}

// incidentPage shows one incident with its measures, and the forms to
// record a measure and to close it.
func (s *Server) incidentPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderIncident(w, r, c, http.StatusOK, typedForm{})
}

// incidentFormInputs are the inputs of an incident's forms, in the order
// they appear.
var incidentFormInputs = map[string]formInputs{
	"measure": {order: []string{"kind", "text"}},
	"close":   {order: []string{"conclusion"}},
}

// renderIncident shows an incident; typed, when set, is its form refused,
// shown again with its error at its input.
func (s *Server) renderIncident(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, staff.ActViewIncidents, s.nodeResource()) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.problem(w, r, apperr.New(apperr.NotFound, "no such incident", "その事案はありません"))
		return
	}
	in, err := incident.Get(ctx, s.node.DB, id)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	lang := langOf(r)
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "incident", "Incident", map[string]any{
		"Typed": typed, "Incident": in, "Measures": choices(incident.Measures, lang), "Missing": choices(in.Missing(), lang),
		"CanManage":  s.may(ctx, c, staff.ActManageIncidents, s.nodeResource()),
		"CanConvene": s.node.Profile.Council != nil && s.may(ctx, c, council.ActManage, s.nodeResource()),
		"Max":        incidentMax,
	})
}

// incidentAction records a measure (POST /incidents/{id}/measures) or
// closes the incident (POST /incidents/{id}/close).
func (s *Server) incidentAction(close bool) func(http.ResponseWriter, *http.Request, *current) {
	return func(w http.ResponseWriter, r *http.Request, c *current) {
		back := "/incidents/" + r.PathValue("id")
		if !s.recentlyVerified(w, r, c, back) {
			return
		}
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		form := "measure"
		switch {
		case err != nil:
			s.problem(w, r, apperr.New(apperr.NotFound, "no such incident", "その事案はありません"))
			return
		case close:
			form = "close"
			err = s.node.Incidents.Close(r.Context(), c.who(), id, r.FormValue("conclusion"))
		default:
			err = s.node.Incidents.Record(r.Context(), c.who(), id, r.FormValue("kind"), r.FormValue("text"))
		}
		if s.refusedAt(w, r, form, incidentFormInputs[form], err, func(status int, t typedForm) { s.renderIncident(w, r, c, status, t) }) {
			return
		}
		http.Redirect(w, r, back, http.StatusSeeOther)
	}
}

package web

import (
	"net/http"
	"strconv"

	"jukinet/internal/detect"
	"jukinet/internal/staff"
)

// alertRow is an alert as the alerts screen shows it.
type alertRow struct {
	detect.Alert
	RuleName string
	Detail   string // in the page's language
	Resident bool   // the subject is a 住民票コード (else an actor kind:id)
}

// alertsPage lists the alerts of improper use (不正利用の検知): the open
// ones, or all with ?all=1, with a form to close each for those who may
// investigate.
func (s *Server) alertsPage(w http.ResponseWriter, r *http.Request, c *current) {
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
		rows[i] = alertRow{Alert: a, RuleName: a.RuleName(lang), Detail: a.Described(lang), Resident: a.Rule == detect.RuleCrowd}
	}
	s.page(w, r, c, "alerts", "Detection", map[string]any{
		"Alerts": rows, "All": all, "CanInvestigate": s.may(ctx, c, staff.ActInvestigate, s.nodeResource()),
		"MaxFinding": detect.FieldFinding.Max,
	})
}

// closeAlert closes an alert with the investigation's finding.
func (s *Server) closeAlert(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/alerts") {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = s.node.Detect.Close(r.Context(), c.who(), id, r.FormValue("finding"))
	}
	if err != nil {
		s.problem(w, r, err)
		return
	}
	http.Redirect(w, r, "/alerts", http.StatusSeeOther)
}

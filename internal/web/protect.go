package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/jptext"
	"jukinet/internal/protect"
)

// The protected residents screen (支援措置): the register, for those the
// policies let see it (view-protected; every viewing is logged by the
// register itself), and the forms that mark and end a support measure
// (mark-protected), behind the biometric re-check.
func (s *Server) protectRoutes() {
	s.mux.HandleFunc("GET /protected", s.signedIn(s.protectedPage))
	s.mux.HandleFunc("POST /protected", s.signedIn(s.markProtected))
	s.mux.HandleFunc("POST /protected/end", s.signedIn(s.endProtected))
}

// protectedRow is a protection as the screen shows it.
type protectedRow struct {
	protect.Protection
	State        string // ProtectedInForce, ProtectedToCome, ProtectedOver (a locale key)
	CategoryName string
	DeptName     string
	Endable      bool
}

func (s *Server) protectedPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderProtected(w, r, c, http.StatusOK, typedForm{})
}

// protectedInputs are the inputs of the screen's forms, in the order
// they appear.
var protectedInputs = map[string]formInputs{
	"mark": {order: []string{"code", "start", "end", "department", "category"}, rename: map[string]string{"resident_code": "code"}},
	"end":  {order: []string{"id", "date"}},
}

// protectedRefused answers a form of the screen refused with err: the
// screen again, the error at its input (refusedAt).
func (s *Server) protectedRefused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.refusedAt(w, r, form, protectedInputs[form], err, func(status int, t typedForm) { s.renderProtected(w, r, c, status, t) })
}

// renderProtected shows the protected residents screen; typed, when set,
// is the form refused, shown again with its error at its input.
func (s *Server) renderProtected(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	everything := r.URL.Query().Get("all") == "1"
	ps, err := s.node.Protect.List(ctx, c.who(), everything)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	wd := s.wordsFor(r)
	now := s.node.Now()
	rows := make([]protectedRow, len(ps))
	for i, p := range ps {
		row := protectedRow{Protection: p, State: "ProtectedInForce", CategoryName: p.CategoryName(langOf(r)), DeptName: p.Department}
		switch {
		case now.Before(p.Start):
			row.State = "ProtectedToCome"
		case !p.InForce(now):
			row.State = "ProtectedOver"
		}
		if _, ok := s.node.Profile.Department(p.Department); ok {
			row.DeptName = wd.dept(p.Department)
		}
		row.Endable = p.Source == "" && p.Ended == nil && now.Before(p.Until())
		rows[i] = row
	}
	type option struct{ ID, Name string }
	var categories, depts []option
	for _, k := range protect.Categories {
		categories = append(categories, option{k.ID, wd.pick(k.Name, k.NameEN)})
	}
	for _, d := range s.node.Profile.Departments {
		depts = append(depts, option{d.ID, wd.dept(d.ID)})
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "protected", "Protected", map[string]any{
		"Typed": typed, "Rows": rows, "Categories": categories, "Departments": depts, "All": everything,
		"Today":     now.In(jptext.JST).Format(time.DateOnly),
		"CanManage": s.may(ctx, c, protect.ActMark, s.nodeResource()),
	})
}

// protectedForm reads a posted form behind the re-check; ok is false when
// a response was written.
func (s *Server) protectedForm(w http.ResponseWriter, r *http.Request, c *current) bool {
	if !s.recentlyVerified(w, r, c, "/protected") {
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return false
	}
	return true
}

// markProtected marks a resident: decided by the policies, logged; bad
// input is refused at its field, with nothing stored.
func (s *Server) markProtected(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.protectedForm(w, r, c) {
		return
	}
	start, err := jptext.ParseDay("start", "支援措置の開始日", r.FormValue("start"))
	var end time.Time
	if err == nil {
		end, err = jptext.ParseDay("end", "支援措置の終了日", r.FormValue("end"))
	}
	if err == nil {
		_, err = s.node.Protect.Mark(r.Context(), c.who(), protect.Mark{ResidentCode: r.FormValue("code"), Start: start, End: end,
			Department: r.FormValue("department"), Category: r.FormValue("category")})
	}
	if s.protectedRefused(w, r, c, "mark", err) {
		return
	}
	http.Redirect(w, r, "/protected", http.StatusSeeOther)
}

// endProtected ends a support measure early, from now (today) or the day
// given: decided by the policies, logged.
func (s *Server) endProtected(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.protectedForm(w, r, c) {
		return
	}
	var day time.Time
	id, err := strconv.ParseInt(strings.TrimSpace(r.FormValue("id")), 10, 64)
	if err != nil || id <= 0 {
		err = apperr.New(apperr.Invalid, "id: choose the support measure to end", "終了する支援措置を選んでください").At("id")
	} else {
		day, err = jptext.ParseDay("date", "終了する日", r.FormValue("date"))
	}
	if err == nil {
		if day.Equal(jptext.Midnight(s.node.Now())) {
			day = s.node.Now()
		}
		err = s.node.Protect.End(r.Context(), c.who(), id, day)
	}
	if s.protectedRefused(w, r, c, "end", err) {
		return
	}
	http.Redirect(w, r, "/protected", http.StatusSeeOther)
}

package web

import (
	"context"
	"net/http"
	"strings"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/training"
)

// The training screen (研修, koto-ward:10, aomori-pref:9): the profile's
// courses, each person's standing, the sessions recorded, and the form to
// record one (behind the biometric re-check).
func (s *Server) trainingRoutes() {
	s.mux.HandleFunc("GET /training", s.signedIn(s.trainingPage))
	s.mux.HandleFunc("POST /training/sessions", s.signedIn(s.recordTraining))
}

// courseRow is a course as the screen shows it.
type courseRow struct {
	ID, Name, NeededBy, Article string
	Months                      int
}

// trainingRow is one person's training as the screen shows it.
type trainingRow struct {
	VerificationID, Name, Department string
	Valid                            bool
	Until                            time.Time // when their training stops counting (zero: a course missing)
	Problem                          string    // which course is missing or expired, and since when
	Courses                          []trainingCell
}

type trainingCell struct {
	Name        string
	Last, Until time.Time
	Valid       bool
}

// trainingRows are the training statuses of everyone who needs a course,
// in the request's language, as of the node's clock.
func (s *Server) trainingRows(ctx context.Context, w words) ([]trainingRow, error) {
	st, err := s.node.Policy.State(ctx)
	if err != nil {
		return nil, err
	}
	facts, err := training.Load(ctx, s.node.DB)
	if err != nil {
		return nil, err
	}
	now := s.node.Now()
	var out []trainingRow
	for _, status := range training.Statuses(s.node.Profile, st, facts) {
		row := trainingRow{VerificationID: status.VerificationID, Name: status.Name, Department: w.dept(status.Department),
			Valid: status.Valid(now), Until: status.Expires()}
		en, ja := training.Explain(status.Standings, now)
		row.Problem = w.pick(ja, en)
		for _, st := range status.Standings {
			row.Courses = append(row.Courses, trainingCell{Name: w.pick(st.Course.Name, st.Course.NameEN), Last: st.Last, Until: st.Until, Valid: st.Valid(now)})
		}
		out = append(out, row)
	}
	return out, nil
}

// expiringRows are the rows valid now that stop counting within
// training.Expiring, and the rows not valid.
func expiringRows(rows []trainingRow, now time.Time) (soon, invalid []trainingRow) {
	for _, r := range rows {
		switch {
		case !r.Valid:
			invalid = append(invalid, r)
		case r.Until.Before(now.Add(training.Expiring)):
			soon = append(soon, r)
		}
	}
	return soon, invalid
}

func (s *Server) trainingPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderTraining(w, r, c, http.StatusOK, typedForm{})
}

// trainingInputs are the inputs of the form that records a session, in
// the order they appear.
var trainingInputs = formInputs{
	order: []string{"course", "date", "trainer", "material", "attendee"},
}

// renderTraining shows the training screen; typed, when set, is the form
// refused, shown again with its error at its input and what was typed.
func (s *Server) renderTraining(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, training.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	rows, err := s.trainingRows(ctx, wd)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	sessions, err := training.Sessions(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	people, err := s.node.Staff.People(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	var active []any
	for _, p := range people {
		if p.Active {
			active = append(active, map[string]string{"VerificationID": p.VerificationID, "Name": p.Name, "Department": wd.dept(p.Department)})
		}
	}
	names := map[string]string{}
	var courses []courseRow
	for _, co := range s.node.Profile.Courses {
		names[co.ID] = wd.pick(co.Name, co.NameEN)
		var who []string
		if co.Operators {
			who = append(who, wd.msg("TrainingOperators"))
		}
		for _, role := range co.Roles {
			who = append(who, wd.role(role))
		}
		courses = append(courses, courseRow{ID: co.ID, Name: names[co.ID], NeededBy: strings.Join(who, "・"), Article: co.Article, Months: co.Months()})
	}
	now := s.node.Now()
	soon, _ := expiringRows(rows, now)
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "training", "Training", map[string]any{
		"Typed":   typed,
		"Courses": courses, "CourseNames": names, "Rows": rows, "Soon": soon, "Sessions": sessions, "People": active,
		"Today": now.In(jptext.JST).Format(time.DateOnly), "MaxTrainer": training.MaxTrainer, "MaxMaterial": training.MaxMaterial,
		"CanManage": s.may(ctx, c, training.ActManage, s.nodeResource()),
	})
}

// recordTraining records a session from the form: decided by the
// policies, logged; bad input is refused naming the field, and nothing is
// stored.
func (s *Server) recordTraining(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.recentlyVerified(w, r, c, "/training") {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	day, err := jptext.ParseDay("date", "実施日", r.FormValue("date"))
	if err == nil {
		_, err = s.node.Training.Record(r.Context(), c.who(), training.Session{Course: r.FormValue("course"), Day: day,
			Trainer: r.FormValue("trainer"), Material: r.FormValue("material"), Attendees: r.Form["attendee"]})
	}
	if s.refusedAt(w, r, "record", trainingInputs, err, func(status int, t typedForm) { s.renderTraining(w, r, c, status, t) }) {
		return
	}
	http.Redirect(w, r, "/training", http.StatusSeeOther)
}

// myTraining is the signed-in person's own training, when they need any.
func (s *Server) myTraining(rows []trainingRow, vid string) *trainingRow {
	for i := range rows {
		if rows[i].VerificationID == vid {
			return &rows[i]
		}
	}
	return nil
}

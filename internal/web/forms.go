package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
)

// The forms register screens (帳票管理簿, koto-ward:14; aomori-pref:4.2,
// 4.3): /forms lists the forms the node produced — filtered by state, kind
// and overdue — with the program changes and the approve button; /forms/{no}
// shows one form with its history and the forms to record its next step
// (store, take out, return, hand over, dispose). Every change is behind the
// biometric re-check; a refused form is shown again with the error in it.
func (s *Server) formRoutes() {
	s.mux.HandleFunc("GET /forms", s.signedIn(s.formsPage))
	s.mux.HandleFunc("GET /forms/{no}", s.signedIn(s.formPage))
	s.mux.HandleFunc("POST /forms/{no}/steps", s.signedIn(s.formStep))
	s.mux.HandleFunc("POST /forms/program-changes/{id}/approve", s.signedIn(s.approveProgramChange))
}

// formsMax is the longest value of each text input of the forms screens,
// from the fields' one definition (docs/fields.md).
var formsMax = map[string]int{
	"place": form.FieldDestination.Max, "done_by": form.FieldDoneBy.Max, "note": form.FieldNote.Max, "approval_note": form.FieldApprovalNote.Max,
}

// formRow is a form as the screens show it.
type formRow struct {
	form.Form
	KindName, StateName string
	Overdue             bool
	Days                int // days past its due day
}

// programRow is a program change as the screen shows it.
type programRow struct {
	form.ProgramChange
	What string
}

func (s *Server) formRowOf(wd words, f form.Form, now time.Time) formRow {
	row := formRow{Form: f, KindName: form.KindName(f.Kind, wd.en), StateName: wd.pick(form.StateJapanese[f.State], string(f.State)), Overdue: f.OverdueAt(now)}
	if row.Overdue {
		row.Days = int(jptext.Midnight(now).Sub(f.Due).Hours() / 24)
	}
	return row
}

func (s *Server) formsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderForms(w, r, c, http.StatusOK, typedForm{})
}

func (s *Server) renderForms(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, form.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	now := s.node.Now()
	q := r.URL.Query()
	filter := form.Filter{State: form.State(q.Get("state")), Kind: form.Kind(q.Get("kind")), Overdue: q.Get("overdue") != "", Now: now}
	// Only the filters the screen offers: anything else lists everything.
	if _, ok := form.StateJapanese[filter.State]; !ok || filter.State == form.Reserved {
		filter.State = ""
	}
	if form.KindName(filter.Kind, false) == string(filter.Kind) {
		filter.Kind = ""
	}
	list, err := form.List(ctx, s.node.DB, filter)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	rows := make([]formRow, len(list))
	for i, f := range list {
		rows[i] = s.formRowOf(wd, f, now)
	}
	overdue, err := form.Overdue(ctx, s.node.DB, now)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	changes, err := form.ProgramChanges(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	progs := make([]programRow, len(changes))
	for i, ch := range changes {
		progs[i] = programRow{ProgramChange: ch}
		var what []string
		for _, x := range ch.What() {
			what = append(what, wd.msg("ProgramWhat_"+x))
		}
		progs[i].What = strings.Join(what, wd.pick("・", ", "))
	}
	var states []choice
	for _, st := range form.States {
		states = append(states, choice{string(st), wd.pick(form.StateJapanese[st], string(st))})
	}
	var kinds []choice
	for _, k := range form.Kinds {
		kinds = append(kinds, choice{string(k.Kind), wd.pick(k.Japanese, k.English)})
	}
	v := s.node.Policy.MayAdminister(ctx, c.who(), form.ActApproveProgram, s.nodeResource())
	data := map[string]any{
		"Typed": typed, "Rows": rows, "Overdue": len(overdue), "Programs": progs, "States": states, "Kinds": kinds, "Filter": filter,
		"Days": s.node.Forms.Days(), "Max": formsMax, "CanApprove": v.Allow, "WhoMayApprove": wd.pick(v.Japanese, v.Why),
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "forms", "Forms", data)
}

// formNumber reads the form's number from the path.
func formNumber(r *http.Request) (form.Number, error) {
	n, err := form.ParseNumber(r.PathValue("no"))
	if err != nil {
		return form.Number{}, apperr.New(apperr.NotFound, "no such form", "その帳票はありません")
	}
	return n, nil
}

func (s *Server) formPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderForm(w, r, c, http.StatusOK, typedForm{})
}

// stepRow is a step as the form's page shows it.
type stepRow struct {
	form.Step
	Name, MethodName string
}

func (s *Server) renderForm(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, form.ActView, s.nodeResource()) {
		return
	}
	n, err := formNumber(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	f, err := form.Get(ctx, s.node.DB, n)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	wd := s.wordsFor(r)
	now := s.node.Now()
	var steps []stepRow
	for _, st := range f.Steps {
		row := stepRow{Step: st, Name: wd.pick(form.StepJapanese[st.Kind], string(st.Kind))}
		if st.Method != "" {
			row.MethodName = form.MethodName(st.Method, wd.en)
		}
		steps = append(steps, row)
	}
	// The steps the form's state allows, those this person may record.
	manage := s.may(ctx, c, form.ActManage, s.nodeResource())
	dispose := s.may(ctx, c, form.ActDispose, s.nodeResource())
	var next []choice
	for _, k := range []form.StepKind{form.StepStore, form.StepTakeOut, form.StepReturn, form.StepHandOver} {
		if manage && form.Allows(f.State, k) {
			next = append(next, choice{string(k), wd.pick(form.StepJapanese[k], string(k))})
		}
	}
	data := map[string]any{
		"Typed": typed, "Form": s.formRowOf(wd, f, now), "Steps": steps, "Next": next, "Max": formsMax,
		"CanDispose":   dispose && form.Allows(f.State, form.StepDispose),
		"Today":        jptext.Midnight(now).Format(time.DateOnly),
		"UntilDefault": jptext.Midnight(now).AddDate(0, 0, 7).Format(time.DateOnly),
	}
	if len(next) == 0 && !manage {
		v := s.node.Policy.MayAdminister(ctx, c.who(), form.ActManage, s.nodeResource())
		data["WhoMay"] = wd.pick(v.Japanese, v.Why)
	}
	if data["CanDispose"].(bool) {
		var methods []choice
		for _, m := range form.Methods {
			methods = append(methods, choice{string(m.Method), wd.pick(m.Japanese, m.English)})
		}
		data["Methods"] = methods
		people, err := s.node.Staff.People(ctx)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var witnesses []choice
		for _, p := range people {
			if p.Active {
				witnesses = append(witnesses, choice{p.VerificationID, p.Name + "（" + p.VerificationID + "）"})
			}
		}
		data["Witnesses"] = witnesses
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "form", "Form", data)
}

// formStep records a step of a form from its page: decided by the
// policies, logged; bad input is shown again in the form, naming the field.
func (s *Server) formStep(w http.ResponseWriter, r *http.Request, c *current) {
	n, err := formNumber(r)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	back := "/forms/" + n.String()
	if !s.recentlyVerified(w, r, c, back) {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	kind := form.StepKind(r.FormValue("step"))
	which := "step"
	if kind == form.StepDispose {
		which = "dispose"
	}
	st := form.Step{Kind: kind, Place: r.FormValue("place"), Note: r.FormValue("note")}
	st.Day, err = jptext.ParseDay("day", "実施日", r.FormValue("day"))
	if err == nil && kind == form.StepTakeOut {
		st.Until, err = jptext.ParseDay("until", "返却予定日", r.FormValue("until"))
	}
	if err == nil && kind == form.StepDispose {
		st.Method, st.DoneBy, st.Witness = form.Method(r.FormValue("method")), r.FormValue("done_by"), r.FormValue("witness")
	}
	if err == nil {
		err = s.node.Forms.Record(r.Context(), c.who(), n, st)
	}
	if s.answerRefused(w, r, which, err, func(status int, t typedForm) { s.renderForm(w, r, c, status, t) }) {
		return
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// approveProgramChange approves a program change with its note.
func (s *Server) approveProgramChange(w http.ResponseWriter, r *http.Request, c *current) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.problem(w, r, apperr.New(apperr.NotFound, "no such program change", "そのプログラム変更はありません"))
		return
	}
	if !s.recentlyVerified(w, r, c, "/forms") {
		return
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return
	}
	err = s.node.Forms.ApproveProgramChange(r.Context(), c.who(), id, r.FormValue("note"))
	if s.answerRefused(w, r, "approve-"+strconv.FormatInt(id, 10), err, func(status int, t typedForm) { s.renderForms(w, r, c, status, t) }) {
		return
	}
	http.Redirect(w, r, "/forms#program-changes", http.StatusSeeOther)
}

// overdueForms are the forms past their due day and the program changes
// not approved, for those who see the register: what the dashboard flags.
func (s *Server) overdueForms(r *http.Request, c *current) ([]form.Form, []form.ProgramChange, error) {
	ctx := r.Context()
	if !s.may(ctx, c, form.ActView, s.nodeResource()) {
		return nil, nil, nil
	}
	forms, err := form.Overdue(ctx, s.node.DB, s.node.Now())
	if err != nil {
		return nil, nil, err
	}
	changes, err := form.Unapproved(ctx, s.node.DB)
	if err != nil {
		return nil, nil, err
	}
	return forms, changes, nil
}

package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/detect"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, c *current) {
	ctx := r.Context()
	now := s.node.Now().In(jptext.JST)
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, jptext.JST)
	// Each operator sees their own accesses, and today's counts, as the
	// audit log recorded them (journaled ones included).
	if err := s.node.Log.Sync(ctx); err != nil {
		s.problem(w, r, err)
		return
	}
	total, denied, err := auditlog.Tally(ctx, s.node.DB, midnight)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	sps, err := s.node.Staff.Suspensions(ctx, true)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	residents, err := s.node.Gate.Count(ctx)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	mine, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{Actor: c.who().Actor.String(), After: -1, Limit: 10, Newest: true})
	if err != nil {
		s.problem(w, r, err)
		return
	}
	// Training (koto-ward:10, aomori-pref:9): the operator's own standing;
	// for those who see the training record, who expires within 30 days
	// and who cannot operate for want of it.
	rows, err := s.trainingRows(ctx, s.wordsFor(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	data := map[string]any{
		"Today": total, "Denied": denied, "Suspensions": describeSuspensions(sps, s.wordsFor(r)), "Affairs": s.myAffairs(c), "Residents": residents,
		"Mine": mine, "MyTraining": s.myTraining(rows, c.person.VerificationID),
	}
	if s.may(ctx, c, training.ActView, s.nodeResource()) {
		data["TrainingSoon"], data["TrainingInvalid"] = expiringRows(rows, s.node.Now())
	}
	if data["Directives"], err = s.overdueDirectives(ctx, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if data["AuditActions"], err = s.overdueAuditActions(ctx, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if data["Disclosures"], err = s.overdueDisclosures(ctx, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if data["OverdueRequests"], err = s.overdueRequests(ctx, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if data["OverdueForms"], data["ProgramChanges"], err = s.overdueForms(r, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if data["Backup"], err = s.backupStatus(r, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if data["Approvals"], err = s.approvalReminders(ctx, c); err != nil {
		s.problem(w, r, err)
		return
	}
	if s.may(ctx, c, staff.ActViewAlerts, s.nodeResource()) {
		// Reads of protected residents (支援措置) are raised at once by the
		// gate: announced apart, above the other alerts.
		if data["ProtectedAlerts"], err = detect.OpenCountOf(ctx, s.node.DB, detect.RuleProtected); err != nil {
			s.problem(w, r, err)
			return
		}
	}
	if data["Charts"], err = s.dashboardCharts(ctx, c, s.wordsFor(r), langOf(r)); err != nil {
		s.problem(w, r, err)
		return
	}
	s.page(w, r, c, "dashboard", "Dashboard", data)
}

// myAffairs are the affairs the operator is designated for.
func (s *Server) myAffairs(c *current) []profile.Affair {
	var out []profile.Affair
	if c.member == nil {
		return nil
	}
	for _, id := range c.member.Affairs {
		if a, ok := s.node.Profile.Affair(id); ok {
			out = append(out, a)
		}
	}
	return out
}

// lookupForm is the clerk's request as entered.
type lookupForm struct {
	Affair, Reason, Case      string
	Mode                      string // code, number, search
	Code, Number              string
	Name, Birth, Sex, Address string
	Kana                      string // the first kana of the reading
}

func formOf(r *http.Request) lookupForm {
	f := lookupForm{Mode: "code"}
	// A posted look-up reads its body only: who is looked up, and why,
	// never travels in a URL (browser history, proxies, server logs).
	value := r.FormValue
	if r.Method == http.MethodPost {
		value = r.PostFormValue
	}
	for k, p := range map[string]*string{"affair": &f.Affair, "reason": &f.Reason, "case": &f.Case, "mode": &f.Mode, "code": &f.Code,
		"number": &f.Number, "name": &f.Name, "birth": &f.Birth, "sex": &f.Sex, "address": &f.Address, "kana": &f.Kana} {
		if v := strings.TrimSpace(value(k)); v != "" {
			*p = v
		}
	}
	return f
}

// fieldMax is the longest value of each text input of the lookup form, from
// the field rules the gate applies (docs/fields.md), so the browser stops
// the clerk where the gate would.
var fieldMax = map[string]int{
	"reason": gate.FieldReason.Max, "case": gate.FieldCaseRef.Max,
	"name": gate.FieldSearchName.Max, "address": gate.FieldSearchAddress.Max, "kana": gate.FieldSearchKana.Max,
}

func (s *Server) lookupPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.page(w, r, c, "lookup", "Lookup", map[string]any{"Affairs": s.myAffairs(c), "Form": formOf(r), "Max": fieldMax, "CaseAffairs": s.caseAffairs(c),
		"ErrorFields": map[string]bool{}, "Errs": fieldErrors{}, "Focus": ""})
}

// caseAffairs are the operator's affairs whose profile requires a case
// reference (case_reference = "required"): the form says so under 案件番号,
// with why a protected resident (支援措置) needs one too.
func (s *Server) caseAffairs(c *current) []string {
	var out []string
	for _, a := range s.myAffairs(c) {
		if a.NeedsCase() {
			out = append(out, a.ID)
		}
	}
	return out
}

// shownRecord is a record with the items its affair may see, and for a
// search match why it matched, in the page's language.
type shownRecord struct {
	gate.Record
	Score   int
	MatchOn string
	Why     string
}

func (s *Server) lookup(w http.ResponseWriter, r *http.Request, c *current) {
	ctx := r.Context()
	f := formOf(r)
	data := map[string]any{"Affairs": s.myAffairs(c), "Form": f, "Max": fieldMax, "CaseAffairs": s.caseAffairs(c), "ErrorFields": map[string]bool{},
		"Errs": fieldErrors{}, "Focus": ""}
	if !s.once.take(r.PostFormValue("once"), s.node.Now()) {
		// A reload of the result: nothing is looked up again unless the
		// clerk sends the form, filled in as it was, once more.
		data["Resubmitted"] = true
		s.page(w, r, c, "lookup", "Lookup", data)
		return
	}
	affair, _ := s.node.Profile.Affair(f.Affair)
	data["Affair"] = affair
	req := gate.Request{Actor: c.who().Actor, Origin: c.who().Origin, Affair: f.Affair, Reason: f.Reason, CaseRef: f.Case}
	req.Actor.Name = c.person.Name
	var results []shownRecord
	var err error
	switch f.Mode {
	case "code", "number":
		k := gate.Key{ResidentCode: f.Code}
		if f.Mode == "number" {
			k = gate.Key{IndividualNumber: f.Number}
		}
		var rec gate.Record
		if rec, err = s.node.Gate.Lookup(ctx, req, k); err == nil {
			results = append(results, shownRecord{Record: rec})
		}
	case "search":
		q := gate.SearchQuery{Name: f.Name, Kana: f.Kana, Address: f.Address}
		if f.Birth != "" {
			q.DateOfBirth, err = jptext.ParseDate(f.Birth)
			if err != nil {
				err = &gate.QueryError{Err: apperr.New(apperr.Invalid, "date of birth: "+err.Error(), "生年月日を 昭和63年8月19日・S63.8.19・1988-08-19 のように入力してください"), Fields: []string{"birth"}}
			}
		}
		switch f.Sex {
		case "1":
			q.Sex = resident.SexMale
		case "2":
			q.Sex = resident.SexFemale
		}
		if err == nil {
			var res gate.SearchResult
			res, err = s.node.Gate.SearchDetailed(ctx, req, q)
			for _, m := range res.Matches {
				why := m.WhyJapanese
				if langOf(r) == "en" {
					why = m.Why
				}
				results = append(results, shownRecord{Record: m.Record, Score: m.Score, MatchOn: m.MatchOn, Why: why})
			}
			data["Total"], data["Ambiguous"] = res.Total, res.Ambiguous
			if res.Withheld > 0 {
				// Residents under a support measure the request may not
				// read: how many, and what it would need.
				data["Withheld"], data["WithheldWhy"] = res.Withheld, message(r, apperr.New(apperr.Forbidden, "residents under a support measure (支援措置) need a case reference, for an affair that may look them up", res.WithheldJapanese))
			}
		}
	default:
		err = apperr.New(apperr.Invalid, "choose how to look up", "照会の方法を選んでください")
	}
	if err != nil {
		w.WriteHeader(statusOf(err))
		data["Error"] = message(r, err)
		errs := lookupFieldErrors(r, f, err)
		focus := errs.first
		// A search refused for its items points at the fields to fill or
		// change (aria-invalid, described by the error).
		var qe *gate.QueryError
		if errors.As(err, &qe) {
			bad := map[string]bool{}
			for _, name := range qe.Fields {
				bad[name] = true
				if focus == "" || slices.Index(lookupInputs, name) < slices.Index(lookupInputs, focus) {
					focus = name
				}
			}
			data["ErrorFields"] = bad
		}
		data["Errs"], data["Focus"] = errs, focus
	} else {
		data["Results"] = results
		data["Searched"] = true
	}
	s.page(w, r, c, "lookup", "Lookup", data)
}

// lookupInputs are the look-up form's inputs in the order they appear.
var lookupInputs = []string{"affair", "reason", "case", "mode", "code", "number", "name", "kana", "birth", "sex", "address"}

// lookupFieldErrors are the messages of a refused look-up by the input
// they are about: the request's fields (利用事務, 理由, 案件番号) and the
// identifier (住民票コード, 個人番号) as the gate names them. An error of
// the identifier that names no input (none given, nobody found) is about
// the identifier's input of the way chosen; the inputs of the other ways,
// not on the screen, are never marked.
func lookupFieldErrors(r *http.Request, f lookupForm, err error) fieldErrors {
	errs := fieldErrorsOf(r, err, map[string]string{"resident_code": "code", "individual_number": "number"}, lookupInputs)
	key := map[string]string{"code": "code", "number": "number"}[f.Mode]
	if !errs.Any() && key != "" {
		switch apperr.CodeOf(err) {
		case apperr.Invalid, apperr.NotFound:
			errs.add(key, message(r, err), lookupInputs)
		}
	}
	for _, hidden := range []string{"code", "number"} {
		if hidden != key && errs.Of(hidden) != "" {
			delete(errs.msgs, hidden)
			if errs.first == hidden {
				errs.first = ""
				for _, in := range lookupInputs {
					if errs.Of(in) != "" {
						errs.first = in
						break
					}
				}
			}
		}
	}
	return errs
}

func statusOf(err error) int {
	switch apperr.CodeOf(err) {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Forbidden, apperr.Suspended:
		return http.StatusForbidden
	case apperr.Conflict:
		return http.StatusConflict
	}
	return http.StatusServiceUnavailable
}

func (s *Server) history(w http.ResponseWriter, r *http.Request, c *current) {
	f := formOf(r)
	affair, _ := s.node.Profile.Affair(f.Affair)
	if !s.once.take(r.PostFormValue("once"), s.node.Now()) {
		s.page(w, r, c, "history", "History", map[string]any{"Form": f, "Affair": affair, "Resubmitted": true})
		return
	}
	req := gate.Request{Actor: c.who().Actor, Origin: c.who().Origin, Affair: f.Affair, Reason: f.Reason, CaseRef: f.Case}
	hist, err := s.node.Gate.History(r.Context(), req, gate.Key{ResidentCode: f.Code})
	data := map[string]any{"Form": f, "Affair": affair}
	if err != nil {
		w.WriteHeader(statusOf(err))
		data["Error"] = message(r, err)
	} else {
		data["Versions"] = hist
	}
	s.page(w, r, c, "history", "History", data)
}

// shownSuspension is a suspension described for a person.
type shownSuspension struct {
	staff.Suspension
	What string
}

func describeSuspensions(sps []staff.Suspension, w words) []shownSuspension {
	out := make([]shownSuspension, len(sps))
	for i, sp := range sps {
		what := string(sp.Scope) + " " + sp.Target
		switch sp.Scope {
		case staff.ScopeNode:
			what = w.msg("ScopeNode")
		case staff.ScopeDepartment:
			what = w.msg("ScopeDepartment") + "：" + w.dept(sp.Target)
		case staff.ScopeTerminal:
			what = w.msg("ScopeTerminal") + "：" + sp.Target
		case staff.ScopeOperator:
			what = w.msg("ScopeOperator") + "：" + sp.Target
		case staff.ScopeAffair:
			what = w.msg("ScopeAffair") + "：" + w.affair(sp.Target)
		case staff.ScopePeer:
			what = w.msg("ScopePeer") + "：" + sp.Target
		case staff.ScopeOutbound:
			what = w.msg("ScopeOutbound")
		}
		out[i] = shownSuspension{Suspension: sp, What: what}
	}
	return out
}

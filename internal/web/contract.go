package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/contract"
	"jukinet/internal/jptext"
)

// The outsourcing screen (委託, aomori-pref:10): the contracts, each with
// its period, the clauses of 10.2 recorded or missing, the vendor's people
// and reports, and the forms that record them (behind the biometric
// re-check).
func (s *Server) contractRoutes() {
	s.mux.HandleFunc("GET /contracts", s.signedIn(s.contractsPage))
	s.mux.HandleFunc("POST /contracts", s.signedIn(s.addContract))
	s.mux.HandleFunc("POST /contracts/clauses", s.signedIn(s.recordClause))
	s.mux.HandleFunc("POST /contracts/people", s.signedIn(s.addContractPerson))
	s.mux.HandleFunc("POST /contracts/reports", s.signedIn(s.recordContractReport))
	s.mux.HandleFunc("POST /contracts/end", s.signedIn(s.endContract))
}

// contractRow is a contract as the screen shows it.
type contractRow struct {
	contract.Contract
	InForce, NotYet bool
	Over            bool // past its last day: nothing left to end
	Clauses         []clauseCell
	Missing         []string
	Reports         []reportCell
}

type clauseCell struct{ Name, Reference string }

type reportCell struct {
	contract.Report
	KindName string
}

func (s *Server) contractsPage(w http.ResponseWriter, r *http.Request, c *current) {
	s.renderContracts(w, r, c, http.StatusOK, typedForm{})
}

// contractInputs are the inputs of each form of the outsourcing screen,
// in the order they appear.
var contractInputs = map[string]formInputs{
	"add":    {order: []string{"vendor", "scope", "start", "end", "survey"}},
	"clause": {order: []string{"contract", "clause", "reference"}},
	"person": {order: []string{"contract", "verification_id"}},
	"end":    {order: []string{"contract", "date", "reason"}},
	"report": {order: []string{"contract", "kind", "date", "summary"}},
}

// contractRefused answers a form of the outsourcing screen refused with
// err: the screen again, the error at its input (refusedAt).
func (s *Server) contractRefused(w http.ResponseWriter, r *http.Request, c *current, form string, err error) bool {
	return s.refusedAt(w, r, form, contractInputs[form], err, func(status int, t typedForm) { s.renderContracts(w, r, c, status, t) })
}

// renderContracts shows the outsourcing screen; typed, when set, is the
// form refused, shown again with its error at its input.
func (s *Server) renderContracts(w http.ResponseWriter, r *http.Request, c *current, status int, typed typedForm) {
	ctx := r.Context()
	if !s.allowed(w, r, c, contract.ActView, s.nodeResource()) {
		return
	}
	wd := s.wordsFor(r)
	all, err := contract.List(ctx, s.node.DB)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	now := s.node.Now()
	var rows []contractRow
	for _, k := range all {
		row := contractRow{Contract: k, InForce: k.InForce(now), NotYet: now.Before(k.Start), Over: !now.Before(k.End.AddDate(0, 0, 1))}
		for _, cl := range contract.Clauses {
			name := wd.pick(cl.Name, cl.NameEN)
			if ref, ok := k.Clauses[cl.ID]; ok {
				row.Clauses = append(row.Clauses, clauseCell{Name: name, Reference: ref})
			} else {
				row.Missing = append(row.Missing, name)
			}
		}
		for _, rep := range k.Reports {
			kind, _ := contract.ReportKindByID(rep.Kind)
			row.Reports = append(row.Reports, reportCell{Report: rep, KindName: wd.pick(kind.Name, kind.NameEN)})
		}
		rows = append(rows, row)
	}
	type option struct{ ID, Name string }
	var clauses, kinds []option
	for _, cl := range contract.Clauses {
		clauses = append(clauses, option{cl.ID, wd.pick(cl.Name, cl.NameEN)})
	}
	for _, k := range contract.ReportKinds {
		kinds = append(kinds, option{k.ID, wd.pick(k.Name, k.NameEN)})
	}
	if status != http.StatusOK {
		w.WriteHeader(status)
	}
	s.page(w, r, c, "contracts", "Contracts", map[string]any{
		"Typed": typed, "Rows": rows, "Clauses": clauses, "Kinds": kinds, "Today": now.In(jptext.JST).Format(time.DateOnly),
		"MaxVendor": contract.FieldVendor.Max, "MaxScope": contract.FieldScope.Max, "MaxSurvey": contract.FieldSurvey.Max,
		"MaxReference": contract.FieldReference.Max, "MaxSummary": contract.FieldSummary.Max, "MaxEndReason": contract.FieldEndReason.Max,
		"Now":       now,
		"CanManage": s.may(ctx, c, contract.ActManage, s.nodeResource()),
	})
}

// contractForm reads a posted form behind the re-check; ok is false when
// a response was written.
func (s *Server) contractForm(w http.ResponseWriter, r *http.Request, c *current) bool {
	if !s.recentlyVerified(w, r, c, "/contracts") {
		return false
	}
	if err := r.ParseForm(); err != nil {
		s.problem(w, r, err)
		return false
	}
	return true
}

// contractID reads the contract number a form names.
func contractID(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.FormValue("contract"))
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, apperr.New(apperr.Invalid, "contract: give the contract's number", "契約番号を選んでください")
	}
	return id, nil
}

// addContract records a contract and the approval of its vendor: decided
// by the policies, logged; bad input is refused at its field.
func (s *Server) addContract(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.contractForm(w, r, c) {
		return
	}
	start, err := jptext.ParseDay("start", "契約期間の開始日", r.FormValue("start"))
	var end time.Time
	if err == nil {
		end, err = jptext.ParseDay("end", "契約期間の終了日", r.FormValue("end"))
	}
	if err == nil {
		_, err = s.node.Contracts.Add(r.Context(), c.who(), contract.Contract{Vendor: r.FormValue("vendor"), Scope: r.FormValue("scope"),
			Start: start, End: end, Survey: r.FormValue("survey")})
	}
	if s.contractRefused(w, r, c, "add", err) {
		return
	}
	http.Redirect(w, r, "/contracts", http.StatusSeeOther)
}

func (s *Server) recordClause(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.contractForm(w, r, c) {
		return
	}
	id, err := contractID(r)
	if err == nil {
		err = s.node.Contracts.Clause(r.Context(), c.who(), id, r.FormValue("clause"), r.FormValue("reference"))
	}
	if s.contractRefused(w, r, c, "clause", err) {
		return
	}
	http.Redirect(w, r, "/contracts", http.StatusSeeOther)
}

func (s *Server) addContractPerson(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.contractForm(w, r, c) {
		return
	}
	id, err := contractID(r)
	if err == nil {
		err = s.node.Contracts.AddPerson(r.Context(), c.who(), id, r.FormValue("verification_id"))
	}
	if s.contractRefused(w, r, c, "person", err) {
		return
	}
	http.Redirect(w, r, "/contracts", http.StatusSeeOther)
}

func (s *Server) recordContractReport(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.contractForm(w, r, c) {
		return
	}
	id, err := contractID(r)
	var day time.Time
	if err == nil {
		day, err = jptext.ParseDay("date", "報告日", r.FormValue("date"))
	}
	if err == nil {
		_, err = s.node.Contracts.Report(r.Context(), c.who(), contract.Report{Contract: id, Kind: r.FormValue("kind"), Day: day, Summary: r.FormValue("summary")})
	}
	if s.contractRefused(w, r, c, "report", err) {
		return
	}
	http.Redirect(w, r, "/contracts", http.StatusSeeOther)
}

// endContract ends a contract early (契約の解除): decided by the policies,
// logged; its people lose access from that minute (today) or from the day
// given.
func (s *Server) endContract(w http.ResponseWriter, r *http.Request, c *current) {
	if !s.contractForm(w, r, c) {
		return
	}
	id, err := contractID(r)
	var day time.Time
	if err == nil {
		day, err = jptext.ParseDay("date", "解除日", r.FormValue("date"))
	}
	if err == nil {
		err = s.node.Contracts.End(r.Context(), c.who(), id, day, r.FormValue("reason"))
	}
	if s.contractRefused(w, r, c, "end", err) {
		return
	}
	http.Redirect(w, r, "/contracts", http.StatusSeeOther)
}

package web

import (
	"encoding/json"
	"net/http"
	"strings"

	"jukinet/internal/apperr"
	"jukinet/internal/contract"
	"jukinet/internal/staff"
)

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.signedIn(s.dashboard))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login/begin", s.loginBegin)
	m.HandleFunc("POST /login/finish", s.loginFinish)
	m.HandleFunc("POST /login/demo", s.loginDemo)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("GET /enrol/{token}", s.enrolPage)
	m.HandleFunc("POST /enrol/{token}/begin", s.enrolBegin)
	m.HandleFunc("POST /enrol/{token}/finish", s.enrolFinish)
	m.HandleFunc("GET /unlock", s.unlockPage)
	m.HandleFunc("POST /unlock/begin", s.unlockBegin)
	m.HandleFunc("POST /unlock/finish", s.unlockFinish)
	m.HandleFunc("GET /lookup", s.signedIn(s.lookupPage))
	m.HandleFunc("POST /lookup", s.signedIn(s.lookup))
	m.HandleFunc("POST /history", s.signedIn(s.history)) // POST: no 住民票コード or reason in a URL; a reload asks before it logs again
	m.HandleFunc("GET /staff", s.signedIn(s.staffPage))
	m.HandleFunc("POST /staff/designate", s.signedIn(s.staffDesignate))
	m.HandleFunc("POST /staff/enrolment-link", s.signedIn(s.staffEnrolmentLink))
	m.HandleFunc("POST /staff/people", s.signedIn(s.staffAddPerson))
	m.HandleFunc("POST /staff/people/{vid}/leave", s.signedIn(s.staffRemovePerson))
	m.HandleFunc("POST /staff/roles", s.signedIn(s.staffAssignRole))
	m.HandleFunc("POST /staff/terminals", s.signedIn(s.staffApproveTerminal))
	m.HandleFunc("POST /staff/terminals/{id}/manager", s.signedIn(s.staffReportManager))
	m.HandleFunc("POST /staff/credentials/{id}/remove", s.signedIn(s.staffRemoveCredential))
	m.HandleFunc("GET /suspensions", s.signedIn(s.suspensionsPage))
	m.HandleFunc("POST /suspensions", s.signedIn(s.suspend))
	m.HandleFunc("POST /suspensions/{id}/lift", s.signedIn(s.lift))
	m.HandleFunc("GET /alerts", s.signedIn(s.alertsPage))
	m.HandleFunc("POST /alerts/{id}/close", s.signedIn(s.closeAlert))
	m.HandleFunc("GET /incidents", s.signedIn(s.incidentsPage))
	m.HandleFunc("POST /incidents", s.signedIn(s.openIncident))
	m.HandleFunc("GET /incidents/{id}", s.signedIn(s.incidentPage))
	m.HandleFunc("POST /incidents/{id}/measures", s.signedIn(s.incidentAction(false)))
	m.HandleFunc("POST /incidents/{id}/close", s.signedIn(s.incidentAction(true)))
	m.HandleFunc("GET /audit", s.signedIn(s.auditPage))
	m.HandleFunc("POST /audit", s.signedIn(s.auditFilter)) // POST: the filter (a 住民票コード) never in a URL
	m.HandleFunc("POST /audit/verify", s.signedIn(s.auditVerify))
	m.HandleFunc("POST /audit/export", s.signedIn(s.auditExport)) // POST: the filter (a 住民票コード) never in a URL
	m.HandleFunc("GET /network", s.signedIn(s.networkPage))
}

// demoPerson is a demo staff member offered for one-click sign-in.
type demoPerson struct {
	staff.Person
	Roles string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Terminal": s.terminal(r), "Expired": r.URL.Query().Get("expired") != ""}
	if s.node.Info.Demo && s.terminal(r) != "" {
		people, err := s.node.Staff.People(r.Context())
		if err != nil {
			s.problem(w, r, err)
			return
		}
		st, err := staff.Load(r.Context(), s.node.DB)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		// A contractor is named with their vendor, so a newcomer sees whom
		// the outsourcing rules concern.
		covers, err := contract.Load(r.Context(), s.node.DB)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		var demo []demoPerson
		for _, p := range people {
			if m := st.People[p.VerificationID]; m != nil {
				roles := rolesOf(m, s.wordsFor(r))
				for _, c := range covers[p.VerificationID] {
					roles += "、" + s.wordsFor(r).msg("ContractorOf") + "（" + c.Vendor + "）"
				}
				demo = append(demo, demoPerson{Person: p, Roles: strings.TrimPrefix(roles, "、")})
			}
		}
		data["DemoPeople"] = demo
	}
	s.render(w, r, "login", "SignIn", data)
}

// rolesOf names a member's roles (and designations) for the sign-in list.
func rolesOf(m *staff.Member, w words) string {
	var names []string
	for _, r := range m.Roles {
		if _, ok := w.p.Role(r); ok {
			names = append(names, w.role(r))
		}
	}
	for r, depts := range m.DepartmentRoles {
		if _, ok := w.p.Role(r); ok {
			names = append(names, w.role(r)+"（"+strings.Join(deptNames(depts, w), "・")+"）")
		}
	}
	if len(m.Affairs) > 0 {
		names = append(names, w.msg("DesignatedOperator"))
	}
	return strings.Join(names, "、")
}

func deptNames(ids []string, w words) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = w.dept(id)
	}
	return out
}

type beginRequest struct {
	VerificationID string `json:"verification_id"`
	Label          string `json:"label"`
}

func (s *Server) loginBegin(w http.ResponseWriter, r *http.Request) {
	var req beginRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil || strings.TrimSpace(req.VerificationID) == "" {
		s.jsonError(w, r, apperr.New(apperr.Invalid, "give the verification id", "照合IDを入力してください"))
		return
	}
	opts, id, err := s.auth.BeginLogin(r.Context(), strings.TrimSpace(req.VerificationID), s.terminal(r))
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "options": json.RawMessage(opts)})
}

func (s *Server) loginFinish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	token, err := s.auth.FinishLogin(r.Context(), r.URL.Query().Get("ceremony"), s.terminal(r), r)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	s.renewSession(w, r, token)
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/"})
}

func (s *Server) loginDemo(w http.ResponseWriter, r *http.Request) {
	token, err := s.auth.DemoLogin(r.Context(), r.FormValue("verification_id"), s.terminal(r))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.renewSession(w, r, token)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// renewSession gives the browser the session a sign-in opened — always a
// new token the server drew, never one the browser brought — and ends the
// session the browser held before on this terminal, if any (logged as a
// sign-out), so no token from before the sign-in stays valid after it.
func (s *Server) renewSession(w http.ResponseWriter, r *http.Request, token string) {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" && c.Value != token {
		if err := s.auth.Logout(r.Context(), c.Value, s.terminal(r)); err != nil {
			s.opt.Logger.Error("end the session held before a sign-in", "err", err)
		}
	}
	s.setSession(w, token)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.auth.Logout(r.Context(), c.Value, s.terminal(r))
	}
	s.clearSession(w)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) enrolPage(w http.ResponseWriter, r *http.Request) {
	vid, err := s.auth.EnrolmentFor(r.Context(), r.PathValue("token"))
	if err != nil {
		s.problem(w, r, err)
		return
	}
	p, err := s.node.Staff.Person(r.Context(), vid)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	s.render(w, r, "enrol", "Enrol", map[string]any{"Person": p, "Token": r.PathValue("token"), "Terminal": s.terminal(r)})
}

func (s *Server) enrolBegin(w http.ResponseWriter, r *http.Request) {
	opts, id, err := s.auth.BeginEnrol(r.Context(), r.PathValue("token"), s.terminal(r))
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "options": json.RawMessage(opts)})
}

func (s *Server) enrolFinish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	q := r.URL.Query()
	if err := s.auth.FinishEnrol(r.Context(), r.PathValue("token"), q.Get("ceremony"), s.terminal(r), q.Get("label"), r); err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": "/login?enrolled=1"})
}

// unlockSession finds the session to unlock, even when locked.
func (s *Server) unlockSession(r *http.Request) (*current, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, apperr.New(apperr.Forbidden, "not signed in", "ログインしてください")
	}
	sess, err := s.auth.Session(r.Context(), c.Value, s.terminal(r))
	if err != nil {
		return nil, err
	}
	return s.currentOf(r.Context(), sess, c.Value)
}

func (s *Server) unlockPage(w http.ResponseWriter, r *http.Request) {
	c, err := s.unlockSession(r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	next := r.URL.Query().Get("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	s.render(w, r, "unlock", "Unlock", map[string]any{"Me": c.person, "Session": c.sess, "Next": next, "Reverify": r.URL.Query().Get("reverify") != ""})
}

func (s *Server) unlockBegin(w http.ResponseWriter, r *http.Request) {
	c, err := s.unlockSession(r)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	if c.sess.Demo {
		writeJSON(w, http.StatusOK, map[string]any{"ceremony": "demo"})
		return
	}
	opts, id, err := s.auth.BeginReverify(r.Context(), c.sess)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "options": json.RawMessage(opts)})
}

func (s *Server) unlockFinish(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	c, err := s.unlockSession(r)
	if err != nil {
		s.jsonError(w, r, err)
		return
	}
	if err := s.auth.FinishReverify(r.Context(), c.token, c.sess, r.URL.Query().Get("ceremony"), r); err != nil {
		s.jsonError(w, r, err)
		return
	}
	next := r.URL.Query().Get("next")
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		next = "/"
	}
	writeJSON(w, http.StatusOK, map[string]string{"redirect": next})
}

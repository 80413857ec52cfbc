package web

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"jukinet/internal/api"
	"jukinet/internal/apperr"
	"jukinet/internal/approval"
	"jukinet/internal/asset"
	"jukinet/internal/auth"
	"jukinet/internal/contract"
	"jukinet/internal/correspondence"
	"jukinet/internal/council"
	"jukinet/internal/detect"
	"jukinet/internal/disclosure"
	"jukinet/internal/facility"
	"jukinet/internal/form"
	"jukinet/internal/node"
	"jukinet/internal/protect"
	"jukinet/internal/staff"
	"jukinet/internal/sysaudit"
	"jukinet/internal/training"
)

// pageNames are the templates under templates/, each with the layout.
var pageNames = []string{"status", "login", "enrol", "unlock", "dashboard", "lookup", "history", "staff", "suspensions", "alerts", "incidents", "incident", "training", "assets", "facilities", "contracts", "approvals", "council", "audits", "sysaudit", "disclosures", "audit", "network", "problem", "correspondence", "document", "forms", "form", "protected", "backups"}

const sessionCookie = "jukinet_session"

// terminal identifies the terminal a request comes from: on a demo node,
// a browser on the server itself is the demo terminal; otherwise a client
// TLS certificate names the terminal (its common name). Anything else is
// no terminal, and cannot sign in.
func (s *Server) terminal(r *http.Request) string {
	if r.TLS != nil && s.terminalCA != nil {
		// Only certificates from this node's own CA name terminals; peer
		// nodes' CAs are trusted for their node certificates only.
		for _, chain := range r.TLS.VerifiedChains {
			cn := chain[0].Subject.CommonName
			if len(chain) > 1 && chain[len(chain)-1].Equal(s.terminalCA) && !strings.HasPrefix(cn, "node:") {
				return cn
			}
		}
	}
	if s.node.Info.Demo && isLoopback(r) {
		return node.DemoTerminal
	}
	return ""
}

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) setSession(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteStrictMode, MaxAge: -1})
}

// current is the signed-in operator of a request.
type current struct {
	sess   *auth.Session
	token  string
	person staff.Person
	member *staff.Member
}

func (c *current) who() staff.Who { return c.sess.Who() }

// signedIn wraps a handler that needs a signed-in, unlocked session: others
// go to the sign-in page, locked sessions to the unlock page.
func (s *Server) signedIn(h func(w http.ResponseWriter, r *http.Request, c *current)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, token, err := s.sessionOf(r)
		if err != nil {
			if token != "" {
				s.clearSession(w)
			}
			to := "/login"
			if errors.Is(err, auth.ErrExpired) {
				to += "?expired=1"
			}
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		}
		if sess.Locked {
			http.Redirect(w, r, "/unlock?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		c, err := s.currentOf(r.Context(), sess, token)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		h(w, r, c)
	}
}

// sessionOf returns the session the request's cookie names on its
// terminal, and the cookie's token ("" without one).
func (s *Server) sessionOf(r *http.Request) (*auth.Session, string, error) {
	token := ""
	if cookie, err := r.Cookie(sessionCookie); err == nil {
		token = cookie.Value
	}
	sess, err := s.auth.Session(r.Context(), token, s.terminal(r))
	return sess, token, err
}

// signedInOrNot returns the request's signed-in, unlocked operator, or nil
// — for a page anyone may see that shows the navigation to those signed in.
func (s *Server) signedInOrNot(r *http.Request) *current {
	sess, token, err := s.sessionOf(r)
	if err != nil || sess.Locked {
		return nil
	}
	c, err := s.currentOf(r.Context(), sess, token)
	if err != nil {
		return nil
	}
	return c
}

func (s *Server) currentOf(ctx context.Context, sess *auth.Session, token string) (*current, error) {
	st, err := s.node.Policy.State(ctx)
	if err != nil {
		return nil, err
	}
	m := st.People[sess.VerificationID]
	if m == nil {
		return nil, auth.ErrExpired
	}
	return &current{sess: sess, token: token, person: m.Person, member: m}, nil
}

// may asks the policies whether the operator may take an administrative
// action (for showing a screen or a form; the change itself asks again).
func (s *Server) may(ctx context.Context, c *current, action string, res staff.Resource) bool {
	return s.node.Policy.MayAdminister(ctx, c.who(), action, res).Allow
}

// recentlyVerified guards a sensitive action: the operator must have
// verified within the profile's window, or is sent to verify again.
func (s *Server) recentlyVerified(w http.ResponseWriter, r *http.Request, c *current, back string) bool {
	if s.auth.RecentlyVerified(c.sess) {
		return true
	}
	http.Redirect(w, r, "/unlock?reverify=1&next="+url.QueryEscape(back), http.StatusSeeOther)
	return false
}

// page renders a page for a signed-in operator, with the navigation they
// may use.
func (s *Server) page(w http.ResponseWriter, r *http.Request, c *current, page, title string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	node := staff.Resource{Kind: "node", ID: string(s.node.Info.LocalGov.Code)}
	data["Me"] = c.person
	data["Session"] = c.sess
	can, err := s.node.Policy.Permissions(r.Context(), c.who(), node, staff.ActViewStaff, staff.ActViewAudit, staff.ActViewSuspensions, staff.ActViewAlerts, staff.ActViewIncidents, training.ActView, contract.ActView)
	if err != nil {
		s.problem(w, r, err)
		return
	}
	data["CanStaff"], data["CanAudit"], data["CanSuspend"] = can[staff.ActViewStaff], can[staff.ActViewAudit], can[staff.ActViewSuspensions]
	data["CanIncidents"] = can[staff.ActViewIncidents]
	data["CanTraining"] = can[training.ActView]
	data["CanAssets"] = s.may(r.Context(), c, asset.ActView, node)
	data["CanFacilities"] = s.may(r.Context(), c, facility.ActView, node)
	data["CanContracts"] = can[contract.ActView]
	data["CanApprovals"] = s.may(r.Context(), c, approval.ActView, node)
	data["CanCouncil"] = s.node.Profile.Council != nil && s.may(r.Context(), c, council.ActView, node)
	data["CanAudits"] = s.may(r.Context(), c, sysaudit.ActView, node)
	data["CanDisclosures"] = s.may(r.Context(), c, disclosure.ActView, s.disclosureDept())
	data["CanCorrespondence"] = s.may(r.Context(), c, correspondence.ActView, node)
	data["CanForms"] = s.may(r.Context(), c, form.ActView, node)
	data["CanProtected"] = s.may(r.Context(), c, protect.ActView, node)
	if data["CanAlerts"] = can[staff.ActViewAlerts]; can[staff.ActViewAlerts] {
		open, err := detect.OpenCount(r.Context(), s.node.DB)
		if err != nil {
			s.problem(w, r, err)
			return
		}
		data["OpenAlerts"] = open
	}
	data["CanLookup"] = c.member != nil && len(c.member.Affairs) > 0
	words := s.wordsFor(r)
	if c.member != nil {
		roles := []string{}
		for _, r := range c.member.Roles {
			if _, ok := s.node.Profile.Role(r); ok {
				roles = append(roles, words.role(r))
			}
		}
		for r := range c.member.DepartmentRoles {
			if _, ok := s.node.Profile.Role(r); ok && !slices.Contains(roles, words.role(r)) {
				roles = append(roles, words.role(r))
			}
		}
		data["MyRoles"] = roles
	}
	if _, ok := s.node.Profile.Department(c.person.Department); ok {
		data["MyDepartment"] = words.dept(c.person.Department)
	}
	s.render(w, r, page, title, data)
}

// problem shows an error page in words a clerk can act on.
func (s *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	switch apperr.CodeOf(err) {
	case apperr.Invalid:
		status = http.StatusBadRequest
	case apperr.NotFound:
		status = http.StatusNotFound
	case apperr.Forbidden, apperr.Suspended:
		status = http.StatusForbidden
	case apperr.Conflict:
		status = http.StatusConflict
	case apperr.Unavailable:
		status = http.StatusServiceUnavailable
	}
	if status == http.StatusInternalServerError {
		s.opt.Logger.Error("request failed", "path", r.URL.Path, "err", err)
	}
	w.WriteHeader(status)
	s.render(w, r, "problem", "Problem", map[string]any{"Message": message(r, err), "Status": status})
}

// message is err in the request's language.
func message(r *http.Request, err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		if langOf(r) == "en" || ae.Japanese == "" {
			return ae.Message
		}
		return ae.Japanese
	}
	if langOf(r) == "en" {
		return "Something went wrong. Tell the system administrator."
	}
	return "処理できませんでした。システム管理者に連絡してください。"
}

// langOf is the request's language without setting the cookie.
func langOf(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); l == "en" || l == "ja" {
		return l
	}
	if c, err := r.Cookie("lang"); err == nil && c.Value == "en" {
		return "en"
	}
	return "ja"
}

// writeJSON answers the WebAuthn script.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusBadRequest
	if c := apperr.CodeOf(err); c == apperr.Forbidden || c == apperr.Suspended {
		status = http.StatusForbidden
	} else if c == apperr.Internal || c == apperr.Unavailable {
		status = http.StatusServiceUnavailable
		s.opt.Logger.Error("sign-in step failed", "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": message(r, err)})
}

// apiCaller identifies a JSON API request by its web session: the operator
// signed in on this terminal (an idle-locked session does not count), and
// whether they verified within the re-check window the forms ask
// (recentlyVerified), which the API's governance changes ask too. Whether
// the policies let them read the audit log is asked by the audit endpoints
// only, when they are called.
func (s *Server) apiCaller(r *http.Request) (api.Caller, bool) {
	cookie, err := r.Cookie(sessionCookie)
	if err != nil {
		return api.Caller{}, false
	}
	sess, err := s.auth.Session(r.Context(), cookie.Value, s.terminal(r))
	if err != nil || sess.Locked {
		return api.Caller{}, false
	}
	who := sess.Who()
	mayAudit := func(ctx context.Context) api.AuditVerdict {
		v := s.node.Policy.MayAdminister(ctx, who, staff.ActViewAudit, staff.Resource{Kind: "node", ID: string(s.node.Info.LocalGov.Code)})
		return api.AuditVerdict{Allow: v.Allow, Policy: v.Policy, Why: v.Why, Japanese: v.Japanese}
	}
	return api.Caller{Actor: who.Actor, Origin: who.Origin, MayAudit: mayAudit, Verified: s.auth.RecentlyVerified(sess)}, true
}

// Package policy decides, with the profile's Cedar policies, whether a
// request may proceed: may this operator, on this terminal, for this
// affair, do this action on the register now? It is the gate's Decider and
// the staff store's Authorizer. Its picture of the staff (designations,
// terminals, approvals, suspensions) is rebuilt whenever the staff data
// changes, in this process or another, so a change takes effect for the
// next request. Suspensions (利用停止) become forbid policies, which beat
// every permit. The training record (internal/training) is part of the
// same snapshot: each person's training_required and trained_until, which
// the profile's trained-operator policies compare with the request's time.
package policy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cedar-policy/cedar-go"
	cast "github.com/cedar-policy/cedar-go/ast"

	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/contract"
	"jukinet/internal/db"
	"jukinet/internal/facility"
	"jukinet/internal/gate"
	"jukinet/internal/profile"
	"jukinet/internal/protect"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

// Entity types of the policies (docs/policy.md).
const (
	typePerson     = cedar.EntityType("Person")
	typeConsole    = cedar.EntityType("Console")
	typeDepartment = cedar.EntityType("Department")
	typeTerminal   = cedar.EntityType("Terminal")
	typeAffair     = cedar.EntityType("Affair")
	typeAction     = cedar.EntityType("Action")
)

// DefaultDeny names the decision when no policy permits a request.
const DefaultDeny = "jukinet:default-deny"

// Engine decides requests. Its methods are safe for concurrent use.
type Engine struct {
	db             *db.DB
	prof           *profile.Profile
	consoleAllowed bool
	// Now is the node's clock, the time of each request (context.now),
	// against which training expiry is decided; nil means time.Now. Set it
	// before the engine decides.
	Now func() time.Time

	mu   sync.Mutex
	snap *snapshot

	whoMu sync.Mutex
	who   map[string]string // action → who may take it, for refusals
}

// snapshot is the staff state turned into Cedar entities and policies.
type snapshot struct {
	version  int64
	state    *staff.State
	training map[string][]training.Standing // people who need a course → where they stand
	entities cedar.EntityMap
	policies *cedar.PolicySet
	// contracts and refresh: see addContracts (internal/contract).
	contracts contract.Facts
	refresh   time.Time
	// approvals and approved: see addApprovals (internal/approval).
	approvals approval.Facts
	approved  map[string][]string // department → affairs in force
	// protected: see addProtections (internal/protect).
	protected map[string]protect.Protection
	// byAction lists the policies each action can be decided by (index.go).
	byAction map[cedar.EntityUID]policyList
}

// authorize decides req with the policies its action can be decided by:
// the decision the whole set gives, for less work.
func (s *snapshot) authorize(req cedar.Request) (cedar.Decision, cedar.Diagnostic) {
	if l, ok := s.byAction[req.Action]; ok {
		return cedar.Authorize(l, s.entities, req)
	}
	return s.policies.IsAuthorized(s.entities, req)
}

// New returns an engine for the profile's policies over the staff data in d.
// consoleAllowed is jukinet.toml's [console] lookup.
func New(ctx context.Context, d *db.DB, prof *profile.Profile, consoleAllowed bool) (*Engine, error) {
	e := &Engine{db: d, prof: prof, consoleAllowed: consoleAllowed}
	if _, err := e.current(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// State returns the staff data as of now (the snapshot decisions use).
func (e *Engine) State(ctx context.Context) (*staff.State, error) {
	s, err := e.current(ctx)
	if err != nil {
		return nil, err
	}
	return s.state, nil
}

// Invalidate makes the next decision reload the staff data.
func (e *Engine) Invalidate() {
	e.mu.Lock()
	e.snap = nil
	e.mu.Unlock()
}

// current returns a snapshot as new as the staff data's version.
func (e *Engine) current(ctx context.Context) (*snapshot, error) {
	v, err := staff.Version(ctx, e.db)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil && e.snap.version == v && (e.snap.refresh.IsZero() || e.now().Before(e.snap.refresh)) {
		return e.snap, nil
	}
	st, err := staff.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	// Read after the staff data: a session recorded in between is newer
	// than st.Version, and the next version check rebuilds again anyway.
	facts, err := training.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	s, err := build(e.prof, st, facts)
	if err != nil {
		return nil, err
	}
	contracts, err := contract.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	s.refresh = addContracts(s, contracts, e.now())
	approvals, err := approval.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	s.refresh = earliest(s.refresh, addApprovals(s, approvals, e.now()))
	rooms, err := facility.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	addFacilities(s, rooms)
	protections, err := protect.Load(ctx, e.db)
	if err != nil {
		return nil, err
	}
	s.refresh = earliest(s.refresh, addProtections(s, protections, e.now()))
	e.snap = s
	return s, nil
}

func uid(t cedar.EntityType, id string) cedar.EntityUID {
	return cedar.NewEntityUID(t, cedar.String(id))
}

// uidSet is a Cedar set of entity references.
func uidSet(t cedar.EntityType, ids []string) cedar.Set {
	vals := make([]cedar.Value, len(ids))
	for i, id := range ids {
		vals[i] = uid(t, id)
	}
	return cedar.NewSet(vals...)
}

// registerActions groups the gate's actions for the policies.
var registerActions = map[string]string{
	"lookup": "read", "search": "read", "history": "read",
	"apply":  "write",
	"import": "bulk", "export": "bulk",
	"notify": "network", "replicate": "network", "check": "network",
	"provide": "read",
}

// adminActions are the staff store's actions.
var adminActions = []string{staff.ActRegisterStaff, staff.ActAssignRole, staff.ActDesignate, staff.ActApproveTerminal,
	staff.ActReportManager, staff.ActEnrol, staff.ActSuspend, staff.ActManagePeers,
	staff.ActViewStaff, staff.ActViewAudit, staff.ActViewSuspensions, staff.ActInvestigate, staff.ActViewAlerts,
	staff.ActManageIncidents, staff.ActViewIncidents, training.ActManage, training.ActView,
	contract.ActManage, contract.ActView}

// build turns the staff state and the training record into entities, and
// the suspensions into forbid policies added to the profile's.
func build(prof *profile.Profile, st *staff.State, facts training.Facts) (*snapshot, error) {
	ents := cedar.EntityMap{}
	add := func(u cedar.EntityUID, attrs cedar.RecordMap, parents ...cedar.EntityUID) {
		ents[u] = cedar.Entity{UID: u, Attributes: cedar.NewRecord(attrs), Parents: cedar.NewEntityUIDSet(parents...)}
	}
	use := uid(typeAction, "use-register")
	add(use, nil)
	for _, g := range []string{"read", "write", "bulk", "network"} {
		add(uid(typeAction, g), nil, use)
	}
	for a, g := range registerActions {
		add(uid(typeAction, a), nil, uid(typeAction, g))
	}
	for _, a := range adminActions {
		add(uid(typeAction, a), nil)
	}
	for _, a := range prof.Affairs {
		add(uid(typeAffair, a.ID), cedar.RecordMap{"changes_register": cedar.Boolean(a.Changes), "protected_residents": cedar.Boolean(a.ProtectedResidents)})
	}
	for _, d := range prof.Departments {
		add(uid(typeDepartment, d.ID), cedar.RecordMap{"approved_affairs": uidSet(typeAffair, nil)})
	}
	for _, t := range st.Terminals {
		add(uid(typeTerminal, t.ID), cedar.RecordMap{"approved": cedar.True, "department": uid(typeDepartment, t.Department), "usage_affairs": uidSet(typeAffair, nil)})
	}
	trained := map[string][]training.Standing{}
	for _, m := range st.People {
		// trained_until is the instant the first required course runs out
		// (0 when one was never attended): the policies compare it with
		// context.now, so this snapshot never outlives anyone's training.
		var until int64
		standings := training.Standings(training.Required(prof, m), facts[m.VerificationID])
		if len(standings) > 0 {
			trained[m.VerificationID] = standings
			if u := training.Until(standings); !u.IsZero() {
				until = u.Unix()
			}
		}
		roles := make([]cedar.Value, len(m.Roles))
		for i, r := range m.Roles {
			roles[i] = cedar.String(r)
		}
		add(uid(typePerson, m.VerificationID), cedar.RecordMap{
			"active":              cedar.Boolean(m.Active),
			"department":          uid(typeDepartment, m.Department),
			"designated_affairs":  uidSet(typeAffair, m.Affairs),
			"roles":               cedar.NewSet(roles...),
			"security_officer_of": uidSet(typeDepartment, m.DepartmentRoles[profile.SecurityOfficer]),
			"section_head_of":     uidSet(typeDepartment, m.DepartmentRoles[profile.SectionHead]),
			"manages_terminals":   uidSet(typeTerminal, m.ManagedTerminals),
			"training_required":   cedar.Boolean(len(standings) > 0),
			"trained_until":       cedar.Long(until),
		})
	}
	for _, r := range st.Recipients {
		add(uid("Recipient", r.ID), cedar.RecordMap{"affairs": uidSet(typeAffair, r.Affairs)})
	}
	ps := cedar.NewPolicySet()
	for id, p := range prof.Policies.All() {
		ps.Add(id, p)
	}
	for _, sp := range st.Suspensions {
		ps.Add(cedar.PolicyID(fmt.Sprintf("suspension:%d", sp.ID)), cedar.NewPolicyFromAST(suspensionPolicy(sp)))
	}
	return &snapshot{version: st.Version, state: st, training: trained, entities: ents, policies: ps, byAction: indexByAction(ps, ents)}, nil
}

// suspensionPolicy is the forbid rule of a suspension: it covers every use
// of the register within its scope (never the administration that lifts it).
func suspensionPolicy(sp staff.Suspension) *cast.Policy {
	p := cast.Forbid().ActionIn(uid(typeAction, "use-register"))
	switch sp.Scope {
	case staff.ScopeDepartment:
		p = p.When(cast.Principal().Is(typePerson).And(cast.Principal().Access("department").Equal(cast.Value(uid(typeDepartment, sp.Target)))))
	case staff.ScopeTerminal:
		p = p.When(cast.Context().Access("terminal").Equal(cast.Value(uid(typeTerminal, sp.Target))))
	case staff.ScopeOperator:
		p = p.PrincipalEq(uid(typePerson, sp.Target))
	case staff.ScopeAffair:
		p = p.ResourceEq(uid(typeAffair, sp.Target))
	case staff.ScopePeer:
		p = p.PrincipalEq(uid("Peer", sp.Target))
	case staff.ScopeOutbound:
		p = cast.Forbid().PrincipalEq(uid("System", "federation")).ActionEq(uid(typeAction, "notify"))
	}
	return p
}

// resolveAffair finds the affair a request names, by id or Japanese name.
func (e *Engine) resolveAffair(s string) (profile.Affair, bool) {
	if a, ok := e.prof.Affair(s); ok {
		return a, true
	}
	for _, a := range e.prof.Affairs {
		if a.Name == s {
			return a, true
		}
	}
	return profile.Affair{}, false
}

// Decide answers the gate: the request's fields are checked first, then
// the policies decide. A denial names the suspension or the missing
// condition in words a clerk understands.
func (e *Engine) Decide(ctx context.Context, q gate.Question) gate.Verdict {
	s, err := e.current(ctx)
	if err != nil {
		return gate.Verdict{Policy: "jukinet:unavailable", Why: "staff data could not be read: " + err.Error(), Japanese: "権限を確認できなかったため、処理を中止しました"}
	}
	return e.decide(s, q)
}

// DecideCurrent decides with the staff data as last loaded, without asking
// the database whether it changed (for benchmarks of the evaluation).
func (e *Engine) DecideCurrent(q gate.Question) gate.Verdict {
	e.mu.Lock()
	s := e.snap
	e.mu.Unlock()
	if s == nil {
		return gate.Verdict{Policy: "jukinet:unavailable", Why: "no staff data loaded", Japanese: "権限を確認できませんでした"}
	}
	return e.decide(s, q)
}

func (e *Engine) decide(s *snapshot, q gate.Question) gate.Verdict {
	if v := (gate.RequiredFields{ConsoleAllowed: e.consoleAllowed}).Decide(context.Background(), q); !v.Allow {
		return v
	}
	group, ok := registerActions[q.Action]
	if !ok {
		return gate.Verdict{Policy: DefaultDeny, Why: "unknown action " + q.Action, Japanese: "この操作は定義されていません"}
	}
	affair, ok := e.resolveAffair(q.Affair)
	if !ok {
		return gate.Verdict{Policy: DefaultDeny, Why: fmt.Sprintf("affair %q is not in profile %s", q.Affair, e.prof.ID),
			Japanese: fmt.Sprintf("利用事務「%s」はこの規程の利用事務にありません", q.Affair)}
	}
	now := e.now()
	req, who := e.request(now, q.Actor, q.Origin, uid(typeAction, q.Action), uid(typeAffair, affair.ID))
	req.Context = registerContext(req.Context, q)
	decision, diag := s.authorize(req)
	if decision == cedar.Allow {
		v := gate.Verdict{Allow: true, Policy: reasons(diag), Why: fmt.Sprintf("%s may %s for %s", who, q.Action, affair.ID), Items: affair.Items}
		if q.Protected {
			v = e.protectedAllowed(v, q, affair)
		}
		return v
	}
	if id := reasons(diag); id != "" {
		if sp, ok := s.suspension(id); ok {
			return gate.Verdict{Policy: id, Suspended: true,
				Why:      fmt.Sprintf("use is suspended (%s): %s", strings.TrimSpace(string(sp.Scope)+" "+sp.Target), sp.Reason),
				Japanese: fmt.Sprintf("利用停止中です（%s）。理由: %s", scopeJapanese(e.prof, sp), sp.Reason)}
		}
		ja, _ := e.forbidden(id)
		if ja == "" {
			ja = "規程により禁止されています（" + id + "）"
		}
		why := "forbidden by " + id
		if en, tja, ok := s.untrained(id, q.Actor.ID, now); ok {
			why, ja = why+": "+en, ja+"。"+tja
		}
		if en, cja, ok := s.uncovered(id, q.Actor.ID, now); ok {
			why, ja = why+": "+en, ja+"。"+cja
		}
		if en, aja, ok := e.outsideApproval(s, id, q.Actor, q.Origin, affair, now); ok {
			why, ja = why+": "+en, ja+"。"+aja
		}
		if en, pja, ok := e.unprotected(id, q, affair); ok {
			why, ja = why+": "+en, ja+"。"+pja
		}
		return gate.Verdict{Policy: id, Why: why, Japanese: ja}
	}
	en, ja := e.explain(s, q.Actor, q.Origin, group, affair)
	return gate.Verdict{Policy: DefaultDeny, Why: en, Japanese: ja}
}

// principal is the entity an actor is in the policies.
func principal(actor auditlog.Actor) cedar.EntityUID {
	switch actor.Kind {
	case auditlog.ActorOperator:
		return uid(typePerson, actor.ID)
	case auditlog.ActorConsole:
		return uid(typeConsole, actor.ID)
	case "":
		return uid("Unknown", actor.ID)
	default:
		return uid(cedar.EntityType(strings.ToUpper(string(actor.Kind[:1]))+string(actor.Kind[1:])), actor.ID)
	}
}

// request builds the Cedar request for an actor at an origin. subjects,
// the people an administrative action concerns, become context.subjects
// (always present, empty when none), which the separation-of-duty forbid
// policies compare with the principal.
func (e *Engine) request(now time.Time, actor auditlog.Actor, origin string, action, resource cedar.EntityUID, subjects ...auditlog.Actor) (cedar.Request, string) {
	terminal := ""
	if kind, id, ok := strings.Cut(origin, ":"); ok && kind == "terminal" {
		terminal = id
	}
	subj := make([]cedar.Value, len(subjects))
	for i, a := range subjects {
		subj[i] = principal(a)
	}
	return cedar.Request{Principal: principal(actor), Action: action, Resource: resource,
		Context: cedar.NewRecord(cedar.RecordMap{
			"terminal":        uid(typeTerminal, terminal),
			"console_allowed": cedar.Boolean(e.consoleAllowed),
			"now":             cedar.Long(now.Unix()),
			"subjects":        cedar.NewSet(subj...),
		})}, actor.String()
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// TrainedOperatorPolicy ends the id of each profile policy that refuses a
// person whose required training is missing or expired (koto-ward:10,
// aomori-pref:9.1; enrolment: koto-ward:13, aomori-pref:4.2). A refusal by
// one names the courses and since when.
const TrainedOperatorPolicy = "/trained-operator"

// untrained explains, when policy id is a trained-operator policy, which
// courses vid lacks at now and since when.
func (s *snapshot) untrained(id, vid string, now time.Time) (en, ja string, ok bool) {
	if !strings.HasSuffix(id, TrainedOperatorPolicy) {
		return "", "", false
	}
	en, ja = training.Explain(s.training[vid], now)
	return en, ja, en != ""
}

// reasons returns the first deciding policy's id.
func reasons(d cedar.Diagnostic) string {
	ids := make([]string, 0, len(d.Reasons))
	for _, r := range d.Reasons {
		ids = append(ids, string(r.PolicyID))
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return ""
	}
	// A suspension is the most useful answer when several forbid.
	for _, id := range ids {
		if strings.HasPrefix(id, "suspension:") {
			return id
		}
	}
	return ids[0]
}

func (s *snapshot) suspension(policyID string) (staff.Suspension, bool) {
	for _, sp := range s.state.Suspensions {
		if fmt.Sprintf("suspension:%d", sp.ID) == policyID {
			return sp, true
		}
	}
	return staff.Suspension{}, false
}

func scopeJapanese(prof *profile.Profile, sp staff.Suspension) string {
	switch sp.Scope {
	case staff.ScopeNode:
		return "システム全体"
	case staff.ScopeDepartment:
		if d, ok := prof.Department(sp.Target); ok {
			return "部署 " + d.Name
		}
	case staff.ScopeTerminal:
		return "端末 " + sp.Target
	case staff.ScopeOperator:
		return "照合ID " + sp.Target
	case staff.ScopeAffair:
		if a, ok := prof.Affair(sp.Target); ok {
			return "利用事務 " + a.Name
		}
	case staff.ScopePeer:
		return "下位ノード " + sp.Target + " からの通知"
	case staff.ScopeOutbound:
		return "上位ノードへの通知"
	}
	return string(sp.Scope) + " " + sp.Target
}

// explain says why no policy permitted a register request, checking the
// conditions of the profile's permit policies in order.
func (e *Engine) explain(s *snapshot, actor auditlog.Actor, origin, group string, affair profile.Affair) (en, ja string) {
	switch actor.Kind {
	case auditlog.ActorConsole:
		return "console use is not permitted", "サーバ上からの利用は許可されていません"
	case auditlog.ActorRecipient:
		if _, ok := s.state.Recipients[actor.ID]; !ok {
			return fmt.Sprintf("%s is not a registered recipient", actor.ID), fmt.Sprintf("%s は登録された提供先ではありません", actor.ID)
		}
		return fmt.Sprintf("recipient %s may not ask for the affair %s", actor.ID, affair.ID), fmt.Sprintf("提供先 %s は利用事務「%s」の提供を受けられません", actor.ID, affair.Name)
	case auditlog.ActorOperator:
	default:
		return fmt.Sprintf("no policy lets a %s use the register", actor.Kind), "この利用者の種別には利用が許可されていません"
	}
	m, ok := s.state.People[actor.ID]
	if !ok {
		return fmt.Sprintf("verification id %s is not an active staff member", actor.ID), fmt.Sprintf("照合ID %s は登録されていないか、異動・退職済みです", actor.ID)
	}
	kind, tid, _ := strings.Cut(origin, ":")
	t, ok := s.state.Terminals[tid]
	switch {
	case kind != "terminal":
		return "the request does not come from a terminal", "端末からの利用ではありません"
	case !ok:
		return fmt.Sprintf("terminal %s is not an approved terminal in use", tid), fmt.Sprintf("端末 %s は設置の承認を受けていないか、廃止されています", tid)
	case t.Department != m.Department:
		return fmt.Sprintf("terminal %s belongs to %s, not to the operator's department %s", tid, t.Department, m.Department),
			fmt.Sprintf("端末 %s は%sの端末です（%s の所属: %s）", tid, e.deptName(t.Department), actor.ID, e.deptName(m.Department))
	case !slices.Contains(m.Affairs, affair.ID):
		return fmt.Sprintf("%s is not designated for the affair %s", actor.ID, affair.ID),
			fmt.Sprintf("%s は利用事務「%s」の取扱者に指定されていません", actor.ID, affair.Name)
	case !slices.Contains(s.approved[m.Department], affair.ID):
		return fmt.Sprintf("department %s has no approval to use the affair %s", m.Department, affair.ID),
			fmt.Sprintf("%sは利用事務「%s」の利用承認を受けていません", e.deptName(m.Department), affair.Name)
	case group == "write" && !affair.Changes:
		return fmt.Sprintf("the affair %s does not change the register", affair.ID), fmt.Sprintf("利用事務「%s」では記録を変更できません", affair.Name)
	case group == "bulk":
		return "bulk import and export are for the console", "一括の取込み・書出しはサーバ上からのみ行えます"
	}
	return "no policy permits this request", "この利用を許可する規定がありません"
}

func (e *Engine) deptName(id string) string {
	if d, ok := e.prof.Department(id); ok {
		return d.Name
	}
	return id
}

// actionJapanese names the administrative actions for messages.
var actionJapanese = map[string]string{
	staff.ActRegisterStaff: "職員の登録", staff.ActAssignRole: "役割の割当て", staff.ActDesignate: "取扱者の指定",
	staff.ActApproveTerminal: "端末の設置承認", staff.ActReportManager: "端末機管理者の報告",
	staff.ActEnrol: "照合情報の登録", staff.ActSuspend: "利用停止", staff.ActManagePeers: "接続先ノードの管理",
	staff.ActViewStaff: "職員・端末の閲覧", staff.ActViewAudit: "監査ログの閲覧", staff.ActViewSuspensions: "利用停止の管理",
	staff.ActInvestigate: "不正利用の検知への対応", staff.ActViewAlerts: "不正利用の検知の閲覧",
	staff.ActManageIncidents: "事案の記録", staff.ActViewIncidents: "事案の閲覧",
	staff.ActPruneAudit: "監査ログの保存期間を過ぎた記録の削除", staff.ActBackUp: "バックアップの取得",
	training.ActManage: "研修の記録", training.ActView: "研修の記録の閲覧",
	contract.ActManage: "委託契約の記録", contract.ActView: "委託契約の閲覧",
}

// MayAdminister answers the staff store: may who take this action on r?
func (e *Engine) MayAdminister(ctx context.Context, who staff.Who, action string, r staff.Resource) staff.Verdict {
	s, err := e.current(ctx)
	if err != nil {
		return staff.Verdict{Policy: "jukinet:unavailable", Why: "staff data could not be read: " + err.Error(), Japanese: "権限を確認できなかったため、処理を中止しました"}
	}
	return e.mayAdminister(s, who, action, r)
}

// Permissions answers several administrative questions on one snapshot of
// the staff data (for a screen's menu): action → allowed.
func (e *Engine) Permissions(ctx context.Context, who staff.Who, r staff.Resource, actions ...string) (map[string]bool, error) {
	s, err := e.current(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(actions))
	for _, a := range actions {
		out[a] = e.mayAdminister(s, who, a, r).Allow
	}
	return out, nil
}

func (e *Engine) mayAdminister(s *snapshot, who staff.Who, action string, r staff.Resource) staff.Verdict {
	var resource cedar.EntityUID
	switch r.Kind {
	case "department":
		resource = uid(typeDepartment, r.ID)
	case "person":
		resource = uid(typePerson, r.ID)
	case "terminal":
		resource = uid(typeTerminal, r.ID)
	case "credential":
		// A credential already registered (removing it): not the person,
		// so its removal is never refused for the person's training.
		resource = uid("Credential", r.ID)
	default:
		resource = uid("Node", r.ID)
	}
	now := e.now()
	req, name := e.request(now, who.Actor, who.Origin, uid(typeAction, action), resource, r.Subjects...)
	decision, diag := s.authorize(req)
	if decision == cedar.Allow {
		return staff.Verdict{Allow: true, Policy: reasons(diag), Why: fmt.Sprintf("%s may %s on %s:%s", name, action, r.Kind, r.ID)}
	}
	id := reasons(diag)
	if id == "" {
		id = DefaultDeny
	}
	if ja, ok := e.forbidden(id); ok {
		// A forbid policy (separation of duties, a suspension) decided: say
		// which rule, not who holds the permission the actor holds too.
		why := fmt.Sprintf("%s may not %s on %s:%s: forbidden by %s", name, action, r.Kind, r.ID, id)
		if en, tja, ok := s.untrained(id, r.ID, now); ok {
			why, ja = why+": "+en, ja+"。"+tja
		}
		if en, cja, ok := s.uncovered(id, who.Actor.ID, now); ok {
			why, ja = why+": "+en, ja+"。"+cja
		}
		return staff.Verdict{Policy: id, Why: why, Japanese: ja}
	}
	return staff.Verdict{Policy: id, Why: fmt.Sprintf("%s may not %s on %s:%s", name, action, r.Kind, r.ID),
		Japanese: fmt.Sprintf("%s を行う権限がありません（%s）", actionJapanese[action], e.whoMay(action))}
}

// forbidden returns, when id is one of the profile's forbid policies, the
// message its @ja annotation gives a refused clerk (or a general one).
func (e *Engine) forbidden(id string) (string, bool) {
	p := e.prof.Policies.Get(cedar.PolicyID(id))
	if p == nil || p.Effect() != cedar.Forbid {
		return "", false
	}
	if ja := string(p.Annotations()["ja"]); ja != "" {
		return ja, true
	}
	return "規程により禁止されています（" + id + "）", true
}

// whoMay names, for a refusal, the roles the profile's policies give an
// action to (worked out once per action).
func (e *Engine) whoMay(action string) string {
	e.whoMu.Lock()
	defer e.whoMu.Unlock()
	if e.who == nil {
		e.who = map[string]string{}
	}
	if w, ok := e.who[action]; ok {
		return w
	}
	w := e.rolesFor(action)
	e.who[action] = w
	return w
}

func (e *Engine) rolesFor(action string) string {
	var names []string
	for _, p := range e.prof.Policies.All() {
		src := string(p.MarshalCedar())
		if p.Effect() != cedar.Permit || !strings.Contains(src, `Action::"`+action+`"`) {
			continue
		}
		for _, r := range e.prof.Roles {
			if strings.Contains(src, `"`+string(r.ID)+`"`) && !slices.Contains(names, r.Name) {
				names = append(names, r.Name)
			}
		}
		if strings.Contains(src, "security_officer_of") && !slices.Contains(names, "所属部署のセキュリティ責任者") {
			names = append(names, "所属部署のセキュリティ責任者")
		}
		if strings.Contains(src, "section_head_of") && !slices.Contains(names, "所属の課長等") {
			names = append(names, "所属の課長等")
		}
	}
	if len(names) == 0 {
		return "この規程では誰にも認められていません"
	}
	return strings.Join(names, "・") + "が行います"
}

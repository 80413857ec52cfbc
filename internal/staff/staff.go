// Package staff keeps the people who work with the register and what they
// may do: positions and roles, terminal operators (取扱者) and their
// affairs (koto-ward:12.1), terminals and their managers (aomori-pref:6),
// departments' approved affairs (aomori-pref:7), the enrolment register of
// verification credentials (照合情報認証管理簿, koto-ward:13) and
// suspensions (利用停止, koto-ward:7.1).
//
// Every change is asked of an Authorizer first and is made in the
// transaction of its audit entry; refused and failed changes are logged too.
package staff

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
)

// Who is the party making a change, and from where.
type Who struct {
	Actor  auditlog.Actor
	Origin string // terminal:ID, host:NAME …
}

// Resource is what an administrative action is about.
type Resource struct {
	Kind string // department, person, terminal, node
	ID   string
	// Subjects are the people the action concerns: the person designated
	// or given a role, the people whose acts an alert is about. The
	// policies forbid acting on oneself (separation of duties,
	// docs/policy.md).
	Subjects []auditlog.Actor
}

// Verdict is an Authorizer's answer.
type Verdict struct {
	Allow    bool
	Policy   string // the rule that decided
	Why      string // English
	Japanese string // shown to the user when refused
}

// Authorizer decides whether who may take an administrative action on a
// resource. The policy engine implements it, following the profile's roles.
type Authorizer interface {
	MayAdminister(ctx context.Context, who Who, action string, r Resource) Verdict
}

// The administrative actions, as the policies name them.
const (
	ActRegisterStaff   = "register-staff"
	ActAssignRole      = "assign-role"
	ActDesignate       = "designate-operator"
	ActApproveTerminal = "approve-terminal"
	ActReportManager   = "report-terminal-manager"
	ActEnrol           = "enrol-credential"
	ActSuspend         = "suspend"
	ActManagePeers     = "manage-peers"     // add peer nodes, resume a stopped source
	ActInvestigate     = "investigate"      // close an alert of improper use with a finding
	ActManageIncidents = "manage-incidents" // open incidents, record measures, close them
	ActPruneAudit      = "prune-audit"      // prune audit entries past retention (console only)
	ActBackUp          = "back-up"          // take a backup of the node (console, or the node's schedule)
	// Screens: who may see them (asked, not logged).
	ActViewStaff       = "view-staff"
	ActViewAudit       = "view-audit"
	ActViewSuspensions = "view-suspensions"
	ActViewAlerts      = "view-alerts"
	ActViewIncidents   = "view-incidents"
)

// Store keeps staff data in the node's database.
type Store struct {
	db      *db.DB
	log     *auditlog.Log
	authz   Authorizer
	prof    *profile.Profile
	node    string
	mu      sync.Mutex
	changed []func()
}

// New returns a Store. authz may be set later with SetAuthorizer (the
// policy engine needs the store to exist first).
func New(d *db.DB, log *auditlog.Log, prof *profile.Profile, node string, authz Authorizer) *Store {
	return &Store{db: d, log: log, prof: prof, node: node, authz: authz}
}

// SetAuthorizer sets the Authorizer every change is asked of.
func (s *Store) SetAuthorizer(a Authorizer) { s.authz = a }

// OnChange registers fn to run after every committed change.
func (s *Store) OnChange(fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changed = append(s.changed, fn)
}

// Profile returns the profile the store checks against.
func (s *Store) Profile() *profile.Profile { return s.prof }

// idPattern is what verification and terminal ids may hold.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// WellFormedID reports whether id may be a verification or terminal id:
// what does not match can never be registered, so need not be looked up.
func WellFormedID(id string) bool { return idPattern.MatchString(id) }

func checkID(field, what, whatJA, id string) error {
	if !idPattern.MatchString(id) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", what, id),
			fmt.Sprintf("%s「%s」は英数字と . _ - の64文字以内で入力してください", whatJA, id)).At(field)
	}
	return nil
}

// change is one administrative change: asked of the Authorizer, then done
// by work in the transaction of its audit entry.
type change struct {
	who      Who
	action   string
	resource Resource
	detail   string
	work     func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error
}

func (s *Store) do(ctx context.Context, c change) error {
	e := auditlog.Entry{
		Node: s.node, Actor: c.who.Actor, Origin: c.who.Origin, Action: "staff." + c.action,
		Query: c.resource.Kind + ":" + c.resource.ID, Detail: c.detail,
	}
	if err := Administer(ctx, s.log, s.authz, c.who, c.action, c.resource, e, s.bumping(c.work)); err != nil {
		return err
	}
	s.notify()
	return nil
}

// commit makes a decided change: work runs in the transaction of entry e,
// which also bumps the staff version; the engines are told afterwards.
func (s *Store) commit(ctx context.Context, e auditlog.Entry, work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	if err := appendWork(ctx, s.log, e, s.bumping(work)); err != nil {
		return err
	}
	s.notify()
	return nil
}

// bumping is work that also bumps the staff version, which tells the
// policy engine its entities changed.
func (s *Store) bumping(work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
	return func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
		if err := work(ctx, tx, seq, now); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE staff_state SET version = version + 1 WHERE id = 1`)
		return err
	}
}

// Administer asks authz whether who may take action on r, and logs the
// answer as entry e (its decision, policy and outcome filled in here). When
// allowed, work runs in the transaction of that entry, so the change and
// its record commit together or not at all. A refusal, bad input found by
// work, or a log that cannot be written come back as apperr errors with
// Japanese messages.
func Administer(ctx context.Context, log *auditlog.Log, authz Authorizer, who Who, action string, r Resource, e auditlog.Entry,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	if authz == nil {
		return apperr.New(apperr.Unavailable, "no authorizer: changes are refused", "権限の判定ができないため、変更できません")
	}
	v, err := decide(ctx, log, authz, who, action, r, e)
	if err != nil {
		return err
	}
	e.Decision, e.Outcome, e.Policy, e.Why, e.WhyJapanese = auditlog.Allow, auditlog.OutcomeOK, v.Policy, v.Why, v.Japanese
	return appendWork(ctx, log, e, work)
}

// decide asks authz whether who may take action on r: allowed, it returns
// the verdict; refused, it logs the refusal as entry e and returns it as an
// apperr.Forbidden error. A change that takes a second action in the
// transaction of the first (a terminal approved with its manager) asks
// for the second this way before it is made.
func decide(ctx context.Context, log *auditlog.Log, authz Authorizer, who Who, action string, r Resource, e auditlog.Entry) (Verdict, error) {
	v := authz.MayAdminister(ctx, who, action, r)
	if v.Allow {
		return v, nil
	}
	e.Decision, e.Outcome, e.Policy, e.Why, e.WhyJapanese = auditlog.Deny, auditlog.OutcomeDenied, v.Policy, v.Why, v.Japanese
	if _, err := log.Append(ctx, e); err != nil {
		return v, logFailed(err)
	}
	return v, apperr.New(apperr.Forbidden, "not allowed: "+v.Why, v.Japanese)
}

// appendWork appends e with work run in its transaction, and turns what
// went wrong into an apperr error.
func appendWork(ctx context.Context, log *auditlog.Log, e auditlog.Entry, work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	_, workErr, err := log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		return work(ctx, tx, seq, e.Time)
	})
	if err != nil {
		return logFailed(err)
	}
	if workErr != nil {
		var ae *apperr.Error
		if errors.As(workErr, &ae) {
			return ae
		}
		return apperr.Wrap(apperr.Internal, workErr, e.Action, "変更を保存できませんでした")
	}
	return nil
}

// asNode is an entry of a change the node makes itself, allowed by the
// bootstrap rule (the first system administrator and their credential).
func (s *Store) asNode(action, query, detail, why string) auditlog.Entry {
	return auditlog.Entry{
		Node: s.node, Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "node"}, Origin: "host:init",
		Action: "staff." + action, Query: query, Detail: detail,
		Decision: auditlog.Allow, Policy: "jukinet:bootstrap", Why: why, Outcome: auditlog.OutcomeOK,
	}
}

func (s *Store) notify() {
	s.mu.Lock()
	fns := append([]func(){}, s.changed...)
	s.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func logFailed(err error) error {
	return apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this change, so it was not made",
		"アクセス記録（監査ログ）を書き込めなかったため、変更を行いませんでした。")
}

// Version returns the staff state's version, bumped by every change.
func Version(ctx context.Context, q db.Querier) (int64, error) {
	var v int64
	if err := q.QueryRow(ctx, `SELECT version FROM staff_state WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("read staff version: %w", err)
	}
	return v, nil
}

// operator is the subject of a change about the staff member vid.
func operator(vid string) []auditlog.Actor {
	return []auditlog.Actor{{Kind: auditlog.ActorOperator, ID: vid}}
}

// Heads are the heads of a department who apply for its terminals and
// its uses of affairs (koto-ward:12.2, aomori-pref:6.1, 7.1): its security
// officers and section heads in post. An approval concerns them, so none
// of them may give it (separation of duties).
func Heads(ctx context.Context, q db.Querier, department string) ([]auditlog.Actor, error) {
	rows, err := q.Query(ctx, `SELECT DISTINCT p.verification_id FROM staff_role r JOIN staff_person p ON p.id = r.person_id
		WHERE r.department_id = ? AND r.role IN (?, ?) AND r.ended_at IS NULL AND p.active = ? ORDER BY p.verification_id`,
		department, string(profile.SecurityOfficer), string(profile.SectionHead), true)
	if err != nil {
		return nil, fmt.Errorf("find the heads of department %s: %w", department, err)
	}
	defer rows.Close()
	var out []auditlog.Actor
	for rows.Next() {
		var vid string
		if err := rows.Scan(&vid); err != nil {
			return nil, fmt.Errorf("find the heads of department %s: %w", department, err)
		}
		out = append(out, auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid})
	}
	return out, rows.Err()
}

// personID finds an active person by verification id. Its refusal names
// no input: the caller says which (apperr.About).
func personID(ctx context.Context, q db.Querier, vid string) (int64, error) {
	var id int64
	var active bool
	err := q.QueryRow(ctx, `SELECT id, active FROM staff_person WHERE verification_id = ?`, vid).Scan(&id, &active)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, apperr.New(apperr.NotFound, fmt.Sprintf("no staff member has verification id %s", vid), fmt.Sprintf("照合ID %s の職員は登録されていません", vid))
	}
	if err != nil {
		return 0, fmt.Errorf("find staff member %s: %w", vid, err)
	}
	if !active {
		return 0, apperr.New(apperr.Conflict, fmt.Sprintf("staff member %s has left", vid), fmt.Sprintf("照合ID %s の職員は異動・退職済みです", vid))
	}
	return id, nil
}

// What an id given for a department or an affair may hold as text
// (docs/fields.md), where the change does not need it to be in the
// profile (ending what a profile no longer lists), yet logs it.
var (
	FieldDepartmentID = resident.Field{Name: "department", Japanese: "部署", Class: resident.ClassText, Max: 64}
	FieldAffairID     = resident.Field{Name: "affair", Japanese: "利用事務", Class: resident.ClassText, Max: 64}
)

func (s *Store) checkDepartment(id string) error {
	if _, ok := s.prof.Department(id); !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("unknown department %q in profile %s", id, s.prof.ID), fmt.Sprintf("部署「%s」はありません", id)).At("department")
	}
	return nil
}

func (s *Store) checkAffair(id string) error {
	if _, ok := s.prof.Affair(id); !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("unknown affair %q in profile %s", id, s.prof.ID), fmt.Sprintf("利用事務「%s」はありません", id)).At("affair")
	}
	return nil
}

// required refuses the fields (name, value) left empty: the error is about
// each of them (apperr.FieldsOf).
func required(fields ...[2]string) error {
	var missing []string
	for _, f := range fields {
		if strings.TrimSpace(f[1]) == "" {
			missing = append(missing, f[0])
		}
	}
	if len(missing) > 0 {
		err := apperr.New(apperr.Invalid, "missing: "+strings.Join(missing, ", "), "入力されていない項目があります: "+strings.Join(missing, "、"))
		for _, name := range missing {
			err.At(name)
		}
		return err
	}
	return nil
}

func insertID(ctx context.Context, tx *db.Tx, query string, args ...any) (int64, error) {
	var id int64
	if err := tx.QueryRow(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, err
	}
	return id, nil
}

// refuseIfAny returns conflict when query (a COUNT) finds any row: a
// change that would duplicate what exists.
func refuseIfAny(ctx context.Context, tx *db.Tx, conflict error, query string, args ...any) error {
	var n int
	if err := tx.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		return fmt.Errorf("check for duplicates: %w", err)
	}
	if n > 0 {
		return conflict
	}
	return nil
}

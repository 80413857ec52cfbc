// Package approval keeps the record of usage approvals (利用の承認,
// aomori-pref:7; koto-ward:12.1): a department's application to start using
// an affair — what the work is, why, the terminals and the staff who will
// handle the information, the period — the system administrator's approval
// or refusal with its reason, the department's notice that the use ended
// (7.2), and the status reports the system administrator asks for (7.3).
//
// The record is the control. An approval in force (approved, within its
// period, not ended) is what lets a department's staff use an affair, and
// only on the terminals it names: the policy engine keeps those facts in
// its snapshot (Load) and the profile's within-usage-approval policies
// refuse every use outside them, naming the article. Approving an
// application designates its staff for the affair; ending it ends the
// designations.
//
// Every change is decided by the profile's policies (apply-usage,
// approve-usage, end-usage) and made in the transaction of its audit entry,
// which also bumps the staff version so every policy engine rebuilds.
package approval

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActApply applies for a use, withdraws an application and submits a
	// status report: the department's side (aomori-pref:7.1 the section
	// head, koto-ward:12.1 the security officer).
	ActApply = "apply-usage"
	// ActApprove approves or refuses an application and asks for a status
	// report: the system administrator's side.
	ActApprove = "approve-usage"
	// ActEnd records that a use ended (aomori-pref:7.2): the department's
	// notice, or the system administrator's revocation.
	ActEnd = "end-usage"
	// ActView opens the record (asked, not logged).
	ActView = "view-approvals"
)

// Actions are the record's actions, for the policy engine.
var Actions = []string{ActApply, ActApprove, ActEnd, ActView}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{
	ActApply: "利用の申請・状況報告", ActApprove: "利用の承認", ActEnd: "利用の終了", ActView: "利用承認の閲覧",
}

// State is where an application stands.
type State string

// The states of an application.
const (
	Applied   State = "applied"   // 申請中
	Approved  State = "approved"  // 承認
	Refused   State = "refused"   // 不承認
	Withdrawn State = "withdrawn" // 取下げ
	Ended     State = "ended"     // 廃止（終了届）
)

// Japanese names the state.
func (s State) Japanese() string {
	switch s {
	case Applied:
		return "申請中"
	case Approved:
		return "承認"
	case Refused:
		return "不承認"
	case Withdrawn:
		return "取下げ"
	case Ended:
		return "終了"
	}
	return string(s)
}

// What an application's text may hold (docs/fields.md), the one definition
// every door (the form, the CLI, the API) applies.
var (
	FieldPurpose = resident.Field{Name: "purpose", Japanese: "事務の内容", Class: resident.ClassText, Max: 200}
	FieldReason  = resident.Field{Name: "reason", Japanese: "利用の理由", Class: resident.ClassText, Max: 200}
	FieldDecided = resident.Field{Name: "decision-reason", Japanese: "承認・不承認の理由", Class: resident.ClassText, Max: 200}
	FieldEnd     = resident.Field{Name: "end-reason", Japanese: "終了の理由", Class: resident.ClassText, Max: 200}
	FieldNote    = resident.Field{Name: "note", Japanese: "報告の所見", Class: resident.ClassText, Max: 400}
)

// Approval is one application for the use of an affair and what became of it.
type Approval struct {
	ID         int64
	Department string
	Affair     string
	Purpose    string // 事務の内容
	Reason     string // why the use is needed
	// Start and End are the first and the last day of the use (midnight JST).
	Start, End time.Time
	Terminals  []string // terminal ids
	Operators  []string // verification ids: 取り扱う職員等
	State      State

	AppliedBy      string
	AppliedAt      time.Time
	DecidedBy      string
	DecidedAt      time.Time
	DecisionReason string
	EndedBy        string
	EndedAt        time.Time
	EndReason      string

	Reports []Report
}

// Until is the instant the period ends: midnight JST after its last day.
func (a Approval) Until() time.Time { return a.End.AddDate(0, 0, 1) }

// InForce says whether the approval lets its department use the affair at now.
func (a Approval) InForce(now time.Time) bool {
	return a.State == Approved && !now.Before(a.Start) && now.Before(a.Until())
}

// Open says whether the application still stands (applied or approved, not
// ended): another for the same department and affair may not overlap it.
func (a Approval) Open() bool { return a.State == Applied || a.State == Approved }

// Report is a status report (利用状況報告, aomori-pref:7.3): asked for by the
// system administrator for a period, submitted by the department.
type Report struct {
	ID          int64
	Approval    int64
	From, To    time.Time // the first and last day reported on
	Due         time.Time // the day it is due
	RequestedBy string
	RequestedAt time.Time
	SubmittedBy string
	SubmittedAt time.Time
	Digest      string // SHA-256 of the CSV submitted (Status.CSV)
	Summary     string // the counts, as submitted
	Note        string // the department's remarks
}

// Submitted says whether the report was submitted.
func (r Report) Submitted() bool { return !r.SubmittedAt.IsZero() }

// Register keeps a node's usage approvals.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	// Now is the node's clock (an application cannot end before today); nil
	// means time.Now.
	Now func() time.Time
	// Alerts reads the detection's alerts for status reports
	// (internal/detect, set by the node); nil means none are listed.
	Alerts func(ctx context.Context) ([]Alert, error)
	// Forms is the forms register a status report taken out of the node is
	// recorded in (StatusExport); nil refuses such exports.
	Forms *form.Register

	staff.Listeners // OnChange: run after every committed change (the policy engine's Invalidate)
}

// New returns the usage approvals of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// administer makes one change once the policies allow who to take action
// on the department, in the transaction of its audit entry, and bumps the
// staff version so the policy engines rebuild.
func (r *Register) administer(ctx context.Context, who staff.Who, action, department string, subjects []auditlog.Actor, verb, query, detail string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "approval." + verb, Query: query, Detail: detail}
	err := staff.Administer(ctx, r.log, r.authz, who, action, staff.Resource{Kind: "department", ID: department, Subjects: subjects}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := work(ctx, tx, seq, now); err != nil {
				return err
			}
			return staff.BumpVersion(ctx, tx)
		})
	if err != nil {
		return err
	}
	r.Notify()
	return nil
}

// check applies the rules to an application about to be recorded: a
// department and an affair of the profile, the text within its field
// rules, a period that does not end before it starts nor before today, at
// least one terminal and one person. It trims the text and removes
// duplicate terminals and people.
func (r *Register) check(a *Approval, today time.Time) error {
	a.Purpose, a.Reason = strings.TrimSpace(a.Purpose), strings.TrimSpace(a.Reason)
	if _, ok := r.prof.Department(a.Department); !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("unknown department %q in profile %s", a.Department, r.prof.ID), fmt.Sprintf("部署「%s」はありません", a.Department))
	}
	if _, ok := r.prof.Affair(a.Affair); !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("unknown affair %q in profile %s", a.Affair, r.prof.ID), fmt.Sprintf("利用事務「%s」はありません", a.Affair))
	}
	if err := resident.CheckValues(resident.Value{Field: FieldPurpose, Text: a.Purpose, Required: true},
		resident.Value{Field: FieldReason, Text: a.Reason, Required: true}); err != nil {
		return err
	}
	switch {
	case a.Start.IsZero():
		return apperr.New(apperr.Invalid, "start: enter the first day of the use", "利用の開始日を入力してください")
	case a.End.IsZero():
		return apperr.New(apperr.Invalid, "end: enter the last day of the use", "利用の終了日を入力してください")
	case a.End.Before(a.Start):
		return apperr.New(apperr.Invalid, fmt.Sprintf("end %s is before start %s", a.End.Format(time.DateOnly), a.Start.Format(time.DateOnly)),
			fmt.Sprintf("終了日（%s）が開始日（%s）より前です", jptext.FormatWareki(a.End), jptext.FormatWareki(a.Start)))
	case a.End.Before(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("end %s is before today", a.End.Format(time.DateOnly)),
			fmt.Sprintf("終了日（%s）が今日より前です", jptext.FormatWareki(a.End)))
	}
	a.Terminals = tidy(a.Terminals)
	a.Operators = tidy(a.Operators)
	if len(a.Terminals) == 0 {
		return apperr.New(apperr.Invalid, "terminals: name at least one terminal", "使用する端末を1台以上指定してください")
	}
	if len(a.Operators) == 0 {
		return apperr.New(apperr.Invalid, "operators: name at least one person who will handle the information", "本人確認情報を取り扱う職員等を1人以上指定してください")
	}
	for _, vid := range a.Operators {
		if !staff.WellFormedID(vid) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("verification id %q: use 1 to 64 letters, digits, '.', '_' or '-'", vid),
				fmt.Sprintf("照合ID「%s」は英数字と . _ - の64文字以内で入力してください", vid))
		}
	}
	return nil
}

// tidy trims, drops empty entries and duplicates, and sorts.
func tidy(ids []string) []string {
	var out []string
	for _, id := range ids {
		for _, f := range strings.FieldsFunc(id, func(r rune) bool { return r == ',' || r == '、' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
			if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out
}

// Apply records a department's application to start using an affair
// (申請, aomori-pref:7.1) and returns its number. The terminals must be the
// department's, in use; the people its active staff.
func (r *Register) Apply(ctx context.Context, who staff.Who, a Approval) (int64, error) {
	if err := r.check(&a, jptext.Midnight(r.now())); err != nil {
		return 0, err
	}
	var id int64
	err := r.administer(ctx, who, ActApply, a.Department, nil, "apply", fmt.Sprintf("department:%s affair:%s", a.Department, a.Affair),
		fmt.Sprintf("apply for the use of %s by %s, %s to %s: %s; reason: %s; terminals %s; staff %s", a.Affair, a.Department,
			a.Start.Format(time.DateOnly), a.End.Format(time.DateOnly), a.Purpose, a.Reason, strings.Join(a.Terminals, ", "), strings.Join(a.Operators, ", ")),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := overlaps(ctx, tx, a, 0); err != nil {
				return err
			}
			for _, t := range a.Terminals {
				var dept string
				err := tx.QueryRow(ctx, `SELECT department_id FROM staff_terminal WHERE id = ? AND retired_at IS NULL`, t).Scan(&dept)
				switch {
				case errors.Is(err, sql.ErrNoRows):
					return apperr.New(apperr.Invalid, fmt.Sprintf("terminal %s is not an approved terminal in use", t), fmt.Sprintf("端末 %s は設置の承認を受けていないか、廃止されています", t))
				case err != nil:
					return fmt.Errorf("find terminal %s: %w", t, err)
				case dept != a.Department:
					return apperr.New(apperr.Invalid, fmt.Sprintf("terminal %s belongs to %s, not to %s", t, dept, a.Department), fmt.Sprintf("端末 %s は申請する部署の端末ではありません", t))
				}
			}
			if err := tx.QueryRow(ctx, `INSERT INTO usage_approval (department_id, affair_id, purpose, reason, starts_on, ends_on, state, applied_by, applied_at, applied_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, a.Department, a.Affair, a.Purpose, a.Reason,
				a.Start.Format(time.DateOnly), a.End.Format(time.DateOnly), string(Applied), who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record application: %w", err)
			}
			for _, t := range a.Terminals {
				if _, err := tx.Exec(ctx, `INSERT INTO usage_approval_terminal (approval_id, terminal_id) VALUES (?, ?)`, id, t); err != nil {
					return fmt.Errorf("record terminal %s: %w", t, err)
				}
			}
			for _, vid := range a.Operators {
				var pid int64
				var dept string
				var active bool
				err := tx.QueryRow(ctx, `SELECT id, department_id, active FROM staff_person WHERE verification_id = ?`, vid).Scan(&pid, &dept, &active)
				switch {
				case errors.Is(err, sql.ErrNoRows) || (err == nil && !active):
					return apperr.New(apperr.Invalid, fmt.Sprintf("%s is not an active staff member", vid), fmt.Sprintf("照合ID %s は職員として登録されていないか、異動・退職済みです", vid))
				case err != nil:
					return fmt.Errorf("find staff member %s: %w", vid, err)
				case dept != a.Department:
					return apperr.New(apperr.Invalid, fmt.Sprintf("%s belongs to %s, not to %s", vid, dept, a.Department), fmt.Sprintf("照合ID %s は申請する部署の職員ではありません", vid))
				}
				if _, err := tx.Exec(ctx, `INSERT INTO usage_approval_operator (approval_id, person_id) VALUES (?, ?)`, id, pid); err != nil {
					return fmt.Errorf("record staff member %s: %w", vid, err)
				}
			}
			return nil
		})
	return id, err
}

// overlaps refuses an application whose period overlaps another open one
// (applied, or approved and not ended) of the department for the affair.
func overlaps(ctx context.Context, q db.Querier, a Approval, except int64) error {
	var other int64
	var start, end string
	err := q.QueryRow(ctx, `SELECT id, starts_on, ends_on FROM usage_approval
		WHERE department_id = ? AND affair_id = ? AND state IN (?, ?) AND id <> ? AND starts_on <= ? AND ends_on >= ? ORDER BY id LIMIT 1`,
		a.Department, a.Affair, string(Applied), string(Approved), except, a.End.Format(time.DateOnly), a.Start.Format(time.DateOnly)).Scan(&other, &start, &end)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("check overlapping applications: %w", err)
	}
	s, _ := parseDay(start)
	e, _ := parseDay(end)
	return apperr.New(apperr.Conflict, fmt.Sprintf("application %d of %s for %s already covers %s to %s", other, a.Department, a.Affair, start, end),
		fmt.Sprintf("この部署のこの事務には、期間が重なる申請・承認（第%d号、%s〜%s）が既にあります", other, jptext.FormatWareki(s), jptext.FormatWareki(e)))
}

// get reads one application in tx.
func get(ctx context.Context, q db.Querier, id int64) (Approval, error) {
	all, err := list(ctx, q, id)
	if err != nil {
		return Approval{}, err
	}
	if len(all) == 0 {
		return Approval{}, apperr.New(apperr.NotFound, fmt.Sprintf("usage approval %d is not recorded", id), fmt.Sprintf("第%d号の利用申請はありません", id))
	}
	return all[0], nil
}

// subjects are the people a decision on a concerns: the heads of its
// department and whoever applied. None of them may decide it.
func subjects(ctx context.Context, q db.Querier, a Approval) ([]auditlog.Actor, error) {
	heads, err := staff.Heads(ctx, q, a.Department)
	if err != nil {
		return nil, err
	}
	if kind, id, ok := strings.Cut(a.AppliedBy, ":"); ok && kind == string(auditlog.ActorOperator) {
		applicant := auditlog.Actor{Kind: auditlog.ActorOperator, ID: id}
		if !slices.Contains(heads, applicant) {
			heads = append(heads, applicant)
		}
	}
	return heads, nil
}

// Decide records the system administrator's approval (approve true) or
// refusal of an application, with the reason. Approving designates the
// staff it names for the affair.
func (r *Register) Decide(ctx context.Context, who staff.Who, id int64, approve bool, reason string) error {
	reason = strings.TrimSpace(reason)
	if err := resident.CheckValues(resident.Value{Field: FieldDecided, Text: reason, Required: true}); err != nil {
		return err
	}
	a, err := get(ctx, r.db, id)
	if err != nil {
		return err
	}
	subj, err := subjects(ctx, r.db, a)
	if err != nil {
		return err
	}
	verb, state := "refuse", Refused
	if approve {
		verb, state = "approve", Approved
	}
	return r.administer(ctx, who, ActApprove, a.Department, subj, verb, fmt.Sprintf("approval:%d", id),
		fmt.Sprintf("%s the use of %s by %s: %s", verb, a.Affair, a.Department, reason),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			a, err := get(ctx, tx, id)
			if err != nil {
				return err
			}
			if a.State != Applied {
				return apperr.New(apperr.Conflict, fmt.Sprintf("usage approval %d is %s, not applied for", id, a.State),
					fmt.Sprintf("第%d号の利用申請は「%s」のため、承認・不承認できません", id, a.State.Japanese()))
			}
			if approve {
				if a.Until().Before(now) || a.Until().Equal(now) {
					return apperr.New(apperr.Conflict, fmt.Sprintf("usage approval %d ended on %s", id, a.End.Format(time.DateOnly)),
						fmt.Sprintf("第%d号の申請の期間（%sまで）は過ぎています", id, jptext.FormatWareki(a.End)))
				}
				if err := overlaps(ctx, tx, a, a.ID); err != nil {
					return err
				}
			}
			if _, err := tx.Exec(ctx, `UPDATE usage_approval SET state = ?, decided_by = ?, decided_at = ?, decided_seq = ?, decision_reason = ? WHERE id = ?`,
				string(state), who.Actor.String(), now, seq, reason, id); err != nil {
				return fmt.Errorf("record decision: %w", err)
			}
			if !approve {
				return nil
			}
			// Designate the staff the application names, unless they already are.
			_, err = tx.Exec(ctx, `INSERT INTO staff_designation (person_id, affair_id, designated_by, started_at, started_seq, approval_id)
				SELECT o.person_id, ?, ?, ?, ?, ? FROM usage_approval_operator o JOIN staff_person p ON p.id = o.person_id
				WHERE o.approval_id = ? AND p.active = ?
				AND NOT EXISTS (SELECT 1 FROM staff_designation d WHERE d.person_id = o.person_id AND d.affair_id = ? AND d.ended_at IS NULL)`,
				a.Affair, who.Actor.String(), now, seq, id, id, true, a.Affair)
			if err != nil {
				return fmt.Errorf("designate the staff of approval %d: %w", id, err)
			}
			return nil
		})
}

// Withdraw records that the department withdrew an application not yet decided.
func (r *Register) Withdraw(ctx context.Context, who staff.Who, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if err := resident.CheckValues(resident.Value{Field: FieldEnd, Text: reason, Required: true}); err != nil {
		return err
	}
	a, err := get(ctx, r.db, id)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActApply, a.Department, nil, "withdraw", fmt.Sprintf("approval:%d", id),
		fmt.Sprintf("withdraw the application for %s by %s: %s", a.Affair, a.Department, reason),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE usage_approval SET state = ?, ended_by = ?, ended_at = ?, ended_seq = ?, end_reason = ? WHERE id = ? AND state = ?`,
				string(Withdrawn), who.Actor.String(), now, seq, reason, id, string(Applied))
			if err != nil {
				return fmt.Errorf("withdraw application %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("usage approval %d is %s, not applied for", id, a.State),
					fmt.Sprintf("第%d号は申請中ではないため、取り下げられません", id))
			}
			return nil
		})
}

// End records that an approved use ended (終了届, aomori-pref:7.2): from
// that moment the department's staff may not use the affair, and the
// designations for it end, unless another approval of the department for
// the affair, not yet over, still names them.
func (r *Register) End(ctx context.Context, who staff.Who, id int64, reason string) error {
	reason = strings.TrimSpace(reason)
	if err := resident.CheckValues(resident.Value{Field: FieldEnd, Text: reason, Required: true}); err != nil {
		return err
	}
	a, err := get(ctx, r.db, id)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActEnd, a.Department, nil, "end", fmt.Sprintf("approval:%d", id),
		fmt.Sprintf("end the use of %s by %s: %s", a.Affair, a.Department, reason),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE usage_approval SET state = ?, ended_by = ?, ended_at = ?, ended_seq = ?, end_reason = ? WHERE id = ? AND state = ?`,
				string(Ended), who.Actor.String(), now, seq, reason, id, string(Approved))
			if err != nil {
				return fmt.Errorf("end approval %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("usage approval %d is %s, not approved", id, a.State),
					fmt.Sprintf("第%d号は承認中の利用ではないため、終了できません（現在: %s）", id, a.State.Japanese()))
			}
			// The designations for the affair of the department's staff end,
			// but for the people another approval not yet over still names.
			_, err = tx.Exec(ctx, `UPDATE staff_designation SET ended_at = ?, ended_by = ?, ended_seq = ?
				WHERE affair_id = ? AND ended_at IS NULL
				AND person_id IN (SELECT id FROM staff_person WHERE department_id = ?)
				AND person_id NOT IN (SELECT o.person_id FROM usage_approval_operator o JOIN usage_approval u ON u.id = o.approval_id
					WHERE u.department_id = ? AND u.affair_id = ? AND u.state = ? AND u.ends_on >= ?)`,
				now, who.Actor.String(), seq, a.Affair, a.Department, a.Department, a.Affair, string(Approved), jptext.Midnight(now).Format(time.DateOnly))
			if err != nil {
				return fmt.Errorf("end the designations of approval %d: %w", id, err)
			}
			return nil
		})
}

func parseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, jptext.JST)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: %w", s, err)
	}
	return t, nil
}

func timeOf(t sql.NullTime) time.Time {
	if t.Valid {
		return t.Time
	}
	return time.Time{}
}

// List returns every application with its terminals, staff and reports,
// newest first.
func List(ctx context.Context, q db.Querier) ([]Approval, error) {
	return list(ctx, q, 0)
}

// Get returns one application.
func Get(ctx context.Context, q db.Querier, id int64) (Approval, error) {
	return get(ctx, q, id)
}

// list reads the applications, or only the one with id when id > 0.
func list(ctx context.Context, q db.Querier, id int64) ([]Approval, error) {
	where, args := "", []any{}
	if id > 0 {
		where, args = " WHERE id = ?", []any{id}
	}
	rows, err := q.Query(ctx, `SELECT id, department_id, affair_id, purpose, reason, starts_on, ends_on, state, applied_by, applied_at,
		decided_by, decided_at, decision_reason, ended_by, ended_at, end_reason FROM usage_approval`+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list usage approvals: %w", err)
	}
	var out []Approval
	byID := map[int64]int{}
	for rows.Next() {
		var a Approval
		var start, end, state string
		var decided, ended sql.NullTime
		if err := rows.Scan(&a.ID, &a.Department, &a.Affair, &a.Purpose, &a.Reason, &start, &end, &state, &a.AppliedBy, &a.AppliedAt,
			&a.DecidedBy, &decided, &a.DecisionReason, &a.EndedBy, &ended, &a.EndReason); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list usage approvals: %w", err)
		}
		if a.Start, err = parseDay(start); err == nil {
			a.End, err = parseDay(end)
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("usage approval %d: %w", a.ID, err)
		}
		a.State, a.DecidedAt, a.EndedAt = State(state), timeOf(decided), timeOf(ended)
		byID[a.ID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list usage approvals: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	if err := each(ctx, q, `SELECT approval_id, terminal_id FROM usage_approval_terminal`+strings.Replace(where, "id", "approval_id", 1)+` ORDER BY terminal_id`,
		args, func(id int64, s string) {
			if i, ok := byID[id]; ok {
				out[i].Terminals = append(out[i].Terminals, s)
			}
		}); err != nil {
		return nil, fmt.Errorf("list usage approval terminals: %w", err)
	}
	if err := each(ctx, q, `SELECT o.approval_id, p.verification_id FROM usage_approval_operator o JOIN staff_person p ON p.id = o.person_id`+
		strings.Replace(where, "id", "o.approval_id", 1)+` ORDER BY p.verification_id`, args, func(id int64, s string) {
		if i, ok := byID[id]; ok {
			out[i].Operators = append(out[i].Operators, s)
		}
	}); err != nil {
		return nil, fmt.Errorf("list usage approval staff: %w", err)
	}
	reports, err := reports(ctx, q, id)
	if err != nil {
		return nil, err
	}
	for _, rep := range reports {
		if i, ok := byID[rep.Approval]; ok {
			out[i].Reports = append(out[i].Reports, rep)
		}
	}
	return out, nil
}

// each runs fn on each row of a query of an id and a text.
func each(ctx context.Context, q db.Querier, query string, args []any, fn func(id int64, s string)) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return err
		}
		fn(id, s)
	}
	return rows.Err()
}

// Facts are the approved uses the policy engine keeps in its snapshot:
// every approval approved, whatever its period (the engine compares the
// period with the request's time), and those ended, to say so in a refusal.
type Facts []Approval

// Load reads the facts (when the policy engine rebuilds its snapshot, never
// per decision).
func Load(ctx context.Context, q db.Querier) (Facts, error) {
	all, err := List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("load usage approvals: %w", err)
	}
	var f Facts
	for _, a := range all {
		if a.State == Approved || a.State == Ended {
			a.Reports = nil
			f = append(f, a)
		}
	}
	return f, nil
}

// InForce returns, at now, the affairs each department may use
// (department → affairs) and the affairs each terminal may be used for
// (terminal → affairs), and the next instant after now at which an
// approval starts or ends (zero when none): the policy engine rebuilds its
// snapshot then.
func (f Facts) InForce(now time.Time) (departments, terminals map[string][]string, next time.Time) {
	departments, terminals = map[string][]string{}, map[string][]string{}
	for _, a := range f {
		if a.State != Approved {
			continue
		}
		for _, t := range []time.Time{a.Start, a.Until()} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
		if !a.InForce(now) {
			continue
		}
		if !slices.Contains(departments[a.Department], a.Affair) {
			departments[a.Department] = append(departments[a.Department], a.Affair)
		}
		for _, t := range a.Terminals {
			if !slices.Contains(terminals[t], a.Affair) {
				terminals[t] = append(terminals[t], a.Affair)
			}
		}
	}
	return departments, terminals, next
}

// Explain says, in English and Japanese, why the use of affair by the
// department on the terminal at now is outside every approval: none
// approved, not yet started, over, or the terminal not named. affairName is
// the affair's Japanese name, deptName the department's.
func (f Facts) Explain(department, deptName, terminal, affair, affairName string, now time.Time) (en, ja string) {
	var mine []Approval
	for _, a := range f {
		if a.Department == department && a.Affair == affair {
			mine = append(mine, a)
		}
	}
	// over is when an approval stopped counting: its end notice, or the
	// end of its period.
	over := func(a *Approval) time.Time {
		if a.State == Ended && a.EndedAt.Before(a.Until()) {
			return a.EndedAt
		}
		return a.Until()
	}
	var current, next, last *Approval
	for i := range mine {
		a := &mine[i]
		switch {
		case a.InForce(now):
			current = a
		case a.State == Approved && now.Before(a.Start):
			if next == nil || a.Start.Before(next.Start) {
				next = a
			}
		default:
			if last == nil || over(a).After(over(last)) {
				last = a
			}
		}
	}
	switch {
	case current != nil:
		return fmt.Sprintf("terminal %s is not named in usage approval %d of %s for %s", terminal, current.ID, department, affair),
			fmt.Sprintf("端末 %s は、%sの利用事務「%s」の利用承認（第%d号）で使用する端末に含まれていません", terminal, deptName, affairName, current.ID)
	case next != nil:
		return fmt.Sprintf("usage approval %d of %s for %s starts on %s", next.ID, department, affair, next.Start.Format(time.DateOnly)),
			fmt.Sprintf("%sの利用事務「%s」の利用承認（第%d号）の期間は%sからです", deptName, affairName, next.ID, jptext.FormatWareki(next.Start))
	case last != nil && last.State == Ended && last.EndedAt.Before(last.Until()):
		ended := last.EndedAt.In(jptext.JST)
		return fmt.Sprintf("the use under usage approval %d of %s for %s was ended on %s", last.ID, department, affair, ended.Format(time.DateOnly)),
			fmt.Sprintf("%sの利用事務「%s」の利用承認（第%d号）は、%sに利用の終了が届け出られています", deptName, affairName, last.ID, jptext.FormatWareki(ended))
	case last != nil:
		return fmt.Sprintf("usage approval %d of %s for %s ended on %s", last.ID, department, affair, last.End.Format(time.DateOnly)),
			fmt.Sprintf("%sの利用事務「%s」の利用承認（第%d号）の期間は%sで終わっています", deptName, affairName, last.ID, jptext.FormatWareki(last.End))
	}
	return fmt.Sprintf("department %s has no approval to use the affair %s", department, affair),
		fmt.Sprintf("%sは利用事務「%s」の利用承認を受けていません", deptName, affairName)
}

// Reminder is something of the approvals record waiting for someone: an
// application to decide, a status report to submit (Overdue past its due
// day), an approval whose period ends within 30 days (to apply again).
type Reminder struct {
	Kind     string // decide, report, renew
	Approval Approval
	Report   Report    // for report
	Due      time.Time // the day it is due (report) or the approval's last day (renew)
	Overdue  bool
}

// Reminders lists what waits at now, oldest first within each kind.
func Reminders(ctx context.Context, q db.Querier, now time.Time) ([]Reminder, error) {
	all, err := List(ctx, q)
	if err != nil {
		return nil, err
	}
	today := jptext.Midnight(now)
	var out []Reminder
	for i := len(all) - 1; i >= 0; i-- {
		a := all[i]
		switch {
		case a.State == Applied:
			out = append(out, Reminder{Kind: "decide", Approval: a})
		case a.State == Approved && !now.Before(a.Start) && a.End.Before(today.AddDate(0, 0, 30)) && !today.After(a.End):
			out = append(out, Reminder{Kind: "renew", Approval: a, Due: a.End})
		}
		for _, rep := range a.Reports {
			if !rep.Submitted() {
				out = append(out, Reminder{Kind: "report", Approval: a, Report: rep, Due: rep.Due, Overdue: rep.Due.Before(today)})
			}
		}
	}
	return out, nil
}

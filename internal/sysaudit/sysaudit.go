// Package sysaudit keeps the node's system audits (システム監査, koto-ward:9;
// aomori-pref:11): the chief security officer plans an audit — periodic
// (定期) or ad hoc (臨時), the period audited, its scope — and names its
// auditor, a staff member with the profile's auditor role (監査担当). The
// auditor generates the checklist from the profile's article map: every
// built feature of the articles in scope becomes a check, and for each the
// node collects its own evidence at that moment through the owning
// packages' read functions (operators whose training expired, the log
// verified intact up to entry N and its latest cosigned checkpoint,
// suspensions in the period, designations without use for 90 days, alerts
// open over 14 days …). The evidence text, its figures and the log entry it
// was read up to are recorded with the check, so the audit can be
// reproduced. The auditor assesses the checks, records findings (severity,
// the check and its article, description, root cause) and corrective
// actions (an owner, a due day); the owner records follow-up notes; someone
// other than the owner closes an action with the evidence of its
// completion. An action past its due day and not closed is overdue, on the
// node's clock (Overdue). The audit report is a PDF (Document) and a CSV
// (Table).
//
// Every change is decided by the profile's policies (plan-audit,
// conduct-audit, follow-up-audit-action, close-audit-action) and made in
// the transaction of its audit entry ("sysaudit.*"); refusals are logged
// too. Nothing here reads another package's tables: the evidence comes from
// their exported read functions.
package sysaudit

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/apperr"
	"jukinet/internal/asset"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/facility"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActPlan plans an audit and names its auditor: the chief security
	// officer (koto-ward:9, aomori-pref:11).
	ActPlan = "plan-audit"
	// ActConduct generates the checklist, assesses checks, records findings
	// and corrective actions and completes the audit: the auditor the plan
	// names (the request's resource is that Person).
	ActConduct = "conduct-audit"
	// ActFollowUp records a follow-up note on a corrective action: its
	// owner (the request's resource), the auditor, the chief.
	ActFollowUp = "follow-up-audit-action"
	// ActClose closes a corrective action with the evidence of its
	// completion; the owner is the request's subject, whom the profiles'
	// separation-of-duty rule refuses.
	ActClose = "close-audit-action"
	// ActView opens the audits (asked, not logged).
	ActView = "view-audits"
)

// Actions are the record's actions, for the policy engine.
var Actions = []string{ActPlan, ActConduct, ActFollowUp, ActClose, ActView}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{
	ActPlan: "システム監査の計画", ActConduct: "システム監査の実施", ActFollowUp: "是正措置の経過の記録",
	ActClose: "是正措置の完了の確認", ActView: "システム監査の閲覧",
}

// Kind is whether an audit is periodic or ad hoc (aomori-pref:11: 定期及び臨時).
type Kind string

// The kinds of audit.
const (
	Periodic Kind = "periodic" // 定期
	AdHoc    Kind = "ad-hoc"   // 臨時
)

// Japanese names the kind.
func (k Kind) Japanese() string {
	switch k {
	case Periodic:
		return "定期監査"
	case AdHoc:
		return "臨時監査"
	}
	return string(k)
}

// State is where an audit stands.
type State string

// The states of an audit.
const (
	Planned    State = "planned"     // 計画
	InProgress State = "in-progress" // 実施中: the checklist is generated
	Completed  State = "completed"   // 完了: the conclusion is recorded
)

// Japanese names the state.
func (s State) Japanese() string {
	switch s {
	case Planned:
		return "計画"
	case InProgress:
		return "実施中"
	case Completed:
		return "完了"
	}
	return string(s)
}

// Result is the auditor's assessment of a check.
type Result string

// The results of a check; the zero value is not yet assessed.
const (
	Unassessed    Result = ""
	Conforming    Result = "conforming"     // 適合
	Nonconforming Result = "nonconforming"  // 不適合
	NotApplicable Result = "not-applicable" // 該当なし
)

// Japanese names the result.
func (r Result) Japanese() string {
	switch r {
	case Unassessed:
		return "未評価"
	case Conforming:
		return "適合"
	case Nonconforming:
		return "不適合"
	case NotApplicable:
		return "該当なし"
	}
	return string(r)
}

// Severity is how serious a finding is.
type Severity string

// The severities of a finding.
const (
	High   Severity = "high"
	Medium Severity = "medium"
	Low    Severity = "low"
)

// Japanese names the severity.
func (s Severity) Japanese() string {
	switch s {
	case High:
		return "高"
	case Medium:
		return "中"
	case Low:
		return "低"
	}
	return string(s)
}

// What an audit's text may hold (docs/fields.md), the one definition every
// door (the form, the CLI) applies.
var (
	FieldTitle       = resident.Field{Name: "title", Japanese: "監査の名称", Class: resident.ClassText, Max: 100}
	FieldScope       = resident.Field{Name: "scope", Japanese: "監査の範囲", Class: resident.ClassText, Max: 400}
	FieldNote        = resident.Field{Name: "note", Japanese: "点検の所見", Class: resident.ClassText, Max: 400}
	FieldDescription = resident.Field{Name: "description", Japanese: "指摘の内容", Class: resident.ClassText, Max: 1000}
	FieldRootCause   = resident.Field{Name: "root-cause", Japanese: "原因", Class: resident.ClassText, Max: 1000}
	FieldAction      = resident.Field{Name: "action", Japanese: "是正措置の内容", Class: resident.ClassText, Max: 400}
	FieldFollowUp    = resident.Field{Name: "follow-up", Japanese: "経過", Class: resident.ClassText, Max: 400}
	FieldClosure     = resident.Field{Name: "evidence", Japanese: "完了の証跡", Class: resident.ClassText, Max: 400}
	FieldConclusion  = resident.Field{Name: "conclusion", Japanese: "監査の結論", Class: resident.ClassText, Max: 2000}
)

// Plan is one audit: its plan, and once conducted its checklist, findings
// and corrective actions.
type Plan struct {
	ID    int64
	Kind  Kind
	Title string
	// From and To are the first and the last day audited (midnight JST).
	From, To time.Time
	Scope    string
	// Articles are the articles checked, in the profile's order; none
	// means every article of the profile.
	Articles []string
	Auditor  string // the auditor's verification id
	State    State

	PlannedBy   string
	PlannedAt   time.Time
	GeneratedBy string
	GeneratedAt time.Time
	// UpTo is the audit log's last entry the evidence was read up to (-1
	// until the checklist is generated).
	UpTo        int64
	CompletedBy string
	CompletedAt time.Time
	Conclusion  string

	Checks   []Check
	Findings []Finding
}

// Until is the instant the period audited ends: midnight JST after its last day.
func (p Plan) Until() time.Time { return p.To.AddDate(0, 0, 1) }

// Check is one item of an audit's checklist: an article and a feature that
// implements it, with the evidence the node collected.
type Check struct {
	ID       int64
	Plan     int64
	Position int // from 1
	Article  string
	Feature  string
	// Evidence is what the node found, in Japanese, and Figures its
	// numbers; Attention says they show something to look at.
	Evidence  string
	Figures   []Figure
	Attention bool

	Result     Result
	Note       string
	AssessedBy string
	AssessedAt time.Time
}

// Figure is one number of a check's evidence.
type Figure struct {
	Name  string // Japanese, without "=" or ";"
	Value int64
}

// Figure returns the value of the figure named name, and whether there is one.
func (c Check) Figure(name string) (int64, bool) {
	for _, f := range c.Figures {
		if f.Name == name {
			return f.Value, true
		}
	}
	return 0, false
}

// FiguresText is the figures as stored: "name=value; name=value".
func (c Check) FiguresText() string { return formatFigures(c.Figures) }

func formatFigures(fs []Figure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Name + "=" + strconv.FormatInt(f.Value, 10)
	}
	return strings.Join(parts, "; ")
}

func parseFigures(s string) []Figure {
	var out []Figure
	for _, p := range strings.Split(s, "; ") {
		name, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Figure{Name: name, Value: n})
	}
	return out
}

// Finding is a finding of an audit on one of its checks.
type Finding struct {
	ID          int64
	Plan        int64
	Check       int64
	Article     string
	Severity    Severity
	Description string
	RootCause   string
	RecordedBy  string
	RecordedAt  time.Time
	Actions     []Action
}

// Action is a corrective action (是正措置) of a finding.
type Action struct {
	ID          int64
	Finding     int64
	Plan        int64 // the audit of the finding (filled in when read)
	Description string
	Owner       string    // the verification id of who carries it out
	Due         time.Time // the last day (midnight JST)
	CreatedBy   string
	CreatedAt   time.Time
	ClosedBy    string
	ClosedAt    time.Time
	Evidence    string // the evidence of its completion (完了の証跡)
	FollowUps   []FollowUp
}

// Closed says whether the action was closed.
func (a Action) Closed() bool { return !a.ClosedAt.IsZero() }

// OverdueAt says whether the action is past its due day and not closed at now.
func (a Action) OverdueAt(now time.Time) bool {
	return !a.Closed() && !now.Before(a.Due.AddDate(0, 0, 1))
}

// FollowUp is a note on a corrective action's progress.
type FollowUp struct {
	ID     int64
	Action int64
	Note   string
	By     string
	At     time.Time
}

// Sources are the records the evidence is read from, beside the database
// the Register was given: their own read functions, never their tables.
type Sources struct {
	Staff      *staff.Store
	Facilities *facility.Register
	Assets     *asset.Register
	// Verifier is the node's public key, with which the audit log is
	// verified for the tamper-evidence checks.
	Verifier note.Verifier
	// Alerts reads the detection's alerts (internal/detect) and Incidents
	// the incidents (internal/incident), set by the node: their packages'
	// tests build the policy engine, which registers this package's
	// actions, so this package does not import them. Nil: the evidence
	// says it could not be collected.
	Alerts    func(ctx context.Context) ([]Alert, error)
	Incidents func(ctx context.Context) ([]Incident, error)
	// Meetings reads the security council's meetings and Directives the
	// chief security officer's directives and requests (internal/council),
	// set by the node for the same reason.
	Meetings   func(ctx context.Context) ([]Meeting, error)
	Directives func(ctx context.Context) ([]Directive, error)
	// Letters reads the reports and requests between bodies
	// (internal/correspondence), set by the node for the same reason.
	Letters func(ctx context.Context) ([]Letter, error)
}

// Letter is a report or a request between bodies (internal/correspondence)
// as the evidence counts it.
type Letter struct {
	ID       string
	Sent     bool // sent by this body; else received
	Request  bool
	SentAt   time.Time
	State    string    // queued, delivered, acknowledged, refused; received
	Due      time.Time // a request's last day (midnight JST)
	Answered bool
}

// Meeting is a meeting of the security council (internal/council) as the
// evidence counts it.
type Meeting struct {
	ID            int64
	At            time.Time
	Extraordinary bool
	Decisions     int
	// MinutesApproved says the chair approved the minutes.
	MinutesApproved bool
}

// Directive is a directive or request of the chief security officer
// (internal/council) as the evidence counts it.
type Directive struct {
	ID       int64
	Request  bool // a request to another body, not a directive to a department
	IssuedAt time.Time
	Due      time.Time // the last day (midnight JST)
	DoneAt   time.Time // reported complete (answered); zero while not
}

// Alert is a detection alert (internal/detect) as the evidence counts it.
type Alert struct {
	ID       int64
	Rule     string // the rule's name, in Japanese
	RaisedAt time.Time
	Open     bool
	ClosedAt time.Time
	RuleID   string // the rule's id (detect.Rules: protected, no-case-ref …)
}

// Incident is an incident (internal/incident) as the evidence counts it.
type Incident struct {
	ID       int64
	OpenedAt time.Time
	Open     bool
	ClosedAt time.Time
	// FromAlert says it was opened from a detection alert.
	FromAlert bool
}

// Register keeps a node's system audits.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	src   Sources
	// Forms is the forms register the report taken out of the node is
	// recorded in (ReportExport); nil refuses such exports.
	Forms *form.Register
	// Now is the node's clock (what is overdue, the state evidence is read
	// at, the days a plan may cover); nil means time.Now.
	Now func() time.Time
}

// New returns the system audits of the node named node, whose evidence is
// read from src.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string, src Sources) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node, src: src}
}

// DB is the database the audits are kept in.
func (r *Register) DB() *db.DB { return r.db }

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// administer makes one change once the policies allow who to take action
// on res, in the transaction of its audit entry (sysaudit.VERB).
func (r *Register) administer(ctx context.Context, who staff.Who, action string, res staff.Resource, verb, query, detail string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "sysaudit." + verb, Query: query, Detail: detail}
	return staff.Administer(ctx, r.log, r.authz, who, action, res, e, work)
}

func operator(vid string) auditlog.Actor {
	return auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}
}

// activeMember returns the active staff member vid, or an error naming
// what (whatJA) the id was given for.
func (r *Register) activeMember(ctx context.Context, vid, what, whatJA string) (*staff.Member, error) {
	if !staff.WellFormedID(vid) {
		return nil, apperr.New(apperr.Invalid, fmt.Sprintf("%s %q: use 1 to 64 letters, digits, '.', '_' or '-'", what, vid),
			fmt.Sprintf("%s（照合ID）「%s」は英数字と . _ - の64文字以内で入力してください", whatJA, vid))
	}
	st, err := staff.Load(ctx, r.db)
	if err != nil {
		return nil, err
	}
	m, ok := st.People[vid]
	if !ok {
		return nil, apperr.New(apperr.Invalid, fmt.Sprintf("%s %s is not an active staff member", what, vid),
			fmt.Sprintf("%sの照合ID %s は職員として登録されていないか、異動・退職済みです", whatJA, vid))
	}
	return m, nil
}

// Checkable are the features of article a that a checklist checks: the
// built ones.
func Checkable(a profile.Article) []string {
	var out []string
	for _, id := range a.Features {
		if f, ok := profile.FeatureByID(id); ok && f.Status == profile.Built {
			out = append(out, id)
		}
	}
	return out
}

// check applies the rules to a plan about to be recorded: a kind, a title
// and a scope within their field rules, a period that ends by today and
// starts at most ten years before it, articles of the profile each with a
// built feature to check, and an auditor who is an active staff member
// with the profile's auditor role. It trims the text and puts the articles
// in the profile's order.
func (r *Register) check(ctx context.Context, p *Plan, today time.Time) error {
	p.Title, p.Scope, p.Auditor = strings.TrimSpace(p.Title), strings.TrimSpace(p.Scope), strings.TrimSpace(p.Auditor)
	if p.Kind != Periodic && p.Kind != AdHoc {
		return apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: periodic or ad-hoc", p.Kind), "監査の種別（定期・臨時）を選んでください")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldTitle, Text: p.Title, Required: true},
		resident.Value{Field: FieldScope, Text: p.Scope, Required: true}); err != nil {
		return err
	}
	switch {
	case p.From.IsZero():
		return apperr.New(apperr.Invalid, "from: enter the first day audited", "監査の対象期間の初日を入力してください")
	case p.To.IsZero():
		return apperr.New(apperr.Invalid, "to: enter the last day audited", "監査の対象期間の末日を入力してください")
	case p.To.Before(p.From):
		return apperr.New(apperr.Invalid, fmt.Sprintf("period ends %s before it starts %s", p.To.Format(time.DateOnly), p.From.Format(time.DateOnly)),
			fmt.Sprintf("監査の対象期間の末日（%s）が初日（%s）より前です", jptext.FormatWareki(p.To), jptext.FormatWareki(p.From)))
	case p.To.After(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("period ends %s, after today: an audit looks at days that have begun", p.To.Format(time.DateOnly)),
			fmt.Sprintf("監査の対象期間の末日（%s）が今日より後です。今日までの期間を指定してください", jptext.FormatWareki(p.To)))
	case p.From.Before(today.AddDate(-10, 0, 0)):
		return apperr.New(apperr.Invalid, fmt.Sprintf("period starts %s, more than ten years ago", p.From.Format(time.DateOnly)),
			fmt.Sprintf("監査の対象期間の初日（%s）が10年以上前です", jptext.FormatWareki(p.From)))
	}
	var articles []string
	for _, a := range tidy(p.Articles) {
		art, ok := r.article(a)
		if !ok {
			return apperr.New(apperr.Invalid, fmt.Sprintf("article %q is not in profile %s", a, r.prof.ID), fmt.Sprintf("条項「%s」はこの規程にありません", a))
		}
		if len(Checkable(art)) == 0 {
			return apperr.New(apperr.Invalid, fmt.Sprintf("article %s has no built feature to check", a),
				fmt.Sprintf("条項 %s には点検できる機能がありません", a))
		}
		articles = append(articles, a)
	}
	order := map[string]int{}
	for i, a := range r.prof.Articles {
		order[a.ID] = i
	}
	slices.SortFunc(articles, func(a, b string) int { return order[a] - order[b] })
	p.Articles = articles
	if p.Auditor == "" {
		return apperr.New(apperr.Invalid, "auditor: name the auditor", "監査担当（照合ID）を指定してください")
	}
	m, err := r.activeMember(ctx, p.Auditor, "auditor", "監査担当")
	if err != nil {
		return err
	}
	if role, ok := r.prof.Role(profile.Auditor); ok && !slices.Contains(m.Roles, profile.Auditor) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("%s does not hold the role %s", p.Auditor, profile.Auditor),
			fmt.Sprintf("照合ID %s には「%s」の役割がありません。先に役割を割り当ててください", p.Auditor, role.Name))
	}
	return nil
}

// tidy trims, drops empty entries and duplicates, keeping the order.
func tidy(ids []string) []string {
	var out []string
	for _, id := range ids {
		for _, f := range strings.FieldsFunc(id, func(r rune) bool { return r == ',' || r == '、' || r == ' ' || r == '\n' || r == '\t' || r == '\r' }) {
			if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	return out
}

func (r *Register) article(id string) (profile.Article, bool) {
	for _, a := range r.prof.Articles {
		if a.ID == id {
			return a, true
		}
	}
	return profile.Article{}, false
}

// Plan records an audit plan and the auditor it names, and returns its
// number. Whoever plans it may not name himself.
func (r *Register) Plan(ctx context.Context, who staff.Who, p Plan) (int64, error) {
	if err := r.check(ctx, &p, jptext.Midnight(r.now())); err != nil {
		return 0, err
	}
	scope := "every article"
	if len(p.Articles) > 0 {
		scope = strings.Join(p.Articles, ", ")
	}
	var id int64
	err := r.administer(ctx, who, ActPlan, staff.Resource{Kind: "node", ID: r.node, Subjects: []auditlog.Actor{operator(p.Auditor)}}, "plan",
		"auditor:"+p.Auditor,
		fmt.Sprintf("plan a %s audit %q of %s to %s by %s: %s; articles: %s", p.Kind, p.Title, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly),
			p.Auditor, p.Scope, scope),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			err := tx.QueryRow(ctx, `INSERT INTO sysaudit_plan (kind, title, period_from, period_to, scope, articles, auditor, state, planned_by, planned_at, planned_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, string(p.Kind), p.Title, p.From.Format(time.DateOnly), p.To.Format(time.DateOnly),
				p.Scope, strings.Join(p.Articles, ","), p.Auditor, string(Planned), who.Actor.String(), now, seq).Scan(&id)
			if err != nil {
				return fmt.Errorf("record audit plan: %w", err)
			}
			return nil
		})
	return id, err
}

// conductor is the resource of conduct-audit for plan p: the Person it
// names as auditor.
func conductor(p Plan) staff.Resource { return staff.Resource{Kind: "person", ID: p.Auditor} }

// Generate generates the checklist of a planned audit, with the evidence
// the node collects for each check now, read up to the log's last entry;
// it returns the audit with its checklist. A checklist is generated once:
// its evidence is what the node showed at that moment.
func (r *Register) Generate(ctx context.Context, who staff.Who, id int64) (Plan, error) {
	p, err := Get(ctx, r.db, id)
	if err != nil {
		return Plan{}, err
	}
	if p.State != Planned {
		return Plan{}, apperr.New(apperr.Conflict, fmt.Sprintf("audit %d is %s: its checklist was generated", id, p.State),
			fmt.Sprintf("第%d号の監査のチェックリストは作成済みです（現在: %s）", id, p.State.Japanese()))
	}
	query := fmt.Sprintf("audit:%d", id)
	// Collecting the evidence reads the whole log: refused before, the
	// refusal is logged without the reading.
	if r.authz == nil || !r.authz.MayAdminister(ctx, who, ActConduct, conductor(p)).Allow {
		return Plan{}, r.administer(ctx, who, ActConduct, conductor(p), "checklist", query, "generate the checklist",
			func(context.Context, *db.Tx, int64, time.Time) error { return nil })
	}
	checks, upTo, err := r.collect(ctx, p)
	if err != nil {
		return Plan{}, err
	}
	attention := 0
	for _, c := range checks {
		if c.Attention {
			attention++
		}
	}
	err = r.administer(ctx, who, ActConduct, conductor(p), "checklist", query,
		fmt.Sprintf("checklist of audit %d: %d checks, evidence read up to entry %d, %d to look at", id, len(checks), upTo, attention),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE sysaudit_plan SET state = ?, generated_by = ?, generated_at = ?, generated_seq = ?, evidence_upto = ? WHERE id = ? AND state = ?`,
				string(InProgress), who.Actor.String(), now, seq, upTo, id, string(Planned))
			if err != nil {
				return fmt.Errorf("record the checklist of audit %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("the checklist of audit %d was generated meanwhile", id), fmt.Sprintf("第%d号の監査のチェックリストは作成済みです", id))
			}
			for _, c := range checks {
				if _, err := tx.Exec(ctx, `INSERT INTO sysaudit_check (plan_id, position, article, feature, evidence, figures, attention) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					id, c.Position, c.Article, c.Feature, c.Evidence, c.FiguresText(), c.Attention); err != nil {
					return fmt.Errorf("record check %d of audit %d: %w", c.Position, id, err)
				}
			}
			return nil
		})
	if err != nil {
		return Plan{}, err
	}
	return Get(ctx, r.db, id)
}

// inProgress refuses a change to audit p unless its checklist is
// generated and it is not completed.
func inProgress(p Plan, whatJA string) error {
	switch p.State {
	case InProgress:
		return nil
	case Planned:
		return apperr.New(apperr.Conflict, fmt.Sprintf("audit %d has no checklist yet", p.ID),
			fmt.Sprintf("第%d号の監査はチェックリストが未作成のため、%sできません。先にチェックリストを作成してください", p.ID, whatJA))
	}
	return apperr.New(apperr.Conflict, fmt.Sprintf("audit %d is completed", p.ID), fmt.Sprintf("第%d号の監査は完了しているため、%sできません", p.ID, whatJA))
}

// checkOf finds a check and its audit.
func checkOf(ctx context.Context, q db.Querier, checkID int64) (Plan, Check, error) {
	var planID int64
	err := q.QueryRow(ctx, `SELECT plan_id FROM sysaudit_check WHERE id = ?`, checkID).Scan(&planID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Plan{}, Check{}, apperr.New(apperr.NotFound, fmt.Sprintf("check %d is not recorded", checkID), fmt.Sprintf("点検項目 %d はありません", checkID))
	case err != nil:
		return Plan{}, Check{}, fmt.Errorf("find check %d: %w", checkID, err)
	}
	p, err := Get(ctx, q, planID)
	if err != nil {
		return Plan{}, Check{}, err
	}
	for _, c := range p.Checks {
		if c.ID == checkID {
			return p, c, nil
		}
	}
	return Plan{}, Check{}, fmt.Errorf("check %d: not found with audit %d", checkID, planID)
}

// Assess records the auditor's assessment of a check: conforming,
// nonconforming or not applicable, with a note (required unless it
// conforms).
func (r *Register) Assess(ctx context.Context, who staff.Who, checkID int64, result Result, note string) error {
	note = strings.TrimSpace(note)
	if result != Conforming && result != Nonconforming && result != NotApplicable {
		return apperr.New(apperr.Invalid, fmt.Sprintf("result %q: conforming, nonconforming or not-applicable", result), "点検の結果（適合・不適合・該当なし）を選んでください")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldNote, Text: note, Required: result != Conforming}); err != nil {
		return err
	}
	p, c, err := checkOf(ctx, r.db, checkID)
	if err != nil {
		return err
	}
	if err := inProgress(p, "点検の結果を記録"); err != nil {
		return err
	}
	return r.administer(ctx, who, ActConduct, conductor(p), "assess", fmt.Sprintf("audit:%d check:%d", p.ID, checkID),
		fmt.Sprintf("check %d of audit %d (%s, %s): %s; %s", c.Position, p.ID, c.Article, c.Feature, result, note),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if _, err := tx.Exec(ctx, `UPDATE sysaudit_check SET result = ?, note = ?, assessed_by = ?, assessed_at = ?, assessed_seq = ? WHERE id = ?`,
				string(result), note, who.Actor.String(), now, seq, checkID); err != nil {
				return fmt.Errorf("record the assessment of check %d: %w", checkID, err)
			}
			return nil
		})
}

// RecordFinding records a finding on a check of an audit in progress (the
// check's article is the finding's), marks the check nonconforming, and
// returns the finding's number.
func (r *Register) RecordFinding(ctx context.Context, who staff.Who, f Finding) (int64, error) {
	f.Description, f.RootCause = strings.TrimSpace(f.Description), strings.TrimSpace(f.RootCause)
	if f.Severity != High && f.Severity != Medium && f.Severity != Low {
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("severity %q: high, medium or low", f.Severity), "指摘の重要度（高・中・低）を選んでください")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldDescription, Text: f.Description, Required: true},
		resident.Value{Field: FieldRootCause, Text: f.RootCause, Required: true}); err != nil {
		return 0, err
	}
	if f.Check <= 0 {
		return 0, apperr.New(apperr.Invalid, "check: name the check the finding is on", "指摘の対象の点検項目を選んでください")
	}
	p, c, err := checkOf(ctx, r.db, f.Check)
	if err != nil {
		return 0, err
	}
	if err := inProgress(p, "指摘を記録"); err != nil {
		return 0, err
	}
	var id int64
	err = r.administer(ctx, who, ActConduct, conductor(p), "finding", fmt.Sprintf("audit:%d check:%d", p.ID, c.ID),
		fmt.Sprintf("finding of audit %d on check %d (%s, %s), severity %s: %s; root cause: %s", p.ID, c.Position, c.Article, c.Feature, f.Severity, f.Description, f.RootCause),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := tx.QueryRow(ctx, `INSERT INTO sysaudit_finding (plan_id, check_id, article, severity, description, root_cause, recorded_by, recorded_at, recorded_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.ID, c.ID, c.Article, string(f.Severity), f.Description, f.RootCause,
				who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record finding: %w", err)
			}
			if _, err := tx.Exec(ctx, `UPDATE sysaudit_check SET result = ?, note = CASE WHEN note = '' THEN ? ELSE note END, assessed_by = ?, assessed_at = ?, assessed_seq = ? WHERE id = ?`,
				string(Nonconforming), f.Description, who.Actor.String(), now, seq, c.ID); err != nil {
				return fmt.Errorf("mark check %d nonconforming: %w", c.ID, err)
			}
			return nil
		})
	return id, err
}

// findingOf finds a finding and its audit.
func findingOf(ctx context.Context, q db.Querier, findingID int64) (Plan, Finding, error) {
	var planID int64
	err := q.QueryRow(ctx, `SELECT plan_id FROM sysaudit_finding WHERE id = ?`, findingID).Scan(&planID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Plan{}, Finding{}, apperr.New(apperr.NotFound, fmt.Sprintf("finding %d is not recorded", findingID), fmt.Sprintf("指摘 %d はありません", findingID))
	case err != nil:
		return Plan{}, Finding{}, fmt.Errorf("find finding %d: %w", findingID, err)
	}
	p, err := Get(ctx, q, planID)
	if err != nil {
		return Plan{}, Finding{}, err
	}
	for _, f := range p.Findings {
		if f.ID == findingID {
			return p, f, nil
		}
	}
	return Plan{}, Finding{}, fmt.Errorf("finding %d: not found with audit %d", findingID, planID)
}

// AddAction records a corrective action of a finding: what is to be done,
// its owner (an active staff member) and the last day it is due, on or
// after the last day audited and within three years of today (an action
// agreed before it was entered may be due already). It returns the
// action's number.
func (r *Register) AddAction(ctx context.Context, who staff.Who, a Action) (int64, error) {
	a.Description, a.Owner = strings.TrimSpace(a.Description), strings.TrimSpace(a.Owner)
	if err := resident.CheckValues(resident.Value{Field: FieldAction, Text: a.Description, Required: true}); err != nil {
		return 0, err
	}
	if a.Owner == "" {
		return 0, apperr.New(apperr.Invalid, "owner: name who carries the action out", "是正措置の担当者（照合ID）を指定してください")
	}
	if a.Due.IsZero() {
		return 0, apperr.New(apperr.Invalid, "due: enter the day the action is due", "是正措置の期限を入力してください")
	}
	if a.Finding <= 0 {
		return 0, apperr.New(apperr.Invalid, "finding: name the finding", "是正措置の対象の指摘を選んでください")
	}
	p, f, err := findingOf(ctx, r.db, a.Finding)
	if err != nil {
		return 0, err
	}
	today := jptext.Midnight(r.now())
	switch {
	case a.Due.Before(p.To):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("due %s is before the last day audited %s", a.Due.Format(time.DateOnly), p.To.Format(time.DateOnly)),
			fmt.Sprintf("是正措置の期限（%s）が監査の対象期間の末日（%s）より前です", jptext.FormatWareki(a.Due), jptext.FormatWareki(p.To)))
	case a.Due.After(today.AddDate(3, 0, 0)):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("due %s is more than three years away", a.Due.Format(time.DateOnly)),
			fmt.Sprintf("是正措置の期限（%s）が3年より先です", jptext.FormatWareki(a.Due)))
	}
	if p.State == Planned {
		return 0, inProgress(p, "是正措置を記録")
	}
	if _, err := r.activeMember(ctx, a.Owner, "owner", "是正措置の担当者"); err != nil {
		return 0, err
	}
	var id int64
	err = r.administer(ctx, who, ActConduct, conductor(p), "action", fmt.Sprintf("audit:%d finding:%d owner:%s", p.ID, f.ID, a.Owner),
		fmt.Sprintf("corrective action of finding %d of audit %d, owner %s, due %s: %s", f.ID, p.ID, a.Owner, a.Due.Format(time.DateOnly), a.Description),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := tx.QueryRow(ctx, `INSERT INTO sysaudit_action (finding_id, description, owner, due_on, created_by, created_at, created_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, f.ID, a.Description, a.Owner, a.Due.Format(time.DateOnly), who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record corrective action: %w", err)
			}
			return nil
		})
	return id, err
}

// GetAction returns one corrective action with its follow-up notes.
func GetAction(ctx context.Context, q db.Querier, id int64) (Action, error) {
	all, err := actions(ctx, q, " WHERE a.id = ?", id)
	if err != nil {
		return Action{}, err
	}
	if len(all) == 0 {
		return Action{}, apperr.New(apperr.NotFound, fmt.Sprintf("corrective action %d is not recorded", id), fmt.Sprintf("是正措置 %d はありません", id))
	}
	return all[0], nil
}

// FollowUp records a note on the progress of a corrective action not yet
// closed: by its owner, the auditor or the chief, as the policies say.
func (r *Register) FollowUp(ctx context.Context, who staff.Who, actionID int64, note string) error {
	note = strings.TrimSpace(note)
	if err := resident.CheckValues(resident.Value{Field: FieldFollowUp, Text: note, Required: true}); err != nil {
		return err
	}
	a, err := GetAction(ctx, r.db, actionID)
	if err != nil {
		return err
	}
	if a.Closed() {
		return apperr.New(apperr.Conflict, fmt.Sprintf("corrective action %d is closed", actionID), fmt.Sprintf("是正措置 %d は完了しています", actionID))
	}
	return r.administer(ctx, who, ActFollowUp, staff.Resource{Kind: "person", ID: a.Owner}, "follow-up",
		fmt.Sprintf("audit:%d action:%d", a.Plan, actionID), fmt.Sprintf("follow-up of corrective action %d: %s", actionID, note),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if _, err := tx.Exec(ctx, `INSERT INTO sysaudit_followup (action_id, note, recorded_by, recorded_at, recorded_seq) VALUES (?, ?, ?, ?, ?)`,
				actionID, note, who.Actor.String(), now, seq); err != nil {
				return fmt.Errorf("record follow-up of action %d: %w", actionID, err)
			}
			return nil
		})
}

// CloseAction closes a corrective action with the evidence of its
// completion. Its owner is the request's subject: the profiles'
// separation-of-duty rule refuses him (koto-ward:9, aomori-pref:11).
func (r *Register) CloseAction(ctx context.Context, who staff.Who, actionID int64, evidence string) error {
	evidence = strings.TrimSpace(evidence)
	if err := resident.CheckValues(resident.Value{Field: FieldClosure, Text: evidence, Required: true}); err != nil {
		return err
	}
	a, err := GetAction(ctx, r.db, actionID)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActClose, staff.Resource{Kind: "node", ID: r.node, Subjects: []auditlog.Actor{operator(a.Owner)}}, "close",
		fmt.Sprintf("audit:%d action:%d owner:%s", a.Plan, actionID, a.Owner), fmt.Sprintf("close corrective action %d: %s", actionID, evidence),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE sysaudit_action SET closed_by = ?, closed_at = ?, closed_seq = ?, closure_evidence = ? WHERE id = ? AND closed_at IS NULL`,
				who.Actor.String(), now, seq, evidence, actionID)
			if err != nil {
				return fmt.Errorf("close corrective action %d: %w", actionID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("corrective action %d is closed", actionID), fmt.Sprintf("是正措置 %d は完了しています", actionID))
			}
			return nil
		})
}

// Complete records the conclusion of an audit in progress (the evaluation
// of koto-ward:9). Every check whose evidence showed something to look at
// must be assessed first.
func (r *Register) Complete(ctx context.Context, who staff.Who, id int64, conclusion string) error {
	conclusion = strings.TrimSpace(conclusion)
	if err := resident.CheckValues(resident.Value{Field: FieldConclusion, Text: conclusion, Required: true}); err != nil {
		return err
	}
	p, err := Get(ctx, r.db, id)
	if err != nil {
		return err
	}
	if err := inProgress(p, "完了"); err != nil {
		return err
	}
	var open []string
	for _, c := range p.Checks {
		if c.Attention && c.Result == Unassessed {
			open = append(open, strconv.Itoa(c.Position))
		}
	}
	if len(open) > 0 {
		return apperr.New(apperr.Conflict, fmt.Sprintf("audit %d: checks %s show something to look at and are not assessed", id, strings.Join(open, ", ")),
			fmt.Sprintf("要確認の点検項目（%s）の結果が未記録のため、監査を完了できません", strings.Join(open, "、")))
	}
	return r.administer(ctx, who, ActConduct, conductor(p), "complete", fmt.Sprintf("audit:%d", id), fmt.Sprintf("complete audit %d: %s", id, conclusion),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE sysaudit_plan SET state = ?, completed_by = ?, completed_at = ?, completed_seq = ?, conclusion = ? WHERE id = ? AND state = ?`,
				string(Completed), who.Actor.String(), now, seq, conclusion, id, string(InProgress))
			if err != nil {
				return fmt.Errorf("complete audit %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("audit %d was completed meanwhile", id), fmt.Sprintf("第%d号の監査は完了しています", id))
			}
			return nil
		})
}

// Overdue returns the corrective actions past their due day and not
// closed at now (the node's clock), the longest overdue first: what the
// dashboard shows.
func Overdue(ctx context.Context, q db.Querier, now time.Time) ([]Action, error) {
	today := jptext.Midnight(now)
	all, err := actions(ctx, q, " WHERE a.closed_at IS NULL AND a.due_on < ?", today.Format(time.DateOnly))
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, a := range all {
		if a.OverdueAt(now) {
			out = append(out, a)
		}
	}
	slices.SortStableFunc(out, func(x, y Action) int { return x.Due.Compare(y.Due) })
	return out, nil
}

// OpenActions returns the corrective actions not closed, due soonest first.
func OpenActions(ctx context.Context, q db.Querier) ([]Action, error) {
	all, err := actions(ctx, q, " WHERE a.closed_at IS NULL")
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(all, func(x, y Action) int { return x.Due.Compare(y.Due) })
	return all, nil
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

// List returns every audit, newest first, with its findings and their
// actions (not its checklist: Get reads that).
func List(ctx context.Context, q db.Querier) ([]Plan, error) {
	plans, err := plans(ctx, q, 0)
	if err != nil {
		return nil, err
	}
	if err := addFindings(ctx, q, plans, 0); err != nil {
		return nil, err
	}
	return plans, nil
}

// Get returns one audit with its checklist, findings, actions and
// follow-up notes.
func Get(ctx context.Context, q db.Querier, id int64) (Plan, error) {
	ps, err := plans(ctx, q, id)
	if err != nil {
		return Plan{}, err
	}
	if len(ps) == 0 {
		return Plan{}, apperr.New(apperr.NotFound, fmt.Sprintf("audit %d is not recorded", id), fmt.Sprintf("第%d号の監査はありません", id))
	}
	p := &ps[0]
	rows, err := q.Query(ctx, `SELECT id, position, article, feature, evidence, figures, attention, result, note, assessed_by, assessed_at
		FROM sysaudit_check WHERE plan_id = ? ORDER BY position`, id)
	if err != nil {
		return Plan{}, fmt.Errorf("read the checklist of audit %d: %w", id, err)
	}
	for rows.Next() {
		c := Check{Plan: id}
		var figures, result string
		var assessed sql.NullTime
		if err := rows.Scan(&c.ID, &c.Position, &c.Article, &c.Feature, &c.Evidence, &figures, &c.Attention, &result, &c.Note, &c.AssessedBy, &assessed); err != nil {
			rows.Close()
			return Plan{}, fmt.Errorf("read the checklist of audit %d: %w", id, err)
		}
		c.Figures, c.Result, c.AssessedAt = parseFigures(figures), Result(result), timeOf(assessed)
		p.Checks = append(p.Checks, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Plan{}, fmt.Errorf("read the checklist of audit %d: %w", id, err)
	}
	if err := addFindings(ctx, q, ps, id); err != nil {
		return Plan{}, err
	}
	return ps[0], nil
}

// plans reads the audits, or only the one with id when id > 0.
func plans(ctx context.Context, q db.Querier, id int64) ([]Plan, error) {
	where, args := "", []any{}
	if id > 0 {
		where, args = " WHERE id = ?", []any{id}
	}
	rows, err := q.Query(ctx, `SELECT id, kind, title, period_from, period_to, scope, articles, auditor, state, planned_by, planned_at,
		generated_by, generated_at, COALESCE(evidence_upto, -1), completed_by, completed_at, conclusion FROM sysaudit_plan`+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list audits: %w", err)
	}
	defer rows.Close()
	var out []Plan
	for rows.Next() {
		var p Plan
		var kind, from, to, articles, state string
		var generated, completed sql.NullTime
		if err := rows.Scan(&p.ID, &kind, &p.Title, &from, &to, &p.Scope, &articles, &p.Auditor, &state, &p.PlannedBy, &p.PlannedAt,
			&p.GeneratedBy, &generated, &p.UpTo, &p.CompletedBy, &completed, &p.Conclusion); err != nil {
			return nil, fmt.Errorf("list audits: %w", err)
		}
		if p.From, err = parseDay(from); err == nil {
			p.To, err = parseDay(to)
		}
		if err != nil {
			return nil, fmt.Errorf("audit %d: %w", p.ID, err)
		}
		p.Kind, p.State, p.GeneratedAt, p.CompletedAt = Kind(kind), State(state), timeOf(generated), timeOf(completed)
		if articles != "" {
			p.Articles = strings.Split(articles, ",")
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// addFindings gives the audits their findings with their actions (of the
// audit id only when id > 0).
func addFindings(ctx context.Context, q db.Querier, ps []Plan, id int64) error {
	if len(ps) == 0 {
		return nil
	}
	byPlan := map[int64]int{}
	for i, p := range ps {
		byPlan[p.ID] = i
	}
	where, args := "", []any{}
	if id > 0 {
		where, args = " WHERE plan_id = ?", []any{id}
	}
	rows, err := q.Query(ctx, `SELECT id, plan_id, check_id, article, severity, description, root_cause, recorded_by, recorded_at
		FROM sysaudit_finding`+where+` ORDER BY id`, args...)
	if err != nil {
		return fmt.Errorf("list findings: %w", err)
	}
	var all []Finding
	for rows.Next() {
		var f Finding
		var severity string
		if err := rows.Scan(&f.ID, &f.Plan, &f.Check, &f.Article, &severity, &f.Description, &f.RootCause, &f.RecordedBy, &f.RecordedAt); err != nil {
			rows.Close()
			return fmt.Errorf("list findings: %w", err)
		}
		f.Severity = Severity(severity)
		all = append(all, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list findings: %w", err)
	}
	awhere, aargs := "", []any{}
	if id > 0 {
		awhere, aargs = " WHERE f.plan_id = ?", []any{id}
	}
	acts, err := actions(ctx, q, awhere, aargs...)
	if err != nil {
		return err
	}
	for i := range all {
		for _, a := range acts {
			if a.Finding == all[i].ID {
				all[i].Actions = append(all[i].Actions, a)
			}
		}
		if j, ok := byPlan[all[i].Plan]; ok {
			ps[j].Findings = append(ps[j].Findings, all[i])
		}
	}
	return nil
}

// actions reads corrective actions (a) with their finding's audit (f) and
// follow-up notes, by number.
func actions(ctx context.Context, q db.Querier, where string, args ...any) ([]Action, error) {
	rows, err := q.Query(ctx, `SELECT a.id, a.finding_id, f.plan_id, a.description, a.owner, a.due_on, a.created_by, a.created_at,
		a.closed_by, a.closed_at, a.closure_evidence FROM sysaudit_action a JOIN sysaudit_finding f ON f.id = a.finding_id`+where+` ORDER BY a.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list corrective actions: %w", err)
	}
	var out []Action
	byID := map[int64]int{}
	for rows.Next() {
		var a Action
		var due string
		var closed sql.NullTime
		if err := rows.Scan(&a.ID, &a.Finding, &a.Plan, &a.Description, &a.Owner, &due, &a.CreatedBy, &a.CreatedAt, &a.ClosedBy, &closed, &a.Evidence); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list corrective actions: %w", err)
		}
		if a.Due, err = parseDay(due); err != nil {
			rows.Close()
			return nil, fmt.Errorf("corrective action %d: %w", a.ID, err)
		}
		a.ClosedAt = timeOf(closed)
		byID[a.ID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list corrective actions: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	frows, err := q.Query(ctx, `SELECT id, action_id, note, recorded_by, recorded_at FROM sysaudit_followup ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list follow-up notes: %w", err)
	}
	defer frows.Close()
	for frows.Next() {
		var f FollowUp
		if err := frows.Scan(&f.ID, &f.Action, &f.Note, &f.By, &f.At); err != nil {
			return nil, fmt.Errorf("list follow-up notes: %w", err)
		}
		if i, ok := byID[f.Action]; ok {
			out[i].FollowUps = append(out[i].FollowUps, f)
		}
	}
	return out, frows.Err()
}

// ReportExport returns audit id for who (a reader the policies let see the
// audits, view-audits) taken out of the node as its report (format pdf or
// csv), logged as sysaudit.report — the report carries the evidence read
// from the log — with the form it produces recorded in the forms register
// in the same transaction (koto-ward:14); render lays the report out with the form's control number
// on it; destination is where it goes (empty: to who). A refusal is logged
// and produces no form.
func (r *Register) ReportExport(ctx context.Context, who staff.Who, id int64, format string, render func(Plan, form.Number) ([]byte, error), destination string) (Plan, form.Form, []byte, error) {
	if r.Forms == nil {
		return Plan{}, form.Form{}, nil, apperr.New(apperr.Unavailable, "no forms register: exports are refused", "帳票管理簿がないため、出力できません")
	}
	p, err := Get(ctx, r.db, id)
	if err != nil {
		return Plan{}, form.Form{}, nil, err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "sysaudit.report", Query: fmt.Sprintf("audit:%d", id),
		Detail: fmt.Sprintf("report of audit %d (%s): %d checks, %d findings, evidence up to entry %d", id, format, len(p.Checks), len(p.Findings), p.UpTo)}
	out := form.Output{Kind: form.KindSysauditReport, Format: format, Title: fmt.Sprintf("システム監査報告書 第%d号 %s", p.ID, p.Title),
		Covers: p.From.Format(time.DateOnly) + "〜" + p.To.Format(time.DateOnly), Destination: destination}
	f, b, err := r.Forms.Export(ctx, who, ActView, staff.Resource{Kind: "node", ID: r.node}, e, out, func(n form.Number) ([]byte, error) { return render(p, n) }, nil)
	if err != nil {
		return Plan{}, form.Form{}, nil, err
	}
	return p, f, b, nil
}

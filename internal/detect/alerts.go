package detect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// Alert states.
const (
	StateOpen   = "open"
	StateClosed = "closed"
)

// Alert is a finding kept for investigation.
type Alert struct {
	ID        int64
	Finding             // what was found
	RaisedAt  time.Time // first raised
	RaisedSeq int64     // the detection run's audit entry
	State     string
	Reopened  bool // closed once, and found again with more since
	ClosedBy  string
	ClosedAt  time.Time
	Outcome   string // the closing person's finding
}

// Described is what was found, in Japanese (ja) or English.
func (a Alert) Described(lang string) string {
	if lang == "en" {
		return a.Detail
	}
	return a.DetailJA
}

// RuleName is the rule's name in Japanese (ja) or English.
func (a Alert) RuleName(lang string) string {
	if lang == "en" {
		return RuleNames[a.Rule][1]
	}
	return RuleNames[a.Rule][0]
}

// Authorizer decides who may close alerts (the policy engine).
type Authorizer interface {
	MayAdminister(ctx context.Context, who staff.Who, action string, r staff.Resource) staff.Verdict
}

// Detector runs the rules over a node's audit log and keeps the alerts.
type Detector struct {
	db       *db.DB
	log      *auditlog.Log
	authz    Authorizer
	node     string
	settings Settings
}

// New returns a detector for the node whose code (or name) is node.
func New(d *db.DB, log *auditlog.Log, authz Authorizer, node string, s Settings) (*Detector, error) {
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("detection settings: %w", err)
	}
	return &Detector{db: d, log: log, authz: authz, node: node, settings: s}, nil
}

// RunReport says what one detection run did.
type RunReport struct {
	Scanned         int      // new entries read
	Days            []string // days recomputed
	Raised, Updated int      // alerts raised, and open ones whose count grew
	Reopened        int      // closed alerts found again with more since
	AuditSeq        int64    // the run's audit entry; -1 when nothing was written
	ScannedThrough  int64    // the last entry read
}

func (r RunReport) String() string {
	if r.AuditSeq < 0 {
		return fmt.Sprintf("detection: nothing new to check (%d entries read, none by a person)", r.Scanned)
	}
	return fmt.Sprintf("detection: %d entries read through %d, days %s: %d alerts raised, %d updated, %d reopened (audit entry %d)",
		r.Scanned, r.ScannedThrough, strings.Join(r.Days, ", "), r.Raised, r.Updated, r.Reopened, r.AuditSeq)
}

// systemActor is who detection runs are logged as.
var systemActor = auditlog.Actor{Kind: auditlog.ActorSystem, ID: "detection"}

// ErrOvertaken is returned by a run that another run (serve beside
// jukinet detect run) overtook: the other read the same entries first and
// its alerts stand; this run changed nothing.
var ErrOvertaken = errors.New("another detection run read these entries first; nothing was changed")

// Run reads the audit entries since the last run and, if a person made any
// of them, recomputes the rules for the days they fall on and raises,
// updates or reopens alerts — in one transaction with the run's audit
// entry, which records how far it read. A run that finds no new entry by a
// person writes nothing.
func (d *Detector) Run(ctx context.Context) (RunReport, error) {
	p, err := d.plan(ctx)
	if err != nil || p.rep.Days == nil {
		return p.rep, err
	}
	return d.commit(ctx, p)
}

// plan is what a run found, before it is stored.
type plan struct {
	from     int64 // the last entry the previous run read
	rep      RunReport
	findings []Finding
}

// plan reads the entries after the last run and evaluates the rules for
// the days people made them on (none: Days is nil).
func (d *Detector) plan(ctx context.Context) (plan, error) {
	p := plan{rep: RunReport{AuditSeq: -1}}
	if err := d.db.QueryRow(ctx, `SELECT scanned_seq FROM detection_state WHERE id = 1`).Scan(&p.from); err != nil {
		return p, fmt.Errorf("detection: read progress: %w", err)
	}
	heads, err := auditlog.Heads(ctx, d.db, p.from)
	if err != nil {
		return p, fmt.Errorf("detection: %w", err)
	}
	p.rep.Scanned, p.rep.ScannedThrough = len(heads), p.from
	days := map[string]bool{}
	for _, h := range heads {
		p.rep.ScannedThrough = h.Seq
		if human(h.Actor) {
			days[dayOf(h.At)] = true
		}
	}
	for day := range days {
		p.rep.Days = append(p.rep.Days, day)
	}
	sort.Strings(p.rep.Days)
	for _, day := range p.rep.Days {
		start, end, err := dayBounds(day)
		if err != nil {
			return p, err
		}
		entries, err := auditlog.Range(ctx, d.db, start, end, p.rep.ScannedThrough, accessActions...)
		if err != nil {
			return p, fmt.Errorf("detection: day %s: %w", day, err)
		}
		earlier, err := d.earlier(ctx, start, RepeatPairs(d.settings, entries), p.rep.ScannedThrough)
		if err != nil {
			return p, fmt.Errorf("detection: day %s: %w", day, err)
		}
		p.findings = append(p.findings, EvaluateWith(d.settings, day, entries, earlier)...)
	}
	rooms, err := roomFindings(ctx, d.db, p.from, p.rep.ScannedThrough)
	if err != nil {
		return p, fmt.Errorf("detection: %w", err)
	}
	p.findings = append(p.findings, rooms...)
	return p, nil
}

// earlier reads, for each person and resident read unexplained on the day
// starting at start, the earlier days of the repeat window on which the
// person read the resident unexplained too (entries up to upTo), by the
// log's per-resident index.
func (d *Detector) earlier(ctx context.Context, start time.Time, pairs []Pair, upTo int64) (Earlier, error) {
	out := Earlier{}
	since := start.AddDate(0, 0, -(d.settings.RepeatWindowDays - 1))
	for _, p := range pairs {
		ls, err := auditlog.List(ctx, d.db, auditlog.Filter{Resident: p.Resident, Actor: p.Actor, Since: since, After: -1, Limit: 100000})
		if err != nil {
			return nil, fmt.Errorf("earlier reads of %s by %s: %w", p.Resident, p.Actor, err)
		}
		for _, l := range ls {
			if l.Seq > upTo || !l.At.Before(start) || !access(l) || !slices.Contains(readActions, l.Action) || !d.settings.unexplained(l.Entry) {
				continue
			}
			if day := dayOf(l.At); !slices.Contains(out[p], day) {
				out[p] = append(out[p], day)
			}
		}
	}
	return out, nil
}

// commit stores a plan's findings with the run's audit entry, unless
// another run has read past p.from meanwhile (ErrOvertaken).
func (d *Detector) commit(ctx context.Context, p plan) (RunReport, error) {
	rep := p.rep
	e := auditlog.Entry{
		Node: d.node, Actor: systemActor, Origin: "node:" + d.node, Action: "detect",
		Decision: auditlog.Allow, Policy: "jukinet:detection", Outcome: auditlog.OutcomeOK,
		Query: fmt.Sprintf("entries %d–%d", p.from+1, rep.ScannedThrough),
	}
	seq, workErr, err := d.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		res, err := tx.Exec(ctx, `UPDATE detection_state SET scanned_seq = ? WHERE id = 1 AND scanned_seq = ?`, rep.ScannedThrough, p.from)
		if err != nil {
			return fmt.Errorf("record detection progress: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrOvertaken
		}
		rep.Raised, rep.Updated, rep.Reopened = 0, 0, 0
		for _, f := range p.findings {
			if err := d.keep(ctx, tx, f, seq, e.Time, &rep); err != nil {
				return err
			}
		}
		e.Count = rep.Raised + rep.Updated + rep.Reopened
		e.Detail = fmt.Sprintf("days %s: raised=%d updated=%d reopened=%d", strings.Join(rep.Days, ","), rep.Raised, rep.Updated, rep.Reopened)
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("detection: %w", err)
	}
	if workErr != nil {
		return rep, fmt.Errorf("detection: %w", workErr)
	}
	rep.AuditSeq = seq
	return rep, nil
}

// keep stores one finding: a new alert, a larger count on an open one, or
// a closed one reopened because more was found since it was closed.
func (d *Detector) keep(ctx context.Context, tx *db.Tx, f Finding, seq int64, now time.Time, rep *RunReport) error {
	var id, count int64
	var state string
	var closedCount sql.NullInt64
	err := tx.QueryRow(ctx, `SELECT id, count, state, closed_count FROM detection_alert WHERE rule = ? AND day = ? AND subject = ?`,
		f.Rule, f.Day, f.Subject).Scan(&id, &count, &state, &closedCount)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO detection_alert (rule, day, subject, count, detail, detail_ja, first_seq, last_seq, raised_at, raised_seq, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.Rule, f.Day, f.Subject, f.Count, f.Detail, f.DetailJA, f.FirstSeq, f.LastSeq, now, seq, StateOpen); err != nil {
			return fmt.Errorf("raise alert: %w", err)
		}
		rep.Raised++
		return nil
	case err != nil:
		return fmt.Errorf("read alert: %w", err)
	}
	if int64(f.Count) <= count {
		return nil
	}
	if state == StateClosed {
		rep.Reopened++
	} else {
		rep.Updated++
	}
	if _, err := tx.Exec(ctx, `UPDATE detection_alert SET count = ?, detail = ?, detail_ja = ?, first_seq = ?, last_seq = ?, state = ? WHERE id = ?`,
		f.Count, f.Detail, f.DetailJA, f.FirstSeq, f.LastSeq, StateOpen, id); err != nil {
		return fmt.Errorf("update alert %d: %w", id, err)
	}
	return nil
}

const alertColumns = `id, rule, day, subject, count, detail, detail_ja, first_seq, last_seq, raised_at, raised_seq, state, closed_count, closed_by, closed_at, finding`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var closedCount sql.NullInt64
	var closedBy, finding sql.NullString
	var closedAt sql.NullTime
	err := row.Scan(&a.ID, &a.Rule, &a.Day, &a.Subject, &a.Count, &a.Detail, &a.DetailJA, &a.FirstSeq, &a.LastSeq, &a.RaisedAt, &a.RaisedSeq,
		&a.State, &closedCount, &closedBy, &closedAt, &finding)
	a.Reopened = a.State == StateOpen && closedCount.Valid
	a.ClosedBy, a.ClosedAt, a.Outcome = closedBy.String, closedAt.Time, finding.String
	return a, err
}

// List returns the open alerts, newest day first, and when all is set the
// closed ones too.
func List(ctx context.Context, q db.Querier, all bool) ([]Alert, error) {
	where := `WHERE state = 'open'`
	if all {
		where = ""
	}
	rows, err := q.Query(ctx, `SELECT `+alertColumns+` FROM detection_alert `+where+` ORDER BY day DESC, rule, subject`)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	defer rows.Close()
	var out []Alert
	for rows.Next() {
		a, err := scanAlert(rows)
		if err != nil {
			return nil, fmt.Errorf("list alerts: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// OpenCount counts the open alerts.
func OpenCount(ctx context.Context, q db.Querier) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM detection_alert WHERE state = 'open'`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count alerts: %w", err)
	}
	return n, nil
}

// OpenCountOf counts the open alerts of one rule (the dashboard announces
// the immediate ones apart).
func OpenCountOf(ctx context.Context, q db.Querier, rule string) (int, error) {
	var n int
	if err := q.QueryRow(ctx, `SELECT COUNT(*) FROM detection_alert WHERE state = 'open' AND rule = ?`, rule).Scan(&n); err != nil {
		return 0, fmt.Errorf("count %s alerts: %w", rule, err)
	}
	return n, nil
}

// FieldFinding is what the finding an alert is closed with may hold
// (docs/fields.md).
var FieldFinding = resident.Field{Name: "finding", Japanese: "調査の結果（所見）", Class: resident.ClassText, Max: 2000}

// Close closes an open alert with the investigation's finding, if the
// policies let who investigate. The people the alert is about are the
// request's subjects, so the profiles' separation-of-duty rule refuses
// someone who would close an alert about his own acts (koto-ward:8.2,
// aomori-pref:8). The decision and the closing are logged; a refusal is
// logged too.
func (d *Detector) Close(ctx context.Context, who staff.Who, id int64, finding string) error {
	finding = strings.TrimSpace(finding)
	if finding == "" {
		return apperr.New(apperr.Invalid, "closing an alert needs the finding of its investigation", "調査の結果（所見）を入力してください").At("finding")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldFinding, Text: finding}); err != nil {
		return err
	}
	a, err := scanAlert(d.db.QueryRow(ctx, `SELECT `+alertColumns+` FROM detection_alert WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return apperr.New(apperr.NotFound, fmt.Sprintf("no alert %d", id), fmt.Sprintf("検知 %d はありません", id))
	}
	if err != nil {
		return fmt.Errorf("read alert %d: %w", id, err)
	}
	about, err := d.about(ctx, a)
	if err != nil {
		return err
	}
	e := auditlog.Entry{Node: d.node, Actor: who.Actor, Origin: who.Origin, Action: "detect.close", Query: fmt.Sprintf("alert:%d", id), Detail: finding}
	return staff.Administer(ctx, d.log, d.authz, who, staff.ActInvestigate, staff.Resource{Kind: "node", ID: d.node, Subjects: about}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			// Only as it was read: if a later run found more (other people
			// among them), the decision above was about another alert.
			res, err := tx.Exec(ctx, `UPDATE detection_alert SET state = ?, closed_count = count, closed_by = ?, closed_at = ?, closed_seq = ?, finding = ?
				WHERE id = ? AND state = ? AND last_seq = ?`, StateClosed, who.Actor.String(), now, seq, finding, id, StateOpen, a.LastSeq)
			if err != nil {
				return fmt.Errorf("close alert %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				if a.State == StateOpen {
					return apperr.New(apperr.Conflict, fmt.Sprintf("alert %d changed while it was being closed; look at it again", id),
						fmt.Sprintf("検知 %d は対応中に更新されました。内容を確かめてからもう一度閉じてください", id))
				}
				return apperr.New(apperr.NotFound, fmt.Sprintf("no open alert %d", id), fmt.Sprintf("未対応の検知 %d はありません", id))
			}
			return nil
		})
}

// about returns the people whose acts an alert is about: its subject for
// the rules that count one person's acts; for the crowd and spike rules
// (their subject is a resident), everyone who looked the resident up in the entries the
// alert covers.
func (d *Detector) about(ctx context.Context, a Alert) ([]auditlog.Actor, error) {
	if !AboutResident(a.Rule) {
		kind, id, ok := strings.Cut(a.Subject, ":")
		if !ok {
			return nil, nil
		}
		return []auditlog.Actor{{Kind: auditlog.ActorKind(kind), ID: id}}, nil
	}
	entries, err := auditlog.List(ctx, d.db, auditlog.Filter{Resident: a.Subject, After: a.FirstSeq - 1, Limit: 100000})
	if err != nil {
		return nil, fmt.Errorf("find who alert %d is about: %w", a.ID, err)
	}
	var out []auditlog.Actor
	seen := map[string]bool{}
	for _, l := range entries {
		if l.Seq > a.LastSeq || seen[l.Actor] || !human(l.Actor) {
			continue
		}
		seen[l.Actor] = true
		kind, id, _ := strings.Cut(l.Actor, ":")
		out = append(out, auditlog.Actor{Kind: auditlog.ActorKind(kind), ID: id})
	}
	return out, nil
}

// Alarm raises the immediate alert of a read of protected residents (支援措置,
// rule protected), allowed or refused, in the transaction of the read's
// audit entry e (sequence seq), for the security officers to see at once
// rather than at the next detection run: one alert per person and day,
// counting their reads of protected residents and naming each (time,
// action, residents, affair, case reference, allowed or refused). A closed
// alert of the day is reopened. The gate calls it (gate.Alarm).
func Alarm(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, protected []string) error {
	day, subject := dayOf(e.Time), e.Actor.String()
	at := e.Time.In(jptext.JST).Format("15:04")
	caseRef := strings.TrimSpace(e.CaseRef)
	en := fmt.Sprintf("%s %s of %s for %s, case %q: %s (%s)", at, e.Action, strings.Join(protected, ", "), e.Affair, caseRef,
		map[bool]string{true: "allowed", false: "refused"}[e.Decision == auditlog.Allow], e.Policy)
	caseJA := caseRef
	if caseJA == "" {
		caseJA = "なし"
	}
	ja := fmt.Sprintf("%s %s：%s（利用事務 %s、案件番号 %s）%s", at, e.Action, strings.Join(protected, "・"), e.Affair, caseJA,
		map[bool]string{true: "照会を許可", false: "照会を拒否"}[e.Decision == auditlog.Allow])
	var id, count int64
	var detail, detailJA string
	err := tx.QueryRow(ctx, `SELECT id, count, detail, detail_ja FROM detection_alert WHERE rule = ? AND day = ? AND subject = ?`,
		RuleProtected, day, subject).Scan(&id, &count, &detail, &detailJA)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.Exec(ctx, `INSERT INTO detection_alert (rule, day, subject, count, detail, detail_ja, first_seq, last_seq, raised_at, raised_seq, state)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, RuleProtected, day, subject, 1,
			protectedDetail("reads of residents under support measures (支援措置)", en),
			protectedDetail("支援措置の対象者の照会。業務上の必要と案件を直ちに確認してください", ja),
			seq, seq, e.Time, seq, StateOpen); err != nil {
			return fmt.Errorf("raise the immediate alert: %w", err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("read the immediate alert: %w", err)
	}
	count++
	if _, err := tx.Exec(ctx, `UPDATE detection_alert SET count = ?, detail = ?, detail_ja = ?, last_seq = ?, state = ? WHERE id = ?`,
		count, appendItem(detail, count, en), appendItem(detailJA, count, ja), seq, StateOpen, id); err != nil {
		return fmt.Errorf("update the immediate alert %d: %w", id, err)
	}
	return nil
}

// protectedDetail starts the detail of an immediate alert: what it is,
// then its items.
func protectedDetail(what, item string) string { return fmt.Sprintf("%s — %s", what, item) }

// maxDetail bounds an immediate alert's detail: later items are counted.
const maxDetail = 4000

// appendItem adds an item to an immediate alert's detail (the count says
// how many there are when the detail is full).
func appendItem(detail string, count int64, item string) string {
	if len(detail)+len(item) > maxDetail {
		if i := strings.LastIndex(detail, " [+"); i > 0 {
			detail = detail[:i]
		}
		return detail + fmt.Sprintf(" [+%d]", count)
	}
	return detail + "; " + item
}

// Package incident keeps the record of incidents (事案) and the measures
// the regulations require for them: on improper use or leakage,
// coordination with the prefecture and J-LIS, notice to residents and
// suspension (koto-ward:7.1); on an outage, coordination, notice and quick
// recovery (7.2); on improper use found, damage assessment, containment,
// recovery and a criminal complaint (8.2). Opening, every measure and the
// closing are decided by the profile's policies and logged; an incident
// closes only once the measures its kind requires are on record.
package incident

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
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The kinds of incident.
const (
	KindMisuse  = "misuse"  // 不適正な利用・不当な目的による取得 (7.1, 8)
	KindLeakage = "leakage" // 漏えい又は漏えいのおそれ (7.1)
	KindOutage  = "outage"  // 障害による作動停止 (7.2)
)

// Kinds lists the kinds in the order they are offered.
var Kinds = []string{KindMisuse, KindLeakage, KindOutage}

// The kinds of measure.
const (
	MeasureCoordination = "coordination" // 都等との連絡調整
	MeasureNotice       = "notice"       // 住民への周知
	MeasureSuspension   = "suspension"   // 利用停止
	MeasureAssessment   = "assessment"   // 被害状況の把握
	MeasureContainment  = "containment"  // 被害の拡大を防止するための措置
	MeasureRecovery     = "recovery"     // 被害の復旧・復旧
	MeasureComplaint    = "complaint"    // 刑事告発等
	MeasureNote         = "note"         // 経過
)

// Measures lists the kinds of measure in the order they are offered.
var Measures = []string{MeasureCoordination, MeasureNotice, MeasureSuspension, MeasureAssessment, MeasureContainment,
	MeasureRecovery, MeasureComplaint, MeasureNote}

// Names are the kinds' and measures' names, in Japanese and English.
var Names = map[string][2]string{
	KindMisuse:          {"不適正な利用", "Improper use"},
	KindLeakage:         {"漏えい・漏えいのおそれ", "Leakage or suspected leakage"},
	KindOutage:          {"障害による停止", "Outage"},
	MeasureCoordination: {"都等との連絡調整", "Coordination with the prefecture and J-LIS"},
	MeasureNotice:       {"住民への周知", "Notice to residents"},
	MeasureSuspension:   {"利用停止", "Suspension of use"},
	MeasureAssessment:   {"被害状況の把握", "Damage assessment"},
	MeasureContainment:  {"被害拡大の防止", "Containment"},
	MeasureRecovery:     {"復旧", "Recovery"},
	MeasureComplaint:    {"刑事告発等", "Criminal complaint"},
	MeasureNote:         {"経過", "Note"},
}

// Required are the measures an incident of each kind must have on record
// before it is closed, from the articles that require them.
var Required = map[string][]string{
	KindMisuse:  {MeasureCoordination, MeasureAssessment, MeasureContainment}, // 8.2
	KindLeakage: {MeasureCoordination, MeasureNotice, MeasureAssessment},      // 7.1, 8.2
	KindOutage:  {MeasureCoordination, MeasureNotice, MeasureRecovery},        // 7.2
}

// Name is a kind's or measure's name in Japanese (ja) or English.
func Name(id, lang string) string {
	if lang == "en" {
		return Names[id][1]
	}
	return Names[id][0]
}

// Incident is one incident and the measures taken.
type Incident struct {
	ID         int64
	Kind       string
	Title      string
	Summary    string
	AlertID    int64 // the detection alert it began from; 0 for none
	OpenedBy   string
	OpenedAt   time.Time
	State      string // open or closed
	ClosedBy   string
	ClosedAt   time.Time
	Conclusion string
	Measures   []Measure
}

// What an incident's text may hold (docs/fields.md).
var (
	FieldTitle       = resident.Field{Name: "title", Japanese: "件名", Class: resident.ClassText, Max: 200}
	FieldSummary     = resident.Field{Name: "summary", Japanese: "概要", Class: resident.ClassText, Max: 2000}
	FieldMeasureText = resident.Field{Name: "text", Japanese: "措置の内容", Class: resident.ClassText, Max: 2000}
	FieldConclusion  = resident.Field{Name: "conclusion", Japanese: "結論", Class: resident.ClassText, Max: 2000}
)

// Measure is one measure taken, as recorded.
type Measure struct {
	Kind    string
	Text    string
	TakenBy string
	TakenAt time.Time
}

// Missing are the measures the incident's kind requires that are not on
// record yet.
func (in Incident) Missing() []string {
	var out []string
	for _, m := range Required[in.Kind] {
		if !slices.ContainsFunc(in.Measures, func(x Measure) bool { return x.Kind == m }) {
			out = append(out, m)
		}
	}
	return out
}

// The incident states.
const (
	StateOpen   = "open"
	StateClosed = "closed"
)

// Register keeps a node's incidents.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	node  string
}

// New returns the register of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, node string) *Register {
	return &Register{db: d, log: log, authz: authz, node: node}
}

// change decides and logs an incident change (action incident.WHAT) and
// runs work in its transaction.
func (r *Register) change(ctx context.Context, who staff.Who, what, query, detail string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "incident." + what, Query: query, Detail: detail}
	return staff.Administer(ctx, r.log, r.authz, who, staff.ActManageIncidents, staff.Resource{Kind: "node", ID: r.node}, e, work)
}

// Open records a new incident and returns its number.
func (r *Register) Open(ctx context.Context, who staff.Who, in Incident) (int64, error) {
	in.Title, in.Summary = strings.TrimSpace(in.Title), strings.TrimSpace(in.Summary)
	switch {
	case !slices.Contains(Kinds, in.Kind):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: use misuse, leakage or outage", in.Kind), "事案の種類を選んでください").At("kind")
	case in.Title == "":
		return 0, apperr.New(apperr.Invalid, "an incident needs a title", "事案の件名を入力してください").At("title")
	case in.Summary == "":
		return 0, apperr.New(apperr.Invalid, "an incident needs a summary of what is known", "判明している事実（概要）を入力してください").At("summary")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldTitle, Text: in.Title}, resident.Value{Field: FieldSummary, Text: in.Summary}); err != nil {
		return 0, err
	}
	var alert any
	if in.AlertID > 0 {
		alert = in.AlertID
	}
	var id int64
	err := r.change(ctx, who, "open", "incident:new", fmt.Sprintf("%s: %s", in.Kind, in.Title),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if in.AlertID > 0 {
				var n int
				if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM detection_alert WHERE id = ?`, in.AlertID).Scan(&n); err != nil {
					return fmt.Errorf("find alert: %w", err)
				}
				if n == 0 {
					return apperr.New(apperr.NotFound, fmt.Sprintf("no alert %d", in.AlertID), fmt.Sprintf("検知 %d はありません", in.AlertID)).At("alert")
				}
			}
			return tx.QueryRow(ctx, `INSERT INTO incident (kind, title, summary, alert_id, opened_by, opened_at, opened_seq, state)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, in.Kind, in.Title, in.Summary, alert, who.Actor.String(), now, seq, StateOpen).Scan(&id)
		})
	return id, err
}

// Record adds a measure taken to an open incident.
func (r *Register) Record(ctx context.Context, who staff.Who, id int64, kind, text string) error {
	text = strings.TrimSpace(text)
	switch {
	case !slices.Contains(Measures, kind):
		return apperr.New(apperr.Invalid, fmt.Sprintf("measure %q: use one of %s", kind, strings.Join(Measures, ", ")), "措置の種類を選んでください").At("kind")
	case text == "":
		return apperr.New(apperr.Invalid, "a measure needs a description of what was done", "行った措置の内容を入力してください").At("text")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldMeasureText, Text: text}); err != nil {
		return err
	}
	return r.change(ctx, who, "measure", fmt.Sprintf("incident:%d", id), kind+": "+text,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if _, err := openIncident(ctx, tx, id); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO incident_measure (incident_id, kind, text, taken_by, taken_at, seq) VALUES (?, ?, ?, ?, ?, ?)`,
				id, kind, text, who.Actor.String(), now, seq)
			return err
		})
}

// Close closes an open incident with its conclusion, once the measures its
// kind requires are on record.
func (r *Register) Close(ctx context.Context, who staff.Who, id int64, conclusion string) error {
	conclusion = strings.TrimSpace(conclusion)
	if conclusion == "" {
		return apperr.New(apperr.Invalid, "closing an incident needs its conclusion", "事案の結論を入力してください").At("conclusion")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldConclusion, Text: conclusion}); err != nil {
		return err
	}
	return r.change(ctx, who, "close", fmt.Sprintf("incident:%d", id), conclusion,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			in, err := openIncident(ctx, tx, id)
			if err != nil {
				return err
			}
			// About the incident's record, not an input: the whole form.
			if missing := in.Missing(); len(missing) > 0 {
				var en, ja []string
				for _, m := range missing {
					en, ja = append(en, m), append(ja, Name(m, "ja"))
				}
				return apperr.New(apperr.Invalid, fmt.Sprintf("incident %d cannot be closed before these measures are recorded: %s", id, strings.Join(en, ", ")),
					fmt.Sprintf("事案 %d を終結するには、次の措置の記録が必要です：%s", id, strings.Join(ja, "、")))
			}
			_, err = tx.Exec(ctx, `UPDATE incident SET state = ?, closed_by = ?, closed_at = ?, closed_seq = ?, conclusion = ? WHERE id = ?`,
				StateClosed, who.Actor.String(), now, seq, conclusion, id)
			return err
		})
}

// openIncident reads an incident that must be open.
func openIncident(ctx context.Context, q db.Querier, id int64) (Incident, error) {
	in, err := Get(ctx, q, id)
	if err != nil {
		return in, err
	}
	if in.State != StateOpen {
		return in, apperr.New(apperr.Conflict, fmt.Sprintf("incident %d is closed", id), fmt.Sprintf("事案 %d は終結しています", id))
	}
	return in, nil
}

const incidentColumns = `id, kind, title, summary, alert_id, opened_by, opened_at, state, closed_by, closed_at, conclusion`

func scanIncident(row interface{ Scan(...any) error }) (Incident, error) {
	var in Incident
	var alert sql.NullInt64
	var closedBy, conclusion sql.NullString
	var closedAt sql.NullTime
	err := row.Scan(&in.ID, &in.Kind, &in.Title, &in.Summary, &alert, &in.OpenedBy, &in.OpenedAt, &in.State, &closedBy, &closedAt, &conclusion)
	in.AlertID, in.ClosedBy, in.ClosedAt, in.Conclusion = alert.Int64, closedBy.String, closedAt.Time, conclusion.String
	return in, err
}

// Get returns an incident with its measures, oldest first.
func Get(ctx context.Context, q db.Querier, id int64) (Incident, error) {
	in, err := scanIncident(q.QueryRow(ctx, `SELECT `+incidentColumns+` FROM incident WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return in, apperr.New(apperr.NotFound, fmt.Sprintf("no incident %d", id), fmt.Sprintf("事案 %d はありません", id))
	}
	if err != nil {
		return in, fmt.Errorf("read incident %d: %w", id, err)
	}
	rows, err := q.Query(ctx, `SELECT kind, text, taken_by, taken_at FROM incident_measure WHERE incident_id = ? ORDER BY id`, id)
	if err != nil {
		return in, fmt.Errorf("read measures of incident %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Measure
		if err := rows.Scan(&m.Kind, &m.Text, &m.TakenBy, &m.TakenAt); err != nil {
			return in, fmt.Errorf("read measures of incident %d: %w", id, err)
		}
		in.Measures = append(in.Measures, m)
	}
	return in, rows.Err()
}

// List returns the open incidents, newest first, and the closed ones too
// when all is set (without their measures).
func List(ctx context.Context, q db.Querier, all bool) ([]Incident, error) {
	where := `WHERE state = 'open'`
	if all {
		where = ""
	}
	rows, err := q.Query(ctx, `SELECT `+incidentColumns+` FROM incident `+where+` ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	var out []Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

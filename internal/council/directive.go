package council

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// DirectiveKind says whether a directive goes to a department or to
// another body.
type DirectiveKind string

// The kinds of directive (koto-ward:6).
const (
	KindDirective DirectiveKind = "directive" // 指示: to the head of a department
	KindRequest   DirectiveKind = "request"   // 要請: to another body, for the measures needed
)

// Japanese names the kind.
func (k DirectiveKind) Japanese() string {
	switch k {
	case KindDirective:
		return "指示"
	case KindRequest:
		return "要請"
	}
	return string(k)
}

// Bodies are the bodies koto-ward:6 names for requests; a request may name
// another body in free text.
var Bodies = []string{"教育委員会", "選挙管理委員会"}

// What a directive's text may hold (docs/fields.md).
var (
	FieldDirective = resident.Field{Name: "text", Japanese: "指示・要請の内容", Class: resident.ClassText, Max: 400}
	FieldBody      = resident.Field{Name: "body", Japanese: "要請先", Class: resident.ClassText, Max: 100}
	FieldNote      = resident.Field{Name: "note", Japanese: "完了の報告", Class: resident.ClassText, Max: 400}
	FieldAnswer    = resident.Field{Name: "answer", Japanese: "要請先の回答", Class: resident.ClassText, Max: 400}
)

// Directive is a directive of the chief security officer to a department,
// or a request to another body, after a decision of the council.
type Directive struct {
	ID       int64
	Decision int64
	Meeting  int64 // the decision's meeting
	Kind     DirectiveKind
	// Department is a directive's department; Body a request's body.
	Department string
	Body       string
	Text       string
	// Due is the day by which it is to be done (midnight JST).
	Due            time.Time
	IssuedBy       string
	IssuedAt       time.Time
	AcknowledgedBy string
	AcknowledgedAt time.Time
	// CompletedBy and CompletedAt record a directive's completion report,
	// or a request's answer; Note is the report's note, or the answer.
	CompletedBy string
	CompletedAt time.Time
	Note        string
}

// Done says whether the directive is reported complete (a request: answered).
func (d Directive) Done() bool { return !d.CompletedAt.IsZero() }

// Acknowledged says whether the department acknowledged the directive.
func (d Directive) Acknowledged() bool { return !d.AcknowledgedAt.IsZero() }

// Overdue says whether, at now, the due day is over and the directive is
// not done.
func (d Directive) Overdue(now time.Time) bool {
	return !d.Done() && !now.Before(d.Due.AddDate(0, 0, 1))
}

// Addressee names whom it goes to: the department's name, or the body.
func (d Directive) Addressee(prof *profile.Profile) string {
	if d.Kind == KindRequest {
		return d.Body
	}
	if dept, ok := prof.Department(d.Department); ok {
		return dept.Name
	}
	return d.Department
}

// overdueTitle is the agenda item of an overdue directive.
func (d Directive) overdueTitle(prof *profile.Profile) string {
	text := []rune(d.Text)
	if len(text) > 100 {
		text = append(text[:99], '…')
	}
	what := "期限を過ぎた指示"
	if d.Kind == KindRequest {
		what = "回答のない要請"
	}
	return fmt.Sprintf("%s 第%d号（%s、期限 %s）：%s", what, d.ID, d.Addressee(prof), jptext.FormatWareki(d.Due), string(text))
}

// Issue records a directive of the chief security officer to a
// department (Kind KindDirective, Department) or a request to another body
// (KindRequest, Body) after an adopted decision of the council, and
// returns its number. It is due on a day not before the meeting's.
func (r *Register) Issue(ctx context.Context, who staff.Who, d Directive) (int64, error) {
	if err := r.noCouncil(); err != nil {
		return 0, err
	}
	d.Text, d.Body, d.Department = strings.TrimSpace(d.Text), strings.TrimSpace(d.Body), strings.TrimSpace(d.Department)
	res := r.nodeResource()
	switch d.Kind {
	case KindDirective:
		if _, ok := r.prof.Department(d.Department); !ok {
			return 0, apperr.New(apperr.Invalid, fmt.Sprintf("unknown department %q in profile %s", d.Department, r.prof.ID), fmt.Sprintf("指示先の部署「%s」はありません", d.Department))
		}
		d.Body = ""
		res = staff.Resource{Kind: "department", ID: d.Department}
	case KindRequest:
		if err := resident.CheckValues(resident.Value{Field: FieldBody, Text: d.Body, Required: true}); err != nil {
			return 0, err
		}
		d.Department = ""
	default:
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: directive or request", d.Kind), "指示か要請かを選んでください")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldDirective, Text: d.Text, Required: true}); err != nil {
		return 0, err
	}
	if d.Due.IsZero() {
		return 0, apperr.New(apperr.Invalid, "due: enter the day it is due", "期限を入力してください")
	}
	if d.Decision <= 0 {
		return 0, apperr.New(apperr.Invalid, "decision: name the council's decision it follows", "指示・要請の根拠となる会議の議決を選んでください（第6条）")
	}
	d.Due = jptext.Midnight(d.Due)
	var id int64
	err := r.administer(ctx, who, ActIssue, res, string(d.Kind), fmt.Sprintf("decision:%d", d.Decision),
		fmt.Sprintf("%s to %s after decision %d, due %s: %s", d.Kind, d.Addressee(r.prof), d.Decision, d.Due.Format(time.DateOnly), d.Text),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			dec, m, err := decision(ctx, tx, d.Decision)
			if err != nil {
				return err
			}
			if !dec.Adopted {
				return apperr.New(apperr.Conflict, fmt.Sprintf("decision %d was not adopted", d.Decision),
					fmt.Sprintf("議決（%d）は否決されたため、それに基づく指示・要請はできません", d.Decision))
			}
			if day := jptext.Midnight(m.At); d.Due.Before(day) {
				return apperr.New(apperr.Invalid, fmt.Sprintf("due %s is before the meeting of %s", d.Due.Format(time.DateOnly), day.Format(time.DateOnly)),
					fmt.Sprintf("期限（%s）が会議の日（%s）より前です", jptext.FormatWareki(d.Due), jptext.FormatWareki(day)))
			}
			if err := tx.QueryRow(ctx, `INSERT INTO council_directive (decision_id, kind, department_id, body, text, due_on, issued_by, issued_at, issued_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, d.Decision, string(d.Kind), d.Department, d.Body, d.Text, d.Due.Format(time.DateOnly),
				who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record %s: %w", d.Kind, err)
			}
			return nil
		})
	return id, err
}

// Acknowledge records that the department's head acknowledged a directive.
func (r *Register) Acknowledge(ctx context.Context, who staff.Who, id int64) error {
	d, err := r.forDepartment(ctx, id)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActAcknowledge, staff.Resource{Kind: "department", ID: d.Department}, "acknowledge", fmt.Sprintf("directive:%d", id),
		fmt.Sprintf("directive %d to %s acknowledged", id, d.Department),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE council_directive SET acknowledged_by = ?, acknowledged_at = ?, acknowledged_seq = ? WHERE id = ? AND acknowledged_at IS NULL`,
				who.Actor.String(), now, seq, id)
			if err != nil {
				return fmt.Errorf("acknowledge directive %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("directive %d is already acknowledged", id), fmt.Sprintf("指示 第%d号は受領済みです", id))
			}
			return nil
		})
}

// Complete records the department's report that a directive is carried
// out, with a note. The directive must have been acknowledged.
func (r *Register) Complete(ctx context.Context, who staff.Who, id int64, note string) error {
	note = strings.TrimSpace(note)
	if err := resident.CheckValues(resident.Value{Field: FieldNote, Text: note, Required: true}); err != nil {
		return err
	}
	d, err := r.forDepartment(ctx, id)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActAcknowledge, staff.Resource{Kind: "department", ID: d.Department}, "complete", fmt.Sprintf("directive:%d", id),
		fmt.Sprintf("directive %d to %s reported complete: %s", id, d.Department, note),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			d, err := directive(ctx, tx, id)
			if err != nil {
				return err
			}
			switch {
			case d.Done():
				return apperr.New(apperr.Conflict, fmt.Sprintf("directive %d is already reported complete", id), fmt.Sprintf("指示 第%d号は完了の報告済みです", id))
			case !d.Acknowledged():
				return apperr.New(apperr.Conflict, fmt.Sprintf("directive %d is not acknowledged yet", id),
					fmt.Sprintf("指示 第%d号の受領が記録されていません。先に受領を記録してください", id))
			}
			if _, err := tx.Exec(ctx, `UPDATE council_directive SET completed_by = ?, completed_at = ?, completed_seq = ?, note = ? WHERE id = ? AND completed_at IS NULL`,
				who.Actor.String(), now, seq, note, id); err != nil {
				return fmt.Errorf("complete directive %d: %w", id, err)
			}
			return nil
		})
}

// Answer records the answer of the body a request went to.
func (r *Register) Answer(ctx context.Context, who staff.Who, id int64, answer string) error {
	answer = strings.TrimSpace(answer)
	if err := resident.CheckValues(resident.Value{Field: FieldAnswer, Text: answer, Required: true}); err != nil {
		return err
	}
	d, err := directive(ctx, r.db, id)
	if err != nil {
		return err
	}
	if d.Kind != KindRequest {
		return apperr.New(apperr.Invalid, fmt.Sprintf("%d is a directive to a department: its head reports completion", id),
			fmt.Sprintf("第%d号は部署への指示です。回答ではなく、部署からの受領・完了の報告を記録してください", id))
	}
	return r.administer(ctx, who, ActIssue, r.nodeResource(), "answer", fmt.Sprintf("directive:%d", id),
		fmt.Sprintf("answer of %s to request %d: %s", d.Body, id, answer),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE council_directive SET completed_by = ?, completed_at = ?, completed_seq = ?, note = ? WHERE id = ? AND completed_at IS NULL`,
				who.Actor.String(), now, seq, answer, id)
			if err != nil {
				return fmt.Errorf("record the answer to request %d: %w", id, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("request %d is already answered", id), fmt.Sprintf("要請 第%d号の回答は記録済みです", id))
			}
			return nil
		})
}

// forDepartment reads a directive to a department (not a request).
func (r *Register) forDepartment(ctx context.Context, id int64) (Directive, error) {
	if err := r.noCouncil(); err != nil {
		return Directive{}, err
	}
	d, err := directive(ctx, r.db, id)
	if err != nil {
		return d, err
	}
	if d.Kind != KindDirective {
		return d, apperr.New(apperr.Invalid, fmt.Sprintf("%d is a request to %s: record its answer", id, d.Body),
			fmt.Sprintf("第%d号は%sへの要請です。受領・完了ではなく、要請先の回答を記録してください", id, d.Body))
	}
	return d, nil
}

const directiveColumns = `d.id, d.decision_id, c.meeting_id, d.kind, d.department_id, d.body, d.text, d.due_on, d.issued_by, d.issued_at,
	d.acknowledged_by, d.acknowledged_at, d.completed_by, d.completed_at, d.note`

const directiveFrom = ` FROM council_directive d JOIN council_decision c ON c.id = d.decision_id`

func scanDirective(row interface{ Scan(...any) error }) (Directive, error) {
	var d Directive
	var kind, due string
	var acked, completed sql.NullTime
	if err := row.Scan(&d.ID, &d.Decision, &d.Meeting, &kind, &d.Department, &d.Body, &d.Text, &due, &d.IssuedBy, &d.IssuedAt,
		&d.AcknowledgedBy, &acked, &d.CompletedBy, &completed, &d.Note); err != nil {
		return d, err
	}
	d.Kind, d.AcknowledgedAt, d.CompletedAt = DirectiveKind(kind), acked.Time, completed.Time
	t, err := time.ParseInLocation(time.DateOnly, due, jptext.JST)
	if err != nil {
		return d, fmt.Errorf("directive %d: due day %q: %w", d.ID, due, err)
	}
	d.Due = t
	return d, nil
}

// directive reads one directive or request.
func directive(ctx context.Context, q db.Querier, id int64) (Directive, error) {
	d, err := scanDirective(q.QueryRow(ctx, `SELECT `+directiveColumns+directiveFrom+` WHERE d.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return d, apperr.New(apperr.NotFound, fmt.Sprintf("directive %d is not recorded", id), fmt.Sprintf("第%d号の指示・要請は記録されていません", id))
	}
	if err != nil {
		return d, fmt.Errorf("read directive %d: %w", id, err)
	}
	return d, nil
}

// GetDirective returns one directive or request.
func GetDirective(ctx context.Context, q db.Querier, id int64) (Directive, error) {
	return directive(ctx, q, id)
}

// Directives returns every directive and request, the newest first.
func Directives(ctx context.Context, q db.Querier) ([]Directive, error) {
	return directives(ctx, q, ``, nil, ` ORDER BY d.id DESC`)
}

// Overdue returns the directives and requests whose due day is over at
// now (on the node's clock) and that are not done, the longest overdue
// first: for the dashboard, and for the next meeting's agenda.
func Overdue(ctx context.Context, q db.Querier, now time.Time) ([]Directive, error) {
	today := jptext.Midnight(now).Format(time.DateOnly)
	return directives(ctx, q, ` WHERE d.completed_at IS NULL AND d.due_on < ?`, []any{today}, ` ORDER BY d.due_on, d.id`)
}

func directives(ctx context.Context, q db.Querier, where string, args []any, order string) ([]Directive, error) {
	rows, err := q.Query(ctx, `SELECT `+directiveColumns+directiveFrom+where+order, args...)
	if err != nil {
		return nil, fmt.Errorf("list directives: %w", err)
	}
	defer rows.Close()
	var out []Directive
	for rows.Next() {
		d, err := scanDirective(rows)
		if err != nil {
			return nil, fmt.Errorf("list directives: %w", err)
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

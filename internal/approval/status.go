package approval

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/csv"
	"encoding/hex"
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
	"jukinet/internal/report"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// registerActions are the audit actions that are a use of the register.
var registerActions = []string{"lookup", "search", "history", "apply", "import", "export"}

// Use is what one person did with an approved use in a period.
type Use struct {
	VID       string
	Name      string
	Lookups   int // 照会
	Searches  int // 検索
	Histories int // 履歴
	Changes   int // 記録
	Denied    int // refused (the decision was deny)
	Errors    int // allowed but failed
	Residents int // distinct residents concerned
	Alerts    int // detection alerts about them in the period
}

// Uses is the total of the uses allowed and carried out.
func (u Use) Uses() int { return u.Lookups + u.Searches + u.Histories + u.Changes }

// Status is a status report's content (利用状況報告, aomori-pref:7.3): for
// one approved use and a period, who used it, how often, the refusals and
// the alerts, counted from the audit log up to UpTo.
type Status struct {
	Approval Approval
	// DepartmentName and AffairName are the profile's names.
	DepartmentName, AffairName string
	From, To                   time.Time // the first and last day (midnight JST)
	People                     []Use     // one per person with an entry or named by the approval, by VID
	Total                      Use
	Alerts                     []Alert
	UpTo                       int64 // the log's last entry counted
	// Control is the control number of the form it is exported as
	// (internal/form), printed on it; empty when it is not exported.
	Control string
}

// Summary is the counts in one line, as recorded with a submission.
func (s Status) Summary() string {
	return fmt.Sprintf("利用 %d件（照会 %d、検索 %d、履歴 %d、記録 %d）、拒否 %d件、エラー %d件、対象住民 %d人、検知 %d件、取扱者 %d人",
		s.Total.Uses(), s.Total.Lookups, s.Total.Searches, s.Total.Histories, s.Total.Changes, s.Total.Denied, s.Total.Errors,
		s.Total.Residents, len(s.Alerts), len(s.People))
}

// Alert is a detection alert (internal/detect) as a status report lists it.
type Alert struct {
	Rule    string // the rule's name
	Day     string // YYYY-MM-DD (JST)
	Subject string // the actor (operator:VID) or resident it is about
	Detail  string // what was found, in Japanese
}

// Compute counts a status report for approval a over the days from to to
// (both included) from the audit log: every register use of the affair by
// the department's staff (their department today) and those the approval
// names, allowed or refused, and, of alerts (the detection's, every one),
// those about them raised for those days.
func Compute(ctx context.Context, d *db.DB, prof *profile.Profile, a Approval, from, to time.Time, alerts []Alert) (Status, error) {
	from, to = jptext.Midnight(from), jptext.Midnight(to)
	if to.Before(from) {
		return Status{}, apperr.New(apperr.Invalid, fmt.Sprintf("period ends %s before it starts %s", to.Format(time.DateOnly), from.Format(time.DateOnly)),
			fmt.Sprintf("報告の対象期間の終わり（%s）が始まり（%s）より前です", jptext.FormatWareki(to), jptext.FormatWareki(from)))
	}
	st := Status{Approval: a, DepartmentName: a.Department, AffairName: a.Affair, From: from, To: to}
	if dp, ok := prof.Department(a.Department); ok {
		st.DepartmentName = dp.Name
	}
	if af, ok := prof.Affair(a.Affair); ok {
		st.AffairName = af.Name
	}
	members := map[string]string{} // vid → name
	rows, err := d.Query(ctx, `SELECT verification_id, name FROM staff_person WHERE department_id = ?`, a.Department)
	if err != nil {
		return Status{}, fmt.Errorf("status report: list the department's staff: %w", err)
	}
	for rows.Next() {
		var vid, name string
		if err := rows.Scan(&vid, &name); err != nil {
			rows.Close()
			return Status{}, fmt.Errorf("status report: list the department's staff: %w", err)
		}
		members[vid] = name
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Status{}, fmt.Errorf("status report: list the department's staff: %w", err)
	}
	if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(seq), -1) FROM audit_entry`).Scan(&st.UpTo); err != nil {
		return Status{}, fmt.Errorf("status report: read the log's size: %w", err)
	}
	entries, err := auditlog.Range(ctx, d, from, to.AddDate(0, 0, 1), st.UpTo, registerActions...)
	if err != nil {
		return Status{}, fmt.Errorf("status report: read the log: %w", err)
	}
	byVID := map[string]*Use{}
	residents := map[string]map[string]bool{}
	use := func(vid string) *Use {
		u := byVID[vid]
		if u == nil {
			u = &Use{VID: vid, Name: members[vid]}
			byVID[vid] = u
			residents[vid] = map[string]bool{}
		}
		return u
	}
	for _, vid := range a.Operators {
		use(vid)
	}
	for _, l := range entries {
		e := l.Entry
		if e == nil || e.Actor.Kind != auditlog.ActorOperator || !slices.Contains(registerActions, e.Action) {
			continue
		}
		if e.Affair != a.Affair && e.Affair != st.AffairName {
			continue
		}
		if _, ok := members[e.Actor.ID]; !ok && !slices.Contains(a.Operators, e.Actor.ID) {
			continue
		}
		u := use(e.Actor.ID)
		switch {
		case e.Decision == auditlog.Deny:
			u.Denied++
			continue
		case e.Outcome != auditlog.OutcomeOK:
			u.Errors++
			continue
		}
		switch e.Action {
		case "lookup":
			u.Lookups++
		case "search":
			u.Searches++
		case "history":
			u.Histories++
		default:
			u.Changes++
		}
		for _, code := range e.Subjects {
			residents[e.Actor.ID][code] = true
			residents[""] = addTo(residents[""], code)
		}
	}
	for _, al := range alerts {
		kind, vid, ok := strings.Cut(al.Subject, ":")
		if !ok || kind != string(auditlog.ActorOperator) || byVID[vid] == nil {
			continue
		}
		day, err := parseDay(al.Day)
		if err != nil || day.Before(from) || day.After(to) {
			continue
		}
		byVID[vid].Alerts++
		st.Alerts = append(st.Alerts, al)
	}
	for vid, u := range byVID {
		u.Residents = len(residents[vid])
		st.People = append(st.People, *u)
	}
	slices.SortFunc(st.People, func(x, y Use) int { return strings.Compare(x.VID, y.VID) })
	for _, u := range st.People {
		st.Total.Lookups += u.Lookups
		st.Total.Searches += u.Searches
		st.Total.Histories += u.Histories
		st.Total.Changes += u.Changes
		st.Total.Denied += u.Denied
		st.Total.Errors += u.Errors
		st.Total.Alerts += u.Alerts
	}
	st.Total.Residents = len(residents[""])
	return st, nil
}

func addTo(m map[string]bool, code string) map[string]bool {
	if m == nil {
		m = map[string]bool{}
	}
	m[code] = true
	return m
}

// Columns are the status table's column headings, Japanese and English.
var Columns = [][2]string{
	{"照合ID", "Verification ID"}, {"氏名", "Name"}, {"照会", "Look-ups"}, {"検索", "Searches"}, {"履歴", "Histories"},
	{"記録", "Changes"}, {"利用計", "Uses"}, {"拒否", "Denied"}, {"エラー", "Errors"}, {"対象住民数", "Residents"}, {"検知", "Alerts"},
}

// Rows are the status table's rows, one per person then the total.
func (s Status) Rows() [][]string {
	row := func(u Use, vid, name string) []string {
		return []string{vid, name, itoa(u.Lookups), itoa(u.Searches), itoa(u.Histories), itoa(u.Changes), itoa(u.Uses()),
			itoa(u.Denied), itoa(u.Errors), itoa(u.Residents), itoa(u.Alerts)}
	}
	var out [][]string
	for _, u := range s.People {
		out = append(out, row(u, u.VID, u.Name))
	}
	return append(out, row(s.Total, "合計", ""))
}

func itoa(n int) string { return fmt.Sprint(n) }

// Digest is the SHA-256 of b, in hex: what a submission records of the CSV.
func Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// reports reads the status reports, of one approval when id > 0.
func reports(ctx context.Context, q db.Querier, id int64) ([]Report, error) {
	where, args := "", []any{}
	if id > 0 {
		where, args = " WHERE approval_id = ?", []any{id}
	}
	rows, err := q.Query(ctx, `SELECT id, approval_id, period_from, period_to, due_on, requested_by, requested_at, submitted_by, submitted_at, digest, summary, note
		FROM usage_report`+where+` ORDER BY id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("list status reports: %w", err)
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var r Report
		var from, to, due string
		var sub sql.NullTime
		if err := rows.Scan(&r.ID, &r.Approval, &from, &to, &due, &r.RequestedBy, &r.RequestedAt, &r.SubmittedBy, &sub, &r.Digest, &r.Summary, &r.Note); err != nil {
			return nil, fmt.Errorf("list status reports: %w", err)
		}
		r.SubmittedAt = timeOf(sub)
		var err error
		if r.From, err = parseDay(from); err == nil {
			if r.To, err = parseDay(to); err == nil {
				r.Due, err = parseDay(due)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("status report %d: %w", r.ID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RequestReport records that the system administrator asks the department
// for a status report of an approval (aomori-pref:7.3) for the days from
// to to (a closed period: it ends before today, so the report counts what
// can no longer change), due by the day due. It returns the request's
// number.
func (r *Register) RequestReport(ctx context.Context, who staff.Who, id int64, from, to, due time.Time) (int64, error) {
	today := jptext.Midnight(r.now())
	switch {
	case from.IsZero() || to.IsZero():
		return 0, apperr.New(apperr.Invalid, "period: enter the first and the last day to report on", "報告の対象期間を入力してください")
	case to.Before(from):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("period ends %s before it starts %s", to.Format(time.DateOnly), from.Format(time.DateOnly)),
			fmt.Sprintf("報告の対象期間の終わり（%s）が始まり（%s）より前です", jptext.FormatWareki(to), jptext.FormatWareki(from)))
	case !to.Before(today):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("period ends %s: a report covers days before today", to.Format(time.DateOnly)),
			fmt.Sprintf("報告の対象期間は昨日までの日にしてください（終わりが %s になっています）", jptext.FormatWareki(to)))
	case due.IsZero():
		return 0, apperr.New(apperr.Invalid, "due: enter the day the report is due", "報告の期限を入力してください")
	case due.Before(today):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("due %s is before today", due.Format(time.DateOnly)),
			fmt.Sprintf("報告の期限（%s）が今日より前です", jptext.FormatWareki(due)))
	}
	a, err := get(ctx, r.db, id)
	if err != nil {
		return 0, err
	}
	var rid int64
	err = r.administer(ctx, who, ActApprove, a.Department, nil, "request-report", fmt.Sprintf("approval:%d", id),
		fmt.Sprintf("ask %s for a status report of the use of %s, %s to %s, due %s", a.Department, a.Affair,
			from.Format(time.DateOnly), to.Format(time.DateOnly), due.Format(time.DateOnly)),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			a, err := get(ctx, tx, id)
			if err != nil {
				return err
			}
			if a.State != Approved && a.State != Ended {
				return apperr.New(apperr.Conflict, fmt.Sprintf("usage approval %d is %s: only an approved use is reported on", id, a.State),
					fmt.Sprintf("第%d号は承認された利用ではないため、状況報告を求められません（現在: %s）", id, a.State.Japanese()))
			}
			return tx.QueryRow(ctx, `INSERT INTO usage_report (approval_id, period_from, period_to, requested_by, requested_at, requested_seq, due_on)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, id, from.Format(time.DateOnly), to.Format(time.DateOnly),
				who.Actor.String(), now, seq, due.Format(time.DateOnly)).Scan(&rid)
		})
	return rid, err
}

// SubmitReport records the department's submission of a requested status
// report: the node counts it from the log (Compute), and the submission
// records the counts, the SHA-256 of the CSV (csv renders a Status: the
// bytes the department hands over) and the department's remarks. It
// returns the Status submitted.
func (r *Register) SubmitReport(ctx context.Context, who staff.Who, reportID int64, note string, csv func(Status) ([]byte, error)) (Status, error) {
	note = strings.TrimSpace(note)
	if err := resident.CheckValues(resident.Value{Field: FieldNote, Text: note}); err != nil {
		return Status{}, err
	}
	rep, a, err := r.report(ctx, reportID)
	if err != nil {
		return Status{}, err
	}
	if rep.Submitted() {
		return Status{}, apperr.New(apperr.Conflict, fmt.Sprintf("status report %d was submitted on %s", reportID, rep.SubmittedAt.In(jptext.JST).Format(time.DateOnly)),
			fmt.Sprintf("状況報告（報告番号 %d）は%sに提出済みです", reportID, jptext.FormatWareki(rep.SubmittedAt.In(jptext.JST))))
	}
	alerts, err := r.alerts(ctx)
	if err != nil {
		return Status{}, err
	}
	st, err := Compute(ctx, r.db, r.prof, a, rep.From, rep.To, alerts)
	if err != nil {
		return Status{}, err
	}
	b, err := csv(st)
	if err != nil {
		return Status{}, fmt.Errorf("render status report %d: %w", reportID, err)
	}
	digest := Digest(b)
	err = r.administer(ctx, who, ActApply, a.Department, nil, "submit-report", fmt.Sprintf("approval:%d report:%d", a.ID, reportID),
		fmt.Sprintf("status report %d of the use of %s by %s, %s to %s: sha256 %s; %s", reportID, a.Affair, a.Department,
			rep.From.Format(time.DateOnly), rep.To.Format(time.DateOnly), digest, st.Summary()),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			res, err := tx.Exec(ctx, `UPDATE usage_report SET submitted_by = ?, submitted_at = ?, submitted_seq = ?, digest = ?, summary = ?, note = ?
				WHERE id = ? AND submitted_at IS NULL`, who.Actor.String(), now, seq, digest, st.Summary(), note, reportID)
			if err != nil {
				return fmt.Errorf("record submission of report %d: %w", reportID, err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("status report %d was submitted meanwhile", reportID), fmt.Sprintf("状況報告（報告番号 %d）は提出済みです", reportID))
			}
			return nil
		})
	if err != nil {
		return Status{}, err
	}
	return st, nil
}

// report finds a status report request and its approval.
func (r *Register) report(ctx context.Context, reportID int64) (Report, Approval, error) {
	var approvalID int64
	if err := r.db.QueryRow(ctx, `SELECT approval_id FROM usage_report WHERE id = ?`, reportID).Scan(&approvalID); err != nil {
		return Report{}, Approval{}, apperr.New(apperr.NotFound, fmt.Sprintf("status report %d is not requested", reportID), fmt.Sprintf("報告番号 %d の状況報告の依頼はありません", reportID))
	}
	a, err := get(ctx, r.db, approvalID)
	if err != nil {
		return Report{}, Approval{}, err
	}
	for _, rep := range a.Reports {
		if rep.ID == reportID {
			return rep, a, nil
		}
	}
	return Report{}, Approval{}, fmt.Errorf("status report %d: not found with approval %d", reportID, approvalID)
}

// Report returns a status report request and its approval.
func (r *Register) Report(ctx context.Context, reportID int64) (Report, Approval, error) {
	return r.report(ctx, reportID)
}

// alerts reads the detection's alerts, none when Alerts is unset.
func (r *Register) alerts(ctx context.Context) ([]Alert, error) {
	if r.Alerts == nil {
		return nil, nil
	}
	out, err := r.Alerts(ctx)
	if err != nil {
		return nil, fmt.Errorf("status report: read the detection's alerts: %w", err)
	}
	return out, nil
}

// Status counts a status report of approval id for the days from to to,
// for who (a reader the policies let see the approvals), and records in the
// audit log that they did: a report drawn from the log is itself an
// access to it.
func (r *Register) Status(ctx context.Context, who staff.Who, id int64, from, to time.Time) (Status, error) {
	a, err := get(ctx, r.db, id)
	if err != nil {
		return Status{}, err
	}
	alerts, err := r.alerts(ctx)
	if err != nil {
		return Status{}, err
	}
	st, err := Compute(ctx, r.db, r.prof, a, from, to, alerts)
	if err != nil {
		return Status{}, err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "approval.status", Query: fmt.Sprintf("approval:%d", id),
		Detail: fmt.Sprintf("status of the use of %s by %s, %s to %s, up to entry %d: %s", a.Affair, a.Department,
			st.From.Format(time.DateOnly), st.To.Format(time.DateOnly), st.UpTo, st.Summary())}
	err = staff.Administer(ctx, r.log, r.authz, who, ActView, staff.Resource{Kind: "department", ID: a.Department}, e,
		func(context.Context, *db.Tx, int64, time.Time) error { return nil })
	if err != nil {
		return Status{}, err
	}
	return st, nil
}

// StatusExport is Status taken out of the node as a document (CSV or
// PDF): decided as Status is (view-approvals on the department) and logged
// as approval.status, with the form it produces recorded in the forms
// register in the same transaction (koto-ward:14), its control number
// printed on it (render receives the status with Control set);
// destination is where it goes (empty: to who). A refusal is logged and
// produces no form.
func (r *Register) StatusExport(ctx context.Context, who staff.Who, id int64, from, to time.Time, format string,
	render func(Status) ([]byte, error), destination string) (Status, form.Form, []byte, error) {
	if r.Forms == nil {
		return Status{}, form.Form{}, nil, apperr.New(apperr.Unavailable, "no forms register: exports are refused", "帳票管理簿がないため、出力できません")
	}
	a, err := get(ctx, r.db, id)
	if err != nil {
		return Status{}, form.Form{}, nil, err
	}
	alerts, err := r.alerts(ctx)
	if err != nil {
		return Status{}, form.Form{}, nil, err
	}
	st, err := Compute(ctx, r.db, r.prof, a, from, to, alerts)
	if err != nil {
		return Status{}, form.Form{}, nil, err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "approval.status", Query: fmt.Sprintf("approval:%d", id),
		Detail: fmt.Sprintf("status of the use of %s by %s, %s to %s, up to entry %d: %s", a.Affair, a.Department,
			st.From.Format(time.DateOnly), st.To.Format(time.DateOnly), st.UpTo, st.Summary())}
	out := form.Output{Kind: form.KindUsageStatus, Format: format, Title: fmt.Sprintf("利用状況 利用の承認 第%d号（%s・%s）", a.ID, st.DepartmentName, st.AffairName),
		Covers: st.From.Format(time.DateOnly) + "〜" + st.To.Format(time.DateOnly), Residents: st.Total.Residents, Destination: destination}
	f, b, err := r.Forms.Export(ctx, who, ActView, staff.Resource{Kind: "department", ID: a.Department}, e, out, func(n form.Number) ([]byte, error) {
		st.Control = n.String()
		return render(st)
	}, nil)
	if err != nil {
		return Status{}, form.Form{}, nil, err
	}
	return st, f, b, nil
}

// CSV renders the status as CSV: UTF-8 with a byte-order mark and CRLF
// line ends (what spreadsheet programs on the terminals open), a heading
// block naming the approval and the period, then the table. Its SHA-256 is
// what a submission records.
func (s Status) CSV() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("\ufeff")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	head := [][]string{
		{"利用状況報告", fmt.Sprintf("第%d号", s.Approval.ID)},
		{"部署", s.DepartmentName},
		{"利用事務", s.AffairName},
		{"対象期間", s.From.Format(time.DateOnly) + "〜" + s.To.Format(time.DateOnly), jptext.FormatWareki(s.From) + "〜" + jptext.FormatWareki(s.To)},
		{"監査ログ", fmt.Sprintf("第%d項まで", s.UpTo)},
	}
	if s.Control != "" {
		head = append(head, []string{"帳票管理番号", s.Control})
	}
	head = append(head, []string{})
	cols := make([]string, len(Columns))
	for i, c := range Columns {
		cols[i] = c[0]
	}
	rows := append(head, cols)
	rows = append(rows, s.Rows()...)
	if len(s.Alerts) > 0 {
		rows = append(rows, []string{}, []string{"検知", "日", "対象", "内容"})
		for _, al := range s.Alerts {
			rows = append(rows, []string{al.Rule, al.Day, al.Subject, al.Detail})
		}
	}
	for _, row := range rows {
		for i, cell := range row {
			row[i] = report.GuardFormula(cell)
		}
		if err := w.Write(row); err != nil {
			return nil, fmt.Errorf("write status CSV: %w", err)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, fmt.Errorf("write status CSV: %w", err)
	}
	return b.Bytes(), nil
}

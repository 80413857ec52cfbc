// Package contract keeps the record of outsourcing (委託, aomori-pref:10):
// the contracts under which a vendor's people work on Juki-net, with the
// vendor, the scope of the work, the period, the check of the vendor's
// protection measures and its approval (10.1), the five clauses the
// contract must hold (10.2), each recorded with where the contract text
// holds it, the people of the vendor each contract covers, and the reports
// of the vendor's handling the clauses ask for (incidents, return and
// disposal of materials).
//
// The record is the control: a staff member covered by a contract (a
// contractor) may act only while a contract covering them is in force and
// holds all five clauses. The policy engine keeps those facts in its
// snapshot (Load, Choose), and the profile's contract policies compare the
// period with the request's time, so a contract's end ends its people's
// access that minute without a query per decision.
//
// Every change is decided by the profile's policies (manage-contracts) and
// made in the transaction of its audit entry, which also bumps the staff
// version so every policy engine rebuilds.
package contract

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActManage records a contract, its clauses, people and reports (who
	// approves outsourcing: aomori-pref:10.1 the system administrator).
	ActManage = "manage-contracts"
	// ActView opens the outsourcing record (asked, not logged).
	ActView = "view-contracts"
)

// Clause is one of the matters aomori-pref:10.2 requires a contract to
// settle in advance.
type Clause struct {
	ID     string
	Name   string // Japanese
	NameEN string
}

// Clauses are the five mandatory clauses of aomori-pref:10.2, in the
// article's order.
var Clauses = []Clause{
	{"no-subcontracting", "再委託の禁止", "no subcontracting"},
	{"materials", "資料等の保管・返還・廃棄", "storage, return and disposal of materials"},
	{"no-other-use", "目的外使用・複写・第三者提供の禁止", "no use outside the purpose, no copying, no provision to third parties"},
	{"confidentiality", "秘密の保持", "confidentiality"},
	{"incident-reporting", "事故発生時の報告", "reporting of incidents"},
}

// ClauseByID returns the clause with the id.
func ClauseByID(id string) (Clause, bool) {
	for _, c := range Clauses {
		if c.ID == id {
			return c, true
		}
	}
	return Clause{}, false
}

// ReportKind is a kind of report of the vendor's handling the clauses ask for.
type ReportKind struct {
	ID     string
	Name   string
	NameEN string
}

// ReportKinds are the reports recorded against a contract.
var ReportKinds = []ReportKind{
	{"incident", "事故報告", "incident report"},
	{"return", "資料の返還", "return of materials"},
	{"disposal", "資料の廃棄（廃棄証明）", "disposal of materials (certificate)"},
	{"handling", "取扱状況の報告", "report on the handling of information"},
	{"inspection", "受託者の検査", "inspection of the vendor"},
}

// ReportKindByID returns the report kind with the id.
func ReportKindByID(id string) (ReportKind, bool) {
	for _, k := range ReportKinds {
		if k.ID == id {
			return k, true
		}
	}
	return ReportKind{}, false
}

// What the text of a contract may hold (docs/fields.md), the one definition
// every door (the form, the CLI) applies.
var (
	FieldVendor    = resident.Field{Name: "vendor", Japanese: "委託先", Class: resident.ClassText, Max: 100}
	FieldScope     = resident.Field{Name: "scope", Japanese: "委託業務の範囲", Class: resident.ClassText, Max: 200}
	FieldSurvey    = resident.Field{Name: "survey", Japanese: "個人情報保護措置の調査結果", Class: resident.ClassText, Max: 400}
	FieldReference = resident.Field{Name: "reference", Japanese: "契約書の該当箇所", Class: resident.ClassText, Max: 100}
	FieldSummary   = resident.Field{Name: "summary", Japanese: "報告の内容", Class: resident.ClassText, Max: 400}
	FieldEndReason = resident.Field{Name: "reason", Japanese: "解除の理由", Class: resident.ClassText, Max: 200}
)

// Contract is one outsourcing contract (委託契約).
type Contract struct {
	ID     int64
	Vendor string
	Scope  string
	// Start and End are the first and the last day in force (midnight JST).
	Start, End time.Time
	// Survey is what the check of the vendor's protection measures found
	// (aomori-pref:10.1); ApprovedBy approved the vendor on it.
	Survey     string
	ApprovedBy string
	ApprovedAt time.Time
	// Clauses are the clauses recorded present: clause id → where the
	// contract text holds it (article, page).
	Clauses map[string]string
	People  []string // verification ids
	Reports []Report
	// Ended is set once the contract is ended early (契約の解除, End).
	Ended *Ending
}

// Ending is the early end of a contract (契約の解除).
type Ending struct {
	Day time.Time // the day of the 解除 (midnight JST)
	// From is the instant the contract is no longer in force: the moment
	// it was recorded when that was Day itself, else midnight starting Day.
	From   time.Time
	Reason string
	By     string // who recorded it
}

// Until is the instant the contract stops being in force: midnight JST
// after its last day, or the instant its early end takes effect.
func (c Contract) Until() time.Time {
	until := c.End.AddDate(0, 0, 1)
	if c.Ended != nil && c.Ended.From.Before(until) {
		return c.Ended.From
	}
	return until
}

// InForce says whether the contract is in force at now.
func (c Contract) InForce(now time.Time) bool { return !now.Before(c.Start) && now.Before(c.Until()) }

// Missing are the mandatory clauses not recorded, in the article's order.
func (c Contract) Missing() []Clause {
	var out []Clause
	for _, cl := range Clauses {
		if _, ok := c.Clauses[cl.ID]; !ok {
			out = append(out, cl)
		}
	}
	return out
}

// Report is one report of the vendor's handling, recorded against a contract.
type Report struct {
	ID         int64
	Contract   int64
	Kind       string
	Day        time.Time // midnight JST
	Summary    string
	RecordedBy string
	RecordedAt time.Time
}

func midnight(t time.Time) time.Time {
	t = t.In(jptext.JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, jptext.JST)
}

// Check applies the field rules to a contract about to be recorded: the
// vendor, scope and survey within their field rules, both days given and
// the period not ending before it starts. It trims the text fields.
func (c *Contract) Check() error {
	c.Vendor, c.Scope, c.Survey = strings.TrimSpace(c.Vendor), strings.TrimSpace(c.Scope), strings.TrimSpace(c.Survey)
	if err := resident.CheckValues(resident.Value{Field: FieldVendor, Text: c.Vendor, Required: true},
		resident.Value{Field: FieldScope, Text: c.Scope, Required: true},
		resident.Value{Field: FieldSurvey, Text: c.Survey, Required: true}); err != nil {
		return err
	}
	switch {
	case c.Start.IsZero():
		return apperr.New(apperr.Invalid, "start: enter the first day of the contract", "契約期間の開始日を入力してください").At("start")
	case c.End.IsZero():
		return apperr.New(apperr.Invalid, "end: enter the last day of the contract", "契約期間の終了日を入力してください").At("end")
	case c.End.Before(c.Start):
		return apperr.New(apperr.Invalid, fmt.Sprintf("end %s is before start %s", c.End.Format(time.DateOnly), c.Start.Format(time.DateOnly)),
			fmt.Sprintf("契約期間の終了日（%s）が開始日（%s）より前です", jptext.FormatWareki(c.End), jptext.FormatWareki(c.Start))).At("end")
	}
	return nil
}

// Register keeps a node's outsourcing record.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	node  string
	// Now is the node's clock (a report cannot be dated after today); nil
	// means time.Now.
	Now func() time.Time

	staff.Listeners // OnChange: run after every committed change (the policy engine's Invalidate)
}

// New returns the outsourcing record of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, node string) *Register {
	return &Register{db: d, log: log, authz: authz, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// administer makes one change once the policies allow who to
// (manage-contracts), in the transaction of its audit entry, and bumps the
// staff version so the policy engines rebuild.
func (r *Register) administer(ctx context.Context, who staff.Who, action, query, detail string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "contract." + action, Query: query, Detail: detail}
	err := staff.Administer(ctx, r.log, r.authz, who, ActManage, staff.Resource{Kind: "node", ID: r.node}, e,
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

// Add records a contract and the approval of its vendor after the check of
// its protection measures (aomori-pref:10.1): who approves is who records
// it. Its clauses and people are recorded next (Clause, AddPerson).
func (r *Register) Add(ctx context.Context, who staff.Who, c Contract) (int64, error) {
	if err := c.Check(); err != nil {
		return 0, err
	}
	var id int64
	err := r.administer(ctx, who, "add", "vendor:"+c.Vendor,
		fmt.Sprintf("contract with %s for %s, %s to %s; vendor's measures: %s", c.Vendor, c.Scope,
			c.Start.Format(time.DateOnly), c.End.Format(time.DateOnly), c.Survey),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			err := tx.QueryRow(ctx, `INSERT INTO contract (vendor, scope, starts_on, ends_on, survey, approved_by, approved_at, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, c.Vendor, c.Scope, c.Start.Format(time.DateOnly), c.End.Format(time.DateOnly),
				c.Survey, who.Actor.String(), now, seq).Scan(&id)
			if err != nil {
				return fmt.Errorf("record contract: %w", err)
			}
			return nil
		})
	return id, err
}

// exists refuses a contract id not recorded.
func exists(ctx context.Context, tx *db.Tx, id int64) error {
	var n int
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contract WHERE id = ?`, id).Scan(&n); err != nil {
		return fmt.Errorf("find contract %d: %w", id, err)
	}
	if n == 0 {
		return apperr.New(apperr.NotFound, fmt.Sprintf("contract %d is not recorded", id), fmt.Sprintf("契約番号 %d の契約は登録されていません", id)).At("contract")
	}
	return nil
}

// Clause records that the contract holds a mandatory clause, and where its
// text does (article, page); recording it again replaces the reference.
func (r *Register) Clause(ctx context.Context, who staff.Who, id int64, clause, reference string) error {
	cl, ok := ClauseByID(clause)
	if !ok {
		ids := make([]string, len(Clauses))
		for i, c := range Clauses {
			ids[i] = c.ID
		}
		return apperr.New(apperr.Invalid, fmt.Sprintf("clause %q: use one of %s", clause, strings.Join(ids, ", ")), "約定事項（第10条第2項の各号）を選んでください").At("clause")
	}
	reference = strings.TrimSpace(reference)
	if err := resident.CheckValues(resident.Value{Field: FieldReference, Text: reference, Required: true}); err != nil {
		return err
	}
	return r.administer(ctx, who, "clause", fmt.Sprintf("contract:%d", id), fmt.Sprintf("clause %s (%s) at %s", cl.ID, cl.NameEN, reference),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := exists(ctx, tx, id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM contract_clause WHERE contract_id = ? AND clause = ?`, id, cl.ID); err != nil {
				return fmt.Errorf("replace clause: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contract_clause (contract_id, clause, reference, recorded_by, recorded_at, seq) VALUES (?, ?, ?, ?, ?, ?)`,
				id, cl.ID, reference, who.Actor.String(), now, seq); err != nil {
				return fmt.Errorf("record clause: %w", err)
			}
			return nil
		})
}

// AddPerson records that the contract covers a person of the vendor, a
// staff member registered beforehand (staff add). From then on that person
// is a contractor: they may act only while a contract covering them is in
// force and holds every clause.
func (r *Register) AddPerson(ctx context.Context, who staff.Who, id int64, vid string) error {
	vid = strings.TrimSpace(vid)
	if !staff.WellFormedID(vid) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("verification id %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", vid),
			fmt.Sprintf("照合ID「%s」は英数字と . _ - の64文字以内で入力してください", vid)).At("verification_id")
	}
	return r.administer(ctx, who, "person", fmt.Sprintf("contract:%d", id), "covers "+vid,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := exists(ctx, tx, id); err != nil {
				return err
			}
			// A person put on a contract that has ended would be refused
			// everything at once: a typo of the contract number, most likely.
			var endsOn string
			var endedOn sql.NullString
			var endedFrom sql.NullTime
			if err := tx.QueryRow(ctx, `SELECT ends_on, ended_on, ended_from FROM contract WHERE id = ?`, id).Scan(&endsOn, &endedOn, &endedFrom); err != nil {
				return fmt.Errorf("read contract %d: %w", id, err)
			}
			if end, err := time.ParseInLocation(time.DateOnly, endsOn, jptext.JST); err == nil && !now.Before(end.AddDate(0, 0, 1)) {
				return apperr.New(apperr.Conflict, fmt.Sprintf("contract %d ended on %s: put the person on a contract in force", id, endsOn),
					fmt.Sprintf("契約番号 %d の契約は %s に終了しています。期間中の契約に登録してください", id, jptext.FormatWareki(end))).At("contract")
			}
			if endedFrom.Valid && !now.Before(endedFrom.Time) {
				day, _ := time.ParseInLocation(time.DateOnly, endedOn.String, jptext.JST)
				return apperr.New(apperr.Conflict, fmt.Sprintf("contract %d was ended early on %s: put the person on a contract in force", id, endedOn.String),
					fmt.Sprintf("契約番号 %d の契約は %s に解除されています。期間中の契約に登録してください", id, jptext.FormatWareki(day))).At("contract")
			}
			var pid int64
			var active bool
			if err := tx.QueryRow(ctx, `SELECT id, active FROM staff_person WHERE verification_id = ?`, vid).Scan(&pid, &active); err != nil || !active {
				return apperr.New(apperr.Invalid, fmt.Sprintf("%s is not an active staff member: register the vendor's person first (staff add)", vid),
					fmt.Sprintf("照合ID %s は職員として登録されていないか、異動・退職済みです。先に職員として登録してください", vid)).At("verification_id")
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM contract_person WHERE contract_id = ? AND person_id = ?`, id, pid).Scan(&n); err != nil {
				return fmt.Errorf("check contract person: %w", err)
			}
			if n > 0 {
				return apperr.New(apperr.Conflict, fmt.Sprintf("contract %d already covers %s", id, vid), fmt.Sprintf("契約番号 %d には照合ID %s が既に登録されています", id, vid)).At("verification_id")
			}
			if _, err := tx.Exec(ctx, `INSERT INTO contract_person (contract_id, person_id, recorded_by, recorded_at, seq) VALUES (?, ?, ?, ?, ?)`,
				id, pid, who.Actor.String(), now, seq); err != nil {
				return fmt.Errorf("record contract person: %w", err)
			}
			return nil
		})
}

// RemovePerson records that the contract no longer covers a person (put
// on it by mistake, or no longer working under it). Once no contract covers
// them, they are no contractor; the audit log keeps who was covered when.
func (r *Register) RemovePerson(ctx context.Context, who staff.Who, id int64, vid string) error {
	vid = strings.TrimSpace(vid)
	if !staff.WellFormedID(vid) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("verification id %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", vid),
			fmt.Sprintf("照合ID「%s」は英数字と . _ - の64文字以内で入力してください", vid)).At("verification_id")
	}
	return r.administer(ctx, who, "person-remove", fmt.Sprintf("contract:%d", id), "no longer covers "+vid,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := exists(ctx, tx, id); err != nil {
				return err
			}
			res, err := tx.Exec(ctx, `DELETE FROM contract_person WHERE contract_id = ? AND person_id = (SELECT id FROM staff_person WHERE verification_id = ?)`, id, vid)
			if err != nil {
				return fmt.Errorf("remove contract person: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return apperr.New(apperr.NotFound, fmt.Sprintf("contract %d does not cover %s", id, vid), fmt.Sprintf("契約番号 %d に照合ID %s は登録されていません", id, vid)).At("verification_id")
			}
			return nil
		})
}

// End ends a contract early (契約の解除) on day, for reason: from then it
// is no longer in force and the people it covers lose access (unless
// another contract in force covers them) — from the moment it is recorded
// when day is today, from midnight starting day when it is later. The day
// cannot be before today (what was done under the contract was done under
// it) nor after the contract's last day (it ends then anyway); a contract
// is ended once. Decided by the policies (manage-contracts) and made in
// the transaction of its audit entry (contract.end), which bumps the
// staff version, so every policy engine rebuilds at once.
func (r *Register) End(ctx context.Context, who staff.Who, id int64, day time.Time, reason string) error {
	reason = strings.TrimSpace(reason)
	if !day.IsZero() {
		day = midnight(day)
	}
	if err := resident.CheckValues(resident.Value{Field: FieldEndReason, Text: reason, Required: true}); err != nil {
		return err
	}
	if err := checkEndDay(day, midnight(r.now())); err != nil {
		return err
	}
	return r.administer(ctx, who, "end", fmt.Sprintf("contract:%d", id), fmt.Sprintf("end (解除) on %s: %s", day.Format(time.DateOnly), reason),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := exists(ctx, tx, id); err != nil {
				return err
			}
			if err := checkEndDay(day, midnight(now)); err != nil {
				return err
			}
			var endsOn string
			var endedOn sql.NullString
			if err := tx.QueryRow(ctx, `SELECT ends_on, ended_on FROM contract WHERE id = ?`, id).Scan(&endsOn, &endedOn); err != nil {
				return fmt.Errorf("read contract %d: %w", id, err)
			}
			if endedOn.Valid {
				return apperr.New(apperr.Conflict, fmt.Sprintf("contract %d was already ended on %s", id, endedOn.String),
					fmt.Sprintf("契約番号 %d の契約は既に %s に解除されています", id, endedOn.String)).At("contract")
			}
			end, err := parseDay(endsOn)
			if err != nil {
				return fmt.Errorf("contract %d: %w", id, err)
			}
			if day.After(end) {
				return apperr.New(apperr.Invalid, fmt.Sprintf("date %s is after the contract's last day %s, when it ends anyway", day.Format(time.DateOnly), endsOn),
					fmt.Sprintf("解除日 %s が契約期間の終了日（%s）より後です。契約は終了日に終了します", jptext.FormatWareki(day), jptext.FormatWareki(end))).At("date")
			}
			from := day
			if day.Equal(midnight(now)) {
				from = now
			}
			if _, err := tx.Exec(ctx, `UPDATE contract SET ended_on = ?, ended_from = ?, end_reason = ?, ended_by = ?, end_seq = ? WHERE id = ? AND ended_on IS NULL`,
				day.Format(time.DateOnly), from, reason, who.Actor.String(), seq, id); err != nil {
				return fmt.Errorf("end contract %d: %w", id, err)
			}
			return nil
		})
}

// checkEndDay refuses a day of 解除 that is missing or before today.
func checkEndDay(day, today time.Time) error {
	switch {
	case day.IsZero():
		return apperr.New(apperr.Invalid, "date: enter the day the contract ends", "解除日を入力してください").At("date")
	case day.Before(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("date %s is before today: a contract is ended from today or a later day", day.Format(time.DateOnly)),
			fmt.Sprintf("解除日 %s は今日より前です。解除は今日以降の日付で記録してください", jptext.FormatWareki(day))).At("date")
	}
	return nil
}

// Report records a report of the vendor's handling against a contract: an
// incident, the return or disposal of materials, a handling report, an
// inspection. Its day cannot be after today.
func (r *Register) Report(ctx context.Context, who staff.Who, rep Report) (int64, error) {
	k, ok := ReportKindByID(rep.Kind)
	if !ok {
		ids := make([]string, len(ReportKinds))
		for i, k := range ReportKinds {
			ids[i] = k.ID
		}
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: use one of %s", rep.Kind, strings.Join(ids, ", ")), "報告の種類を選んでください").At("kind")
	}
	rep.Summary = strings.TrimSpace(rep.Summary)
	if err := resident.CheckValues(resident.Value{Field: FieldSummary, Text: rep.Summary, Required: true}); err != nil {
		return 0, err
	}
	switch {
	case rep.Day.IsZero():
		return 0, apperr.New(apperr.Invalid, "date: enter the day of the report", "報告日を入力してください").At("date")
	case rep.Day.After(midnight(r.now())):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("date %s is after today", rep.Day.Format(time.DateOnly)),
			fmt.Sprintf("報告日 %s は今日より後です", jptext.FormatWareki(rep.Day))).At("date")
	}
	var id int64
	err := r.administer(ctx, who, "report", fmt.Sprintf("contract:%d", rep.Contract),
		fmt.Sprintf("%s of %s: %s", k.NameEN, rep.Day.Format(time.DateOnly), rep.Summary),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := exists(ctx, tx, rep.Contract); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `INSERT INTO contract_report (contract_id, kind, reported_on, summary, recorded_by, recorded_at, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, rep.Contract, k.ID, rep.Day.Format(time.DateOnly), rep.Summary, who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record report: %w", err)
			}
			return nil
		})
	return id, err
}

func parseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, jptext.JST)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: %w", s, err)
	}
	return t, nil
}

// List returns every contract with its clauses, people and reports, newest
// first.
func List(ctx context.Context, q db.Querier) ([]Contract, error) {
	rows, err := q.Query(ctx, `SELECT id, vendor, scope, starts_on, ends_on, survey, approved_by, approved_at,
		ended_on, ended_from, end_reason, ended_by FROM contract ORDER BY starts_on DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list contracts: %w", err)
	}
	var out []Contract
	byID := map[int64]int{}
	for rows.Next() {
		var c Contract
		var start, end string
		var endedOn, endReason, endedBy sql.NullString
		var endedFrom sql.NullTime
		if err := rows.Scan(&c.ID, &c.Vendor, &c.Scope, &start, &end, &c.Survey, &c.ApprovedBy, &c.ApprovedAt,
			&endedOn, &endedFrom, &endReason, &endedBy); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list contracts: %w", err)
		}
		if c.Start, err = parseDay(start); err == nil {
			c.End, err = parseDay(end)
		}
		if err == nil && endedOn.Valid {
			c.Ended = &Ending{From: endedFrom.Time, Reason: endReason.String, By: endedBy.String}
			c.Ended.Day, err = parseDay(endedOn.String)
		}
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("contract %d: %w", c.ID, err)
		}
		c.Clauses = map[string]string{}
		byID[c.ID] = len(out)
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list contracts: %w", err)
	}
	if err := each(ctx, q, `SELECT contract_id, clause, reference FROM contract_clause`, func(id int64, s ...string) error {
		if i, ok := byID[id]; ok {
			out[i].Clauses[s[0]] = s[1]
		}
		return nil
	}, 2); err != nil {
		return nil, fmt.Errorf("list contract clauses: %w", err)
	}
	if err := each(ctx, q, `SELECT c.contract_id, p.verification_id FROM contract_person c JOIN staff_person p ON p.id = c.person_id ORDER BY p.verification_id`,
		func(id int64, s ...string) error {
			if i, ok := byID[id]; ok {
				out[i].People = append(out[i].People, s[0])
			}
			return nil
		}, 1); err != nil {
		return nil, fmt.Errorf("list contract people: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT id, contract_id, kind, reported_on, summary, recorded_by, recorded_at FROM contract_report ORDER BY reported_on DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list contract reports: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var rep Report
		var day string
		if err := rows.Scan(&rep.ID, &rep.Contract, &rep.Kind, &day, &rep.Summary, &rep.RecordedBy, &rep.RecordedAt); err != nil {
			return nil, fmt.Errorf("list contract reports: %w", err)
		}
		if rep.Day, err = parseDay(day); err != nil {
			return nil, fmt.Errorf("contract report %d: %w", rep.ID, err)
		}
		if i, ok := byID[rep.Contract]; ok {
			out[i].Reports = append(out[i].Reports, rep)
		}
	}
	return out, rows.Err()
}

// each runs fn on each row of a query of an id and n text columns.
func each(ctx context.Context, q db.Querier, query string, fn func(id int64, s ...string) error, n int, args ...any) error {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		s := make([]string, n)
		dest := []any{&id}
		for i := range s {
			dest = append(dest, &s[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if err := fn(id, s...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Facts are, for each active staff member a contract covers (verification
// id), the contracts that cover them.
type Facts map[string][]Contract

// Load reads the facts (when the policy engine rebuilds its snapshot, never
// per decision).
func Load(ctx context.Context, q db.Querier) (Facts, error) {
	all, err := List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("load outsourcing record: %w", err)
	}
	active := map[string]bool{}
	if err := each(ctx, q, `SELECT id, verification_id FROM staff_person WHERE active = ?`, func(_ int64, s ...string) error {
		active[s[0]] = true
		return nil
	}, 1, true); err != nil {
		return nil, fmt.Errorf("load outsourcing record: %w", err)
	}
	f := Facts{}
	for _, c := range all {
		for _, vid := range c.People {
			if active[vid] {
				f[vid] = append(f[vid], c)
			}
		}
	}
	return f, nil
}

// Choose picks, among the contracts covering a contractor, the one the
// policies judge them by at now: only contracts holding every clause count
// when there is one (else all do); of those, the one in force at now, else
// the next to start, else the last to end. Complete says whether it holds
// every clause. Next is the instant after now the choice may change (a
// start or an end of another contract), zero when never: the policy engine
// rebuilds its snapshot then.
func Choose(covers []Contract, now time.Time) (chosen Contract, complete bool, next time.Time) {
	var pool []Contract
	for _, c := range covers {
		if len(c.Missing()) == 0 {
			pool = append(pool, c)
		}
	}
	complete = len(pool) > 0
	if !complete {
		pool = covers
	}
	var current, soonest, last *Contract
	for i := range pool {
		c := &pool[i]
		switch {
		case c.InForce(now):
			if current == nil || c.Until().After(current.Until()) {
				current = c
			}
		case now.Before(c.Start) && c.Start.Before(c.Until()): // not ended before it started
			if soonest == nil || c.Start.Before(soonest.Start) {
				soonest = c
			}
		default:
			if last == nil || c.Until().After(last.Until()) {
				last = c
			}
		}
		for _, t := range []time.Time{c.Start, c.Until()} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	switch {
	case current != nil:
		chosen = *current
	case soonest != nil:
		chosen = *soonest
	case last != nil:
		chosen = *last
	}
	return chosen, complete, next
}

// Explain says, in English and Japanese, why the contracts covering a
// contractor do not let them act at now: the clauses the contract lacks,
// or its period; empty when a complete contract is in force.
func Explain(covers []Contract, now time.Time) (en, ja string) {
	c, complete, _ := Choose(covers, now)
	if len(covers) == 0 {
		return "", ""
	}
	if !complete {
		var ens, jas []string
		for _, cl := range c.Missing() {
			ens = append(ens, cl.NameEN)
			jas = append(jas, "「"+cl.Name+"」")
		}
		return fmt.Sprintf("contract %d with %s lacks the clause(s): %s", c.ID, c.Vendor, strings.Join(ens, ", ")),
			fmt.Sprintf("委託契約（契約番号 %d、%s）に%sの約定がありません", c.ID, c.Vendor, strings.Join(jas, "・"))
	}
	switch {
	case c.Ended != nil && !now.Before(c.Ended.From):
		return fmt.Sprintf("contract %d with %s was ended early on %s: %s", c.ID, c.Vendor, c.Ended.Day.Format(time.DateOnly), c.Ended.Reason),
			fmt.Sprintf("委託契約（契約番号 %d、%s）は%sに解除されています（理由：%s）", c.ID, c.Vendor, jptext.FormatWareki(c.Ended.Day), c.Ended.Reason)
	case now.Before(c.Start):
		return fmt.Sprintf("contract %d with %s starts on %s", c.ID, c.Vendor, c.Start.Format(time.DateOnly)),
			fmt.Sprintf("委託契約（契約番号 %d、%s）の期間は%sからです", c.ID, c.Vendor, jptext.FormatWareki(c.Start))
	case !c.InForce(now):
		return fmt.Sprintf("contract %d with %s ended on %s", c.ID, c.Vendor, c.End.Format(time.DateOnly)),
			fmt.Sprintf("委託契約（契約番号 %d、%s）は%sで終了しています", c.ID, c.Vendor, jptext.FormatWareki(c.End))
	}
	return "", ""
}

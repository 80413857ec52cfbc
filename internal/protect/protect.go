// Package protect keeps the register of residents under support measures
// (支援措置): victims of domestic violence, stalking, child or elder abuse,
// whose address a quiet look-up can betray to the person they fled. A
// protection is not an item of the identity record: it is a decision of a
// department (from when, until when, the reason's category — never free
// text about the person), kept here by 住民票コード and recorded, like
// every change, in the transaction of its audit entry.
//
// The register is a control. The policy engine keeps the protections in
// force in its snapshot (Load, Facts.InForce), so the gate knows at
// decision time whether a request concerns a protected resident; the
// profile's protected-resident forbid policy (Policy) then refuses a read
// without a case reference for an affair the profile allows, and the gate
// raises an immediate alert for every read of one, allowed or refused, in
// the transaction of its audit entry (docs/protection.md). Protections
// travel upstream with the notifications (Outbound, Receive), so the
// prefecture and the national server enforce them the same way.
//
// Who marks and ends a protection, and who sees the register, is decided
// by the profile's policies (mark-protected, view-protected), named for
// the article they rest on; a refusal is logged too.
package protect

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActMark marks a resident protected and ends a protection early.
	ActMark = "mark-protected"
	// ActView opens the register (decided and logged: the list itself is
	// what an abuser would want).
	ActView = "view-protected"
)

// Actions are the register's administrative actions, for the policy engine.
var Actions = []string{ActMark, ActView}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{ActMark: "支援措置対象者の登録・終了", ActView: "支援措置対象者の一覧の閲覧"}

// Policy ends the id of each profile policy that refuses a read of a
// protected resident without a case reference for an affair the profile
// allows (koto-ward:8.1/protected-resident, aomori-pref:8/protected-resident).
// The audit entry of every read of a protected resident, allowed or
// refused, names it.
const Policy = "/protected-resident"

// MaxPeriod is the longest one decision runs: a support measure is granted
// for a year and extended by a new decision (住民基本台帳事務処理要領).
const MaxPeriod = 1

// Category is a reason category of a support measure.
type Category struct {
	ID     string
	Name   string // Japanese
	NameEN string
}

// Categories are the reasons a support measure is granted for: the
// category, never the circumstances.
var Categories = []Category{
	{"dv", "配偶者からの暴力（DV）", "domestic violence"},
	{"stalking", "ストーカー行為等", "stalking"},
	{"child-abuse", "児童虐待", "child abuse"},
	{"elder-abuse", "高齢者虐待", "elder abuse"},
	{"other", "その他これらに準ずる行為", "other comparable acts"},
}

// CategoryByID returns the category with the id.
func CategoryByID(id string) (Category, bool) {
	for _, c := range Categories {
		if c.ID == id {
			return c, true
		}
	}
	return Category{}, false
}

// Protection is one decision of a support measure for a resident.
type Protection struct {
	ID           int64
	ResidentCode string
	// Start and End are the first and the last day in force (midnight JST).
	Start, End time.Time
	Department string // the department that decided (or, received, the source's)
	Category   string
	// Source is the downstream node it was received from ("" when recorded
	// here), SourceID its id there.
	Source     string
	SourceID   int64
	RecordedBy string
	RecordedAt time.Time
	Ended      *Ending
}

// Ending is the early end of a protection (支援措置の終了).
type Ending struct {
	Day  time.Time // midnight JST
	From time.Time // no longer in force from this instant
	By   string
}

// Until is the instant the protection stops being in force: midnight JST
// after its last day, or the instant its early end takes effect.
func (p Protection) Until() time.Time {
	until := p.End.AddDate(0, 0, 1)
	if p.Ended != nil && p.Ended.From.Before(until) {
		return p.Ended.From
	}
	return until
}

// InForce says whether the protection is in force at now.
func (p Protection) InForce(now time.Time) bool { return !now.Before(p.Start) && now.Before(p.Until()) }

// CategoryName is the category's name in Japanese (ja) or English.
func (p Protection) CategoryName(lang string) string {
	c, ok := CategoryByID(p.Category)
	switch {
	case !ok:
		return p.Category
	case lang == "en":
		return c.NameEN
	}
	return c.Name
}

// Register keeps a node's protected residents.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	// Now is the node's clock (a protection cannot end before today); nil
	// means time.Now.
	Now func() time.Time

	staff.Listeners // OnChange: run after every committed change (the policy engine's Invalidate)
}

// New returns the register of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Mark is what marking a resident protected records.
type Mark struct {
	ResidentCode string
	Start, End   time.Time // first and last day (any time of the day: midnight JST is taken)
	Department   string    // the deciding department, a department of the profile
	Category     string
}

// check applies the rules to a mark about to be recorded, today being the
// node's day. The error is about the field (apperr.FieldsOf:
// resident_code, department, category, start, end).
func (m *Mark) check(prof *profile.Profile, today time.Time) error {
	m.ResidentCode, m.Department, m.Category = strings.TrimSpace(m.ResidentCode), strings.TrimSpace(m.Department), strings.TrimSpace(m.Category)
	code, err := ids.ParseResidentCode(m.ResidentCode)
	if err != nil {
		var ie *ids.Error
		if errors.As(err, &ie) {
			return apperr.New(apperr.Invalid, "resident_code: "+ie.Error(), "住民票コード："+ie.Japanese()).At("resident_code")
		}
		return apperr.New(apperr.Invalid, "resident_code: "+err.Error(), "住民票コードが正しくありません").At("resident_code")
	}
	// Stored as the gate writes codes (full-width digits, hyphens and
	// spaces as typed are folded), or the engine would never match it.
	m.ResidentCode = string(code)
	if _, ok := prof.Department(m.Department); !ok {
		return apperr.New(apperr.Invalid, fmt.Sprintf("department %q is not a department of %s", m.Department, prof.ID),
			"支援措置を決定した部署を選んでください").At("department")
	}
	if _, ok := CategoryByID(m.Category); !ok {
		ids := make([]string, len(Categories))
		for i, c := range Categories {
			ids[i] = c.ID
		}
		return apperr.New(apperr.Invalid, fmt.Sprintf("category %q: use one of %s", m.Category, strings.Join(ids, ", ")),
			"支援措置の理由の区分を選んでください（DV・ストーカー行為等・児童虐待・高齢者虐待・その他）").At("category")
	}
	switch {
	case m.Start.IsZero():
		return apperr.New(apperr.Invalid, "start: enter the first day of the support measure", "支援措置の開始日を入力してください").At("start")
	case m.End.IsZero():
		return apperr.New(apperr.Invalid, "end: enter the last day of the support measure", "支援措置の終了日を入力してください").At("end")
	}
	m.Start, m.End = jptext.Midnight(m.Start), jptext.Midnight(m.End)
	switch {
	case m.End.Before(m.Start):
		return apperr.New(apperr.Invalid, fmt.Sprintf("end %s is before start %s", m.End.Format(time.DateOnly), m.Start.Format(time.DateOnly)),
			fmt.Sprintf("終了日（%s）が開始日（%s）より前です", jptext.FormatWareki(m.End), jptext.FormatWareki(m.Start))).At("end")
	case m.End.Before(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("end %s is before today: the measure would protect nobody", m.End.Format(time.DateOnly)),
			fmt.Sprintf("終了日（%s）が今日より前です。期間中の支援措置を登録してください", jptext.FormatWareki(m.End))).At("end")
	case !m.End.Before(m.Start.AddDate(MaxPeriod, 0, 0)):
		return apperr.New(apperr.Invalid, fmt.Sprintf("the period %s to %s is a year or longer: a support measure runs a year at most and is extended by a new decision",
			m.Start.Format(time.DateOnly), m.End.Format(time.DateOnly)),
			fmt.Sprintf("期間（%s から %s）が1年を超えています。支援措置の期間は1年以内で、延長は新たな決定として登録してください",
				jptext.FormatWareki(m.Start), jptext.FormatWareki(m.End))).At("end")
	}
	return nil
}

// administer makes one change once the policies allow who to (action), in
// the transaction of its audit entry, and bumps the staff version so the
// policy engines rebuild their snapshot.
func (r *Register) administer(ctx context.Context, who staff.Who, action, query, detail string, subjects []string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "protect." + action, Query: query, Detail: detail, Subjects: subjects}
	err := staff.Administer(ctx, r.log, r.authz, who, ActMark, staff.Resource{Kind: "node", ID: r.node}, e,
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

// Mark records that a resident is under a support measure from m.Start to
// m.End, decided by m.Department for the reason's category. From the
// moment it commits (or from its first day) every read of the resident
// needs a case reference for an affair the profile allows, and raises an
// immediate alert.
func (r *Register) Mark(ctx context.Context, who staff.Who, m Mark) (int64, error) {
	if err := m.check(r.prof, jptext.Midnight(r.now())); err != nil {
		return 0, err
	}
	var id int64
	err := r.administer(ctx, who, "mark", "resident_code="+m.ResidentCode,
		fmt.Sprintf("support measure (%s) from %s to %s, decided by %s", m.Category, m.Start.Format(time.DateOnly), m.End.Format(time.DateOnly), m.Department),
		[]string{m.ResidentCode},
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if err := tx.QueryRow(ctx, `INSERT INTO protected_resident (resident_code, starts_on, ends_on, department, category, recorded_by, recorded_at, seq, changed_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, m.ResidentCode, m.Start.Format(time.DateOnly), m.End.Format(time.DateOnly),
				m.Department, m.Category, who.Actor.String(), now, seq, seq).Scan(&id); err != nil {
				return fmt.Errorf("record protection: %w", err)
			}
			return nil
		})
	return id, err
}

// End ends a protection early (支援措置の終了: withdrawn on the person's
// request, or no longer needed) on day: from the moment it is recorded
// when day is today, from midnight starting day when later. A protection
// received from another node is ended there, not here.
func (r *Register) End(ctx context.Context, who staff.Who, id int64, day time.Time) error {
	if day.IsZero() {
		return apperr.New(apperr.Invalid, "date: enter the day the support measure ends", "支援措置を終了する日を入力してください").At("date")
	}
	day = jptext.Midnight(day)
	if today := jptext.Midnight(r.now()); day.Before(today) {
		return apperr.New(apperr.Invalid, fmt.Sprintf("date %s is before today: a protection is ended from today or a later day", day.Format(time.DateOnly)),
			fmt.Sprintf("終了日 %s は今日より前です。今日以降の日付で記録してください", jptext.FormatWareki(day))).At("date")
	}
	p, err := r.get(ctx, r.db, id)
	if err != nil {
		return apperr.About(err, "id")
	}
	return r.administer(ctx, who, "end", fmt.Sprintf("protection:%d", id), "support measure ended on "+day.Format(time.DateOnly), []string{p.ResidentCode},
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			p, err := r.get(ctx, tx, id)
			if err != nil {
				return apperr.About(err, "id")
			}
			switch {
			case p.Source != "":
				return apperr.New(apperr.Conflict, fmt.Sprintf("protection %d was received from %s: it is ended there", id, p.Source),
					fmt.Sprintf("この支援措置（番号 %d）は %s から通知されたものです。通知元で終了してください", id, p.Source)).At("id")
			case p.Ended != nil:
				return apperr.New(apperr.Conflict, fmt.Sprintf("protection %d was already ended on %s", id, p.Ended.Day.Format(time.DateOnly)),
					fmt.Sprintf("この支援措置（番号 %d）は既に %s に終了しています", id, jptext.FormatWareki(p.Ended.Day))).At("id")
			case day.After(p.End):
				return apperr.New(apperr.Invalid, fmt.Sprintf("date %s is after the protection's last day %s, when it ends anyway", day.Format(time.DateOnly), p.End.Format(time.DateOnly)),
					fmt.Sprintf("終了日 %s が支援措置の期間の終了日（%s）より後です", jptext.FormatWareki(day), jptext.FormatWareki(p.End))).At("date")
			}
			from := day
			if day.Equal(jptext.Midnight(now)) {
				from = now
			}
			if _, err := tx.Exec(ctx, `UPDATE protected_resident SET ended_on = ?, ended_from = ?, ended_by = ?, end_seq = ?, changed_seq = ? WHERE id = ? AND ended_on IS NULL`,
				day.Format(time.DateOnly), from, who.Actor.String(), seq, seq, id); err != nil {
				return fmt.Errorf("end protection %d: %w", id, err)
			}
			return nil
		})
}

const columns = `id, resident_code, starts_on, ends_on, department, category, source, source_id, recorded_by, recorded_at, ended_on, ended_from, ended_by`

func scan(row interface{ Scan(...any) error }) (Protection, error) {
	var p Protection
	var start, end string
	var endedOn, endedBy sql.NullString
	var endedFrom sql.NullTime
	if err := row.Scan(&p.ID, &p.ResidentCode, &start, &end, &p.Department, &p.Category, &p.Source, &p.SourceID, &p.RecordedBy, &p.RecordedAt,
		&endedOn, &endedFrom, &endedBy); err != nil {
		return p, err
	}
	var err error
	if p.Start, err = parseDay(start); err == nil {
		p.End, err = parseDay(end)
	}
	if err == nil && endedOn.Valid {
		p.Ended = &Ending{From: endedFrom.Time, By: endedBy.String}
		p.Ended.Day, err = parseDay(endedOn.String)
	}
	if err != nil {
		return p, fmt.Errorf("protection %d: %w", p.ID, err)
	}
	return p, nil
}

func parseDay(s string) (time.Time, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, jptext.JST)
	if err != nil {
		return time.Time{}, fmt.Errorf("day %q: %w", s, err)
	}
	return t, nil
}

func (r *Register) get(ctx context.Context, q db.Querier, id int64) (Protection, error) {
	p, err := scan(q.QueryRow(ctx, `SELECT `+columns+` FROM protected_resident WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return p, apperr.New(apperr.NotFound, fmt.Sprintf("protection %d is not recorded", id), fmt.Sprintf("番号 %d の支援措置は登録されていません", id))
	}
	if err != nil {
		return p, fmt.Errorf("read protection %d: %w", id, err)
	}
	return p, nil
}

// readAll reads every protection, newest first.
func readAll(ctx context.Context, q db.Querier) ([]Protection, error) {
	rows, err := q.Query(ctx, `SELECT `+columns+` FROM protected_resident ORDER BY starts_on DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list protections: %w", err)
	}
	defer rows.Close()
	var out []Protection
	for rows.Next() {
		p, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list protections: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// List returns the register, newest first — only those in force or still
// to come unless everything — if the policies let who see it (view-protected).
// The viewing is logged, allowed or refused: the list is what an abuser
// would want.
func (r *Register) List(ctx context.Context, who staff.Who, everything bool) ([]Protection, error) {
	var out []Protection
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "protect.view", Query: map[bool]string{true: "all", false: "in force"}[everything]}
	err := staff.Administer(ctx, r.log, r.authz, who, ActView, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			ps, err := readAll(ctx, tx)
			if err != nil {
				return err
			}
			for _, p := range ps {
				if everything || now.Before(p.Until()) {
					out = append(out, p)
				}
			}
			return nil
		})
	return out, err
}

// Facts are the protections the policy engine keeps in its snapshot.
type Facts []Protection

// Load reads the facts (when the policy engine rebuilds its snapshot,
// never per decision): every protection not over before it began.
func Load(ctx context.Context, q db.Querier) (Facts, error) {
	ps, err := readAll(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("load protected residents: %w", err)
	}
	var f Facts
	for _, p := range ps {
		if p.Start.Before(p.Until()) {
			f = append(f, p)
		}
	}
	return f, nil
}

// InForce returns the residents protected at now (住民票コード → the
// protection) and the next instant after now a protection starts or ends,
// zero when none: the snapshot is rebuilt then.
func (f Facts) InForce(now time.Time) (map[string]Protection, time.Time) {
	in := map[string]Protection{}
	var next time.Time
	for _, p := range f {
		if p.InForce(now) {
			if cur, ok := in[p.ResidentCode]; !ok || p.Until().After(cur.Until()) {
				in[p.ResidentCode] = p
			}
		}
		for _, t := range []time.Time{p.Start, p.Until()} {
			if t.After(now) && (next.IsZero() || t.Before(next)) {
				next = t
			}
		}
	}
	return in, next
}

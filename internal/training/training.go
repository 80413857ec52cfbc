// Package training keeps the record of training (研修, koto-ward:10,
// aomori-pref:9): the sessions held of the courses the profile defines
// (date, course, trainer, material) and who attended each, and works out
// from it who is trained. The record is the control: a person who needs a
// course (by a role they hold, or because they are a terminal operator)
// and has no attendance still valid cannot use the register, and no
// verification credential is registered for them (koto-ward:13). The
// policy engine keeps those facts in its snapshot (Load, Required,
// Standings), so the decision of a lookup makes no query of its own.
//
// Recording a session is decided by the profile's policies
// (manage-training) and made in the transaction of its audit entry, which
// also bumps the staff version so every policy engine rebuilds.
package training

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// The actions of the policies.
const (
	// ActManage records a training session (who trains: koto-ward:10 the
	// security officers and the system administrator; aomori-pref:9.1 the
	// system administrator).
	ActManage = "manage-training"
	// ActView opens the training record (asked, not logged).
	ActView = "view-training"
)

// What the fields of a session may hold, the one definition every door
// (the form, the CLI) applies through Session.Check.
const (
	MaxTrainer   = 64  // characters
	MaxMaterial  = 200 // characters
	MaxAttendees = 500
)

// FieldTrainer and FieldMaterial are what a session's trainer and material
// may hold: free text by the rules every door applies (docs/fields.md), so
// no format control, invalid byte or control character reaches the record
// or the audit log.
var (
	FieldTrainer  = resident.Field{Name: "trainer", Japanese: "講師", Class: resident.ClassText, Max: MaxTrainer}
	FieldMaterial = resident.Field{Name: "material", Japanese: "教材", Class: resident.ClassText, Max: MaxMaterial}
)

// Expiring is how far ahead the dashboard and `training list` look for
// training that runs out.
const Expiring = 30 * 24 * time.Hour

// Session is one training session held, with the people who attended.
type Session struct {
	ID         int64
	Course     string    // profile course id
	Day        time.Time // the day held: midnight JST
	Trainer    string
	Material   string
	Attendees  []string // verification ids
	RecordedBy string
	RecordedAt time.Time
}

// Check applies the field rules to a session about to be recorded on the
// day now: a course of the profile, a day not after today, a trainer and a
// material within their lengths, and at least one attendee. It trims the
// text fields and drops repeated attendees. The error is about the field
// (apperr.FieldsOf: course, date, trainer, material, attendee) and says
// the rule, in English and Japanese.
func (s *Session) Check(prof *profile.Profile, now time.Time) error {
	s.Trainer, s.Material = strings.TrimSpace(s.Trainer), strings.TrimSpace(s.Material)
	var vids []string
	for _, v := range s.Attendees {
		if v = strings.TrimSpace(v); v != "" && !slices.Contains(vids, v) {
			vids = append(vids, v)
		}
	}
	s.Attendees = vids
	today := now.In(jptext.JST)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, jptext.JST)
	if _, ok := prof.Course(s.Course); !ok {
		var ids []string
		for _, c := range prof.Courses {
			ids = append(ids, c.ID)
		}
		return apperr.New(apperr.Invalid, fmt.Sprintf("course %q: use one of %s", s.Course, strings.Join(ids, ", ")), "研修の種類（科目）を選んでください").At("course")
	}
	switch {
	case s.Day.IsZero():
		return apperr.New(apperr.Invalid, "date: enter the day the session was held", "実施日を入力してください").At("date")
	case s.Day.After(today):
		return apperr.New(apperr.Invalid, fmt.Sprintf("date %s is after today: record a session once it is held", s.Day.Format(time.DateOnly)),
			fmt.Sprintf("実施日 %s は今日より後です。研修は実施した後に記録してください", jptext.FormatWareki(s.Day))).At("date")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldTrainer, Text: s.Trainer, Required: true},
		resident.Value{Field: FieldMaterial, Text: s.Material, Required: true}); err != nil {
		return err
	}
	switch {
	case len(s.Attendees) == 0:
		return apperr.New(apperr.Invalid, "attendees: name at least one person who attended", "出席者を一人以上選んでください").At("attendee")
	case len(s.Attendees) > MaxAttendees:
		return apperr.New(apperr.Invalid, fmt.Sprintf("attendees: at most %d per session", MaxAttendees), fmt.Sprintf("出席者は一回の研修につき%d人までです", MaxAttendees)).At("attendee")
	}
	return nil
}

// Register keeps a node's training record.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	// Now is the clock that says which day is today (a session cannot be
	// recorded before it is held); nil means time.Now.
	Now func() time.Time

	staff.Listeners // OnChange: run after every committed change (the policy engine's Invalidate)
}

// New returns the training record of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Record records a session held and its attendees, once the policies allow
// who to (manage-training). Bad input is refused before anything is
// logged; an attendee who is not an active staff member is refused in the
// transaction, so nothing of the session is stored.
func (r *Register) Record(ctx context.Context, who staff.Who, s Session) (int64, error) {
	if err := s.Check(r.prof, r.now()); err != nil {
		return 0, err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "training.session", Query: "course:" + s.Course,
		Detail: fmt.Sprintf("held %s by %s (%s); attended: %s", s.Day.Format(time.DateOnly), s.Trainer, s.Material, strings.Join(s.Attendees, ", "))}
	var id int64
	err := staff.Administer(ctx, r.log, r.authz, who, ActManage, staff.Resource{Kind: "node", ID: r.node}, e,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			people := make([]int64, len(s.Attendees))
			for i, vid := range s.Attendees {
				var pid int64
				var active bool
				err := tx.QueryRow(ctx, `SELECT id, active FROM staff_person WHERE verification_id = ?`, vid).Scan(&pid, &active)
				if err != nil || !active {
					return apperr.New(apperr.Invalid, fmt.Sprintf("attendee %s is not an active staff member", vid),
						fmt.Sprintf("出席者の照合ID %s は登録されていないか、異動・退職済みです", vid)).At("attendee")
				}
				people[i] = pid
			}
			if err := tx.QueryRow(ctx, `INSERT INTO training_session (course_id, held_on, trainer, material, recorded_by, recorded_at, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, s.Course, s.Day.Format(time.DateOnly), s.Trainer, s.Material, who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record training session: %w", err)
			}
			for _, pid := range people {
				if _, err := tx.Exec(ctx, `INSERT INTO training_attendance (session_id, person_id) VALUES (?, ?)`, id, pid); err != nil {
					return fmt.Errorf("record attendance: %w", err)
				}
			}
			return staff.BumpVersion(ctx, tx)
		})
	if err != nil {
		return 0, err
	}
	r.Notify()
	return id, nil
}

// Sessions lists the sessions recorded, newest first, with their attendees.
func Sessions(ctx context.Context, q db.Querier) ([]Session, error) {
	rows, err := q.Query(ctx, `SELECT id, course_id, held_on, trainer, material, recorded_by, recorded_at FROM training_session ORDER BY held_on DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list training sessions: %w", err)
	}
	var out []Session
	byID := map[int64]int{}
	for rows.Next() {
		var s Session
		var day string
		if err := rows.Scan(&s.ID, &s.Course, &day, &s.Trainer, &s.Material, &s.RecordedBy, &s.RecordedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("list training sessions: %w", err)
		}
		if s.Day, err = time.ParseInLocation(time.DateOnly, day, jptext.JST); err != nil {
			rows.Close()
			return nil, fmt.Errorf("training session %d: day %q: %w", s.ID, day, err)
		}
		byID[s.ID] = len(out)
		out = append(out, s)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list training sessions: %w", err)
	}
	rows, err = q.Query(ctx, `SELECT a.session_id, p.verification_id FROM training_attendance a JOIN staff_person p ON p.id = a.person_id ORDER BY p.verification_id`)
	if err != nil {
		return nil, fmt.Errorf("list attendance: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid int64
		var vid string
		if err := rows.Scan(&sid, &vid); err != nil {
			return nil, fmt.Errorf("list attendance: %w", err)
		}
		if i, ok := byID[sid]; ok {
			out[i].Attendees = append(out[i].Attendees, vid)
		}
	}
	return out, rows.Err()
}

// Facts are what the record says of each active staff member: verification
// id → course id → the last day they attended it (midnight JST).
type Facts map[string]map[string]time.Time

// Load reads the facts in one query (when the policy engine rebuilds its
// snapshot, never per decision).
func Load(ctx context.Context, q db.Querier) (Facts, error) {
	rows, err := q.Query(ctx, `SELECT p.verification_id, s.course_id, MAX(s.held_on)
		FROM training_attendance a JOIN training_session s ON s.id = a.session_id JOIN staff_person p ON p.id = a.person_id
		WHERE p.active = ? GROUP BY p.verification_id, s.course_id`, true)
	if err != nil {
		return nil, fmt.Errorf("load training record: %w", err)
	}
	defer rows.Close()
	f := Facts{}
	for rows.Next() {
		var vid, course, day string
		if err := rows.Scan(&vid, &course, &day); err != nil {
			return nil, fmt.Errorf("load training record: %w", err)
		}
		t, err := time.ParseInLocation(time.DateOnly, day, jptext.JST)
		if err != nil {
			return nil, fmt.Errorf("load training record: day %q: %w", day, err)
		}
		if f[vid] == nil {
			f[vid] = map[string]time.Time{}
		}
		f[vid][course] = t
	}
	return f, rows.Err()
}

// Required are the profile's courses a person needs: those of a role they
// hold (node-wide or in any department), and those every terminal operator
// needs when they are designated for an affair.
func Required(prof *profile.Profile, m *staff.Member) []profile.Course {
	var out []profile.Course
	for _, c := range prof.Courses {
		need := c.Operators && len(m.Affairs) > 0
		for _, r := range c.Roles {
			if slices.Contains(m.Roles, r) || len(m.DepartmentRoles[r]) > 0 {
				need = true
			}
		}
		if need {
			out = append(out, c)
		}
	}
	return out
}

// Standing is where a person stands on one course they need.
type Standing struct {
	Course profile.Course
	// Last is the last day they attended it; zero when never.
	Last time.Time
	// Until is the instant the attendance stops counting (Last plus the
	// course's months); zero when never attended.
	Until time.Time
}

// Valid says whether the attendance counts at now.
func (s Standing) Valid(now time.Time) bool { return !s.Last.IsZero() && now.Before(s.Until) }

// Standings are where a person stands on each course required, from the
// facts of that person (course → last day attended).
func Standings(required []profile.Course, attended map[string]time.Time) []Standing {
	out := make([]Standing, len(required))
	for i, c := range required {
		out[i] = Standing{Course: c}
		if last, ok := attended[c.ID]; ok {
			out[i].Last, out[i].Until = last, last.AddDate(0, c.Months(), 0)
		}
	}
	return out
}

// Until is the instant the first of the standings stops counting: zero
// when a course was never attended (or none is required: see Required).
func Until(standings []Standing) time.Time {
	var until time.Time
	for i, s := range standings {
		if s.Last.IsZero() {
			return time.Time{}
		}
		if i == 0 || s.Until.Before(until) {
			until = s.Until
		}
	}
	return until
}

// Explain says, in English and Japanese, which required courses are
// missing or expired at now, and since when; empty when all are valid.
func Explain(standings []Standing, now time.Time) (en, ja string) {
	var ens, jas []string
	for _, s := range standings {
		switch {
		case s.Last.IsZero():
			ens = append(ens, fmt.Sprintf("course %s (%s) never attended", s.Course.ID, s.Course.NameEN))
			jas = append(jas, fmt.Sprintf("「%s」を受講していません", s.Course.Name))
		case !s.Valid(now):
			ens = append(ens, fmt.Sprintf("course %s (%s) expired on %s (last attended %s)", s.Course.ID, s.Course.NameEN,
				s.Until.Format(time.DateOnly), s.Last.Format(time.DateOnly)))
			jas = append(jas, fmt.Sprintf("「%s」の受講の有効期限が%sに切れています（最終受講 %s）", s.Course.Name,
				jptext.FormatWareki(s.Until), jptext.FormatWareki(s.Last)))
		}
	}
	return strings.Join(ens, "; "), strings.Join(jas, "。")
}

// Status is one person's training: the courses they need and where they
// stand on each.
type Status struct {
	VerificationID string
	Name           string
	Department     string
	Standings      []Standing
}

// Valid says whether every course the person needs counts at now.
func (s Status) Valid(now time.Time) bool {
	u := Until(s.Standings)
	return !u.IsZero() && now.Before(u)
}

// Expires is the instant the person's training stops counting (zero when a
// course is missing).
func (s Status) Expires() time.Time { return Until(s.Standings) }

// Statuses returns the training status of every active staff member who
// needs a course, by department and verification id, from the staff state
// and the facts.
func Statuses(prof *profile.Profile, st *staff.State, facts Facts) []Status {
	var out []Status
	for vid, m := range st.People {
		req := Required(prof, m)
		if len(req) == 0 {
			continue
		}
		out = append(out, Status{VerificationID: vid, Name: m.Name, Department: m.Department, Standings: Standings(req, facts[vid])})
	}
	slices.SortFunc(out, func(a, b Status) int {
		if c := strings.Compare(a.Department, b.Department); c != 0 {
			return c
		}
		return strings.Compare(a.VerificationID, b.VerificationID)
	})
	return out
}

// ExpiringSoon are the statuses valid at now whose training stops counting
// within Expiring, soonest first.
func ExpiringSoon(all []Status, now time.Time) []Status {
	var out []Status
	for _, s := range all {
		if s.Valid(now) && s.Expires().Before(now.Add(Expiring)) {
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Status) int { return a.Expires().Compare(b.Expires()) })
	return out
}

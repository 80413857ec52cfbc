// Package council keeps the record of the security council (セキュリティ会議,
// koto-ward:5) and of the chief security officer's directives and requests
// that follow its decisions (koto-ward:6).
//
// A meeting is regular or extraordinary; the chair (the chief security
// officer) convenes it, or the vice chair acting for him (5.6, 5.7), at a
// day and time and a place; an extraordinary meeting may be called from an
// incident or a detection alert (5.8(5), 緊急時の対応), which becomes its
// first agenda item. Every directive or request overdue when a meeting is
// convened is put on its agenda too.
//
// Attendance is checked against the profile's membership ([council]): each
// staff member present is given the seat their post fills — the chair and
// the vice chair by their roles, a member by the post the profile names
// (政策経営部長, 区民課長 …), which a person holds when their title (職) is
// that post (a remark in brackets after it, such as （兼務）, is ignored),
// when a role they hold is filled by that post (the system administrator is
// the 情報システム課長), or when they are the security officer or section
// head of the department the post heads (the 区民課長 heads 区民課). Staff
// the chair calls to attend (5.9) are recorded as such and fill no seat.
// The council decides only with its quorum present: the profile's, or a
// majority of its seats when the regulation sets none (koto-ward sets
// none: 6 of its 11 seats). A decision is taken by consent or by vote,
// with the counts; the minutes are approved by the chair, or by the vice
// chair when the chair was not present (5.7), and once approved the
// meeting's record is closed.
//
// After an adopted decision the chief security officer issues directives
// (指示) to departments — what, to which department, by when — which the
// department's head (its security officer in koto-ward) acknowledges and
// later reports complete with a note; and requests (要請) to other bodies
// (教育委員会, 選挙管理委員会 …), whose answer is recorded. One not done
// by the end of its due day is overdue (Overdue), on the node's clock.
//
// Every change is decided by the profile's policies (manage-council,
// approve-minutes, issue-directive, acknowledge-directive) and made in the
// transaction of its audit entry; refusals are logged too. The policy
// engine needs none of these facts, so no change bumps the staff version.
package council

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

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
	// ActManage convenes meetings and records their attendance, agenda,
	// decisions and minutes (koto-ward:5.6, 5.7: the chair, or the vice
	// chair acting for him).
	ActManage = "manage-council"
	// ActApproveMinutes approves a meeting's minutes, which closes its
	// record (the chair; the vice chair when the chair was absent).
	ActApproveMinutes = "approve-minutes"
	// ActIssue issues directives to departments and requests to other
	// bodies after a decision, and records a body's answer (koto-ward:6:
	// the chief security officer).
	ActIssue = "issue-directive"
	// ActAcknowledge acknowledges a directive to a department and reports
	// its completion (the department's head).
	ActAcknowledge = "acknowledge-directive"
	// ActView opens the record (asked, not logged).
	ActView = "view-council"
)

// Actions are the record's actions, for the policy engine.
var Actions = []string{ActManage, ActApproveMinutes, ActIssue, ActAcknowledge, ActView}

// ActionJapanese names the actions in refusals.
var ActionJapanese = map[string]string{
	ActManage: "セキュリティ会議の招集・記録", ActApproveMinutes: "セキュリティ会議の議事録の承認",
	ActIssue: "関係部署への指示・他機関への要請", ActAcknowledge: "指示の受領・完了の報告", ActView: "セキュリティ会議の記録の閲覧",
}

// Kind is a kind of meeting.
type Kind string

// The kinds of meeting.
const (
	Regular       Kind = "regular"       // 定例会議
	Extraordinary Kind = "extraordinary" // 臨時会議
)

// Japanese names the kind.
func (k Kind) Japanese() string {
	switch k {
	case Regular:
		return "定例会議"
	case Extraordinary:
		return "臨時会議"
	}
	return string(k)
}

// Seat is what a person attends a meeting as.
type Seat string

// The seats. Staff called to attend (関係職員, 5.9) fill no seat of the
// council and do not count toward its quorum.
const (
	SeatChair     Seat = "chair"      // 議長
	SeatViceChair Seat = "vice_chair" // 副議長
	SeatMember    Seat = "member"     // 委員
	SeatStaff     Seat = "staff"      // 関係職員
)

// Japanese names the seat.
func (s Seat) Japanese() string {
	switch s {
	case SeatChair:
		return "議長"
	case SeatViceChair:
		return "副議長"
	case SeatMember:
		return "委員"
	case SeatStaff:
		return "関係職員"
	}
	return string(s)
}

// Method is how a decision was reached.
type Method string

// The methods.
const (
	Consent Method = "consent" // 全会一致（異議なし）
	Vote    Method = "vote"    // 採決
)

// Japanese names the method.
func (m Method) Japanese() string {
	switch m {
	case Consent:
		return "異議なし（全会一致）"
	case Vote:
		return "採決"
	}
	return string(m)
}

// The kinds of agenda item a meeting may link.
const (
	RefIncident  = "incident"  // 事案
	RefAlert     = "alert"     // 不正利用の検知
	RefDirective = "directive" // 期限を過ぎた指示・要請
)

// What the council's text may hold (docs/fields.md), the one definition
// every door (the form, the CLI) applies.
var (
	FieldPlace    = resident.Field{Name: "place", Japanese: "開催場所", Class: resident.ClassText, Max: 100}
	FieldItem     = resident.Field{Name: "title", Japanese: "議題", Class: resident.ClassText, Max: 200}
	FieldDecision = resident.Field{Name: "text", Japanese: "議決の内容", Class: resident.ClassText, Max: 1000}
	FieldMinutes  = resident.Field{Name: "minutes", Japanese: "議事録", Class: resident.ClassText, Max: 4000}
	FieldApprover = resident.Field{Name: "chair", Japanese: "承認する議長の照合ID", Class: resident.ClassText, Max: 64}
)

// Meeting is one meeting of the council and what it recorded.
type Meeting struct {
	ID    int64
	Kind  Kind
	At    time.Time // when it meets
	Place string
	// Source is the incident or alert an extraordinary meeting was called
	// from ("incident:3", "alert:5"); empty otherwise.
	Source     string
	ConvenedBy string
	ConvenedAt time.Time
	Minutes    string
	MinutesBy  string
	MinutesAt  time.Time
	// ApprovedBy is the chair (or the vice chair acting) who approved the
	// minutes, as an actor ("operator:VID"); set, the record is closed.
	ApprovedBy string
	ApprovedAt time.Time

	Attendees []Attendee
	Items     []Item
	Decisions []Decision
}

// Closed says whether the minutes are approved: nothing of the meeting
// changes any more.
func (m Meeting) Closed() bool { return !m.ApprovedAt.IsZero() }

// Begun says whether the meeting's time has come at now: attendance,
// decisions and minutes are recorded from then.
func (m Meeting) Begun(now time.Time) bool { return !now.Before(m.At) }

// Present is how many of the council's seats are filled by the attendees.
func (m Meeting) Present() int {
	n := 0
	for _, a := range m.Attendees {
		if a.Seat != SeatStaff {
			n++
		}
	}
	return n
}

// ChairPresent says whether the chair attended.
func (m Meeting) ChairPresent() bool {
	return slices.ContainsFunc(m.Attendees, func(a Attendee) bool { return a.Seat == SeatChair })
}

// SourceRef splits Source into its kind and number.
func (m Meeting) SourceRef() (kind string, id int64) {
	kind, n, ok := strings.Cut(m.Source, ":")
	if !ok {
		return "", 0
	}
	id, _ = strconv.ParseInt(n, 10, 64)
	return kind, id
}

// Attendee is a person present at a meeting.
type Attendee struct {
	VID  string // 照合ID
	Name string
	Seat Seat
	// Post is the post that gives the seat (a member's: 区民課長), the
	// role's name for the chair and vice chair, or the title of staff
	// called to attend.
	Post       string
	RecordedBy string
	RecordedAt time.Time
}

// Item is one agenda item (議題) of a meeting.
type Item struct {
	ID      int64
	Meeting int64
	Number  int // 1, 2 … within the meeting
	Title   string
	// RefKind and RefID link an incident, an alert or an overdue
	// directive; empty and 0 for a free-text item.
	RefKind string
	RefID   int64
	AddedBy string
	AddedAt time.Time
}

// Decision is a decision (議決) of a meeting.
type Decision struct {
	ID      int64
	Meeting int64
	Item    int64 // the agenda item's id; 0 for none
	Text    string
	Method  Method
	// For, Against and Abstain are the votes; zero for a consent.
	For, Against, Abstain int
	// Adopted says the decision was carried: by consent, or by more votes
	// for than against.
	Adopted    bool
	RecordedBy string
	RecordedAt time.Time
}

// Register keeps a node's council record.
type Register struct {
	db    *db.DB
	log   *auditlog.Log
	authz staff.Authorizer
	prof  *profile.Profile
	node  string
	// Now is the node's clock (a meeting is not dated years away, a
	// directive not due before its meeting); nil means time.Now.
	Now func() time.Time
}

// New returns the council record of the node named node.
func New(d *db.DB, log *auditlog.Log, authz staff.Authorizer, prof *profile.Profile, node string) *Register {
	return &Register{db: d, log: log, authz: authz, prof: prof, node: node}
}

func (r *Register) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Council is the profile's council; nil when the regulation has none.
func (r *Register) Council() *profile.Council { return r.prof.Council }

// noCouncil refuses every change on a profile without a council.
func (r *Register) noCouncil() error {
	if r.prof.Council != nil {
		return nil
	}
	return apperr.New(apperr.Invalid, fmt.Sprintf("profile %s has no security council", r.prof.ID),
		fmt.Sprintf("この規程（%s）にはセキュリティ会議の定めがありません", r.prof.Title))
}

// administer makes one change once the policies allow who to take action
// on res, in the transaction of its audit entry (a refusal, by the
// policies or by the rules work applies, is logged too).
func (r *Register) administer(ctx context.Context, who staff.Who, action string, res staff.Resource, verb, query, detail string,
	work func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error) error {
	if err := r.noCouncil(); err != nil {
		return err
	}
	e := auditlog.Entry{Node: r.node, Actor: who.Actor, Origin: who.Origin, Action: "council." + verb, Query: query, Detail: detail}
	return staff.Administer(ctx, r.log, r.authz, who, action, res, e, work)
}

func (r *Register) nodeResource() staff.Resource { return staff.Resource{Kind: "node", ID: r.node} }

// ParseAt reads a meeting's day (as jptext.ParseDay) and its time of day
// (14:00, １４：００, 14時, 14時30分) and returns the instant in JST.
func ParseAt(day, clock string) (time.Time, error) {
	d, err := jptext.ParseDay("date", "開催日", day)
	if err != nil {
		return time.Time{}, err
	}
	c := strings.TrimSpace(norm.NFKC.String(clock))
	bad := apperr.New(apperr.Invalid, fmt.Sprintf("time %q: write it as 14:00", clock),
		fmt.Sprintf("開催時刻「%s」を読み取れません。14:00 の形で入力してください", clock))
	if c == "" {
		return time.Time{}, apperr.New(apperr.Invalid, "time: enter the time of day", "開催時刻を入力してください")
	}
	c = strings.TrimSuffix(strings.NewReplacer("時", ":", "分", "").Replace(c), ":")
	hs, ms, _ := strings.Cut(c, ":")
	h, err1 := strconv.Atoi(hs)
	m := 0
	var err2 error
	if ms != "" {
		m, err2 = strconv.Atoi(ms)
	}
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return time.Time{}, bad
	}
	return d.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute), nil
}

// multiline checks text that may hold line breaks (minutes) against f:
// each line as the field's text, the whole within its length. It returns
// the text with its line breaks as \n and trimmed.
func multiline(f resident.Field, text string, required bool) (string, error) {
	text = strings.TrimSpace(strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(text))
	flat := strings.ReplaceAll(text, "\n", " ")
	if err := resident.CheckValues(resident.Value{Field: f, Text: flat, Required: required}); err != nil {
		return "", err
	}
	return text, nil
}

// Convene records a meeting the chair (or the vice chair) convenes and
// returns its number. An extraordinary meeting may name the incident or
// alert it is called about (Source "incident:N" or "alert:N"), which
// becomes its first agenda item; every directive or request overdue at
// that moment is put on the agenda after it.
func (r *Register) Convene(ctx context.Context, who staff.Who, m Meeting) (int64, error) {
	if err := r.noCouncil(); err != nil {
		return 0, err
	}
	m.Place, m.Source = strings.TrimSpace(m.Place), strings.TrimSpace(m.Source)
	switch m.Kind {
	case Regular, Extraordinary:
	default:
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("kind %q: regular or extraordinary", m.Kind), "定例会議か臨時会議かを選んでください")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldPlace, Text: m.Place, Required: true}); err != nil {
		return 0, err
	}
	now := r.now()
	switch {
	case m.At.IsZero():
		return 0, apperr.New(apperr.Invalid, "date: enter the day and time of the meeting", "開催日時を入力してください")
	case m.At.Before(now.AddDate(-1, 0, 0)) || m.At.After(now.AddDate(1, 0, 0)):
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("date %s is more than a year from today", m.At.Format(time.DateOnly)),
			fmt.Sprintf("開催日（%s）が今日から1年以上離れています。年を確かめてください", jptext.FormatWareki(m.At.In(jptext.JST))))
	}
	kind, ref, err := parseRef(m.Source)
	if err != nil {
		return 0, err
	}
	if kind != "" && m.Kind != Extraordinary {
		return 0, apperr.New(apperr.Invalid, "a meeting called about an incident or an alert is extraordinary",
			"事案・検知を受けて招集する会議は臨時会議です。種別を臨時会議にしてください")
	}
	var id int64
	err = r.administer(ctx, who, ActManage, r.nodeResource(), "convene", m.Source,
		fmt.Sprintf("convene a %s meeting of the security council at %s, %s%s", m.Kind, m.At.In(jptext.JST).Format("2006-01-02 15:04"), m.Place, sourceNote(m.Source)),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			first := ""
			if kind != "" {
				if first, err = refTitle(ctx, tx, kind, ref); err != nil {
					return err
				}
			}
			if err := tx.QueryRow(ctx, `INSERT INTO council_meeting (kind, held_at, place, source, convened_by, convened_at, convened_seq)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, string(m.Kind), m.At, m.Place, m.Source, who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record meeting: %w", err)
			}
			number := 0
			add := func(title, refKind string, refID int64) error {
				number++
				_, err := tx.Exec(ctx, `INSERT INTO council_item (meeting_id, number, title, ref_kind, ref_id, added_by, added_at, seq)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, id, number, title, refKind, refID, who.Actor.String(), now, seq)
				if err != nil {
					return fmt.Errorf("record agenda item %d: %w", number, err)
				}
				return nil
			}
			if kind != "" {
				if err := add(first, kind, ref); err != nil {
					return err
				}
			}
			// koto-ward:6: what the chief security officer directed and is
			// not done is the council's business again.
			late, err := Overdue(ctx, tx, now)
			if err != nil {
				return err
			}
			for _, d := range late {
				if err := add(d.overdueTitle(r.prof), RefDirective, d.ID); err != nil {
					return err
				}
			}
			return nil
		})
	return id, err
}

func sourceNote(source string) string {
	if source == "" {
		return ""
	}
	return ", called about " + source
}

// parseRef reads "incident:N" or "alert:N" ("" for none).
func parseRef(s string) (string, int64, error) {
	if s == "" {
		return "", 0, nil
	}
	kind, n, _ := strings.Cut(s, ":")
	id, err := strconv.ParseInt(n, 10, 64)
	if (kind != RefIncident && kind != RefAlert) || err != nil || id <= 0 {
		return "", 0, apperr.New(apperr.Invalid, fmt.Sprintf("source %q: incident:N or alert:N", s),
			fmt.Sprintf("招集のきっかけ「%s」は、事案（incident:番号）か検知（alert:番号）で指定してください", s))
	}
	return kind, id, nil
}

// refTitle is the title of an agenda item about an incident or an alert,
// which must be recorded.
func refTitle(ctx context.Context, q db.Querier, kind string, id int64) (string, error) {
	switch kind {
	// Incidents and alerts are read here rather than through their
	// packages: the policy engine imports this package for its actions,
	// and detect's own tests build a policy engine.
	case RefIncident:
		var title string
		err := q.QueryRow(ctx, `SELECT title FROM incident WHERE id = ?`, id).Scan(&title)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return "", apperr.New(apperr.NotFound, fmt.Sprintf("no incident %d", id), fmt.Sprintf("事案 %d はありません", id))
		case err != nil:
			return "", fmt.Errorf("read incident %d: %w", id, err)
		}
		return fmt.Sprintf("事案 %d「%s」への対応", id, title), nil
	case RefAlert:
		var day, detail string
		err := q.QueryRow(ctx, `SELECT day, detail_ja FROM detection_alert WHERE id = ?`, id).Scan(&day, &detail)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return "", apperr.New(apperr.NotFound, fmt.Sprintf("no alert %d", id), fmt.Sprintf("検知 %d はありません", id))
		case err != nil:
			return "", fmt.Errorf("read alert %d: %w", id, err)
		}
		if d := []rune(detail); len(d) > 80 {
			detail = string(d[:79]) + "…"
		}
		return fmt.Sprintf("検知 %d（%s）への対応：%s", id, day, detail), nil
	}
	return "", apperr.New(apperr.Invalid, "unknown reference "+kind, "議題に結び付ける記録の種類が正しくありません")
}

// open reads a meeting whose record is not closed.
func open(ctx context.Context, q db.Querier, id int64) (Meeting, error) {
	m, err := Get(ctx, q, id)
	if err != nil {
		return m, err
	}
	if m.Closed() {
		return m, apperr.New(apperr.Conflict, fmt.Sprintf("the minutes of meeting %d are approved: its record is closed", id),
			fmt.Sprintf("第%d回の会議は議事録が承認され、記録は確定しています。変更できません", id))
	}
	return m, nil
}

// begun refuses a record of what happened at a meeting before its time.
func begun(m Meeting, now time.Time, what string) error {
	if m.Begun(now) {
		return nil
	}
	at := m.At.In(jptext.JST)
	return apperr.New(apperr.Conflict, fmt.Sprintf("meeting %d begins at %s: %s cannot be recorded before", m.ID, at.Format("2006-01-02 15:04"), what),
		fmt.Sprintf("第%d回の会議は%s %sからです。開始前に%sは記録できません", m.ID, jptext.FormatWareki(at), at.Format("15:04"), what))
}

// Attend records the people present at a meeting, by verification id,
// all or none: members, each in the seat of the council their post gives
// them (one who holds none is refused), and related, staff the chair called
// to attend (関係職員, 5.9), who fill no seat (one who holds a seat is
// recorded in it). A seat is filled once, a person recorded once.
func (r *Register) Attend(ctx context.Context, who staff.Who, meeting int64, members, related []string) error {
	members, related = tidy(members), tidy(related)
	if len(members)+len(related) == 0 {
		return apperr.New(apperr.Invalid, "attendees: name at least one person present", "出席者を1人以上指定してください")
	}
	for _, vid := range append(append([]string{}, members...), related...) {
		if !staff.WellFormedID(vid) {
			return apperr.New(apperr.Invalid, fmt.Sprintf("verification id %q: use 1 to 64 letters, digits, '.', '_' or '-'", vid),
				fmt.Sprintf("照合ID「%s」は英数字と . _ - の64文字以内で入力してください", vid))
		}
	}
	detail := fmt.Sprintf("attendance at meeting %d: %s", meeting, strings.Join(members, ", "))
	if len(related) > 0 {
		detail += fmt.Sprintf("; staff called to attend (5.9): %s", strings.Join(related, ", "))
	}
	type present struct {
		vid     string
		related bool
	}
	var all []present
	for _, vid := range members {
		all = append(all, present{vid, false})
	}
	for _, vid := range related {
		all = append(all, present{vid, true})
	}
	return r.administer(ctx, who, ActManage, r.nodeResource(), "attend", fmt.Sprintf("meeting:%d", meeting), detail,
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			m, err := open(ctx, tx, meeting)
			if err != nil {
				return err
			}
			if err := begun(m, now, "出席"); err != nil {
				return err
			}
			for _, p := range all {
				vid := p.vid
				h, err := r.holder(ctx, tx, vid)
				if err != nil {
					return err
				}
				if h.Seat == "" {
					if !p.related {
						return apperr.New(apperr.Invalid, fmt.Sprintf("%s holds no seat of the council (chair, vice chair, members: %s)", vid, strings.Join(r.prof.Council.Members, ", ")),
							fmt.Sprintf("照合ID %s（%s、%s）はセキュリティ会議の構成員（議長・副議長・委員：%s）ではありません。関係職員として出席を求めた場合は、関係職員として記録してください（第5条第9項）",
								vid, h.Name, h.Title, strings.Join(r.prof.Council.Members, "、")))
					}
					h.Seat, h.Post = SeatStaff, h.Title
				}
				for _, a := range m.Attendees {
					switch {
					case a.VID == vid:
						return apperr.New(apperr.Conflict, fmt.Sprintf("%s is already recorded present at meeting %d", vid, meeting),
							fmt.Sprintf("照合ID %s（%s）は第%d回の会議に出席済みとして記録されています", vid, h.Name, meeting))
					case h.Seat != SeatStaff && a.Seat == h.Seat && a.Post == h.Post:
						return apperr.New(apperr.Conflict, fmt.Sprintf("the seat of %s is already filled by %s at meeting %d", h.Post, a.VID, meeting),
							fmt.Sprintf("%s（%s）の席には、すでに %s（%s）が出席しています", h.Seat.Japanese(), h.Post, a.Name, a.VID))
					}
				}
				if _, err := tx.Exec(ctx, `INSERT INTO council_attendance (meeting_id, person_id, seat, post, recorded_by, recorded_at, seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
					meeting, h.person, string(h.Seat), h.Post, who.Actor.String(), now, seq); err != nil {
					return fmt.Errorf("record attendance of %s: %w", vid, err)
				}
				m.Attendees = append(m.Attendees, Attendee{VID: vid, Name: h.Name, Seat: h.Seat, Post: h.Post})
			}
			return nil
		})
}

// tidy trims, drops empty entries and duplicates, and sorts.
func tidy(ids []string) []string {
	var out []string
	for _, id := range ids {
		for _, f := range strings.FieldsFunc(id, func(r rune) bool {
			return r == ',' || r == '、' || r == ' ' || r == '　' || r == '\n' || r == '\t' || r == '\r'
		}) {
			if f = strings.TrimSpace(f); f != "" && !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out
}

// AddItem adds an agenda item to a meeting and returns its id. An item may
// link an incident, an alert or a directive (RefKind, RefID), which must be
// recorded; its title then defaults to the linked record's.
func (r *Register) AddItem(ctx context.Context, who staff.Who, meeting int64, it Item) (int64, error) {
	it.Title = strings.TrimSpace(it.Title)
	switch it.RefKind {
	case "":
		it.RefID = 0
	case RefIncident, RefAlert, RefDirective:
		if it.RefID <= 0 {
			return 0, apperr.New(apperr.Invalid, "ref: give the number of the linked record", "結び付ける記録の番号を入力してください")
		}
	default:
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("ref %q: incident, alert or directive", it.RefKind), "議題に結び付けられるのは事案・検知・指示です")
	}
	if err := resident.CheckValues(resident.Value{Field: FieldItem, Text: it.Title, Required: it.RefKind == ""}); err != nil {
		return 0, err
	}
	var id int64
	err := r.administer(ctx, who, ActManage, r.nodeResource(), "item", fmt.Sprintf("meeting:%d", meeting),
		fmt.Sprintf("agenda item of meeting %d: %s%s", meeting, it.Title, refNote(it.RefKind, it.RefID)),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			if _, err := open(ctx, tx, meeting); err != nil {
				return err
			}
			title := it.Title
			switch it.RefKind {
			case RefIncident, RefAlert:
				t, err := refTitle(ctx, tx, it.RefKind, it.RefID)
				if err != nil {
					return err
				}
				if title == "" {
					title = t
				}
			case RefDirective:
				d, err := directive(ctx, tx, it.RefID)
				if err != nil {
					return err
				}
				if title == "" {
					title = d.overdueTitle(r.prof)
				}
			}
			var number int
			if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(number), 0) + 1 FROM council_item WHERE meeting_id = ?`, meeting).Scan(&number); err != nil {
				return fmt.Errorf("number the agenda item: %w", err)
			}
			if err := tx.QueryRow(ctx, `INSERT INTO council_item (meeting_id, number, title, ref_kind, ref_id, added_by, added_at, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, meeting, number, title, it.RefKind, it.RefID, who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record agenda item: %w", err)
			}
			return nil
		})
	return id, err
}

func refNote(kind string, id int64) string {
	if kind == "" {
		return ""
	}
	return fmt.Sprintf(" (%s:%d)", kind, id)
}

// Decide records a decision of a meeting and returns its id. The council
// decides only with its quorum present; by consent, or by vote with the
// counts, no more votes than the seats filled; carried when by consent or
// with more votes for than against.
func (r *Register) Decide(ctx context.Context, who staff.Who, meeting int64, d Decision) (int64, error) {
	d.Text = strings.TrimSpace(d.Text)
	if err := resident.CheckValues(resident.Value{Field: FieldDecision, Text: d.Text, Required: true}); err != nil {
		return 0, err
	}
	switch d.Method {
	case Consent:
		d.For, d.Against, d.Abstain, d.Adopted = 0, 0, 0, true
	case Vote:
		if d.For < 0 || d.Against < 0 || d.Abstain < 0 || d.For+d.Against+d.Abstain == 0 {
			return 0, apperr.New(apperr.Invalid, "votes: give the votes for, against and abstaining (not negative, at least one)",
				"賛成・反対・棄権の数を入力してください（0以上、合計1以上）")
		}
		d.Adopted = d.For > d.Against
	default:
		return 0, apperr.New(apperr.Invalid, fmt.Sprintf("method %q: consent or vote", d.Method), "議決の方法（異議なし・採決）を選んでください")
	}
	var id int64
	err := r.administer(ctx, who, ActManage, r.nodeResource(), "decide", fmt.Sprintf("meeting:%d", meeting),
		fmt.Sprintf("decision of meeting %d by %s (%d for, %d against, %d abstaining; adopted %v): %s", meeting, d.Method, d.For, d.Against, d.Abstain, d.Adopted, d.Text),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			m, err := open(ctx, tx, meeting)
			if err != nil {
				return err
			}
			if err := begun(m, now, "議決"); err != nil {
				return err
			}
			need := r.prof.Council.QuorumNeeded()
			if m.Present() < need {
				return apperr.New(apperr.Conflict, fmt.Sprintf("meeting %d: %d of the council's %d seats present, quorum %d", meeting, m.Present(), r.prof.Council.Seats(), need),
					fmt.Sprintf("出席している構成員が%d人（全%d人）で、定足数の%d人に達していないため、議決できません", m.Present(), r.prof.Council.Seats(), need))
			}
			if d.Method == Vote && d.For+d.Against+d.Abstain > m.Present() {
				return apperr.New(apperr.Invalid, fmt.Sprintf("%d votes, but %d members present", d.For+d.Against+d.Abstain, m.Present()),
					fmt.Sprintf("票数の合計（%d）が出席している構成員の数（%d）を超えています", d.For+d.Against+d.Abstain, m.Present()))
			}
			var item any
			if d.Item > 0 {
				if !slices.ContainsFunc(m.Items, func(it Item) bool { return it.ID == d.Item }) {
					return apperr.New(apperr.Invalid, fmt.Sprintf("agenda item %d is not of meeting %d", d.Item, meeting),
						fmt.Sprintf("議題（%d）は第%d回の会議の議題ではありません", d.Item, meeting))
				}
				item = d.Item
			}
			if err := tx.QueryRow(ctx, `INSERT INTO council_decision (meeting_id, item_id, text, method, votes_for, votes_against, votes_abstain, adopted, recorded_by, recorded_at, seq)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, meeting, item, d.Text, string(d.Method), d.For, d.Against, d.Abstain, d.Adopted,
				who.Actor.String(), now, seq).Scan(&id); err != nil {
				return fmt.Errorf("record decision: %w", err)
			}
			return nil
		})
	return id, err
}

// RecordMinutes records (or replaces) the minutes of a meeting, not yet
// approved. Line breaks are kept.
func (r *Register) RecordMinutes(ctx context.Context, who staff.Who, meeting int64, text string) error {
	text, err := multiline(FieldMinutes, text, true)
	if err != nil {
		return err
	}
	return r.administer(ctx, who, ActManage, r.nodeResource(), "minutes", fmt.Sprintf("meeting:%d", meeting),
		fmt.Sprintf("minutes of meeting %d recorded (%d characters)", meeting, len([]rune(text))),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			m, err := open(ctx, tx, meeting)
			if err != nil {
				return err
			}
			if err := begun(m, now, "議事録"); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE council_meeting SET minutes = ?, minutes_by = ?, minutes_at = ?, minutes_seq = ? WHERE id = ?`,
				text, who.Actor.String(), now, seq, meeting); err != nil {
				return fmt.Errorf("record minutes: %w", err)
			}
			return nil
		})
}

// ApproveMinutes approves a meeting's minutes, which closes its record.
// The chair approves them; the vice chair only when the chair was not
// present (5.7). An operator approves as themself (chair empty or their
// own id); from the server's console chair names the chair (or vice chair)
// who approved, and is checked the same way.
func (r *Register) ApproveMinutes(ctx context.Context, who staff.Who, meeting int64, chair string) error {
	chair = strings.TrimSpace(chair)
	switch {
	case who.Actor.Kind == auditlog.ActorOperator && (chair == "" || chair == who.Actor.ID):
		chair = who.Actor.ID
	case who.Actor.Kind == auditlog.ActorOperator:
		return apperr.New(apperr.Invalid, "an operator approves minutes as themself", "議事録は、議長本人として承認してください")
	case chair == "":
		return apperr.New(apperr.Invalid, "chair: name the chair who approved the minutes", "議事録を承認した議長の照合IDを入力してください")
	case !staff.WellFormedID(chair):
		return apperr.New(apperr.Invalid, fmt.Sprintf("chair %q: use 1 to 64 letters, digits, '.', '_' or '-'", chair),
			fmt.Sprintf("照合ID「%s」は英数字と . _ - の64文字以内で入力してください", chair))
	}
	return r.administer(ctx, who, ActApproveMinutes, r.nodeResource(), "approve-minutes", fmt.Sprintf("meeting:%d", meeting),
		fmt.Sprintf("minutes of meeting %d approved by %s; the record is closed", meeting, chair),
		func(ctx context.Context, tx *db.Tx, seq int64, now time.Time) error {
			m, err := open(ctx, tx, meeting)
			if err != nil {
				return err
			}
			if m.Minutes == "" {
				return apperr.New(apperr.Conflict, fmt.Sprintf("meeting %d has no minutes yet", meeting), fmt.Sprintf("第%d回の会議の議事録がまだ記録されていません", meeting))
			}
			h, err := r.holder(ctx, tx, chair)
			if err != nil {
				return err
			}
			switch {
			case h.Seat == SeatChair:
			case h.Seat == SeatViceChair && !m.ChairPresent():
			case h.Seat == SeatViceChair:
				return apperr.New(apperr.Forbidden, fmt.Sprintf("the chair attended meeting %d: the vice chair does not approve its minutes", meeting),
					fmt.Sprintf("第%d回の会議には議長が出席しているため、副議長は議事録を承認できません。副議長が議長の職務を代理するのは、議長に事故があるとき又は議長が欠けたときです（第5条第7項）", meeting))
			default:
				return apperr.New(apperr.Forbidden, fmt.Sprintf("%s is not the chair: the chair approves the minutes", chair),
					fmt.Sprintf("議事録は議長（%s）が承認します（第5条第6項）。照合ID %s（%s）は議長ではありません", r.roleName(r.prof.Council.Chair), chair, h.Name))
			}
			if _, err := tx.Exec(ctx, `UPDATE council_meeting SET approved_by = ?, approved_at = ?, approved_seq = ? WHERE id = ? AND approved_at IS NULL`,
				auditlog.Actor{Kind: auditlog.ActorOperator, ID: chair}.String(), now, seq, meeting); err != nil {
				return fmt.Errorf("approve minutes: %w", err)
			}
			return nil
		})
}

func (r *Register) roleName(id profile.RoleID) string {
	if role, ok := r.prof.Role(id); ok {
		return role.Name
	}
	return string(id)
}

// Holder is a staff member and the council seat their post gives them.
type Holder struct {
	person int64
	VID    string
	Name   string
	Title  string
	Seat   Seat   // empty: no seat of the council
	Post   string // the post that gives the seat
}

// HeldRole is a role a person holds, node-wide (Department "") or for a
// department.
type HeldRole struct {
	Role       profile.RoleID
	Department string
}

// holder reads an active staff member and the seat they hold.
func (r *Register) holder(ctx context.Context, q db.Querier, vid string) (Holder, error) {
	h := Holder{VID: vid}
	var active bool
	err := q.QueryRow(ctx, `SELECT id, name, title, active FROM staff_person WHERE verification_id = ?`, vid).Scan(&h.person, &h.Name, &h.Title, &active)
	switch {
	case errors.Is(err, sql.ErrNoRows) || (err == nil && !active):
		return h, apperr.New(apperr.Invalid, fmt.Sprintf("%s is not an active staff member", vid), fmt.Sprintf("照合ID %s は職員として登録されていないか、異動・退職済みです", vid))
	case err != nil:
		return h, fmt.Errorf("find staff member %s: %w", vid, err)
	}
	rows, err := q.Query(ctx, `SELECT role, department_id FROM staff_role WHERE person_id = ? AND ended_at IS NULL ORDER BY id`, h.person)
	if err != nil {
		return h, fmt.Errorf("read the roles of %s: %w", vid, err)
	}
	defer rows.Close()
	var roles []HeldRole
	for rows.Next() {
		var hr HeldRole
		if err := rows.Scan(&hr.Role, &hr.Department); err != nil {
			return h, fmt.Errorf("read the roles of %s: %w", vid, err)
		}
		roles = append(roles, hr)
	}
	if err := rows.Err(); err != nil {
		return h, fmt.Errorf("read the roles of %s: %w", vid, err)
	}
	h.Seat, h.Post = SeatOf(r.prof, h.Title, roles)
	return h, nil
}

// Holders returns every active staff member who holds a seat of the
// council, chair first, then the vice chair, then the members in the
// profile's order (for the attendance form).
func (r *Register) Holders(ctx context.Context, q db.Querier) ([]Holder, error) {
	if r.prof.Council == nil {
		return nil, nil
	}
	rows, err := q.Query(ctx, `SELECT p.id, p.verification_id, p.name, p.title, COALESCE(r.role, ''), COALESCE(r.department_id, '')
		FROM staff_person p LEFT JOIN staff_role r ON r.person_id = p.id AND r.ended_at IS NULL
		WHERE p.active = ? ORDER BY p.verification_id, r.id`, true)
	if err != nil {
		return nil, fmt.Errorf("read the council's members: %w", err)
	}
	defer rows.Close()
	var people []Holder
	roles := map[int64][]HeldRole{}
	for rows.Next() {
		var h Holder
		var hr HeldRole
		if err := rows.Scan(&h.person, &h.VID, &h.Name, &h.Title, &hr.Role, &hr.Department); err != nil {
			return nil, fmt.Errorf("read the council's members: %w", err)
		}
		if len(people) == 0 || people[len(people)-1].person != h.person {
			people = append(people, h)
		}
		if hr.Role != "" {
			roles[h.person] = append(roles[h.person], hr)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the council's members: %w", err)
	}
	order := map[string]int{}
	for i, p := range r.prof.Council.Members {
		order[p] = i + 2
	}
	var out []Holder
	for _, h := range people {
		if h.Seat, h.Post = SeatOf(r.prof, h.Title, roles[h.person]); h.Seat != "" {
			out = append(out, h)
		}
	}
	rank := func(h Holder) int {
		switch h.Seat {
		case SeatChair:
			return 0
		case SeatViceChair:
			return 1
		}
		return order[h.Post]
	}
	slices.SortStableFunc(out, func(a, b Holder) int { return rank(a) - rank(b) })
	return out, nil
}

// SeatOf says which seat of the profile's council a staff member with
// this title (職) and these roles holds, and the post that gives it: the
// chair's or the vice chair's role, or a member's post held by title (a
// remark in brackets after the title is ignored), by a role the post fills
// (profile [[roles]] position), or by heading the department the post
// heads (its security officer or section head). Empty when none.
func SeatOf(prof *profile.Profile, title string, roles []HeldRole) (Seat, string) {
	c := prof.Council
	if c == nil {
		return "", ""
	}
	name := func(id profile.RoleID) string {
		if r, ok := prof.Role(id); ok {
			return r.Name
		}
		return string(id)
	}
	for _, hr := range roles {
		if hr.Department == "" && hr.Role == c.Chair {
			return SeatChair, name(c.Chair)
		}
	}
	for _, hr := range roles {
		if hr.Department == "" && c.ViceChair != "" && hr.Role == c.ViceChair {
			return SeatViceChair, name(c.ViceChair)
		}
	}
	post := PostOf(title)
	for _, p := range c.Members {
		if post == p {
			return SeatMember, p
		}
		for _, hr := range roles {
			if hr.Department == "" {
				if r, ok := prof.Role(hr.Role); ok && r.Position == p {
					return SeatMember, p
				}
				continue
			}
			if hr.Role != profile.SecurityOfficer && hr.Role != profile.SectionHead {
				continue
			}
			if d, ok := prof.Department(hr.Department); ok && d.Head == p {
				return SeatMember, p
			}
		}
	}
	return "", ""
}

// PostOf is the post a title names: the title without a remark in
// brackets after it (区民課長（兼務） → 区民課長).
func PostOf(title string) string {
	t := strings.TrimSpace(title)
	for _, p := range [][2]string{{"（", "）"}, {"(", ")"}} {
		if strings.HasSuffix(t, p[1]) {
			if i := strings.LastIndex(t, p[0]); i > 0 {
				t = strings.TrimSpace(t[:i])
			}
		}
	}
	return t
}

package council_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// The council of the tests (seat): the chief security officer is the chair,
// the deputy the vice chair; the members by the posts of koto-ward:5.5.
const (
	chief  = "CSO"
	deputy = "DCSO"
)

var (
	chair     = Operator(chief, "T-CSO")
	viceChair = Operator(deputy, "T-DCSO")
)

// fixture is a policytest fixture with the council's record on its clock.
type fixture struct {
	*Fixture
	Council *council.Register
}

func newFixture(t *testing.T, d *db.DB, profileID string) *fixture {
	t.Helper()
	f := New(t, d, profileID)
	c := council.New(d, f.Log, f.Engine, f.Profile, "131083")
	c.Now = f.Clock.Now
	return &fixture{Fixture: f, Council: c}
}

// seat gives a koto-ward fixture a working ward (SetUpWard) and a council
// of seven of its eleven seats: the chair and the vice chair by their
// roles; 区民課長 (SO-KUMIN, by title and as security officer of 区民課),
// 情報システム課長 (the system administrator, whose role the post fills),
// and 政策経営部長, 総務部長 (title with a remark in brackets) and
// 危機管理課長 by title. Quorum: 6.
func seat(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	f.SetUpWard(t)
	for _, p := range []staff.Person{
		{VerificationID: chief, Name: "統括 太郎", Department: "joho", Title: "副区長"},
		{VerificationID: deputy, Name: "補佐 花子", Department: "kumin", Title: "区民部長"},
		{VerificationID: "M-SEISAKU", Name: "政策 一郎", Department: "joho", Title: "政策経営部長"},
		{VerificationID: "M-SOMU", Name: "総務 二郎", Department: "joho", Title: "総務部長（兼務）"},
		{VerificationID: "M-KIKI", Name: "危機 三郎", Department: "joho", Title: "危機管理課長"},
		{VerificationID: "KUMIN-2", Name: "区民 次郎", Department: "kumin", Title: "区民課長"},
	} {
		Must(t, f.Staff.AddPerson(ctx, f.Admin, p))
	}
	Must(t, f.Staff.AssignRole(ctx, f.Admin, chief, profile.ChiefSecurityOfficer, ""))
	Must(t, f.Staff.AssignRole(ctx, f.Admin, deputy, profile.DeputyChiefSecurityOfficer, ""))
}

// members are the seats the fixture fills, but the chair's.
var members = []string{deputy, "SO-KUMIN", AdminVID, "M-SEISAKU", "M-SOMU", "M-KIKI"}

// meeting convenes a regular meeting an hour from now and moves the
// clock to its start.
func meeting(t *testing.T, f *fixture) int64 {
	t.Helper()
	at := f.Clock.Now().Add(time.Hour).Truncate(time.Minute)
	id, err := f.Council.Convene(context.Background(), chair, council.Meeting{Kind: council.Regular, At: at, Place: "本庁舎5階 第1会議室"})
	Must(t, err)
	f.Clock.Set(at)
	return id
}

// expect fails unless err has code and its Japanese holds ja.
func expect(t *testing.T, what string, err error, code apperr.Code, ja string) {
	t.Helper()
	if apperr.CodeOf(err) != code || !strings.Contains(apperr.JapaneseOf(err), ja) {
		t.Errorf("%s: %v (%s), want %s ~%q", what, err, apperr.JapaneseOf(err), code, ja)
	}
}

// councilEntries counts the council's audit entries by action and outcome
// ("council.decide/ok").
func councilEntries(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	out := map[string]int{}
	for _, e := range l {
		if strings.HasPrefix(e.Action, "council.") {
			out[e.Action+"/"+e.Entry.Outcome]++
		}
	}
	return out
}

// TestSeatOf: a staff member's seat comes from the chair's and vice
// chair's roles, then a member's post by title (a bracketed remark
// ignored), by a role the post fills, or by heading the department the
// post heads; anyone else holds none.
func TestSeatOf(t *testing.T) {
	prof := profile.MustLoad("koto-ward")
	for _, c := range []struct {
		name  string
		title string
		roles []council.HeldRole
		seat  council.Seat
		post  string
	}{
		{"chief security officer", "副区長", []council.HeldRole{{Role: profile.ChiefSecurityOfficer}}, council.SeatChair, "セキュリティ統括責任者"},
		{"deputy", "区民部長", []council.HeldRole{{Role: profile.DeputyChiefSecurityOfficer}}, council.SeatViceChair, "セキュリティ統括責任者補佐"},
		{"chair before member", "区民課長", []council.HeldRole{{Role: profile.SecurityOfficer, Department: "kumin"}, {Role: profile.ChiefSecurityOfficer}}, council.SeatChair, "セキュリティ統括責任者"},
		{"member by title", "経理課長", nil, council.SeatMember, "経理課長"},
		{"member by title with a remark", "総務課長（事務取扱）", nil, council.SeatMember, "総務課長"},
		{"member by title, ASCII brackets", "職員課長 (兼務)", nil, council.SeatMember, "職員課長"},
		{"member by the role the post fills", "課長", []council.HeldRole{{Role: profile.SystemAdministrator}}, council.SeatMember, "情報システム課長"},
		{"member by heading the department", "課長", []council.HeldRole{{Role: profile.SecurityOfficer, Department: "kumin"}}, council.SeatMember, "区民課長"},
		{"head of a department that is no member", "課税課長", []council.HeldRole{{Role: profile.SecurityOfficer, Department: "kazei"}}, "", ""},
		{"clerk", "主事", nil, "", ""},
		{"auditor", "主査", []council.HeldRole{{Role: profile.Auditor}}, "", ""},
		{"a post's name inside another title", "区民課長補佐", nil, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			seat, post := council.SeatOf(prof, c.title, c.roles)
			if seat != c.seat || post != c.post {
				t.Errorf("SeatOf(%q, %v) = %q %q, want %q %q", c.title, c.roles, seat, post, c.seat, c.post)
			}
		})
	}
	if seat, _ := council.SeatOf(profile.MustLoad("aomori-pref"), "総務部長", nil); seat != "" {
		t.Errorf("aomori-pref has no council, but gives a seat %q", seat)
	}
}

// TestMeetingRecord walks a meeting: attendance only from its start and
// only of the council's members (or staff called to attend, who fill no
// seat), one person per seat; no decision without the quorum; decisions by
// consent and by vote; minutes approved by the chair, not by the vice
// chair while the chair was there; then the record is closed. Every change
// and every refusal is in the audit log.
func TestMeetingRecord(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		seat(t, f)
		at := f.Clock.Now().Add(time.Hour).Truncate(time.Minute)
		id, err := f.Council.Convene(ctx, chair, council.Meeting{Kind: council.Regular, At: at, Place: "本庁舎5階 第1会議室"})
		Must(t, err)
		item, err := f.Council.AddItem(ctx, chair, id, council.Item{Title: "住基ネットのセキュリティ対策の見直し"})
		Must(t, err)

		// Before its time nothing of what happened can be recorded.
		expect(t, "attendance before the start", f.Council.Attend(ctx, chair, id, []string{chief}, nil), apperr.Conflict, "開始前に出席は記録できません")
		f.Clock.Set(at)

		Must(t, f.Council.Attend(ctx, chair, id, []string{chief, deputy, "SO-KUMIN", AdminVID}, nil))
		expect(t, "a clerk as a member", f.Council.Attend(ctx, chair, id, []string{Clerk}, nil), apperr.Invalid, "セキュリティ会議の構成員（議長・副議長・委員")
		expect(t, "a second 区民課長", f.Council.Attend(ctx, chair, id, []string{"KUMIN-2"}, nil), apperr.Conflict, "委員（区民課長）の席には、すでに 区民 課長（SO-KUMIN）が出席しています")
		expect(t, "present twice", f.Council.Attend(ctx, chair, id, []string{deputy}, nil), apperr.Conflict, "出席済み")
		expect(t, "nobody", f.Council.Attend(ctx, chair, id, []string{"NOBODY"}, nil), apperr.Invalid, "照合ID NOBODY は職員として登録されていない")
		// Staff called to attend (5.9) are recorded but fill no seat.
		Must(t, f.Council.Attend(ctx, chair, id, nil, []string{Clerk, "SO-KAZEI"}))

		consent := council.Decision{Item: item, Text: "端末の操作研修を年2回に増やす", Method: council.Consent}
		// 4 seats and two related staff: no quorum (6 of 11).
		_, err = f.Council.Decide(ctx, chair, id, consent)
		expect(t, "decision without quorum", err, apperr.Conflict, "出席している構成員が4人（全11人）で、定足数の6人に達していない")
		Must(t, f.Council.Attend(ctx, chair, id, []string{"M-SEISAKU", "M-SOMU"}, nil))
		m, err := council.Get(ctx, d, id)
		Must(t, err)
		if m.Present() != 6 || len(m.Attendees) != 8 || !m.ChairPresent() {
			t.Errorf("present %d of %d attendees, chair %v", m.Present(), len(m.Attendees), m.ChairPresent())
		}
		posts := map[string]string{}
		for _, a := range m.Attendees {
			posts[a.VID] = string(a.Seat) + ":" + a.Post
		}
		for vid, want := range map[string]string{chief: "chair:セキュリティ統括責任者", deputy: "vice_chair:セキュリティ統括責任者補佐", AdminVID: "member:情報システム課長",
			"M-SOMU": "member:総務部長", "SO-KUMIN": "member:区民課長", Clerk: "staff:主事", "SO-KAZEI": "staff:課税課長"} {
			if posts[vid] != want {
				t.Errorf("%s attends as %q, want %q", vid, posts[vid], want)
			}
		}
		adopted, err := f.Council.Decide(ctx, chair, id, consent)
		Must(t, err)
		_, err = f.Council.Decide(ctx, chair, id, council.Decision{Text: "x", Method: council.Vote, For: 5, Against: 2})
		expect(t, "more votes than members present", err, apperr.Invalid, "票数の合計（7）が出席している構成員の数（6）を超えています")
		rejected, err := f.Council.Decide(ctx, chair, id, council.Decision{Text: "全端末を即日停止する", Method: council.Vote, For: 2, Against: 3, Abstain: 1})
		Must(t, err)
		_, err = f.Council.Decide(ctx, chair, id, council.Decision{Item: 9999, Text: "x", Method: council.Consent})
		expect(t, "an item of another meeting", err, apperr.Invalid, "議題ではありません")

		// Minutes: approved only with minutes, by the chair.
		expect(t, "approval without minutes", f.Council.ApproveMinutes(ctx, chair, id, ""), apperr.Conflict, "議事録がまだ記録されていません")
		Must(t, f.Council.RecordMinutes(ctx, viceChair, id, "1 開会\r\n2 研修の見直し：異議なく可決\n3 閉会"))
		expect(t, "the vice chair approving while the chair attended", f.Council.ApproveMinutes(ctx, viceChair, id, ""), apperr.Forbidden, "議長が出席しているため、副議長は議事録を承認できません")
		expect(t, "the system administrator approving", f.Council.ApproveMinutes(ctx, f.Admin, id, ""), apperr.Forbidden, "セキュリティ会議の議事録の承認 を行う権限がありません")
		expect(t, "the chair approving in another's name", f.Council.ApproveMinutes(ctx, chair, id, deputy), apperr.Invalid, "議長本人として")
		Must(t, f.Council.ApproveMinutes(ctx, chair, id, ""))

		// Closed: nothing changes any more.
		for what, err := range map[string]error{
			"attend":  f.Council.Attend(ctx, chair, id, []string{"M-KIKI"}, nil),
			"minutes": f.Council.RecordMinutes(ctx, chair, id, "書き換え"),
			"approve": f.Council.ApproveMinutes(ctx, chair, id, ""),
		} {
			expect(t, what+" after approval", err, apperr.Conflict, "議事録が承認され、記録は確定しています")
		}
		_, err = f.Council.AddItem(ctx, chair, id, council.Item{Title: "追加の議題"})
		expect(t, "item after approval", err, apperr.Conflict, "記録は確定しています")
		_, err = f.Council.Decide(ctx, chair, id, consent)
		expect(t, "decision after approval", err, apperr.Conflict, "記録は確定しています")

		m, err = council.Get(ctx, d, id)
		Must(t, err)
		if !m.Closed() || m.ApprovedBy != "operator:"+chief || m.Minutes != "1 開会\n2 研修の見直し：異議なく可決\n3 閉会" || len(m.Items) != 1 || len(m.Decisions) != 2 || len(m.Attendees) != 8 {
			t.Errorf("closed meeting = %+v", m)
		}
		byID := map[int64]council.Decision{}
		for _, dec := range m.Decisions {
			byID[dec.ID] = dec
		}
		if a, r := byID[adopted], byID[rejected]; !a.Adopted || a.Item != item || a.Method != council.Consent || r.Adopted || r.For != 2 || r.Against != 3 || r.Abstain != 1 {
			t.Errorf("decisions = %+v", m.Decisions)
		}
		got := councilEntries(t, d)
		for k, n := range map[string]int{
			"council.convene/ok": 1, "council.item/ok": 1, "council.attend/ok": 3, "council.attend/error": 6, "council.decide/ok": 2, "council.decide/error": 4,
			"council.minutes/ok": 1, "council.minutes/error": 1, "council.approve-minutes/ok": 1, "council.approve-minutes/error": 3,
			"council.approve-minutes/denied": 1, "council.item/error": 1,
		} {
			if got[k] != n {
				t.Errorf("audit entries %s = %d, want %d (all: %v)", k, got[k], n, got)
			}
		}
	})
}

// TestQuorum: the council decides with the profile's quorum present, or
// with a majority of its seats when the profile sets none; staff called to
// attend never count.
func TestQuorum(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		seat(t, f)
		three := *f.Profile
		c := *f.Profile.Council
		c.Quorum = 3
		three.Council = &c
		withThree := council.New(d, f.Log, f.Engine, &three, "131083")
		withThree.Now = f.Clock.Now
		for _, tt := range []struct {
			name    string
			reg     *council.Register
			present []string
			related []string
			ok      bool
		}{
			{"majority: 5 of 11", f.Council, []string{chief, deputy, "SO-KUMIN", AdminVID, "M-SEISAKU"}, nil, false},
			{"majority: 5 and related staff", f.Council, []string{chief, deputy, "SO-KUMIN", AdminVID, "M-SEISAKU"}, []string{Clerk, "SO-KAZEI"}, false},
			{"majority: 6 of 11", f.Council, []string{chief, deputy, "SO-KUMIN", AdminVID, "M-SEISAKU", "M-SOMU"}, nil, true},
			{"majority: all 7", f.Council, append([]string{chief}, members...), nil, true},
			{"profile's quorum 3: 2 present", withThree, []string{chief, deputy}, []string{Clerk}, false},
			{"profile's quorum 3: 3 present", withThree, []string{chief, deputy, "M-KIKI"}, nil, true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				id := meeting(t, f)
				Must(t, tt.reg.Attend(ctx, chair, id, tt.present, nil))
				if tt.related != nil {
					Must(t, tt.reg.Attend(ctx, chair, id, nil, tt.related))
				}
				_, err := tt.reg.Decide(ctx, chair, id, council.Decision{Text: "研修計画を承認する", Method: council.Consent})
				if tt.ok && err != nil {
					t.Errorf("refused with %d present: %v", len(tt.present), err)
				}
				if !tt.ok {
					expect(t, "without quorum", err, apperr.Conflict, "定足数")
				}
			})
		}
	})
}

// TestWhoMayDoWhat: each act of the council is decided by the profile's
// policies (koto-ward:5.6, 5.7, 6): refused to anyone else, the refusal in
// the log, and nothing stored.
func TestWhoMayDoWhat(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		seat(t, f)
		id := meeting(t, f)
		Must(t, f.Council.Attend(ctx, chair, id, append([]string{chief}, members...), nil))
		dec, err := f.Council.Decide(ctx, chair, id, council.Decision{Text: "課税課の端末の設置場所を見直す", Method: council.Consent})
		Must(t, err)
		due := jptext.Midnight(f.Clock.Now()).AddDate(0, 0, 14)
		directive, err := f.Council.Issue(ctx, chair, council.Directive{Decision: dec, Kind: council.KindDirective, Department: "kazei", Text: "端末の設置場所を見直し報告すること", Due: due})
		Must(t, err)
		request, err := f.Council.Issue(ctx, chair, council.Directive{Decision: dec, Kind: council.KindRequest, Body: "教育委員会", Text: "学務課の端末管理の点検を要請する", Due: due})
		Must(t, err)

		acts := map[string]func(who staff.Who) error{
			"convene": func(who staff.Who) error {
				_, err := f.Council.Convene(ctx, who, council.Meeting{Kind: council.Regular, At: f.Clock.Now().Add(48 * time.Hour), Place: "会議室"})
				return err
			},
			"attend": func(who staff.Who) error {
				// Each allowed actor records someone else called to attend.
				related := map[string]string{deputy: "K0002", chief: "SO-KAZEI"}[who.Actor.ID]
				if related == "" {
					related = Clerk
				}
				return f.Council.Attend(ctx, who, id, nil, []string{related})
			},
			"item": func(who staff.Who) error {
				_, err := f.Council.AddItem(ctx, who, id, council.Item{Title: "報告事項"})
				return err
			},
			"decide": func(who staff.Who) error {
				_, err := f.Council.Decide(ctx, who, id, council.Decision{Text: "了承", Method: council.Consent})
				return err
			},
			"direct": func(who staff.Who) error {
				_, err := f.Council.Issue(ctx, who, council.Directive{Decision: dec, Kind: council.KindDirective, Department: "kumin", Text: "点検", Due: due})
				return err
			},
			"acknowledge": func(who staff.Who) error { return f.Council.Acknowledge(ctx, who, directive) },
			"answer":      func(who staff.Who) error { return f.Council.Answer(ctx, who, request, "点検を実施する") },
		}
		for _, tt := range []struct {
			act     string
			allowed []string // of chief, deputy, SO-KAZEI, SO-KUMIN, AdminVID, Clerk
		}{
			{"convene", []string{chief, deputy}},
			{"attend", []string{chief, deputy}},
			{"item", []string{chief, deputy}},
			{"decide", []string{chief, deputy}},
			{"direct", []string{chief}},
			{"acknowledge", []string{"SO-KAZEI"}},
			{"answer", []string{chief}},
		} {
			t.Run(tt.act, func(t *testing.T) {
				// The refused first, so nothing they try has been done already.
				for _, vid := range []string{Clerk, AdminVID, "SO-KUMIN", "SO-KAZEI", deputy, chief} {
					allowed := false
					for _, a := range tt.allowed {
						allowed = allowed || a == vid
					}
					before := councilEntries(t, d)
					err := acts[tt.act](Operator(vid, "T-"+vid))
					after := councilEntries(t, d)
					switch {
					case allowed && err != nil:
						t.Errorf("%s refused to %s: %v", tt.act, vid, err)
					case !allowed && apperr.CodeOf(err) != apperr.Forbidden:
						t.Errorf("%s by %s: %v, want forbidden", tt.act, vid, err)
					case !allowed && !strings.Contains(apperr.JapaneseOf(err), "権限がありません"):
						t.Errorf("%s by %s: the refusal does not say why in Japanese: %s", tt.act, vid, apperr.JapaneseOf(err))
					}
					denied := 0
					for k, n := range after {
						if strings.HasSuffix(k, "/denied") {
							denied += n - before[k]
						}
					}
					if !allowed && denied != 1 {
						t.Errorf("%s by %s: %d refusals logged, want 1", tt.act, vid, denied)
					}
				}
			})
		}
		// Nothing refused was stored: one meeting more (the chief's and the
		// deputy's), the two related staff, two items, three decisions …
		ms, err := council.List(ctx, d)
		Must(t, err)
		ds, err := council.Directives(ctx, d)
		Must(t, err)
		if len(ms) != 3 || len(ds) != 3 {
			t.Errorf("%d meetings and %d directives, want 3 and 3", len(ms), len(ds))
		}
		for _, dd := range ds {
			if dd.ID == directive && (dd.AcknowledgedBy != "operator:SO-KAZEI") {
				t.Errorf("directive acknowledged by %q", dd.AcknowledgedBy)
			}
			if dd.ID == request && dd.CompletedBy != "operator:"+chief {
				t.Errorf("request answered by %q", dd.CompletedBy)
			}
		}
	})
}

// TestViceChairActsForTheChair: with the chair away (koto-ward:5.7) the
// vice chair convenes, presides and approves the minutes; the chair's
// presence is what he may not approve without.
func TestViceChairActsForTheChair(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		seat(t, f)
		at := f.Clock.Now().Add(time.Hour).Truncate(time.Minute)
		id, err := f.Council.Convene(ctx, viceChair, council.Meeting{Kind: council.Extraordinary, At: at, Place: "危機管理室"})
		Must(t, err)
		f.Clock.Set(at)
		Must(t, f.Council.Attend(ctx, viceChair, id, members, nil))
		_, err = f.Council.Decide(ctx, viceChair, id, council.Decision{Text: "全端末の点検を行う", Method: council.Vote, For: 6})
		Must(t, err)
		Must(t, f.Council.RecordMinutes(ctx, viceChair, id, "議長欠席のため副議長が議事を進行した"))
		Must(t, f.Council.ApproveMinutes(ctx, viceChair, id, ""))
		m, err := council.Get(ctx, d, id)
		Must(t, err)
		if m.ConvenedBy != "operator:"+deputy || m.ApprovedBy != "operator:"+deputy || m.ChairPresent() || !m.Closed() {
			t.Errorf("meeting = %+v", m)
		}
	})
}

// TestConsoleNamesTheChair: from the server's console the minutes are
// approved in the name of the chair, who must be named and be the chair.
func TestConsoleNamesTheChair(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := newFixture(t, d, "koto-ward")
		seat(t, f)
		console := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server"}
		id := meeting(t, f)
		Must(t, f.Council.Attend(ctx, console, id, append([]string{chief}, members...), nil))
		Must(t, f.Council.RecordMinutes(ctx, console, id, "紙の議事録から転記"))
		expect(t, "no chair named", f.Council.ApproveMinutes(ctx, console, id, ""), apperr.Invalid, "議長の照合ID")
		expect(t, "a member named", f.Council.ApproveMinutes(ctx, console, id, "M-KIKI"), apperr.Forbidden, "議長ではありません")
		Must(t, f.Council.ApproveMinutes(ctx, console, id, chief))
		m, err := council.Get(ctx, d, id)
		Must(t, err)
		if m.ApprovedBy != "operator:"+chief {
			t.Errorf("approved by %q", m.ApprovedBy)
		}
	})
}

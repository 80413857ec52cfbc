package training_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
	"jukinet/internal/training"
)

// today is midnight JST of the fixture clock's day.
func today(f *Fixture) time.Time {
	t := f.Clock.Now().In(jptext.JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, jptext.JST)
}

func importOne(t *testing.T, f *Fixture) string {
	t.Helper()
	g, err := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	Must(t, err)
	rec := g.Next()
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	Must(t, w.Write(rec))
	Must(t, w.Close())
	console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server", Affair: "juki", Reason: "初期移行"}
	if _, err := f.Gate.Import(context.Background(), console, &buf, ""); err != nil {
		t.Fatal(err)
	}
	return string(rec.ResidentCode)
}

func lastEntry(t *testing.T, d *db.DB) auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	return *l[len(l)-1].Entry
}

// TestTrainingGatesTheOperator walks koto-ward:10 at the gate: a newly
// designated operator is refused until every required course is recorded,
// then looks up; when the clock passes the day a course runs out, the
// lookup is refused naming the course, the day and the article's policy,
// which the audit entry records, with no change to any data in between
// (the snapshot compares trained_until with the request's time). People who
// need no course are unaffected, and no credential is enrolled for an
// untrained operator (koto-ward:13) while one can still be removed.
func TestTrainingGatesTheOperator(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		code := importOne(t, f)
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "K0003", Name: "新任 三郎", Department: "kumin", Title: "主事"}))
		Must(t, f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), "K0003", "juminhyo-copy"))
		req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "K0003"}, Origin: "terminal:T-KUMIN-01", Affair: "juminhyo-copy", Reason: "窓口での本人申請"}
		lookup := func() error {
			_, err := f.Gate.Lookup(ctx, req, gate.Key{ResidentCode: code})
			return err
		}
		refused := func(step string, wantJA ...string) {
			t.Helper()
			err := lookup()
			if apperr.CodeOf(err) != apperr.Forbidden {
				t.Fatalf("%s: lookup err = %v, want refused", step, err)
			}
			for _, w := range wantJA {
				if !strings.Contains(apperr.JapaneseOf(err), w) {
					t.Errorf("%s: message %q lacks %q", step, apperr.JapaneseOf(err), w)
				}
			}
			if e := lastEntry(t, d); e.Policy != "koto-ward:10/trained-operator" || e.Decision != auditlog.Deny || e.Count != 0 {
				t.Errorf("%s: refusal logged as policy %q decision %q count %d", step, e.Policy, e.Decision, e.Count)
			}
		}
		refused("untrained", "研修（第10条）", "「住基ネット機器操作研修」を受講していません", "「住基ネットセキュリティ対策研修」を受講していません")

		// No credential for an untrained operator, with the same message.
		cred := staff.Credential{CredentialID: []byte("k3-key"), Data: `{"id":"k3"}`, Label: "指紋"}
		err := f.Staff.RegisterCredential(ctx, f.Admin, "K0003", cred)
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "「住基ネット機器操作研修」を受講していません") {
			t.Errorf("enrolment of an untrained operator: %v", err)
		}
		if e := lastEntry(t, d); e.Policy != "koto-ward:13/trained-operator" || e.Decision != auditlog.Deny {
			t.Errorf("refused enrolment logged as %q %q", e.Policy, e.Decision)
		}

		held := today(f).AddDate(0, 0, -10)
		operation := training.Session{Course: "operation", Day: held, Trainer: "区民 課長", Material: "端末操作手順書 第3版", Attendees: []string{"K0003"}}
		if _, err := f.Training.Record(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), operation); err != nil {
			t.Fatal(err)
		}
		refused("one course of two", "「住基ネットセキュリティ対策研修」を受講していません")
		if err := lookup(); strings.Contains(apperr.JapaneseOf(err), "機器操作研修") {
			t.Errorf("the attended course is still named: %v", err)
		}
		security := operation
		security.Course, security.Day, security.Material = "security", held.AddDate(0, 0, 3), "セキュリティ対策の手引き"
		if _, err := f.Training.Record(ctx, f.Admin, security); err != nil {
			t.Fatal(err)
		}
		if err := lookup(); err != nil {
			t.Fatalf("trained operator refused: %v", err)
		}
		if e := lastEntry(t, d); e.Policy != "koto-ward:12.1/designated-operator" || e.Decision != auditlog.Allow {
			t.Errorf("allowed lookup logged as %q %q", e.Policy, e.Decision)
		}
		Must(t, f.Staff.RegisterCredential(ctx, f.Admin, "K0003", cred))

		// The operation course (the earlier) runs out 12 months after the
		// day held, at midnight JST: a minute before, still allowed.
		expiry := held.AddDate(1, 0, 0)
		f.Clock.Set(expiry.Add(-time.Minute))
		if err := lookup(); err != nil {
			t.Fatalf("a minute before expiry: %v", err)
		}
		f.Clock.Set(expiry.Add(time.Minute))
		refused("expired", "「住基ネット機器操作研修」の受講の有効期限が"+jptext.FormatWareki(expiry)+"に切れています")

		// Unaffected: the console, and a security officer who needs no
		// course going about his own duties.
		console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server", Affair: "juki", Reason: "確認"}
		if _, err := f.Gate.Lookup(ctx, console, gate.Key{ResidentCode: code}); err != nil {
			t.Errorf("console lookup refused: %v", err)
		}
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "K0004", Name: "新任 四郎", Department: "kumin", Title: "主事"}))
		if err := f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), "K0004", "juki"); err != nil {
			t.Errorf("untrained security officer refused his own duty: %v", err)
		}
		// A credential already registered can be removed whatever the
		// training says.
		creds, err := f.Staff.ActiveCredentials(ctx, "K0003")
		Must(t, err)
		if len(creds) != 1 {
			t.Fatalf("credentials of K0003: %d", len(creds))
		}
		if err := f.Staff.RemoveCredential(ctx, f.Admin, creds[0].ID, "研修切れのため"); err != nil {
			t.Errorf("removing the credential of an operator whose training expired: %v", err)
		}

		// Attending again restores use.
		again := operation
		again.Day = today(f)
		if _, err := f.Training.Record(ctx, f.Admin, again); err != nil {
			t.Fatal(err)
		}
		if err := lookup(); err != nil {
			t.Errorf("after attending again: %v", err)
		}
	})
}

// TestAomoriTrainingRefusal: the aomori-pref profile's course refuses an
// untrained operator under aomori-pref:9.1, and only the system
// administrator records sessions (9.1); a section head may not.
func TestAomoriTrainingRefusal(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "aomori-pref")
		a := f.Admin
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "HEAD-RYOKEN", Name: "旅券 所長", Department: "ryoken", Title: "旅券センター所長"}))
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "R0001", Name: "旅券 一郎", Department: "ryoken", Title: "主事"}))
		Must(t, f.Staff.AssignRole(ctx, a, "HEAD-RYOKEN", profile.SectionHead, "ryoken"))
		Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-RYOKEN-01", Name: "旅券1", Department: "ryoken", Location: "旅券センター"}))
		head := Operator("HEAD-RYOKEN", "T-RYOKEN-01")
		f.Approve(t, head, "ryoken", "passport", []string{"T-RYOKEN-01"}, "R0001")
		q := gate.Question{Action: "search", Request: gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "R0001"}, Origin: "terminal:T-RYOKEN-01", Affair: "passport", Reason: "旅券の申請"}}
		if v := f.Engine.Decide(ctx, q); v.Allow || v.Policy != "aomori-pref:9.1/trained-operator" || !strings.Contains(v.Japanese, "「住基ネットセキュリティ研修」を受講していません") {
			t.Errorf("untrained aomori-pref operator: %+v", v)
		}
		s := training.Session{Course: "security", Day: today(f), Trainer: "市町村課長", Material: "研修資料", Attendees: []string{"R0001"}}
		if _, err := f.Training.Record(ctx, head, s); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("section head recorded a session: %v", err)
		}
		if _, err := f.Training.Record(ctx, a, s); err != nil {
			t.Fatal(err)
		}
		if v := f.Engine.Decide(ctx, q); !v.Allow {
			t.Errorf("trained aomori-pref operator: %+v", v)
		}
	})
}

// TestRecordRefusesBadInput: each field rule refuses a session with an
// error naming the field, and nothing of the session is stored.
func TestRecordRefusesBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		var before int
		Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM training_session`).Scan(&before))
		good := training.Session{Course: "operation", Day: today(f), Trainer: "区民 課長", Material: "手順書", Attendees: []string{Clerk}}
		for _, c := range []struct {
			name   string
			change func(s *training.Session)
			code   apperr.Code
			ja     string
			field  string // the input the refusal is about (apperr.FieldsOf)
		}{
			{"unknown course", func(s *training.Session) { s.Course = "cooking" }, apperr.Invalid, "研修の種類", "course"},
			{"no date", func(s *training.Session) { s.Day = time.Time{} }, apperr.Invalid, "実施日を入力", "date"},
			{"future date", func(s *training.Session) { s.Day = today(f).AddDate(0, 0, 1) }, apperr.Invalid, "今日より後", "date"},
			{"no trainer", func(s *training.Session) { s.Trainer = "  " }, apperr.Invalid, "講師：必須項目です", "trainer"},
			{"long trainer", func(s *training.Session) { s.Trainer = strings.Repeat("講", training.MaxTrainer+1) }, apperr.Invalid, "講師：64文字以内", "trainer"},
			{"line break in material", func(s *training.Session) { s.Material = "手順書\n第2版" }, apperr.Invalid, "教材：4文字目：制御文字（U+000A）", "material"},
			{"right-to-left override in trainer", func(s *training.Session) { s.Trainer = "講師\u202eB" }, apperr.Invalid, "講師：", "trainer"},
			{"invalid UTF-8 in trainer", func(s *training.Session) { s.Trainer = "講師\xff\xfe" }, apperr.Invalid, "講師：", "trainer"},
			{"no attendees", func(s *training.Session) { s.Attendees = []string{" "} }, apperr.Invalid, "出席者を一人以上", "attendee"},
			{"unknown attendee", func(s *training.Session) { s.Attendees = []string{Clerk, "NOBODY"} }, apperr.Invalid, "NOBODY", "attendee"},
			{"not the trainer's to record", nil, apperr.Forbidden, "研修の記録 を行う権限がありません", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				s := good
				s.Attendees = append([]string(nil), good.Attendees...)
				who := f.Admin
				if c.change != nil {
					c.change(&s)
				} else {
					who = Operator(Clerk, "T-KUMIN-01")
				}
				_, err := f.Training.Record(ctx, who, s)
				if apperr.CodeOf(err) != c.code || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want %s ~%q", err, apperr.JapaneseOf(err), c.code, c.ja)
				}
				if got := fieldNames(err); got != c.field {
					t.Errorf("the refusal is about %q, want %q", got, c.field)
				}
				var sessions, attendance int
				Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM training_session`).Scan(&sessions))
				Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM training_attendance a JOIN training_session s ON s.id = a.session_id WHERE s.held_on = ?`, today(f).Format(time.DateOnly)).Scan(&attendance))
				if sessions != before || attendance != 0 {
					t.Errorf("stored %d sessions (before %d) and %d attendances", sessions, before, attendance)
				}
			})
		}
		if _, err := jptext.ParseDay("date", "実施日", "来週"); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), "実施日「来週」を読み取れません") {
			t.Errorf("ParseDay: %v", err)
		}
		if day, err := jptext.ParseDay("date", "実施日", "R8.11.30"); err != nil || !day.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, jptext.JST)) {
			t.Errorf("ParseDay(R8.11.30) = %v, %v", day, err)
		}
	})
}

// TestRequiredByRoleAndDesignation: a course is needed by the holders of
// its roles (node-wide or per department) and, when it says so, by every
// designated operator; others need none. The earliest expiry decides.
func TestRequiredByRoleAndDesignation(t *testing.T) {
	prof := &profile.Profile{Courses: []profile.Course{
		{ID: "ops", Name: "操作", Operators: true},
		{ID: "sec", Name: "セキュリティ", Roles: []profile.RoleID{profile.SecurityOfficer, profile.SystemAdministrator}, ValidMonths: 24},
	}}
	member := func(affairs []string, roles []profile.RoleID, dept map[profile.RoleID][]string) *staff.Member {
		return &staff.Member{Affairs: affairs, Roles: roles, DepartmentRoles: dept}
	}
	ids := func(cs []profile.Course) string {
		var out []string
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return strings.Join(out, ",")
	}
	for _, c := range []struct {
		name string
		m    *staff.Member
		want string
	}{
		{"operator", member([]string{"juki"}, nil, nil), "ops"},
		{"security officer of a department", member(nil, nil, map[profile.RoleID][]string{profile.SecurityOfficer: {"kumin"}}), "sec"},
		{"designated system administrator", member([]string{"juki"}, []profile.RoleID{profile.SystemAdministrator}, nil), "ops,sec"},
		{"auditor, not designated", member(nil, []profile.RoleID{profile.Auditor}, nil), ""},
	} {
		if got := ids(training.Required(prof, c.m)); got != c.want {
			t.Errorf("%s: needs %q, want %q", c.name, got, c.want)
		}
	}
	day := time.Date(2025, 4, 1, 0, 0, 0, 0, jptext.JST)
	st := training.Standings(prof.Courses, map[string]time.Time{"ops": day, "sec": day})
	if u := training.Until(st); !u.Equal(day.AddDate(1, 0, 0)) {
		t.Errorf("until = %v, want the 12-month course's expiry", u)
	}
	if u := training.Until(training.Standings(prof.Courses, map[string]time.Time{"sec": day})); !u.IsZero() {
		t.Errorf("until with a course never attended = %v, want zero", u)
	}
}

// fieldNames are the inputs err is about (apperr.FieldsOf), comma-separated.
func fieldNames(err error) string {
	var names []string
	for _, f := range apperr.FieldsOf(err) {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

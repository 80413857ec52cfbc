// Package policytest builds, for tests, a node's staff store, policy engine
// and gate on a real database, with the first system administrator in place.
package policytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/contract"
	"jukinet/internal/db"
	"jukinet/internal/gate"
	"jukinet/internal/ids"
	"jukinet/internal/jptext"
	"jukinet/internal/policy"
	"jukinet/internal/profile"
	"jukinet/internal/protect"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
	"jukinet/internal/training"
)

// Fixture is a node's pieces for a test.
type Fixture struct {
	DB  *db.DB
	Log *auditlog.Log
	// Verifier is the log's public key, to verify it with.
	Verifier note.Verifier
	Profile  *profile.Profile
	Staff    *staff.Store
	Engine   *policy.Engine
	Gate     *gate.Gate
	// Training is the training record, on the fixture's clock.
	Training *training.Register
	// Contracts is the outsourcing record, on the fixture's clock.
	Contracts *contract.Register
	// Approvals is the usage approvals record, on the fixture's clock.
	Approvals *approval.Register
	// Protect is the register of protected residents (支援措置), on the
	// fixture's clock. The gate has no Alarm (detect imports this
	// package): a test reading protected residents sets Gate.Alarm =
	// detect.Alarm, else such a read is refused.
	Protect *protect.Register
	// Admin is the first system administrator, working at the console of
	// a terminal of their own department.
	Admin staff.Who
	// Clock is the log's clock (clocktest.New unless NewAt chose it): a
	// test sets or moves it instead of reading today's date.
	Clock *clocktest.Clock
}

// AdminVID is the first system administrator's verification id.
const AdminVID = "ADMIN01"

// New builds a fixture for the built-in profile id on d: koto-ward serves
// 131083 (江東区), aomori-pref 020001 (青森県).
func New(t testing.TB, d *db.DB, profileID string) *Fixture {
	t.Helper()
	return NewAt(t, d, profileID, clocktest.New())
}

// NewAt is New on a clock of the test's choosing.
func NewAt(t testing.TB, d *db.DB, profileID string, clock *clocktest.Clock) *Fixture {
	t.Helper()
	ctx := context.Background()
	skey, vkey, err := note.GenerateKey(rand.Reader, "jukinet-test")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	l, err := auditlog.Open(ctx, d, signer, auditlog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	prof := profile.MustLoad(profileID)
	code, adminDept := "131083", "joho"
	if prof.Level == profile.Prefecture {
		code, adminDept = "020001", "shichoson"
	}
	lg, ok := ids.LookupLocalGov(ids.LocalGovCode(code))
	if !ok {
		t.Fatalf("no local government %s", code)
	}
	st := staff.New(d, l, prof, code, nil)
	eng, err := policy.New(ctx, d, prof, true)
	if err != nil {
		t.Fatal(err)
	}
	eng.Now = clock.Now
	st.SetAuthorizer(eng)
	st.OnChange(eng.Invalidate)
	tr := training.New(d, l, eng, prof, code)
	tr.Now = clock.Now
	tr.OnChange(eng.Invalidate)
	cr := contract.New(d, l, eng, code)
	cr.Now = clock.Now
	cr.OnChange(eng.Invalidate)
	ar := approval.New(d, l, eng, prof, code)
	ar.Now = clock.Now
	ar.OnChange(eng.Invalidate)
	pr := protect.New(d, l, eng, prof, code)
	pr.Now = clock.Now
	pr.OnChange(eng.Invalidate)
	gt := gate.New(d, l, eng, lg, prof.Level)
	if err := st.Bootstrap(ctx, staff.Person{VerificationID: AdminVID, Name: "管理 太郎", Department: adminDept, Title: "課長"}); err != nil {
		t.Fatal(err)
	}
	return &Fixture{
		DB: d, Log: l, Verifier: verifier, Profile: prof, Staff: st, Engine: eng, Training: tr, Contracts: cr, Approvals: ar, Protect: pr,
		Gate:  gt,
		Admin: Operator(AdminVID, "ADMIN-T"),
		Clock: clock,
	}
}

// Operator is a staff member at a terminal.
func Operator(vid, terminal string) staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "terminal:" + terminal}
}

// Must fails the test on err.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// Train records, as the system administrator, a session of every course of
// the profile held daysAgo days before the fixture's clock, attended by
// vids: operators must be trained to use the register (koto-ward:10,
// aomori-pref:9.1).
func (f *Fixture) Train(t testing.TB, daysAgo int, vids ...string) {
	t.Helper()
	today := f.Clock.Now().In(jptext.JST)
	day := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, jptext.JST).AddDate(0, 0, -daysAgo)
	for _, c := range f.Profile.Courses {
		if _, err := f.Training.Record(context.Background(), f.Admin, training.Session{Course: c.ID, Day: day, Trainer: "管理 太郎", Material: "研修テキスト", Attendees: vids}); err != nil {
			t.Fatal(err)
		}
	}
}

// Clerk is the verification id of the clerk SetUpWard designates.
const Clerk = "K0001"

// SetUpWard gives a koto-ward fixture a working 区民課: its security
// officer (SO-KUMIN), an approved terminal T-KUMIN-01, approved use of
// 住民票の写し等の交付 and 住民基本台帳に関する事務, and a clerk K0001
// designated for both; and a 課税課 with its own terminal T-KAZEI-01 and
// security officer SO-KAZEI but no approvals. K0001 and K0002 attended
// every course 30 days ago.
func (f *Fixture) SetUpWard(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	a := f.Admin
	for _, p := range []staff.Person{
		{VerificationID: "SO-KUMIN", Name: "区民 課長", Department: "kumin", Title: "区民課長"},
		{VerificationID: "SO-KAZEI", Name: "課税 課長", Department: "kazei", Title: "課税課長"},
		{VerificationID: Clerk, Name: "区民 一郎", Department: "kumin", Title: "主事"},
		{VerificationID: "K0002", Name: "課税 花子", Department: "kazei", Title: "主事"},
	} {
		Must(t, f.Staff.AddPerson(ctx, a, p))
	}
	f.Train(t, 30, Clerk, "K0002")
	Must(t, f.Staff.AssignRole(ctx, a, "SO-KUMIN", profile.SecurityOfficer, "kumin"))
	Must(t, f.Staff.AssignRole(ctx, a, "SO-KAZEI", profile.SecurityOfficer, "kazei"))
	Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-KUMIN-01", Name: "区民課窓口1", Department: "kumin", Location: "本庁舎2階"}))
	Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-KAZEI-01", Name: "課税課1", Department: "kazei", Location: "本庁舎3階"}))
	for _, affair := range []string{"juminhyo-copy", "juki"} {
		f.Approve(t, Operator("SO-KUMIN", "T-KUMIN-01"), "kumin", affair, []string{"T-KUMIN-01"}, Clerk)
	}
}

// Approve has applicant apply for the use of affair by department on the
// terminals by the people vids, from 30 days before the fixture's clock for
// two years, and the system administrator approve it: the approval
// designates them. It returns the approval's number.
func (f *Fixture) Approve(t testing.TB, applicant staff.Who, department, affair string, terminals []string, vids ...string) int64 {
	t.Helper()
	ctx := context.Background()
	today := jptext.Midnight(f.Clock.Now())
	id, err := f.Approvals.Apply(ctx, applicant, approval.Approval{Department: department, Affair: affair, Purpose: "窓口での交付と記録",
		Reason: "住民からの請求に応じるため", Start: today.AddDate(0, 0, -30), End: today.AddDate(2, 0, 0), Terminals: terminals, Operators: vids})
	Must(t, err)
	Must(t, f.Approvals.Decide(ctx, f.Admin, id, true, "事務の内容と取扱者を確認"))
	return id
}

// Contract records, as the system administrator, a contract with vendor
// running from daysAgo days before the fixture's clock for days days, with
// every mandatory clause of aomori-pref:10.2 except those left out, covering
// vids (staff members registered beforehand). It returns the contract's id.
func (f *Fixture) Contract(t testing.TB, vendor string, daysAgo, days int, leaveOut []string, vids ...string) int64 {
	t.Helper()
	ctx := context.Background()
	today := f.Clock.Now().In(jptext.JST)
	start := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, jptext.JST).AddDate(0, 0, -daysAgo)
	id, err := f.Contracts.Add(ctx, f.Admin, contract.Contract{Vendor: vendor, Scope: "住基ネット端末の保守", Start: start, End: start.AddDate(0, 0, days-1),
		Survey: "個人情報保護方針・ISMS認証を確認"})
	Must(t, err)
	for i, c := range contract.Clauses {
		if !slices.Contains(leaveOut, c.ID) {
			Must(t, f.Contracts.Clause(ctx, f.Admin, id, c.ID, fmt.Sprintf("第%d条（%d頁）", i+5, i+2)))
		}
	}
	for _, vid := range vids {
		Must(t, f.Contracts.AddPerson(ctx, f.Admin, id, vid))
	}
	return id
}

// ImportOne loads one synthetic resident of 江東区 through the gate from the
// console and returns their 住民票コード.
func (f *Fixture) ImportOne(t testing.TB) string {
	t.Helper()
	g, err := synth.New(synth.Options{Seed: 3, LocalGov: "131083"})
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

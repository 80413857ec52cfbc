package node

import (
	"time"

	"context"
	"fmt"
	"slices"

	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/auth"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

// The demo's staff. DemoOperator at DemoTerminal is who the demo's loopback
// API and one-click sign-in act as.
const (
	DemoAdmin    = "DEMO-ADMIN"
	DemoChief    = "DEMO-CSO"
	DemoOfficer  = "DEMO-SO"
	DemoOperator = "demo"
	DemoTerminal = "demo-loopback"
	// DemoUntrained is a second operator, designated like DemoOperator,
	// whose training expired a month ago: signed in as them, a newcomer
	// sees the gate refuse a lookup naming the course (koto-ward:10).
	DemoUntrained = "demo-expired"
)

// SeedDemoStaff gives a demo node a working organisation, once: a system
// administrator, a chief security officer, the head of the department that
// keeps the register (its security officer or section head), an approved
// terminal there, approved use of that department's affairs, and the demo
// operator designated for them, trained in every course the profile
// requires (two months ago), and a second operator whose training expired
// (DemoUntrained). Every step goes through the staff store, the training
// record and the audit log like any change; now is the node's clock. It
// does nothing when staff exist.
func SeedDemoStaff(ctx context.Context, st *staff.Store, tr *training.Register, ar *approval.Register, now time.Time) error {
	people, err := st.People(ctx)
	if err != nil || len(people) > 0 {
		return err
	}
	prof := st.Profile()
	dept, affairs := demoDepartment(prof)
	if dept == "" {
		return fmt.Errorf("profile %s has no affair that changes the register", prof.ID)
	}
	adminDept := adminDepartment(prof)
	if err := st.Bootstrap(ctx, staff.Person{VerificationID: DemoAdmin, Name: "見本 管理者", NameKana: "ミホン カンリシャ", Department: adminDept, Title: "システム管理者（デモ）"}); err != nil {
		return err
	}
	admin := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: DemoAdmin}, Origin: "host:demo-seed"}
	headRole := profile.SecurityOfficer
	if _, ok := prof.Role(headRole); !ok {
		headRole = profile.SectionHead
	}
	d, _ := prof.Department(dept)
	steps := []func() error{
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoChief, Name: "見本 統括", NameKana: "ミホン トウカツ", Department: adminDept, Title: "セキュリティ統括責任者（デモ）"})
		},
		func() error { return st.AssignRole(ctx, admin, DemoChief, profile.ChiefSecurityOfficer, "") },
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoOfficer, Name: "見本 課長", NameKana: "ミホン カチョウ", Department: dept, Title: d.Head + "（デモ）"})
		},
		func() error { return st.AssignRole(ctx, admin, DemoOfficer, headRole, dept) },
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoOperator, Name: "見本 取扱者", NameKana: "ミホン トリアツカイシャ", Department: dept, Title: "主事（デモ）"})
		},
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoUntrained, Name: "見本 研修切れ", NameKana: "ミホン ケンシュウギレ", Department: dept, Title: "主事（デモ・研修の期限切れ）"})
		},
		func() error {
			return st.ApproveTerminal(ctx, admin, staff.Terminal{ID: DemoTerminal, Name: "デモ端末（このサーバ）", Department: dept, Location: "デモ環境"})
		},
		func() error {
			return st.ReportTerminalManager(ctx, staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: DemoOfficer}, Origin: "host:demo-seed"}, DemoTerminal, DemoOfficer, d.Head)
		},
	}
	// Usage approvals (利用の承認): the head applies for each affair, the
	// system administrator approves it (designating both operators), and
	// asks for a status report of the first one for last month.
	today := jptext.Midnight(now)
	head := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: DemoOfficer}, Origin: "host:demo-seed"}
	for i, a := range affairs {
		steps = append(steps, func() error {
			id, err := ar.Apply(ctx, head, approval.Approval{Department: dept, Affair: a, Purpose: "デモ環境での利用", Reason: "デモの窓口業務のため",
				Start: today.AddDate(0, -3, 0), End: today.AddDate(1, 0, 0), Terminals: []string{DemoTerminal}, Operators: []string{DemoOperator, DemoUntrained}})
			if err != nil {
				return err
			}
			if err := ar.Decide(ctx, admin, id, true, "事務の内容・取扱者・端末を確認した"); err != nil {
				return err
			}
			if i > 0 {
				return nil
			}
			first := time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, jptext.JST)
			_, err = ar.RequestReport(ctx, admin, id, first.AddDate(0, -1, 0), first.AddDate(0, 0, -1), today.AddDate(0, 0, 14))
			return err
		})
	}
	// Training: both operators attended every course 13 months ago, which
	// has run out; the demo operator attended again two months ago.
	for _, c := range prof.Courses {
		for _, s := range []training.Session{
			{Course: c.ID, Day: today.AddDate(0, -c.Months()-1, 0), Trainer: "見本 管理者", Material: "デモ用教材（" + c.Name + "）", Attendees: []string{DemoOperator, DemoUntrained}},
			{Course: c.ID, Day: today.AddDate(0, -2, 0), Trainer: "見本 管理者", Material: "デモ用教材（" + c.Name + "）", Attendees: []string{DemoOperator}},
		} {
			steps = append(steps, func() error {
				_, err := tr.Record(ctx, admin, s)
				return err
			})
		}
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// demoDepartment is the department of the first affair that changes the
// register, with every affair that department uses.
func demoDepartment(prof *profile.Profile) (string, []string) {
	for _, a := range prof.Affairs {
		if a.Changes && len(a.Departments) > 0 {
			dept := a.Departments[0]
			var affairs []string
			for _, b := range prof.Affairs {
				if slices.Contains(b.Departments, dept) {
					affairs = append(affairs, b.ID)
				}
			}
			return dept, affairs
		}
	}
	return "", nil
}

// adminDepartment is the department headed by the system administrator's
// position (koto-ward: 情報システム課), or else the first department.
func adminDepartment(prof *profile.Profile) string {
	r, _ := prof.Role(profile.SystemAdministrator)
	for _, d := range prof.Departments {
		if d.Head == r.Position {
			return d.ID
		}
	}
	if len(prof.Departments) > 0 {
		return prof.Departments[0].ID
	}
	return ""
}

// bootstrapAdmin registers the first system administrator of the node in
// dir and returns their one-time enrolment token.
func bootstrapAdmin(ctx context.Context, dir, vid, name string, now func() time.Time) (string, error) {
	n, err := Open(ctx, dir)
	if err != nil {
		return "", err
	}
	defer n.Close()
	n.Now = now
	if err := n.OpenGate(ctx, nil); err != nil {
		return "", err
	}
	if name == "" {
		name = "システム管理者"
	}
	r, _ := n.Profile.Role(profile.SystemAdministrator)
	if err := n.Staff.Bootstrap(ctx, staff.Person{VerificationID: vid, Name: name, Department: adminDepartment(n.Profile), Title: r.Position}); err != nil {
		return "", err
	}
	svc, err := auth.New(n.DB, n.Log, n.Staff, n.Policy, n.nodeCode(), auth.Config{RPID: "localhost", Origins: []string{"http://localhost"}})
	if err != nil {
		return "", err
	}
	svc.Now = now
	return svc.IssueFirstEnrolment(ctx, vid)
}

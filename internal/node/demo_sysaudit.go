package node

import (
	"context"
	"time"

	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
	"jukinet/internal/sysaudit"
)

// DemoAuditor is the demo's auditor (監査担当), named by the chief security
// officer for the demo's audit.
const DemoAuditor = "DEMO-AUDIT"

// SeedDemoAudit gives a demo node one system audit (koto-ward:9), once: the
// auditor (DemoAuditor, in the system administrator's department), a
// periodic audit of the three months up to two weeks ago planned by the
// chief security officer, its checklist generated with the evidence the
// node holds (among it the operator whose training expired), a finding on
// the training check, and its corrective action, owned by the department's
// head, due a week ago and not closed: overdue on the node's clock now. It
// does nothing when an audit exists or the profile has no auditor role;
// now is the node's clock.
func SeedDemoAudit(ctx context.Context, st *staff.Store, r *sysaudit.Register, now time.Time) error {
	all, err := sysaudit.List(ctx, r.DB())
	if err != nil || len(all) > 0 {
		return err
	}
	prof := st.Profile()
	if _, ok := prof.Role(profile.Auditor); !ok {
		return nil
	}
	admin, chief, auditor, head := facilityWho(DemoAdmin), facilityWho(DemoChief), facilityWho(DemoAuditor), facilityWho(DemoOfficer)
	if err := st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoAuditor, Name: "見本 監査", NameKana: "ミホン カンサ",
		Department: adminDepartment(prof), Title: "監査担当（デモ）"}); err != nil {
		return err
	}
	if err := st.AssignRole(ctx, admin, DemoAuditor, profile.Auditor, ""); err != nil {
		return err
	}
	today := jptext.Midnight(now)
	id, err := r.Plan(ctx, chief, sysaudit.Plan{Kind: sysaudit.Periodic, Title: "定期監査（デモ）", From: today.AddDate(0, -3, 0), To: today.AddDate(0, 0, -14),
		Scope: "住基ネットの管理及び運営に関する事務の全般", Auditor: DemoAuditor})
	if err != nil {
		return err
	}
	p, err := r.Generate(ctx, auditor, id)
	if err != nil {
		return err
	}
	// The training check of the training article (koto-ward:10), else the first.
	article := ""
	if len(prof.Courses) > 0 {
		article = prof.Courses[0].Article
	}
	var check int64
	for _, c := range p.Checks {
		if c.Feature == "training" && (check == 0 || c.Article == article) {
			check = c.ID
		}
	}
	if check == 0 {
		return nil
	}
	finding, err := r.RecordFinding(ctx, auditor, sysaudit.Finding{Check: check, Severity: sysaudit.Medium,
		Description: "研修の有効期限が切れた取扱者（" + DemoUntrained + "）が、取扱者に指定されたまま残っている",
		RootCause:   "研修の受講期限を部署で把握し、期限前に受講させる手順が定められていない"})
	if err != nil {
		return err
	}
	action, err := r.AddAction(ctx, auditor, sysaudit.Action{Finding: finding, Owner: DemoOfficer, Due: today.AddDate(0, 0, -7),
		Description: "期限切れの取扱者に研修を受講させるか指定を解除し、受講期限の管理手順を定める"})
	if err != nil {
		return err
	}
	return r.FollowUp(ctx, head, action, "対象者に次回の研修の日程を案内した（受講は未了）")
}

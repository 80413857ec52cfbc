package node

import (
	"context"
	"fmt"
	"slices"
	"time"

	"jukinet/internal/contract"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

// The demo's contractors (internal/contract): people of two vendors,
// designated and trained like the demo operator, each covered by an
// outsourcing contract in force.
const (
	// DemoContractor works under a contract that holds the five clauses of
	// aomori-pref:10.2: signed in as them, a newcomer looks residents up
	// as a contractor may.
	DemoContractor = "demo-contractor"
	// DemoContractorLacking works under a contract that lacks
	// DemoLackingClause: signed in as them, a newcomer sees the gate refuse
	// a lookup naming the clause, and recording it on the 委託 screen lets
	// them look up.
	DemoContractorLacking = "demo-contractor-lacking"
	// DemoLackingClause is the clause the second demo contract lacks
	// (再委託の禁止).
	DemoLackingClause = "no-subcontracting"
)

// The demo's vendors, as their contracts name them.
const (
	DemoVendor        = "見本システム保守株式会社（デモ）"
	DemoVendorLacking = "見本データ入力株式会社（デモ）"
)

// SeedDemoContracts gives a demo node its outsourcing record, once: two
// vendors' people registered in the department that keeps the register,
// designated for its affairs and trained in every course (a month ago),
// and two contracts in force from 1 April of this fiscal year to 31 March
// of the next,
// approved by the system administrator after the check of the vendor's
// measures (aomori-pref:10.1): one holding all five clauses and covering
// DemoContractor, one lacking DemoLackingClause and covering
// DemoContractorLacking. Every step goes through the registers and the
// audit log like any change. It does nothing when contracts exist (and
// registers a contractor only if no staff member has their id); now is
// the node's clock, d its database.
func SeedDemoContracts(ctx context.Context, d db.Querier, st *staff.Store, tr *training.Register, cr *contract.Register, now time.Time) error {
	contracts, err := contract.List(ctx, d)
	if err != nil || len(contracts) > 0 {
		return err
	}
	prof := st.Profile()
	dept, affairs := demoDepartment(prof)
	if dept == "" {
		return fmt.Errorf("profile %s has no affair that changes the register", prof.ID)
	}
	people, err := st.People(ctx)
	if err != nil {
		return err
	}
	admin, officer := facilityWho(DemoAdmin), facilityWho(DemoOfficer)
	today := now.In(jptext.JST)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, jptext.JST)
	fy := today.Year()
	if today.Month() < time.April {
		fy--
	}
	start := time.Date(fy, time.April, 1, 0, 0, 0, 0, jptext.JST)
	// Through the next fiscal year (a maintenance contract often runs for
	// several), so a demo made on 31 March still has its contractors.
	end := time.Date(fy+2, time.March, 31, 0, 0, 0, 0, jptext.JST)

	var steps []func() error
	for _, p := range []staff.Person{
		{VerificationID: DemoContractor, Name: "見本 保守員", NameKana: "ミホン ホシュイン", Department: dept, Title: "委託先職員（" + DemoVendor + "）"},
		{VerificationID: DemoContractorLacking, Name: "見本 入力員", NameKana: "ミホン ニュウリョクイン", Department: dept, Title: "委託先職員（" + DemoVendorLacking + "）"},
	} {
		if slices.ContainsFunc(people, func(q staff.Person) bool { return q.VerificationID == p.VerificationID }) {
			continue
		}
		steps = append(steps, func() error { return st.AddPerson(ctx, admin, p) })
		for _, a := range affairs {
			steps = append(steps, func() error { return st.Designate(ctx, officer, p.VerificationID, a) })
		}
	}
	for _, c := range prof.Courses {
		steps = append(steps, func() error {
			_, err := tr.Record(ctx, admin, training.Session{Course: c.ID, Day: today.AddDate(0, -1, 0), Trainer: "見本 管理者",
				Material: "デモ用教材（" + c.Name + "・委託先職員向け）", Attendees: []string{DemoContractor, DemoContractorLacking}})
			return err
		})
	}
	for _, c := range []struct {
		contract.Contract
		leaveOut string
		person   string
	}{
		{contract.Contract{Vendor: DemoVendor, Scope: "住基ネット端末の保守と窓口での操作補助（デモ）", Start: start, End: end,
			Survey: "個人情報保護方針、ISMS認証、従業者への研修と誓約書を確認（デモ）"}, "", DemoContractor},
		{contract.Contract{Vendor: DemoVendorLacking, Scope: "住民異動届の入力補助（デモ）", Start: start, End: end,
			Survey: "プライバシーマークと作業場所の入退室管理を確認（デモ）"}, DemoLackingClause, DemoContractorLacking},
	} {
		var id int64
		steps = append(steps, func() error {
			var err error
			id, err = cr.Add(ctx, admin, c.Contract)
			return err
		})
		for i, cl := range contract.Clauses {
			if cl.ID == c.leaveOut {
				continue
			}
			steps = append(steps, func() error {
				return cr.Clause(ctx, admin, id, cl.ID, fmt.Sprintf("第%d条（%d頁）", i+5, i+2))
			})
		}
		steps = append(steps, func() error { return cr.AddPerson(ctx, admin, id, c.person) })
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

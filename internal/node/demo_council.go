package node

import (
	"context"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/db"
	"jukinet/internal/jptext"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// The demo's council members beyond the seeded staff (internal/council):
// with the chief (chair), the department's head (区民課長) and the system
// administrator (情報システム課長) they fill six of koto-ward's eleven
// seats, the quorum.
const (
	DemoDeputy = "DEMO-DCSO" // セキュリティ統括責任者補佐: the vice chair
	DemoSomu   = "DEMO-SOMU" // 総務部長
	DemoKiki   = "DEMO-KIKI" // 危機管理課長
)

// SeedDemoCouncil gives a demo node one past council meeting, once: a
// regular meeting 30 days ago with six members present (the quorum), two
// agenda items, a decision by consent and minutes the chair approved; and
// two directives of the chief security officer that followed it to the
// department's head, one acknowledged and reported complete, the other
// acknowledged and overdue since 9 days ago (on the dashboard, and on the
// next meeting's agenda). It adds the vice chair and two members as staff.
// It does nothing on a profile without a council or when a meeting
// exists; now is the node's clock.
func SeedDemoCouncil(ctx context.Context, d db.Querier, st *staff.Store, cr *council.Register, now time.Time) error {
	if cr.Council() == nil {
		return nil
	}
	ms, err := council.List(ctx, d)
	if err != nil || len(ms) > 0 {
		return err
	}
	prof := st.Profile()
	dept, _ := demoDepartment(prof)
	adminDept := adminDepartment(prof)
	admin := demoWho(DemoAdmin)
	chair := demoWho(DemoChief)
	head := demoWho(DemoOfficer)
	day := jptext.Midnight(now).AddDate(0, 0, -30)
	at := day.Add(14 * time.Hour)
	var meeting, first, decision int64
	steps := []func() error{
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoDeputy, Name: "見本 補佐", NameKana: "ミホン ホサ", Department: dept, Title: "区民部長（デモ）"})
		},
		func() error { return st.AssignRole(ctx, admin, DemoDeputy, profile.DeputyChiefSecurityOfficer, "") },
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoSomu, Name: "見本 総務", NameKana: "ミホン ソウム", Department: adminDept, Title: "総務部長（デモ）"})
		},
		func() error {
			return st.AddPerson(ctx, admin, staff.Person{VerificationID: DemoKiki, Name: "見本 危機", NameKana: "ミホン キキ", Department: adminDept, Title: "危機管理課長（デモ）"})
		},
		func() (err error) {
			meeting, err = cr.Convene(ctx, chair, council.Meeting{Kind: council.Regular, At: at, Place: "本庁舎（デモ） 第1会議室"})
			return err
		},
		func() (err error) {
			first, err = cr.AddItem(ctx, chair, meeting, council.Item{Title: "住基ネットのセキュリティ対策の遵守状況の確認（端末の設置場所・取扱者の指定）"})
			return err
		},
		func() error {
			_, err := cr.AddItem(ctx, chair, meeting, council.Item{Title: "端末取扱者の研修の実施状況"})
			return err
		},
		func() error {
			return cr.Attend(ctx, chair, meeting, []string{DemoChief, DemoDeputy, DemoOfficer, DemoAdmin, DemoSomu, DemoKiki}, nil)
		},
		func() (err error) {
			decision, err = cr.Decide(ctx, chair, meeting, council.Decision{Item: first, Method: council.Consent,
				Text: "各部署は、端末の設置場所と取扱者の指定を点検し、その結果をセキュリティ統括責任者に報告する"})
			return err
		},
		func() error {
			return cr.RecordMinutes(ctx, chair, meeting, "1 開会（出席6名、定足数を満たす）\n2 遵守状況の確認：端末の設置場所と取扱者の指定の点検を異議なく決定\n3 研修の実施状況：報告を了承\n4 閉会")
		},
		func() error { return cr.ApproveMinutes(ctx, chair, meeting, "") },
	}
	var done, late int64
	for _, dr := range []struct {
		id   *int64
		text string
		due  time.Time
	}{
		{&done, "窓口端末の設置場所を点検し、結果を報告すること", day.AddDate(0, 0, 14)},
		{&late, "端末取扱者の指定状況（異動者の指定の終了を含む）を点検し、結果を報告すること", day.AddDate(0, 0, 21)},
	} {
		steps = append(steps, func() (err error) {
			*dr.id, err = cr.Issue(ctx, chair, council.Directive{Decision: decision, Kind: council.KindDirective, Department: dept, Text: dr.text, Due: dr.due})
			return err
		}, func() error { return cr.Acknowledge(ctx, head, *dr.id) })
	}
	steps = append(steps, func() error {
		return cr.Complete(ctx, head, done, "窓口端末2台の設置場所を確認した。問題なし")
	})
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func demoWho(vid string) staff.Who {
	return staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "host:demo-seed"}
}

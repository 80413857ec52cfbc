package sysaudit_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/asset"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/facility"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/report"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/staff"
	"jukinet/internal/sysaudit"
)

// The people of an audit, beside policytest's: the chief security
// officer, who plans; the auditor he names.
const (
	Chief   = "CSO01"
	Auditor = "AUD01"
)

// audits is a fixture with the system audits record on its clock.
type audits struct {
	*Fixture
	Audits     *sysaudit.Register
	Facilities *facility.Register
}

// setUp builds a fixture for profileID on the clock, with the chief
// security officer and an auditor in the system administrator's department
// (koto-ward: and SetUpWard's 区民課 and 課税課).
func setUp(t *testing.T, d *db.DB, profileID string, clock *clocktest.Clock) *audits {
	t.Helper()
	ctx := context.Background()
	f := NewAt(t, d, profileID, clock)
	if profileID == "koto-ward" {
		f.SetUpWard(t)
	}
	dept := "joho"
	if f.Profile.Level == profile.Prefecture {
		dept = "shichoson"
	}
	Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: Chief, Name: "統括 一郎", Department: dept, Title: "副区長"}))
	Must(t, f.Staff.AssignRole(ctx, f.Admin, Chief, profile.ChiefSecurityOfficer, ""))
	Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: Auditor, Name: "監査 花子", Department: dept, Title: "主査"}))
	Must(t, f.Staff.AssignRole(ctx, f.Admin, Auditor, profile.Auditor, ""))
	fr := facility.New(d, f.Log, f.Engine, "131083")
	fr.Now = clock.Now
	fr.OnChange(f.Engine.Invalidate)
	ar := asset.New(d, f.Log, f.Engine, f.Staff, "131083")
	ar.Now = clock.Now
	r := sysaudit.New(d, f.Log, f.Engine, f.Profile, "131083", sysaudit.Sources{Staff: f.Staff, Facilities: fr, Assets: ar, Verifier: f.Verifier,
		Alerts: node.AuditAlerts(d), Incidents: node.AuditIncidents(d), Meetings: node.AuditMeetings(d), Directives: node.AuditDirectives(d), Letters: node.AuditLetters(d)})
	r.Now = clock.Now
	return &audits{Fixture: f, Audits: r, Facilities: fr}
}

func at(vid string) staff.Who { return Operator(vid, "T-"+vid) }

// day is midnight JST days days from the clock's day.
func day(c *clocktest.Clock, days int) time.Time {
	return jptext.Midnight(c.Now()).AddDate(0, 0, days)
}

// lastMonth is a plan of the 30 days before the clock's day.
func lastMonth(f *audits) sysaudit.Plan {
	return sysaudit.Plan{Kind: sysaudit.Periodic, Title: "令和8年度 定期監査", From: day(f.Clock, -30), To: day(f.Clock, -1),
		Scope: "住基ネットの管理及び運営に関する事務の全般", Auditor: Auditor}
}

// checkOf is the first check of feature in the audit.
func checkOf(t *testing.T, p sysaudit.Plan, feature string) sysaudit.Check {
	t.Helper()
	for _, c := range p.Checks {
		if c.Feature == feature {
			return c
		}
	}
	t.Fatalf("the checklist has no check of %s", feature)
	return sysaudit.Check{}
}

func figure(t *testing.T, c sysaudit.Check, name string) int64 {
	t.Helper()
	v, ok := c.Figure(name)
	if !ok {
		t.Fatalf("check %d (%s) has no figure %q: %s", c.Position, c.Feature, name, c.FiguresText())
	}
	return v
}

// logged counts the audit entries of each sysaudit action, by outcome.
func logged(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	out := map[string]int{}
	for _, e := range l {
		if strings.HasPrefix(e.Action, "sysaudit.") {
			out[e.Action+"/"+e.Entry.Outcome]++
		}
	}
	return out
}

// TestAuditWorkflow walks an audit through its life on both databases: the
// chief plans it naming the auditor, who alone generates the checklist from
// the article map — every built feature of every article one check — then
// records a finding and a corrective action; its owner follows it up but
// may not close it (the separation-of-duty forbid naming koto-ward:9); the
// auditor closes it and completes the audit once the checks to look at are
// assessed. Every change and refusal is in the audit log.
func TestAuditWorkflow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d, "koto-ward", clocktest.New())
		chief, auditor, owner := at(Chief), at(Auditor), at("SO-KUMIN")

		// Only the chief plans, and he names someone else.
		if _, err := f.Audits.Plan(ctx, auditor, lastMonth(f)); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("the auditor planning: %v", err)
		}
		Must(t, f.Staff.AssignRole(ctx, f.Admin, Chief, profile.Auditor, ""))
		self := lastMonth(f)
		self.Auditor = Chief
		if _, err := f.Audits.Plan(ctx, chief, self); apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "監査担当に指名できません") {
			t.Errorf("the chief naming himself: %v (%s)", err, apperr.JapaneseOf(err))
		}
		id, err := f.Audits.Plan(ctx, chief, lastMonth(f))
		Must(t, err)

		// The auditor named generates the checklist; the chief, an auditor
		// too now, is not the one named.
		if _, err := f.Audits.Generate(ctx, chief, id); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("the chief generating another's checklist: %v", err)
		}
		p, err := f.Audits.Generate(ctx, auditor, id)
		Must(t, err)
		want := 0
		for _, a := range f.Profile.Articles {
			want += len(sysaudit.Checkable(a))
		}
		if len(p.Checks) != want || want < 40 || p.State != sysaudit.InProgress {
			t.Fatalf("%d checks (state %s), want one per built feature of each article: %d", len(p.Checks), p.State, want)
		}
		nine := 0
		for _, c := range p.Checks {
			if c.Evidence == "" {
				t.Errorf("check %d (%s %s) has no evidence", c.Position, c.Article, c.Feature)
			}
			if c.Article == "koto-ward:9" {
				nine++
			}
		}
		if nine != 2 { // audits and audit.tamper-evidence
			t.Errorf("koto-ward:9 has %d checks, want 2", nine)
		}
		// The evidence was read up to the entry before the checklist's own.
		entries, err := auditlog.List(ctx, d, auditlog.Filter{Action: "sysaudit.checklist", After: -1})
		Must(t, err)
		if last := entries[len(entries)-1]; last.Entry.Outcome != auditlog.OutcomeOK || last.Seq != p.UpTo+1 {
			t.Errorf("evidence up to %d, the checklist's entry is %d", p.UpTo, last.Seq)
		}
		if _, err := f.Audits.Generate(ctx, auditor, id); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("generated twice: %v", err)
		}

		// A finding and its corrective action, by the auditor only.
		tr := checkOf(t, p, "training")
		finding := sysaudit.Finding{Check: tr.ID, Severity: sysaudit.Medium, Description: "研修の記録の確認が遅れている", RootCause: "受講管理の担当が決まっていない"}
		if _, err := f.Audits.RecordFinding(ctx, owner, finding); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("the owner recording a finding: %v", err)
		}
		fid, err := f.Audits.RecordFinding(ctx, auditor, finding)
		Must(t, err)
		action := sysaudit.Action{Finding: fid, Description: "受講管理の担当を定め、月次で確認する", Owner: "SO-KUMIN", Due: day(f.Clock, 30)}
		aid, err := f.Audits.AddAction(ctx, auditor, action)
		Must(t, err)
		Must(t, f.Audits.FollowUp(ctx, owner, aid, "担当を定めた。初回の確認は来月"))
		if err := f.Audits.FollowUp(ctx, at(Clerk), aid, "代わりに記録"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("a clerk following up another's action: %v", err)
		}
		// The owner does not close his own action: the forbid names the article.
		err = f.Audits.CloseAction(ctx, owner, aid, "自分で完了")
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "第9条") {
			t.Errorf("the owner closing: %v (%s)", err, apperr.JapaneseOf(err))
		}
		denied, err := auditlog.List(ctx, d, auditlog.Filter{Action: "sysaudit.close", After: -1})
		Must(t, err)
		if len(denied) != 1 || denied[0].Entry.Policy != "koto-ward:9/no-self-closure" || denied[0].Entry.Decision != auditlog.Deny {
			t.Errorf("the refused closing is logged as %+v", denied)
		}
		// The checks to look at are assessed before the audit completes.
		if err := f.Audits.Complete(ctx, auditor, id, "概ね適切"); apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(apperr.JapaneseOf(err), "要確認") {
			t.Errorf("completed with checks to look at unassessed: %v", err)
		}
		p, err = sysaudit.Get(ctx, d, id)
		Must(t, err)
		if c := checkOf(t, p, "training"); c.Result != sysaudit.Nonconforming {
			t.Errorf("the check of the finding is %q", c.Result)
		}
		for _, c := range p.Checks {
			if c.Attention && c.Result == sysaudit.Unassessed {
				Must(t, f.Audits.Assess(ctx, auditor, c.ID, sysaudit.Conforming, ""))
			}
		}
		Must(t, f.Audits.Complete(ctx, auditor, id, "研修の管理に改善を要するほかは適切に運用されている"))
		Must(t, f.Audits.CloseAction(ctx, auditor, aid, "月次確認の記録（令和8年12月分）を確認"))
		if err := f.Audits.CloseAction(ctx, chief, aid, "二度目"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("closed twice: %v", err)
		}
		if _, err := f.Audits.RecordFinding(ctx, auditor, finding); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("a finding after completion: %v", err)
		}
		p, err = sysaudit.Get(ctx, d, id)
		Must(t, err)
		if p.State != sysaudit.Completed || len(p.Findings) != 1 || len(p.Findings[0].Actions) != 1 {
			t.Fatalf("audit = %+v", p)
		}
		a := p.Findings[0].Actions[0]
		if !a.Closed() || a.ClosedBy != "operator:"+Auditor || len(a.FollowUps) != 1 || a.FollowUps[0].By != "operator:SO-KUMIN" {
			t.Errorf("action = %+v", a)
		}
		got := logged(t, d)
		for action, n := range map[string]int{
			"sysaudit.plan/ok": 1, "sysaudit.plan/denied": 2, "sysaudit.checklist/ok": 1, "sysaudit.checklist/denied": 1,
			"sysaudit.finding/ok": 1, "sysaudit.finding/denied": 1, "sysaudit.action/ok": 1, "sysaudit.follow-up/ok": 1,
			"sysaudit.follow-up/denied": 1, "sysaudit.close/ok": 1, "sysaudit.close/denied": 1, "sysaudit.complete/ok": 1,
		} {
			if got[action] != n {
				t.Errorf("%s logged %d times, want %d (all: %v)", action, got[action], n, got)
			}
		}
	})
}

// TestEvidenceFromTheNode seeds facts over 100 days on the node's clock
// and checks the numbers the checklist records against them: operators
// whose training expired, designations without use for 90 days,
// suspensions in the period, alerts open over 14 days, a contract lacking
// a clause, a status report overdue, a terminal without an approved
// installation, and the log verified intact with its latest checkpoint and
// the witness's cosignature.
func TestEvidenceFromTheNode(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		start := clocktest.Start()
		today := jptext.Midnight(start)
		clock := clocktest.At(today.AddDate(0, 0, -100).Add(10 * time.Hour))
		f := setUp(t, d, "koto-ward", clock)
		so := at("SO-KUMIN")
		// 100 days ago: K0003 designated for 住民基本台帳に関する事務, never trained.
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "K0003", Name: "区民 三郎", Department: "kumin", Title: "主事"}))
		Must(t, f.Staff.Designate(ctx, so, "K0003", "juki"))
		code := f.ImportOne(t)
		lookup := func(when time.Time) {
			clock.Set(when)
			q := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk}, Origin: "terminal:T-KUMIN-01", Affair: "juminhyo-copy", Reason: "窓口での本人申請"}
			if _, err := f.Gate.Lookup(ctx, q, gate.Key{ResidentCode: code}); err != nil {
				t.Fatalf("look-up at %s: %v", when, err)
			}
		}
		// 60 days ago, a suspension of 課税課's terminal, lifted the next day
		// (before the period audited).
		suspend := func(days int) {
			clock.Set(today.AddDate(0, 0, days).Add(10 * time.Hour))
			id, err := f.Staff.Suspend(ctx, f.Admin, staff.Suspension{Scope: staff.ScopeTerminal, Target: "T-KAZEI-01", Reason: "端末の点検"})
			Must(t, err)
			clock.Set(today.AddDate(0, 0, days+1).Add(10 * time.Hour))
			Must(t, f.Staff.Lift(ctx, f.Admin, id, "点検の終了"))
		}
		suspend(-60)
		// 20 days ago at 23:00, the clerk looks up out of hours; the
		// detection raises the alert the next morning, left open.
		lookup(today.AddDate(0, 0, -20).Add(23 * time.Hour))
		clock.Set(today.AddDate(0, 0, -19).Add(10 * time.Hour))
		det, err := detect.New(d, f.Log, f.Engine, "131083", detect.DefaultSettings)
		Must(t, err)
		_, err = det.Run(ctx)
		Must(t, err)
		open, err := detect.List(ctx, d, false)
		Must(t, err)
		// 10 days ago: a look-up in office hours; a status report asked for, due 3 days ago.
		lookup(today.AddDate(0, 0, -10).Add(10 * time.Hour))
		// (SetUpWard's first approval: 区民課's use of 住民票の写し等の交付.)
		_, err = f.Approvals.RequestReport(ctx, f.Admin, 1, today.AddDate(0, 0, -40), today.AddDate(0, 0, -11), today.AddDate(0, 0, -3))
		Must(t, err)
		suspend(-5)
		// Today: a contract lacking 再委託の禁止; rooms, with 区民課's terminal installed only.
		clock.Set(start)
		f.Contract(t, "株式会社入力", 30, 365, []string{"no-subcontracting"})
		Must(t, f.Facilities.AddRoom(ctx, f.Admin, facility.Room{ID: "R-KUMIN", Building: "本庁舎", Name: "区民課端末室", Level: facility.LevelTerminal}))
		Must(t, f.Facilities.Install(ctx, f.Admin, facility.Installation{Terminal: "T-KUMIN-01", Room: "R-KUMIN", Manager: "SO-KUMIN"}))
		// The log's checkpoint, cosigned by the prefecture's node.
		cp, err := f.Log.Checkpoint(ctx)
		Must(t, err)
		_, err = d.Exec(ctx, `INSERT INTO audit_cosignature (size, witness, note, at) VALUES (?, ?, ?, ?)`, cp.Size, "jukinet-130001", string(cp.Note), start.UTC())
		Must(t, err)

		id, err := f.Audits.Plan(ctx, at(Chief), lastMonth(f))
		Must(t, err)
		p, err := f.Audits.Generate(ctx, at(Auditor), id)
		Must(t, err)
		for _, c := range []struct {
			feature, figure string
			want            int64
			attention       bool
			text            string
		}{
			{"training", "研修切れ", 1, true, "K0003"},
			{"training", "研修を要する職員", 2, true, ""},
			{"staff.designation", "未使用の指定", 2, true, "K0003（住民基本台帳に関する事務）"},
			{"staff.designation", "指定", 3, true, Clerk + "（住民基本台帳に関する事務）"},
			{"policy.suspension", "停止", 1, false, ""},
			{"policy.suspension", "解除", 1, false, ""},
			{"policy.suspension", "停止中", 0, false, ""},
			{"detection.misuse", "長期未対応", int64(len(open)), len(open) > 0, "日以上未対応"},
			{"outsourcing", "約定を欠く契約", 1, true, "株式会社入力（再委託の禁止）"},
			{"facilities", "設置のない端末", 1, true, "T-KAZEI-01"},
			{"audit.tamper-evidence", "検証の問題", 0, false, "改ざんなし"},
			{"audit.tamper-evidence", "最新チェックポイント", cp.Size, false, ""},
			{"audit.tamper-evidence", "連署", cp.Size, false, "jukinet-130001"},
			{"gate.single-door", "ゲートの利用", 2, false, ""}, // the look-ups 20 and 10 days ago
		} {
			ch := checkOf(t, p, c.feature)
			want := c.want
			if got := figure(t, ch, c.figure); got != want || ch.Attention != c.attention || !strings.Contains(ch.Evidence, c.text) {
				t.Errorf("%s %s = %d (attention %t), want %d (%t) with %q: %s", c.feature, c.figure, got, ch.Attention, want, c.attention, c.text, ch.Evidence)
			}
		}
		if len(open) != 1 {
			t.Errorf("%d alerts open, want the out-of-hours look-up's", len(open))
		}
		// aomori-pref:7.3's status reports are not among koto-ward's
		// articles; their evidence all the same.
		reports, _, err := f.Audits.CollectFeature(ctx, "staff.usage-status-report", p.From, p.To)
		Must(t, err)
		if n, _ := (sysaudit.Check{Figures: reports.Figures}).Figure("期限超過"); n != 1 || !reports.Attention || !strings.Contains(reports.Text, "期限を過ぎて未提出 1件") {
			t.Errorf("status reports: %+v", reports)
		}
		// Recounted later, the period's figures do not change: they are
		// read up to the entry recorded.
		again, _, err := f.Audits.CollectFeature(ctx, "policy.suspension", p.From, p.To)
		Must(t, err)
		if again.Text != checkOf(t, p, "policy.suspension").Evidence {
			t.Errorf("recounted %q, recorded %q", again.Text, checkOf(t, p, "policy.suspension").Evidence)
		}
	})
}

// TestOverdueOnTheClock: an action is overdue from the midnight after its
// due day, on the node's clock, until closed.
func TestOverdueOnTheClock(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d, "koto-ward", clocktest.New())
		id, err := f.Audits.Plan(ctx, at(Chief), lastMonth(f))
		Must(t, err)
		p, err := f.Audits.Generate(ctx, at(Auditor), id)
		Must(t, err)
		fid, err := f.Audits.RecordFinding(ctx, at(Auditor), sysaudit.Finding{Check: p.Checks[0].ID, Severity: sysaudit.Low, Description: "記録の整理", RootCause: "手順の未整備"})
		Must(t, err)
		due := day(f.Clock, 7)
		aid, err := f.Audits.AddAction(ctx, at(Auditor), sysaudit.Action{Finding: fid, Description: "手順書を作る", Owner: "SO-KUMIN", Due: due})
		Must(t, err)
		// One already due when entered (agreed on paper before): due the last day audited.
		late, err := f.Audits.AddAction(ctx, at(Auditor), sysaudit.Action{Finding: fid, Description: "台帳を点検する", Owner: "SO-KAZEI", Due: p.To})
		Must(t, err)
		for _, c := range []struct {
			at   time.Time
			want []int64
		}{
			{f.Clock.Now(), []int64{late}},
			{due.Add(24*time.Hour - time.Second), []int64{late}},
			{due.AddDate(0, 0, 1), []int64{late, aid}},
		} {
			got, err := sysaudit.Overdue(ctx, d, c.at)
			Must(t, err)
			var ids []int64
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			if len(ids) != len(c.want) || (len(ids) > 0 && (ids[0] != c.want[0] || ids[len(ids)-1] != c.want[len(c.want)-1])) {
				t.Errorf("overdue at %s: %v, want %v", c.at, ids, c.want)
			}
		}
		Must(t, f.Audits.CloseAction(ctx, at(Auditor), late, "点検済みの台帳を確認"))
		f.Clock.Set(due.AddDate(0, 0, 1))
		got, err := sysaudit.Overdue(ctx, d, f.Clock.Now())
		Must(t, err)
		if len(got) != 1 || got[0].ID != aid || !got[0].OverdueAt(f.Clock.Now()) {
			t.Errorf("overdue after closing one: %+v", got)
		}
	})
}

// TestBadInput: every field is checked, named in Japanese, and nothing is
// stored.
func TestBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d, "koto-ward", clocktest.New())
		today := day(f.Clock, 0)
		for _, c := range []struct {
			name string
			set  func(p *sysaudit.Plan)
			ja   string
		}{
			{"no kind", func(p *sysaudit.Plan) { p.Kind = "" }, "種別"},
			{"no title", func(p *sysaudit.Plan) { p.Title = " " }, "監査の名称"},
			{"long title", func(p *sysaudit.Plan) { p.Title = strings.Repeat("監", sysaudit.FieldTitle.Max+1) }, "監査の名称"},
			{"control character", func(p *sysaudit.Plan) { p.Scope = "範囲\x07" }, "監査の範囲"},
			{"no start", func(p *sysaudit.Plan) { p.From = time.Time{} }, "初日"},
			{"end before start", func(p *sysaudit.Plan) { p.To = p.From.AddDate(0, 0, -1) }, "より前"},
			{"end after today", func(p *sysaudit.Plan) { p.To = today.AddDate(0, 0, 1) }, "今日より後"},
			{"unknown article", func(p *sysaudit.Plan) { p.Articles = []string{"koto-ward:99"} }, "koto-ward:99"},
			{"article without a built feature", func(p *sysaudit.Plan) { p.Articles = []string{"koto-ward:1"} }, "点検できる機能"},
			{"no auditor", func(p *sysaudit.Plan) { p.Auditor = "" }, "監査担当"},
			{"unknown auditor", func(p *sysaudit.Plan) { p.Auditor = "NOBODY" }, "NOBODY"},
			{"malformed auditor", func(p *sysaudit.Plan) { p.Auditor = "<script>" }, "照合ID"},
			{"auditor without the role", func(p *sysaudit.Plan) { p.Auditor = Clerk }, "監査担当」の役割"},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := lastMonth(f)
				c.set(&p)
				_, err := f.Audits.Plan(ctx, at(Chief), p)
				if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want invalid ~%q", err, apperr.JapaneseOf(err), c.ja)
				}
			})
		}
		if all, err := sysaudit.List(ctx, d); err != nil || len(all) != 0 {
			t.Errorf("refused plans stored: %v %+v", err, all)
		}
		// A plan limited to two articles checks their built features only.
		p := lastMonth(f)
		p.Articles = []string{"koto-ward:10", "koto-ward:9", "koto-ward:10"}
		id, err := f.Audits.Plan(ctx, at(Chief), p)
		Must(t, err)
		got, err := f.Audits.Generate(ctx, at(Auditor), id)
		Must(t, err)
		if len(got.Articles) != 2 || got.Articles[0] != "koto-ward:9" || len(got.Checks) != 3 {
			t.Errorf("limited audit: articles %v, %d checks", got.Articles, len(got.Checks))
		}
		check := got.Checks[0].ID
		finding := func(set func(*sysaudit.Finding)) error {
			fd := sysaudit.Finding{Check: check, Severity: sysaudit.High, Description: "内容", RootCause: "原因"}
			set(&fd)
			_, err := f.Audits.RecordFinding(ctx, at(Auditor), fd)
			return err
		}
		for name, err := range map[string]error{
			"severity":              finding(func(fd *sysaudit.Finding) { fd.Severity = "critical" }),
			"no description":        finding(func(fd *sysaudit.Finding) { fd.Description = "" }),
			"no root cause":         finding(func(fd *sysaudit.Finding) { fd.RootCause = " " }),
			"no check":              finding(func(fd *sysaudit.Finding) { fd.Check = 0 }),
			"assess without a note": f.Audits.Assess(ctx, at(Auditor), check, sysaudit.Nonconforming, ""),
			"assess nothing":        f.Audits.Assess(ctx, at(Auditor), check, "", "x"),
		} {
			if apperr.CodeOf(err) != apperr.Invalid || apperr.JapaneseOf(err) == "" {
				t.Errorf("%s: %v", name, err)
			}
		}
		if err := finding(func(fd *sysaudit.Finding) { fd.Check = 99999 }); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("unknown check: %v", err)
		}
		fid, err := f.Audits.RecordFinding(ctx, at(Auditor), sysaudit.Finding{Check: check, Severity: sysaudit.High, Description: "内容", RootCause: "原因"})
		Must(t, err)
		for _, c := range []struct {
			name string
			a    sysaudit.Action
			ja   string
		}{
			{"no description", sysaudit.Action{Finding: fid, Owner: "SO-KUMIN", Due: today}, "是正措置の内容"},
			{"no owner", sysaudit.Action{Finding: fid, Description: "x", Due: today}, "担当者"},
			{"unknown owner", sysaudit.Action{Finding: fid, Description: "x", Owner: "NOBODY", Due: today}, "NOBODY"},
			{"no due", sysaudit.Action{Finding: fid, Description: "x", Owner: "SO-KUMIN"}, "期限"},
			{"due before the period's end", sysaudit.Action{Finding: fid, Description: "x", Owner: "SO-KUMIN", Due: p.To.AddDate(0, 0, -1)}, "末日"},
			{"due in four years", sysaudit.Action{Finding: fid, Description: "x", Owner: "SO-KUMIN", Due: today.AddDate(4, 0, 0)}, "3年"},
		} {
			if _, err := f.Audits.AddAction(ctx, at(Auditor), c.a); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
				t.Errorf("%s: %v (%s)", c.name, err, apperr.JapaneseOf(err))
			}
		}
		if all, err := sysaudit.OpenActions(ctx, d); err != nil || len(all) != 0 {
			t.Errorf("refused actions stored: %v %+v", err, all)
		}
		aid, err := f.Audits.AddAction(ctx, at(Auditor), sysaudit.Action{Finding: fid, Description: "x", Owner: "SO-KUMIN", Due: today})
		Must(t, err)
		if err := f.Audits.CloseAction(ctx, at(Auditor), aid, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("closing without evidence: %v", err)
		}
		if err := f.Audits.FollowUp(ctx, at("SO-KUMIN"), aid, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("an empty follow-up: %v", err)
		}
		if err := f.Audits.Complete(ctx, at(Auditor), id, ""); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("completing without a conclusion: %v", err)
		}
	})
}

// TestAomoriAudit: the prefecture's chief plans, its auditor conducts, a
// section head owns the corrective action and may not close it; the
// refusal names aomori-pref:11.
func TestAomoriAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d, "aomori-pref", clocktest.New())
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "SH-01", Name: "課長 一", Department: "shichoson", Title: "市町村課長"}))
		Must(t, f.Staff.AssignRole(ctx, f.Admin, "SH-01", profile.SectionHead, "shichoson"))
		id, err := f.Audits.Plan(ctx, at(Chief), sysaudit.Plan{Kind: sysaudit.AdHoc, Title: "臨時監査", From: day(f.Clock, -7), To: day(f.Clock, 0),
			Scope: "外部委託の管理", Articles: []string{"aomori-pref:10.2"}, Auditor: Auditor})
		Must(t, err)
		p, err := f.Audits.Generate(ctx, at(Auditor), id)
		Must(t, err)
		if len(p.Checks) != 1 || p.Checks[0].Feature != "outsourcing" {
			t.Fatalf("checks: %+v", p.Checks)
		}
		fid, err := f.Audits.RecordFinding(ctx, at(Auditor), sysaudit.Finding{Check: p.Checks[0].ID, Severity: sysaudit.High, Description: "契約書の写しがない", RootCause: "保管場所が未定"})
		Must(t, err)
		aid, err := f.Audits.AddAction(ctx, at(Auditor), sysaudit.Action{Finding: fid, Description: "写しを保管する", Owner: "SH-01", Due: day(f.Clock, 14)})
		Must(t, err)
		Must(t, f.Audits.FollowUp(ctx, at("SH-01"), aid, "保管場所を定めた"))
		err = f.Audits.CloseAction(ctx, at("SH-01"), aid, "保管した")
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "第11条") {
			t.Errorf("the owner closing: %v", err)
		}
		Must(t, f.Audits.CloseAction(ctx, at(Chief), aid, "保管を確認"))
	})
}

// TestReportDocument renders an audit with a finding and an overdue action
// as PDF (Japanese text, 和暦 dates) and as CSV.
func TestReportDocument(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := setUp(t, d, "koto-ward", clocktest.New())
		id, err := f.Audits.Plan(ctx, at(Chief), lastMonth(f))
		Must(t, err)
		p, err := f.Audits.Generate(ctx, at(Auditor), id)
		Must(t, err)
		fid, err := f.Audits.RecordFinding(ctx, at(Auditor), sysaudit.Finding{Check: checkOf(t, p, "training").ID, Severity: sysaudit.High,
			Description: "研修の期限切れの取扱者がいる", RootCause: "受講の管理が部署任せ"})
		Must(t, err)
		_, err = f.Audits.AddAction(ctx, at(Auditor), sysaudit.Action{Finding: fid, Description: "受講の計画を立てる", Owner: "SO-KUMIN", Due: p.To})
		Must(t, err)
		p, err = sysaudit.Get(ctx, d, id)
		Must(t, err)
		var pdf bytes.Buffer
		Must(t, report.WritePDF(&pdf, p.Document(f.Profile, "江東区 セキュリティ統括責任者", f.Clock.Now(), f.Clock.Now())))
		if n := reporttest.Pages(t, pdf.Bytes()); n < 2 {
			t.Errorf("the audit report has %d pages, want the checklist of %d checks over several", n, len(p.Checks))
		}
		text := reporttest.Text(t, pdf.Bytes())
		for _, want := range []string{"システム監査報告書", jptext.FormatWareki(p.From) + "～" + jptext.FormatWareki(p.To), "チェックリストと証跡",
			fmt.Sprintf("監査ログ 第%d項まで", p.UpTo), "研修の期限切れの取扱者がいる", "受講の管理が部署任せ", "期限超過", "koto-ward:9 システム監査"} {
			if !strings.Contains(text, want) {
				t.Errorf("the PDF lacks %q", want)
			}
		}
		var csv bytes.Buffer
		Must(t, report.WriteCSV(&csv, p.Table(f.Clock.Now()), report.UTF8BOM))
		out := csv.String()
		if !strings.HasPrefix(out, "\ufeff区分,番号,条項") || strings.Count(out, "\r\n点検,") != len(p.Checks) || !strings.Contains(out, "是正措置,") || !strings.Contains(out, "期限超過") {
			t.Errorf("CSV:\n%s", out)
		}
	})
}

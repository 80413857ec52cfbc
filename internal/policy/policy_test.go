package policy_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/approval"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	"jukinet/internal/policy"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

func question(vid, terminal, affair, action string) gate.Question {
	return gate.Question{Action: action, Request: gate.Request{
		Actor:  auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid},
		Origin: "terminal:" + terminal, Affair: affair, Reason: "窓口での本人申請",
	}}
}

// TestDecisions walks the conditions of koto-ward:12.1 one by one.
func TestDecisions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.Designate(ctx, Operator("SO-KAZEI", "T-KAZEI-01"), "K0002", "tax-assessment"))
		within := "koto-ward:12.1/within-usage-approval"
		console := gate.Question{Action: "import", Request: gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server", Affair: "juki", Reason: "初期移行"}}
		for _, c := range []struct {
			name   string
			q      gate.Question
			allow  bool
			policy string
			ja     string
		}{
			{"designated clerk at own terminal", question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup"), true, "koto-ward:12.1/designated-operator", ""},
			{"affair by its Japanese name", question(Clerk, "T-KUMIN-01", "住民票の写し等の交付", "search"), true, "koto-ward:12.1/designated-operator", ""},
			{"change for the register affair", question(Clerk, "T-KUMIN-01", "juki", "apply"), true, "koto-ward:12.1/designated-operator-changes", ""},
			{"change for an affair that only reads", question(Clerk, "T-KUMIN-01", "juminhyo-copy", "apply"), false, policy.DefaultDeny, "記録を変更できません"},
			{"not designated for the affair", question(Clerk, "T-KUMIN-01", "tax-assessment", "lookup"), false, within, "区民課は利用事務「特別区民税・都民税の賦課に関する事務」の利用承認を受けていません"},
			{"terminal of another department", question(Clerk, "T-KAZEI-01", "juminhyo-copy", "lookup"), false, policy.DefaultDeny, "課税課の端末です"},
			{"unknown terminal", question(Clerk, "T-HOME", "juminhyo-copy", "lookup"), false, policy.DefaultDeny, "設置の承認を受けていない"},
			{"unknown operator", question("X9999", "T-KUMIN-01", "juminhyo-copy", "lookup"), false, policy.DefaultDeny, "登録されていないか"},
			{"department without approval", question("K0002", "T-KAZEI-01", "tax-assessment", "lookup"), false, within, "利用承認を受けていません"},
			{"affair not in the profile", question(Clerk, "T-KUMIN-01", "fortune-telling", "lookup"), false, policy.DefaultDeny, "この規程の利用事務にありません"},
			{"bulk export by an operator", question(Clerk, "T-KUMIN-01", "juki", "export"), false, policy.DefaultDeny, "サーバ上からのみ"},
			{"console import", console, true, "jukinet:console", ""},
			{"missing reason", func() gate.Question { q := question(Clerk, "T-KUMIN-01", "juki", "lookup"); q.Reason = ""; return q }(), false, "interim.required-fields", "理由"},
		} {
			t.Run(c.name, func(t *testing.T) {
				v := f.Engine.Decide(ctx, c.q)
				if v.Allow != c.allow || v.Policy != c.policy || !strings.Contains(v.Japanese, c.ja) {
					t.Errorf("verdict = %+v, want allow=%v policy=%s ja~%q", v, c.allow, c.policy, c.ja)
				}
			})
		}
		// Approval given: K0002 may now work.
		f.Approve(t, Operator("SO-KAZEI", "T-KAZEI-01"), "kazei", "tax-assessment", []string{"T-KAZEI-01"}, "K0002")
		if v := f.Engine.Decide(ctx, question("K0002", "T-KAZEI-01", "tax-assessment", "lookup")); !v.Allow {
			t.Errorf("after approval: %+v", v)
		}
		// A clerk who transferred is refused at once.
		Must(t, f.Staff.RemovePerson(ctx, f.Admin, Clerk, staff.LeftTransfer))
		if v := f.Engine.Decide(ctx, question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup")); v.Allow {
			t.Errorf("transferred clerk allowed: %+v", v)
		}
		// With console use off, the console is refused.
		off, err := policy.New(ctx, d, f.Profile, false)
		Must(t, err)
		if v := off.Decide(ctx, console); v.Allow {
			t.Errorf("console allowed with [console] lookup = false: %+v", v)
		}
	})
}

// TestAdministration checks who may change staff data, per the profile.
func TestAdministration(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		kumin, kazei, clerk := Operator("SO-KUMIN", "T-KUMIN-01"), Operator("SO-KAZEI", "T-KAZEI-01"), Operator(Clerk, "T-KUMIN-01")
		for _, c := range []struct {
			name string
			err  error
			code apperr.Code
		}{
			{"security officer designates in another department", f.Staff.Designate(ctx, kazei, Clerk, "tax-assessment"), apperr.Forbidden},
			{"clerk designates", f.Staff.Designate(ctx, clerk, "K0002", "tax-assessment"), apperr.Forbidden},
			{"security officer approves a terminal", f.Staff.ApproveTerminal(ctx, kumin, staff.Terminal{ID: "T-X", Name: "x", Department: "kazei", Location: "x"}), apperr.Forbidden},
			{"clerk suspends", func() error {
				_, err := f.Staff.Suspend(ctx, clerk, staff.Suspension{Scope: staff.ScopeNode, Reason: "test", Confirmed: true})
				return err
			}(), apperr.Forbidden},
			{"security officer enrols", f.Staff.RegisterCredential(ctx, kumin, Clerk, staff.Credential{CredentialID: []byte{1}, Data: "{}"}), apperr.Forbidden},
			{"security officer designates own department", f.Staff.Designate(ctx, kumin, Clerk, "tax-assessment"), ""},
			{"system administrator enrols", f.Staff.RegisterCredential(ctx, f.Admin, Clerk, staff.Credential{CredentialID: []byte{2}, Data: "{}"}), ""},
		} {
			if c.code == "" && c.err != nil || c.code != "" && apperr.CodeOf(c.err) != c.code {
				t.Errorf("%s: error %v, want code %q", c.name, c.err, c.code)
			}
			if c.code == apperr.Forbidden && !strings.Contains(apperr.JapaneseOf(c.err), "権限がありません") {
				t.Errorf("%s: Japanese message %q", c.name, apperr.JapaneseOf(c.err))
			}
		}
		// Refusals are logged with the deciding policy.
		var denied int
		for _, e := range entries(t, d) {
			if strings.HasPrefix(e.Entry.Action, "staff.") && e.Entry.Decision == auditlog.Deny {
				denied++
				if e.Entry.Policy != policy.DefaultDeny {
					t.Errorf("denied %s decided by %q", e.Entry.Action, e.Entry.Policy)
				}
			}
		}
		if denied != 5 {
			t.Errorf("%d denied staff changes logged, want 5", denied)
		}
	})
}

func entries(t *testing.T, d *db.DB) []auditlog.Listed {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 10000})
	Must(t, err)
	return l
}

// TestSuspensions checks each scope of a suspension beats the permits, is
// logged, takes effect for the next request (in another process too) and
// ends when lifted.
func TestSuspensions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		// Another process's engine on the same database: no change hook.
		other, err := policy.New(ctx, d, f.Profile, true)
		Must(t, err)
		lookup := question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup")
		for _, c := range []struct {
			scope  staff.Scope
			target string
			hit    bool
		}{
			{staff.ScopeNode, "", true},
			{staff.ScopeDepartment, "kumin", true},
			{staff.ScopeDepartment, "kazei", false},
			{staff.ScopeTerminal, "T-KUMIN-01", true},
			{staff.ScopeOperator, Clerk, true},
			{staff.ScopeOperator, "K0002", false},
			{staff.ScopeAffair, "juminhyo-copy", true},
			{staff.ScopeAffair, "juki", false},
		} {
			id, err := f.Staff.Suspend(ctx, f.Admin, staff.Suspension{Scope: c.scope, Target: c.target, Reason: "漏えいのおそれ", Confirmed: c.scope == staff.ScopeNode})
			Must(t, err)
			for name, e := range map[string]*policy.Engine{"this process": f.Engine, "another process": other} {
				v := e.Decide(ctx, lookup)
				if v.Allow == c.hit || c.hit && (!v.Suspended || !strings.HasPrefix(v.Policy, "suspension:") || !strings.Contains(v.Japanese, "利用停止中")) {
					t.Errorf("%s %s, %s: verdict %+v", c.scope, c.target, name, v)
				}
			}
			// Through the gate: refused as suspended, and logged.
			_, err = f.Gate.Lookup(ctx, lookup.Request, gate.Key{ResidentCode: "12345678901"})
			if c.hit && apperr.CodeOf(err) != apperr.Suspended {
				t.Errorf("%s %s: gate error %v, want suspended", c.scope, c.target, err)
			}
			Must(t, f.Staff.Lift(ctx, f.Admin, id, "調査終了"))
			if v := other.Decide(ctx, lookup); !v.Allow {
				t.Errorf("%s %s lifted, still refused: %+v", c.scope, c.target, v)
			}
		}
		var suspends, lifts int
		for _, e := range entries(t, d) {
			if e.Entry.Action == "staff.suspend" && e.Entry.Outcome == auditlog.OutcomeOK {
				if strings.HasPrefix(e.Entry.Detail, "lift") {
					lifts++
				} else {
					suspends++
				}
			}
		}
		if suspends != 8 || lifts != 8 {
			t.Errorf("logged %d suspensions and %d lifts, want 8 and 8", suspends, lifts)
		}
	})
}

// TestGateUsesPolicy checks the gate asks the engine, and the audit entry
// names the deciding policy, allowed or denied.
func TestGateUsesPolicy(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		code := importOne(t, f)
		q := question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup")
		got, err := f.Gate.Lookup(ctx, q.Request, gate.Key{ResidentCode: code})
		if err != nil {
			t.Fatal(err)
		}
		// The affair's items only: 住民票の写し等の交付 needs no codes.
		if got.FamilyName == "" || got.Address == "" || got.IndividualNumber != "" || got.ResidentCode != "" {
			t.Errorf("lookup for juminhyo-copy returned %+v", got.IdentityRecord)
		}
		bad := question(Clerk, "T-KUMIN-01", "tax-assessment", "lookup")
		_, err = f.Gate.Lookup(ctx, bad.Request, gate.Key{ResidentCode: code})
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "利用承認を受けていません") {
			t.Fatalf("lookup outside the approved affairs: %v", err)
		}
		l := entries(t, d)
		allowed, denied := l[len(l)-2].Entry, l[len(l)-1].Entry
		if allowed.Policy != "koto-ward:12.1/designated-operator" || allowed.Decision != auditlog.Allow || allowed.Count != 1 {
			t.Errorf("allowed lookup logged as %+v", allowed)
		}
		if affair, _ := f.Profile.Affair("juminhyo-copy"); allowed.Provision == nil || !slices.Equal(allowed.Provision.Items, affair.Items) {
			t.Errorf("provision record lists %v, want the affair's items", allowed.Provision)
		}
		if denied.Policy != "koto-ward:12.1/within-usage-approval" || denied.Decision != auditlog.Deny || denied.Count != 0 {
			t.Errorf("denied lookup logged as %+v", denied)
		}
	})
}

// TestAomoriSectionHead checks the aomori-pref profile's split: section
// heads name their staff and report terminal managers.
func TestAomoriSectionHead(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "aomori-pref")
		a := f.Admin
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "HEAD-RYOKEN", Name: "旅券 所長", Department: "ryoken", Title: "旅券センター所長"}))
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "R0001", Name: "旅券 一郎", Department: "ryoken", Title: "主事"}))
		Must(t, f.Staff.AssignRole(ctx, a, "HEAD-RYOKEN", profile.SectionHead, "ryoken"))
		Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-RYOKEN-01", Name: "旅券1", Department: "ryoken", Location: "旅券センター"}))
		head := Operator("HEAD-RYOKEN", "T-RYOKEN-01")
		Must(t, f.Staff.ReportTerminalManager(ctx, head, "T-RYOKEN-01", "R0001", "主事"))
		f.Approve(t, head, "ryoken", "passport", []string{"T-RYOKEN-01"}, "R0001")
		f.Train(t, 10, "R0001")
		if v := f.Engine.Decide(ctx, question("R0001", "T-RYOKEN-01", "passport", "lookup")); !v.Allow || v.Policy != "aomori-pref:7.1/approved-staff" {
			t.Errorf("aomori-pref clerk: %+v", v)
		}
		if err := f.Staff.ApproveTerminal(ctx, head, staff.Terminal{ID: "T-RYOKEN-02", Name: "旅券2", Department: "ryoken", Location: "x"}); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("section head approving a terminal: %v (aomori-pref:6.1 needs the system administrator)", err)
		}
		term, err := f.Staff.Terminal(ctx, "T-RYOKEN-01")
		Must(t, err)
		if term.ManagerVID != "R0001" || term.ManagerTitle != "主事" || term.ReportedAt.IsZero() {
			t.Errorf("terminal manager = %+v", term)
		}
	})
}

// importOne loads one synthetic resident through the gate from the console
// and returns their code.
func importOne(t *testing.T, f *Fixture) string {
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

// TestSeparationOfDuties: nobody designates himself, gives himself a role,
// or approves a terminal or a use of his own department; each refusal is
// decided by the profile's forbid policy for the article it serves, whose
// id the audit entry records, with a message a clerk understands. Someone
// else may do each of them.
func TestSeparationOfDuties(t *testing.T) {
	ctx := context.Background()
	console := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:test"}
	type step struct {
		name   string
		do     func() error
		policy string // the forbid that refuses it; "" when allowed
	}
	run := func(t *testing.T, d *db.DB, steps []step) {
		t.Helper()
		for _, s := range steps {
			before := len(entries(t, d))
			err := s.do()
			if s.policy == "" {
				if err != nil {
					t.Errorf("%s: %v", s.name, err)
				}
				continue
			}
			if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "自分") || !strings.Contains(apperr.JapaneseOf(err), "職務の分離") {
				t.Errorf("%s: %v (%q), want refused as separation of duties", s.name, err, apperr.JapaneseOf(err))
				continue
			}
			es := entries(t, d)
			if len(es) != before+1 {
				t.Errorf("%s: %d entries written, want the refusal's one", s.name, len(es)-before)
				continue
			}
			if e := es[len(es)-1].Entry; e.Decision != auditlog.Deny || e.Policy != s.policy {
				t.Errorf("%s: logged as %s by %q, want deny by %q", s.name, e.Decision, e.Policy, s.policy)
			}
		}
	}
	// One subtest per profile: dbtest.Run twice in one test would name its
	// second SQLite subtest "sqlite#01", and '#' cuts a database URL short.
	t.Run("koto-ward", func(t *testing.T) {
		dbtest.Run(t, func(t *testing.T, d *db.DB) {
			f := New(t, d, "koto-ward")
			f.SetUpWard(t)
			so := Operator("SO-KUMIN", "T-KUMIN-01")
			// The system administrator is also the security officer of 課税課.
			Must(t, f.Staff.AssignRole(ctx, console, AdminVID, profile.SecurityOfficer, "kazei"))
			Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "ADMIN02", Name: "管理 次郎", Department: "joho", Title: "係長"}))
			Must(t, f.Staff.AssignRole(ctx, console, "ADMIN02", profile.SystemAdministrator, ""))
			admin2 := Operator("ADMIN02", "ADMIN-T")
			today := jptext.Midnight(f.Clock.Now())
			kazei, err := f.Approvals.Apply(ctx, Operator("SO-KAZEI", "T-KAZEI-01"), approval.Approval{Department: "kazei", Affair: "tax-assessment",
				Purpose: "賦課", Reason: "課税の確認", Start: today, End: today.AddDate(1, 0, 0), Terminals: []string{"T-KAZEI-01"}, Operators: []string{"K0002"}})
			Must(t, err)
			run(t, d, []step{
				{"security officer designates himself", func() error { return f.Staff.Designate(ctx, so, "SO-KUMIN", "juki") }, "koto-ward:12.1/no-self-designation"},
				{"security officer designates a clerk", func() error { return f.Staff.Designate(ctx, so, "K0001", "tax-assessment") }, ""},
				{"administrator gives himself a role", func() error {
					return f.Staff.AssignRole(ctx, f.Admin, AdminVID, profile.ChiefSecurityOfficer, "")
				}, "koto-ward:4.1/no-self-role-assignment"},
				{"administrator approves his department's terminal", func() error {
					return f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-KAZEI-02", Name: "課税課2", Department: "kazei", Location: "3階"})
				}, "koto-ward:12.2/no-self-terminal-approval"},
				{"administrator approves his department's use", func() error {
					return f.Approvals.Decide(ctx, f.Admin, kazei, true, "確認済み")
				}, "koto-ward:12.1/no-self-usage-approval"},
				{"another administrator approves that terminal", func() error {
					return f.Staff.ApproveTerminal(ctx, admin2, staff.Terminal{ID: "T-KAZEI-02", Name: "課税課2", Department: "kazei", Location: "3階"})
				}, ""},
				{"another administrator approves that use", func() error {
					return f.Approvals.Decide(ctx, admin2, kazei, true, "確認済み")
				}, ""},
				{"administrator approves another department's terminal", func() error {
					return f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-KUMIN-02", Name: "区民課2", Department: "kumin", Location: "2階"})
				}, ""},
			})
			st, err := staff.Load(ctx, d)
			Must(t, err)
			if m := st.People["SO-KUMIN"]; len(m.Affairs) != 0 {
				t.Errorf("the refused self-designation took effect: %v", m.Affairs)
			}
		})
	})
	t.Run("aomori-pref", func(t *testing.T) {
		dbtest.Run(t, func(t *testing.T, d *db.DB) {
			f := New(t, d, "aomori-pref")
			// The system administrator (市町村課長) heads his own section.
			Must(t, f.Staff.AssignRole(ctx, console, AdminVID, profile.SectionHead, "shichoson"))
			Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "A0001", Name: "市町村 一郎", Department: "shichoson", Title: "主事"}))
			Must(t, f.Staff.ApproveTerminal(ctx, console, staff.Terminal{ID: "T-SHICHOSON-00", Name: "市町村課0", Department: "shichoson", Location: "本庁舎"}))
			today := jptext.Midnight(f.Clock.Now())
			use, err := f.Approvals.Apply(ctx, f.Admin, approval.Approval{Department: "shichoson", Affair: "municipal-register",
				Purpose: "確認", Reason: "市町村の記録の確認", Start: today, End: today.AddDate(1, 0, 0), Terminals: []string{"T-SHICHOSON-00"}, Operators: []string{"A0001"}})
			Must(t, err)
			run(t, d, []step{
				{"section head names himself", func() error { return f.Staff.Designate(ctx, f.Admin, AdminVID, "municipal-register") }, "aomori-pref:7.1/no-self-designation"},
				{"section head names a member of staff", func() error { return f.Staff.Designate(ctx, f.Admin, "A0001", "municipal-register") }, ""},
				{"administrator gives himself a role", func() error {
					return f.Staff.AssignRole(ctx, f.Admin, AdminVID, profile.ChiefSecurityOfficer, "")
				}, "aomori-pref:3.2/no-self-role-assignment"},
				{"administrator approves his section's terminal", func() error {
					return f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-SHICHOSON-01", Name: "市町村課1", Department: "shichoson", Location: "本庁舎"})
				}, "aomori-pref:6.1/no-self-terminal-approval"},
				{"administrator approves his section's use", func() error {
					return f.Approvals.Decide(ctx, f.Admin, use, true, "確認済み")
				}, "aomori-pref:7.1/no-self-usage-approval"},
			})
		})
	})
}

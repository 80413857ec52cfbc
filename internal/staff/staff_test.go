package staff_test

import (
	"context"
	"strings"
	"testing"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

func logged(t *testing.T, d *db.DB, action string) []auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 10000})
	Must(t, err)
	var out []auditlog.Entry
	for _, e := range l {
		if e.Entry.Action == "staff."+action {
			out = append(out, *e.Entry)
		}
	}
	return out
}

func TestRoleAssignments(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		// The bootstrap is logged as the node's own act, once.
		if err := f.Staff.Bootstrap(ctx, staff.Person{VerificationID: "ADMIN02", Name: "x", Department: "joho", Title: "課長"}); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("second bootstrap: %v", err)
		}
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "CSO", Name: "副区長 一", Department: "joho", Title: "副区長"}))
		Must(t, f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.ChiefSecurityOfficer, ""))
		for _, c := range []struct {
			name string
			err  error
			code apperr.Code
		}{
			{"role not in the profile", f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.SectionHead, "kumin"), apperr.Invalid},
			{"per-department role without department", f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.SecurityOfficer, ""), apperr.Invalid},
			{"node-wide role with department", f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.SystemAdministrator, "kumin"), apperr.Invalid},
			{"held twice", f.Staff.AssignRole(ctx, f.Admin, "CSO", profile.ChiefSecurityOfficer, ""), apperr.Conflict},
			{"unknown person", f.Staff.AssignRole(ctx, f.Admin, "NOBODY", profile.ChiefSecurityOfficer, ""), apperr.NotFound},
			{"bad verification id", f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "a b", Name: "x", Department: "joho", Title: "x"}), apperr.Invalid},
			{"unknown department", f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "Z1", Name: "x", Department: "moon", Title: "x"}), apperr.Invalid},
			{"verification id taken", f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "CSO", Name: "x", Department: "joho", Title: "x"}), apperr.Conflict},
		} {
			if apperr.CodeOf(c.err) != c.code || apperr.JapaneseOf(c.err) == "" {
				t.Errorf("%s: %v (code %s), want %s with a Japanese message", c.name, c.err, apperr.CodeOf(c.err), c.code)
			}
		}
		st, err := staff.Load(ctx, d)
		Must(t, err)
		if m := st.People["CSO"]; m == nil || len(m.Roles) != 1 || m.Roles[0] != profile.ChiefSecurityOfficer {
			t.Errorf("CSO = %+v", m)
		}
		// Failed changes leave nothing behind and are logged as errors.
		if n := len(st.People); n != 2 {
			t.Errorf("%d people, want 2", n)
		}
		var failed int
		for _, e := range logged(t, d, staff.ActAssignRole) {
			if e.Outcome == auditlog.OutcomeError {
				failed++
			}
		}
		if failed != 2 { // held twice, unknown person: the others fail before the log
			t.Errorf("%d failed role assignments logged, want 2", failed)
		}
	})
}

func TestDesignation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		so := Operator("SO-KUMIN", "T-KUMIN-01")
		if err := f.Staff.Designate(ctx, so, Clerk, "juki"); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("designated twice: %v", err)
		}
		if err := f.Staff.Designate(ctx, so, Clerk, "astrology"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("unknown affair: %v", err)
		}
		Must(t, f.Staff.EndDesignation(ctx, so, Clerk, "juki"))
		if err := f.Staff.EndDesignation(ctx, so, Clerk, "juki"); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("ended twice: %v", err)
		}
		st, err := staff.Load(ctx, d)
		Must(t, err)
		if got := st.People[Clerk].Affairs; len(got) != 1 || got[0] != "juminhyo-copy" {
			t.Errorf("clerk's affairs = %v", got)
		}
		es := logged(t, d, staff.ActDesignate)
		ok := 0
		for _, e := range es {
			if e.Outcome == auditlog.OutcomeOK {
				ok++
				if e.Actor.ID != "SO-KUMIN" || e.Policy != "koto-ward:12.1/designate-operator" || !strings.Contains(e.Detail, Clerk) {
					t.Errorf("designation logged as %+v", e)
				}
			}
		}
		// SetUpWard's two designations were made by approving the uses
		// (approval.approve entries); the end of one is a designation entry.
		if ok != 1 {
			t.Errorf("%d designations logged, want 1", ok)
		}
	})
}

func TestTerminals(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		if err := f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-KUMIN-01", Name: "x", Department: "kumin", Location: "x"}); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("terminal twice: %v", err)
		}
		Must(t, f.Staff.ReportTerminalManager(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), "T-KUMIN-01", Clerk, "主事"))
		Must(t, f.Staff.RetireTerminal(ctx, f.Admin, "T-KAZEI-01"))
		ts, err := f.Staff.Terminals(ctx)
		Must(t, err)
		if len(ts) != 2 || ts[1].ID != "T-KUMIN-01" || ts[1].ManagerVID != Clerk || ts[1].ManagerTitle != "主事" || ts[1].ApprovedBy != "operator:"+AdminVID {
			t.Errorf("terminals = %+v", ts)
		}
		if ts[0].ID != "T-KAZEI-01" || ts[0].RetiredAt.IsZero() {
			t.Errorf("retired terminal = %+v", ts[0])
		}
		st, err := staff.Load(ctx, d)
		Must(t, err)
		if _, ok := st.Terminals["T-KAZEI-01"]; ok {
			t.Error("a retired terminal is still in use")
		}
	})
}

func TestEnrolmentRegister(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.RegisterCredential(ctx, f.Admin, Clerk, staff.Credential{CredentialID: []byte("cred-1"), Data: `{"k":1}`, Label: "指静脈リーダー"}))
		if err := f.Staff.RegisterCredential(ctx, f.Admin, "SO-KUMIN", staff.Credential{CredentialID: []byte("cred-1"), Data: `{}`}); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("same credential for another person: %v", err)
		}
		Must(t, f.Staff.RegisterCredential(ctx, f.Admin, "SO-KUMIN", staff.Credential{CredentialID: []byte("cred-2"), Data: `{}`}))
		reg, err := f.Staff.Credentials(ctx)
		Must(t, err)
		Must(t, f.Staff.RemoveCredential(ctx, f.Admin, reg[0].ID, "紛失"))
		Must(t, f.Staff.RemovePerson(ctx, f.Admin, "SO-KUMIN", staff.LeftRetirement))
		reg, err = f.Staff.Credentials(ctx)
		Must(t, err)
		if len(reg) != 2 {
			t.Fatalf("register has %d entries, want 2 (removed entries are kept)", len(reg))
		}
		if reg[0].PersonVID != Clerk || reg[0].RemovedReason != "紛失" || reg[0].RemovedAt.IsZero() || reg[0].RegisteredBy != "operator:"+AdminVID || reg[0].Label != "指静脈リーダー" {
			t.Errorf("lost credential entry = %+v", reg[0])
		}
		if reg[1].RemovedReason != staff.LeftRetirement || reg[1].RemovedAt.IsZero() {
			t.Errorf("retired person's credential = %+v", reg[1])
		}
		if len(logged(t, d, staff.ActEnrol)) != 4 {
			t.Errorf("enrolment register changes not all logged")
		}
	})
}

// TestSuspensionTargets: a suspension's target must exist and be in use
// (a typo would suspend nothing while the real target stays usable); the
// whole node takes no target and must be confirmed; a refused order
// writes no suspension. Lifting needs a reason, which is stored and logged.
func TestSuspensionTargets(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.RetireTerminal(ctx, f.Admin, "T-KAZEI-01"))
		Must(t, f.Staff.RemovePerson(ctx, f.Admin, "K0002", staff.LeftTransfer))
		for _, c := range []struct {
			name string
			sp   staff.Suspension
			code apperr.Code
			want string // in the Japanese message
		}{
			{"unknown terminal", staff.Suspension{Scope: staff.ScopeTerminal, Target: "T-KUMIN-1"}, apperr.NotFound, "端末「T-KUMIN-1」"},
			{"retired terminal", staff.Suspension{Scope: staff.ScopeTerminal, Target: "T-KAZEI-01"}, apperr.NotFound, "端末「T-KAZEI-01」は登録されていないか、廃止されています"},
			{"unknown operator", staff.Suspension{Scope: staff.ScopeOperator, Target: "K00001"}, apperr.NotFound, "照合ID「K00001」"},
			{"operator who left", staff.Suspension{Scope: staff.ScopeOperator, Target: "K0002"}, apperr.NotFound, "照合ID「K0002」"},
			{"unknown department", staff.Suspension{Scope: staff.ScopeDepartment, Target: "kumim"}, apperr.NotFound, "部署「kumim」"},
			{"unknown affair", staff.Suspension{Scope: staff.ScopeAffair, Target: "juminhyo"}, apperr.NotFound, "利用事務「juminhyo」"},
			{"unknown downstream node", staff.Suspension{Scope: staff.ScopePeer, Target: "022012"}, apperr.NotFound, "下位ノード「022012」"},
			{"operator without target", staff.Suspension{Scope: staff.ScopeOperator}, apperr.Invalid, "停止する操作者（照合ID）を選んでください"},
			{"whole node with a target", staff.Suspension{Scope: staff.ScopeNode, Target: "T-KUMIN-01", Confirmed: true}, apperr.Invalid, "対象を指定しません"},
			{"outbound with a target", staff.Suspension{Scope: staff.ScopeOutbound, Target: "130001"}, apperr.Invalid, "対象を指定しません"},
			{"whole node unconfirmed", staff.Suspension{Scope: staff.ScopeNode}, apperr.Invalid, "確認"},
		} {
			c.sp.Reason = "漏えいのおそれ"
			_, err := f.Staff.Suspend(ctx, f.Admin, c.sp)
			if apperr.CodeOf(err) != c.code || !strings.Contains(apperr.JapaneseOf(err), c.want) {
				t.Errorf("%s: %v (%q), want %s with %q", c.name, err, apperr.JapaneseOf(err), c.code, c.want)
			}
			if c.code == apperr.NotFound && err != nil && !strings.Contains(err.Error(), string(c.sp.Scope)) {
				t.Errorf("%s: %q does not name the scope", c.name, err)
			}
		}
		sps, err := f.Staff.Suspensions(ctx, false)
		Must(t, err)
		if len(sps) != 0 {
			t.Fatalf("refused orders wrote suspensions: %+v", sps)
		}
		// What exists is suspended; the whole node once confirmed.
		for _, sp := range []staff.Suspension{
			{Scope: staff.ScopeTerminal, Target: "T-KUMIN-01"}, {Scope: staff.ScopeOperator, Target: Clerk},
			{Scope: staff.ScopeDepartment, Target: "kumin"}, {Scope: staff.ScopeAffair, Target: "juki"},
			{Scope: staff.ScopeNode, Confirmed: true}, {Scope: staff.ScopeOutbound},
		} {
			sp.Reason = "訓練"
			if _, err := f.Staff.Suspend(ctx, f.Admin, sp); err != nil {
				t.Errorf("%s %s: %v", sp.Scope, sp.Target, err)
			}
		}
		// What is already suspended is not suspended twice.
		if _, err := f.Staff.Suspend(ctx, f.Admin, staff.Suspension{Scope: staff.ScopeDepartment, Target: "kumin", Reason: "重ねて"}); apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(apperr.JapaneseOf(err), "既に利用停止中") {
			t.Errorf("a second suspension of kumin: %v", err)
		}
		// Lifting: the reason is required, then stored and logged.
		if err := f.Staff.Lift(ctx, f.Admin, 1, "  "); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), "解除する理由") {
			t.Errorf("lift without a reason: %v", err)
		}
		Must(t, f.Staff.Lift(ctx, f.Admin, 1, "端末の点検が終わったため"))
		sps, err = f.Staff.Suspensions(ctx, false)
		Must(t, err)
		lifted := sps[len(sps)-1]
		if lifted.ID != 1 || lifted.LiftedAt.IsZero() || lifted.LiftReason != "端末の点検が終わったため" || lifted.LiftedBy != "operator:"+AdminVID {
			t.Errorf("lifted suspension = %+v", lifted)
		}
		var liftLogged bool
		for _, e := range logged(t, d, staff.ActSuspend) {
			liftLogged = liftLogged || e.Outcome == auditlog.OutcomeOK && e.Detail == "lift suspension 1: 端末の点検が終わったため"
		}
		if !liftLogged {
			t.Error("the lifting's reason is not in the audit log")
		}
	})
}

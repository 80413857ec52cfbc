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

// fieldNames are the inputs err is about (apperr.FieldsOf), comma-separated.
func fieldNames(err error) string {
	var names []string
	for _, f := range apperr.FieldsOf(err) {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

// console is the server's console, which the test engine allows to make
// every administrative change (approve a terminal and report its manager
// at once, which no one person may: koto-ward:12.2).
var console = staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server"}

// TestRefusalsNameTheirField: each refusal of a staff change about one
// input names it (apperr.FieldsOf) by the name the form, the CLI and the
// JSON API give it, so a form shows the message next to that input; a
// refusal about no input (not allowed) names none. Renaming a field breaks
// this test rather than leaving a form's error unplaced.
func TestRefusalsNameTheirField(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		a := f.Admin
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "LEFT01", Name: "異動 済", Department: "kumin", Title: "主事"}))
		Must(t, f.Staff.RemovePerson(ctx, a, "LEFT01", staff.LeftTransfer))
		person := func(set func(p *staff.Person)) error {
			p := staff.Person{VerificationID: "NEW01", Name: "山田 花子", NameKana: "ヤマダ ハナコ", Department: "kumin", Title: "主事"}
			set(&p)
			return f.Staff.AddPerson(ctx, a, p)
		}
		terminal := func(set func(t *staff.Terminal)) error {
			t := staff.Terminal{ID: "T-NEW", Name: "窓口2", Department: "kumin", Location: "本庁舎2階", ManagerVID: "SO-KUMIN", ManagerTitle: "係長"}
			set(&t)
			return f.Staff.ApproveTerminal(ctx, console, t)
		}
		for _, c := range []struct {
			name  string
			err   error
			code  apperr.Code
			field string // none: the whole form
		}{
			{"person: a malformed verification id", person(func(p *staff.Person) { p.VerificationID = "山田 01" }), apperr.Invalid, "verification_id"},
			{"person: a verification id taken", person(func(p *staff.Person) { p.VerificationID = Clerk }), apperr.Conflict, "verification_id"},
			{"person: no name", person(func(p *staff.Person) { p.Name = " " }), apperr.Invalid, "name"},
			{"person: no name nor title", person(func(p *staff.Person) { p.Name, p.Title = "", "" }), apperr.Invalid, "name,title"},
			{"person: a kana in hiragana", person(func(p *staff.Person) { p.NameKana = "やまだ" }), apperr.Invalid, "kana"},
			{"person: an unknown department", person(func(p *staff.Person) { p.Department = "nowhere" }), apperr.Invalid, "department"},
			{"role: a malformed verification id", f.Staff.AssignRole(ctx, a, "山田 01", profile.SecurityOfficer, "kumin"), apperr.Invalid, "verification_id"},
			{"role: nobody", f.Staff.AssignRole(ctx, a, "NOBODY", profile.SecurityOfficer, "kumin"), apperr.NotFound, "verification_id"},
			{"role: who left", f.Staff.AssignRole(ctx, a, "LEFT01", profile.SecurityOfficer, "kumin"), apperr.Conflict, "verification_id"},
			{"role: none of the profile", f.Staff.AssignRole(ctx, a, Clerk, "cook", ""), apperr.Invalid, "role"},
			{"role: held for a department given none", f.Staff.AssignRole(ctx, a, Clerk, profile.SecurityOfficer, ""), apperr.Invalid, "department"},
			{"role: node-wide given a department", f.Staff.AssignRole(ctx, a, Clerk, profile.SystemAdministrator, "kumin"), apperr.Invalid, "department"},
			{"role: an unknown department", f.Staff.AssignRole(ctx, a, Clerk, profile.SecurityOfficer, "nowhere"), apperr.Invalid, "department"},
			{"role: held already", f.Staff.AssignRole(ctx, a, "SO-KUMIN", profile.SecurityOfficer, "kumin"), apperr.Conflict, "role"},
			{"terminal: a malformed id", terminal(func(t *staff.Terminal) { t.ID = "端末1" }), apperr.Invalid, "id"},
			{"terminal: an id taken", terminal(func(t *staff.Terminal) { t.ID = "T-KUMIN-01" }), apperr.Conflict, "id"},
			{"terminal: no location", terminal(func(t *staff.Terminal) { t.Location = "" }), apperr.Invalid, "location"},
			{"terminal: an unknown department", terminal(func(t *staff.Terminal) { t.Department = "nowhere" }), apperr.Invalid, "department"},
			{"terminal: a malformed manager", terminal(func(t *staff.Terminal) { t.ManagerVID = "山田 01" }), apperr.Invalid, "manager"},
			{"terminal: an unknown manager", terminal(func(t *staff.Terminal) { t.ManagerVID = "NOBODY" }), apperr.NotFound, "manager"},
			{"terminal: a manager who left", terminal(func(t *staff.Terminal) { t.ManagerVID = "LEFT01" }), apperr.Conflict, "manager"},
			{"terminal: a manager without title", terminal(func(t *staff.Terminal) { t.ManagerTitle = " " }), apperr.Invalid, "manager_title"},
			{"terminal: a manager's title too long", terminal(func(t *staff.Terminal) { t.ManagerTitle = strings.Repeat("長", 101) }), apperr.Invalid, "manager_title"},
			{"manager: of no terminal", f.Staff.ReportTerminalManager(ctx, console, "T-NONE", Clerk, "主事"), apperr.NotFound, "id"},
			{"manager: unknown", f.Staff.ReportTerminalManager(ctx, console, "T-KUMIN-01", "NOBODY", "主事"), apperr.NotFound, "manager"},
			{"designate: an unknown affair", f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), Clerk, "cooking"), apperr.Invalid, "affair"},
			{"designate: nobody", f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), "NOBODY", "juki"), apperr.NotFound, "verification_id"},
			{"designate: designated already", f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), Clerk, "juki"), apperr.Conflict, "affair"},
			{"end designation: none", f.Staff.EndDesignation(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), Clerk, "housing"), apperr.NotFound, "affair"},
			{"leave: for no reason the register knows", f.Staff.RemovePerson(ctx, a, Clerk, "dismissal"), apperr.Invalid, "reason"},
			{"leave: nobody", f.Staff.RemovePerson(ctx, a, "NOBODY", staff.LeftRetirement), apperr.NotFound, "verification_id"},
			{"not allowed", f.Staff.AssignRole(ctx, Operator(Clerk, "T-KUMIN-01"), Clerk, profile.SecurityOfficer, "kumin"), apperr.Forbidden, ""},
		} {
			if apperr.CodeOf(c.err) != c.code || apperr.JapaneseOf(c.err) == "" {
				t.Errorf("%s: %v (code %s), want %s with a Japanese message", c.name, c.err, apperr.CodeOf(c.err), c.code)
			}
			if got := fieldNames(c.err); got != c.field {
				t.Errorf("%s: the refusal is about %q, want %q", c.name, got, c.field)
			}
		}
	})
}

// TestTerminalApprovedWithItsManager: a terminal approved with its
// manager is one change, one transaction and one audit entry: a manager
// refused (malformed, unknown, who left, no title, a title breaking its
// rule) stores no terminal and no audit entry; a report the approver may
// not make stores no terminal, its refusal logged as a report's refusal;
// with a valid manager the terminal and its manager are stored, the entry
// naming both.
func TestTerminalApprovedWithItsManager(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "LEFT01", Name: "異動 済", Department: "kumin", Title: "主事"}))
		Must(t, f.Staff.RemovePerson(ctx, f.Admin, "LEFT01", staff.LeftTransfer))
		stored := func() int {
			var n int
			Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM staff_terminal WHERE id = 'T-NEW'`).Scan(&n))
			return n
		}
		approve := func(who staff.Who, vid, title string) error {
			return f.Staff.ApproveTerminal(ctx, who, staff.Terminal{ID: "T-NEW", Name: "窓口2", Department: "kumin", Location: "本庁舎2階", ManagerVID: vid, ManagerTitle: title})
		}
		for _, c := range []struct {
			name, vid, title string
			code             apperr.Code
		}{
			{"a malformed manager", "山田 01", "係長", apperr.Invalid},
			{"a disguised manager", "SO-\u202EKUMIN", "係長", apperr.Invalid},
			{"an unknown manager", "NOBODY", "係長", apperr.NotFound},
			{"a manager who left", "LEFT01", "係長", apperr.Conflict},
			{"a manager without title", "SO-KUMIN", "", apperr.Invalid},
			{"a manager's title with a control character", "SO-KUMIN", "係\x00長", apperr.Invalid},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := len(entries(t, d))
				err := approve(console, c.vid, c.title)
				if apperr.CodeOf(err) != c.code {
					t.Errorf("%v (code %s), want %s", err, apperr.CodeOf(err), c.code)
				}
				if n := stored(); n != 0 {
					t.Errorf("the terminal was stored: %d", n)
				}
				if after := entries(t, d); len(after) != before {
					t.Errorf("logged: %+v", after[before:])
				}
			})
		}
		// The system administrator approves terminals but does not report
		// their managers (koto-ward:12.2): refused whole, the refusal logged.
		before := len(entries(t, d))
		if err := approve(f.Admin, "SO-KUMIN", "係長"); apperr.CodeOf(err) != apperr.Forbidden {
			t.Errorf("approved with a manager the approver may not report: %v", err)
		}
		if n := stored(); n != 0 {
			t.Errorf("the terminal was stored: %d", n)
		}
		if after := entries(t, d); len(after) != before+1 || after[before].Action != "staff."+staff.ActReportManager || after[before].Decision != auditlog.Deny ||
			!strings.Contains(after[before].Detail, "T-NEW") {
			t.Errorf("logged: %+v", after[before:])
		}
		// Allowed: the terminal, its manager and one entry saying both.
		before = len(entries(t, d))
		Must(t, approve(console, "SO-KUMIN", "係長"))
		got, err := f.Staff.Terminal(ctx, "T-NEW")
		Must(t, err)
		if got.ManagerVID != "SO-KUMIN" || got.ManagerTitle != "係長" || got.ReportedAt.IsZero() || got.Department != "kumin" {
			t.Errorf("stored %+v", got)
		}
		after := entries(t, d)
		if len(after) != before+1 {
			t.Fatalf("logged: %+v", after[before:])
		}
		if e := after[before]; e.Action != "staff."+staff.ActApproveTerminal || e.Decision != auditlog.Allow || e.Outcome != auditlog.OutcomeOK ||
			!strings.Contains(e.Detail, "approve terminal T-NEW") || !strings.Contains(e.Detail, "manager SO-KUMIN (係長)") {
			t.Errorf("logged %+v", e)
		}
		// Without a manager, as before: the terminal alone.
		Must(t, f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-NEW2", Name: "窓口3", Department: "kumin", Location: "本庁舎2階"}))
		if got, err := f.Staff.Terminal(ctx, "T-NEW2"); err != nil || got.ManagerVID != "" {
			t.Errorf("T-NEW2: %+v, %v", got, err)
		}
	})
}

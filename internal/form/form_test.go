package form_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/form"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

func register(f *Fixture) *form.Register {
	r := form.New(f.DB, f.Log, f.Engine, "test", f.Profile.FormDays())
	r.Now = f.Clock.Now
	return r
}

func entries(t *testing.T, d *db.DB) []auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	out := make([]auditlog.Entry, len(l))
	for i, x := range l {
		out[i] = *x.Entry
	}
	return out
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	Must(t, d.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

func today(f *Fixture) time.Time { return jptext.Midnight(f.Clock.Now()) }

// export produces one form as who, the way the node's export paths do.
func export(t *testing.T, f *Fixture, r *form.Register, who staff.Who, residents int) (form.Form, []byte, error) {
	t.Helper()
	e := auditlog.Entry{Node: "test", Actor: who.Actor, Origin: who.Origin, Action: "audit.export", Query: "all", Detail: "pdf"}
	return r.Export(context.Background(), who, staff.ActViewAudit, staff.Resource{Kind: "node", ID: "test"}, e,
		form.Output{Kind: form.KindAuditLog, Format: "pdf", Title: "監査ログ", Covers: "all", Residents: residents},
		func(n form.Number) ([]byte, error) { return []byte("document " + n.String()), nil }, nil)
}

// TestRegisterStepsAndOverdue walks a form from its issue to its disposal
// (koto-ward:14): the number is printed on the document and recorded in the
// transaction of the export's entry with who, what, what it covers and how
// many residents; it is due within the profile's period, overdue on the
// node's clock after it; stored, taken out with the day it is due back,
// overdue again when not returned, returned, and disposed of with the
// method, who did it and the witness. Each step is logged.
func TestRegisterStepsAndOverdue(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		r := register(f)
		so := Operator("SO-KUMIN", "T-KUMIN-01")
		issued := f.Clock.Now()
		fm, b, err := export(t, f, r, so, 3)
		Must(t, err)
		want := form.Number{FiscalYear: form.FiscalYear(issued), Serial: 1}
		if fm.Number != want || string(b) != "document "+want.String() {
			t.Fatalf("form %v, bytes %q; want number %v printed on it", fm.Number, b, want)
		}
		es := entries(t, d)
		last := es[len(es)-1]
		if last.Action != "audit.export" || last.Seq != fm.IssuedSeq || !strings.Contains(last.Detail, "form "+want.String()) || !strings.Contains(last.Detail, form.Digest(b)) {
			t.Fatalf("export entry %d %s %q; want the form %s issued with it (seq %d) and its digest", last.Seq, last.Action, last.Detail, want, fm.IssuedSeq)
		}
		got, err := form.Get(ctx, d, want)
		Must(t, err)
		if got.State != form.Issued || got.Residents != 3 || got.Kind != form.KindAuditLog || got.IssuedBy != "operator:SO-KUMIN" ||
			!got.Due.Equal(jptext.Midnight(issued).AddDate(0, 0, profile.DefaultFormDays)) || got.Destination == "" {
			t.Fatalf("form as recorded: %+v", got)
		}
		if found, err := form.ByDigest(ctx, d, form.Digest(b)); err != nil || len(found) != 1 || found[0].Number != want {
			t.Fatalf("by digest: %v, %v", found, err)
		}

		// Overdue the day after its due day, not on it.
		f.Clock.Set(got.Due.Add(12 * time.Hour))
		if o, _ := form.Overdue(ctx, d, f.Clock.Now()); len(o) != 0 {
			t.Fatalf("overdue on its due day: %v", o)
		}
		f.Clock.Set(got.Due.AddDate(0, 0, 1).Add(10 * time.Hour))
		if o, _ := form.Overdue(ctx, d, f.Clock.Now()); len(o) != 1 || o[0].Number != want {
			t.Fatalf("overdue the day after: %v", o)
		}

		// Steps: the security officer may not record them; the system
		// administrator may, and each is logged.
		err = r.Record(ctx, so, want, form.Step{Kind: form.StepStore, Day: today(f), Place: "保管庫A"})
		if apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("store by a security officer: %v", err)
		}
		if l := entries(t, d); l[len(l)-1].Policy != "koto-ward:14/forms-manager" || l[len(l)-1].Decision != auditlog.Deny {
			t.Fatalf("refusal logged as %s %s", l[len(l)-1].Decision, l[len(l)-1].Policy)
		}
		Must(t, r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepStore, Day: today(f), Place: "保管庫A"}))
		if o, _ := form.Overdue(ctx, d, f.Clock.Now()); len(o) != 0 {
			t.Fatalf("a stored form is overdue: %v", o)
		}
		until := today(f).AddDate(0, 0, 3)
		Must(t, r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepTakeOut, Day: today(f), Place: "区民課 区民 課長", Until: until, Note: "監査資料"}))
		f.Clock.Set(until.AddDate(0, 0, 1).Add(9 * time.Hour))
		if o, _ := form.Overdue(ctx, d, f.Clock.Now()); len(o) != 1 || !o[0].Due.Equal(until) || o[0].State != form.TakenOut {
			t.Fatalf("a take-out not returned: %v", o)
		}
		// A form taken out cannot be stored: it is returned.
		if err := r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepStore, Day: today(f), Place: "保管庫A"}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("store while taken out: %v", err)
		}
		Must(t, r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepReturn, Day: today(f), Place: "保管庫A"}))
		// A disposal needs an active witness; then the form is done.
		err = r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepDispose, Day: today(f), Method: form.Shred, DoneBy: "管理 太郎", Witness: "NOBODY"})
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("disposal witnessed by no one known: %v", err)
		}
		Must(t, r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepDispose, Day: today(f), Method: form.Shred, DoneBy: "管理 太郎", Witness: "SO-KUMIN"}))
		got, err = form.Get(ctx, d, want)
		Must(t, err)
		if got.State != form.Disposed || len(got.Steps) != 4 || got.Steps[3].Method != form.Shred || got.Steps[3].Witness != "SO-KUMIN" || !got.Due.IsZero() {
			t.Fatalf("after disposal: %+v", got)
		}
		if err := r.Record(ctx, f.Admin, want, form.Step{Kind: form.StepTakeOut, Day: today(f), Place: "x", Until: today(f)}); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("take-out of a disposed form: %v", err)
		}
		var actions []string
		for _, e := range entries(t, d) {
			if strings.HasPrefix(e.Action, "form.") && e.Outcome == auditlog.OutcomeOK {
				actions = append(actions, e.Action)
			}
		}
		if strings.Join(actions, ",") != "form.store,form.take-out,form.return,form.dispose" {
			t.Fatalf("steps logged: %v", actions)
		}
		// The next export takes the next number (of its fiscal year).
		wantNext := form.Number{FiscalYear: form.FiscalYear(f.Clock.Now()), Serial: 1}
		if wantNext.FiscalYear == want.FiscalYear {
			wantNext.Serial = 2
		}
		fm2, _, err := export(t, f, r, so, 0)
		Must(t, err)
		if fm2.Number != wantNext {
			t.Fatalf("second form %v; want %v", fm2.Number, wantNext)
		}
	})
}

// TestRefusedExportProducesNoForm: an export the policies refuse is logged
// as refused with the article's policy, and takes no number; a document
// that cannot be made leaves its number void with the reason.
func TestRefusedExportProducesNoForm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		r := register(f)
		_, b, err := export(t, f, r, Operator(Clerk, "T-KUMIN-01"), 1)
		if apperr.CodeOf(err) != apperr.Forbidden || b != nil {
			t.Fatalf("export by a clerk: %v", err)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM form`); n != 0 {
			t.Fatalf("%d forms after a refusal", n)
		}
		l := entries(t, d)
		if e := l[len(l)-1]; e.Action != "audit.export" || e.Decision != auditlog.Deny {
			t.Fatalf("refusal logged as %+v", e)
		}
		e := auditlog.Entry{Node: "test", Actor: f.Admin.Actor, Origin: f.Admin.Origin, Action: "audit.export"}
		_, _, err = r.Export(ctx, f.Admin, staff.ActViewAudit, staff.Resource{Kind: "node", ID: "test"}, e, form.Output{Kind: form.KindAuditLog, Format: "pdf"},
			func(form.Number) ([]byte, error) { return nil, errors.New("font missing") }, nil)
		if err == nil {
			t.Fatal("a failed rendering produced a form")
		}
		all, err := form.List(ctx, d, form.Filter{State: form.Void})
		Must(t, err)
		if len(all) != 1 || !strings.Contains(all[0].VoidReason, "font missing") {
			t.Fatalf("void numbers: %+v", all)
		}
	})
}

// TestBadInputStoresNothing: a step with a missing place, a day after
// today, an unknown method or a take-out due back before it starts is
// refused before anything is logged.
func TestBadInputStoresNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		r := register(f)
		fm, _, err := export(t, f, r, f.Admin, 0)
		Must(t, err)
		before := len(entries(t, d))
		day := today(f)
		for name, s := range map[string]form.Step{
			"no place":        {Kind: form.StepStore, Day: day},
			"future":          {Kind: form.StepStore, Day: day.AddDate(0, 0, 1), Place: "保管庫"},
			"unknown step":    {Kind: "burn", Day: day},
			"method":          {Kind: form.StepDispose, Day: day, Method: "eat", DoneBy: "x", Witness: AdminVID},
			"no witness":      {Kind: form.StepDispose, Day: day, Method: form.Shred, DoneBy: "x"},
			"back before out": {Kind: form.StepTakeOut, Day: day, Place: "x", Until: day.AddDate(0, 0, -1)},
			"long note":       {Kind: form.StepStore, Day: day, Place: "保管庫", Note: strings.Repeat("あ", 401)},
		} {
			if err := r.Record(ctx, f.Admin, fm.Number, s); apperr.CodeOf(err) != apperr.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}
		if err := r.Record(ctx, f.Admin, form.Number{FiscalYear: fm.Number.FiscalYear, Serial: 99}, form.Step{Kind: form.StepStore, Day: day, Place: "保管庫"}); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("unknown form: %v", err)
		}
		if after := len(entries(t, d)); after != before+1 {
			t.Errorf("bad input logged %d entries; want only the unknown form's attempt", after-before)
		}
		if _, err := form.ParseNumber("X-1"); apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("parse X-1: %v", err)
		}
		if n, err := form.ParseNumber(" " + strings.ToLower(fm.Number.String())); err != nil || n != fm.Number {
			t.Errorf("parse %s: %v %v", fm.Number, n, err)
		}
	})
}

// TestProgramChanges (koto-ward:14, aomori-pref:4.3): the first start
// records the baseline; the same program again records nothing; another
// profile digest or version records an unapproved change, logged by the
// node; it is approved with a note by the administrator the article names
// and by nobody else, the refusal naming the article.
func TestProgramChanges(t *testing.T) {
	for _, c := range []struct {
		profile, approver, refusal string
	}{
		{"koto-ward", "", "koto-ward:14/program-change-approver"},
		{"aomori-pref", "DEPUTY01", "aomori-pref:4.3/program-change-approver"},
	} {
		t.Run(c.profile, func(t *testing.T) { programChanges(t, c.profile, c.approver, c.refusal) })
	}
}

func programChanges(t *testing.T, prof, approverVID, refusal string) {
	c := struct{ profile, approver, refusal string }{prof, approverVID, refusal}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		{
			f := New(t, d, c.profile)
			r := register(f)
			approver := f.Admin
			if c.approver != "" {
				Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: c.approver, Name: "副管理 次郎", Department: "shichoson", Title: "行政経営課長"}))
				Must(t, f.Staff.AssignRole(ctx, f.Admin, c.approver, profile.DeputySystemAdministrator, ""))
				approver = Operator(c.approver, "ADMIN-T")
			}
			st := form.ProgramState{Version: "v1.0.0", ProfileID: f.Profile.ID, ProfileDigest: f.Profile.Digest}
			ch, err := r.CheckProgram(ctx, st)
			Must(t, err)
			if ch == nil || !ch.Baseline || !ch.Approved() {
				t.Fatalf("%s: first start: %+v", c.profile, ch)
			}
			if ch, err := r.CheckProgram(ctx, st); err != nil || ch != nil {
				t.Fatalf("%s: same program again: %+v %v", c.profile, ch, err)
			}
			changed := st
			changed.ProfileDigest = strings.Repeat("0", 64)
			ch, err = r.CheckProgram(ctx, changed)
			Must(t, err)
			if ch == nil || ch.Approved() || ch.Previous != st || strings.Join(ch.What(), ",") != "profile" {
				t.Fatalf("%s: changed digest: %+v", c.profile, ch)
			}
			un, err := form.Unapproved(ctx, f.DB)
			Must(t, err)
			if len(un) != 1 || un[0].ID != ch.ID {
				t.Fatalf("%s: unapproved %+v", c.profile, un)
			}
			refused := f.Admin
			if c.approver == "" {
				Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "CSO01", Name: "統括 一郎", Department: "joho", Title: "副区長"}))
				Must(t, f.Staff.AssignRole(ctx, f.Admin, "CSO01", profile.ChiefSecurityOfficer, ""))
				refused = Operator("CSO01", "ADMIN-T")
			}
			if err := r.ApproveProgramChange(ctx, refused, ch.ID, "確認した"); apperr.CodeOf(err) != apperr.Forbidden {
				t.Fatalf("%s: approval by %s: %v", c.profile, refused.Actor, err)
			}
			if l := entries(t, f.DB); l[len(l)-1].Policy != c.refusal {
				t.Fatalf("%s: refusal names %s", c.profile, l[len(l)-1].Policy)
			}
			if err := r.ApproveProgramChange(ctx, approver, ch.ID, ""); apperr.CodeOf(err) != apperr.Invalid {
				t.Fatalf("%s: approval without a note: %v", c.profile, err)
			}
			Must(t, r.ApproveProgramChange(ctx, approver, ch.ID, "ポリシーの改正（第14条）を確認"))
			if err := r.ApproveProgramChange(ctx, approver, ch.ID, "again"); apperr.CodeOf(err) != apperr.Conflict {
				t.Fatalf("%s: second approval: %v", c.profile, err)
			}
			all, err := form.ProgramChanges(ctx, f.DB)
			Must(t, err)
			if len(all) != 2 || !all[0].Approved() || all[0].ApprovedBy != approver.Actor.String() {
				t.Fatalf("%s: record %+v", c.profile, all)
			}
			bumped := changed
			bumped.Version = "v1.1.0"
			ch, err = r.CheckProgram(ctx, bumped)
			Must(t, err)
			if ch == nil || strings.Join(ch.What(), ",") != "version" {
				t.Fatalf("%s: new version: %+v", c.profile, ch)
			}
			var n int
			for _, e := range entries(t, f.DB) {
				if e.Action == "form.program-change" && e.Actor.Kind == auditlog.ActorSystem {
					n++
				}
			}
			if n != 2 {
				t.Fatalf("%s: %d program changes logged; want 2", c.profile, n)
			}
		}
	})
}

// TestNumbersPerFiscalYear: numbers restart each fiscal year (April) and
// are written with the era of the fiscal year.
func TestNumbersPerFiscalYear(t *testing.T) {
	if got := form.FiscalYear(time.Date(2027, 3, 31, 23, 0, 0, 0, jptext.JST)); got != 2026 {
		t.Fatalf("31 March 2027 in fiscal %d", got)
	}
	if got := form.FiscalYear(time.Date(2027, 4, 1, 0, 0, 0, 0, jptext.JST)); got != 2027 {
		t.Fatalf("1 April 2027 in fiscal %d", got)
	}
	if s := (form.Number{FiscalYear: 2026, Serial: 12}).String(); s != "R8-000012" {
		t.Fatalf("number %s", s)
	}
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := New(t, d, "koto-ward")
		r := register(f)
		now := f.Clock.Now()
		fy := form.FiscalYear(now)
		a, _, err := export(t, f, r, f.Admin, 0)
		Must(t, err)
		next := time.Date(fy+1, time.April, 1, 10, 0, 0, 0, jptext.JST)
		f.Clock.Set(next)
		b, _, err := export(t, f, r, f.Admin, 0)
		Must(t, err)
		if a.Number != (form.Number{FiscalYear: fy, Serial: 1}) || b.Number != (form.Number{FiscalYear: fy + 1, Serial: 1}) {
			t.Fatalf("numbers %v then %v", a.Number, b.Number)
		}
	})
}

// TestRecordExisting: a form made before the register began (a paper
// register's entry carried over) is entered by the system administrator
// with the day it was made, and is overdue when that day is past the
// period; anyone else is refused naming the article; a day after today is
// refused with nothing stored.
func TestRecordExisting(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		r := register(f)
		out := form.Output{Title: "住民票の写しの交付簿（紙）", Covers: "令和8年度上期", Residents: 40, Destination: "区民課 書庫"}
		if _, err := r.RecordExisting(ctx, f.Admin, out, today(f).AddDate(0, 0, 1)); apperr.CodeOf(err) != apperr.Invalid {
			t.Fatalf("made tomorrow: %v", err)
		}
		if _, err := r.RecordExisting(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), out, today(f)); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("by a security officer: %v", err)
		}
		made := today(f).AddDate(0, 0, -(profile.DefaultFormDays + 5))
		fm, err := r.RecordExisting(ctx, f.Admin, out, made)
		Must(t, err)
		if fm.Kind != form.KindExisting || !fm.Due.Equal(made.AddDate(0, 0, profile.DefaultFormDays)) || !fm.OverdueAt(f.Clock.Now()) {
			t.Fatalf("recorded: %+v", fm)
		}
		if o, _ := form.Overdue(ctx, d, f.Clock.Now()); len(o) != 1 || o[0].Number != fm.Number || o[0].Residents != 40 {
			t.Fatalf("overdue: %+v", o)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM form`); n != 1 {
			t.Fatalf("%d forms", n)
		}
	})
}

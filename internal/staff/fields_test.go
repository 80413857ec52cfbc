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
	"jukinet/internal/resident"
	"jukinet/internal/staff"
)

// badValues are the values every free-text field refuses, built on a value
// good for the field: a bidi override, NUL, another control character,
// bytes that are no UTF-8, and one character too many.
func badValues(f resident.Field, good string) map[string]string {
	long := []rune(good)[0]
	return map[string]string{
		"U+202E":        good + "\u202E" + good,
		"NUL":           good + "\x00",
		"U+0001":        "\x01" + good,
		"invalid UTF-8": good + "\xff\xfe",
		"too long":      strings.Repeat(string(long), f.Max+1),
	}
}

// TestFreeTextFieldRules: every free-text field of the staff register (a
// person's name, reading and title, a terminal's name, location and
// manager's title, a recipient's name
// and category, a credential's label and removal reason, a suspension's
// target and reason, a lift's reason, the ids logged when something ends)
// refuses what is not text and what is too long, with the field's name and
// its rule in English and Japanese. Nothing is written, not even an audit
// entry, so the log holds no copy of the refused value.
func TestFreeTextFieldRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		Must(t, f.Staff.RegisterCredential(ctx, f.Admin, "SO-KUMIN", staff.Credential{CredentialID: []byte{1, 2, 3}, Data: "{}"}))
		creds, err := f.Staff.Credentials(ctx)
		Must(t, err)
		suspension, err := f.Staff.Suspend(ctx, f.Admin, staff.Suspension{Scope: staff.ScopeTerminal, Target: "T-KAZEI-01", Reason: "点検"})
		Must(t, err)
		a := f.Admin
		person := func(set func(p *staff.Person)) error {
			p := staff.Person{VerificationID: "NEW01", Name: "山田 花子", NameKana: "ヤマダ ハナコ", Department: "kumin", Title: "主事"}
			set(&p)
			return f.Staff.AddPerson(ctx, a, p)
		}
		terminal := func(set func(t *staff.Terminal)) error {
			t := staff.Terminal{ID: "T-NEW", Name: "窓口2", Department: "kumin", Location: "本庁舎2階"}
			set(&t)
			return f.Staff.ApproveTerminal(ctx, a, t)
		}
		recipient := func(set func(r *staff.Recipient)) error {
			r := staff.Recipient{ID: "R1", Name: "機構", Category: "別表第一", Affairs: []string{"juki"}}
			set(&r)
			return f.Staff.AddRecipient(ctx, a, r)
		}
		fields := []struct {
			field resident.Field
			good  string
			call  func(v string) error
		}{
			{staff.FieldPersonName, "山田", func(v string) error { return person(func(p *staff.Person) { p.Name = v }) }},
			{staff.FieldPersonKana, "ヤマダ", func(v string) error { return person(func(p *staff.Person) { p.NameKana = v }) }},
			{staff.FieldPersonTitle, "主事", func(v string) error { return person(func(p *staff.Person) { p.Title = v }) }},
			{staff.FieldPersonName, "山田", func(v string) error {
				return f.Staff.Bootstrap(ctx, staff.Person{VerificationID: "NEW02", Name: v, Department: "joho", Title: "課長"})
			}},
			{staff.FieldTerminalName, "窓口", func(v string) error { return terminal(func(t *staff.Terminal) { t.Name = v }) }},
			{staff.FieldTerminalLocation, "本庁舎", func(v string) error { return terminal(func(t *staff.Terminal) { t.Location = v }) }},
			{staff.FieldManagerTitle, "係長", func(v string) error { return f.Staff.ReportTerminalManager(ctx, a, "T-KUMIN-01", "SO-KUMIN", v) }},
			{staff.FieldRecipientName, "機構", func(v string) error { return recipient(func(r *staff.Recipient) { r.Name = v }) }},
			{staff.FieldRecipientCategory, "別表", func(v string) error { return recipient(func(r *staff.Recipient) { r.Category = v }) }},
			{staff.FieldCredentialLabel, "鍵", func(v string) error {
				return f.Staff.RegisterCredential(ctx, a, "SO-KUMIN", staff.Credential{CredentialID: []byte{4, 5, 6}, Data: "{}", Label: v})
			}},
			{staff.FieldRemovalReason, "紛失", func(v string) error { return f.Staff.RemoveCredential(ctx, a, creds[0].ID, v) }},
			{staff.FieldSuspensionReason, "不正", func(v string) error {
				_, err := f.Staff.Suspend(ctx, a, staff.Suspension{Scope: staff.ScopeDepartment, Target: "kumin", Reason: v})
				return err
			}},
			{staff.FieldSuspensionTarget, "kumin", func(v string) error {
				_, err := f.Staff.Suspend(ctx, a, staff.Suspension{Scope: staff.ScopeDepartment, Target: v, Reason: "不正"})
				return err
			}},
			{staff.FieldLiftReason, "解決", func(v string) error { return f.Staff.Lift(ctx, a, suspension, v) }},
			{staff.FieldAffairID, "juki", func(v string) error { return f.Staff.EndDesignation(ctx, a, Clerk, v) }},
		}
		// Verification ids logged before they are looked up are checked
		// against the id rule first.
		for name, call := range map[string]func(vid string) error{
			"assign role":    func(vid string) error { return f.Staff.AssignRole(ctx, a, vid, "security_officer", "kumin") },
			"report manager": func(vid string) error { return f.Staff.ReportTerminalManager(ctx, a, "T-KUMIN-01", vid, "係長") },
			"register credential": func(vid string) error {
				return f.Staff.RegisterCredential(ctx, a, vid, staff.Credential{CredentialID: []byte{7}, Data: "{}"})
			},
		} {
			before := len(entries(t, d))
			if err := call("SO-\u202EKUMIN"); apperr.CodeOf(err) != apperr.Invalid || len(entries(t, d)) != before {
				t.Errorf("%s with a disguised verification id: %v, %d entries → %d", name, err, before, len(entries(t, d)))
			}
		}
		for _, fc := range fields {
			for name, v := range badValues(fc.field, fc.good) {
				t.Run(fc.field.Japanese+" "+name, func(t *testing.T) {
					refusedWithoutTrace(t, d, fc.field, v, fc.call)
				})
			}
		}
	})
}

// refusedWithoutTrace checks that call(v) is refused as invalid input to
// field, named with its rule in English and Japanese, and that it wrote
// nothing: no staff change (the version is bumped by every one) and no
// audit entry, so no copy of v either.
func refusedWithoutTrace(t *testing.T, d *db.DB, field resident.Field, v string, call func(v string) error) {
	t.Helper()
	ctx := context.Background()
	version, err := staff.Version(ctx, d)
	Must(t, err)
	before := entries(t, d)
	err = call(v)
	if apperr.CodeOf(err) != apperr.Invalid || !strings.HasPrefix(err.Error(), field.Name+": ") || !strings.HasPrefix(apperr.JapaneseOf(err), field.Japanese+"：") {
		t.Fatalf("%v (code %s, %q), want invalid naming %s / %s", err, apperr.CodeOf(err), apperr.JapaneseOf(err), field.Name, field.Japanese)
	}
	after := entries(t, d)
	if len(after) != len(before) {
		t.Errorf("the refused value was logged: %+v", after[len(before):])
	}
	if now, err := staff.Version(ctx, d); err != nil || now != version {
		t.Errorf("staff version %d → %d (%v): something was written", version, now, err)
	}
}

// entries are the audit log's entries.
func entries(t *testing.T, d *db.DB) []auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	out := make([]auditlog.Entry, len(l))
	for i, e := range l {
		out[i] = *e.Entry
	}
	return out
}

package protect_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/protect"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

func entries(t *testing.T, d *db.DB) []auditlog.Listed {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	return l
}

func lastEntry(t *testing.T, d *db.DB) auditlog.Entry {
	t.Helper()
	l := entries(t, d)
	return *l[len(l)-1].Entry
}

// immediate returns the open immediate alerts (rule protected): subject → count.
func immediate(t *testing.T, d *db.DB) map[string]int {
	t.Helper()
	as, err := detect.List(context.Background(), d, false)
	Must(t, err)
	out := map[string]int{}
	for _, a := range as {
		if a.Rule == detect.RuleProtected {
			out[a.Subject] = a.Count
		}
	}
	return out
}

func clerk(affair, caseRef string) gate.Request {
	return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk}, Origin: "terminal:T-KUMIN-01",
		Affair: affair, Reason: "窓口での本人申請", CaseRef: caseRef}
}

// TestProtectedResidentAtTheGate walks a support measure (支援措置) through
// the gate in koto-ward: a resident looked up freely before; marked by the
// residents' division's security officer (a clerk of another department is
// refused, logged); then a look-up without a case reference is refused,
// naming koto-ward:8.1/protected-resident, with an immediate alert raised
// in the same transaction (no detection run); with a case reference it is
// allowed, the record marked protected, the entry naming the policy and
// the alert counting it; an affair the profile does not allow for
// protected residents is refused even with a case reference; a search
// withholds the resident without a case reference (a denied entry of its
// own) and returns them with one; an alert that cannot be written fails
// the look-up with no entry; once the protection is ended the resident is
// looked up freely again, and a protection whose last day passes ends on
// the clock, with no change to any data.
func TestProtectedResidentAtTheGate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		f.Gate.Alarm = detect.Alarm
		f.Approve(t, Operator("SO-KAZEI", "T-KAZEI-01"), "kazei", "tax-assessment", []string{"T-KAZEI-01"}, "K0002")
		code := f.ImportOne(t)
		key := gate.Key{ResidentCode: code}
		today := jptext.Midnight(f.Clock.Now())

		rec, err := f.Gate.Lookup(ctx, clerk("juminhyo-copy", ""), key)
		Must(t, err)
		if rec.Protected || len(immediate(t, d)) != 0 {
			t.Fatalf("before any protection: protected=%v alerts=%v", rec.Protected, immediate(t, d))
		}

		mark := protect.Mark{ResidentCode: code, Start: today.AddDate(0, 0, -3), End: today.AddDate(0, 6, 0), Department: "kumin", Category: "dv"}
		if _, err := f.Protect.Mark(ctx, Operator("K0002", "T-KAZEI-01"), mark); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("a clerk of 課税課 marks a protection: %v", err)
		}
		if e := lastEntry(t, d); e.Action != "protect.mark" || e.Decision != auditlog.Deny {
			t.Fatalf("the refusal is not logged: %+v", e)
		}
		id, err := f.Protect.Mark(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), mark)
		Must(t, err)
		if e := lastEntry(t, d); e.Action != "protect.mark" || e.Policy != "koto-ward:3/mark-protected" || e.SubjectCount != 1 {
			t.Fatalf("the mark's entry: %+v", e)
		}

		// No case reference: refused, logged with the policy, alerted at once.
		_, err = f.Gate.Lookup(ctx, clerk("juminhyo-copy", ""), key)
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "案件番号") {
			t.Fatalf("look-up without a case reference: %v (%s)", err, apperr.JapaneseOf(err))
		}
		e := lastEntry(t, d)
		if e.Decision != auditlog.Deny || e.Policy != "koto-ward:8.1/protected-resident" || e.Action != "lookup" || e.SubjectCount != 1 {
			t.Fatalf("the refusal's entry: %+v", e)
		}
		if got := immediate(t, d); got["operator:"+Clerk] != 1 {
			t.Fatalf("immediate alert after the refusal: %v", got)
		}

		// With a case reference, for an affair that may: allowed, alerted.
		rec, err = f.Gate.Lookup(ctx, clerk("juminhyo-copy", "R8-交付-0123"), key)
		Must(t, err)
		e = lastEntry(t, d)
		if !rec.Protected || e.Decision != auditlog.Allow || e.Policy != "koto-ward:8.1/protected-resident" || e.Provision == nil ||
			!strings.Contains(e.Why, "koto-ward:12.1/designated-operator") {
			t.Fatalf("look-up with a case reference: protected=%v entry %+v", rec.Protected, e)
		}
		if got := immediate(t, d); got["operator:"+Clerk] != 2 {
			t.Fatalf("immediate alert after the allowed read: %v", got)
		}
		as, err := detect.List(ctx, d, false)
		Must(t, err)
		if len(as) != 1 || !strings.Contains(as[0].DetailJA, "照会を許可") || !strings.Contains(as[0].DetailJA, "照会を拒否") || !strings.Contains(as[0].DetailJA, code) {
			t.Fatalf("the alert says what happened: %+v", as)
		}

		// An affair the profile does not allow for protected residents.
		kazei := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "K0002"}, Origin: "terminal:T-KAZEI-01",
			Affair: "tax-assessment", Reason: "課税調査", CaseRef: "R8-課-77"}
		_, err = f.Gate.Lookup(ctx, kazei, key)
		if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "特別区民税・都民税の賦課に関する事務") {
			t.Fatalf("tax-assessment with a case reference: %v (%s)", err, apperr.JapaneseOf(err))
		}
		if got := immediate(t, d); got["operator:K0002"] != 1 {
			t.Fatalf("immediate alert for K0002: %v", got)
		}

		// A search withholds the resident without a case reference.
		q := gate.SearchQuery{Name: rec.FamilyName + " " + rec.GivenName, DateOfBirth: rec.DateOfBirth}
		before := len(entries(t, d))
		res, err := f.Gate.SearchDetailed(ctx, clerk("juminhyo-copy", ""), q)
		Must(t, err)
		if res.Withheld != 1 || len(res.Matches) != 0 || !strings.Contains(res.WithheldJapanese, "案件番号") {
			t.Fatalf("search without a case reference: %+v", res)
		}
		after := entries(t, d)
		if len(after) != before+2 || after[before].Entry.Decision != auditlog.Deny || after[before].Entry.Policy != "koto-ward:8.1/protected-resident" ||
			after[before].Entry.SubjectCount != 1 || after[before+1].Entry.Decision != auditlog.Allow || after[before+1].Entry.SubjectCount != 0 {
			t.Fatalf("search entries: %+v / %+v", after[before].Entry, after[len(after)-1].Entry)
		}
		res, err = f.Gate.SearchDetailed(ctx, clerk("juminhyo-copy", "R8-交付-0124"), q)
		Must(t, err)
		if res.Withheld != 0 || len(res.Matches) != 1 || !res.Matches[0].Protected {
			t.Fatalf("search with a case reference: %+v", res)
		}
		hist, err := f.Gate.History(ctx, clerk("juki", "R8-転居-9"), key)
		Must(t, err)
		if len(hist) == 0 || !hist[0].Protected || lastEntry(t, d).Policy != "koto-ward:8.1/protected-resident" {
			t.Fatalf("history with a case reference: %+v", hist)
		}
		if got := immediate(t, d); got["operator:"+Clerk] != 5 {
			t.Fatalf("immediate alert counts every read: %v", got)
		}

		// The alert cannot be written: nothing leaves; the attempt is
		// logged as failed, with no provision.
		f.Gate.Alarm = func(context.Context, *db.Tx, int64, *auditlog.Entry, []string) error { return errors.New("disk full") }
		n := len(entries(t, d))
		if rec, err := f.Gate.Lookup(ctx, clerk("juminhyo-copy", "R8-交付-0125"), key); apperr.CodeOf(err) != apperr.Unavailable || rec.FamilyName != "" {
			t.Fatalf("look-up whose alert fails: %v", err)
		}
		if got := entries(t, d); len(got) != n+1 || got[n].Entry.Outcome != auditlog.OutcomeError {
			t.Fatalf("the failed attempt's entry: %d → %d %+v", n, len(got), got[len(got)-1].Entry)
		}
		if got := immediate(t, d); got["operator:"+Clerk] != 5 {
			t.Fatalf("the failed alert counted: %v", got)
		}
		f.Gate.Alarm = detect.Alarm

		// Ended today: looked up freely at once.
		Must(t, f.Protect.End(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), id, today))
		if rec, err := f.Gate.Lookup(ctx, clerk("juminhyo-copy", ""), key); err != nil || rec.Protected {
			t.Fatalf("after the end: protected=%v %v", rec.Protected, err)
		}
		if err := f.Protect.End(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), id, today); apperr.CodeOf(err) != apperr.Conflict {
			t.Fatalf("ended twice: %v", err)
		}

		// A protection whose last day is today ends at midnight, on the
		// clock. Its code typed as an IME writes it (full-width digits, a
		// hyphen) protects the resident all the same.
		mark.Start, mark.End = today, today
		typed := ""
		for i, r := range code {
			if i == 4 {
				typed += "－"
			}
			typed += string(r - '0' + '０')
		}
		mark.ResidentCode = typed
		_, err = f.Protect.Mark(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), mark)
		Must(t, err)
		if _, err := f.Gate.Lookup(ctx, clerk("juminhyo-copy", ""), key); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("on its last day: %v", err)
		}
		f.Clock.Set(today.AddDate(0, 0, 1).Add(time.Minute))
		if rec, err := f.Gate.Lookup(ctx, clerk("juminhyo-copy", ""), key); err != nil || rec.Protected {
			t.Fatalf("the day after its last day: protected=%v %v", rec.Protected, err)
		}
	})
}

// TestMarkRefusesBadInput: a resident code with a wrong check digit, an
// unknown department or category, a period that ends before it starts,
// ends before today or runs a year or more are refused in Japanese, with
// nothing stored and nothing logged; the register is listed only for those
// the policies allow, and each viewing is logged.
func TestMarkRefusesBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		code := f.ImportOne(t)
		today := jptext.Midnight(f.Clock.Now())
		so := Operator("SO-KUMIN", "T-KUMIN-01")
		good := protect.Mark{ResidentCode: code, Start: today, End: today.AddDate(0, 3, 0), Department: "kumin", Category: "stalking"}
		bad := code[:10] + string('0'+(code[10]-'0'+1)%10)
		for _, c := range []struct {
			name  string
			edit  func(*protect.Mark)
			ja    string
			field string // the input the refusal is about (apperr.FieldsOf)
		}{
			{"check digit", func(m *protect.Mark) { m.ResidentCode = bad }, "住民票コード", "resident_code"},
			{"department", func(m *protect.Mark) { m.Department = "nowhere" }, "部署", "department"},
			{"category", func(m *protect.Mark) { m.Category = "徒歩5分の公園の近く" }, "区分", "category"},
			{"no end", func(m *protect.Mark) { m.End = time.Time{} }, "終了日", "end"},
			{"end before start", func(m *protect.Mark) { m.End = today.AddDate(0, 0, -1) }, "開始日", "end"},
			{"over", func(m *protect.Mark) { m.Start, m.End = today.AddDate(0, -2, 0), today.AddDate(0, 0, -1) }, "今日より前", "end"},
			{"a year", func(m *protect.Mark) { m.End = today.AddDate(1, 0, 0) }, "1年", "end"},
			{"no start", func(m *protect.Mark) { m.Start = time.Time{} }, "開始日", "start"},
			{"no code", func(m *protect.Mark) { m.ResidentCode = "" }, "住民票コード", "resident_code"},
		} {
			m := good
			c.edit(&m)
			n := len(entries(t, d))
			_, err := f.Protect.Mark(ctx, so, m)
			if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
				t.Errorf("%s: %v (%s)", c.name, err, apperr.JapaneseOf(err))
			}
			if got := fieldNames(err); got != c.field {
				t.Errorf("%s: the refusal is about %q, want %q", c.name, got, c.field)
			}
			if got := len(entries(t, d)); got != n {
				t.Errorf("%s: logged %d entries", c.name, got-n)
			}
		}
		_, err := f.Protect.Mark(ctx, so, good)
		Must(t, err)
		if _, err := f.Protect.List(ctx, Operator(Clerk, "T-KUMIN-01"), true); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("a clerk lists the register: %v", err)
		}
		if e := lastEntry(t, d); e.Action != "protect.view" || e.Decision != auditlog.Deny {
			t.Fatalf("the refused viewing is not logged: %+v", e)
		}
		ps, err := f.Protect.List(ctx, so, false)
		Must(t, err)
		if len(ps) != 1 || ps[0].ResidentCode != code || ps[0].Category != "stalking" || ps[0].CategoryName("ja") != "ストーカー行為等" {
			t.Fatalf("register: %+v", ps)
		}
		if e := lastEntry(t, d); e.Action != "protect.view" || e.Decision != auditlog.Allow || e.Policy != "koto-ward:3/view-protected" {
			t.Fatalf("the viewing is not logged: %+v", e)
		}
		id := ps[0].ID
		// Ending it: each refusal about its field, nothing logged or changed.
		for _, c := range []struct {
			name  string
			id    int64
			day   time.Time
			code  apperr.Code
			field string
		}{
			{"no day", id, time.Time{}, apperr.Invalid, "date"},
			{"yesterday", id, today.AddDate(0, 0, -1), apperr.Invalid, "date"},
			{"no such protection", id + 99, today, apperr.NotFound, "id"},
			{"after its last day", id, today.AddDate(0, 4, 0), apperr.Invalid, "date"},
		} {
			err := f.Protect.End(ctx, so, c.id, c.day)
			if apperr.CodeOf(err) != c.code || fieldNames(err) != c.field {
				t.Errorf("end, %s: %v (%s) about %q, want %s about %q", c.name, err, apperr.CodeOf(err), fieldNames(err), c.code, c.field)
			}
		}
		Must(t, f.Protect.End(ctx, so, id, today.AddDate(0, 1, 0)))
		if err := f.Protect.End(ctx, so, id, today.AddDate(0, 1, 0)); apperr.CodeOf(err) != apperr.Conflict || fieldNames(err) != "id" {
			t.Errorf("ended twice: %v about %q", err, fieldNames(err))
		}
	})
}

// TestAomoriProtection: at the prefecture the system administrator records
// a protection (aomori-pref:4.2/mark-protected); a look-up without a case
// reference is refused by aomori-pref:8/protected-resident, from the
// console too.
func TestAomoriProtection(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "aomori-pref")
		f.Gate.Alarm = detect.Alarm
		g, err := synth.New(synth.Options{Seed: 5, LocalGov: "022012"})
		Must(t, err)
		r := g.Next()
		var buf bytes.Buffer
		w := resident.NewCSVWriter(&buf, resident.UTF8)
		Must(t, w.Write(r))
		Must(t, w.Close())
		console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server", Affair: "network-admin", Reason: "整合性の確認"}
		_, err = f.Gate.Import(ctx, console, &buf, "")
		Must(t, err)
		code := string(r.ResidentCode)
		today := jptext.Midnight(f.Clock.Now())
		_, err = f.Protect.Mark(ctx, f.Admin, protect.Mark{ResidentCode: code, Start: today, End: today.AddDate(0, 1, 0), Department: "shichoson", Category: "child-abuse"})
		Must(t, err)
		if e := lastEntry(t, d); e.Policy != "aomori-pref:4.2/mark-protected" {
			t.Fatalf("mark: %+v", e)
		}
		if _, err := f.Gate.Lookup(ctx, console, gate.Key{ResidentCode: code}); apperr.CodeOf(err) != apperr.Forbidden {
			t.Fatalf("console look-up without a case reference: %v", err)
		}
		if e := lastEntry(t, d); e.Policy != "aomori-pref:8/protected-resident" {
			t.Fatalf("refusal: %+v", e)
		}
		console.CaseRef = "照会-2026-5"
		rec, err := f.Gate.Lookup(ctx, console, gate.Key{ResidentCode: code})
		Must(t, err)
		if !rec.Protected || immediate(t, d)["console:root"] != 2 {
			t.Fatalf("console look-up with a case reference: %v %v", rec.Protected, immediate(t, d))
		}
	})
}

// fieldNames are the inputs err is about (apperr.FieldsOf), comma-separated.
func fieldNames(err error) string {
	var names []string
	for _, f := range apperr.FieldsOf(err) {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

package contract_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/contract"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

// today is midnight JST of the fixture clock's day.
func today(f *Fixture) time.Time {
	t := f.Clock.Now().In(jptext.JST)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, jptext.JST)
}

func lastEntry(t *testing.T, d *db.DB) auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	return *l[len(l)-1].Entry
}

// vendorOperator is the vendor's person in each profile's test: a staff
// member of the department, designated for an affair and trained, so that
// only the outsourcing record decides.
const vendorOperator = "V0001"

// setUp gives the profile a department where vendorOperator may look up
// (terminal, approval, designation, training) and returns the request a
// lookup of theirs makes and the policy that allows it.
func setUp(t *testing.T, f *Fixture) (gate.Request, string) {
	t.Helper()
	ctx := context.Background()
	switch f.Profile.ID {
	case "koto-ward":
		f.SetUpWard(t)
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: vendorOperator, Name: "委託 一郎", Department: "kumin", Title: "受託者"}))
		Must(t, f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), vendorOperator, "juminhyo-copy"))
		f.Train(t, 5, vendorOperator)
		return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vendorOperator}, Origin: "terminal:T-KUMIN-01", Affair: "juminhyo-copy", Reason: "窓口での本人申請"},
			"koto-ward:12.1/designated-operator"
	default:
		a := f.Admin
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "HEAD-RYOKEN", Name: "旅券 所長", Department: "ryoken", Title: "旅券センター所長"}))
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: vendorOperator, Name: "委託 一郎", Department: "ryoken", Title: "受託者"}))
		Must(t, f.Staff.AssignRole(ctx, a, "HEAD-RYOKEN", profile.SectionHead, "ryoken"))
		Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-RYOKEN-01", Name: "旅券1", Department: "ryoken", Location: "旅券センター"}))
		f.Approve(t, Operator("HEAD-RYOKEN", "T-RYOKEN-01"), "ryoken", "passport", []string{"T-RYOKEN-01"}, vendorOperator)
		f.Train(t, 5, vendorOperator)
		return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vendorOperator}, Origin: "terminal:T-RYOKEN-01", Affair: "passport", Reason: "旅券の申請"},
			"aomori-pref:7.1/approved-staff"
	}
}

// TestContractGatesTheContractor walks aomori-pref:10 at the gate in both
// profiles: the vendor's person looks up before any contract names them
// (not a contractor); once a contract lacking one clause covers them, the
// lookup is refused naming the clause and the article's contract-clauses
// policy, which the audit entry records; with the clause recorded they look
// up; a minute after the contract's last day, the lookup is refused naming
// the day it ended (contract-in-force), with no change to any data in
// between; when a next contract, recorded beforehand, comes into force,
// they look up again; a contract not yet started covers nobody.
func TestContractGatesTheContractor(t *testing.T) {
	for _, prof := range []string{"aomori-pref", "koto-ward"} {
		t.Run(prof, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				f := New(t, d, prof)
				req, allowPolicy := setUp(t, f)
				article := "aomori-pref:10.2"
				if prof == "koto-ward" {
					article = "koto-ward:3"
				}
				lookup := func() error {
					_, err := f.Gate.Lookup(ctx, req, gate.Key{ResidentCode: "12345678903"})
					return err
				}
				allowed := func(step string) {
					t.Helper()
					err := lookup()
					if apperr.CodeOf(err) == apperr.Forbidden {
						t.Fatalf("%s: refused: %v (%s)", step, err, apperr.JapaneseOf(err))
					}
					if e := lastEntry(t, d); e.Decision != auditlog.Allow || e.Policy != allowPolicy {
						t.Errorf("%s: logged as %q %q, want allowed by %s", step, e.Decision, e.Policy, allowPolicy)
					}
				}
				refused := func(step, policy string, wantJA ...string) {
					t.Helper()
					err := lookup()
					if apperr.CodeOf(err) != apperr.Forbidden {
						t.Fatalf("%s: lookup err = %v, want refused", step, err)
					}
					for _, w := range wantJA {
						if !strings.Contains(apperr.JapaneseOf(err), w) {
							t.Errorf("%s: message %q lacks %q", step, apperr.JapaneseOf(err), w)
						}
					}
					if e := lastEntry(t, d); e.Policy != policy || e.Decision != auditlog.Deny || e.Count != 0 {
						t.Errorf("%s: refusal logged as policy %q decision %q count %d, want %s", step, e.Policy, e.Decision, e.Count, policy)
					}
				}
				allowed("no contract names them")

				// A contract of 30 days, begun 10 days ago, without the
				// clause on materials.
				id := f.Contract(t, "株式会社保守", 10, 30, []string{"materials"}, vendorOperator)
				refused("a clause missing", article+"/contract-clauses", "「資料等の保管・返還・廃棄」の約定がありません", "株式会社保守")
				Must(t, f.Contracts.Clause(ctx, f.Admin, id, "materials", "第9条（4頁）"))
				allowed("all five clauses")

				// The next contract, from the day after the first ends, is
				// recorded now; nothing changes afterwards.
				last := today(f).AddDate(0, 0, 19) // the first contract's last day
				f.Contract(t, "株式会社保守", -20, 365, nil, vendorOperator)
				end := last.AddDate(0, 0, 1)
				f.Clock.Set(end.Add(-time.Minute))
				allowed("a minute before the end")
				// The first contract ends; the second, starting that day,
				// covers them (the snapshot is rebuilt at the boundary).
				f.Clock.Set(end.Add(time.Minute))
				allowed("the next contract in force")

				// A contract that ended, with nothing after it.
				Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "V0002", Name: "委託 二郎", Department: mustDept(t, f, req), Title: "受託者"}))
				req.Actor.ID = "V0002"
				designate(t, f, "V0002", req.Affair)
				f.Train(t, 1, "V0002")
				id = f.Contract(t, "株式会社短期", 0, 1, nil, "V0002") // today only
				allowed("the one-day contract")
				f.Clock.Set(today(f).AddDate(0, 0, 1).Add(time.Minute)) // it ended yesterday
				refused("ended", article+"/contract-in-force", "で終了しています", jptext.FormatWareki(today(f).AddDate(0, 0, -1)))
				// Nobody is put on a contract that has ended: refused, nothing written.
				if err := f.Contracts.AddPerson(ctx, f.Admin, id, vendorOperator); apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(apperr.JapaneseOf(err), "終了しています") || fieldNames(err) != "contract" {
					t.Errorf("a person put on an ended contract: %v", err)
				}
				later := f.Contract(t, "株式会社短期", -2, 10, nil, "V0002") // starts the day after tomorrow
				refused("not yet started", article+"/contract-in-force", "の期間は"+jptext.FormatWareki(today(f).AddDate(0, 0, 2))+"からです")
				f.Clock.Set(today(f).AddDate(0, 0, 2).Add(time.Minute))
				allowed("the later contract started")
				// Taken off both contracts (put on them by mistake), V0002 is
				// no contractor any more; an unknown removal is not found.
				f.Clock.Set(today(f).AddDate(0, 0, 30)) // within the training's year
				refused("every contract ended", article+"/contract-in-force", "で終了しています")
				Must(t, f.Contracts.RemovePerson(ctx, f.Admin, id, "V0002"))
				Must(t, f.Contracts.RemovePerson(ctx, f.Admin, later, "V0002"))
				allowed("on no contract any more")
				if err := f.Contracts.RemovePerson(ctx, f.Admin, later, "V0002"); apperr.CodeOf(err) != apperr.NotFound || fieldNames(err) != "verification_id" {
					t.Errorf("removing a person the contract does not cover: %v", err)
				}
			})
		})
	}
}

func mustDept(t *testing.T, f *Fixture, _ gate.Request) string {
	t.Helper()
	if f.Profile.ID == "koto-ward" {
		return "kumin"
	}
	return "ryoken"
}

func designate(t *testing.T, f *Fixture, vid, affair string) {
	t.Helper()
	who := Operator("SO-KUMIN", "T-KUMIN-01")
	if f.Profile.ID != "koto-ward" {
		who = Operator("HEAD-RYOKEN", "T-RYOKEN-01")
	}
	Must(t, f.Staff.Designate(context.Background(), who, vid, affair))
}

// TestContractRefusesBadInput: each field rule refuses a contract, clause,
// person or report with an error naming the field, nothing is stored, and
// only whom the policies name records a contract (aomori-pref:10.1).
func TestContractRefusesBadInput(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "aomori-pref")
		Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "HEAD-RYOKEN", Name: "旅券 所長", Department: "ryoken", Title: "旅券センター所長"}))
		Must(t, f.Staff.AssignRole(ctx, f.Admin, "HEAD-RYOKEN", profile.SectionHead, "ryoken"))
		count := func() (n int) {
			t.Helper()
			var c int
			for _, table := range []string{"contract", "contract_clause", "contract_person", "contract_report"} {
				Must(t, d.QueryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&c))
				n += c
			}
			return n
		}
		good := contract.Contract{Vendor: "株式会社保守", Scope: "端末の保守", Start: today(f), End: today(f).AddDate(1, 0, -1), Survey: "プライバシーマーク確認"}
		for _, c := range []struct {
			name   string
			change func(c *contract.Contract)
			who    staff.Who
			code   apperr.Code
			ja     string
			field  string // the input the refusal is about (apperr.FieldsOf)
		}{
			{"no vendor", func(c *contract.Contract) { c.Vendor = " " }, f.Admin, apperr.Invalid, "委託先", "vendor"},
			{"long scope", func(c *contract.Contract) { c.Scope = strings.Repeat("保", 201) }, f.Admin, apperr.Invalid, "委託業務の範囲", "scope"},
			{"line break in survey", func(c *contract.Contract) { c.Survey = "確認\n済み" }, f.Admin, apperr.Invalid, "個人情報保護措置の調査結果", "survey"},
			{"control character in vendor", func(c *contract.Contract) { c.Vendor = "株式会社\u202e保守" }, f.Admin, apperr.Invalid, "委託先", "vendor"},
			{"no start", func(c *contract.Contract) { c.Start = time.Time{} }, f.Admin, apperr.Invalid, "開始日を入力", "start"},
			{"end before start", func(c *contract.Contract) { c.End = c.Start.AddDate(0, 0, -1) }, f.Admin, apperr.Invalid, "開始日", "end"},
			{"section head may not approve", func(c *contract.Contract) {}, Operator("HEAD-RYOKEN", "ADMIN-T"), apperr.Forbidden, "委託契約の記録 を行う権限がありません", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := count()
				k := good
				c.change(&k)
				_, err := f.Contracts.Add(ctx, c.who, k)
				if apperr.CodeOf(err) != c.code || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want %s ~%q", err, apperr.JapaneseOf(err), c.code, c.ja)
				}
				if got := fieldNames(err); got != c.field {
					t.Errorf("the refusal is about %q, want %q", got, c.field)
				}
				if n := count(); n != before {
					t.Errorf("stored %d rows", n-before)
				}
			})
		}
		id, err := f.Contracts.Add(ctx, f.Admin, good)
		Must(t, err)
		before := count()
		for _, c := range []struct {
			name  string
			do    func() error
			code  apperr.Code
			ja    string
			field string
		}{
			{"unknown clause", func() error { return f.Contracts.Clause(ctx, f.Admin, id, "lunch", "第1条") }, apperr.Invalid, "約定事項", "clause"},
			{"no reference", func() error { return f.Contracts.Clause(ctx, f.Admin, id, "confidentiality", "") }, apperr.Invalid, "契約書の該当箇所", "reference"},
			{"clause of no contract", func() error { return f.Contracts.Clause(ctx, f.Admin, id+99, "confidentiality", "第3条") }, apperr.NotFound, "登録されていません", "contract"},
			{"malformed person", func() error { return f.Contracts.AddPerson(ctx, f.Admin, id, "V 1") }, apperr.Invalid, "照合ID", "verification_id"},
			{"unknown person", func() error { return f.Contracts.AddPerson(ctx, f.Admin, id, "NOBODY") }, apperr.Invalid, "NOBODY", "verification_id"},
			{"unknown report kind", func() error {
				_, err := f.Contracts.Report(ctx, f.Admin, contract.Report{Contract: id, Kind: "gossip", Day: today(f), Summary: "x"})
				return err
			}, apperr.Invalid, "報告の種類", "kind"},
			{"report in the future", func() error {
				_, err := f.Contracts.Report(ctx, f.Admin, contract.Report{Contract: id, Kind: "incident", Day: today(f).AddDate(0, 0, 1), Summary: "紛失"})
				return err
			}, apperr.Invalid, "今日より後", "date"},
			{"report without summary", func() error {
				_, err := f.Contracts.Report(ctx, f.Admin, contract.Report{Contract: id, Kind: "disposal", Day: today(f)})
				return err
			}, apperr.Invalid, "報告の内容", "summary"},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := c.do()
				if apperr.CodeOf(err) != c.code || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want %s ~%q", err, apperr.JapaneseOf(err), c.code, c.ja)
				}
				if got := fieldNames(err); got != c.field {
					t.Errorf("the refusal is about %q, want %q", got, c.field)
				}
				if n := count(); n != before {
					t.Errorf("stored %d rows", n-before)
				}
			})
		}
		// Recorded: a report, listed with the contract.
		if _, err := f.Contracts.Report(ctx, f.Admin, contract.Report{Contract: id, Kind: "disposal", Day: today(f), Summary: "保守用媒体を溶解処理（証明書 第12号）"}); err != nil {
			t.Fatal(err)
		}
		if e := lastEntry(t, d); e.Action != "contract.report" || e.Decision != auditlog.Allow || e.Policy != "aomori-pref:10.1/manage-contracts" {
			t.Errorf("report logged as %q %q %q", e.Action, e.Decision, e.Policy)
		}
		all, err := contract.List(ctx, d)
		Must(t, err)
		if len(all) != 1 || len(all[0].Reports) != 1 || len(all[0].Missing()) != 5 || all[0].ApprovedBy == "" {
			t.Errorf("listed %+v", all)
		}
		if _, err := jptext.ParseDay("start", "開始日", "来月"); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), "開始日「来月」を読み取れません") {
			t.Errorf("ParseDay: %v", err)
		}
	})
}

// TestContractEndedEarly walks 契約の解除 at the gate in both profiles, on
// both databases, the clock injected: a contractor under a complete
// contract looks up; the contract is ended today and the next lookup, that
// minute, is refused naming the day and the reason (contract-in-force),
// with the end in the audit log; a second contract ended from a later day
// lets its contractor work until midnight starting that day and not a
// minute after. Bad input (no reason, a day before today or after the last
// day, an unknown contract, a second end, a section head) is refused and
// stores nothing.
func TestContractEndedEarly(t *testing.T) {
	for _, prof := range []string{"aomori-pref", "koto-ward"} {
		t.Run(prof, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				f := New(t, d, prof)
				req, _ := setUp(t, f)
				article := "aomori-pref:10.2"
				if prof == "koto-ward" {
					article = "koto-ward:3"
				}
				lookup := func() error {
					_, err := f.Gate.Lookup(ctx, req, gate.Key{ResidentCode: "12345678903"})
					return err
				}
				allowed := func(step string) {
					t.Helper()
					if err := lookup(); apperr.CodeOf(err) == apperr.Forbidden {
						t.Fatalf("%s: refused: %v (%s)", step, err, apperr.JapaneseOf(err))
					}
				}
				refused := func(step string, wantJA ...string) {
					t.Helper()
					err := lookup()
					if apperr.CodeOf(err) != apperr.Forbidden {
						t.Fatalf("%s: lookup err = %v, want refused", step, err)
					}
					for _, w := range wantJA {
						if !strings.Contains(apperr.JapaneseOf(err), w) {
							t.Errorf("%s: message %q lacks %q", step, apperr.JapaneseOf(err), w)
						}
					}
					if e := lastEntry(t, d); e.Policy != article+"/contract-in-force" || e.Decision != auditlog.Deny {
						t.Errorf("%s: refusal logged as policy %q decision %q", step, e.Policy, e.Decision)
					}
				}
				id := f.Contract(t, "株式会社保守", 10, 365, nil, vendorOperator)
				allowed("under the contract")

				// Bad input: refused, nothing stored.
				rows := func() string {
					var s string
					Must(t, d.QueryRow(ctx, `SELECT COALESCE(MAX(ended_on), '') || COALESCE(MAX(end_reason), '') FROM contract`).Scan(&s))
					return s
				}
				section := Operator("HEAD-RYOKEN", "T-RYOKEN-01")
				if prof == "koto-ward" {
					section = Operator("SO-KUMIN", "T-KUMIN-01")
				}
				for _, c := range []struct {
					name  string
					who   staff.Who
					id    int64
					day   time.Time
					why   string
					code  apperr.Code
					ja    string
					field string
				}{
					{"no reason", f.Admin, id, today(f), " ", apperr.Invalid, "解除の理由", "reason"},
					{"reason with a line break", f.Admin, id, today(f), "契約\n違反", apperr.Invalid, "解除の理由", "reason"},
					{"no day", f.Admin, id, time.Time{}, "契約違反", apperr.Invalid, "解除日を入力", "date"},
					{"yesterday", f.Admin, id, today(f).AddDate(0, 0, -1), "契約違反", apperr.Invalid, "今日より前", "date"},
					{"after the last day", f.Admin, id, today(f).AddDate(1, 0, 0), "契約違反", apperr.Invalid, "終了日", "date"},
					{"no such contract", f.Admin, id + 99, today(f), "契約違反", apperr.NotFound, "登録されていません", "contract"},
					{"not the approver", section, id, today(f), "契約違反", apperr.Forbidden, "委託契約の記録 を行う権限がありません", ""},
				} {
					err := f.Contracts.End(ctx, c.who, c.id, c.day, c.why)
					if apperr.CodeOf(err) != c.code || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
						t.Errorf("%s: err = %v (%s), want %s ~%q", c.name, err, apperr.JapaneseOf(err), c.code, c.ja)
					}
					if got := fieldNames(err); got != c.field {
						t.Errorf("%s: the refusal is about %q, want %q", c.name, got, c.field)
					}
					if r := rows(); r != "" {
						t.Fatalf("%s: stored %q", c.name, r)
					}
				}
				allowed("after the refused ends")

				// Ended today: refused that minute, naming the day and why.
				Must(t, f.Contracts.End(ctx, f.Admin, id, today(f), "再委託の発覚による契約解除"))
				if e := lastEntry(t, d); e.Action != "contract.end" || e.Decision != auditlog.Allow || e.Query != "contract:"+strconv.FormatInt(id, 10) || !strings.Contains(e.Detail, "再委託の発覚") {
					t.Errorf("the end logged as %+v", e)
				}
				refused("ended today", "に解除されています", jptext.FormatWareki(today(f)), "再委託の発覚による契約解除")
				if err := f.Contracts.End(ctx, f.Admin, id, today(f), "重ねて"); apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(apperr.JapaneseOf(err), "既に") || fieldNames(err) != "contract" {
					t.Errorf("a second end: %v", err)
				}
				if err := f.Contracts.AddPerson(ctx, f.Admin, id, "ADMIN01"); apperr.CodeOf(err) != apperr.Conflict || !strings.Contains(apperr.JapaneseOf(err), "解除されています") || fieldNames(err) != "contract" {
					t.Errorf("a person put on an ended contract: %v", err)
				}
				all, err := contract.List(ctx, d)
				Must(t, err)
				if c := all[0]; c.Ended == nil || !c.Ended.Day.Equal(today(f)) || c.Ended.Reason != "再委託の発覚による契約解除" || c.InForce(f.Clock.Now()) ||
					c.Ended.By != "operator:"+AdminVID {
					t.Errorf("listed %+v, ended %+v", c, c.Ended)
				}

				// Ended from the day after tomorrow: in force until then.
				Must(t, f.Staff.AddPerson(ctx, f.Admin, staff.Person{VerificationID: "V0002", Name: "委託 二郎", Department: mustDept(t, f, req), Title: "受託者"}))
				designate(t, f, "V0002", req.Affair)
				f.Train(t, 1, "V0002")
				req.Actor.ID = "V0002"
				later := f.Contract(t, "株式会社後日", 10, 365, nil, "V0002")
				day := today(f).AddDate(0, 0, 2)
				Must(t, f.Contracts.End(ctx, f.Admin, later, day, "業務の終了"))
				allowed("before the day of the end")
				f.Clock.Set(day.Add(-time.Minute))
				allowed("a minute before the day of the end")
				f.Clock.Set(day.Add(time.Minute))
				refused("the day of the end", "に解除されています", jptext.FormatWareki(day), "業務の終了")
			})
		})
	}
}

// fieldNames are the inputs err is about (apperr.FieldsOf), comma-separated.
func fieldNames(err error) string {
	var names []string
	for _, f := range apperr.FieldsOf(err) {
		names = append(names, f.Name)
	}
	return strings.Join(names, ",")
}

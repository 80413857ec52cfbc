package asset_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/asset"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
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

func register(f *Fixture) *asset.Register {
	r := asset.New(f.DB, f.Log, f.Engine, f.Staff, "test")
	r.Now = f.Clock.Now
	return r
}

func lastEntry(t *testing.T, d *db.DB) auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	return *l[len(l)-1].Entry
}

func count(t *testing.T, d *db.DB, query string, args ...any) int {
	t.Helper()
	var n int
	Must(t, d.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// aomori sets up the aomori-pref fixture with a deputy system administrator
// (DEPUTY01) and a section head (HEAD-RYOKEN) besides the system
// administrator.
func aomori(t *testing.T, d *db.DB) (*Fixture, staff.Who, staff.Who) {
	t.Helper()
	ctx := context.Background()
	f := New(t, d, "aomori-pref")
	a := f.Admin
	Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "DEPUTY01", Name: "副管理 次郎", Department: "shichoson", Title: "行政経営課長"}))
	Must(t, f.Staff.AssignRole(ctx, a, "DEPUTY01", profile.DeputySystemAdministrator, ""))
	Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "HEAD-RYOKEN", Name: "旅券 所長", Department: "ryoken", Title: "旅券センター所長"}))
	Must(t, f.Staff.AssignRole(ctx, a, "HEAD-RYOKEN", profile.SectionHead, "ryoken"))
	return f, Operator("DEPUTY01", "ADMIN-T"), Operator("HEAD-RYOKEN", "ADMIN-T")
}

// TestWhoRegistersWhichKind walks aomori-pref:4.2, 4.3 and 5 and
// koto-ward:14: each kind of asset is registered by the role its article
// names, and anyone else is refused with the article's policy id in the
// audit entry of the refusal, with nothing stored.
func TestWhoRegistersWhichKind(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f, deputy, head := aomori(t, d)
		r := register(f)
		day := today(f).AddDate(-1, 0, 0)
		mk := func(id string, k asset.Kind) asset.Asset {
			return asset.Asset{ID: id, Kind: k, Name: id + " の名称", Location: "県庁サーバ室", Manager: "DEPUTY01", InstalledOn: day}
		}
		for _, c := range []struct {
			name   string
			who    staff.Who
			a      asset.Asset
			policy string // the deciding policy
			allow  bool
		}{
			{"deputy registers a server (4.3)", deputy, mk("SV-01", "server"), "aomori-pref:4.3/manage-equipment", true},
			{"administrator installs network gear (5)", f.Admin, mk("NW-01", "network"), "aomori-pref:5/install-equipment", true},
			{"deputy registers a program (4.3)", deputy, mk("PG-01", "program"), "aomori-pref:4.3/manage-programs", true},
			{"administrator registers a data set (4.2)", f.Admin, mk("DS-01", "dataset"), "aomori-pref:4.2/manage-data", true},
			{"administrator may not register a program (4.3)", f.Admin, mk("PG-02", "program"), "aomori-pref:4.3/program-manager", false},
			{"deputy may not register media (4.2)", deputy, mk("MD-01", "media"), "aomori-pref:4.2/data-manager", false},
			{"section head may not register a server", head, mk("SV-02", "server"), "aomori-pref:4.3/equipment-manager", false},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := r.Add(ctx, c.who, c.a)
				e := lastEntry(t, d)
				if e.Action != "asset.add" || e.Query != "asset:"+c.a.ID || e.Policy != c.policy {
					t.Errorf("entry %s %s decided by %q, want asset.add asset:%s by %q", e.Action, e.Query, e.Policy, c.a.ID, c.policy)
				}
				stored := count(t, d, `SELECT COUNT(*) FROM asset WHERE id = ?`, c.a.ID)
				if c.allow {
					if err != nil || e.Decision != auditlog.Allow || stored != 1 {
						t.Errorf("err %v, decision %s, stored %d", err, e.Decision, stored)
					}
					return
				}
				if apperr.CodeOf(err) != apperr.Forbidden || e.Decision != auditlog.Deny || stored != 0 {
					t.Errorf("err %v, decision %s, stored %d, want refused and nothing stored", err, e.Decision, stored)
				}
				if !strings.Contains(apperr.JapaneseOf(err), "第4条") {
					t.Errorf("refusal %q does not name the article", apperr.JapaneseOf(err))
				}
			})
		}
	})
	// koto-ward:14: the system administrator, and nobody else.
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		r := register(f)
		a := asset.Asset{ID: "SV-K1", Kind: "server", Name: "CS サーバ", Location: "本庁舎サーバ室", Manager: AdminVID, InstalledOn: today(f)}
		err := r.Add(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), a)
		if e := lastEntry(t, d); apperr.CodeOf(err) != apperr.Forbidden || e.Policy != "koto-ward:14/asset-manager" || e.Decision != auditlog.Deny {
			t.Errorf("security officer registering a server: %v, logged %q %q", err, e.Policy, e.Decision)
		}
		Must(t, r.Add(ctx, f.Admin, a))
		if e := lastEntry(t, d); e.Policy != "koto-ward:14/manage-assets" || e.Decision != auditlog.Allow {
			t.Errorf("system administrator registering a server: logged %q %q", e.Policy, e.Decision)
		}
		// The staff store's terminals are in the register, once.
		list, err := r.List(ctx)
		Must(t, err)
		var ids []string
		for _, x := range list {
			ids = append(ids, string(x.Kind)+":"+x.ID)
		}
		if got := strings.Join(ids, " "); got != "server:SV-K1 terminal:T-KAZEI-01 terminal:T-KUMIN-01" {
			t.Errorf("register = %s", got)
		}
		// A terminal is not registered a second time here.
		dup := a
		dup.ID = "T-KUMIN-01"
		if err := r.Add(ctx, f.Admin, dup); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("an asset with a terminal's id: %v", err)
		}
		term := a
		term.ID, term.Kind = "T-NEW", asset.KindTerminal
		if err := r.Add(ctx, f.Admin, term); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), "端末の設置の承認") {
			t.Errorf("a terminal added as an asset: %v", err)
		}
	})
}

// TestRetireNeedsErasure: an asset that holds data is retired only with
// the record of how its media were erased or destroyed; the refusal is
// logged and changes nothing, the retirement with the record is logged and
// kept. An asset that holds no data is retired without one.
func TestRetireNeedsErasure(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f, deputy, _ := aomori(t, d)
		r := register(f)
		installed := today(f).AddDate(-5, 0, 0)
		Must(t, r.Add(ctx, deputy, asset.Asset{ID: "SV-01", Kind: "server", Name: "CS サーバ", Location: "サーバ室", Manager: "DEPUTY01", InstalledOn: installed}))
		Must(t, r.Add(ctx, deputy, asset.Asset{ID: "NW-01", Kind: "network", Name: "ルータ", Location: "サーバ室", Manager: "DEPUTY01", InstalledOn: installed}))

		ret := asset.Retirement{Day: today(f), Reason: "更新のため"}
		err := r.Retire(ctx, deputy, "SV-01", ret)
		if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), "消去・破壊の方法") {
			t.Errorf("retired a server without an erasure record: %v", err)
		}
		if e := lastEntry(t, d); e.Action != "asset.retire" || e.Outcome != auditlog.OutcomeError || !strings.Contains(e.Error, "holds data") {
			t.Errorf("refusal logged as %s %s %q", e.Action, e.Outcome, e.Error)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM asset WHERE id = 'SV-01' AND retired_on IS NULL`); n != 1 {
			t.Errorf("the refused retirement changed the asset")
		}

		ret.Erasure = &asset.Erasure{Method: asset.Degauss, By: "株式会社青森保守 山田", Witness: "DEPUTY01", Day: today(f).AddDate(0, 0, -1)}
		Must(t, r.Retire(ctx, deputy, "SV-01", ret))
		if e := lastEntry(t, d); e.Action != "asset.retire" || e.Outcome != auditlog.OutcomeOK || e.Policy != "aomori-pref:4.3/manage-equipment" ||
			!strings.Contains(e.Detail, "media degauss by 株式会社青森保守 山田, witnessed by DEPUTY01") {
			t.Errorf("retirement logged as %s %s %s %q", e.Action, e.Outcome, e.Policy, e.Detail)
		}
		got, err := r.Get(ctx, "SV-01")
		Must(t, err)
		if got.InUse() || got.Retired.Erasure == nil || got.Retired.Erasure.Method != asset.Degauss || got.Retired.Erasure.WitnessName != "副管理 次郎" ||
			!got.Retired.Erasure.Day.Equal(today(f).AddDate(0, 0, -1)) || got.Retired.By != "operator:DEPUTY01" {
			t.Errorf("retired asset = %+v, erasure %+v", got.Retired, got.Retired.Erasure)
		}
		if err := r.Retire(ctx, deputy, "SV-01", ret); apperr.CodeOf(err) != apperr.Conflict {
			t.Errorf("retired twice: %v", err)
		}

		// Network gear that holds no data needs no erasure record.
		Must(t, r.Retire(ctx, deputy, "NW-01", asset.Retirement{Day: today(f), Reason: "撤去"}))
	})
}

// TestBadInputStoresNothing: each field rule refuses an asset or a
// retirement with an error naming the field, before anything is logged,
// and nothing is stored.
func TestBadInputStoresNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f, deputy, _ := aomori(t, d)
		r := register(f)
		good := asset.Asset{ID: "SV-01", Kind: "server", Name: "CS サーバ", Location: "サーバ室", Manager: "DEPUTY01", InstalledOn: today(f).AddDate(0, -1, 0)}
		entries := func() int { return count(t, d, `SELECT COUNT(*) FROM audit_entry`) }
		for _, c := range []struct {
			name   string
			change func(a *asset.Asset)
			ja     string
			logged bool   // refused in the transaction, so the attempt is logged
			field  string // the input the refusal is about (apperr.FieldsOf)
		}{
			{"unknown kind", func(a *asset.Asset) { a.Kind = "printer" }, "資産の種類", false, "kind"},
			{"bad id", func(a *asset.Asset) { a.ID = "サーバ1" }, "管理番号「サーバ1」", false, "id"},
			{"no name", func(a *asset.Asset) { a.Name = " " }, "名称", false, "name"},
			{"long location", func(a *asset.Asset) { a.Location = strings.Repeat("室", 201) }, "設置・保管場所", false, "location"},
			{"control character in name", func(a *asset.Asset) { a.Name = "CS\u202Eサーバ" }, "名称", false, "name"},
			{"no manager", func(a *asset.Asset) { a.Manager = "" }, "管理者（照合ID）を入力", false, "manager"},
			{"no installation day", func(a *asset.Asset) { a.InstalledOn = time.Time{} }, "設置日を入力", false, "installed"},
			{"installed tomorrow", func(a *asset.Asset) { a.InstalledOn = today(f).AddDate(0, 0, 1) }, "今日より後", false, "installed"},
			{"unknown manager", func(a *asset.Asset) { a.Manager = "NOBODY" }, "管理者の照合ID NOBODY", true, "manager"},
		} {
			t.Run(c.name, func(t *testing.T) {
				a := good
				c.change(&a)
				before := entries()
				err := r.Add(ctx, deputy, a)
				if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want invalid ~%q", err, apperr.JapaneseOf(err), c.ja)
				}
				if got := fieldNames(err); got != c.field {
					t.Errorf("the refusal is about %q, want %q", got, c.field)
				}
				if n := count(t, d, `SELECT COUNT(*) FROM asset`); n != 0 {
					t.Errorf("%d assets stored", n)
				}
				if logged := entries() != before; logged != c.logged {
					t.Errorf("logged = %t, want %t", logged, c.logged)
				}
			})
		}

		Must(t, r.Add(ctx, deputy, good))
		erasure := asset.Erasure{Method: asset.Overwrite, By: "保守業者", Witness: "DEPUTY01", Day: today(f)}
		for _, c := range []struct {
			name   string
			change func(r *asset.Retirement)
			ja     string
			field  string
		}{
			{"no reason", func(r *asset.Retirement) { r.Reason = "" }, "廃止の理由", "reason"},
			{"retired tomorrow", func(r *asset.Retirement) { r.Day = today(f).AddDate(0, 0, 1) }, "廃止日", "retired"},
			{"retired before installed", func(r *asset.Retirement) { r.Day = good.InstalledOn.AddDate(0, 0, -1) }, "設置日", "retired"},
			{"unknown method", func(r *asset.Retirement) { r.Erasure.Method = "shred" }, "消去の方法", "method"},
			{"nobody erased", func(r *asset.Retirement) { r.Erasure.By = "" }, "消去・破壊の実施者", "erased_by"},
			{"no witness", func(r *asset.Retirement) { r.Erasure.Witness = "" }, "立会者", "witness"},
			{"no erasure day", func(r *asset.Retirement) { r.Erasure.Day = time.Time{} }, "消去・破壊の実施日", "erased"},
			{"unknown witness", func(r *asset.Retirement) { r.Erasure.Witness = "NOBODY" }, "立会者の照合ID NOBODY", "witness"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := erasure
				ret := asset.Retirement{Day: today(f), Reason: "更新", Erasure: &e}
				c.change(&ret)
				err := r.Retire(ctx, deputy, "SV-01", ret)
				if apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), c.ja) {
					t.Errorf("err = %v (%s), want invalid ~%q", err, apperr.JapaneseOf(err), c.ja)
				}
				if got := fieldNames(err); got != c.field {
					t.Errorf("the refusal is about %q, want %q", got, c.field)
				}
				if n := count(t, d, `SELECT COUNT(*) FROM asset WHERE retired_on IS NOT NULL OR erasure_method IS NOT NULL`); n != 0 {
					t.Errorf("the refused retirement was stored")
				}
			})
		}
		// Refusals about the asset retired, and the asset registered twice.
		Must(t, f.Staff.ApproveTerminal(ctx, f.Admin, staff.Terminal{ID: "T-RYOKEN-01", Name: "旅券窓口", Department: "ryoken", Location: "旅券センター"}))
		for _, c := range []struct {
			name string
			err  error
			code apperr.Code
		}{
			{"retire no asset", r.Retire(ctx, deputy, "SV-NONE", asset.Retirement{Day: today(f), Reason: "更新"}), apperr.NotFound},
			{"retire a terminal", r.Retire(ctx, deputy, "T-RYOKEN-01", asset.Retirement{Day: today(f), Reason: "更新"}), apperr.Invalid},
			{"add an id used", r.Add(ctx, deputy, good), apperr.Conflict},
		} {
			if got := fieldNames(c.err); got != "id" || apperr.CodeOf(c.err) != c.code {
				t.Errorf("%s: %v (%s) is about %q, want %s about id", c.name, c.err, apperr.CodeOf(c.err), got, c.code)
			}
		}
		if _, err := jptext.ParseDay("installed", "設置日", "来週"); apperr.CodeOf(err) != apperr.Invalid || !strings.Contains(apperr.JapaneseOf(err), "設置日「来週」を読み取れません") {
			t.Errorf("ParseDay: %v", err)
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

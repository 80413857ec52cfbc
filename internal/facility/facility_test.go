package facility_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/auth"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/facility"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/staff"
)

func lastEntry(t *testing.T, d *db.DB) auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), d, auditlog.Filter{After: -1, Limit: 100000})
	Must(t, err)
	return *l[len(l)-1].Entry
}

func count(t *testing.T, d *db.DB, table string) int {
	t.Helper()
	var n int
	Must(t, d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n))
	return n
}

// setUp gives the profile an operator who may look up at a terminal
// (approval, designation, training) and returns their request, the
// terminal and the policy that allows the lookup.
func setUp(t *testing.T, f *Fixture) (gate.Request, string, string) {
	t.Helper()
	ctx := context.Background()
	if f.Profile.ID == "koto-ward" {
		f.SetUpWard(t)
		return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk}, Origin: "terminal:T-KUMIN-01", Affair: "juminhyo-copy", Reason: "窓口での本人申請"},
			"T-KUMIN-01", "koto-ward:12.1/designated-operator"
	}
	a := f.Admin
	Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "HEAD-RYOKEN", Name: "旅券 所長", Department: "ryoken", Title: "旅券センター所長"}))
	Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "R0001", Name: "旅券 一郎", Department: "ryoken", Title: "主事"}))
	Must(t, f.Staff.AssignRole(ctx, a, "HEAD-RYOKEN", profile.SectionHead, "ryoken"))
	Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-RYOKEN-01", Name: "旅券1", Department: "ryoken", Location: "旅券センター"}))
	f.Approve(t, Operator("HEAD-RYOKEN", "T-RYOKEN-01"), "ryoken", "passport", []string{"T-RYOKEN-01"}, "R0001")
	f.Train(t, 5, "R0001")
	return gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "R0001"}, Origin: "terminal:T-RYOKEN-01", Affair: "passport", Reason: "旅券の申請"},
		"T-RYOKEN-01", "aomori-pref:7.1/approved-staff"
}

func newRegister(f *Fixture) *facility.Register {
	r := facility.New(f.DB, f.Log, f.Engine, "test")
	r.Now = f.Clock.Now
	r.OnChange(f.Engine.Invalidate)
	return r
}

// TestInstallationGatesTheTerminal walks koto-ward:11 and aomori-pref:6 at
// sign-in and at the gate: before the node records a terminal-level room
// every approved terminal works (existing nodes keep working); once one
// is recorded, a terminal not in an approved installation is refused at
// sign-in and its lookup refused, both naming the article's
// installed-terminal policy, which the audit entry records; once its
// installation is approved it signs in and looks up again.
func TestInstallationGatesTheTerminal(t *testing.T) {
	for _, prof := range []string{"koto-ward", "aomori-pref"} {
		t.Run(prof, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				f := New(t, d, prof)
				req, terminal, allowPolicy := setUp(t, f)
				r := newRegister(f)
				policy := "koto-ward:11/installed-terminal"
				if prof == "aomori-pref" {
					policy = "aomori-pref:6.1/installed-terminal"
				}
				// The sign-in a clerk makes: the demo's one click, which
				// asks the same question as the authenticator's.
				sa, err := auth.New(f.DB, f.Log, f.Staff, f.Engine, "131083", auth.Config{RPID: "localhost", Origins: []string{"https://localhost"}, Demo: true})
				Must(t, err)
				signIn := func() error {
					_, err := sa.DemoLogin(ctx, req.Actor.ID, terminal)
					return err
				}
				lookup := func() error {
					_, err := f.Gate.Lookup(ctx, req, gate.Key{ResidentCode: "12345678903"})
					return err
				}
				allowed := func(step string) {
					t.Helper()
					if err := signIn(); err != nil {
						t.Fatalf("%s: sign-in refused: %v", step, err)
					}
					if err := lookup(); apperr.CodeOf(err) == apperr.Forbidden {
						t.Fatalf("%s: refused: %v (%s)", step, err, apperr.JapaneseOf(err))
					}
					if e := lastEntry(t, d); e.Decision != auditlog.Allow || e.Policy != allowPolicy {
						t.Errorf("%s: logged as %q %q, want allowed by %s", step, e.Decision, e.Policy, allowPolicy)
					}
				}
				allowed("no room recorded")

				Must(t, r.AddRoom(ctx, f.Admin, facility.Room{ID: "R-COUNTER", Building: "本庁舎", Name: "2階窓口", Level: facility.LevelTerminal}))
				v := f.Engine.MaySignIn(ctx, req.Actor.ID, terminal)
				if v.Allow || v.Policy != policy || !strings.Contains(v.Japanese, "設置") {
					t.Fatalf("sign-in at an uninstalled terminal: %+v, want refused by %s", v, policy)
				}
				if err := signIn(); apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), policy) {
					t.Fatalf("sign-in at an uninstalled terminal: %v (%s), want refused naming %s", err, apperr.JapaneseOf(err), policy)
				}
				err = lookup()
				if apperr.CodeOf(err) != apperr.Forbidden || !strings.Contains(apperr.JapaneseOf(err), "設置") {
					t.Fatalf("lookup at an uninstalled terminal: %v (%s), want refused", err, apperr.JapaneseOf(err))
				}
				if e := lastEntry(t, d); e.Decision != auditlog.Deny || e.Policy != policy {
					t.Errorf("refusal logged as %q %q, want %s", e.Decision, e.Policy, policy)
				}

				Must(t, r.Install(ctx, f.Admin, facility.Installation{Terminal: terminal, Room: "R-COUNTER", Manager: AdminVID}))
				allowed("installed")
				ins, err := r.Installations(ctx)
				Must(t, err)
				if len(ins) != 1 || ins[0].Terminal != terminal || ins[0].Room != "R-COUNTER" || ins[0].Manager != AdminVID || ins[0].ApprovedBy != f.Admin.Actor.String() {
					t.Errorf("installations = %+v", ins)
				}
			})
		})
	}
}

// TestBadInputStoresNothing: every refused change leaves the tables as
// they were and names the field.
func TestBadInputStoresNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		setUp(t, f)
		r := newRegister(f)
		Must(t, r.AddRoom(ctx, f.Admin, facility.Room{ID: "R-SERVER", Building: "本庁舎", Name: "サーバ室", Level: facility.LevelServer}))
		now := f.Clock.Now()
		for _, c := range []struct {
			name  string
			do    func() error
			want  string
			field string // the input the refusal is about (apperr.FieldsOf); none: the whole form
		}{
			{"room without a name", func() error {
				return r.AddRoom(ctx, f.Admin, facility.Room{ID: "R2", Building: "本庁舎", Level: 1})
			}, "室名", "name"},
			{"room at level 4", func() error {
				return r.AddRoom(ctx, f.Admin, facility.Room{ID: "R2", Building: "本庁舎", Name: "倉庫", Level: 4})
			}, "保護レベル", "level"},
			{"room twice", func() error {
				return r.AddRoom(ctx, f.Admin, facility.Room{ID: "R-SERVER", Building: "本庁舎", Name: "サーバ室", Level: 2})
			}, "既に登録", "room"},
			{"authorise an unknown person", func() error { return r.Authorise(ctx, f.Admin, "R-SERVER", "NOBODY") }, "NOBODY", "person"},
			{"authorise for an unknown room", func() error { return r.Authorise(ctx, f.Admin, "R-NONE", Clerk) }, "R-NONE", "room"},
			{"entry without purpose", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Person: Clerk, Dir: facility.In, At: now})
				return err
			}, "目的", "purpose"},
			{"visitor without escort", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Visitor: "保守 太郎（株式会社保守）", Purpose: "点検", Dir: facility.In, At: now})
				return err
			}, "同行", "escort"},
			{"entry in the future", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Person: Clerk, Purpose: "点検", Dir: facility.In, At: now.Add(time.Hour)})
				return err
			}, "現在より後", "time"},
			{"entry to an unknown room", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-NONE", Person: Clerk, Purpose: "点検", Dir: facility.In, At: now})
				return err
			}, "R-NONE", "room"},
			{"install an unknown terminal", func() error {
				return r.Install(ctx, f.Admin, facility.Installation{Terminal: "T-NONE", Room: "R-SERVER", Manager: AdminVID})
			}, "T-NONE", "terminal"},
			{"install without a manager", func() error {
				return r.Install(ctx, f.Admin, facility.Installation{Terminal: "T-KUMIN-01", Room: "R-SERVER"})
			}, "端末機管理者", "manager"},
			{"room with a malformed id", func() error {
				return r.AddRoom(ctx, f.Admin, facility.Room{ID: "サーバ室", Building: "本庁舎", Name: "倉庫", Level: 1})
			}, "室ID「サーバ室」", "room"},
			{"entry by a person and a visitor", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Person: Clerk, Visitor: "保守 太郎", Escort: Clerk, Purpose: "点検", Dir: facility.In, At: now})
				return err
			}, "どちらか一方", "person"},
			{"entry by nobody", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Purpose: "点検", Dir: facility.In, At: now})
				return err
			}, "入退室した職員の照合ID", "person"},
			{"entry sideways", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Person: Clerk, Purpose: "点検", Dir: "up", At: now})
				return err
			}, "入室（in）か退室（out）か", "direction"},
			{"entry at no time", func() error {
				_, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Person: Clerk, Purpose: "点検", Dir: facility.In})
				return err
			}, "入退室の日時を入力", "time"},
			{"revoke who is not authorised", func() error { return r.Revoke(ctx, f.Admin, "R-SERVER", Clerk) }, "認められていません", "person"},
			{"install with an unknown manager", func() error {
				return r.Install(ctx, f.Admin, facility.Installation{Terminal: "T-KUMIN-01", Room: "R-SERVER", Manager: "NOBODY"})
			}, "端末機管理者の照合ID NOBODY", "manager"},
			{"install in an unknown room", func() error {
				return r.Install(ctx, f.Admin, facility.Installation{Terminal: "T-KUMIN-01", Room: "R-NONE", Manager: AdminVID})
			}, "R-NONE", ""},
			{"install by a clerk", func() error {
				return r.Install(ctx, Operator(Clerk, "T-KUMIN-01"), facility.Installation{Terminal: "T-KUMIN-01", Room: "R-SERVER", Manager: AdminVID})
			}, "端末機の設置の承認", ""},
		} {
			err := c.do()
			if err == nil || !strings.Contains(apperr.JapaneseOf(err), c.want) {
				t.Errorf("%s: err = %v (%s), want a message naming %q", c.name, err, apperr.JapaneseOf(err), c.want)
			}
			if got := fieldNames(err); got != c.field {
				t.Errorf("%s: the refusal is about %q, want %q", c.name, got, c.field)
			}
		}
		for _, table := range []string{"facility_authorisation", "facility_entry", "facility_installation"} {
			if n := count(t, d, table); n != 0 {
				t.Errorf("%s holds %d rows after bad input", table, n)
			}
		}
		if n := count(t, d, "facility_room"); n != 1 {
			t.Errorf("facility_room holds %d rows, want 1", n)
		}
	})
}

// TestCardReaderImport: a card reader's CSV with one bad row imports
// nothing and names the line and column; a good one imports every row,
// marking the entry of someone not authorised.
func TestCardReaderImport(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		setUp(t, f)
		r := newRegister(f)
		Must(t, r.AddRoom(ctx, f.Admin, facility.Room{ID: "R-SERVER", Building: "本庁舎", Name: "サーバ室", Level: facility.LevelServer}))
		Must(t, r.Authorise(ctx, f.Admin, "R-SERVER", AdminVID))
		day := f.Clock.Now().In(jptext.JST).Format(time.DateOnly)
		for _, c := range []struct {
			name, csv, want string
		}{
			{"bad time", "room_id,verification_id,direction,time\nR-SERVER,ADMIN01,in," + day + " 08:00\nR-SERVER,ADMIN01,out,昨日\n", "3行目 4列（time）"},
			{"bad direction", "room_id,verification_id,direction,time\nR-SERVER,ADMIN01,enter," + day + " 08:00\n", "2行目 3列（direction）"},
			{"missing id", "room_id,verification_id,direction,time\nR-SERVER,,in," + day + " 08:00\n", "2行目 2列（verification_id）"},
			{"too few columns", "room_id,verification_id,direction,time\nR-SERVER,ADMIN01,in\n", "2行目: 列が3個"},
			{"unknown room", "room_id,verification_id,direction,time\nR-SERVER,ADMIN01,in," + day + " 08:00\n\nR-NONE,ADMIN01,in," + day + " 08:05\n", "4行目"},
			{"no header", "R-SERVER,ADMIN01,in," + day + " 08:00\n", "見出し"},
		} {
			n, _, err := r.ImportCSV(ctx, f.Admin, strings.NewReader(c.csv))
			if err == nil || n != 0 || !strings.Contains(apperr.JapaneseOf(err), c.want) {
				t.Errorf("%s: stored %d, err = %v (%s), want a refusal naming %q", c.name, n, err, apperr.JapaneseOf(err), c.want)
			}
			if got := count(t, d, "facility_entry"); got != 0 {
				t.Fatalf("%s: %d entries stored, want none", c.name, got)
			}
		}
		good := "room_id,verification_id,direction,time\nR-SERVER,ADMIN01,in," + day + " 08:00\nR-SERVER,ADMIN01,out," + day + "T08:30:00+09:00\nR-SERVER," + Clerk + ",in," + day + " 08:40\n"
		n, bad, err := r.ImportCSV(ctx, f.Admin, strings.NewReader(good))
		Must(t, err)
		if n != 3 || bad != 1 {
			t.Errorf("imported %d, %d unauthorised; want 3, 1", n, bad)
		}
		es, err := r.Entries(ctx, 10)
		Must(t, err)
		if len(es) != 3 || es[0].Person != Clerk || es[0].Authorised || !es[1].Authorised || es[0].Source != "card" {
			t.Errorf("entries = %+v", es)
		}
	})
}

// TestUnauthorisedEntryRaisesAlert: an entry by someone not authorised for
// the room (a visitor: their escort) raises a room-entry alert in the
// detection, one per person and day, whose count grows when a later
// card-reader import adds another such entry that day; an authorised
// entry raises nothing.
func TestUnauthorisedEntryRaisesAlert(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		setUp(t, f)
		r := newRegister(f)
		det, err := detect.New(f.DB, f.Log, f.Engine, "test", detect.DefaultSettings)
		Must(t, err)
		Must(t, r.AddRoom(ctx, f.Admin, facility.Room{ID: "R-SERVER", Building: "本庁舎", Name: "サーバ室", Level: facility.LevelServer}))
		Must(t, r.Authorise(ctx, f.Admin, "R-SERVER", AdminVID))
		now := f.Clock.Now()
		for _, e := range []facility.Entry{
			{Room: "R-SERVER", Person: AdminVID, Purpose: "点検", Dir: facility.In, At: now.Add(-50 * time.Minute)},
			{Room: "R-SERVER", Person: Clerk, Purpose: "書類の受け取り", Dir: facility.In, At: now.Add(-40 * time.Minute)},
			{Room: "R-SERVER", Visitor: "保守 太郎（株式会社保守）", Escort: "SO-KUMIN", Purpose: "保守", Dir: facility.In, At: now.Add(-30 * time.Minute)},
		} {
			got, err := r.RecordEntry(ctx, f.Admin, e)
			Must(t, err)
			if want := e.Person == AdminVID; got.Authorised != want {
				t.Errorf("entry of %s%s: authorised %t, want %t", e.Person, e.Visitor, got.Authorised, want)
			}
		}
		alerts := func() map[string]detect.Alert {
			t.Helper()
			_, err := det.Run(ctx)
			Must(t, err)
			list, err := detect.List(ctx, f.DB, true)
			Must(t, err)
			out := map[string]detect.Alert{}
			for _, a := range list {
				if a.Rule == detect.RuleRoomEntry {
					out[a.Subject] = a
				}
			}
			return out
		}
		got := alerts()
		if len(got) != 2 || got["operator:"+Clerk].Count != 1 || got["operator:SO-KUMIN"].Count != 1 {
			t.Fatalf("room-entry alerts = %+v, want one for %s and one for the escort SO-KUMIN", got, Clerk)
		}
		if a := got["operator:"+Clerk]; !strings.Contains(a.DetailJA, "R-SERVER") {
			t.Errorf("alert detail %q does not name the room", a.DetailJA)
		}
		at := now.Add(-20 * time.Minute).In(jptext.JST).Format("2006-01-02 15:04")
		_, _, err = r.ImportCSV(ctx, f.Admin, strings.NewReader("room_id,verification_id,direction,time\nR-SERVER,"+Clerk+",in,"+at+"\n"))
		Must(t, err)
		if got := alerts(); len(got) != 2 || got["operator:"+Clerk].Count != 2 {
			t.Errorf("after a second unauthorised entry: %+v, want the count of %s's alert 2", got, Clerk)
		}

		// Withdrawn, the administrator's next entry is unauthorised.
		Must(t, r.Revoke(ctx, f.Admin, "R-SERVER", AdminVID))
		if err := r.Revoke(ctx, f.Admin, "R-SERVER", AdminVID); apperr.CodeOf(err) != apperr.NotFound {
			t.Errorf("revoked twice: %v", err)
		}
		e, err := r.RecordEntry(ctx, f.Admin, facility.Entry{Room: "R-SERVER", Person: AdminVID, Purpose: "点検", Dir: facility.In, At: now.Add(-10 * time.Minute)})
		Must(t, err)
		if e.Authorised {
			t.Errorf("an entry after the authorisation was withdrawn is authorised")
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

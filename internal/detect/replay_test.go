package detect_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/detect"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/profile"
	"jukinet/internal/protect"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

// world is a koto-ward node for replaying a misuse case through the gate
// (the cases read residents 3–10, the normal days 11–13 and 20–39):
// the 区民課 (clerk K0001 and six more, K0011–K0016, designated for
// 住民票の写し等の交付), the 納税課 (N0001, designated for 特別区税の徴収,
// an affair whose profile requires a case reference), forty residents, and
// the detector with the thresholds of jukinet.toml's defaults and the
// profile's affairs.
type world struct {
	f         *Fixture
	det       *detect.Detector
	residents []resident.IdentityRecord
	base      time.Time // midnight of the first office day after the set-up
}

var kuminClerks = []string{Clerk, "K0011", "K0012", "K0013", "K0014", "K0015", "K0016"}

func newWorld(t *testing.T, d *db.DB) *world {
	t.Helper()
	ctx := context.Background()
	f := NewAt(t, d, "koto-ward", clocktest.New())
	f.SetUpWard(t)
	f.Gate.Alarm = detect.Alarm
	a := f.Admin
	given := []string{"二郎", "三郎", "四郎", "五郎", "六郎", "七郎"}
	for i, vid := range kuminClerks[1:] {
		Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: vid, Name: "窓口 " + given[i], NameKana: "マドグチ", Department: "kumin", Title: "主事"}))
		Must(t, f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), vid, "juminhyo-copy"))
	}
	Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "SO-NOZEI", Name: "納税 課長", Department: "nozei", Title: "納税課長"}))
	Must(t, f.Staff.AddPerson(ctx, a, staff.Person{VerificationID: "N0001", Name: "徴収 三郎", NameKana: "チョウシュウ サブロウ", Department: "nozei", Title: "主事"}))
	Must(t, f.Staff.AssignRole(ctx, a, "SO-NOZEI", profile.SecurityOfficer, "nozei"))
	Must(t, f.Staff.ApproveTerminal(ctx, a, staff.Terminal{ID: "T-NOZEI-01", Name: "納税課1", Department: "nozei", Location: "本庁舎3階"}))
	f.Train(t, 30, append(slices.Clone(kuminClerks[1:]), "N0001")...)
	f.Approve(t, Operator("SO-NOZEI", "T-NOZEI-01"), "nozei", "tax-collection", []string{"T-NOZEI-01"}, "N0001")

	g, err := synth.New(synth.Options{Seed: 11, LocalGov: "131083"})
	Must(t, err)
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	var rs []resident.IdentityRecord
	for range 40 {
		r := g.Next()
		rs = append(rs, r)
		Must(t, w.Write(r))
	}
	Must(t, w.Close())
	console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:server", Affair: "juki", Reason: "初期移行"}
	_, err = f.Gate.Import(ctx, console, &buf, "")
	Must(t, err)

	det, err := detect.New(d, f.Log, f.Engine, "131083", detect.DefaultSettings.WithProfile(f.Profile))
	Must(t, err)
	day := jptext.Midnight(f.Clock.Now()).AddDate(0, 0, 1)
	for !detect.OfficeDay(day) {
		day = day.AddDate(0, 0, 1)
	}
	return &world{f: f, det: det, residents: rs, base: day}
}

// officeDay is the n-th office day after the first (0: the first).
func (w *world) officeDay(n int) time.Time {
	day := w.base
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if detect.OfficeDay(day) {
			n--
		}
	}
	return day
}

// at sets the node's clock to hh:mm on the n-th office day.
func (w *world) at(n, hh, mm int) {
	w.f.Clock.Set(w.officeDay(n).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute))
}

func (w *world) code(i int) string { return string(w.residents[i].ResidentCode) }

// lookUp is a look-up at the gate that must be allowed.
func (w *world) lookUp(t *testing.T, vid, affair, caseRef, reason string, resident int) {
	t.Helper()
	terminal := "T-KUMIN-01"
	if strings.HasPrefix(vid, "N") {
		terminal = "T-NOZEI-01"
	}
	req := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "terminal:" + terminal, Affair: affair, Reason: reason, CaseRef: caseRef}
	if _, err := w.f.Gate.Lookup(context.Background(), req, gate.Key{ResidentCode: w.code(resident)}); err != nil {
		t.Fatalf("%s looks up resident %d: %v", vid, resident, err)
	}
}

// normalDay is a clerk's ordinary day at the counter: twenty residents
// (20–39), each once, within office hours, and the 納税課 clerk's three look-ups,
// each with the case it is for.
func (w *world) normalDay(t *testing.T, n int) {
	for i := range 20 {
		w.at(n, 9, 5+i*20)
		caseRef := ""
		if i%2 == 0 {
			caseRef = fmt.Sprintf("受付-%d", 100+i)
		}
		w.lookUp(t, Clerk, "juminhyo-copy", caseRef, "窓口での本人申請", 20+i)
	}
	for i := range 3 {
		w.at(n, 14, 10+i*30)
		w.lookUp(t, "N0001", "tax-collection", fmt.Sprintf("滞納-R8-%03d", i), "滞納整理", 11+i)
	}
}

// found returns the alerts as "rule subject", sorted.
func found(t *testing.T, d *db.DB) []string {
	t.Helper()
	as, err := detect.List(context.Background(), d, true)
	Must(t, err)
	var out []string
	for _, a := range as {
		out = append(out, a.Rule+" "+a.Subject)
		if a.DetailJA == "" || a.Detail == "" {
			t.Errorf("alert %s %s is not explained: %+v", a.Rule, a.Subject, a)
		}
	}
	slices.Sort(out)
	return out
}

// TestReplayedMisuseCases replays, through the gate on the node's clock,
// the misuse cases jukinet's rules come from (docs/detection.md,
// shared/domain.md §6), each on a node of its own after a normal day's
// work, and runs the detection: each raises the alert expected and no
// other, and a normal clerk's day raises none.
//   - 横手: seven staff open the record of a resident in the news, out of
//     curiosity, one by one through the day → crowd (the resident).
//   - the same within an hour, three staff → spike (faster than crowd).
//   - 延岡: a clerk of an affair that requires a case reference looks up a
//     celebrity with none → no-case-ref (the clerk).
//   - 高知: a clerk looks up a colleague's acquaintance three times within
//     hours, with no case → repeat (the clerk); or once on each of three
//     office days → repeat, on the third.
//   - after hours: a look-up at 19:30 → after-hours (the clerk).
//   - a relative: a clerk opens a resident sharing their surname, with no
//     case → kin (the clerk), a weak signal.
//   - a protected resident (支援措置) looked up with a case reference: the
//     immediate alert, raised by the gate before any detection run, and
//     nothing else.
func TestReplayedMisuseCases(t *testing.T) {
	for _, c := range []struct {
		name   string
		replay func(t *testing.T, w *world) []string // the alerts expected
	}{
		{"normal day", func(t *testing.T, w *world) []string {
			w.normalDay(t, 1)
			return nil
		}},
		{"横手 (crowd)", func(t *testing.T, w *world) []string {
			for i, vid := range kuminClerks {
				w.at(1, 9, 10+i*65) // more than an hour apart: a day's curiosity
				w.lookUp(t, vid, "juminhyo-copy", "", "住所の確認", 3)
			}
			return []string{"crowd " + w.code(3)}
		}},
		{"spike", func(t *testing.T, w *world) []string {
			for i, vid := range kuminClerks[:3] {
				w.at(1, 13, 5+i*20)
				w.lookUp(t, vid, "juminhyo-copy", "", "住所の確認", 4)
			}
			return []string{"spike " + w.code(4)}
		}},
		{"延岡 (no case reference)", func(t *testing.T, w *world) []string {
			w.at(1, 16, 40)
			w.lookUp(t, "N0001", "tax-collection", "", "確認", 5)
			return []string{"no-case-ref operator:N0001"}
		}},
		{"高知 (within hours)", func(t *testing.T, w *world) []string {
			for _, hm := range [][2]int{{10, 5}, {11, 40}, {14, 20}} {
				w.at(1, hm[0], hm[1])
				w.lookUp(t, Clerk, "juminhyo-copy", "", "確認", 6)
			}
			return []string{"repeat operator:" + Clerk}
		}},
		{"高知 (over days)", func(t *testing.T, w *world) []string {
			for n := 1; n <= 3; n++ {
				w.at(n, 16, 50)
				w.lookUp(t, Clerk, "juminhyo-copy", "", "確認", 7)
			}
			return []string{"repeat operator:" + Clerk}
		}},
		{"after hours", func(t *testing.T, w *world) []string {
			w.at(1, 19, 30)
			w.lookUp(t, Clerk, "juminhyo-copy", "受付-900", "窓口での本人申請", 8)
			return []string{"after-hours operator:" + Clerk}
		}},
		{"relative (kin)", func(t *testing.T, w *world) []string {
			r := w.residents[9]
			ctx := context.Background()
			Must(t, w.f.Staff.AddPerson(ctx, w.f.Admin, staff.Person{VerificationID: "K0020", Name: r.FamilyName + " 花子", NameKana: r.FamilyNameKana + " ハナコ", Department: "kumin", Title: "主事"}))
			Must(t, w.f.Staff.Designate(ctx, Operator("SO-KUMIN", "T-KUMIN-01"), "K0020", "juminhyo-copy"))
			w.f.Train(t, 30, "K0020")
			w.at(1, 11, 0)
			w.lookUp(t, "K0020", "juminhyo-copy", "", "確認", 9)
			return []string{"kin operator:K0020"}
		}},
		{"protected resident", func(t *testing.T, w *world) []string {
			day := w.officeDay(1)
			w.at(1, 8, 45)
			_, err := w.f.Protect.Mark(context.Background(), Operator("SO-KUMIN", "T-KUMIN-01"),
				protect.Mark{ResidentCode: w.code(10), Start: day, End: day.AddDate(0, 3, 0), Department: "kumin", Category: "dv"})
			Must(t, err)
			w.at(1, 10, 30)
			w.lookUp(t, Clerk, "juminhyo-copy", "受付-777", "窓口での本人申請", 10)
			// Raised by the gate, before any detection run.
			if got := found(t, w.f.DB); fmt.Sprint(got) != fmt.Sprint([]string{"protected operator:" + Clerk}) {
				t.Fatalf("before the detection run: %v", got)
			}
			return []string{"protected operator:" + Clerk}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, d *db.DB) {
				w := newWorld(t, d)
				w.normalDay(t, 0)
				want := c.replay(t, w)
				if _, err := w.det.Run(context.Background()); err != nil {
					t.Fatal(err)
				}
				slices.Sort(want)
				if got := found(t, d); fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("alerts:\n got  %v\n want %v", got, want)
				}
			})
		})
	}
}

// The system audits' evidence names the rules by their ids
// (internal/sysaudit evidence_protect.go, which cannot import this package).
func TestRuleIDsAreStable(t *testing.T) {
	for _, r := range []string{"protected", "no-case-ref", "repeat", "kin", "spike"} {
		if !slices.Contains(detect.Rules, r) {
			t.Errorf("rule %s is gone: update internal/sysaudit/evidence_protect.go", r)
		}
	}
}

package policy_test

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/facility"
	"jukinet/internal/gate"
	"jukinet/internal/jptext"
	. "jukinet/internal/policy/policytest"
	"jukinet/internal/resident"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
	"jukinet/internal/training"
)

// addStaff registers n staff members S0000 … across the profile's
// departments, with no training, contract or room of their own.
func addStaff(t testing.TB, f *Fixture, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		dept := f.Profile.Departments[i%len(f.Profile.Departments)].ID
		Must(t, f.Staff.AddPerson(context.Background(), f.Admin, staff.Person{VerificationID: fmt.Sprintf("S%04d", i), Name: "職員", Department: dept, Title: "主事"}))
	}
}

// govern gives a ward fixture (SetUpWard, addStaff(people)) the governance
// facts of a large ward: every staff member S0000 … attended every course
// three times (400, 200 and 30 days ago); contracts contracts in force for
// two years, each holding the five clauses and covering four of them (the
// first 4×contracts are contractors); rooms — a server room and a terminal
// area per department, 区民課's and 課税課's terminals installed in theirs,
// which turns the installed-terminal rule on.
func govern(t testing.TB, f *Fixture, people, contracts int) {
	t.Helper()
	ctx := context.Background()
	vids := make([]string, people)
	for i := range vids {
		vids[i] = fmt.Sprintf("S%04d", i)
	}
	today := f.Clock.Now().In(jptext.JST)
	today = time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, jptext.JST)
	for _, days := range []int{400, 200, 30} {
		for _, c := range f.Profile.Courses {
			for group := range slices.Chunk(vids, 500) { // a session holds at most 500
				_, err := f.Training.Record(ctx, f.Admin, training.Session{Course: c.ID, Day: today.AddDate(0, 0, -days), Trainer: "管理 太郎", Material: "研修テキスト", Attendees: group})
				Must(t, err)
			}
		}
	}
	for i := 0; i < contracts; i++ {
		f.Contract(t, fmt.Sprintf("委託先%02d株式会社", i), 30, 730, nil, vids[4*i:4*i+4]...)
	}
	fr := facility.New(f.DB, f.Log, f.Engine, "131083")
	fr.Now = f.Clock.Now
	fr.OnChange(f.Engine.Invalidate)
	Must(t, fr.AddRoom(ctx, f.Admin, facility.Room{ID: "R-SERVER", Building: "本庁舎", Name: "サーバ室", Level: facility.LevelServer}))
	for _, d := range f.Profile.Departments {
		Must(t, fr.AddRoom(ctx, f.Admin, facility.Room{ID: "R-" + strings.ToUpper(d.ID), Building: "本庁舎", Name: d.Name + "端末室", Level: facility.LevelTerminal}))
	}
	Must(t, fr.Install(ctx, f.Admin, facility.Installation{Terminal: "T-KUMIN-01", Room: "R-KUMIN", Manager: "SO-KUMIN"}))
	Must(t, fr.Install(ctx, f.Admin, facility.Installation{Terminal: "T-KAZEI-01", Room: "R-KAZEI", Manager: "SO-KAZEI"}))
}

// importResidents stores n synthetic residents of 江東区 through the gate
// and returns their codes.
func importResidents(t testing.TB, f *Fixture, n int) []string {
	t.Helper()
	g, err := synth.New(synth.Options{Seed: 3, LocalGov: "131083"})
	Must(t, err)
	var buf bytes.Buffer
	w := resident.NewCSVWriter(&buf, resident.UTF8)
	codes := make([]string, n)
	for i := range codes {
		r := g.Next()
		codes[i] = string(r.ResidentCode)
		Must(t, w.Write(r))
	}
	Must(t, w.Close())
	console := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Origin: "host:test", Affair: "juki", Reason: "テストデータ"}
	_, err = f.Gate.Import(context.Background(), console, &buf, resident.UTF8)
	Must(t, err)
	return codes
}

// statements records what an operation asks of the database, leaving out
// the audit log's own statements (the entry of a lookup, and a checkpoint
// its committer may sign meanwhile), which the governance facts do not
// touch.
type statements struct {
	mu   sync.Mutex
	seen []string
}

// auditLogStatement matches the audit log's statements: those on its
// tables and its writers' lock (PostgreSQL).
var auditLogStatement = regexp.MustCompile(`(FROM|INTO|UPDATE|JOIN) audit_(entry|tile|subject|checkpoint|cosignature)\b|pg_advisory_xact_lock`)

func (s *statements) observe(d *db.DB) (stop func()) {
	return d.Observe(func(q string) {
		if auditLogStatement.MatchString(q) {
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, strings.Join(strings.Fields(q), " "))
		s.mu.Unlock()
	})
}

func (s *statements) take() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.seen
	s.seen = nil
	return out
}

// TestDecisionReadsOnlyTheVersion proves the issue's "no extra query per
// lookup" on both databases: the governance facts (training, contracts,
// rooms) live in the policy engine's snapshot, so once it is built a
// decision asks the database for the staff version and nothing else —
// allowed or refused, whoever asks, and when time alone moves a training
// past its expiry. A change to the record (a training session) rebuilds
// the snapshot once; the next decision is back to the version alone. An
// audited lookup runs the same statements, outside the audit log's, with
// the facts of a large ward as without them.
func TestDecisionReadsOnlyTheVersion(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		f := New(t, d, "koto-ward")
		f.SetUpWard(t)
		addStaff(t, f, 40)
		codes := importResidents(t, f, 3)
		var st statements
		stop := st.observe(d)
		defer stop()

		_, err := staff.Version(ctx, d)
		Must(t, err)
		version := st.take()
		if len(version) != 1 {
			t.Fatalf("the version check ran %d statements: %q", len(version), version)
		}
		clerk := gate.Request{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: Clerk}, Origin: "terminal:T-KUMIN-01", Affair: "juminhyo-copy", Reason: "窓口での本人申請"}
		lookup := func() []string {
			t.Helper()
			st.take()
			if _, err := f.Gate.Lookup(ctx, clerk, gate.Key{ResidentCode: codes[0]}); err != nil {
				t.Fatalf("lookup: %v", err)
			}
			return st.take()
		}
		lookup() // builds the snapshot
		bare := lookup()

		govern(t, f, 40, 5)
		lookup() // rebuilds the snapshot with the facts
		governed := lookup()
		if strings.Join(governed, "\n") != strings.Join(bare, "\n") {
			t.Errorf("an audited lookup ran, with the governance facts:\n%s\nwithout them:\n%s", strings.Join(governed, "\n"), strings.Join(bare, "\n"))
		}
		if len(governed) != 2 || governed[0] != version[0] || !strings.Contains(governed[1], "FROM resident") {
			t.Errorf("an audited lookup ran, outside the audit log, %q; want the staff version check and the record's read", governed)
		}
		for _, q := range governed {
			for _, table := range []string{"training", "contract", "facility", "staff_person", "staff_designation"} {
				if strings.Contains(q, table) {
					t.Errorf("an audited lookup read %s: %s", table, q)
				}
			}
		}

		// Decisions on a current snapshot: the version alone, whoever asks.
		questions := []gate.Question{
			question(Clerk, "T-KUMIN-01", "juminhyo-copy", "lookup"),   // allowed
			question("K0002", "T-KAZEI-01", "juminhyo-copy", "lookup"), // no approval for 課税課
			question("S0000", "T-KUMIN-01", "juki", "lookup"),          // a contractor, not designated
			question(Clerk, "T-NOWHERE", "juminhyo-copy", "lookup"),    // no such terminal
		}
		decide := func(want bool, what string) {
			t.Helper()
			st.take()
			for i := 0; i < 10; i++ {
				for j, q := range questions {
					if v := f.Engine.Decide(ctx, q); v.Allow != (j == 0 && want) {
						t.Fatalf("%s: question %d: %+v", what, j, v)
					}
				}
			}
			got := st.take()
			if len(got) != 10*len(questions) || strings.Count(strings.Join(got, "\n"), version[0]) != len(got) {
				t.Errorf("%s: %d decisions ran %d statements, want the version check each:\n%s", what, 10*len(questions), len(got), strings.Join(got, "\n"))
			}
		}
		decide(true, "after warm-up")

		// A change to the record rebuilds the snapshot once.
		f.Train(t, 0, "K0002")
		st.take()
		f.Engine.Decide(ctx, questions[0])
		if got := st.take(); len(got) <= 1 || !strings.Contains(strings.Join(got, "\n"), "training") {
			t.Errorf("the decision after a training session did not rebuild the snapshot: %q", got)
		}
		decide(true, "after the rebuild")

		// Time alone: past the clerk's training (attended 30 days ago, a
		// year's validity) the clerk is refused, with no query of its own.
		f.Clock.Advance(365 * 24 * time.Hour)
		if v := f.Engine.Decide(ctx, questions[0]); v.Allow || !strings.HasSuffix(v.Policy, "/trained-operator") {
			t.Fatalf("the clerk past their training's expiry: %+v", v)
		}
		decide(false, "past the training's expiry")
	})
}

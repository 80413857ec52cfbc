package node_test

import (
	"context"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/form"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// checkDemoForms: the demo's forms register (koto-ward:14) holds the
// audit report disposed of by shredding with its witness, a stored status
// report, and a paper form carried over that is overdue on the node's
// clock; its record of program changes one change, approved.
func checkDemoForms(t *testing.T, n *node.Node) {
	t.Helper()
	ctx := context.Background()
	all, err := form.List(ctx, n.DB, form.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[form.Kind]form.Form{}
	for _, f := range all {
		byKind[f.Kind] = f
	}
	if len(all) != 3 {
		t.Fatalf("%d demo forms, want 3: %+v", len(all), all)
	}
	rep, err := form.Get(ctx, n.DB, byKind[form.KindSysauditReport].Number)
	if err != nil {
		t.Fatal(err)
	}
	if rep.State != form.Disposed || len(rep.Steps) != 2 || rep.Steps[1].Method != form.Shred || rep.Steps[1].Witness != node.DemoChief {
		t.Errorf("the demo report: %+v", rep)
	}
	if st := byKind[form.KindUsageStatus]; st.State != form.Stored || st.IssuedBy != "operator:"+node.DemoOfficer {
		t.Errorf("the demo status report: %+v", st)
	}
	over, err := form.Overdue(ctx, n.DB, n.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(over) != 1 || over[0].Kind != form.KindExisting {
		t.Errorf("overdue demo forms: %+v", over)
	}
	changes, err := form.ProgramChanges(ctx, n.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || changes[0].Baseline || !changes[0].Approved() || changes[0].Previous.Version != node.DemoPreviousVersion || !changes[1].Baseline {
		t.Errorf("the demo's program changes: %+v", changes)
	}
}

// TestProgramChangeOnRestart (koto-ward:14): a node records the program it
// starts with; reopened with the same program it records nothing; reopened
// with another profile digest it records an unapproved program change,
// logged by the node, which the console (the system administrator's
// policies) approves with a note.
func TestProgramChangeOnRestart(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"sqlite", func(t *testing.T) string { return "" }},
		{"postgres", func(t *testing.T) string { return dbtest.MigratedPostgresURL(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			clock := clocktest.New()
			opt := node.InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", DatabaseURL: tt.url(t)}
			opt.Now = clock.Now
			if _, err := node.Init(ctx, opt); err != nil {
				t.Fatal(err)
			}
			n := openDemo(t, dir, clock)
			first := n.Program
			if first.ProfileDigest != n.Profile.Digest || first.ProfileID != "koto-ward" || first.Version == "" {
				t.Errorf("the program recorded: %+v", first)
			}
			n.Close()
			n = openDemo(t, dir, clock)
			if un, err := form.Unapproved(ctx, n.DB); err != nil || len(un) != 0 {
				t.Fatalf("the same program again: %+v %v", un, err)
			}
			n.Close()

			// The same binary with another profile: a program change.
			n, err := node.Open(ctx, dir)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			n.Now = clock.Now
			n.Program = first
			n.Program.ProfileDigest = strings.Repeat("ab", 32)
			if err := n.OpenGate(ctx, nil); err != nil {
				t.Fatal(err)
			}
			un, err := form.Unapproved(ctx, n.DB)
			if err != nil || len(un) != 1 || un[0].Previous != first || strings.Join(un[0].What(), ",") != "profile" {
				t.Fatalf("after a changed profile: %+v %v", un, err)
			}
			l, err := auditlog.List(ctx, n.DB, auditlog.Filter{After: -1, Limit: 1, Newest: true, Action: "form.program-change"})
			if err != nil || len(l) != 1 || l[0].Entry.Actor.Kind != auditlog.ActorSystem || l[0].Entry.Seq != un[0].Seq {
				t.Fatalf("the change's entry: %+v %v", l, err)
			}
			console := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "root"}, Origin: "host:test"}
			if err := n.Forms.ApproveProgramChange(ctx, console, un[0].ID, "プロファイルの改正を確認"); err != nil {
				t.Fatal(err)
			}
			if un, _ := form.Unapproved(ctx, n.DB); len(un) != 0 {
				t.Errorf("approved, still listed: %+v", un)
			}
		})
	}
}

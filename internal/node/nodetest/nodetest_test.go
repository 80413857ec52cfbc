package nodetest

import (
	"context"
	"os"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/node"
	"jukinet/internal/staff"
)

// TestDemoCopyIsAFreshDemoNode: a copied demo node holds what a demo node
// made afresh holds (staff, audit entries), its log verifies, its clock is
// not behind its last entry, and two copies are independent nodes in
// folders of their own.
func TestDemoCopyIsAFreshDemoNode(t *testing.T) {
	if os.Getenv(auditlog.EnvTestJournal) == "1" {
		t.Log("journaled: the copies' logs journal what they append from here on")
	}
	ctx := context.Background()
	opt := node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true}
	fresh := OpenAt(t, opt, clocktest.New())
	a, clockA := Open(t, opt)
	b, _ := Open(t, opt)
	if a.Dir == b.Dir || a.Dir == fresh.Dir {
		t.Fatalf("copies share a folder: %s, %s, %s", fresh.Dir, a.Dir, b.Dir)
	}

	size := func(n *node.Node) int64 {
		t.Helper()
		if err := n.Log.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		s, err := n.Log.Size(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	staffCount := func(n *node.Node) int {
		t.Helper()
		st, err := staff.Load(ctx, n.DB)
		if err != nil {
			t.Fatal(err)
		}
		return len(st.People) + len(st.Terminals)
	}
	if got, want := size(a), size(fresh); got != want || want == 0 {
		t.Errorf("copy's log: %d entries, a fresh demo node's %d", got, want)
	}
	if got, want := staffCount(a), staffCount(fresh); got != want || want == 0 {
		t.Errorf("copy's staff: %d, a fresh demo node's %d", got, want)
	}

	// The copy's clock goes on from the original's: never behind its log.
	last, err := auditlog.List(ctx, a.DB, auditlog.Filter{After: -1, Limit: 1, Newest: true})
	if err != nil || len(last) != 1 {
		t.Fatalf("newest entry of the copy: %v (%d listed)", err, len(last))
	}
	if now := clockA.Now(); now.Before(last[0].Entry.Time) {
		t.Errorf("copy's clock %s is behind its newest entry %s", now, last[0].Entry.Time)
	}
	if _, err := a.Log.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := auditlog.Verify(ctx, a.DB, a.Verifier); err != nil {
		t.Errorf("copy's log: %v", err)
	}

	// What one copy appends is in its log only.
	before := size(b)
	if _, err := a.Log.Append(ctx, auditlog.Entry{Node: a.Code(), Actor: auditlog.Actor{Kind: auditlog.ActorConsole, ID: "test"}, Action: "test", Decision: "allow", Policy: "test", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if got := size(b); got != before {
		t.Errorf("the other copy's log went from %d to %d entries", before, got)
	}
}

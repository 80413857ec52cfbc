package node_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"jukinet/internal/asset"
	"jukinet/internal/auditlog"
	"jukinet/internal/clocktest"
	"jukinet/internal/contract"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/facility"
	"jukinet/internal/gate"
	"jukinet/internal/node"
)

// TestDemoSeedsGovernance opens a demo node on both databases and checks
// what a newcomer finds in it (issue 16): the operator whose training
// expired is refused naming the course while the demo operator is not;
// two contracts in force, one with the five clauses and its contractor
// allowed, one lacking 再委託の禁止 and its contractor refused naming it;
// the rooms and the terminal's installation; the register of information
// assets with a retired medium and its erasure record. Opening the node
// again seeds nothing twice.
func TestDemoSeedsGovernance(t *testing.T) {
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
			opt := node.InitOptions{Dir: dir, Profile: "koto-ward", LocalGovCode: "131083", Demo: true, DatabaseURL: tt.url(t)}
			opt.Now = clock.Now
			if _, err := node.Init(ctx, opt); err != nil {
				t.Fatal(err)
			}
			n := openDemo(t, dir, clock)
			checkDemo(t, n)
			entries := auditCount(t, n)
			n.Close()

			// A second opening (the demo run again) seeds nothing.
			n2 := openDemo(t, dir, clock)
			defer n2.Close()
			checkDemo(t, n2)
			if got := auditCount(t, n2); got != entries {
				t.Errorf("the second opening wrote %d audit entries, want none", got-entries)
			}
		})
	}
}

// openDemo opens the node in dir and its gate, which seeds a demo node.
func openDemo(t *testing.T, dir string, clock *clocktest.Clock) *node.Node {
	t.Helper()
	n, err := node.Open(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	n.Now = clock.Now
	if err := n.OpenGate(context.Background(), nil); err != nil {
		n.Close()
		t.Fatal(err)
	}
	return n
}

func auditCount(t *testing.T, n *node.Node) int64 {
	t.Helper()
	var c int64
	if err := n.DB.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_entry`).Scan(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func checkDemo(t *testing.T, n *node.Node) {
	t.Helper()
	ctx := context.Background()
	now := n.Now()
	decide := func(vid string) gate.Verdict {
		return n.Policy.Decide(ctx, gate.Question{Action: "lookup", Request: gate.Request{
			Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: vid}, Origin: "terminal:" + node.DemoTerminal,
			Affair: "juminhyo-copy", Reason: "窓口での本人申請"}})
	}

	// Training (koto-ward:10): one operator whose training has run out.
	if v := decide(node.DemoOperator); !v.Allow {
		t.Errorf("the demo operator is refused: %+v", v)
	}
	if v := decide(node.DemoUntrained); v.Allow || v.Policy != "koto-ward:10/trained-operator" || !strings.Contains(v.Japanese, "「住基ネット機器操作研修」の受講の有効期限が") {
		t.Errorf("the operator whose training expired: %+v", v)
	}

	// Outsourcing: two contracts in force, the second lacking one clause.
	cs, err := contract.List(ctx, n.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d demo contracts, want 2: %+v", len(cs), cs)
	}
	byVendor := map[string]contract.Contract{}
	for _, c := range cs {
		byVendor[c.Vendor] = c
		if !c.InForce(now) {
			t.Errorf("contract %d (%s) is not in force on %s: %s to %s", c.ID, c.Vendor, now, c.Start, c.End)
		}
		if c.ApprovedBy != "operator:"+node.DemoAdmin || c.Survey == "" {
			t.Errorf("contract %d: approved by %q after %q", c.ID, c.ApprovedBy, c.Survey)
		}
	}
	full, lacking := byVendor[node.DemoVendor], byVendor[node.DemoVendorLacking]
	if len(full.Missing()) != 0 || !slices.Equal(full.People, []string{node.DemoContractor}) {
		t.Errorf("%s: missing %v, people %v", node.DemoVendor, full.Missing(), full.People)
	}
	if m := lacking.Missing(); len(m) != 1 || m[0].ID != node.DemoLackingClause || !slices.Equal(lacking.People, []string{node.DemoContractorLacking}) {
		t.Errorf("%s: missing %v, people %v", node.DemoVendorLacking, m, lacking.People)
	}
	if v := decide(node.DemoContractor); !v.Allow {
		t.Errorf("the contractor under the complete contract is refused: %+v", v)
	}
	if v := decide(node.DemoContractorLacking); v.Allow || v.Policy != "koto-ward:3/contract-clauses" || !strings.Contains(v.Japanese, "「再委託の禁止」の約定がありません") {
		t.Errorf("the contractor under the contract lacking a clause: %+v", v)
	}

	// Rooms: the terminal's installation is approved in the terminal area.
	ins, err := n.Facilities.Installations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ins, func(i facility.Installation) bool {
		return i.Terminal == node.DemoTerminal && i.Room == node.DemoCounterRoom
	}) {
		t.Errorf("installations: %+v", ins)
	}

	// Information assets: server, program, data set in use; the medium
	// retired with its erasure record; the terminal from its approval.
	all, err := n.Assets.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]asset.Asset{}
	for _, a := range all {
		got[a.ID] = a
	}
	for id, kind := range map[string]asset.Kind{node.DemoServerAsset: asset.KindServer, node.DemoProgramAsset: asset.KindProgram,
		node.DemoDataAsset: asset.KindDataset, node.DemoTerminal: asset.KindTerminal} {
		if a, ok := got[id]; !ok || a.Kind != kind || !a.InUse() {
			t.Errorf("asset %s: %+v, want a %s in use", id, a, kind)
		}
	}
	if a := got[node.DemoServerAsset]; a.Manager != node.DemoAdmin || !a.HoldsData {
		t.Errorf("server: managed by %q, holds data %t", a.Manager, a.HoldsData)
	}
	md, ok := got[node.DemoRetiredMedium]
	if !ok || md.Kind != asset.KindMedia || md.InUse() || md.Retired.Erasure == nil {
		t.Fatalf("retired medium: %+v", md)
	}
	if e := md.Retired.Erasure; e.Method != asset.Degauss || e.Witness != node.DemoChief || !strings.Contains(e.By, node.DemoVendor) {
		t.Errorf("erasure record: %+v", e)
	}
	if len(all) != 5 {
		t.Errorf("%d assets, want the demo's 4 and its terminal", len(all))
	}
	checkDemoAudit(t, n)
	checkDemoForms(t, n)
}

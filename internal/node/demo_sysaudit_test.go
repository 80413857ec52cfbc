package node_test

import (
	"context"
	"strings"
	"testing"

	"jukinet/internal/node"
	"jukinet/internal/sysaudit"
)

// checkDemoAudit: the demo holds one audit (issue 17) planned by the chief
// and conducted by the demo's auditor, its checklist with the evidence of
// the operator whose training expired, a finding on it and a corrective
// action of the department's head overdue on the node's clock.
func checkDemoAudit(t *testing.T, n *node.Node) {
	t.Helper()
	ctx := context.Background()
	all, err := sysaudit.List(ctx, n.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("%d demo audits, want 1", len(all))
	}
	p, err := sysaudit.Get(ctx, n.DB, all[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.State != sysaudit.InProgress || p.Auditor != node.DemoAuditor || p.PlannedBy != "operator:"+node.DemoChief || len(p.Checks) < 40 {
		t.Errorf("demo audit: %s by %s, auditor %s, %d checks", p.State, p.PlannedBy, p.Auditor, len(p.Checks))
	}
	// The council's overdue directive reaches the checklist through the node.
	for _, c := range p.Checks {
		if c.Feature == "council.directives" {
			if v, _ := c.Figure("期限超過"); v != 1 || !c.Attention {
				t.Errorf("the directives check: %s [%s]", c.Evidence, c.FiguresText())
			}
			break
		}
	}
	for _, c := range p.Checks {
		if c.Feature == "training" {
			if v, _ := c.Figure("研修切れ"); v != 1 || !c.Attention || !strings.Contains(c.Evidence, node.DemoUntrained) {
				t.Errorf("the training check: %s [%s]", c.Evidence, c.FiguresText())
			}
			break
		}
	}
	if len(p.Findings) != 1 || len(p.Findings[0].Actions) != 1 {
		t.Fatalf("demo findings: %+v", p.Findings)
	}
	overdue, err := sysaudit.Overdue(ctx, n.DB, n.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(overdue) != 1 || overdue[0].Owner != node.DemoOfficer || len(overdue[0].FollowUps) != 1 {
		t.Errorf("overdue corrective actions: %+v", overdue)
	}
}

package node

import (
	"context"
	"fmt"

	"jukinet/internal/auditlog"
	"jukinet/internal/jptext"
	"jukinet/internal/protect"
	"jukinet/internal/staff"
)

// SeedDemoProtection marks, once, one of a demo node's synthetic residents
// (code) as under a support measure (支援措置, category DV), recorded by the
// demo's security officer of the residents' division, from today for six
// months: the demo's clerk sees why a case reference is needed, and a
// look-up raises the immediate alert. A register that holds any protection
// is left alone. It returns whether it marked one.
func (n *Node) SeedDemoProtection(ctx context.Context, code string) (bool, error) {
	if !n.Info.Demo {
		return false, fmt.Errorf("not a demo node")
	}
	facts, err := protect.Load(ctx, n.DB)
	if err != nil || len(facts) > 0 {
		return false, err
	}
	head := staff.Who{Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: DemoOfficer}, Origin: "host:demo-seed"}
	dept, _ := demoDepartment(n.Profile)
	today := jptext.Midnight(n.Now())
	if _, err := n.Protect.Mark(ctx, head, protect.Mark{ResidentCode: code, Start: today, End: today.AddDate(0, 6, 0), Department: dept, Category: "dv"}); err != nil {
		return false, fmt.Errorf("seed the demo's protected resident: %w", err)
	}
	return true, nil
}

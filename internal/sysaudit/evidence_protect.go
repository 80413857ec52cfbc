package sysaudit

import (
	"fmt"

	"jukinet/internal/protect"
)

// The rules of detection.case-reference, by their ids (detect.Rule…: the
// detector's package imports this one's through the policy engine).
const (
	ruleProtected = "protected"
	ruleNoCase    = "no-case-ref"
	ruleRepeat    = "repeat"
	ruleKin       = "kin"
	ruleSpike     = "spike"
)

// The evidence of detection.case-reference: the alerts of the rules the
// real misuse cases need, and the protected residents (支援措置) now.
func init() { collectors["detection.case-reference"] = caseReference }

// caseReference counts, for the period, the alerts of the rules on case
// references and protected residents (immediate reads of protected
// residents, look-ups without a case reference, repeated reads, residents
// sharing the operator's surname, spikes), the immediate ones still open,
// and the residents protected at the audit. Open immediate alerts call
// for the auditor's attention.
func caseReference(g *gather) (Evidence, error) {
	if g.r.src.Alerts == nil {
		return unavailable("不正利用の検知の記録"), nil
	}
	all, err := g.r.src.Alerts(g.ctx)
	if err != nil {
		return Evidence{}, err
	}
	counts := map[string]int{}
	openProtected := 0
	for _, a := range all {
		if g.inPeriod(a.RaisedAt) {
			counts[a.RuleID]++
		}
		if a.RuleID == ruleProtected && a.Open {
			openProtected++
		}
	}
	facts, err := protect.Load(g.ctx, g.r.db)
	if err != nil {
		return Evidence{}, err
	}
	inForce, _ := facts.InForce(g.now)
	ev := Evidence{
		Text: fmt.Sprintf("対象期間の検知：支援措置対象者の照会 %d件（未対応 %d件）、案件番号のない照会 %d件、同一住民の繰り返し照会 %d件、同姓の住民の照会 %d件、短時間の集中 %d件。現在の支援措置の対象者 %d人",
			counts[ruleProtected], openProtected, counts[ruleNoCase], counts[ruleRepeat], counts[ruleKin], counts[ruleSpike], len(inForce)),
		Figures: []Figure{fig("支援措置対象者の照会", counts[ruleProtected]), fig("未対応（支援措置）", openProtected),
			fig("案件番号なし", counts[ruleNoCase]), fig("繰り返し照会", counts[ruleRepeat]), fig("同姓", counts[ruleKin]),
			fig("短時間の集中", counts[ruleSpike]), fig("支援措置の対象者", len(inForce))},
		Attention: openProtected > 0,
	}
	return ev, nil
}

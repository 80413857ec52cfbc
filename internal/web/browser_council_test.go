package web

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jukinet/internal/auditlog"
	"jukinet/internal/council"
	"jukinet/internal/detect"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestBrowserCouncilWalk walks issue 17's council path in Chromium: a
// look-up late at night raises an alert → the chair (the chief security
// officer) opens the council screen from it and calls an extraordinary
// meeting → records the six members present (the quorum) → a decision →
// a directive to 区民課 → its head (the security officer) acknowledges it
// and reports it complete. Each step is read back from the page.
func TestBrowserCouncilWalk(t *testing.T) {
	ctx, _ := newBrowser(t, true)
	s, base, code, clock := liveDemoClock(t)
	w := clerkWalk{t: t, ctx: ctx, base: base, code: code}
	bg := context.Background()

	night := jptext.Midnight(clock.Now()).Add(-20 * time.Minute)
	if _, err := s.node.Log.Append(bg, auditlog.Entry{Time: night, Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator},
		Origin: "terminal:" + node.DemoTerminal, Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK,
		Count: 1, Subjects: []string{code}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.node.Detect.Run(bg); err != nil {
		t.Fatal(err)
	}
	alerts, err := detect.List(bg, s.node.DB, false)
	if err != nil || len(alerts) != 1 {
		t.Fatalf("alerts: %v %v", alerts, err)
	}

	w.signIn(node.DemoChief)
	now := clock.Now().In(jptext.JST)
	at := now.Add(-time.Minute).Format("15:04")
	if now.Hour() == 0 && now.Minute() == 0 {
		at = "00:00"
	}
	run(t, ctx, "convene from the alert", chromedp.Navigate(fmt.Sprintf("%s/council?source=alert:%d", base, alerts[0].ID)),
		chromedp.WaitVisible(`[data-testid="convene"]`, chromedp.ByQuery),
		chromedp.SetValue(`#convene-time`, at, chromedp.ByQuery),
		chromedp.SendKeys(`#convene-place`, "危機管理室", chromedp.ByQuery),
		chromedp.Submit(`[data-testid="convene"]`, chromedp.ByQuery))
	w.waitFor("the extraordinary meeting", `!!document.querySelector('[data-testid="agenda-2"]') && document.querySelector('[data-testid="agenda-2"]').innerText.includes("への対応：開庁時間")`)

	var clicks []chromedp.Action
	for _, vid := range []string{node.DemoChief, node.DemoDeputy, node.DemoOfficer, node.DemoAdmin, node.DemoSomu, node.DemoKiki} {
		clicks = append(clicks, chromedp.Click(`[data-testid="attend-2"] input[name=member][value="`+vid+`"]`, chromedp.ByQuery))
	}
	run(t, ctx, "attendance", append(clicks, chromedp.Submit(`[data-testid="attend-2"]`, chromedp.ByQuery))...)
	w.waitFor("the quorum", `!!document.querySelector('[data-testid="meeting-quorum-2"]') && document.querySelector('[data-testid="meeting-quorum-2"]').innerText.includes("定足数を満たしています")`)

	run(t, ctx, "decide", chromedp.SendKeys(`#decide-text-2`, "夜間の照会について区民課が照会記録を点検する", chromedp.ByQuery),
		chromedp.Submit(`[data-testid="decide-2"]`, chromedp.ByQuery))
	w.waitFor("the decision", `!!document.querySelector('[data-testid="decisions-2"]') && document.querySelector('[data-testid="decisions-2"]').innerText.includes("可決")`)
	m, err := council.Get(bg, s.node.DB, 2)
	if err != nil || len(m.Decisions) != 1 {
		t.Fatalf("meeting 2: %+v %v", m, err)
	}
	dec := m.Decisions[0].ID
	run(t, ctx, "direct 区民課", chromedp.Click(fmt.Sprintf(`[data-testid="issue-open-%d"] summary`, dec), chromedp.ByQuery), chromedp.SetValue(fmt.Sprintf(`#issue-dept-%d`, dec), "kumin", chromedp.ByQuery),
		chromedp.SendKeys(fmt.Sprintf(`#issue-text-%d`, dec), "夜間の照会記録を点検し報告すること", chromedp.ByQuery),
		chromedp.Submit(fmt.Sprintf(`[data-testid="issue-%d"]`, dec), chromedp.ByQuery))
	w.waitFor("the directive", `!!document.querySelector('[data-testid="directives"]') && document.querySelector('[data-testid="directives"]').innerText.includes("夜間の照会記録を点検し報告すること")`)
	ds, err := council.Directives(bg, s.node.DB)
	if err != nil || len(ds) != 3 || ds[0].Department != "kumin" {
		t.Fatalf("directives: %+v %v", ds, err)
	}
	id := ds[0].ID
	w.signOut()

	w.signIn(node.DemoOfficer)
	run(t, ctx, "acknowledge", chromedp.Navigate(base+"/council"),
		chromedp.Click(fmt.Sprintf(`[data-testid="ack-%d"] button`, id), chromedp.ByQuery))
	w.waitFor("the acknowledgement", fmt.Sprintf(`!!document.querySelector('[data-testid="complete-%d"]')`, id))
	run(t, ctx, "complete", chromedp.SendKeys(fmt.Sprintf(`#note-%d`, id), "照会記録を点検した。業務上の照会と確認", chromedp.ByQuery),
		chromedp.Submit(fmt.Sprintf(`[data-testid="complete-%d"]`, id), chromedp.ByQuery))
	w.waitFor("the completion", fmt.Sprintf(`!!document.querySelector('[data-testid="directive-state-%d"]') && document.querySelector('[data-testid="directive-state-%d"]').innerText.includes("業務上の照会と確認")`, id, id))
	var state string
	run(t, ctx, "read the state", chromedp.Text(fmt.Sprintf(`[data-testid="directive-state-%d"]`, id), &state, chromedp.ByQuery))
	if !strings.HasPrefix(state, "完了（operator:"+node.DemoOfficer) || !strings.Contains(state, "照会記録を点検した。業務上の照会と確認") {
		t.Errorf("the directive's state reads %q", state)
	}
}

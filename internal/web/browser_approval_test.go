package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"jukinet/internal/approval"
	"jukinet/internal/node"
)

// TestBrowserApprovalBindsOperators walks usage approvals (koto-ward:12.1)
// in Chromium, the issue's "end a usage approval → its operators are
// refused": the demo operator looks the resident up; the security officer
// notifies the end of the department's use on the 利用承認 screen; the
// operator's designation ends with it, and the look-up form no longer
// offers the affair; the officer applies again
// through the form, the system administrator approves it, and the
// operator looks up once more.
func TestBrowserApprovalBindsOperators(t *testing.T) {
	ctx, _ := newBrowser(t, true)
	s, base, code, _ := liveDemoClock(t)
	w := clerkWalk{t: t, ctx: ctx, base: base, code: code}
	all, err := approval.List(context.Background(), s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	var use approval.Approval
	for _, a := range all {
		if a.Affair == "juminhyo-copy" && a.State == approval.Approved {
			use = a
		}
	}
	if use.ID == 0 {
		t.Fatalf("the demo has no approved use of juminhyo-copy: %+v", all)
	}
	id := fmt.Sprint(use.ID)

	w.signIn(node.DemoOperator)
	if results, refusal := w.lookup(); !strings.Contains(results, "監査ログに記録されました") || refusal != "" {
		t.Fatalf("lookup under the demo's approval: results %q, refusal %q", results, refusal)
	}
	w.signOut()

	w.signIn(node.DemoOfficer)
	run(t, ctx, "end the use", chromedp.Navigate(base+"/approvals"),
		chromedp.SendKeys(`#end-reason-`+id, "窓口業務の見直しにより廃止", chromedp.ByQuery),
		chromedp.Submit(`[data-testid="end-`+id+`"]`, chromedp.ByQuery))
	w.waitFor("the approval shown as ended", `!!document.querySelector('[data-testid="approval-state-`+id+`"]') && document.querySelector('[data-testid="approval-state-`+id+`"]').innerText.includes("終了")`)
	w.signOut()

	// The end ended the operator's designation: the look-up form no longer
	// offers the affair (a request for it anyway is refused by the gate,
	// naming the approval: TestApprovalScreen).
	w.signIn(node.DemoOperator)
	var offered bool
	run(t, ctx, "the lookup form", chromedp.Navigate(base+"/lookup"),
		chromedp.Evaluate(`!!document.querySelector('#affair option[value="juminhyo-copy"]')`, &offered))
	if offered {
		t.Errorf("the lookup form still offers 住民票の写し等の交付 after the end of its use")
	}
	w.signOut()

	// Apply again through the form, and approve it.
	w.signIn(node.DemoOfficer)
	dept := demoDept(s)
	form := `[data-testid="apply-` + dept + `"]`
	run(t, ctx, "apply", chromedp.Navigate(base+"/approvals"),
		chromedp.SetValue(`#affair-`+dept, "juminhyo-copy", chromedp.ByQuery),
		chromedp.SendKeys(`#purpose-`+dept, "住民票の写し等の交付", chromedp.ByQuery),
		chromedp.SendKeys(`#reason-`+dept, "窓口業務の再開", chromedp.ByQuery),
		chromedp.Click(form+` input[name=terminal][value="`+node.DemoTerminal+`"]`, chromedp.ByQuery),
		chromedp.Click(form+` input[name=operator][value="`+node.DemoOperator+`"]`, chromedp.ByQuery),
		chromedp.Submit(form, chromedp.ByQuery))
	w.waitFor("the application listed", `[...document.querySelectorAll('[data-testid^="approval-state-"]')].some(e => e.innerText.includes("申請中"))`)
	w.signOut()
	all, err = approval.List(context.Background(), s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	applied := fmt.Sprint(all[0].ID)
	if all[0].State != approval.Applied || all[0].Affair != "juminhyo-copy" {
		t.Fatalf("the newest application: %+v", all[0])
	}

	w.signIn(node.DemoAdmin)
	run(t, ctx, "approve", chromedp.Navigate(base+"/approvals"),
		chromedp.SendKeys(`#decide-reason-`+applied, "事務の内容と取扱者を確認", chromedp.ByQuery),
		chromedp.Click(`[data-testid="decide-`+applied+`"] button[value="approve"]`, chromedp.ByQuery))
	w.waitFor("the approval in force", `!!document.querySelector('[data-testid="approval-state-`+applied+`"]') && document.querySelector('[data-testid="approval-state-`+applied+`"]').innerText.includes("利用期間中")`)
	w.signOut()

	w.signIn(node.DemoOperator)
	if results, refusal := w.lookup(); !strings.Contains(results, "監査ログに記録されました") || refusal != "" {
		t.Errorf("lookup under the new approval: results %q, refusal %q", results, refusal)
	}
}

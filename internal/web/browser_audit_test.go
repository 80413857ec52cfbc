package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"jukinet/internal/form"
	"jukinet/internal/node"
	"jukinet/internal/report/reporttest"
	"jukinet/internal/sysaudit"
)

// TestBrowserAuditWalk walks issue 17's system audit in Chromium: the
// chief security officer plans an ad hoc audit and names the auditor → the
// auditor generates the checklist, whose training check carries the live
// evidence the node collected (the demo's operator whose training expired)
// → records a finding on it → a corrective action owned by 区民課's head →
// downloads the audit report as PDF, which renders (pdftoppm) and reads in
// Japanese (pdftotext) with the finding and the action.
func TestBrowserAuditWalk(t *testing.T) {
	ctx, _ := newBrowser(t, true)
	s, base, code, _ := liveDemoClock(t)
	w := clerkWalk{t: t, ctx: ctx, base: base, code: code}
	bg := context.Background()

	w.signIn(node.DemoChief)
	run(t, ctx, "plan", chromedp.Navigate(base+"/audits"),
		chromedp.WaitVisible(`[data-testid="plan-audit"]`, chromedp.ByQuery),
		chromedp.SetValue(`#kind`, string(sysaudit.AdHoc), chromedp.ByQuery),
		chromedp.SendKeys(`#title`, "夜間照会に関する臨時監査", chromedp.ByQuery),
		chromedp.SendKeys(`#scope`, "区民課の端末の利用", chromedp.ByQuery),
		chromedp.SetValue(`#auditor`, node.DemoAuditor, chromedp.ByQuery),
		chromedp.Submit(`[data-testid="plan-audit"]`, chromedp.ByQuery))
	w.waitFor("the plan", `!!document.querySelector('[data-testid="audit-title"]') && document.querySelector('[data-testid="audit-title"]').innerText.includes("夜間照会に関する臨時監査")`)
	ps, err := sysaudit.List(bg, s.node.DB)
	if err != nil || len(ps) != 2 || ps[0].Title != "夜間照会に関する臨時監査" || ps[0].Auditor != node.DemoAuditor || ps[0].Kind != sysaudit.AdHoc {
		t.Fatalf("audits after the plan: %+v %v", ps, err)
	}
	id := ps[0].ID
	w.signOut()

	w.signIn(node.DemoAuditor)
	run(t, ctx, "generate the checklist", chromedp.Navigate(fmt.Sprintf("%s/audits/%d", base, id)),
		chromedp.WaitVisible(`[data-testid="generate-checklist"]`, chromedp.ByQuery),
		chromedp.Submit(`[data-testid="generate-checklist"]`, chromedp.ByQuery))
	w.waitFor("the checklist", `!!document.querySelector('[data-testid="checklist"]')`)
	p, err := sysaudit.Get(bg, s.node.DB, id)
	if err != nil || len(p.Checks) < 40 {
		t.Fatalf("audit %d: %d checks, %v", id, len(p.Checks), err)
	}
	var training sysaudit.Check
	for _, c := range p.Checks {
		if c.Feature == "training" && c.Attention {
			training = c
			break
		}
	}
	if training.ID == 0 {
		t.Fatalf("no training check with attention in %+v", p.Checks)
	}
	row := text(t, ctx, fmt.Sprintf(`[data-testid="check-%d"]`, training.Position))
	if !strings.Contains(row, training.Evidence) || !strings.Contains(row, "要確認") {
		t.Errorf("the training check reads %q, want 要確認 and its evidence %q", row, training.Evidence)
	}
	if expired, ok := training.Figure("研修切れ"); !ok || expired < 1 {
		t.Errorf("the training check's figures: %v", training.Figures)
	}

	run(t, ctx, "record a finding", chromedp.SetValue(`#fcheck`, fmt.Sprint(training.ID), chromedp.ByQuery),
		chromedp.SetValue(`#severity`, string(sysaudit.High), chromedp.ByQuery),
		chromedp.SendKeys(`#description`, "研修切れの取扱者が照会できる状態で指定されている", chromedp.ByQuery),
		chromedp.SendKeys(`#root_cause`, "指定の見直しが異動時だけで、研修の期限を見ていない", chromedp.ByQuery),
		chromedp.Submit(`[data-testid="record-finding"]`, chromedp.ByQuery))
	w.waitFor("the finding", `[...document.querySelectorAll('section[data-testid^="finding-"]')].some(s => s.innerText.includes("照会できる状態で指定されている"))`)
	p, err = sysaudit.Get(bg, s.node.DB, id)
	if err != nil || len(p.Findings) != 1 || p.Findings[0].Check != training.ID {
		t.Fatalf("findings: %+v %v", p.Findings, err)
	}
	finding := p.Findings[0].ID

	run(t, ctx, "add a corrective action", chromedp.SendKeys(fmt.Sprintf(`#act-%d`, finding), "研修の期限を毎月点検し、期限切れの指定を解除する", chromedp.ByQuery),
		chromedp.SetValue(fmt.Sprintf(`#owner-%d`, finding), node.DemoOfficer, chromedp.ByQuery),
		chromedp.Submit(fmt.Sprintf(`[data-testid="add-action-%d"]`, finding), chromedp.ByQuery))
	w.waitFor("the corrective action", fmt.Sprintf(`!!document.querySelector('[data-testid="finding-%d"] [data-testid^="action-state-"]')`, finding))
	p, err = sysaudit.Get(bg, s.node.DB, id)
	if err != nil || len(p.Findings[0].Actions) != 1 || p.Findings[0].Actions[0].Owner != node.DemoOfficer {
		t.Fatalf("corrective actions: %+v %v", p.Findings, err)
	}
	state := text(t, ctx, fmt.Sprintf(`[data-testid="action-state-%d"]`, p.Findings[0].Actions[0].ID))
	if state == "" || strings.Contains(state, "期限切れ") {
		t.Errorf("a new corrective action reads %q", state)
	}

	// The report, as the screen's PDF button asks for it, in the signed-in
	// session: the browser posts the form and hands back the bytes.
	var b64 string
	run(t, ctx, "download the PDF", chromedp.Evaluate(`(async () => {
		const form = document.querySelector('[data-testid="audit-report"]');
		document.getElementById("report-destination").value = "監査委員事務局";
		const body = new URLSearchParams(new FormData(form));
		body.set("format", "pdf");
		const r = await fetch(form.action, {method: "POST", body, credentials: "same-origin"});
		if (!r.ok || r.headers.get("Content-Type") !== "application/pdf") return "";
		const bytes = new Uint8Array(await r.arrayBuffer());
		let s = "";
		for (const b of bytes) s += String.fromCharCode(b);
		return btoa(s);
	})()`, &b64, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	pdf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(pdf) == 0 {
		t.Fatalf("the audit report's PDF: %d bytes, %v", len(pdf), err)
	}
	if n := reporttest.Pages(t, pdf); n < 1 {
		t.Errorf("the report renders %d pages", n)
	}
	// The report is a form of the forms register, with where it went.
	forms, err := form.List(bg, s.node.DB, form.Filter{Kind: form.KindSysauditReport})
	if err != nil || len(forms) == 0 || forms[0].Destination != "監査委員事務局" {
		t.Fatalf("the report's form: %+v %v", forms, err)
	}
	txt := reporttest.Text(t, pdf)
	for _, want := range []string{"システム監査報告書", "夜間照会に関する臨時監査", "照会できる状態で指定されている", "研修の期限を毎月点検し", node.DemoOfficer, forms[0].Number.String()} {
		if !strings.Contains(strings.Join(strings.Fields(txt), ""), strings.Join(strings.Fields(want), "")) {
			t.Errorf("the report's text lacks %q:\n%s", want, txt)
		}
	}
}

package web

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"jukinet/internal/auditlog"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/synth"
)

// axeSource is axe-core, vendored from npm (testdata/axe/README.md).
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// EnvArtifacts names the folder the browser walk saves its screenshots in
// (under browser-walk/); without it they go to the test's temporary folder,
// which is removed when the test ends.
const EnvArtifacts = "JUKINET_ARTIFACTS"

// The screenshots are JPEG (PNG takes Chromium several times as long on a
// long page); JUKINET_WALK_PNG=1 asks for PNG.
var walkQuality, walkFormat = 85, "jpg"

func init() {
	if os.Getenv("JUKINET_WALK_PNG") != "" {
		walkQuality, walkFormat = 100, "png"
	}
}

// walkViewport is a window the walk looks at every screen in. Zoom 2 is
// the 1366×768 office screen at 200 %: a CSS viewport half as wide.
type walkViewport struct {
	Name          string
	Width, Height int64
	Zoom          float64
	Screenshot    bool // of the whole page; else of the window only
}

var walkViewports = []walkViewport{
	{Name: "1366x768", Width: 1366, Height: 768, Zoom: 1, Screenshot: true},
	{Name: "1920x1080", Width: 1920, Height: 1080, Zoom: 1, Screenshot: true},
	{Name: "1024x768", Width: 1024, Height: 768, Zoom: 1}, // the narrowest office screen the layout is for
	{Name: "1366x768-zoom200", Width: 683, Height: 384, Zoom: 2},
}

// walkScreen is one screen of the walk: a page opened by its address, or
// reached by acting on the page before (a look-up sent, a history asked).
type walkScreen struct {
	Name string
	Path string            // opened by navigating here
	Act  []chromedp.Action // or reached by these
}

// TestBrowserWalk signs in as each demo role in Chromium, opens every
// screen the role's menu offers (and the screens reached from them: a
// look-up's result, a resident's history, an incident, all alerts, an audit), and
// looks at each at 1366×768, 1920×1080, 1024×768 and 1366×768 at 200 % zoom. It
// saves a full-page screenshot of each (in $JUKINET_ARTIFACTS/browser-walk,
// or the test's temporary folder) and fails when
//   - text in a table cell breaks inside a date, a staff member's name or
//     a word of two characters (measured on the rendered page: a Range over
//     the text that has client rectangles on more than one line);
//   - a date anywhere on the page breaks inside itself;
//   - the page itself scrolls sideways (only a table's own box may);
//   - a Japanese page shows an audit action's code (auth.login,
//     staff.designate-operator …) outside an element marked as secondary
//     detail (class "code");
//   - axe-core finds a serious or critical accessibility violation.
//
// The node is seeded first so that every table and chart has rows: look-ups
// over two weeks, refusals, an alert after hours, an incident, a
// suspension, a contract, an unauthorised room entry, a verified log.
func TestBrowserWalk(t *testing.T) {
	s, base, code := liveDemo(t)
	chromium(t)
	seedWalk(t, s, code)

	dir := filepath.Join(t.TempDir(), "browser-walk")
	if a := os.Getenv(EnvArtifacts); a != "" {
		dir = filepath.Join(a, "browser-walk")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("browser walk: screenshots in %s (set %s to keep them)", dir, EnvArtifacts)

	people, err := s.node.Staff.People(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range people {
		names = append(names, p.Name)
	}
	codes := make([]string, 0, len(actionLabels))
	for c := range actionLabels {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	checks := walkChecksJS(names, codes)

	// look opens one screen in the tab ctx and looks at it in each window.
	look := func(t *testing.T, ctx context.Context, role string, i int, sc walkScreen) {
		t.Helper()
		// Every screen is opened at the first window size and then looked
		// at in each: a screen reached by a form is sent once.
		setViewport(t, ctx, walkViewports[0])
		if sc.Path != "" {
			run(t, ctx, "open "+sc.Path, chromedp.Navigate(base+sc.Path), chromedp.WaitReady(`main`, chromedp.ByQuery))
		} else {
			run(t, ctx, "reach "+sc.Name, sc.Act...)
		}
		var lang string
		run(t, ctx, "read the page's language", chromedp.Evaluate(`document.documentElement.lang`, &lang))
		for j, vp := range walkViewports {
			if j > 0 {
				setViewport(t, ctx, vp)
			}
			where := fmt.Sprintf("%s at %s", sc.Name, vp.Name)
			var shot []byte
			format := walkFormat
			if vp.Screenshot {
				run(t, ctx, "screenshot "+where, chromedp.FullScreenshot(&shot, walkQuality))
			} else {
				run(t, ctx, "screenshot "+where, chromedp.CaptureScreenshot(&shot))
				format = "png"
			}
			file := filepath.Join(dir, fmt.Sprintf("%s-%02d-%s-%s.%s", role, i, sc.Name, vp.Name, format))
			if err := os.WriteFile(file, shot, 0o644); err != nil {
				t.Fatal(err)
			}
			var found []string
			run(t, ctx, "measure "+where, chromedp.Evaluate(checks, &found))
			for _, f := range found {
				t.Errorf("%s: %s", where, f)
			}
		}
		// No link or form target holds a 住民票コード or a 個人番号, and no
		// form would put one into a URL (issue 23 item 8).
		var doc string
		run(t, ctx, "read "+sc.Name, chromedp.Evaluate(`document.documentElement.outerHTML`, &doc))
		for _, bad := range identifiersInURLs(doc, code) {
			t.Errorf("%s: an identifier in a URL: %s", sc.Name, bad)
		}
		// Accessibility does not change with the window: once per screen.
		setViewport(t, ctx, walkViewports[0])
		for _, v := range runAxe(t, ctx) {
			t.Errorf("%s (%s): axe: %s", sc.Name, lang, v)
		}
	}
	// tab starts a Chromium of its own, so that each role has its own
	// session, in which axe-core may be injected despite the pages' policy.
	tab := func(t *testing.T) context.Context {
		t.Helper()
		// The walk opens some 60 screens three times over: on a busy
		// machine it takes longer than one test of the browser.
		ctx, _ := newBrowserFor(t, true, 5*time.Minute)
		run(t, ctx, "let the walk inject axe-core", chromedp.ActionFunc(func(ctx context.Context) error {
			return page.SetBypassCSP(true).Do(ctx)
		}))
		return ctx
	}

	var screens atomic.Int64
	// The roles walk side by side, each in its own browser.
	t.Run("roles", func(t *testing.T) {
		// Before signing in: the sign-in page and the node's public status.
		t.Run("nobody", func(t *testing.T) {
			t.Parallel()
			ctx := tab(t)
			for i, sc := range []walkScreen{{Name: "login", Path: "/login"}, {Name: "status-public", Path: "/status"}} {
				look(t, ctx, "nobody", i, sc)
			}
		})
		for _, role := range []string{node.DemoOperator, node.DemoUntrained, node.DemoOfficer, node.DemoChief, node.DemoAdmin} {
			t.Run(role, func(t *testing.T) {
				t.Parallel()
				ctx := tab(t)
				run(t, ctx, "sign in as "+role, chromedp.Navigate(base+"/login"),
					chromedp.Click(`[data-testid="demo-`+role+`"]`, chromedp.ByQuery),
					chromedp.WaitVisible(`[data-testid="me"]`, chromedp.ByQuery))
				list := walkScreens(t, ctx, base, role, code)
				for i, sc := range list {
					look(t, ctx, role, i, sc)
				}
				screens.Add(int64(len(list)))
			})
		}
	})
	if n := screens.Load(); n < 40 {
		t.Errorf("the walk opened %d screens of signed-in roles, want at least 40: the menus lost their links?", n)
	}
}

// walkScreens lists the screens a role walks through: those its menu
// offers, and those reached from them.
func walkScreens(t *testing.T, ctx context.Context, base, role, code string) []walkScreen {
	t.Helper()
	var menu []string
	run(t, ctx, "read the menu", chromedp.Evaluate(`Array.from(document.querySelectorAll('nav.site a')).map(a => a.getAttribute('href'))`, &menu))
	var list []walkScreen
	for _, href := range menu {
		list = append(list, walkScreen{Name: screenName(href), Path: href})
		switch href {
		case "/lookup":
			list = append(list, walkScreen{Name: "lookup-sent", Act: []chromedp.Action{
				chromedp.Navigate(base + "/lookup"),
				chromedp.SendKeys(`#reason`, "窓口での本人申請", chromedp.ByQuery),
				chromedp.SendKeys(`#code`, code, chromedp.ByQuery),
				chromedp.Submit(`[data-testid="lookup-form"]`, chromedp.ByQuery),
				chromedp.WaitVisible(`[data-testid="results"], [data-testid="lookup-error"], [data-testid="field-error"]`, chromedp.ByQuery),
			}})
			if role == node.DemoOperator {
				list = append(list, walkScreen{Name: "history", Act: []chromedp.Action{
					chromedp.Click(`form[action="/history"] button`, chromedp.ByQuery),
					chromedp.WaitVisible(`[data-testid="history"]`, chromedp.ByQuery),
				}})
			}
		case "/alerts":
			list = append(list, walkScreen{Name: "alerts-all", Path: "/alerts?all=1"})
		case "/incidents":
			list = append(list, walkScreen{Name: "incident-1", Path: "/incidents/1"})
		case "/audits":
			list = append(list, walkScreen{Name: "audit-1", Path: "/audits/1"})
		case "/forms":
			list = append(list, walkScreen{Name: "backups", Path: "/backups"}, walkScreen{Name: "forms-overdue", Path: "/forms?overdue=1"}, walkScreen{Name: "form-first", Act: []chromedp.Action{
				chromedp.Navigate(base + "/forms"),
				chromedp.Click(`[data-testid="forms"] tbody a`, chromedp.ByQuery),
				chromedp.WaitVisible(`[data-testid="form-facts"]`, chromedp.ByQuery),
			}})
		case "/protected":
			list = append(list, walkScreen{Name: "protected-all", Path: "/protected?all=1"})
		}
	}
	switch role {
	case node.DemoChief, node.DemoOfficer:
		// The resident of a crowd alert: the button posts the filter, the
		// audit screen answers with a view that names nobody in its URL.
		list = append(list, walkScreen{Name: "audit-resident", Act: []chromedp.Action{
			chromedp.Navigate(base + "/alerts"),
			chromedp.Click(`[data-testid="alert-resident"] button`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="audit-entries"]`, chromedp.ByQuery),
		}})
	}
	switch role {
	case node.DemoChief:
		// The English switch is remembered: the last two screens are English.
		list = append(list, walkScreen{Name: "dashboard-en", Path: "/?lang=en"}, walkScreen{Name: "audit-en", Path: "/audit"})
	case node.DemoOperator:
		list = append(list, walkScreen{Name: "refused", Path: "/audit"})
	}
	return list
}

// screenName names a screen's screenshot after its address.
func screenName(href string) string {
	if href == "/" {
		return "dashboard"
	}
	return strings.Trim(regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(href, "-"), "-")
}

// setViewport gives the page a window of vp's size; at zoom 2 the page has
// half the CSS pixels, drawn twice as large, as at 200 % zoom.
func setViewport(t *testing.T, ctx context.Context, vp walkViewport) {
	t.Helper()
	run(t, ctx, "window "+vp.Name, emulation.SetDeviceMetricsOverride(vp.Width, vp.Height, vp.Zoom, false),
		// Two frames: the resize has been handled and laid out.
		chromedp.Evaluate(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil, awaitPromise))
}

func awaitPromise(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

// runAxe injects axe-core into the page and returns its serious and
// critical violations, one line each.
func runAxe(t *testing.T, ctx context.Context) []string {
	t.Helper()
	var out []string
	run(t, ctx, "axe-core", chromedp.Evaluate(axeSource+`;
		axe.run(document, {resultTypes: ['violations']}).then(r => r.violations
			.filter(v => v.impact === 'serious' || v.impact === 'critical')
			.map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' + v.nodes.slice(0, 3).map(n => n.target.join(' ') + (n.failureSummary ? ' (' + n.failureSummary.replace(/\s+/g, ' ') + ')' : '')).join('; ')))`,
		&out, awaitPromise))
	return out
}

// walkChecksJS is the script that measures a page: it returns one line for
// each problem it finds. names are the staff's names; codes the audit
// log's action codes.
func walkChecksJS(names, codes []string) string {
	n, _ := json.Marshal(names)
	c, _ := json.Marshal(codes)
	return `(() => {
const names = ` + string(n) + `, codes = new Set(` + string(c) + `);
const out = [];
const lines = (node, from, to) => {
	const r = document.createRange();
	r.setStart(node, from); r.setEnd(node, to);
	const tops = new Set();
	for (const q of r.getClientRects()) if (q.width > 0 && q.height > 0) tops.add(Math.round(q.top + q.height / 2));
	return tops.size;
};
const texts = (root) => {
	const w = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
	const all = [];
	for (let x = w.nextNode(); x; x = w.nextNode()) if (x.data.trim() !== '') all.push(x);
	return all;
};
const near = (node) => {
	const el = node.parentElement.closest('td, th, li, p, dd, dt, h1, h2, h3, label, button, a, figcaption') || node.parentElement;
	return '<' + el.tagName.toLowerCase() + '> "' + el.textContent.trim().replace(/\s+/g, ' ').slice(0, 60) + '"';
};
const date = /(明治|大正|昭和|平成|令和)(元|\d{1,2})年\d{1,2}月\d{1,2}日|\d{4}年\d{1,2}月\d{1,2}日|\d{4}-\d{2}-\d{2}|\d{1,2}:\d{2}(:\d{2})?/g;
for (const node of texts(document.body)) {
	for (const m of node.data.matchAll(date)) {
		if (lines(node, m.index, m.index + m[0].length) > 1) out.push('the date "' + m[0] + '" breaks across lines in ' + near(node));
	}
}
const words = new Intl.Segmenter('ja', {granularity: 'word'});
for (const cell of document.querySelectorAll('td, th')) {
	for (const node of texts(cell)) {
		for (const name of names) {
			for (let i = node.data.indexOf(name); i >= 0; i = node.data.indexOf(name, i + 1)) {
				if (lines(node, i, i + name.length) > 1) out.push('the name "' + name + '" breaks across lines in ' + near(node));
			}
		}
		for (const s of words.segment(node.data)) {
			if (s.isWordLike && [...s.segment].length === 2 && lines(node, s.index, s.index + s.segment.length) > 1) {
				out.push('the word "' + s.segment + '" breaks across lines in ' + near(node));
			}
		}
	}
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
	const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && !e.closest('.table-scroll'));
	out.push('the page scrolls sideways (' + document.documentElement.scrollWidth + ' px in ' + window.innerWidth + '): ' +
		wide.slice(-3).map(e => e.tagName.toLowerCase() + (e.className ? '.' + e.className : '')).join(', '));
}
for (const box of document.querySelectorAll('.table-scroll')) {
	if (box.scrollWidth > box.clientWidth + 1 && box.tabIndex !== 0) out.push('a table scrolls sideways but cannot be reached from the keyboard: ' + near(box.querySelector('th, td') || box.firstChild));
}
// The page starts with its content: on a narrow window (200 % zoom) the
// menu folds behind a button that opens it; on a wide one it is whole.
const h1 = document.querySelector('main h1');
if (h1 && h1.getBoundingClientRect().top + window.scrollY > window.innerHeight * 0.6) {
	out.push('the heading starts ' + Math.round(h1.getBoundingClientRect().top + window.scrollY) + ' px down a window ' + window.innerHeight + ' px high: the header and menu fill the window');
}
const toggle = document.querySelector('nav.site .menu-toggle'), menu = document.getElementById('site-menu');
if (toggle && menu) {
	if (window.matchMedia('(max-width: 48rem)').matches) {
		if (toggle.hidden || menu.getClientRects().length > 0) out.push('on a narrow window the menu is not folded behind its button');
		else {
			toggle.click();
			if (menu.getClientRects().length === 0 || toggle.getAttribute('aria-expanded') !== 'true') out.push('the menu button does not open the menu');
			toggle.click();
		}
	} else if (!toggle.hidden || menu.getClientRects().length === 0) out.push('on a wide window the menu is not shown whole');
}
if (document.documentElement.lang === 'ja') {
	// Any code of a family of actions, labelled or not (protect.view
	// before it had a label).
	const family = new RegExp('^(' + [...new Set([...codes].filter(c => c.includes('.')).map(c => c.split('.')[0]))].join('|') + ')\\.[a-z][a-z-]*$');
	for (const node of texts(document.body)) {
		const el = node.parentElement;
		if (el.closest('.code, script, style, noscript, template')) continue;
		if (lines(node, 0, node.data.length) === 0) continue; // not shown
		for (const tok of node.data.split(/[^A-Za-z0-9_.:\/-]+/)) {
			const t = tok.replace(/[.:]+$/, '');
			if (codes.has(t) || family.test(t)) out.push('the action code "' + t + '" is shown outside secondary detail in ' + near(node));
		}
	}
}
return [...new Set(out)];
})()`
}

// seedWalk gives the demo node something on every screen: look-ups by the
// operator over two weeks (some refused) and today, a refused look-up by
// the operator whose training expired, a look-up after hours (an alert), an
// incident raised from it, a suspension, a contract, an unauthorised room
// entry, and a verification of the log.
func seedWalk(t *testing.T, s *Server, code string) {
	t.Helper()
	ctx := context.Background()
	now := s.node.Now().In(jptext.JST)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, jptext.JST)
	operator := auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator, Name: "見本 取扱者"}
	for day := 1; day < chartDays; day++ {
		for i := range (day*7)%5 + 1 {
			at := today.AddDate(0, 0, -day).Add(9*time.Hour + time.Duration(i)*17*time.Minute)
			e := auditlog.Entry{Time: at, Node: "131083", Actor: operator, Origin: "terminal:" + node.DemoTerminal, Action: "lookup",
				Affair: "juki", Reason: "窓口での本人申請", Decision: auditlog.Allow, Policy: "koto-ward:12.1/designated-operator", Outcome: auditlog.OutcomeOK,
				Count: 1, Subjects: []string{code}, Provision: &auditlog.Provision{Function: "lookup", Affair: "juki", Reason: "窓口での本人申請", Provider: "131083", Recipient: "operator:" + node.DemoOperator}}
			if i == 2 {
				e.Decision, e.Outcome, e.Count, e.Subjects, e.Provision = auditlog.Deny, auditlog.OutcomeDenied, 0, nil, nil
				e.Error = "not designated for this affair"
			}
			if _, err := s.node.Log.Append(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	night := today.AddDate(0, 0, -1).Add(23*time.Hour + 40*time.Minute)
	if _, err := s.node.Log.Append(ctx, auditlog.Entry{Time: night, Node: "131083", Actor: operator, Origin: "terminal:" + node.DemoTerminal,
		Action: "search", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Count: 1, Subjects: []string{code},
		Provision: &auditlog.Provision{Function: "search", Affair: "juki", Reason: "確認", Provider: "131083", Recipient: "operator:" + node.DemoOperator}}); err != nil {
		t.Fatal(err)
	}
	// Five people looking the resident up yesterday: an alert about the
	// resident (crowd).
	for i := range 5 {
		if _, err := s.node.Log.Append(ctx, auditlog.Entry{Time: today.AddDate(0, 0, -1).Add(10*time.Hour + time.Duration(i)*time.Minute), Node: "131083",
			Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: fmt.Sprintf("CROWD-%d", i)}, Origin: "terminal:" + node.DemoTerminal, Action: "lookup",
			Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Count: 1, Subjects: []string{code}}); err != nil {
			t.Fatal(err)
		}
	}
	clerk := signIn(t, s, node.DemoOperator)
	for range 3 {
		if rec := clerk.do("POST", "/lookup", url.Values{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}); rec.Code != http.StatusOK {
			t.Fatalf("seed: look-up: %d", rec.Code)
		}
	}
	expired := signIn(t, s, node.DemoUntrained)
	if rec := expired.do("POST", "/lookup", url.Values{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}); rec.Code != http.StatusForbidden {
		t.Fatalf("seed: a look-up without training: %d, want 403", rec.Code)
	}
	if _, err := s.node.Detect.Run(ctx); err != nil {
		t.Fatal(err)
	}
	chief := signIn(t, s, node.DemoChief)
	if rec := chief.do("POST", "/incidents", url.Values{"kind": {"misuse"}, "title": {"夜間の照会"}, "summary": {"23時40分の4情報検索について調査する"}, "alert": {"1"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("seed: incident: %d %s", rec.Code, rec.Body.String())
	}
	if _, err := s.node.Staff.Suspend(ctx, chiefWho(), staff.Suspension{Scope: staff.ScopeOperator, Target: node.DemoUntrained, Reason: "研修の期限切れのまま照会を試みたため"}); err != nil {
		t.Fatal(err)
	}
	admin := signIn(t, s, node.DemoAdmin)
	start, end := today.AddDate(0, 0, -30).Format(time.DateOnly), today.AddDate(1, 0, 0).Format(time.DateOnly)
	if rec := admin.do("POST", "/contracts", url.Values{"vendor": {"株式会社見本保守"}, "scope": {"端末の保守"}, "start": {start}, "end": {end}, "survey": {"Pマーク確認"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("seed: contract: %d %s", rec.Code, rec.Body.String())
	}
	// A resident under a support measure (支援措置), for the register's screen.
	g, _ := synth.New(synth.Options{Seed: 77, LocalGov: "131083"})
	if rec := admin.do("POST", "/protected", url.Values{"code": {string(g.Next().ResidentCode)}, "start": {today.Format(time.DateOnly)},
		"end": {today.AddDate(0, 6, 0).Format(time.DateOnly)}, "department": {"kumin"}, "category": {"dv"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("seed: protected resident: %d %s", rec.Code, rec.Body.String())
	}
	entry := url.Values{"room": {node.DemoServerRoom}, "person": {node.DemoOperator}, "purpose": {"書類の受け取り"}, "direction": {"in"}, "time": {now.Format("2006-01-02 15:04")}}
	if rec := admin.do("POST", "/facilities/entries", entry); rec.Code != http.StatusSeeOther {
		t.Fatalf("seed: room entry: %d %s", rec.Code, rec.Body.String())
	}
	verifyFromScreen(t, chief)
}

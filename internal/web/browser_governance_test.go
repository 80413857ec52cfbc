package web

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jukinet/internal/contract"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/staff"
	"jukinet/internal/training"
)

// clerkWalk drives one Chromium through the demo's screens as one staff
// member after another.
type clerkWalk struct {
	t    *testing.T
	ctx  context.Context
	base string
	code string // a resident's 住民票コード
}

func (w clerkWalk) signIn(vid string) {
	w.t.Helper()
	run(w.t, w.ctx, "sign in as "+vid, chromedp.Navigate(w.base+"/login"),
		chromedp.Click(`[data-testid="demo-`+vid+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="today"]`, chromedp.ByQuery))
}

func (w clerkWalk) signOut() {
	w.t.Helper()
	run(w.t, w.ctx, "sign out", chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#vid`, chromedp.ByQuery))
}

// lookup looks the resident up for 住民票の写し等の交付 and returns what the
// page says: the results, or the refusal.
func (w clerkWalk) lookup() (results, refusal string) {
	w.t.Helper()
	run(w.t, w.ctx, "lookup", chromedp.Navigate(w.base+"/lookup"),
		chromedp.SetValue(`#affair`, "juminhyo-copy", chromedp.ByQuery),
		chromedp.SendKeys(`#reason`, "窓口での本人申請", chromedp.ByQuery),
		chromedp.SendKeys(`#code`, w.code, chromedp.ByQuery),
		chromedp.Submit(`[data-testid="lookup-form"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="results"], [data-testid="lookup-error"], [data-testid="field-error"]`, chromedp.ByQuery))
	run(w.t, w.ctx, "read the answer", chromedp.Evaluate(`(document.querySelector('[data-testid="results"]') || {innerText: ""}).innerText`, &results),
		chromedp.Evaluate(`(document.querySelector('[data-testid="lookup-error"], [data-testid="field-error"]') || {innerText: ""}).innerText`, &refusal))
	return results, refusal
}

// waitFor asks until the script is true of the page (queries fail while
// the browser navigates), counting its waits, never reading the clock.
func (w clerkWalk) waitFor(what, script string) {
	w.t.Helper()
	var ok bool
	for tries := 0; !ok && tries < 200; tries++ { // up to 10 s, counted in waits
		chromedp.Run(w.ctx, chromedp.Evaluate(script, &ok))
		if !ok {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ok {
		w.t.Fatalf("%s: not seen on the page after 200 waits", what)
	}
}

// TestBrowserTrainingBindsLookups walks koto-ward:10 in Chromium, through
// the issue's "record a training session → the operator can look up; let
// it expire (clock injected) → the lookup is refused naming the course": a
// newly designated operator who never attended a course is refused a
// lookup naming it; the system administrator records both courses on the
// 研修 screen; the operator looks the resident up; the node's clock moves
// past the day the training runs out, and the same lookup is refused
// naming the course and that day.
func TestBrowserTrainingBindsLookups(t *testing.T) {
	ctx, _ := newBrowser(t, true)
	s, base, code, clock := liveDemoClock(t)
	w := clerkWalk{t: t, ctx: ctx, base: base, code: code}
	bg := context.Background()

	// A newcomer to 区民課, designated by its security officer, not trained.
	const newcomer = "demo-newcomer"
	operator, _ := s.node.Staff.Person(bg, node.DemoOperator)
	if err := s.node.Staff.AddPerson(bg, adminWho(), staff.Person{VerificationID: newcomer, Name: "見本 新人", Department: operator.Department, Title: "主事"}); err != nil {
		t.Fatal(err)
	}
	if err := s.node.Staff.Designate(bg, soWho(), newcomer, "juminhyo-copy"); err != nil {
		t.Fatal(err)
	}
	courses := s.node.Profile.Courses
	if len(courses) < 2 {
		t.Fatalf("koto-ward has %d courses, want operation and security", len(courses))
	}

	w.signIn(newcomer)
	if results, refusal := w.lookup(); results != "" || !strings.Contains(refusal, "「"+courses[0].Name+"」を受講していません") {
		t.Errorf("lookup by an operator never trained: results %q, refusal %q", results, refusal)
	}
	w.signOut()

	w.signIn(node.DemoAdmin)
	for _, c := range courses {
		run(t, ctx, "record "+c.ID, chromedp.Navigate(base+"/training"),
			chromedp.SetValue(`#course`, c.ID, chromedp.ByQuery),
			chromedp.SendKeys(`#trainer`, "見本 管理者", chromedp.ByQuery),
			chromedp.SendKeys(`#material`, "新任者研修テキスト "+c.ID, chromedp.ByQuery),
			chromedp.Click(`input[name=attendee][value="`+newcomer+`"]`, chromedp.ByQuery),
			chromedp.Submit(`[data-testid="record-training"]`, chromedp.ByQuery))
		w.waitFor("the "+c.ID+" session on the training screen",
			`!!document.querySelector('[data-testid="training-sessions"]') && document.querySelector('[data-testid="training-sessions"]').innerText.includes("新任者研修テキスト `+c.ID+`")`)
	}
	w.signOut()

	w.signIn(newcomer)
	if results, refusal := w.lookup(); !strings.Contains(results, "監査ログに記録されました") || refusal != "" {
		t.Errorf("lookup after training: results %q, refusal %q", results, refusal)
	}
	w.signOut()

	// When the training runs out: read from the record, as recorded.
	st, err := staff.Load(bg, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	facts, err := training.Load(bg, s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	standings := training.Standings(training.Required(s.node.Profile, st.People[newcomer]), facts[newcomer])
	until := training.Until(standings)
	if until.IsZero() || !until.After(clock.Now()) {
		t.Fatalf("the newcomer's training counts until %v", until)
	}
	first := standings[0]
	for _, sd := range standings {
		if sd.Until.Equal(until) {
			first = sd
			break
		}
	}
	clock.Set(until.Add(time.Hour))
	w.signIn(newcomer)
	want := "「" + first.Course.Name + "」の受講の有効期限が" + jptext.FormatWareki(until) + "に切れています"
	if results, refusal := w.lookup(); results != "" || !strings.Contains(refusal, want) {
		t.Errorf("lookup after the training ran out: results %q, refusal %q, want %q", results, refusal, want)
	}
}

// TestBrowserContractBindsContractor walks outsourcing in Chromium, the
// issue's "a contract lacking one clause → its contractor is refused
// naming the clause": the demo's contractor under the contract that lacks
// 再委託の禁止 is refused a lookup naming it; the system administrator
// records the clause on the 委託 screen; the contractor looks the resident
// up.
func TestBrowserContractBindsContractor(t *testing.T) {
	ctx, _ := newBrowser(t, true)
	s, base, code, _ := liveDemoClock(t)
	w := clerkWalk{t: t, ctx: ctx, base: base, code: code}
	cs, err := contract.List(context.Background(), s.node.DB)
	if err != nil {
		t.Fatal(err)
	}
	var lacking contract.Contract
	for _, c := range cs {
		if c.Vendor == node.DemoVendorLacking {
			lacking = c
		}
	}
	missing, _ := contract.ClauseByID(node.DemoLackingClause)
	if m := lacking.Missing(); len(m) != 1 || m[0] != missing {
		t.Fatalf("the demo's contract lacking a clause: %+v", lacking)
	}

	w.signIn(node.DemoContractorLacking)
	if results, refusal := w.lookup(); results != "" || !strings.Contains(refusal, "「"+missing.Name+"」の約定がありません") {
		t.Errorf("lookup by the contractor whose contract lacks %s: results %q, refusal %q", missing.ID, results, refusal)
	}
	w.signOut()

	w.signIn(node.DemoAdmin)
	id := strconv.FormatInt(lacking.ID, 10)
	row := `document.querySelector('[data-testid="contract-` + id + `"]')`
	var before string
	run(t, ctx, "the contracts screen", chromedp.Navigate(base+"/contracts"),
		chromedp.Text(`[data-testid="contract-`+id+`"]`, &before, chromedp.ByQuery))
	if !strings.Contains(before, missing.Name) || !strings.Contains(before, "約定がない事項") {
		t.Errorf("the contract's row does not name the missing clause: %q", before)
	}
	run(t, ctx, "record the clause", chromedp.SetValue(`#clause-contract`, id, chromedp.ByQuery),
		chromedp.SetValue(`#clause`, missing.ID, chromedp.ByQuery),
		chromedp.SendKeys(`#reference`, "第4条（2頁）", chromedp.ByQuery),
		chromedp.Submit(`[data-testid="record-clause"]`, chromedp.ByQuery))
	w.waitFor("the clause on the contract's row", `!!`+row+` && `+row+`.innerText.includes("第4条（2頁）") && !`+row+`.innerText.includes("約定がない事項")`)
	w.signOut()

	w.signIn(node.DemoContractorLacking)
	if results, refusal := w.lookup(); !strings.Contains(results, "監査ログに記録されました") || refusal != "" {
		t.Errorf("lookup by the contractor once the clause is recorded: results %q, refusal %q", results, refusal)
	}
}

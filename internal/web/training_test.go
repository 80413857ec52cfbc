package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestTrainingScreen walks koto-ward:10 on the screens: the demo's operator
// whose training expired is refused a lookup naming the course and since
// when, and sees why on the dashboard; the system administrator sees them
// as unable to operate on the training screen and the dashboard, records a
// session (bad input is refused naming the field and stores nothing), and
// the operator can look up.
func TestTrainingScreen(t *testing.T) {
	s, code := demoServer(t)
	late := signIn(t, s, node.DemoUntrained)
	form := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
	rec := late.do("POST", "/lookup", form)
	if body := rec.Body.String(); rec.Code != http.StatusForbidden || !strings.Contains(body, "「住基ネット機器操作研修」の受講の有効期限が") || !strings.Contains(body, "に切れています") {
		t.Fatalf("lookup by an operator whose training expired: %d\n%s", rec.Code, body)
	}
	if body := late.do("GET", "/", nil).Body.String(); !strings.Contains(body, `data-testid="my-training"`) || !strings.Contains(body, "住基ネットセキュリティ対策研修") {
		t.Errorf("the dashboard does not tell the operator why")
	}
	admin := signIn(t, s, node.DemoAdmin)
	body := admin.do("GET", "/training", nil).Body.String()
	for _, want := range []string{`data-testid="training-` + node.DemoUntrained + `"`, "利用不可", "住基ネット機器操作研修", "12か月", "koto-ward:10", `data-testid="record-training"`} {
		if !strings.Contains(body, want) {
			t.Errorf("training screen lacks %q", want)
		}
	}
	if body := admin.do("GET", "/", nil).Body.String(); !strings.Contains(body, `data-testid="training-invalid"`) || !strings.Contains(body, node.DemoUntrained) {
		t.Errorf("the administrator's dashboard does not list who cannot operate")
	}
	if body := admin.do("GET", "/training?lang=en", nil).Body.String(); !strings.Contains(body, "Cannot operate") || !strings.Contains(body, "Operation of Juki-net equipment") {
		t.Errorf("training screen in English")
	}
	today := s.node.Now().In(jptext.JST).Format("2006-01-02")
	session := func(course, date, trainer string, attendees ...string) url.Values {
		return url.Values{"course": {course}, "date": {date}, "trainer": {trainer}, "material": {"操作手順書"}, "attendee": attendees}
	}
	before := admin.do("GET", "/training", nil).Body.String()
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{session("operation", "2099-01-01", "見本 管理者", node.DemoUntrained), "今日より後"},
		{session("operation", "きのう", "見本 管理者", node.DemoUntrained), "実施日「きのう」を読み取れません"},
		{session("operation", today, "", node.DemoUntrained), "講師：必須項目です"},
		{session("operation", today, "見本 管理者"), "出席者を一人以上"},
		{session("cooking", today, "見本 管理者", node.DemoUntrained), "研修の種類"},
	} {
		rec := admin.do("POST", "/training/sessions", c.form)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("bad session %v: %d, want 400 naming %q", c.form, rec.Code, c.want)
		}
	}
	if after := admin.do("GET", "/training", nil).Body.String(); strings.Count(after, "<tr>") != strings.Count(before, "<tr>") {
		t.Errorf("a refused session changed the training screen")
	}
	for _, course := range []string{"operation", "security"} {
		if rec := admin.do("POST", "/training/sessions", session(course, today, "見本 管理者", node.DemoUntrained)); rec.Code != http.StatusSeeOther {
			t.Fatalf("record %s: %d %s", course, rec.Code, rec.Body.String())
		}
	}
	if rec := late.do("POST", "/lookup", form); rec.Code != http.StatusOK {
		t.Errorf("lookup after training: %d", rec.Code)
	}
}

// TestBrowserTrainingRestoresUse walks koto-ward:10 in Chromium: the
// demo's operator whose training expired is refused a lookup naming the
// course; the system administrator records both courses on the 研修
// screen; the operator then looks the resident up.
func TestBrowserTrainingRestoresUse(t *testing.T) {
	ctx, _ := newBrowser(t, true)
	_, base, code := liveDemo(t)
	signInAs := func(vid string) {
		run(t, ctx, "sign in as "+vid, chromedp.Navigate(base+"/login"),
			chromedp.Click(`[data-testid="demo-`+vid+`"]`, chromedp.ByQuery),
			chromedp.WaitVisible(`[data-testid="today"]`, chromedp.ByQuery))
	}
	signOut := func() {
		run(t, ctx, "sign out", chromedp.Click(`form[action="/logout"] button`, chromedp.ByQuery), chromedp.WaitVisible(`#vid`, chromedp.ByQuery))
	}
	lookup := func() {
		run(t, ctx, "lookup", chromedp.Navigate(base+"/lookup"),
			chromedp.SetValue(`#affair`, "juminhyo-copy", chromedp.ByQuery),
			chromedp.SendKeys(`#reason`, "窓口での本人申請", chromedp.ByQuery),
			chromedp.SendKeys(`#code`, code, chromedp.ByQuery),
			chromedp.Submit(`[data-testid="lookup-form"]`, chromedp.ByQuery),
			chromedp.WaitReady(`main`, chromedp.ByQuery))
	}
	signInAs(node.DemoUntrained)
	lookup()
	if got := text(t, ctx, `[data-testid="lookup-error"]`); !strings.Contains(got, "「住基ネット機器操作研修」の受講の有効期限が") {
		t.Errorf("refusal: %q", got)
	}
	signOut()
	signInAs(node.DemoAdmin)
	for _, course := range []string{"operation", "security"} {
		run(t, ctx, "record "+course, chromedp.Navigate(base+"/training"),
			chromedp.SetValue(`#course`, course, chromedp.ByQuery),
			chromedp.SendKeys(`#trainer`, "見本 管理者", chromedp.ByQuery),
			chromedp.SendKeys(`#material`, "研修テキスト "+course, chromedp.ByQuery),
			chromedp.Click(`input[name=attendee][value="`+node.DemoUntrained+`"]`, chromedp.ByQuery),
			chromedp.Submit(`[data-testid="record-training"]`, chromedp.ByQuery))
		// The screen already lists the demo's sessions: ask until this one
		// is there (queries fail while the browser navigates).
		var shown bool
		for tries := 0; !shown && tries < 200; tries++ { // up to 10 s, counted in waits
			chromedp.Run(ctx, chromedp.Evaluate(`!!document.querySelector('[data-testid="training-sessions"]') && document.querySelector('[data-testid="training-sessions"]').innerText.includes("研修テキスト `+course+`")`, &shown))
			if !shown {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if !shown {
			t.Fatalf("the %s session does not appear on the training screen", course)
		}
	}
	if got := text(t, ctx, `[data-testid="training-`+node.DemoUntrained+`"]`); !strings.Contains(got, "受講済み") {
		t.Errorf("after recording, the training screen says %q", got)
	}
	signOut()
	signInAs(node.DemoUntrained)
	lookup()
	if got := text(t, ctx, `[data-testid="results"]`); !strings.Contains(got, "監査ログに記録されました") {
		t.Errorf("lookup after training: %q", got)
	}
}

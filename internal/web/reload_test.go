package web

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"jukinet/internal/node"
)

// TestBrowserReloadAsksBeforeLogging (issue 23 item 8): reloading the page
// of a look-up's result, or of a resident's history, looks nobody up and
// writes nothing to the audit log — Chromium resends the form without
// asking — and says so, offering the form as it was; sent again from
// there, it is a new access, logged as one. Going back to the result does
// not send the form either (the page is not stored).
func TestBrowserReloadAsksBeforeLogging(t *testing.T) {
	s, base, code := liveDemo(t)
	ctx, _ := newBrowser(t, true)
	size := func() int64 {
		t.Helper()
		n, err := s.node.Log.Size(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	reload := func(what, want string) {
		t.Helper()
		var shown bool
		run(t, ctx, "reload "+what, chromedp.ActionFunc(func(ctx context.Context) error { return page.Reload().Do(ctx) }),
			chromedp.WaitVisible(`[data-testid="results"], [data-testid="history"], [data-testid="resubmitted"]`, chromedp.ByQuery),
			chromedp.Evaluate(`!!document.querySelector('`+want+`')`, &shown))
		if !shown {
			t.Fatalf("reloading %s did not say the page was reloaded", what)
		}
	}
	run(t, ctx, "sign in and look up", chromedp.Navigate(base+"/login"),
		chromedp.Click(`[data-testid="demo-`+node.DemoOperator+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="me"]`, chromedp.ByQuery),
		chromedp.Navigate(base+"/lookup"),
		chromedp.SendKeys(`#reason`, "窓口での本人申請", chromedp.ByQuery),
		chromedp.SendKeys(`#code`, code, chromedp.ByQuery),
		chromedp.Submit(`[data-testid="lookup-form"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="results"]`, chromedp.ByQuery))
	before := size()
	reload("the result", `[data-testid="resubmitted"]`)
	if got := size(); got != before {
		t.Errorf("reloading a look-up's result wrote %d audit entries", got-before)
	}
	var typed string
	run(t, ctx, "read the form", chromedp.Value(`#code`, &typed, chromedp.ByQuery))
	if typed != code {
		t.Errorf("after a reload the form holds %q, want the code looked up", typed)
	}
	if got := text(t, ctx, `[data-testid="resubmitted"]`); !strings.Contains(got, "照会はまだ行っていません") {
		t.Errorf("the reloaded page says %q", got)
	}
	run(t, ctx, "look up again", chromedp.Submit(`[data-testid="lookup-form"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="results"]`, chromedp.ByQuery))
	if got := size(); got != before+1 {
		t.Errorf("sending the form again wrote %d audit entries, want 1", got-before)
	}

	run(t, ctx, "history", chromedp.Click(`form[action="/history"] button`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="history"]`, chromedp.ByQuery))
	before = size()
	reload("the history", `[data-testid="history-again"]`)
	if got := size(); got != before {
		t.Errorf("reloading a history wrote %d audit entries", got-before)
	}
	run(t, ctx, "history again", chromedp.Submit(`[data-testid="history-again"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="history"]`, chromedp.ByQuery))
	if got := size(); got != before+1 {
		t.Errorf("asking for the history again wrote %d audit entries, want 1", got-before)
	}

	// Away and back: the browser does not send the form again by itself.
	before = size()
	run(t, ctx, "away", chromedp.Navigate(base+"/status"))
	chromedp.Run(ctx, chromedp.NavigateBack()) // the result is not stored: the browser shows its own page
	if got := size(); got != before {
		t.Errorf("going back to a result wrote %d audit entries", got-before)
	}
}

// onceOf is the once-value of the first form on a page.
func onceOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`name="once" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("the page has no once-value")
	}
	return m[1]
}

// TestLookupSentTwiceIsNotRepeated: the same form sent twice (a reload)
// is looked up once; the second answer offers the form again and logs
// nothing, even when the server restarted between the two. A form without
// the value (not from the screens) is looked up; one with a value the
// server did not issue is not.
func TestLookupSentTwiceIsNotRepeated(t *testing.T) {
	s, code := demoServer(t)
	clerk := signIn(t, s, node.DemoOperator)
	ctx := context.Background()
	once := onceOf(t, clerk.do("GET", "/lookup", nil).Body.String())
	form := map[string][]string{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}, "once": {once}}
	before, _ := s.node.Log.Size(ctx)
	if rec := clerk.do("POST", "/lookup", form); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `data-testid="results"`) {
		t.Fatalf("first look-up: %d", rec.Code)
	}
	rec := clerk.do("POST", "/lookup", form)
	if body := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(body, `data-testid="results"`) || !strings.Contains(body, `data-testid="resubmitted"`) || !strings.Contains(body, `value="`+code+`"`) {
		t.Errorf("the same form again: %d, want the form offered again with the code", rec.Code)
	}
	if after, _ := s.node.Log.Size(ctx); after != before+1 {
		t.Errorf("the same form twice wrote %d audit entries, want 1", after-before)
	}
	// The server restarts (a new Server on the same node; the session is
	// kept in the database): the page reloaded now is not looked up again.
	restarted, err := New(s.node, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	clerk.s = restarted
	rec = clerk.do("POST", "/lookup", form)
	if body := rec.Body.String(); rec.Code != http.StatusOK || strings.Contains(body, `data-testid="results"`) || !strings.Contains(body, `data-testid="resubmitted"`) {
		t.Errorf("the same form after a restart: %d, want the form offered again", rec.Code)
	}
	form["once"] = []string{"made-up"}
	clerk.do("POST", "/lookup", form)
	if after, _ := s.node.Log.Size(ctx); after != before+1 {
		t.Errorf("the form after a restart, or with a made-up value, wrote %d audit entries, want none", after-before-1)
	}
	// The form offered again carries a value of the new run: sent, it is
	// a new access, looked up and logged.
	form["once"] = []string{onceOf(t, rec.Body.String())}
	if rec := clerk.do("POST", "/lookup", form); !strings.Contains(rec.Body.String(), `data-testid="results"`) {
		t.Errorf("the form offered again after a restart was not looked up: %d", rec.Code)
	}
	delete(form, "once")
	clerk.do("POST", "/lookup", form)
	if after, _ := s.node.Log.Size(ctx); after != before+3 {
		t.Errorf("a form without its once-value was not looked up: %d entries, want %d", after-before, 3)
	}
}

// TestOnceValuesHoldNoDigits: the values that travel in URLs (an audit
// view's token) hold no digit, so none can read as a 住民票コード or a 個人番号
// (TestNoIdentifierInURLs failed on a token holding 02717155214).
func TestOnceValuesHoldNoDigits(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		v := newOnce()
		if len(v) != 32 || strings.ContainsAny(v, "0123456789") || strings.Trim(v, "abcdefghijklmnop") != "" {
			t.Fatalf("newOnce() = %q: want 32 letters a to p", v)
		}
		if seen[v] {
			t.Fatalf("newOnce() repeated %q", v)
		}
		seen[v] = true
	}
}

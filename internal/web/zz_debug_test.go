package web

import (
	"os"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"jukinet/internal/node"
)

func TestZZDebug(t *testing.T) {
	_, base, _ := liveDemo(t)
	ctx, _ := newBrowser(t, true)
	var buf []byte
	var info string
	path := os.Getenv("DBG_PATH")
	run(t, ctx, "x", chromedp.Navigate(base+"/login"),
		chromedp.Click(`[data-testid="demo-`+node.DemoAdmin+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`[data-testid="me"]`, chromedp.ByQuery),
		emulation.SetDeviceMetricsOverride(683, 384, 2, false),
		chromedp.Navigate(base+path),
		chromedp.Evaluate(`JSON.stringify({sw: document.documentElement.scrollWidth, w: innerWidth, wide: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 15).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + e.textContent.slice(0, 30))})`, &info),
		chromedp.FullScreenshot(&buf, 100))
	t.Log(info)
	os.WriteFile("/tmp/debug.png", buf, 0o644)
}

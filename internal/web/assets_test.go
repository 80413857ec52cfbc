package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestAssetsScreen walks koto-ward:14 on the screen: the system
// administrator sees the register with the demo's terminals, registers a
// server (bad input refused naming the field, nothing stored), is refused
// its retirement without the erasure record and retires it with one; the
// screen shows the record, in Japanese and in English.
func TestAssetsScreen(t *testing.T) {
	s, _ := demoServer(t)
	admin := signIn(t, s, node.DemoAdmin)
	body := admin.do("GET", "/assets", nil).Body.String()
	for _, want := range []string{"情報資産", `data-testid="asset-` + node.DemoTerminal + `"`, "端末機", `data-testid="add-asset"`, `href="/assets"`} {
		if !strings.Contains(body, want) {
			t.Errorf("assets screen lacks %q", want)
		}
	}
	today := s.node.Now().In(jptext.JST).Format("2006-01-02")
	server := func(id, name, installed string) url.Values {
		return url.Values{"id": {id}, "kind": {"server"}, "name": {name}, "location": {"本庁舎サーバ室"}, "manager": {node.DemoAdmin}, "installed": {installed}}
	}
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{server("SV-01", "", today), "名称"},
		{server("SV-01", "CSサーバ", "きのう"), "設置日「きのう」を読み取れません"},
		{server("SV-01", "CSサーバ", "2099-01-01"), "今日より後"},
		{server("サーバ", "CSサーバ", today), "管理番号"},
	} {
		rec := admin.do("POST", "/assets", c.form)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("bad asset %v: %d, want 400 naming %q", c.form, rec.Code, c.want)
		}
	}
	if body := admin.do("GET", "/assets", nil).Body.String(); strings.Contains(body, `data-testid="asset-SV-01"`) {
		t.Errorf("a refused asset was stored")
	}
	if rec := admin.do("POST", "/assets", server("SV-01", "CSサーバ", today)); rec.Code != http.StatusSeeOther {
		t.Fatalf("register: %d %s", rec.Code, rec.Body.String())
	}
	retire := url.Values{"id": {"SV-01"}, "date": {today}, "reason": {"機器更新"}}
	if rec := admin.do("POST", "/assets/retire", retire); rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), "消去・破壊の方法") {
		t.Errorf("retired without an erasure record: %d %s", rec.Code, rec.Body.String())
	}
	retire.Set("method", "destroy")
	retire.Set("erased_by", "保守業者 山田")
	retire.Set("witness", node.DemoAdmin)
	retire.Set("erased", today)
	if rec := admin.do("POST", "/assets/retire", retire); rec.Code != http.StatusSeeOther {
		t.Fatalf("retire: %d %s", rec.Code, rec.Body.String())
	}
	if body := admin.do("GET", "/assets", nil).Body.String(); !strings.Contains(textOf(body), "物理的破壊・保守業者 山田") {
		t.Errorf("the erasure record is not shown")
	}
	if body := admin.do("GET", "/assets?lang=en", nil).Body.String(); !strings.Contains(body, "Information assets") || !strings.Contains(body, "destroy") {
		t.Errorf("assets screen in English")
	}
}

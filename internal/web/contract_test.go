package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/contract"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestContractScreen walks outsourcing (koto-ward:3 with the clauses of
// aomori-pref:10.2) on the screens: the system administrator records a
// contract (bad input is refused naming the field and stores nothing), its
// clauses but one, and the demo operator as the vendor's person; the
// operator is refused a lookup naming the missing clause; the screen says
// which clause is missing; once it is recorded, the operator looks up. The
// contract is then ended early (契約の解除: bad input refused naming the
// field, nothing stored) and the operator's next lookup is refused naming
// the day and the reason; the row shows the end, in both languages.
func TestContractScreen(t *testing.T) {
	s, code := demoServer(t)
	admin := signIn(t, s, node.DemoAdmin)
	now := s.node.Now().In(jptext.JST)
	start, end := now.AddDate(0, 0, -1).Format("2006-01-02"), now.AddDate(0, 1, 0).Format("2006-01-02")
	add := func(vendor, start, end string) url.Values {
		return url.Values{"vendor": {vendor}, "scope": {"端末の保守"}, "start": {start}, "end": {end}, "survey": {"Pマーク確認"}}
	}
	for _, c := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/contracts", add("", start, end), "委託先"},
		{"/contracts", add("株式会社保守", "来月", end), "開始日「来月」を読み取れません"},
		{"/contracts", add("株式会社保守", end, start), "開始日"},
		{"/contracts/clauses", url.Values{"contract": {"x"}, "clause": {"confidentiality"}, "reference": {"第3条"}}, "契約番号"},
	} {
		rec := admin.do("POST", c.path, c.form)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("bad form %s %v: %d, want 400 naming %q", c.path, c.form, rec.Code, c.want)
		}
	}
	// The demo's two contracts are numbers 1 and 2; the next is 3.
	if body := admin.do("GET", "/contracts", nil).Body.String(); strings.Count(body, `<tr data-testid="contract-`) != 2 || strings.Contains(body, "株式会社保守") {
		t.Errorf("a refused contract was stored")
	}
	for _, step := range []struct {
		path string
		form url.Values
	}{
		{"/contracts", add("株式会社保守", start, end)},
		{"/contracts/people", url.Values{"contract": {"3"}, "verification_id": {node.DemoOperator}}},
	} {
		if rec := admin.do("POST", step.path, step.form); rec.Code != http.StatusSeeOther {
			t.Fatalf("POST %s: %d %s", step.path, rec.Code, rec.Body.String())
		}
	}
	for _, cl := range contract.Clauses[1:] {
		if rec := admin.do("POST", "/contracts/clauses", url.Values{"contract": {"3"}, "clause": {cl.ID}, "reference": {"第5条"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("clause %s: %d %s", cl.ID, rec.Code, rec.Body.String())
		}
	}
	op := signIn(t, s, node.DemoOperator)
	form := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
	if rec := op.do("POST", "/lookup", form); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), "「再委託の禁止」の約定がありません") {
		t.Fatalf("lookup by a contractor whose contract lacks a clause: %d\n%s", rec.Code, rec.Body.String())
	}
	body := admin.do("GET", "/contracts", nil).Body.String()
	row := body[strings.Index(body, `<tr data-testid="contract-3"`)+1:]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{"株式会社保守", "約定がない事項", "再委託の禁止", node.DemoOperator, "契約期間中"} {
		if !strings.Contains(row, want) {
			t.Errorf("the contract's row on the screen lacks %q:\n%s", want, row)
		}
	}
	if body := admin.do("GET", "/contracts?lang=en", nil).Body.String(); !strings.Contains(body, "Clauses missing") || !strings.Contains(body, "no subcontracting") {
		t.Errorf("contracts screen in English")
	}
	if rec := admin.do("POST", "/contracts/clauses", url.Values{"contract": {"3"}, "clause": {"no-subcontracting"}, "reference": {"第4条"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("last clause: %d %s", rec.Code, rec.Body.String())
	}
	if rec := admin.do("POST", "/contracts/reports", url.Values{"contract": {"3"}, "kind": {"disposal"}, "date": {now.Format("2006-01-02")}, "summary": {"媒体を溶解処理"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("report: %d %s", rec.Code, rec.Body.String())
	}
	if rec := op.do("POST", "/lookup", form); rec.Code != http.StatusOK {
		t.Errorf("lookup by a contractor under a complete contract: %d\n%s", rec.Code, rec.Body.String())
	}

	// 契約の解除: bad input refused naming the field, nothing stored; ended
	// today, the contractor's next lookup is refused naming the day and why.
	now = s.node.Now().In(jptext.JST) // the day the contract is ended (the suite may run across a midnight)
	today := now.Format("2006-01-02")
	for _, c := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"contract": {"3"}, "date": {today}, "reason": {""}}, "解除の理由"},
		{url.Values{"contract": {"3"}, "date": {now.AddDate(0, 0, -1).Format("2006-01-02")}, "reason": {"契約違反"}}, "今日より前"},
		{url.Values{"contract": {"3"}, "date": {"あした"}, "reason": {"契約違反"}}, "解除日「あした」を読み取れません"},
		{url.Values{"contract": {"99"}, "date": {today}, "reason": {"契約違反"}}, "登録されていません"},
	} {
		if rec := admin.do("POST", "/contracts/end", c.form); rec.Code/100 != 4 || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("bad end %v: %d, want a refusal naming %q", c.form, rec.Code, c.want)
		}
	}
	if body := admin.do("GET", "/contracts", nil).Body.String(); strings.Contains(body, `data-testid="contract-ended"`) {
		t.Errorf("a refused end was stored")
	}
	if rec := admin.do("POST", "/contracts/end", url.Values{"contract": {"3"}, "date": {today}, "reason": {"再委託の発覚"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("end: %d %s", rec.Code, rec.Body.String())
	}
	if rec := op.do("POST", "/lookup", form); rec.Code != http.StatusForbidden || !strings.Contains(rec.Body.String(), jptext.FormatWareki(now)+"に解除されています（理由：再委託の発覚）") {
		t.Errorf("lookup by a contractor whose contract was ended: %d\n%s", rec.Code, rec.Body.String())
	}
	body = admin.do("GET", "/contracts", nil).Body.String()
	row = body[strings.Index(body, `<tr data-testid="contract-3"`)+1:]
	row = row[:strings.Index(row, "</tr>")]
	if !strings.Contains(textOf(row), "解除："+jptext.FormatWareki(now)) || !strings.Contains(row, "再委託の発覚") || !strings.Contains(row, "契約終了") {
		t.Errorf("the ended contract's row:\n%s", row)
	}
	if body := admin.do("GET", "/contracts?lang=en", nil).Body.String(); !strings.Contains(body, "Ended early") {
		t.Errorf("the ended contract in English")
	}
}

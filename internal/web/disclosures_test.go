package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/disclosure"
	forms "jukinet/internal/form"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/report/reporttest"
)

func mustNumber(t *testing.T, s string) forms.Number {
	t.Helper()
	n, err := forms.ParseNumber(s)
	if err != nil {
		t.Fatalf("form number %q: %v", s, err)
	}
	return n
}

// TestDisclosureScreen walks a disclosure request on its screen: the
// department's operator receives it (a bad code re-renders the form with
// the error tied to it and what was typed kept), is not offered the
// decision; the department's head decides (a partial disclosure without a
// reason is refused in its form); the operator issues it and downloads the
// PDF and the proof, each download logged; the proof checks with the
// node's key. The chief sees the register without its forms; a request 20
// days old is marked overdue; a contractor is refused the screen.
func TestDisclosureScreen(t *testing.T) {
	s, code := demoServer(t)
	ctx := context.Background()
	clerk, so, chief, contractor := signIn(t, s, node.DemoOperator), signIn(t, s, node.DemoOfficer), signIn(t, s, node.DemoChief), signIn(t, s, node.DemoContractor)
	if rec := contractor.do("GET", "/disclosures", nil); rec.Code != 403 {
		t.Errorf("a contractor opens the disclosures: %d", rec.Code)
	}
	page := clerk.do("GET", "/disclosures", nil).Body.String()
	if !strings.Contains(page, `data-testid="receive-disclosure"`) || !strings.Contains(page, `href="/disclosures" aria-current="page"`) {
		t.Fatalf("the clerk's screen lacks the receive form or the menu entry:\n%s", page)
	}
	form := url.Values{"resident": {code}, "requester": {"self"}, "id_check": {"driver-licence"}, "item": {"accesses", "provisions"}}
	bad := url.Values{}
	for k, v := range form {
		bad[k] = v
	}
	bad.Set("resident", code[:10]+"x")
	rec := clerk.do("POST", "/disclosures", bad)
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `aria-describedby="error-receive"`) || !strings.Contains(body, "住民票コード") ||
		!strings.Contains(body, `value="`+code[:10]+`x"`) {
		t.Errorf("a bad code: %d\n%s", rec.Code, body)
	}
	if rec := clerk.do("POST", "/disclosures", form); rec.Code != 303 {
		t.Fatalf("receive: %d %s", rec.Code, rec.Body.String())
	}
	wantEntry(t, s, "disclosure.receive", node.DemoOperator, auditlog.Allow)
	if e := newestEntry(t, s, "disclosure.receive"); e.SubjectCount != 1 {
		t.Errorf("the request's entry concerns %d residents", e.SubjectCount)
	}
	if page := clerk.do("GET", "/disclosures", nil).Body.String(); strings.Contains(page, `data-testid="decide-1"`) || !strings.Contains(page, "決定待ち") {
		t.Errorf("the clerk is offered the decision, or the request is not awaiting it")
	}
	rec = so.do("POST", "/disclosures/decide", url.Values{"request": {"1"}, "decision": {"partial"}})
	if body := rec.Body.String(); rec.Code != 400 || !strings.Contains(body, `aria-describedby="error-decide-1"`) || !strings.Contains(body, "理由が必要") {
		t.Errorf("partial without a reason: %d\n%s", rec.Code, body)
	}
	if rec := clerk.do("POST", "/disclosures/decide", url.Values{"request": {"1"}, "decision": {"disclose"}}); rec.Code != 403 {
		t.Errorf("the clerk deciding: %d", rec.Code)
	}
	if rec := so.do("POST", "/disclosures/decide", url.Values{"request": {"1"}, "decision": {"disclose"}}); rec.Code != 303 {
		t.Fatalf("decide: %d %s", rec.Code, rec.Body.String())
	}
	if rec := clerk.do("POST", "/disclosures/issue", url.Values{"request": {"1"}, "delivery": {"郵送"}}); rec.Code != 303 {
		t.Fatalf("issue: %d %s", rec.Code, rec.Body.String())
	}
	q, err := disclosure.Get(ctx, s.node.DB, 1)
	if err != nil || q.State() != disclosure.Issued || q.Delivery != "郵送" || q.Entries < 3 {
		t.Fatalf("the issued request: %+v %v", q, err)
	}
	page = clerk.do("GET", "/disclosures", nil).Body.String()
	if !strings.Contains(page, `data-testid="document-1"`) || !strings.Contains(page, "交付済み") || !strings.Contains(page, q.ProofSHA256) {
		t.Errorf("the issued request's row lacks its documents or digest")
	}
	reprints, downloads := countEntries(t, s, "disclosure.reprint"), countEntries(t, s, "disclosure.download")
	rec = clerk.do("POST", "/disclosures/document", url.Values{"request": {"1"}, "format": {"pdf"}})
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("the PDF: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if text := strings.Join(strings.Fields(reporttest.Text(t, rec.Body.Bytes())), ""); !strings.Contains(text, "本人確認情報の提供状況等の開示書") ||
		!strings.Contains(text, code) || !strings.Contains(text, "開示請求の受付") || !strings.Contains(text, "帳票管理番号") {
		t.Errorf("the PDF reads:\n%s", text)
	}
	rec = clerk.do("POST", "/disclosures/document", url.Values{"request": {"1"}, "format": {"json"}})
	res, err := auditlog.CheckResidentProof(rec.Body.Bytes(), s.node.Verifier)
	if err != nil || res.Resident != code || int64(len(res.Entries)) != q.Entries {
		t.Errorf("the proof: %v %+v", err, res)
	}
	if n := countEntries(t, s, "disclosure.download"); n != downloads+2 {
		t.Errorf("downloads logged: %d, want %d", n, downloads+2)
	}
	// The document as issued is the form handed over at the issue; a
	// reprint is a new form, with its own number.
	issuedForm, err := forms.Get(ctx, s.node.DB, mustNumber(t, q.FormNumber))
	if err != nil || issuedForm.State != forms.HandedOver || issuedForm.Kind != forms.KindDisclosure {
		t.Errorf("the issued document's form: %+v %v", issuedForm, err)
	}
	rec = clerk.do("POST", "/disclosures/reprint", url.Values{"request": {"1"}, "destination": {"区民課 保管庫"}})
	if text := reporttest.Text(t, rec.Body.Bytes()); rec.Code != 200 || strings.Contains(text, q.FormNumber) || !strings.Contains(text, "帳票管理番号") {
		t.Errorf("the reprint: %d, its number is the issued one's or missing", rec.Code)
	}
	if n := countEntries(t, s, "disclosure.reprint"); n != reprints+1 {
		t.Errorf("reprints logged: %d, want %d", n, reprints+1)
	}

	// An old request is overdue; the chief sees the register, not its forms.
	old := jptext.FormatWareki(jptext.Midnight(s.node.Now()).AddDate(0, 0, -20))
	form.Set("received", old)
	if rec := clerk.do("POST", "/disclosures", form); rec.Code != 303 {
		t.Fatalf("receive an old request: %d %s", rec.Code, rec.Body.String())
	}
	if page := so.do("GET", "/", nil).Body.String(); !strings.Contains(page, `data-testid="overdue-disclosures"`) || !strings.Contains(page, "第2号") {
		t.Errorf("the head's dashboard does not list the overdue request")
	}
	if page := chief.do("GET", "/", nil).Body.String(); strings.Contains(page, `data-testid="overdue-disclosures"`) {
		t.Errorf("the chief's dashboard lists the department's overdue requests")
	}
	page = chief.do("GET", "/disclosures", nil).Body.String()
	if !strings.Contains(page, `data-testid="disclosure-overdue-2"`) || strings.Contains(page, `data-testid="receive-disclosure"`) || strings.Contains(page, `data-testid="decide-2"`) {
		t.Errorf("the chief's screen: overdue mark missing or forms offered")
	}
}

package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"jukinet/internal/auditlog"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
)

// TestStoredErrorsInThePagesLanguage: an audit entry's error is kept with
// its class and its Japanese message beside the English (issue 23 item
// 2), so the Japanese audit screen, CSV and PDF show it in Japanese and
// the English ones in English, the class as secondary detail; an entry
// that kept only English (written before) shows it as recorded, as
// secondary detail only. Errors of the gate and of a register change
// refused in its transaction (the log's own path) alike.
func TestStoredErrorsInThePagesLanguage(t *testing.T) {
	s, code := demoServer(t)
	ctx := context.Background()
	clerk := signIn(t, s, node.DemoOperator)
	wrong := code[:10] + string(rune('0'+(int(code[10]-'0')+1)%10))
	if rec := clerk.do("POST", "/lookup", url.Values{"affair": {"juki"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {wrong}}); rec.Code != http.StatusBadRequest {
		t.Fatalf("a look-up with a wrong check digit: %d", rec.Code)
	}
	gateErr := lastEntry(t, s)
	if gateErr.Outcome != auditlog.OutcomeError || gateErr.ErrorCode != "invalid" || !strings.Contains(gateErr.ErrorJapanese, "住民票コード") ||
		!strings.Contains(gateErr.Error, "check digit") {
		t.Fatalf("the gate's entry keeps %q %q %q", gateErr.Error, gateErr.ErrorCode, gateErr.ErrorJapanese)
	}
	chief := signIn(t, s, node.DemoChief)
	// A register change refused inside its transaction: logged by the
	// log itself, with the Japanese message too.
	if rec := chief.do("POST", "/incidents", url.Values{"kind": {"misuse"}, "title": {"件名"}, "summary": {"概要"}, "alert": {"999"}}); rec.Code != http.StatusNotFound {
		t.Fatalf("an incident from a missing alert: %d", rec.Code)
	}
	workErr := lastEntry(t, s)
	if workErr.ErrorCode != "not_found" || workErr.ErrorJapanese != "検知 999 はありません" || workErr.Error != "no alert 999" {
		t.Fatalf("the refused change's entry keeps %q %q %q", workErr.Error, workErr.ErrorCode, workErr.ErrorJapanese)
	}
	// An entry as written before: English only.
	if _, err := s.node.Log.Append(ctx, auditlog.Entry{Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator},
		Origin: "terminal:DEMO-T", Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Allow, Policy: "test",
		Outcome: auditlog.OutcomeError, Error: "an old error, kept in English"}); err != nil {
		t.Fatal(err)
	}

	cell := func(body string, seq int64) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)data-testid="entry-seq">` + strconv.FormatInt(seq, 10) + `</td>.*?(<td data-testid="entry-outcome".*?</td>)`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("entry %d is not on the screen", seq)
		}
		return html.UnescapeString(m[1])
	}
	ja := chief.do("GET", "/audit?outcome=error", nil).Body.String()
	en := chief.do("GET", "/audit?outcome=error&lang=en", nil).Body.String()
	for _, e := range []*auditlog.Entry{gateErr, workErr} {
		j, n := cell(ja, e.Seq), cell(en, e.Seq)
		if !strings.Contains(j, `data-testid="entry-error">`+e.ErrorJapanese+`</small>`) || strings.Contains(j, e.Error) ||
			!strings.Contains(j, `<small class="code" data-testid="entry-error-code">`+e.ErrorCode+`</small>`) {
			t.Errorf("entry %d on the Japanese screen: %s", e.Seq, j)
		}
		if !strings.Contains(n, `data-testid="entry-error">`+e.Error+`</small>`) || strings.Contains(n, e.ErrorJapanese) {
			t.Errorf("entry %d on the English screen: %s", e.Seq, n)
		}
	}
	old := lastEntry(t, s)
	if j := cell(ja, old.Seq); strings.Contains(j, `data-testid="entry-error"`) || !strings.Contains(j, `<small class="code raw" data-testid="entry-error-raw">an old error, kept in English</small>`) {
		t.Errorf("an English-only entry on the Japanese screen: %s", j)
	}

	// The exports: the error in their language, its class and the text as
	// recorded beside it.
	for _, tt := range []struct{ path, errCol, codeCol, rawCol string }{
		{"/audit/export", "エラーの内容", "エラーの種別（コード）", "記録されたエラー（英語）"},
		{"/audit/export?lang=en", "Error", "Error class (code)", "Error as recorded (English)"},
	} {
		for _, format := range []string{"csv-utf8", "csv-sjis"} {
			rec := chief.do("POST", tt.path, url.Values{"outcome": {"error"}, "format": {format}})
			if rec.Code != http.StatusOK {
				t.Fatalf("%s %s: %d", tt.path, format, rec.Code)
			}
			recs := readCSV(t, rec.Body.Bytes(), format == "csv-sjis")
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			rows := map[string][]string{}
			for _, r := range recs[1:] {
				rows[r[0]] = r
			}
			for _, e := range []*auditlog.Entry{gateErr, workErr} {
				r := rows[strconv.FormatInt(e.Seq, 10)]
				want := e.ErrorJapanese
				if strings.Contains(tt.path, "lang=en") {
					want = e.Error
				}
				if r == nil || r[col[tt.errCol]] != want || r[col[tt.codeCol]] != e.ErrorCode || r[col[tt.rawCol]] != e.Error {
					t.Errorf("%s %s: entry %d exported as %q", tt.path, format, e.Seq, r)
				}
			}
		}
	}
	rec := chief.do("POST", "/audit/export", url.Values{"outcome": {"error"}, "format": {"pdf"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("PDF: %d", rec.Code)
	}
	file := filepath.Join(t.TempDir(), "errors.pdf")
	if err := os.WriteFile(file, rec.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfToText(t, file)), "")
	// (Columns interleave in pdftotext's reading: the words are looked for.)
	if !strings.Contains(text, "検査数字が") || !strings.Contains(text, "(invalid)") || !strings.Contains(text, "(not_found)") || !strings.Contains(text, "検知999") ||
		strings.Contains(text, "noalert999") || strings.Contains(text, "checkdigit") {
		t.Errorf("the Japanese PDF does not give the error in Japanese:\n%s", text)
	}
}

// TestDecisionReasonsInThePagesLanguage: an audit entry's decision reason
// is kept in Japanese beside the English when the verdict gave one (issue
// 23 item 2) — a look-up the policies refuse (the gate's first decision),
// a look-up of a protected resident without a case reference (its second,
// on the protected-resident policy) and an export the role may not take
// (the administrative check) — so the Japanese audit screen, CSV and PDF
// show the reason in Japanese and the English ones in English; an entry
// that kept only English (written before, or a verdict without Japanese)
// shows it as recorded, as secondary detail only.
func TestDecisionReasonsInThePagesLanguage(t *testing.T) {
	onEachDatabase(t, testDecisionReasonsInThePagesLanguage)
}

func testDecisionReasonsInThePagesLanguage(t *testing.T, dbURL string) {
	ctx := context.Background()
	s, code := exportServer(t, dbURL)

	// The gate's decision: an operator whose training expired.
	late := signIn(t, s, node.DemoUntrained)
	look := url.Values{"affair": {"juminhyo-copy"}, "reason": {"窓口での本人申請"}, "mode": {"code"}, "code": {code}}
	if rec := late.do("POST", "/lookup", look); rec.Code != http.StatusForbidden {
		t.Fatalf("a look-up by an operator whose training expired: %d", rec.Code)
	}
	gateDeny := lastEntry(t, s)
	// The protected-resident decision: no case reference.
	officer := signIn(t, s, node.DemoOfficer)
	today := s.node.Now().In(jptext.JST)
	if rec := officer.do("POST", "/protected", url.Values{"code": {code}, "start": {today.Format(time.DateOnly)}, "end": {today.AddDate(0, 3, 0).Format(time.DateOnly)},
		"department": {"kumin"}, "category": {"dv"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("mark the resident protected: %d", rec.Code)
	}
	clerk := signIn(t, s, node.DemoOperator)
	if rec := clerk.do("POST", "/lookup", look); rec.Code != http.StatusForbidden {
		t.Fatalf("a protected resident's look-up without a case reference: %d", rec.Code)
	}
	guardDeny := lastEntry(t, s)
	// The administrative decision: an operator may not export the log.
	if rec := clerk.do("POST", "/audit/export", url.Values{"format": {"csv-utf8"}}); rec.Code != http.StatusForbidden {
		t.Fatalf("an operator's export: %d", rec.Code)
	}
	exportDeny := lastEntry(t, s)
	for _, tt := range []struct {
		name, ja string
		e        *auditlog.Entry
	}{
		{"the gate's refusal", "住基ネット機器操作研修", gateDeny},
		{"the protected-resident refusal", "案件番号", guardDeny},
		{"the export's refusal", "監査ログの閲覧", exportDeny},
	} {
		if tt.e.Decision != auditlog.Deny || tt.e.Why == "" || !strings.Contains(tt.e.WhyJapanese, tt.ja) || strings.Contains(tt.e.Why, tt.ja) {
			t.Fatalf("%s kept its reason as %q / %q, want the Japanese with %q", tt.name, tt.e.Why, tt.e.WhyJapanese, tt.ja)
		}
	}
	if guardDeny.Policy == gateDeny.Policy {
		t.Fatalf("the protected look-up was not refused by the protected-resident policy: %s", guardDeny.Policy)
	}
	// An entry as written before: English only.
	if _, err := s.node.Log.Append(ctx, auditlog.Entry{Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: node.DemoOperator},
		Origin: "terminal:DEMO-T", Action: "lookup", Affair: "juki", Reason: "確認", Decision: auditlog.Deny, Policy: "test",
		Why: "an old reason, kept in English", Outcome: auditlog.OutcomeDenied}); err != nil {
		t.Fatal(err)
	}
	old := lastEntry(t, s)
	refused := []*auditlog.Entry{gateDeny, guardDeny, exportDeny}

	chief := signIn(t, s, node.DemoChief)
	cell := func(body string, seq int64) string {
		t.Helper()
		m := regexp.MustCompile(`(?s)data-testid="entry-seq">` + strconv.FormatInt(seq, 10) + `</td>.*?(<td data-testid="entry-decision".*?</td>)`).FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("entry %d is not on the screen", seq)
		}
		return html.UnescapeString(m[1])
	}
	ja := chief.do("GET", "/audit?outcome=denied", nil).Body.String()
	en := chief.do("GET", "/audit?outcome=denied&lang=en", nil).Body.String()
	for _, e := range refused {
		j, n := cell(ja, e.Seq), cell(en, e.Seq)
		// (Dates in a reason are kept on one line: keepDates.)
		if !strings.Contains(j, `<small data-testid="entry-why">`+html.UnescapeString(string(keepDates(e.WhyJapanese)))+`</small>`) || strings.Contains(j, e.Why) || strings.Contains(j, "entry-why-raw") {
			t.Errorf("entry %d on the Japanese screen: %s", e.Seq, j)
		}
		if !strings.Contains(n, `<small data-testid="entry-why">`+html.UnescapeString(string(keepDates(e.Why)))+`</small>`) || strings.Contains(n, e.WhyJapanese) {
			t.Errorf("entry %d on the English screen: %s", e.Seq, n)
		}
	}
	if j := cell(ja, old.Seq); strings.Contains(j, `data-testid="entry-why"`) || !strings.Contains(j, `<small class="code raw" data-testid="entry-why-raw">an old reason, kept in English</small>`) {
		t.Errorf("an English-only entry on the Japanese screen: %s", j)
	}
	if n := cell(en, old.Seq); !strings.Contains(n, `<small data-testid="entry-why">an old reason, kept in English</small>`) {
		t.Errorf("an English-only entry on the English screen: %s", n)
	}

	// The exports: the reason in their language, the English as recorded
	// beside it.
	for _, tt := range []struct{ path, whyCol, rawCol string }{
		{"/audit/export", "判定の理由", "記録された判定の理由（英語）"},
		{"/audit/export?lang=en", "Why", "Why as recorded (English)"},
	} {
		english := strings.Contains(tt.path, "lang=en")
		for _, format := range []string{"csv-utf8", "csv-sjis"} {
			rec := chief.do("POST", tt.path, url.Values{"outcome": {"denied"}, "format": {format}})
			if rec.Code != http.StatusOK {
				t.Fatalf("%s %s: %d", tt.path, format, rec.Code)
			}
			recs := readCSV(t, rec.Body.Bytes(), format == "csv-sjis")
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			if _, ok := col[tt.whyCol]; !ok {
				t.Fatalf("%s %s: no column %q in %q", tt.path, format, tt.whyCol, recs[0])
			}
			if _, ok := col[tt.rawCol]; !ok {
				t.Fatalf("%s %s: no column %q in %q", tt.path, format, tt.rawCol, recs[0])
			}
			rows := map[string][]string{}
			for _, r := range recs[1:] {
				rows[r[0]] = r
			}
			for _, e := range append(refused, old) {
				r := rows[strconv.FormatInt(e.Seq, 10)]
				want := e.WhyJapanese
				if english {
					want = e.Why
				}
				if r == nil || r[col[tt.whyCol]] != want || r[col[tt.rawCol]] != e.Why {
					t.Errorf("%s %s: entry %d exported as %q", tt.path, format, e.Seq, r)
				}
			}
		}
	}
	rec := chief.do("POST", "/audit/export", url.Values{"outcome": {"denied"}, "format": {"pdf"}})
	if rec.Code != http.StatusOK {
		t.Fatalf("PDF: %d", rec.Code)
	}
	file := filepath.Join(t.TempDir(), "reasons.pdf")
	if err := os.WriteFile(file, rec.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfToText(t, file)), "")
	// (Columns interleave in pdftotext's reading: the words are looked for.)
	if !strings.Contains(text, "住基ネット機器操作研修") || !strings.Contains(text, "案件番号") || !strings.Contains(text, "anoldreason") ||
		strings.Contains(text, "forbiddenby") || strings.Contains(text, "maynot") {
		t.Errorf("the Japanese PDF does not give the reasons in Japanese:\n%s", text)
	}
}

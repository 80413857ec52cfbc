package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"jukinet/internal/auditlog"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/jptext"
	"jukinet/internal/node"
	"jukinet/internal/node/nodetest"
	"jukinet/internal/synth"
)

// exportServer is a demo node for 江東区 on the database at dbURL (SQLite
// in a temporary folder when empty) with one synthetic resident.
func exportServer(t *testing.T, dbURL string) (*Server, string) {
	t.Helper()
	n, _ := nodetest.Open(t, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true, DatabaseURL: dbURL})
	g, _ := synth.New(synth.Options{Seed: 5, LocalGov: "131083"})
	rec := g.Next()
	importOne(t, n, rec)
	s, err := New(n, Options{Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s, string(rec.ResidentCode)
}

// exportReasons are reasons an operator might type, a spreadsheet formula
// among them; all of them Shift_JIS can hold.
var exportReasons = []string{"窓口での本人申請", "=HYPERLINK(\"http://example.invalid\",\"開く\")", "転入届の審査、世帯主の確認", "照会\n（続き）", "＠全角", "-1+2", "髙橋さんの申請（①番窓口）"}

// fillAuditLog appends n entries from 8 writers: every third a lookup by
// one of three operators with one of exportReasons, the others of other
// actions.
func fillAuditLog(t testing.TB, s *Server, n int) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for w := 0; w < 8; w++ {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				e := auditlog.Entry{Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: fmt.Sprintf("op%d", i%3), Name: "見本 取扱者"},
					Origin: "terminal:T-01", Action: "rekey", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK, Detail: fmt.Sprint(i)}
				if i%3 == 0 {
					e.Action, e.Affair, e.Reason, e.Query, e.Count = "lookup", "juki", exportReasons[i%len(exportReasons)], fmt.Sprintf("resident_code=%011d", i), 1
				} else if i%3 == 1 {
					e.Action, e.Decision, e.Outcome, e.Why = "history", auditlog.Deny, auditlog.OutcomeDenied, "not designated"
				}
				if _, err := s.node.Log.Append(ctx, e); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// readCSV decodes an exported file: UTF-8 after its byte order mark, or
// Shift_JIS.
func readCSV(t *testing.T, body []byte, sjis bool) [][]string {
	t.Helper()
	if sjis {
		if bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
			t.Fatal("a Shift_JIS export starts with a UTF-8 byte order mark")
		}
		var err error
		if body, err = japanese.ShiftJIS.NewDecoder().Bytes(body); err != nil {
			t.Fatal(err)
		}
	} else {
		if !bytes.HasPrefix(body, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("a UTF-8 export has no byte order mark: %q", body[:min(20, len(body))])
		}
		body = body[3:]
	}
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// unguard undoes the CSV's formula guard (docs/audit-log.md).
func unguard(s string) string { return strings.TrimPrefix(s, "'") }

// lastEntry is the newest entry of the log.
func lastEntry(t *testing.T, s *Server) *auditlog.Entry {
	t.Helper()
	l, err := auditlog.List(context.Background(), s.node.DB, auditlog.Filter{After: -1, Limit: 1, Newest: true})
	if err != nil || len(l) != 1 || l[0].Entry == nil {
		t.Fatalf("the newest entry: %v %v", l, err)
	}
	return l[0].Entry
}

// TestAuditExport: the audit screen exports exactly its filtered view —
// every page of it — as CSV in UTF-8 and Shift_JIS and as PDF; each
// export is an audit entry naming the filter, the count and the file's
// SHA-256; a role that may not see the log is refused, and the refusal is
// logged (issue 23 item 4).
func TestAuditExport(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			url := ""
			if db == "postgres" {
				url = dbtest.MigratedPostgresURL(t)
			}
			testAuditExport(t, url)
		})
	}
}

func testAuditExport(t *testing.T, dbURL string) {
	ctx := context.Background()
	s, _ := exportServer(t, dbURL)
	fillAuditLog(t, s, 1000)
	chief := signIn(t, s, node.DemoChief)

	// What the screen lists for 照会 (lookup), newest first, over all its
	// pages.
	var want []*auditlog.Entry
	if err := auditlog.Each(ctx, s.node.DB, auditlog.Filter{Action: "lookup", After: -1, Newest: true}, func(l auditlog.Listed) error {
		want = append(want, l.Entry)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != 334 {
		t.Fatalf("%d lookups in the log, want 334", len(want))
	}
	page := chief.do("GET", "/audit?action="+url.QueryEscape("照会"), nil).Body.String()
	for _, button := range []string{"CSVで書き出す（UTF-8）", "CSV（Shift_JIS）", "PDFで書き出す", `name="action" value="照会"`, "334件"} {
		if !strings.Contains(page, button) {
			t.Errorf("the audit screen lacks %q", button)
		}
	}

	for _, format := range []string{"csv-utf8", "csv-sjis"} {
		sizeBefore, _ := s.node.Log.Size(ctx)
		rec := chief.do("POST", "/audit/export", url.Values{"action": {"照会"}, "format": {format}})
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", format, rec.Code, rec.Body.String())
		}
		body := rec.Body.Bytes()
		if cd := rec.Header().Get("Content-Disposition"); !strings.HasPrefix(cd, `attachment; filename="audit-log-131083-`) || !strings.HasSuffix(cd, `.csv"`) {
			t.Errorf("%s: Content-Disposition %q", format, cd)
		}
		if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s: Cache-Control %q", format, cc)
		}
		if !bytes.HasSuffix(body, []byte("\r\n")) || bytes.Count(body, []byte("\r\n")) < len(want)+1 {
			t.Errorf("%s: lines do not end in CRLF", format)
		}
		recs := readCSV(t, body, format == "csv-sjis")
		header := recs[0]
		if !slices.Equal(header[:4], []string{"番号", "日時", "日付（和暦）", "利用者"}) || len(header) != 23 {
			t.Errorf("%s: header %q", format, header)
		}
		col := func(name string) int {
			i := slices.Index(header, name)
			if i < 0 {
				t.Fatalf("%s: no column %s in %q", format, name, header)
			}
			return i
		}
		if len(recs)-1 != len(want) {
			t.Fatalf("%s: %d entries exported, the filter matches %d", format, len(recs)-1, len(want))
		}
		for i, r := range recs[1:] {
			e := want[i]
			at := e.Time.In(jptext.JST)
			got := []string{r[0], r[col("日時")], r[col("日付（和暦）")], r[col("利用者")], r[col("氏名")], r[col("操作")], r[col("操作コード")],
				unguard(r[col("利用事由")]), r[col("照会内容")], r[col("判定")], r[col("結果")], r[col("件数")]}
			exp := []string{strconv.FormatInt(e.Seq, 10), at.Format("2006-01-02T15:04:05+09:00"), jptext.FormatWareki(at), e.Actor.String(), e.Actor.Name,
				"照会", "lookup", e.Reason, e.Query, "許可", "正常", "1"}
			if !slices.Equal(got, exp) {
				t.Fatalf("%s: entry %d exported as\n %q, want\n %q", format, i, got, exp)
			}
		}
		// The formula is disarmed.
		for _, r := range recs[1:] {
			if strings.HasPrefix(r[col("利用事由")], "=") || strings.HasPrefix(r[col("利用事由")], "-") {
				t.Errorf("%s: a cell begins with a formula: %q", format, r[col("利用事由")])
			}
		}
		// The export is logged, with the filter, count, bound and digest
		// of the very bytes sent.
		e := lastEntry(t, s)
		sum := sha256.Sum256(body)
		if e.Action != "audit.export" || e.Actor.ID != node.DemoChief || e.Decision != auditlog.Allow || e.Count != len(want) || e.Query != "action=lookup" ||
			!strings.Contains(e.Detail, hex.EncodeToString(sum[:])) || !strings.Contains(e.Detail, fmt.Sprintf("seq < %d", sizeBefore)) || e.Seq != sizeBefore {
			t.Errorf("%s: the export's entry: %+v (log size before %d)", format, e, sizeBefore)
		}
	}

	// PDF: every page of the view, in 和暦.
	rec := chief.do("POST", "/audit/export", url.Values{"action": {"照会"}, "format": {"pdf"}})
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/pdf" {
		t.Fatalf("pdf: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if e := lastEntry(t, s); e.Action != "audit.export" || e.Count != len(want) || !strings.HasPrefix(e.Detail, "pdf;") {
		t.Errorf("pdf: the export's entry: %+v", e)
	}
	file := filepath.Join(t.TempDir(), "audit.pdf")
	if err := os.WriteFile(file, rec.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, file)
	if pages < 5 {
		t.Errorf("%d pages for %d entries", pages, len(want))
	}
	text := pdfToText(t, file)
	today := jptext.FormatWareki(s.node.Now().In(jptext.JST))
	for _, w := range []string{"監査ログ", "発行日 " + today, "東京都江東区", "操作 照会 (lookup)", "334件", "窓口での本人申請", "転入届の審査", "髙橋さんの申請",
		fmt.Sprintf("1 / %d ページ", pages), fmt.Sprintf("%d / %d ページ", pages, pages), want[0].Actor.String(), strconv.FormatInt(want[len(want)-1].Seq, 10)} {
		if !strings.Contains(text, w) {
			t.Errorf("the PDF's text lacks %q", w)
		}
	}

	// A character Shift_JIS cannot hold: the screen names the cell and
	// offers UTF-8, nothing is sent and nothing logged; UTF-8 takes it.
	if _, err := s.node.Log.Append(ctx, auditlog.Entry{Node: "131083", Actor: auditlog.Actor{Kind: auditlog.ActorOperator, ID: "op9"}, Origin: "terminal:T-01",
		Action: "lookup", Affair: "juki", Reason: "吉田 𠮷子さんの申請", Decision: auditlog.Allow, Policy: "test", Outcome: auditlog.OutcomeOK}); err != nil {
		t.Fatal(err)
	}
	sizeBefore, _ := s.node.Log.Size(ctx)
	rec = chief.do("POST", "/audit/export", url.Values{"action": {"照会"}, "format": {"csv-sjis"}})
	if body := rec.Body.String(); rec.Code != http.StatusUnprocessableEntity || !strings.Contains(body, `data-testid="export-error"`) ||
		!strings.Contains(body, "1行目・10列目（利用事由）の文字「𠮷」") || !strings.Contains(body, "UTF-8で書き出してください") || !strings.Contains(body, "CSVで書き出す（UTF-8）") {
		t.Errorf("csv-sjis with 𠮷: %d\n%s", rec.Code, body)
	}
	if size, _ := s.node.Log.Size(ctx); size != sizeBefore {
		t.Errorf("a refused Shift_JIS export was logged")
	}
	if rec = chief.do("POST", "/audit/export", url.Values{"action": {"照会"}, "format": {"csv-utf8"}}); rec.Code != 200 || !strings.Contains(rec.Body.String(), "吉田 𠮷子さんの申請") {
		t.Errorf("csv-utf8 with 𠮷: %d", rec.Code)
	}

	// Too many for one export: said on the screen, nothing sent.
	defer func(c, p int) { exportMaxCSV, exportMaxPDF = c, p }(exportMaxCSV, exportMaxPDF)
	exportMaxCSV, exportMaxPDF = 300, 100
	for format, msg := range map[string]string{"csv-utf8": "335件あり、一度に書き出せる300件を超えています", "pdf": "PDFで書き出せる100件を超えています。条件を絞り込むか、CSVで"} {
		rec := chief.do("POST", "/audit/export", url.Values{"action": {"照会"}, "format": {format}})
		if body := rec.Body.String(); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(body, msg) {
			t.Errorf("%s over the limit: %d, want 413 saying %q", format, rec.Code, msg)
		}
	}

	// A role that may not see the audit log: refused, and the refusal
	// logged.
	clerk := signIn(t, s, node.DemoOperator)
	if rec := clerk.do("POST", "/audit/export", url.Values{"format": {"csv-utf8"}}); rec.Code != http.StatusForbidden || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("an operator's export: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	if e := lastEntry(t, s); e.Action != "audit.export" || e.Actor.ID != node.DemoOperator || e.Decision != auditlog.Deny || e.Outcome != auditlog.OutcomeDenied {
		t.Errorf("the refused export's entry: %+v", e)
	}
	// Bad forms.
	for _, f := range []url.Values{{"format": {"xlsx"}}, {"format": {"csv-utf8"}, "since": {"yesterday"}}, {"format": {"pdf"}, "actor": {strings.Repeat("x", 257)}}} {
		if rec := chief.do("POST", "/audit/export", f); rec.Code != http.StatusBadRequest {
			t.Errorf("export %v: %d, want 400", f, rec.Code)
		}
	}
	// A GET exports nothing.
	if rec := chief.do("GET", "/audit/export?format=csv-utf8", nil); rec.Code == http.StatusOK {
		t.Errorf("GET /audit/export: %d", rec.Code)
	}
}

// TestAuditExportByResident: an export of the entries about one resident
// is itself an entry about that resident, so `audit show --resident`
// finds it; the English screen exports English labels.
func TestAuditExportByResident(t *testing.T) {
	ctx := context.Background()
	s, code := exportServer(t, "")
	clerk := signIn(t, s, node.DemoOperator)
	clerk.do("POST", "/lookup", url.Values{"affair": {"juki"}, "reason": {"確認"}, "mode": {"code"}, "code": {code}})
	chief := signIn(t, s, node.DemoChief)
	rec := chief.do("POST", "/audit/export?lang=en", url.Values{"resident": {code}, "format": {"csv-utf8"}})
	if rec.Code != 200 {
		t.Fatalf("export: %d %s", rec.Code, rec.Body.String())
	}
	recs := readCSV(t, rec.Body.Bytes(), false)
	if len(recs) < 2 || recs[0][0] != "No." || !slices.Contains(recs[0], "Date (Japanese era)") || !slices.Contains(recs[1], "Lookup") {
		t.Fatalf("English export: %q", recs)
	}
	n, err := auditlog.Count(ctx, s.node.DB, auditlog.Filter{Resident: code, After: -1})
	if err != nil || int64(len(recs)-1) != n-1 || n < 3 {
		// n counts the export's own entry too.
		t.Errorf("%d entries exported, %d about the resident now (the export's among them), err %v", len(recs)-1, n, err)
	}
	// The English PDF: English words, Gregorian dates.
	rec = chief.do("POST", "/audit/export?lang=en", url.Values{"resident": {code}, "format": {"pdf"}})
	file := filepath.Join(t.TempDir(), "en.pdf")
	if err := os.WriteFile(file, rec.Body.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if pages := pdfPages(t, file); pages != 1 {
		t.Errorf("the English PDF has %d pages, want 1", pages)
	}
	text := pdfToText(t, file)
	for _, w := range []string{"Audit log", "Issued " + s.node.Now().In(jptext.JST).Format("2006-01-02"), "Resident code " + code, "Lookup (lookup)", "Exported by"} {
		if !strings.Contains(text, w) {
			t.Errorf("the English PDF lacks %q:\n%s", w, text)
		}
	}
	about, err := auditlog.List(ctx, s.node.DB, auditlog.Filter{Resident: code, After: -1, Newest: true, Limit: 1})
	if err != nil || len(about) != 1 || about[0].Action != "audit.export" || about[0].Entry.Query != "resident="+code {
		t.Errorf("the export is not an entry about the resident: %+v %v", about, err)
	}
}

// pdfTool returns a poppler-utils tool, or skips loudly (fails under CI,
// which installs it: JUKINET_REQUIRE_POPPLER=1).
func pdfTool(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("SKIPPED: %s is not installed: the exported PDF is not rendered. Install the Debian package poppler-utils (apt-get install poppler-utils); .ci/run does.", tool)
	if os.Getenv("JUKINET_REQUIRE_POPPLER") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pdfPages renders file with pdftoppm and returns how many pages it drew.
func pdfPages(t *testing.T, file string) int {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(pdfTool(t, "pdftoppm"), "-r", "50", "-png", file, filepath.Join(dir, "p")).CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "p*.png"))
	return len(pngs)
}

func pdfToText(t *testing.T, file string) string {
	t.Helper()
	out, err := exec.Command(pdfTool(t, "pdftotext"), "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v %s", err, out)
	}
	return string(out)
}

// BenchmarkAuditExport exports 10,000 entries (the PDF limit, the lookups
// among 30,000) from the
// audit screen in each format: HTTP, the policy decision, the listing, the
// rendering and the export's durable entry (SQLite). Reports the file's
// size.
func BenchmarkAuditExport(b *testing.B) {
	n, _ := nodetest.Open(b, node.InitOptions{Profile: "koto-ward", LocalGovCode: "131083", Demo: true})
	s, err := New(n, Options{Version: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	fillAuditLog(b, s, 30_000) // 10,000 of them lookups
	do := func(path string, form url.Values, cookie *http.Cookie) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.RemoteAddr = "127.0.0.1:40000"
		if cookie != nil {
			req.AddCookie(cookie)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	var cookie *http.Cookie
	for _, c := range do("/login/demo", url.Values{"verification_id": {node.DemoChief}}, nil).Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	for _, format := range []string{"csv-utf8", "csv-sjis", "pdf"} {
		b.Run(format, func(b *testing.B) {
			var size int
			for b.Loop() {
				rec := do("/audit/export", url.Values{"format": {format}, "action": {"照会"}}, cookie)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %.500s", rec.Code, rec.Body.String())
				}
				size = rec.Body.Len()
			}
			b.ReportMetric(float64(size), "file-bytes")
		})
	}
}

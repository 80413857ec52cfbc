package report

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"jukinet/internal/jptext"
)

// issued is the fixed issue date of the test documents (no test reads the
// clock): Sunday 6 December 2026, 15:30 in Japan.
var issued = time.Date(2026, 12, 6, 15, 30, 0, 0, jptext.JST)

// Synthetic people and places for the test tables.
var (
	testNames  = []string{"見本 太郎", "試験 花子", "仮名 一郎", "架空 さくら", "例題 髙橋", "模擬 翔太"}
	testPlaces = []string{"東京都江東区東陽四丁目11番28号", "東京都江東区豊洲二丁目2番18号", "東京都江東区亀戸六丁目31番1号"}
)

// testDocument is a document with a table of n rows: Japanese text, right-
// aligned numbers, dates and a long cell that wraps.
func testDocument(n int) Document {
	t := &Table{Columns: []Column{
		{Label: "番号", Width: 0.8, Align: Right},
		{Label: "日付", Width: 2},
		{Label: "氏名", Width: 1.6},
		{Label: "住所", Width: 3},
		{Label: "件数", Width: 0.8, Align: Right},
		{Label: "備考", Width: 3},
	}}
	for i := 1; i <= n; i++ {
		day := issued.AddDate(0, 0, -i)
		note := ""
		switch i % 10 {
		case 3:
			note = "窓口での本人申請。住民票の写しの交付のため、本人確認情報を照会した（" + jptext.FormatWareki(day) + "受付、受付番号 2026-" + fmt.Sprintf("%05d", i) + "）。"
		case 7:
			note = "異動届の審査"
		}
		t.Rows = append(t.Rows, []string{
			fmt.Sprint(i), jptext.FormatWareki(day), testNames[i%len(testNames)], testPlaces[i%len(testPlaces)],
			fmt.Sprintf("%d", i*3%17), note,
		})
	}
	t.Total = []string{"", "合計", "", "", "1,234", ""}
	return Document{
		Title: "本人確認情報の利用状況報告", Subtitle: "令和8年11月分（試験用の架空の記録）",
		Issued: issued, Issuer: "東京都江東区 区民課",
		Meta: []Field{{Label: "対象期間", Value: "令和8年11月1日から令和8年11月30日まで"}, {Label: "記録件数", Value: fmt.Sprintf("%d件", n)}},
		Sections: []Section{
			{Heading: "概要", Paragraphs: []string{
				"この報告は、住民基本台帳ネットワークシステムの本人確認情報の利用状況を取りまとめたものです。記載の人物・住所はすべて架空のものです。",
				"絵文字😀など、書体にない文字は符号位置で示します。",
			}},
			{Heading: "利用の記録", Table: t},
		},
	}
}

// poppler returns the path of a poppler-utils tool, or skips the test
// loudly (fails under CI, which installs it: JUKINET_REQUIRE_POPPLER=1).
func poppler(t testing.TB, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err == nil {
		return p
	}
	msg := fmt.Sprintf("SKIPPED: %s is not installed: the PDF is not checked by rendering it. Install the Debian package poppler-utils (apt-get install poppler-utils); .ci/run does.", tool)
	if os.Getenv("JUKINET_REQUIRE_POPPLER") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// pdfText is the text pdftotext reads from pages first to last of file.
func pdfText(t *testing.T, file string, first, last int) string {
	t.Helper()
	out, err := exec.Command(poppler(t, "pdftotext"), "-f", fmt.Sprint(first), "-l", fmt.Sprint(last), "-layout", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	return string(out)
}

// renderPages runs pdftoppm on file and returns how many pages it drew.
func renderPages(t *testing.T, file string) int {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command(poppler(t, "pdftoppm"), "-r", "50", "-png", file, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	if len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("pdftoppm complained: %s", out)
	}
	pngs, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	return len(pngs)
}

func TestPDFMultiPage(t *testing.T) {
	for _, landscape := range []bool{false, true} {
		t.Run(fmt.Sprintf("landscape=%v", landscape), func(t *testing.T) {
			d := testDocument(120)
			d.Landscape = landscape
			var buf bytes.Buffer
			pages, err := writePDF(&buf, d)
			if err != nil {
				t.Fatal(err)
			}
			// 120 rows of about 15 points on an A4 body of 760 (portrait)
			// or 510 (landscape) points.
			if pages < 3 {
				t.Fatalf("%d pages for 120 rows, want at least 3", pages)
			}
			file := filepath.Join(t.TempDir(), "report.pdf")
			if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if n := renderPages(t, file); n != pages {
				t.Fatalf("pdftoppm drew %d pages, the renderer made %d", n, pages)
			}
			all := pdfText(t, file, 1, pages)
			for _, want := range []string{
				"本人確認情報の利用状況報告", "令和8年11月分", "発行日 令和8年12月6日", "東京都江東区 区民課",
				"対象期間", "令和8年11月1日から令和8年11月30日まで", "記録件数", "120件",
				"概要", "利用の記録", "見本 太郎", "例題 髙橋", "東京都江東区東陽四丁目11番28号", "異動届の審査",
				"令和8年12月5日", "令和8年8月8日", "合計", "1,234",
				"[U+1F600]", fmt.Sprintf("1 / %d ページ", pages), fmt.Sprintf("%d / %d ページ", pages, pages),
			} {
				if !strings.Contains(all, want) {
					t.Errorf("the PDF's text lacks %q", want)
				}
			}
			// The header row and the footer are on every page.
			for p := 1; p <= pages; p++ {
				text := pdfText(t, file, p, p)
				for _, want := range []string{"番号", "住所", "備考", fmt.Sprintf("%d / %d ページ", p, pages), "本人確認情報の利用状況報告"} {
					if !strings.Contains(text, want) {
						t.Errorf("page %d lacks %q", p, want)
					}
				}
			}
			// Every row is there, once.
			for i := 1; i <= 120; i++ {
				if !strings.Contains(all, jptext.FormatWareki(issued.AddDate(0, 0, -i))) {
					t.Errorf("row %d (%s) is missing", i, jptext.FormatWareki(issued.AddDate(0, 0, -i)))
				}
			}
		})
	}
}

// A row taller than a page continues on the next page, nothing lost.
func TestPDFRowTallerThanPage(t *testing.T) {
	var long []string
	for i := 1; i <= 90; i++ {
		long = append(long, fmt.Sprintf("第%d項 記録を確認した。", i))
	}
	var paras []string
	for i := 1; i <= 80; i++ {
		paras = append(paras, fmt.Sprintf("段落%d：本文の段落がページをまたいでも、次のページに続けて書かれる。", i))
	}
	d := Document{Title: "長い行", Sections: []Section{{Table: &Table{
		Columns: []Column{{Label: "番号", Align: Right}, {Label: "内容", Width: 6}},
		Rows:    [][]string{{"1", strings.Join(long, "\n")}, {"2", "次の行"}},
	}}, {Heading: "長い本文", Paragraphs: paras}}}
	var buf bytes.Buffer
	pages, err := writePDF(&buf, d)
	if err != nil {
		t.Fatal(err)
	}
	if pages < 2 {
		t.Fatalf("%d pages, want the row to continue on a second page", pages)
	}
	file := filepath.Join(t.TempDir(), "long.pdf")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := renderPages(t, file); n != pages {
		t.Fatalf("pdftoppm drew %d pages, the renderer made %d", n, pages)
	}
	text := pdfText(t, file, 1, pages)
	for i := 1; i <= 90; i++ {
		if !strings.Contains(text, fmt.Sprintf("第%d項 記録を確認した。", i)) {
			t.Errorf("line %d of the long cell is missing", i)
		}
	}
	if !strings.Contains(text, "次の行") {
		t.Error("the row after the long one is missing")
	}
	// Paragraphs continue over pages too.
	for i := 1; i <= 80; i++ {
		if !strings.Contains(text, fmt.Sprintf("段落%d：", i)) {
			t.Errorf("paragraph %d is missing", i)
		}
	}
	if last := pdfText(t, file, pages, pages); !strings.Contains(last, "段落80：") {
		t.Errorf("the last page lacks the last paragraph:\n%s", last)
	}
}

func TestPDFEnglishAndErrors(t *testing.T) {
	d := Document{Title: "Audit log", Issued: issued, English: true, Sections: []Section{{Paragraphs: []string{"One page."}}}}
	var buf bytes.Buffer
	pages, err := writePDF(&buf, d)
	if err != nil || pages != 1 {
		t.Fatalf("pages %d, err %v", pages, err)
	}
	file := filepath.Join(t.TempDir(), "en.pdf")
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, file, 1, 1)
	for _, want := range []string{"Issued 2026-12-06", "Audit log", "1/1"} {
		text := strings.ReplaceAll(text, " / ", "/")
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "ページ") || strings.Contains(text, "発行日") {
		t.Errorf("an English document has Japanese words of the renderer:\n%s", text)
	}

	bad := Document{Title: "x", Sections: []Section{{Table: &Table{Columns: []Column{{Label: "a"}}, Rows: [][]string{{"1", "2"}}}}}}
	if err := WritePDF(&bytes.Buffer{}, bad); err == nil || !strings.Contains(err.Error(), "row 1 has 2 cells") {
		t.Errorf("a row with too many cells: %v", err)
	}
}

// The same document gives the same bytes: nothing in it depends on the
// clock or on the order of a map.
func TestPDFDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := WritePDF(&a, testDocument(30)); err != nil {
		t.Fatal(err)
	}
	if err := WritePDF(&b, testDocument(30)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of one document differ")
	}
	if !bytes.HasPrefix(a.Bytes(), []byte("%PDF-")) {
		t.Errorf("not a PDF: %q", a.Bytes()[:10])
	}
	// Documents rendered at once share the parsed font, not their subsets.
	other := testDocument(5)
	other.Sections[0].Paragraphs = []string{"別の文書：鬱蒼とした森"}
	var wg sync.WaitGroup
	results := make([][]byte, 4)
	for i := range results {
		wg.Go(func() {
			var buf bytes.Buffer
			d := testDocument(30)
			if i%2 == 1 {
				d = other
			}
			if err := WritePDF(&buf, d); err != nil {
				t.Error(err)
			}
			results[i] = buf.Bytes()
		})
	}
	wg.Wait()
	if !bytes.Equal(results[0], a.Bytes()) || !bytes.Equal(results[2], a.Bytes()) || !bytes.Equal(results[1], results[3]) {
		t.Error("documents rendered at the same time differ from those rendered alone")
	}
}

// BenchmarkPDF1000 renders a 1,000-row table (A4 landscape, about 25 pages).
func BenchmarkPDF1000(b *testing.B) {
	d := testDocument(1000)
	d.Landscape = true
	var size int
	for b.Loop() {
		var buf bytes.Buffer
		if err := WritePDF(&buf, d); err != nil {
			b.Fatal(err)
		}
		size = buf.Len()
	}
	b.ReportMetric(float64(size), "pdf-bytes")
}

package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"jukinet/internal/apperr"
)

// csvTable is a table of text a CP932 file can hold: kanji, kana, the NEC
// and IBM extensions, quotes, commas, line breaks and leading spaces.
func csvTable() Table {
	return Table{
		Columns: []Column{{Label: "番号", Align: Right}, {Label: "氏名"}, {Label: "住所"}, {Label: "備考"}},
		Rows: [][]string{
			{"1", "見本 太郎", "東京都江東区東陽四丁目11番28号", "窓口での本人申請"},
			{"2", "例題 髙橋", "東京都江東区豊洲二丁目2番18号", "①㈱ｶﾀｶﾅ～"},
			{"3", "試験 花子", "東京都江東区亀戸六丁目31番1号", "引用「\"二重\"」, 読点、改行\nの後"},
			{"4", "仮名 一郎", "", "  前後に空白  "},
			{"-5", "+3.25", "-", "'引用符で始まる"},
		},
		Total: []string{"", "合計", "", "5件"},
	}
}

// readBack decodes a CSV file written in enc.
func readBack(t *testing.T, b []byte, enc Encoding) [][]string {
	t.Helper()
	switch enc {
	case UTF8BOM:
		if !bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
			t.Fatalf("no byte order mark: % x", b[:min(3, len(b))])
		}
		b = b[3:]
	case CP932:
		if bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")) {
			t.Fatal("a Shift_JIS file starts with a UTF-8 byte order mark")
		}
		var err error
		if b, err = japanese.ShiftJIS.NewDecoder().Bytes(b); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestCSVRoundTrip(t *testing.T) {
	for _, enc := range []Encoding{UTF8BOM, CP932} {
		t.Run(enc.String(), func(t *testing.T) {
			tab := csvTable()
			var buf bytes.Buffer
			if err := WriteCSV(&buf, tab, enc); err != nil {
				t.Fatal(err)
			}
			// Every record ends in CRLF (the one line break inside a
			// quoted cell is the cell's own "\n").
			body := buf.String()
			if !strings.HasSuffix(body, "\r\n") || strings.Count(body, "\r\n") != len(tab.Rows)+2 {
				t.Errorf("want %d CRLF line ends: %q", len(tab.Rows)+2, body)
			}
			got := readBack(t, buf.Bytes(), enc)
			want := [][]string{{"番号", "氏名", "住所", "備考"}}
			want = append(want, tab.Rows...)
			want = append(want, tab.Total)
			// The apostrophe rule (TestCSVFormulaGuard); -5 and +3.25 are
			// numbers and stay.
			want[5] = []string{"-5", "+3.25", "'-", "''引用符で始まる"}
			if len(got) != len(want) {
				t.Fatalf("%d records, want %d", len(got), len(want))
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("record %d = %q, want %q", i, got[i], want[i])
				}
			}
		})
	}
}

// A character CP932 has no code for stops the export before a byte is
// written, naming the row, column and character; UTF-8 writes it.
func TestCSVUnencodable(t *testing.T) {
	for _, tt := range []struct {
		char string
		r    rune
	}{{"𠮷", '𠮷'}, {"😀", '😀'}, {"〜", '〜'}} {
		tab := csvTable()
		tab.Rows[2][1] = "吉田 " + tt.char + "子"
		var buf bytes.Buffer
		err := WriteCSV(&buf, tab, CP932)
		var ue *UnencodableError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: got %v, want an UnencodableError", tt.char, err)
		}
		if ue.Row != 3 || ue.Column != 2 || ue.Label != "氏名" || ue.Char != tt.r {
			t.Errorf("%s: %+v, want row 3, column 2 (氏名)", tt.char, ue)
		}
		if apperr.CodeOf(err) != apperr.Invalid {
			t.Errorf("%s: code %s, want invalid", tt.char, apperr.CodeOf(err))
		}
		if ja := apperr.JapaneseOf(err); !strings.Contains(ja, "3行目・2列目（氏名）") || !strings.Contains(ja, tt.char) || !strings.Contains(ja, "UTF-8で書き出してください") {
			t.Errorf("%s: Japanese message %q", tt.char, ja)
		}
		if buf.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", tt.char, buf.Len())
		}
		buf.Reset()
		if err := WriteCSV(&buf, tab, UTF8BOM); err != nil {
			t.Fatalf("%s in UTF-8: %v", tt.char, err)
		}
		if got := readBack(t, buf.Bytes(), UTF8BOM); got[3][1] != "吉田 "+tt.char+"子" {
			t.Errorf("%s in UTF-8 came back as %q", tt.char, got[3][1])
		}
	}
	// A header too, and text that is not UTF-8 in either encoding.
	tab := csvTable()
	tab.Columns[3].Label = "備考😀"
	var ue *UnencodableError
	if err := WriteCSV(&bytes.Buffer{}, tab, CP932); !errors.As(err, &ue) || ue.Row != 0 || !strings.Contains(ue.Japanese(), "見出し行") {
		t.Errorf("header: %v", err)
	}
	tab = csvTable()
	tab.Rows[0][3] = "a\xffb"
	for _, enc := range []Encoding{UTF8BOM, CP932} {
		if err := WriteCSV(&bytes.Buffer{}, tab, enc); !errors.As(err, &ue) || ue.Row != 1 || ue.Column != 4 {
			t.Errorf("%s, invalid UTF-8: %v", enc, err)
		}
	}
}

func TestCSVFormulaGuard(t *testing.T) {
	tests := []struct{ in, want string }{
		{"=HYPERLINK(\"http://example.invalid\",\"x\")", "'=HYPERLINK(\"http://example.invalid\",\"x\")"},
		{"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
		{"-2+3", "'-2+3"},
		{"@SUM(A1:A2)", "'@SUM(A1:A2)"},
		{"\t=1", "'\t=1"},
		{"\r=1", "'\r=1"},
		{"'already", "''already"},
		{"-5", "-5"},
		{"+3.25", "+3.25"},
		{"-", "'-"},
		{"1-2", "1-2"},
		{"照会", "照会"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := GuardFormula(tt.in); got != tt.want {
			t.Errorf("GuardFormula(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Undoing it: one leading apostrophe off.
		back := tt.want
		if strings.HasPrefix(back, "'") {
			back = back[1:]
		}
		if back != tt.in {
			t.Errorf("%q: undoing the guard gives %q", tt.in, back)
		}
	}
	// Through a whole file: the cell is read back with its apostrophe.
	tab := Table{Columns: []Column{{Label: "理由"}}, Rows: [][]string{{"=1+1"}, {"@x"}}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, tab, UTF8BOM); err != nil {
		t.Fatal(err)
	}
	got := readBack(t, buf.Bytes(), UTF8BOM)
	if got[1][0] != "'=1+1" || got[2][0] != "'@x" {
		t.Errorf("guarded cells read back as %q", got)
	}
}

func TestCSVBadTable(t *testing.T) {
	tab := Table{Columns: []Column{{Label: "a"}}, Rows: [][]string{{"1", "2"}}}
	if err := WriteCSV(&bytes.Buffer{}, tab, UTF8BOM); err == nil || !strings.Contains(err.Error(), "row 1 has 2 cells") {
		t.Errorf("a row with too many cells: %v", err)
	}
	if err := WriteCSV(&bytes.Buffer{}, csvTable(), Encoding(9)); err == nil {
		t.Error("an unknown encoding was accepted")
	}
	// A short row is filled with empty cells.
	var buf bytes.Buffer
	if err := WriteCSV(&buf, Table{Columns: []Column{{Label: "a"}, {Label: "b"}}, Rows: [][]string{{"1"}}}, UTF8BOM); err != nil {
		t.Fatal(err)
	}
	if got := readBack(t, buf.Bytes(), UTF8BOM); !slices.Equal(got[1], []string{"1", ""}) {
		t.Errorf("short row: %q", got[1])
	}
}

// BenchmarkCSV100k writes a 100,000-row table (the audit export's limit)
// in each encoding.
func BenchmarkCSV100k(b *testing.B) {
	d := testDocument(100_000)
	tab := *d.Sections[1].Table
	for _, enc := range []Encoding{UTF8BOM, CP932} {
		b.Run(enc.String(), func(b *testing.B) {
			var size int
			for b.Loop() {
				var buf bytes.Buffer
				if err := WriteCSV(&buf, tab, enc); err != nil {
					b.Fatal(err)
				}
				size = buf.Len()
			}
			b.ReportMetric(float64(size), "csv-bytes")
		})
	}
}

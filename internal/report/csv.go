package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"

	"jukinet/internal/apperr"
)

// Encoding is the character encoding of a CSV file.
type Encoding int

// The encodings WriteCSV writes.
const (
	// UTF8BOM is UTF-8 preceded by a byte order mark (EF BB BF), which
	// Excel needs to read the file as UTF-8. Every character can be written.
	UTF8BOM Encoding = iota
	// CP932 is Shift_JIS as Windows writes it (Code Page 932, Windows-31J:
	// with the NEC and IBM extensions such as ①, ㈱ and 髙). Characters it
	// has no code for — 𠮷, emoji, 〜 (U+301C; CP932 has only ～ U+FF5E) —
	// are an error, never replaced: see UnencodableError.
	CP932
)

// String names the encoding for people and logs.
func (e Encoding) String() string {
	switch e {
	case UTF8BOM:
		return "UTF-8 (BOM)"
	case CP932:
		return "Shift_JIS (CP932)"
	}
	return fmt.Sprintf("encoding(%d)", int(e))
}

// UnencodableError is a cell WriteCSV cannot write in the encoding asked
// for. Nothing is written then: an export that silently changed a character
// would no longer be what the records say, so the caller says which cell
// and offers UTF-8, which writes every character.
type UnencodableError struct {
	Encoding Encoding
	// Row is the cell's row: 0 for the header, 1 for the first of
	// Table.Rows, len(Rows)+1 for the total row.
	Row    int
	Column int    // 1 for the first column
	Label  string // the column's label
	Char   rune   // the character (utf8.RuneError for bytes that are not UTF-8)
}

// Error names the cell and the character in English.
func (e *UnencodableError) Error() string {
	if e.Char == utf8.RuneError {
		return fmt.Sprintf("row %d, column %d (%s): the text is not valid UTF-8", e.Row, e.Column, e.Label)
	}
	return fmt.Sprintf("row %d, column %d (%s): %q (U+%04X) cannot be written in %s; write the file in UTF-8 instead",
		e.Row, e.Column, e.Label, e.Char, e.Char, e.Encoding)
}

// Japanese is the error for a clerk.
func (e *UnencodableError) Japanese() string {
	where := fmt.Sprintf("%d行目", e.Row)
	if e.Row == 0 {
		where = "見出し行"
	}
	if e.Char == utf8.RuneError {
		return fmt.Sprintf("%s・%d列目（%s）の文字が正しくないため、書き出せません。", where, e.Column, e.Label)
	}
	return fmt.Sprintf("%s・%d列目（%s）の文字「%c」（U+%04X）は%sで表せないため、書き出せません。UTF-8で書き出してください。",
		where, e.Column, e.Label, e.Char, e.Char, e.Encoding)
}

// WriteCSV writes t as CSV in enc: the column labels on the first line,
// then the rows, then the total row if there is one; lines end in CRLF, as
// Excel writes them. A cell is quoted when it holds a comma, a quote, a
// line break or leading or trailing spaces; line breaks inside a cell are
// written as they are.
//
// Formula injection: a spreadsheet runs a cell that begins with = + - or @
// (and, in some, a tab or CR) as a formula, so a name or reason typed as
// =HYPERLINK(…) would act when an auditor opens the file. Such a cell is
// written with a leading apostrophe ('=…), and so is a cell that already
// began with an apostrophe, so the rule can be undone exactly: remove one
// leading apostrophe from every cell that has one. A cell that is only a
// number (-5, +3.25) is left as it is: it cannot be a formula.
//
// Before anything is written, every cell is checked: for CP932 a character
// it cannot encode comes back as an apperr.Invalid error wrapping an
// *UnencodableError naming the row, column and character (text that is not
// valid UTF-8 is refused the same way in both encodings). An error from w
// may leave part of the file written.
func WriteCSV(w io.Writer, t Table, enc Encoding) error {
	if enc != UTF8BOM && enc != CP932 {
		return fmt.Errorf("write CSV: unknown encoding %d", int(enc))
	}
	if err := t.check(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	records := csvRecords(t)
	sjis := japanese.ShiftJIS.NewEncoder()
	for i, rec := range records {
		for j := range t.Columns {
			if bad, ok := unencodable(cell(rec, j), enc, sjis); ok {
				e := &UnencodableError{Encoding: enc, Row: i, Column: j + 1, Label: t.Columns[j].Label, Char: bad}
				return &apperr.Error{Code: apperr.Invalid, Message: "write CSV: " + e.Error(), Japanese: e.Japanese(), Err: e}
			}
		}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	var out io.Writer = bw
	if enc == CP932 {
		// Checked above: every cell encodes.
		out = sjis.Writer(bw)
	} else if _, err := bw.WriteString("\ufeff"); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	var line strings.Builder
	for _, rec := range records {
		line.Reset()
		for j := range t.Columns {
			if j > 0 {
				line.WriteByte(',')
			}
			writeField(&line, GuardFormula(cell(rec, j)))
		}
		line.WriteString("\r\n")
		if _, err := io.WriteString(out, line.String()); err != nil {
			return fmt.Errorf("write CSV: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write CSV: %w", err)
	}
	return nil
}

// csvRecords are t's lines: the header, the rows and the total.
func csvRecords(t Table) [][]string {
	header := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		header[i] = c.Label
	}
	out := make([][]string, 0, len(t.Rows)+2)
	out = append(out, header)
	out = append(out, t.Rows...)
	if len(t.Total) > 0 {
		out = append(out, t.Total)
	}
	return out
}

// unencodable returns the first character of s that enc cannot write
// (utf8.RuneError for bytes that are not UTF-8); sjis checks CP932.
func unencodable(s string, enc Encoding, sjis *encoding.Encoder) (rune, bool) {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return 0, false
	}
	if !utf8.ValidString(s) {
		return utf8.RuneError, true
	}
	if enc != CP932 {
		return 0, false
	}
	if _, err := sjis.String(s); err == nil {
		return 0, false
	}
	for _, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		if _, err := sjis.String(string(r)); err != nil {
			return r, true
		}
	}
	return utf8.RuneError, true // not reached: the whole failed, so one rune does
}

// GuardFormula prefixes an apostrophe to a cell a spreadsheet would run as
// a formula, and to one that already begins with an apostrophe (so that
// removing one leading apostrophe always gives the original).
func GuardFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '@', '\t', '\r', '\'':
		return "'" + s
	case '+', '-':
		if plainNumber(s[1:]) {
			return s
		}
		return "'" + s
	}
	return s
}

// plainNumber reports whether s is digits with at most one decimal point
// and at least one digit (what follows the sign of -5 or +3.25).
func plainNumber(s string) bool {
	digits, points := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

// writeField writes one field, quoted when it must be (RFC 4180).
func writeField(b *strings.Builder, s string) {
	if !strings.ContainsAny(s, ",\"\r\n") && strings.TrimSpace(s) == s {
		b.WriteString(s)
		return
	}
	b.WriteByte('"')
	b.WriteString(strings.ReplaceAll(s, `"`, `""`))
	b.WriteByte('"')
}

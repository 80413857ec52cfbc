// Package report renders jukinet's documents: status reports, registers and
// audit-log exports, as PDF (A4, IPAex Gothic embedded) and as CSV (UTF-8
// with a byte order mark, or Shift_JIS as Windows writes it).
//
// A document is plain data — a title, who issued it and when, label/value
// pairs, and sections of paragraphs and tables — so a caller fills in a
// Document and hands it to WritePDF, or hands one of its tables to WriteCSV.
// The package knows nothing of HTTP, SQL or where the data came from.
//
//	d := report.Document{
//		Title:  "監査ログ",
//		Issued: now, Issuer: "江東区 区民課",
//		Meta:   []report.Field{{Label: "条件", Value: "操作: 照会"}},
//		Sections: []report.Section{{
//			Heading: "記録",
//			Table: &report.Table{
//				Columns: []report.Column{{Label: "番号", Width: 1, Align: report.Right}, {Label: "操作", Width: 3}},
//				Rows:    [][]string{{"1", "照会"}},
//			},
//		}},
//	}
//	err := report.WritePDF(w, d)
package report

import (
	"fmt"
	"time"
)

// Document is one report: a title block, then its sections in order.
type Document struct {
	Title    string // 監査ログ; also in every page's footer
	Subtitle string // a line under the title; may be empty

	// Issued is when the document was issued, shown for people as a 和暦
	// date in Japan (発行日 令和8年12月6日); zero: not shown.
	Issued time.Time
	Issuer string // who issues it (江東区 区民課); may be empty
	// Control is the form's control number in the forms register
	// (internal/form, koto-ward:14), printed in every page's footer and at
	// the top right of the first page; empty: none.
	Control string

	// Meta are label/value pairs shown under the title: the conditions of a
	// listing, the period of a report, the number of entries.
	Meta     []Field
	Sections []Section

	// Landscape lays the pages out A4 landscape, for wide tables.
	Landscape bool
	// English writes the words the renderer adds itself (発行日, ページ) in
	// English and the issue date as 2026-12-06; the caller's own text is
	// shown as it is given.
	English bool
}

// Field is one label and its value.
type Field struct {
	Label, Value string
}

// Section is a heading followed by paragraphs and then a table; any of the
// three may be empty.
type Section struct {
	Heading    string
	Paragraphs []string // each wrapped to the page's width; "\n" starts a new line
	Table      *Table
}

// Align is how a column's cells are aligned.
type Align int

// Alignments: text left, numbers right.
const (
	Left Align = iota
	Right
	Center
)

// Column is one column of a table.
type Column struct {
	Label string
	// Width is the column's share of the table's width, relative to the
	// other columns (1 and 3: a quarter and three quarters); zero counts
	// as 1.
	Width float64
	Align Align
}

// Table is a table of text. In a PDF, a cell's text wraps within its cell
// and the header row is repeated on each page; in a CSV the header is the
// first line.
type Table struct {
	Columns []Column
	// Rows hold one string per column. A row with fewer cells leaves the
	// rest empty; one with more cells than columns is an error.
	Rows [][]string
	// Total is an optional last row (合計), set apart from the rows.
	Total []string
}

// check reports a row with more cells than t has columns.
func (t Table) check() error {
	if len(t.Columns) == 0 {
		if len(t.Rows) > 0 || len(t.Total) > 0 {
			return fmt.Errorf("a table has rows but no columns")
		}
		return nil
	}
	for i, row := range t.Rows {
		if len(row) > len(t.Columns) {
			return fmt.Errorf("table row %d has %d cells, the table has %d columns", i+1, len(row), len(t.Columns))
		}
	}
	if len(t.Total) > len(t.Columns) {
		return fmt.Errorf("the table's total row has %d cells, the table has %d columns", len(t.Total), len(t.Columns))
	}
	return nil
}

// cell is row's i-th cell, or "" when the row is short.
func cell(row []string, i int) string {
	if i < len(row) {
		return row[i]
	}
	return ""
}

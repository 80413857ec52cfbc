package report

import (
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode"

	"github.com/signintech/gopdf"

	"jukinet/internal/jptext"
)

// ipaexGothic is IPAex Gothic (fonts-ipaexfont-gothic), redistributed
// under the IPA Font License v1.0 (fonts/LICENSE-IPA.txt). Its outlines
// are TrueType: gopdf cannot embed CFF fonts such as Noto CJK.
//
//go:embed fonts/ipaexg.ttf
var ipaexGothic []byte

const fontFamily = "IPAexGothic"

// fonts parses the embedded font once; each document takes its own subset
// of it.
var fonts = sync.OnceValues(func() (*gopdf.FontContainer, error) {
	fc := &gopdf.FontContainer{}
	if err := fc.AddTTFFontData(fontFamily, ipaexGothic); err != nil {
		return nil, fmt.Errorf("load the embedded font IPAex Gothic: %w", err)
	}
	return fc, nil
})

// Sizes in points (1/72 inch).
const (
	margin       = 40.0 // left, right and top
	footerSpace  = 36.0 // below the body: the footer line and text
	titleSize    = 16.0
	subtitleSize = 11.0
	metaSize     = 9.0
	headingSize  = 12.0
	textSize     = 10.0
	tableSize    = 8.0
	footerSize   = 8.0
	lineFactor   = 1.4 // line height / font size
	padX, padY   = 3.0, 2.0
)

// WritePDF writes d as a PDF: A4 portrait (landscape when d.Landscape),
// IPAex Gothic embedded (only the characters used). The first page starts
// with the issue date (和暦) and issuer, the title, the subtitle and the
// label/value pairs; each section follows with its heading, paragraphs and
// table. A table's cells wrap their text within the cell, and its header
// row is repeated at the top of each page it continues on; a row taller
// than a page continues on the next. Every page ends with a footer: the
// title and 「N / M ページ」.
//
// A character the font has no glyph for (an emoji, a rare kanji outside
// JIS X 0213) is shown as its code point, [U+1F600], never dropped.
func WritePDF(w io.Writer, d Document) error {
	_, err := writePDF(w, d)
	return err
}

// writePDF is WritePDF, telling how many pages it wrote.
func writePDF(w io.Writer, d Document) (pages int, err error) {
	for i, s := range d.Sections {
		if s.Table != nil {
			if err := s.Table.check(); err != nil {
				return 0, fmt.Errorf("write PDF: section %d: %w", i+1, err)
			}
		}
	}
	fc, err := fonts()
	if err != nil {
		return 0, err
	}
	r := &renderer{d: d, pdf: &gopdf.GoPdf{}, widths: map[float64]map[rune]float64{}, glyphs: map[rune]bool{}}
	size := *gopdf.PageSizeA4
	if d.Landscape {
		size = gopdf.Rect{W: size.H, H: size.W}
	}
	r.pageW, r.pageH = size.W, size.H
	r.pdf.Start(gopdf.Config{PageSize: size, Unit: gopdf.UnitPT})
	r.pdf.SetInfo(gopdf.PdfInfo{Title: d.Title, Subject: d.Subtitle, Author: d.Issuer, Creator: "jukinet", CreationDate: d.Issued})
	if err := r.pdf.AddTTFFontFromFontContainer(fontFamily, fc); err != nil {
		return 0, fmt.Errorf("write PDF: %w", err)
	}
	if err := r.render(); err != nil {
		return 0, fmt.Errorf("write PDF %q: %w", d.Title, err)
	}
	if _, err := r.pdf.WriteTo(w); err != nil {
		return 0, fmt.Errorf("write PDF %q: %w", d.Title, err)
	}
	return r.pages, nil
}

// renderer lays one document out, top to bottom, page by page.
type renderer struct {
	d            Document
	pdf          *gopdf.GoPdf
	pageW, pageH float64
	y            float64 // where the next thing goes
	pages        int
	size         float64 // the current font size
	gray         float64 // the current text gray (0 black)
	widths       map[float64]map[rune]float64
	glyphs       map[rune]bool
}

func (r *renderer) left() float64   { return margin }
func (r *renderer) right() float64  { return r.pageW - margin }
func (r *renderer) bottom() float64 { return r.pageH - footerSpace - 6 }

func (r *renderer) render() error {
	r.newPage()
	if err := r.titleBlock(); err != nil {
		return err
	}
	for _, s := range r.d.Sections {
		if err := r.section(s); err != nil {
			return err
		}
	}
	return r.footers()
}

func (r *renderer) newPage() {
	r.pdf.AddPage()
	r.pages++
	r.y = margin
}

// setFont sets the font size and the text's gray level.
func (r *renderer) setFont(size, gray float64) error {
	if err := r.pdf.SetFont(fontFamily, "", size); err != nil {
		return err
	}
	g := uint8(gray * 255)
	r.pdf.SetTextColor(g, g, g)
	r.size, r.gray = size, gray
	return nil
}

// shown is s as it can be drawn: characters without a glyph as [U+XXXX],
// tabs as spaces, other control characters dropped except "\n".
func (r *renderer) shown(s string) string {
	plain := true
	for _, c := range s {
		if c >= 0x80 || c < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == '\n':
			b.WriteRune(c)
		case c == '\t':
			b.WriteString("  ")
		case unicode.IsControl(c), c == '\uFEFF', c >= 0xFE00 && c <= 0xFE0F, c >= 0xE0100 && c <= 0xE01EF:
			// control characters, BOM and variation selectors: nothing to draw
		case r.hasGlyph(c):
			b.WriteRune(c)
		default:
			fmt.Fprintf(&b, "[U+%04X]", c)
		}
	}
	return b.String()
}

func (r *renderer) hasGlyph(c rune) bool {
	if ok, seen := r.glyphs[c]; seen {
		return ok
	}
	ok, err := r.pdf.IsCurrFontContainGlyph(c)
	ok = ok && err == nil
	r.glyphs[c] = ok
	return ok
}

// width is the width of c at the current size.
func (r *renderer) width(c rune) float64 {
	m := r.widths[r.size]
	if m == nil {
		m = map[rune]float64{}
		r.widths[r.size] = m
	}
	if w, ok := m[c]; ok {
		return w
	}
	w, err := r.pdf.MeasureTextWidth(string(c))
	if err != nil {
		w = r.size
	}
	m[c] = w
	return w
}

func (r *renderer) textWidth(s string) float64 {
	w := 0.0
	for _, c := range s {
		w += r.width(c)
	}
	return w
}

// lines wraps s (already shown) to width at the current size.
func (r *renderer) lines(s string, width float64) []string {
	return wrap(s, width, r.width)
}

func (r *renderer) lineHeight() float64 { return r.size * lineFactor }

// text draws s with its top left corner at x, y.
func (r *renderer) text(x, y float64, s string) error {
	if s == "" {
		return nil
	}
	r.pdf.SetXY(x, y)
	return r.pdf.Cell(nil, s)
}

// textIn draws s aligned within [x, x+w].
func (r *renderer) textIn(x, y, w float64, s string, a Align) error {
	switch a {
	case Right:
		x += w - r.textWidth(s)
	case Center:
		x += (w - r.textWidth(s)) / 2
	}
	return r.text(x, y, s)
}

// room makes sure h points fit below y on this page, starting a new page
// when they do not (and the page is not empty already).
func (r *renderer) room(h float64) {
	if r.y+h > r.bottom() && r.y > margin {
		r.newPage()
	}
}

// block draws wrapped lines of s at the current size over the body's
// width, breaking pages between lines.
func (r *renderer) block(s string, x float64, a Align) error {
	for _, line := range r.lines(r.shown(s), r.right()-x) {
		r.room(r.lineHeight())
		if err := r.textIn(x, r.y, r.right()-x, line, a); err != nil {
			return err
		}
		r.y += r.lineHeight()
	}
	return nil
}

func (r *renderer) titleBlock() error {
	d := r.d
	if !d.Issued.IsZero() || d.Issuer != "" || d.Control != "" {
		if err := r.setFont(metaSize, 0); err != nil {
			return err
		}
		if d.Control != "" {
			if err := r.block(d.Control, r.left(), Right); err != nil {
				return err
			}
		}
		if !d.Issued.IsZero() {
			issued := "発行日 " + jptext.FormatWareki(d.Issued.In(jptext.JST))
			if d.English {
				issued = "Issued " + d.Issued.In(jptext.JST).Format("2006-01-02")
			}
			if err := r.block(issued, r.left(), Right); err != nil {
				return err
			}
		}
		if d.Issuer != "" {
			if err := r.block(d.Issuer, r.left(), Right); err != nil {
				return err
			}
		}
		r.y += 6
	}
	if d.Title != "" {
		if err := r.setFont(titleSize, 0); err != nil {
			return err
		}
		if err := r.block(d.Title, r.left(), Center); err != nil {
			return err
		}
	}
	if d.Subtitle != "" {
		if err := r.setFont(subtitleSize, 0.25); err != nil {
			return err
		}
		if err := r.block(d.Subtitle, r.left(), Center); err != nil {
			return err
		}
	}
	r.y += 8
	if len(d.Meta) > 0 {
		if err := r.meta(); err != nil {
			return err
		}
		r.y += 6
	}
	return nil
}

// meta draws the label/value pairs in two columns: the labels as wide as
// the widest (at most a third of the page), the values wrapped beside them.
func (r *renderer) meta() error {
	if err := r.setFont(metaSize, 0); err != nil {
		return err
	}
	labelW := 0.0
	for _, f := range r.d.Meta {
		labelW = max(labelW, r.textWidth(r.shown(f.Label)))
	}
	labelW = min(labelW+12, (r.right()-r.left())/3)
	for _, f := range r.d.Meta {
		labels := r.lines(r.shown(f.Label), labelW-12)
		values := r.lines(r.shown(f.Value), r.right()-r.left()-labelW)
		for i := 0; i < max(len(labels), len(values)); i++ {
			r.room(r.lineHeight())
			if i < len(labels) {
				if err := r.setFont(metaSize, 0.35); err != nil {
					return err
				}
				if err := r.text(r.left(), r.y, labels[i]); err != nil {
					return err
				}
			}
			if i < len(values) {
				if err := r.setFont(metaSize, 0); err != nil {
					return err
				}
				if err := r.text(r.left()+labelW, r.y, values[i]); err != nil {
					return err
				}
			}
			r.y += r.lineHeight()
		}
	}
	return nil
}

func (r *renderer) section(s Section) error {
	if s.Heading != "" {
		if err := r.setFont(headingSize, 0); err != nil {
			return err
		}
		// Keep a heading with at least a few lines of what follows.
		r.room(r.lineHeight() + 4 + 3*textSize*lineFactor)
		r.y += 4
		if err := r.block(s.Heading, r.left(), Left); err != nil {
			return err
		}
		r.pdf.SetStrokeColor(120, 120, 120)
		r.pdf.SetLineWidth(0.6)
		r.pdf.Line(r.left(), r.y, r.right(), r.y)
		r.y += 5
	}
	if len(s.Paragraphs) > 0 {
		if err := r.setFont(textSize, 0); err != nil {
			return err
		}
		for _, p := range s.Paragraphs {
			if err := r.block(p, r.left(), Left); err != nil {
				return err
			}
			r.y += 3
		}
	}
	if s.Table != nil && len(s.Table.Columns) > 0 {
		if err := r.table(*s.Table); err != nil {
			return err
		}
	}
	r.y += 10
	return nil
}

// tableRow is a row laid out: each cell's lines.
type tableRow [][]string

func (tr tableRow) height(lineH float64) float64 {
	n := 1
	for _, c := range tr {
		n = max(n, len(c))
	}
	return float64(n)*lineH + 2*padY
}

func (r *renderer) table(t Table) error {
	if err := r.setFont(tableSize, 0); err != nil {
		return err
	}
	total := 0.0
	for _, c := range t.Columns {
		total += colWeight(c)
	}
	xs := make([]float64, len(t.Columns)+1)
	xs[0] = r.left()
	for i, c := range t.Columns {
		xs[i+1] = xs[i] + (r.right()-r.left())*colWeight(c)/total
	}
	xs[len(t.Columns)] = r.right()
	layout := func(row []string) tableRow {
		out := make(tableRow, len(t.Columns))
		for i := range t.Columns {
			out[i] = r.lines(r.shown(cell(row, i)), xs[i+1]-xs[i]-2*padX)
		}
		return out
	}
	lineH := r.lineHeight()
	labels := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		labels[i] = c.Label
	}
	header := layout(labels)
	headerH := header.height(lineH)
	drawHeader := func() error { return r.tableRow(xs, t.Columns, header, headerH, 0.88, true) }

	// The header with at least one line of the first row.
	r.room(headerH + lineH + 2*padY)
	if err := drawHeader(); err != nil {
		return err
	}
	rows := t.Rows
	if len(t.Total) > 0 {
		rows = append(rows[:len(rows):len(rows)], t.Total)
	}
	for n, row := range rows {
		tr := layout(row)
		fill := 1.0
		if n%2 == 1 {
			fill = 0.95
		}
		if len(t.Total) > 0 && n == len(rows)-1 {
			fill = 0.92
		}
		for len(tr) > 0 {
			h := tr.height(lineH)
			if r.y+h > r.bottom() {
				// Lines that fit here; if none, or the whole row would fit
				// on a fresh page, start one.
				fit := int((r.bottom() - r.y - 2*padY) / lineH)
				fresh := r.bottom() - margin - headerH
				if fit < 1 || h <= fresh {
					r.newPage()
					if err := r.setFont(tableSize, 0); err != nil {
						return err
					}
					if err := drawHeader(); err != nil {
						return err
					}
					continue
				}
				// A row taller than a page: what fits here, the rest on
				// the next page.
				head, rest := make(tableRow, len(tr)), make(tableRow, len(tr))
				for i, c := range tr {
					k := min(fit, len(c))
					head[i], rest[i] = c[:k], c[k:]
				}
				if err := r.tableRow(xs, t.Columns, head, head.height(lineH), fill, false); err != nil {
					return err
				}
				tr = rest
				continue
			}
			if err := r.tableRow(xs, t.Columns, tr, h, fill, false); err != nil {
				return err
			}
			tr = nil
		}
	}
	return nil
}

func colWeight(c Column) float64 {
	if c.Width <= 0 {
		return 1
	}
	return c.Width
}

// tableRow draws one row's cells at r.y, h high, and moves below it.
func (r *renderer) tableRow(xs []float64, cols []Column, tr tableRow, h, fill float64, header bool) error {
	g := uint8(fill * 255)
	r.pdf.SetFillColor(g, g, g)
	r.pdf.SetStrokeColor(150, 150, 150)
	r.pdf.SetLineWidth(0.4)
	style := "D"
	if fill < 1 {
		style = "FD"
	}
	for i := range cols {
		r.pdf.RectFromUpperLeftWithStyle(xs[i], r.y, xs[i+1]-xs[i], h, style)
	}
	lineH := r.lineHeight()
	for i, c := range cols {
		a := c.Align
		if header {
			a = Left
			if c.Align == Right {
				a = Right
			}
		}
		for k, line := range tr[i] {
			if err := r.textIn(xs[i]+padX, r.y+padY+float64(k)*lineH+(lineH-r.size)/2, xs[i+1]-xs[i]-2*padX, line, a); err != nil {
				return err
			}
		}
	}
	r.y += h
	return nil
}

// footers draws each page's footer once the number of pages is known.
func (r *renderer) footers() error {
	for p := 1; p <= r.pages; p++ {
		if err := r.pdf.SetPage(p); err != nil {
			return err
		}
		if err := r.setFont(footerSize, 0.3); err != nil {
			return err
		}
		y := r.pageH - footerSpace + 8
		r.pdf.SetStrokeColor(150, 150, 150)
		r.pdf.SetLineWidth(0.4)
		r.pdf.Line(r.left(), y-4, r.right(), y-4)
		num := fmt.Sprintf("%d / %d ページ", p, r.pages)
		if r.d.English {
			num = fmt.Sprintf("%d / %d", p, r.pages)
		}
		if r.d.Control != "" {
			// The form's control number beside the page's, on every page.
			num = r.d.Control + "    " + num
		}
		numW := r.textWidth(num)
		// The title on the left, cut to its first line if it is long.
		title := r.lines(r.shown(strings.ReplaceAll(r.d.Title, "\n", " ")), r.right()-r.left()-numW-20)
		if len(title) > 0 {
			if err := r.text(r.left(), y, title[0]); err != nil {
				return err
			}
		}
		if err := r.textIn(r.left(), y, r.right()-r.left(), num, Right); err != nil {
			return err
		}
	}
	return nil
}

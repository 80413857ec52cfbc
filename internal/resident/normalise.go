package resident

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"

	"jukinet/internal/jptext"
)

// Normalisation is one way the import rewrites a value of a file into the
// form the register stores, instead of refusing it: what legacy municipal
// systems write (half-width kana, full-width digits, 和暦 dates, padding).
type Normalisation uint8

// The normalisations, in the order the report lists them.
const (
	// NormTrim removes spaces (half- or full-width) before and after a
	// value, as fixed-width exports pad their fields.
	NormTrim Normalisation = 1 << iota
	// NormHalfWidthKana turns half-width katakana (ﾜﾀﾅﾍﾞ) into full-width
	// (ワタナベ), a voiced or semi-voiced mark joined to its kana, in the
	// readings (フリガナ), whose spaces then become full-width too. Names
	// and addresses keep today's refusal: see NormaliseField.
	NormHalfWidthKana
	// NormFullWidthASCII turns full-width digits and Latin letters into
	// ASCII where the column holds ASCII (codes, sex, dates).
	NormFullWidthASCII
	// NormWareki turns an era date (H2.3.4, 平成2年3月4日, and the compact
	// 4020304 and H020304 of legacy systems) into YYYY-MM-DD.
	NormWareki
	// NormDateForm turns another Gregorian form (1990/3/4, 1990年3月4日,
	// 19900304) into YYYY-MM-DD.
	NormDateForm
	// NormBOM is the UTF-8 byte order mark at the start of the file,
	// removed (a file-level normalisation, reported on line 1).
	NormBOM
)

// Normalisations lists every normalisation, in report order.
var Normalisations = []Normalisation{NormTrim, NormHalfWidthKana, NormFullWidthASCII, NormWareki, NormDateForm, NormBOM}

var normNames = map[Normalisation][2]string{
	NormTrim:           {"前後の空白を削除", "spaces around the value removed"},
	NormHalfWidthKana:  {"半角カナ→全角", "half-width katakana → full-width"},
	NormFullWidthASCII: {"全角英数→半角", "full-width digits and letters → ASCII"},
	NormWareki:         {"和暦→西暦", "era date (和暦) → YYYY-MM-DD"},
	NormDateForm:       {"日付の書式→西暦YYYY-MM-DD", "date form → YYYY-MM-DD"},
	NormBOM:            {"BOMを除去", "UTF-8 byte order mark removed"},
}

// Japanese names the normalisations in n, joined by ・, as the report
// writes them.
func (n Normalisation) Japanese() string { return n.names(0, "・") }

// English names the normalisations in n, joined by ", ".
func (n Normalisation) English() string { return n.names(1, ", ") }

func (n Normalisation) names(lang int, sep string) string {
	var s []string
	for _, k := range Normalisations {
		if n&k != 0 {
			s = append(s, normNames[k][lang])
		}
	}
	return strings.Join(s, sep)
}

// Change is one value of a row that the import normalised: the value as
// the file gave it and as the register stores it.
type Change struct {
	Column   string
	How      Normalisation
	Original string
	Stored   string
}

// column kinds of the import layout, for normalisation.
type columnKind int

const (
	colText  columnKind = iota // names and the address: trimmed only
	colKana                    // readings
	colASCII                   // codes, sex, change reason
	colDate
)

var columnKinds = map[string]columnKind{
	"resident_code": colASCII, "individual_number": colASCII, "sex": colASCII, "local_gov_code": colASCII, "change_reason": colASCII,
	"family_name_kana": colKana, "given_name_kana": colKana, "former_surname_kana": colKana, "alias_kana": colKana,
	"date_of_birth": colDate, "change_date": colDate,
}

// trimSpace removes half- and full-width spaces around s.
func trimSpace(s string) string { return strings.Trim(s, " 　") }

// NormaliseField returns v, a value of the import layout's column, as the
// register stores it, and how it changed (0: not at all). A date that does
// not read is returned trimmed and narrowed, for Validate or the date
// check to refuse. NormaliseField is idempotent:
// NormaliseField(c, NormaliseField(c, v)) gives the same value, unchanged.
func NormaliseField(column, v string) (string, Normalisation) {
	var how Normalisation
	switch kind := columnKinds[column]; kind {
	case colASCII, colDate:
		if n := jptext.NarrowASCII(v); n != v {
			// The ideographic space becomes a space, which trimming
			// removes: only a change left after it counts as narrowing.
			if trimSpace(n) != trimSpace(v) {
				how |= NormFullWidthASCII
			}
			v = n
		}
		if t := trimSpace(v); t != v {
			how |= NormTrim
			v = t
		}
		if kind == colDate && v != "" {
			d, form, err := jptext.ParseDateForm(v)
			if err != nil {
				return v, how
			}
			switch form {
			case jptext.DateWareki:
				how |= NormWareki
			case jptext.DateSeireki:
				if iso := d.Format(time.DateOnly); v != iso {
					how |= NormDateForm
				}
			}
			v = d.Format(time.DateOnly)
		}
	case colKana:
		if t := trimSpace(v); t != v {
			how |= NormTrim
			v = t
		}
		if w := jptext.WidenKana(v); w != v {
			// A reading written in half-width kana is written in full
			// width throughout, its spaces included.
			how |= NormHalfWidthKana
			v = strings.ReplaceAll(w, " ", "　")
		}
	default:
		// Names and the address: half-width kana are left for the field
		// rule to refuse. Among kanji they are the mark of a Shift_JIS
		// file that lost a byte (近藤 → ｓ｡, ﾟ藤), which widening would
		// hide (ﾟ藤 → ゜藤; a lost byte before one kanji → a katakana).
		if t := trimSpace(v); t != v {
			how |= NormTrim
			v = t
		}
	}
	return v, how
}

// NormaliseRecord is r with each field as the import would store it
// (NormaliseField): what a record written in the import layout reads back
// as.
func NormaliseRecord(r IdentityRecord) IdentityRecord {
	n := func(col, v string) string {
		s, _ := NormaliseField(col, v)
		return s
	}
	r.FamilyName, r.GivenName = n("family_name", r.FamilyName), n("given_name", r.GivenName)
	r.FamilyNameKana, r.GivenNameKana = n("family_name_kana", r.FamilyNameKana), n("given_name_kana", r.GivenNameKana)
	r.FormerSurname, r.FormerSurnameKana = n("former_surname", r.FormerSurname), n("former_surname_kana", r.FormerSurnameKana)
	r.Alias, r.AliasKana = n("alias", r.Alias), n("alias_kana", r.AliasKana)
	r.Address = n("address", r.Address)
	return r
}

// NormCount is how many values of a column one normalisation changed.
type NormCount struct {
	Column string // "" for the file (NormBOM)
	How    Normalisation
	Values int
}

// CountChanges counts the values each normalisation changed, by column in
// the layout's order, then normalisation in report order; a value changed
// two ways counts under both. bom says the file began with a BOM.
func CountChanges(rows []Row, bom bool) []NormCount {
	var c NormCounter
	c.Add(rows)
	return c.Counts(bom)
}

// NormCounter is CountChanges over a file read a batch at a time.
type NormCounter struct {
	counts map[string]map[Normalisation]int
}

// Add counts the changes of rows.
func (nc *NormCounter) Add(rows []Row) {
	if nc.counts == nil {
		nc.counts = map[string]map[Normalisation]int{}
	}
	for _, r := range rows {
		for _, c := range r.Changes {
			m := nc.counts[c.Column]
			if m == nil {
				m = map[Normalisation]int{}
				nc.counts[c.Column] = m
			}
			for _, k := range Normalisations {
				if c.How&k != 0 {
					m[k]++
				}
			}
		}
	}
}

// Counts returns the counts as CountChanges does.
func (nc *NormCounter) Counts(bom bool) []NormCount {
	var out []NormCount
	if bom {
		out = append(out, NormCount{How: NormBOM, Values: 1})
	}
	for _, col := range CSVHeader {
		for _, k := range Normalisations {
			if n := nc.counts[col][k]; n > 0 {
				out = append(out, NormCount{Column: col, How: k, Values: n})
			}
		}
	}
	return out
}

// ColumnLabel is a column's name on screen (氏（フリガナ）), or the column.
func ColumnLabel(column string) string {
	if l := columnLabels[column]; l != "" {
		return l
	}
	return column
}

// NormReportHeader is the header of the normalisation report.
var NormReportHeader = []string{"line", "column", "項目", "normalisation", "original", "stored"}

// WriteNormReport writes the normalisation report: one row per value
// normalised (the line of the file, the column, how, the value as the file
// gave it and as stored), in file order, in encoding enc (the import file's:
// every value of it can be written so), CRLF line ends, and a BOM when the
// file had one (the spreadsheet that wrote it reads it back so). It returns
// the number of values listed.
func WriteNormReport(w io.Writer, enc Encoding, rows []Row, bom bool) (int, error) {
	nw, err := NewNormReportWriter(w, enc, bom)
	if err != nil {
		return 0, err
	}
	if err := nw.Add(rows); err != nil {
		return 0, err
	}
	return nw.Close()
}

// NormReportWriter writes the normalisation report of a file read a batch
// at a time: WriteNormReport's rows, batch by batch.
type NormReportWriter struct {
	cw     *csv.Writer
	closer io.Closer
	n      int
}

// NewNormReportWriter starts a report (its BOM, header and, when bom, the
// BOM's own row) in encoding enc.
func NewNormReportWriter(w io.Writer, enc Encoding, bom bool) (*NormReportWriter, error) {
	nw := &NormReportWriter{}
	var out io.Writer = w
	if bom && enc != CP932 {
		if _, err := io.WriteString(w, "\uFEFF"); err != nil {
			return nil, fmt.Errorf("write normalisation report: %w", err)
		}
	}
	if enc == CP932 {
		tw := transform.NewWriter(w, japanese.ShiftJIS.NewEncoder())
		out, nw.closer = tw, tw
	}
	nw.cw = csv.NewWriter(out)
	nw.cw.UseCRLF = true
	if err := nw.write(NormReportHeader); err != nil {
		return nil, err
	}
	if bom {
		nw.n++
		if err := nw.write([]string{"1", "", "", NormBOM.Japanese(), "U+FEFF", ""}); err != nil {
			return nil, err
		}
	}
	return nw, nil
}

func (nw *NormReportWriter) write(rec []string) error {
	if err := nw.cw.Write(rec); err != nil {
		return fmt.Errorf("write normalisation report: %w", err)
	}
	return nil
}

// Add lists the values rows had normalised.
func (nw *NormReportWriter) Add(rows []Row) error {
	for _, r := range rows {
		for _, c := range r.Changes {
			nw.n++
			if err := nw.write([]string{strconv.Itoa(r.Line), c.Column, ColumnLabel(c.Column), c.How.Japanese(), c.Original, c.Stored}); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close ends the report and returns the number of values it lists.
func (nw *NormReportWriter) Close() (int, error) {
	nw.cw.Flush()
	if err := nw.cw.Error(); err != nil {
		return 0, fmt.Errorf("write normalisation report: %w", err)
	}
	if nw.closer != nil {
		if err := nw.closer.Close(); err != nil {
			return 0, fmt.Errorf("encode normalisation report: %w", err)
		}
	}
	return nw.n, nil
}

// normalisedNote is what a refusal of a normalised value adds: the
// positions it names count in the value as normalised.
func normalisedNote(how Normalisation) (en, ja string) {
	return fmt.Sprintf(" (checked after normalisation: %s)", how.English()), fmt.Sprintf("（正規化（%s）の後の値で確認しました）", how.Japanese())
}

package resident

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

// CSVHeader is the import layout's header row; docs/import-layout.md
// describes each column.
var CSVHeader = []string{
	"resident_code", "individual_number",
	"family_name", "given_name", "family_name_kana", "given_name_kana",
	"former_surname", "former_surname_kana", "alias", "alias_kana",
	"date_of_birth", "sex", "address", "local_gov_code",
	"change_reason", "change_date",
}

// Encoding is a text encoding of a CSV file.
type Encoding string

// The encodings municipal files come in.
const (
	UTF8  Encoding = "utf-8"
	CP932 Encoding = "cp932" // Shift_JIS as Windows writes it
)

// ParseEncoding accepts utf-8, utf8, cp932, sjis, shift_jis and windows-31j.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "-", "_")) {
	case "utf_8", "utf8":
		return UTF8, nil
	case "cp932", "sjis", "shift_jis", "windows_31j":
		return CP932, nil
	}
	return "", fmt.Errorf("unknown encoding %q: use utf-8 or cp932", s)
}

// Encodable reports whether s can be written in e.
func (e Encoding) Encodable(s string) bool {
	if e != CP932 {
		return true
	}
	_, _, err := transform.String(japanese.ShiftJIS.NewEncoder(), s)
	return err == nil
}

// CSVWriter writes records in the import layout.
type CSVWriter struct {
	w      *csv.Writer
	closer io.Closer // the encoder, which holds bytes until closed
	enc    Encoding
	line   int
}

// NewCSVWriter returns a writer that writes the header, then one row per
// record, in encoding enc, with CRLF line ends as municipal systems expect.
// Call Close when done.
func NewCSVWriter(w io.Writer, enc Encoding) *CSVWriter {
	c := &CSVWriter{enc: enc}
	if enc == CP932 {
		tw := transform.NewWriter(w, japanese.ShiftJIS.NewEncoder())
		w, c.closer = tw, tw
	}
	c.w = csv.NewWriter(w)
	c.w.UseCRLF = true
	return c
}

// Write writes one record (and, before the first, the header).
func (c *CSVWriter) Write(r IdentityRecord) error {
	if err := c.header(); err != nil {
		return err
	}
	c.line++
	row := []string{
		string(r.ResidentCode), string(r.IndividualNumber),
		r.FamilyName, r.GivenName, r.FamilyNameKana, r.GivenNameKana,
		r.FormerSurname, r.FormerSurnameKana, r.Alias, r.AliasKana,
		r.DateOfBirth.Format(time.DateOnly), fmt.Sprint(int(r.Sex)), r.Address, string(r.LocalGov),
		string(r.ChangeReason), r.ChangeDate.Format(time.DateOnly),
	}
	for i, f := range row {
		if !c.enc.Encodable(f) {
			return fmt.Errorf("line %d, column %s: %q cannot be written in %s", c.line, CSVHeader[i], f, c.enc)
		}
	}
	if err := c.w.Write(row); err != nil {
		return fmt.Errorf("write line %d: %w", c.line, err)
	}
	return nil
}

func (c *CSVWriter) header() error {
	if c.line > 0 {
		return nil
	}
	c.line = 1
	if err := c.w.Write(CSVHeader); err != nil {
		return fmt.Errorf("write header: %w", err)
	}
	return nil
}

// Close writes what is buffered (the header alone if no record was written)
// and reports any error of the writes. It does not close the underlying
// writer.
func (c *CSVWriter) Close() error {
	if err := c.header(); err != nil {
		return err
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if c.closer != nil {
		if err := c.closer.Close(); err != nil {
			return fmt.Errorf("encode csv: %w", err)
		}
	}
	return nil
}

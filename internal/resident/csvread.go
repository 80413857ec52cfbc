package resident

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"jukinet/internal/ids"
	"jukinet/internal/jptext"
)

// RowError is a problem in one row of a CSV file.
type RowError struct {
	Line   int
	Column string
	Reason string
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d, column %s: %s", e.Line, e.Column, e.Reason)
}

// Row is a record read from a file with the line it was on, and the values
// of it the import normalised (nil when none).
type Row struct {
	Line    int
	Record  IdentityRecord
	Changes []Change
}

// MaxRowErrors is how many row errors ReadCSV collects before it stops.
const MaxRowErrors = 1000

// ErrTooManyRowErrors ends the error list when MaxRowErrors is reached.
var ErrTooManyRowErrors = errors.New("too many bad rows; fix these and try again")

// ReadCSV reads a file in the import layout. enc may be empty: the encoding
// is then detected (UTF-8, with or without BOM, else CP932). now is the
// time of the import, for the rules that depend on the day (Validate). It
// returns the valid rows and every bad row found (up to MaxRowErrors); a
// caller that imports all or nothing refuses the file when any row is bad,
// after running its own checks on the valid rows so those are reported too.
func ReadCSV(r io.Reader, enc Encoding, now time.Time) ([]Row, []RowError, error) {
	f, err := ReadFile(r, enc, now, nil)
	return f.Rows, f.Bad, err
}

// File is what ReadFile read from an import file.
type File struct {
	Rows     []Row      // the valid rows, normalised
	Bad      []RowError // every bad row found, up to MaxRowErrors
	Encoding Encoding   // as given or detected
	BOM      bool       // the file began with a UTF-8 byte order mark (removed)
}

// ReadFile is ReadCSV, saying also the file's encoding and whether it
// began with a BOM. progress, when not nil, is called from time to time
// with the number of rows read so far (on the caller's goroutine).
func ReadFile(r io.Reader, enc Encoding, now time.Time, progress func(rows int)) (File, error) {
	// Rows are gathered in batches and copied once into a slice of the
	// right size: appending a million records of some 400 bytes to one
	// slice would copy them again at every doubling.
	var batches [][]Row
	n := 0
	f, err := ScanFile(r, enc, now, progress, func(batch []Row) error {
		batches = append(batches, batch)
		n += len(batch)
		return nil
	})
	if err != nil || len(batches) == 0 {
		return f, err
	}
	if len(batches) == 1 {
		f.Rows = batches[0]
		return f, nil
	}
	f.Rows = make([]Row, 0, n)
	for _, b := range batches {
		f.Rows = append(f.Rows, b...)
	}
	return f, nil
}

// ScanFile reads an import file as ReadFile does, but hands its valid rows
// to rows, in file order, a batch at a time, instead of keeping them: a
// file of any size is read in the memory of a few batches (File.Rows stays
// nil). The batch is the callee's to keep. If rows returns an error,
// reading stops and ScanFile returns that error.
func ScanFile(r io.Reader, enc Encoding, now time.Time, progress func(rows int), rows func([]Row) error) (File, error) {
	var f File
	br := bufio.NewReaderSize(r, 1<<16)
	if enc == "" {
		head, _ := br.Peek(1 << 16)
		enc = detect(head)
	}
	f.Encoding = enc
	if enc != CP932 {
		if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
			br.Discard(3)
			f.BOM = true
		}
	}
	// A CP932 file is split into fields as it is, and each field decoded
	// on its own (decodeCP932): the bytes CSV syntax uses (comma, quote,
	// CR, LF) are never the second byte of a double-byte character, and a
	// field whose bytes pair wrongly is refused where it is, not decoded to
	// whatever the mis-paired bytes happen to mean.
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		f.Bad = []RowError{{Line: 1, Reason: "the file is empty; the first line must be the header"}}
		return f, nil
	}
	if err != nil {
		f.Bad = []RowError{{Line: 1, Reason: csvReason(err, enc)}}
		return f, nil
	}
	if got := strings.Join(header, ","); got != strings.Join(CSVHeader, ",") {
		f.Bad = []RowError{{Line: 1, Reason: "the header must be exactly: " + strings.Join(CSVHeader, ",")}}
		return f, nil
	}
	var err2 error
	f.Bad, err2 = scanRows(cr, enc, now, progress, rows)
	return f, err2
}

// readRow is one row as the CSV reader gave it, and then as parseRow read
// it.
type readRow struct {
	line   int
	fields []string
	err    error // the CSV reader's
	rec    IdentityRecord
	errs   []FieldError // parseRow's
	chg    []Change     // parseRow's
}

// readBatch is how many rows the reader hands a parsing goroutine at once.
const readBatch = 1024

// scanRows reads the rows after the header and hands the valid ones to
// sink a batch at a time. The CSV reader runs on a goroutine of its own,
// the rows are parsed and checked on every core, and the results are taken
// in file order here, so the rows and errors come out exactly as one loop
// over the file would give them, and reading stops once MaxRowErrors is
// reached or sink fails.
func scanRows(cr *csv.Reader, enc Encoding, now time.Time, progress func(int), sink func([]Row) error) ([]RowError, error) {
	workers := runtime.GOMAXPROCS(0)
	type job struct {
		rows []readRow
		done chan []readRow
	}
	jobs := make(chan job, workers)
	order := make(chan chan []readRow, 2*workers)
	stop := make(chan struct{})       // closed when the results are taken no further
	readerDone := make(chan struct{}) // closed when the reader reads no more
	defer func() {
		// The caller may hash what was read: wait until reading stops.
		close(stop)
		<-readerDone
	}()
	for w := 0; w < workers; w++ {
		go func() {
			for j := range jobs {
				for i := range j.rows {
					if r := &j.rows[i]; r.err == nil {
						r.rec, r.chg, r.errs = parseRow(r.fields, enc, now)
						r.fields = nil
					}
				}
				j.done <- j.rows
			}
		}()
	}
	go func() {
		defer close(readerDone)
		defer close(order)
		defer close(jobs)
		batch := make([]readRow, 0, readBatch)
		last := 1 // the line last read: the header's, first
		send := func() bool {
			done := make(chan []readRow, 1)
			select {
			case order <- done:
			case <-stop:
				return false
			}
			jobs <- job{batch, done}
			batch = make([]readRow, 0, readBatch)
			return true
		}
		for {
			fields, err := cr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				// (FieldPos would panic: the reader may hold no fields
				// after an error.) An error that is not the CSV syntax's
				// is placed on the line after the last one read.
				line := last + 1
				var pe *csv.ParseError
				if errors.As(err, &pe) {
					line = pe.Line
				}
				last = line
				batch = append(batch, readRow{line: line, err: err})
				if pe == nil {
					break // not a CSV syntax error: the file cannot be read on
				}
			} else {
				line, _ := cr.FieldPos(0)
				last = line
				batch = append(batch, readRow{line: line, fields: fields})
			}
			if len(batch) == readBatch && !send() {
				return
			}
		}
		if len(batch) > 0 {
			send()
		}
	}()

	var bad []RowError
	read := 0
	for done := range order {
		batch := <-done
		if progress != nil {
			read += len(batch)
			progress(read)
		}
		rows := make([]Row, 0, len(batch))
		stop := false
		for _, r := range batch {
			if r.err != nil {
				bad = append(bad, RowError{Line: r.line, Reason: csvReason(r.err, enc)})
				var pe *csv.ParseError
				if stop = !errors.As(r.err, &pe) || len(bad) >= MaxRowErrors; stop {
					break
				}
				continue
			}
			for _, e := range r.errs {
				bad = append(bad, RowError{Line: r.line, Column: e.Column, Reason: e.Reason})
			}
			if len(bad) >= MaxRowErrors {
				bad = append(bad, RowError{Line: r.line, Reason: ErrTooManyRowErrors.Error()})
				stop = true
				break
			}
			if len(r.errs) == 0 {
				rows = append(rows, Row{Line: r.line, Record: r.rec, Changes: r.chg})
			}
		}
		if len(rows) > 0 {
			if err := sink(rows); err != nil {
				return bad, err
			}
		}
		if stop {
			break
		}
	}
	return bad, nil
}

func detect(head []byte) Encoding {
	// Cut at the last full line so a multi-byte character split by the peek
	// does not look invalid.
	if i := bytes.LastIndexByte(head, '\n'); i >= 0 {
		head = head[:i+1]
	}
	if utf8.Valid(head) {
		return UTF8
	}
	return CP932
}

func csvReason(err error, enc Encoding) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return fmt.Sprintf("cannot read the file as %s: %v", enc, err)
}

// parseRow turns the fields of one row, in encoding enc, into a record,
// normalising each value (NormaliseField), and checks it. It returns the
// changes the normalisation made.
func parseRow(f []string, enc Encoding, now time.Time) (IdentityRecord, []Change, []FieldError) {
	if len(f) != len(CSVHeader) {
		return IdentityRecord{}, nil, []FieldError{{Reason: fmt.Sprintf("has %d columns, want %d", len(f), len(CSVHeader))}}
	}
	if enc == CP932 {
		var errs []FieldError
		for i, v := range f {
			s, err := decodeCP932(v)
			if err != nil {
				errs = append(errs, FieldError{Column: CSVHeader[i], Label: columnLabels[CSVHeader[i]], Reason: err.Error(), Japanese: err.Japanese()})
			}
			f[i] = s
		}
		if len(errs) > 0 {
			return IdentityRecord{}, nil, errs
		}
	}
	for i, v := range f {
		if !utf8.ValidString(v) {
			// One error for the row: every other check would fail too.
			return IdentityRecord{}, nil, []FieldError{{Column: CSVHeader[i], Reason: "not valid UTF-8 text; if the file is Shift_JIS, give --encoding cp932"}}
		}
	}
	var changes []Change
	for i, v := range f {
		if n, how := NormaliseField(CSVHeader[i], v); how != 0 {
			changes = append(changes, Change{Column: CSVHeader[i], How: how, Original: v, Stored: n})
			f[i] = n
		}
	}
	var errs []FieldError
	date := func(col, s string) time.Time {
		d, err := ParseDate(s)
		if err != nil {
			if _, jerr := jptext.ParseDate(s); jerr != nil && s != "" {
				// Say why the date reads in no form (平成31年5月1日 names
				// the day it is), not only that it is no YYYY-MM-DD.
				err = jerr
			}
			errs = append(errs, FieldError{Column: col, Reason: err.Error()})
		}
		return d
	}
	r := IdentityRecord{
		ResidentCode: ids.ResidentCode(f[0]), IndividualNumber: ids.IndividualNumber(f[1]),
		FamilyName: f[2], GivenName: f[3], FamilyNameKana: f[4], GivenNameKana: f[5],
		FormerSurname: f[6], FormerSurnameKana: f[7], Alias: f[8], AliasKana: f[9],
		Address: f[12], LocalGov: ids.LocalGovCode(f[13]),
	}
	r.DateOfBirth = date("date_of_birth", f[10])
	r.ChangeDate = date("change_date", f[15])
	switch f[11] {
	case "1", "男":
		r.Sex = SexMale
	case "2", "女":
		r.Sex = SexFemale
	default:
		n, _ := strconv.Atoi(f[11])
		r.Sex = Sex(n) // Validate reports it
	}
	if reason, ok := ParseChangeReason(f[14]); ok {
		r.ChangeReason = reason
	} else {
		r.ChangeReason = ChangeReason(f[14])
	}
	for _, e := range r.Validate(now) {
		// A date already reported as unreadable is not also "required".
		if (e.Column == "date_of_birth" || e.Column == "change_date") && hasColumn(errs, e.Column) {
			continue
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 && len(changes) > 0 {
		// A value refused after it was normalised: say so, since the
		// positions a refusal names count in the normalised value.
		for i := range errs {
			for _, c := range changes {
				if c.Column == errs[i].Column {
					en, ja := normalisedNote(c.How)
					errs[i].Reason += en
					if errs[i].Japanese != "" {
						errs[i].Japanese += ja
					}
				}
			}
		}
	}
	return r, changes, errs
}

func hasColumn(errs []FieldError, col string) bool {
	for _, e := range errs {
		if e.Column == col {
			return true
		}
	}
	return false
}

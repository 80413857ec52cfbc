package gate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate/internal/records"
	"jukinet/internal/jptext"
	"jukinet/internal/resident"
)

// ImportError lists every bad row of a refused import.
type ImportError struct {
	Rows []resident.RowError
}

func (e *ImportError) Error() string {
	lines := make([]string, len(e.Rows))
	for i, r := range e.Rows {
		lines[i] = r.Error()
	}
	return fmt.Sprintf("%s, nothing imported:\n%s", e.Summary(), strings.Join(lines, "\n"))
}

// Summary counts the bad rows and, when some row has several, the
// problems: "1 bad row", "3 bad rows (5 problems)".
func (e *ImportError) Summary() string { return badRows(e.Rows) }

func badRows(problems []resident.RowError) string {
	lines := map[int]bool{}
	for _, r := range problems {
		lines[r.Line] = true
	}
	s := fmt.Sprintf("%d bad rows", len(lines))
	if len(lines) == 1 {
		s = "1 bad row"
	}
	if len(problems) > len(lines) {
		s += fmt.Sprintf(" (%d problems)", len(problems))
	}
	return s
}

// ImportReport says what an import did.
type ImportReport struct {
	Rows                      int
	Added, Changed, Unchanged int
	SHA256                    string // of the file as read
	AuditSeq                  int64
	// Normalised counts the values the import normalised, by column and
	// how (resident.CountChanges); empty when it stored every value as
	// the file gave it.
	Normalised []resident.NormCount
	// Values is how many values the import normalised, each once however
	// many ways.
	Values int
	// ReportValues is how many values the normalisation report lists,
	// with the BOM (0: no report, as when only a BOM was removed).
	ReportValues int
}

// ImportStage is the part of an import a progress call reports on.
type ImportStage int

// The stages of an import.
const (
	ImportReading ImportStage = iota + 1 // reading and checking the file's rows (total unknown: 0)
	ImportWriting                        // applying the rows to the register (total: the rows)
)

// ImportOptions are an import's settings besides its file.
type ImportOptions struct {
	// Encoding is the file's encoding; empty: detected.
	Encoding resident.Encoding
	// Report, when not nil, is given the normalisation report
	// (resident.WriteNormReport, in the file's encoding) if the import
	// normalised any value, once the import's audit entry is durable. It
	// is not called for a refused import, nor when nothing was normalised.
	Report func(report io.Reader) error
	// RecordReport, when not nil, records the report in the transaction
	// of the import's audit entry (the forms register's issue of it), with
	// its SHA-256 and size; e.Count is then the number of rows it lists.
	// If it fails, nothing is imported.
	RecordReport ExportRecorder
	// Progress, when not nil, is told the stage and how many rows are done
	// of total (0: not known), from time to time, on the importing
	// goroutine.
	Progress func(stage ImportStage, done, total int)
	// Size is the file's size in bytes, when known (0: not known). A file
	// of StreamImportBytes or more is streamed: read twice, never held in
	// memory (importStream).
	Size int64
}

// Import reads a CSV file in the import layout (enc empty: detected) and
// applies it all or nothing: any bad row, and nothing is imported; the
// error is an *ImportError listing every bad row. Rows identical to the
// current records add no versions, so re-importing a file changes nothing.
func (g *Gate) Import(ctx context.Context, req Request, r io.Reader, enc resident.Encoding) (ImportReport, error) {
	return g.ImportWith(ctx, req, r, ImportOptions{Encoding: enc})
}

// ImportWith is Import with the options: the normalisation report, and
// progress. Values legacy systems write (half-width kana, full-width
// digits, 和暦 dates, a BOM; resident.NormaliseField) are stored
// normalised and counted in the report.
func (g *Gate) ImportWith(ctx context.Context, req Request, r io.Reader, opt ImportOptions) (ImportReport, error) {
	var rep ImportReport
	e, v := g.begin(ctx, req, "import")
	if !v.Allow {
		return rep, g.deny(ctx, e, v)
	}
	if opt.Size >= StreamImportBytes {
		return g.importStream(ctx, e, r, opt)
	}
	h := sha256.New()
	var readProgress func(int)
	if opt.Progress != nil {
		readProgress = func(n int) { opt.Progress(ImportReading, n, 0) }
	}
	file, err := resident.ReadFile(io.TeeReader(r, h), opt.Encoding, g.now(), readProgress)
	rows, bad := file.Rows, file.Bad
	rep.SHA256 = hex.EncodeToString(h.Sum(nil))
	e.Detail = "file sha256=" + rep.SHA256
	if err != nil {
		return rep, g.fail(ctx, e, apperr.Wrap(apperr.Invalid, err, "read import file", "ファイルを読み込めませんでした"))
	}
	bad = append(bad, g.checkRows(rows)...)
	if len(bad) > 0 {
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
		e.Detail += ", " + badRows(bad)
		logged := g.fail(ctx, e, apperr.New(apperr.Invalid, fmt.Sprintf("%s, nothing imported (first: %s)", badRows(bad), bad[0]), "ファイルに誤りがあるため、取り込みを行いませんでした"))
		if apperr.CodeOf(logged) == apperr.Unavailable {
			return rep, logged
		}
		return rep, &ImportError{Rows: bad}
	}
	rep.Normalised = resident.CountChanges(rows, file.BOM)
	rep.Values = normalisedValues(rows)
	// The report is spooled before the entry (its digest is recorded in
	// the entry's transaction) and handed over only after it is durable.
	var report *os.File
	var reportSum string
	var reportSize int64
	if opt.Report != nil && rep.Values > 0 {
		report, reportSum, reportSize, rep.ReportValues, err = spoolReport(file)
		if err != nil {
			return rep, g.fail(ctx, e, apperr.Wrap(apperr.Unavailable, err, "write the normalisation report", "正規化の報告を作成できませんでした"))
		}
		defer os.Remove(report.Name())
		defer report.Close()
	}
	recs := make([]resident.IdentityRecord, len(rows))
	for i, row := range rows {
		recs[i] = row.Record
	}
	rep.Rows = len(recs)
	var writeProgress func(int)
	if opt.Progress != nil {
		writeProgress = func(n int) { opt.Progress(ImportWriting, n, len(recs)) }
	}
	// A large import is a bulk load (db.TransactBulk): on SQLite without
	// row-by-row foreign-key checks, since every row it writes references a
	// resident it created or read in its transaction (TestBulkLoadKeepsIndexes
	// checks the references afterwards); on PostgreSQL loaded with COPY.
	appendWith := g.log.AppendWith
	if len(recs) >= records.BulkLoadThreshold {
		appendWith = g.log.AppendBulk
	}
	seq, workErr, err := appendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		res, err := records.ImportProgress(ctx, tx, recs, seq, writeProgress)
		if err != nil {
			return err
		}
		rep.Added, rep.Changed, rep.Unchanged = res.Added, res.Changed, res.Unchanged
		if err := records.Notify(ctx, tx, seq, "", e.Time); err != nil {
			return err
		}
		e.Count, e.PackedSubjects = res.Added+res.Changed, res.Codes
		e.Detail += fmt.Sprintf(", rows=%d added=%d changed=%d unchanged=%d", len(recs), res.Added, res.Changed, res.Unchanged)
		if rep.Values > 0 {
			e.Detail += fmt.Sprintf(", normalised=%d values", rep.Values)
		}
		if report != nil && opt.RecordReport != nil {
			// The form counts the rows the report lists; the entry keeps
			// its count of residents added or changed.
			count := e.Count
			e.Count = reportRows(rows)
			err := opt.RecordReport(ctx, tx, seq, e, reportSum, reportSize)
			e.Count = count
			return err
		}
		return nil
	})
	// A record the register refuses (a code or number another resident
	// holds, a change dated before the current one) is a bad row too.
	line := 0
	if ce := (*records.ChangeError)(nil); errors.As(workErr, &ce) && ce.Row > 0 && ce.Row <= len(rows) {
		line = rows[ce.Row-1].Line
	}
	if err := importFailure(err, workErr, line); err != nil {
		return rep, err
	}
	rep.AuditSeq = seq
	return rep, handOver(report, seq, opt)
}

// importFailure is what an import whose entry was appended with err and
// whose work failed with workErr answers (nil: it succeeded); line is the
// file line of a record the register refused (0: none known).
func importFailure(err, workErr error, line int) error {
	if err != nil {
		return apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this import, so nothing was imported",
			"アクセス記録（監査ログ）を書き込めなかったため、取り込みを行いませんでした。")
	}
	if workErr == nil {
		return nil
	}
	if ce := (*records.ChangeError)(nil); errors.As(workErr, &ce) && line > 0 {
		return &ImportError{Rows: []resident.RowError{{Line: line, Column: ce.Column, Reason: ce.Reason}}}
	}
	return changeError(workErr)
}

// handOver gives the import's normalisation report, when it made one, to
// opt.Report, once the import's entry (seq) is durable.
func handOver(report *os.File, seq int64, opt ImportOptions) error {
	if report == nil {
		return nil
	}
	if _, err := report.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("imported, but the normalisation report could not be read back: %w", err)
	}
	if err := opt.Report(report); err != nil {
		return fmt.Errorf("imported (audit entry %d), but the normalisation report could not be written: %w", seq, err)
	}
	return nil
}

// spoolReport writes the normalisation report of file to a temporary file,
// and returns it with its SHA-256 (hex), size and the number of values it
// lists.
func spoolReport(file resident.File) (*os.File, string, int64, int, error) {
	spool, err := os.CreateTemp("", "jukinet-normalised-*.csv")
	if err != nil {
		return nil, "", 0, 0, fmt.Errorf("create report spool: %w", err)
	}
	hash := sha256.New()
	counted := &countingWriter{w: io.MultiWriter(spool, hash)}
	n, err := resident.WriteNormReport(counted, file.Encoding, file.Rows, file.BOM)
	if err != nil {
		spool.Close()
		os.Remove(spool.Name())
		return nil, "", 0, 0, err
	}
	return spool, hex.EncodeToString(hash.Sum(nil)), counted.n, n, nil
}

// normalisedValues is the number of values the rows had normalised, each
// once however many ways.
func normalisedValues(rows []resident.Row) int {
	n := 0
	for _, r := range rows {
		n += len(r.Changes)
	}
	return n
}

// reportRows is how many rows of the file had a value normalised.
func reportRows(rows []resident.Row) int {
	n := 0
	for _, r := range rows {
		if len(r.Changes) > 0 {
			n++
		}
	}
	return n
}

// checkRows finds what the file's rows cannot be, beyond their own validity:
// outside this node's jurisdiction, or a code given twice. The checks run
// side by side (a million rows fill two maps of a million); the errors
// come in line order, a line's in column order, as many as
// resident.MaxRowErrors allows (the last line's all).
func (g *Gate) checkRows(rows []resident.Row) []resident.RowError {
	var twice []resident.RowError
	done := make(chan struct{})
	go func() {
		defer close(done)
		twice = duplicateErrors(rows)
	}()
	var scope []resident.RowError
	for _, row := range rows {
		if !g.inScope(row.Record.LocalGov) {
			scope = append(scope, resident.RowError{Line: row.Line, Column: "local_gov_code", Reason: g.scopeError(row.Record.LocalGov)})
			if len(scope) >= resident.MaxRowErrors {
				break
			}
		}
	}
	<-done
	// In line order, and on one line scope, code, number (stable).
	bad := slices.Concat(scope, twice)
	slices.SortStableFunc(bad, func(a, b resident.RowError) int { return cmp.Compare(a.Line, b.Line) })
	for i := resident.MaxRowErrors; i < len(bad); i++ {
		if bad[i].Line != bad[i-1].Line {
			return bad[:i]
		}
	}
	return bad
}

// duplicateErrors finds the resident codes and individual numbers rows
// give more than once, each repeat an error naming the line it repeats, in
// line order (on one line the code's first), up to resident.MaxRowErrors
// of each.
func duplicateErrors(rows []resident.Row) []resident.RowError {
	twice := func(column string, value func(resident.IdentityRecord) string) []resident.RowError {
		var bad []resident.RowError
		seen := make(map[string]int, len(rows))
		for _, row := range rows {
			v := value(row.Record)
			if prev, ok := seen[v]; ok {
				bad = append(bad, resident.RowError{Line: row.Line, Column: column, Reason: fmt.Sprintf("also on line %d", prev)})
				if len(bad) >= resident.MaxRowErrors {
					break
				}
				continue
			}
			seen[v] = row.Line
		}
		return bad
	}
	var codes, numbers []resident.RowError
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		codes = twice("resident_code", func(r resident.IdentityRecord) string { return string(r.ResidentCode) })
	}()
	numbers = twice("individual_number", func(r resident.IdentityRecord) string { return string(r.IndividualNumber) })
	wg.Wait()
	bad := slices.Concat(codes, numbers)
	slices.SortStableFunc(bad, func(a, b resident.RowError) int { return cmp.Compare(a.Line, b.Line) })
	return bad
}

// Export writes every resident's record in force on asOf (zero: today's)
// as CSV to w. The data is spooled to a temporary file first: it reaches w
// only after the audit entry, listing every resident provided, is durable.
func (g *Gate) Export(ctx context.Context, req Request, asOf time.Time, enc resident.Encoding, w io.Writer) (int, error) {
	return g.ExportWith(ctx, req, asOf, enc, w, nil)
}

// ExportRecorder records a file the gate exports in the transaction of the
// export's audit entry (seq, at): the forms register's issue of it
// (internal/form, koto-ward:14). sum is the SHA-256 (hex) of the file's
// exact bytes, size their number; e.Count is how many residents it holds.
type ExportRecorder func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, sum string, size int64) error

// ExportWith is Export with record run in the transaction of the export's
// entry: if it fails, nothing is written to w and the attempt is logged.
func (g *Gate) ExportWith(ctx context.Context, req Request, asOf time.Time, enc resident.Encoding, w io.Writer, record ExportRecorder) (int, error) {
	return g.ExportWithProgress(ctx, req, asOf, enc, w, record, nil)
}

// exportProgressEvery is how many rows an export writes between progress
// calls.
const exportProgressEvery = 1024

// ExportWithProgress is ExportWith telling progress, when not nil, how many
// residents it has written to its spool of total (0: not known, as for a
// past day's export), from time to time.
func (g *Gate) ExportWithProgress(ctx context.Context, req Request, asOf time.Time, enc resident.Encoding, w io.Writer, record ExportRecorder, progress func(done, total int)) (int, error) {
	e, v := g.begin(ctx, req, "export")
	if !asOf.IsZero() {
		e.Query = "as_of=" + asOf.Format(time.DateOnly)
	}
	e.Query = strings.TrimSpace(e.Query + " encoding=" + string(enc))
	if !v.Allow {
		return 0, g.deny(ctx, e, v)
	}
	spool, err := os.CreateTemp("", "jukinet-export-*.csv")
	if err != nil {
		return 0, g.fail(ctx, e, apperr.Wrap(apperr.Unavailable, err, "create export spool", "書き出し用の一時ファイルを作成できませんでした"))
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	hash := sha256.New()
	counted := &countingWriter{w: io.MultiWriter(spool, hash)}
	cw := resident.NewCSVWriter(counted, enc)
	var codes []uint64 // packed (auditlog.PackCode): eight bytes a resident, for an export of millions
	total := 0
	if progress != nil && asOf.IsZero() {
		if n, err := records.CountInForce(ctx, g.db); err == nil {
			total = int(n)
		}
	}
	err = records.Export(ctx, g.db, asOf, func(v records.Version) error {
		code, ok := auditlog.PackCode(string(v.ResidentCode))
		if !ok {
			return fmt.Errorf("resident code %q in the register is not eleven digits", v.ResidentCode)
		}
		codes = append(codes, code)
		if progress != nil && len(codes)%exportProgressEvery == 0 {
			progress(len(codes), total)
		}
		return cw.Write(v.IdentityRecord)
	})
	if progress != nil && err == nil {
		progress(len(codes), max(total, len(codes)))
	}
	if err == nil {
		err = cw.Close()
	}
	if err != nil {
		return 0, g.fail(ctx, e, apperr.Wrap(apperr.Invalid, err, "export", "書き出しに失敗しました"))
	}
	sum := hex.EncodeToString(hash.Sum(nil))
	e.Count, e.PackedSubjects, e.Provision = len(codes), codes, g.provision(req, "export", Verdict{}) // the file holds every item
	if record == nil {
		if err := g.record(ctx, e); err != nil {
			return 0, err
		}
	} else {
		e.Detail = strings.TrimSpace(e.Detail + fmt.Sprintf(" %d bytes, sha256 %s", counted.n, sum))
		_, workErr, err := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
			return record(ctx, tx, seq, e, sum, counted.n)
		})
		if err != nil {
			return 0, apperr.Wrap(apperr.Unavailable, err, "the audit log could not record this access, so it was refused",
				"アクセス記録（監査ログ）を書き込めなかったため、処理を中止しました。システム管理者に連絡してください。")
		}
		if workErr != nil {
			return 0, fmt.Errorf("export: record the file: %w", workErr)
		}
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return 0, fmt.Errorf("export: %w", err)
	}
	if _, err := io.Copy(w, spool); err != nil {
		return 0, fmt.Errorf("export: write: %w", err)
	}
	return len(codes), nil
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// EnsureSearchKeys makes the stored search keys this code's own. Keys made
// by another folding (jptext.KeyVersion: a variant added, a fold changed)
// would miss searches and could not be found again to be replaced, so they
// are rebuilt from every resident's current version, in one transaction
// logged as a "rekey" by the node itself; it returns how many residents
// were keyed. A register whose keys are current, or that has none yet,
// only has the version recorded, unlogged: no identity data is read.
func (g *Gate) EnsureSearchKeys(ctx context.Context) (int, error) {
	current, err := records.KeysCurrent(ctx, g.db)
	if err != nil || current {
		return 0, err
	}
	some, err := records.HasKeys(ctx, g.db)
	if err != nil {
		return 0, err
	}
	if !some {
		return 0, g.db.Transact(ctx, func(tx *db.Tx) error { return records.SetKeyVersion(ctx, tx) })
	}
	e := auditlog.Entry{Node: g.nodeID(), Actor: auditlog.Actor{Kind: auditlog.ActorSystem, ID: "node"}, Origin: "host:start",
		Action: "rekey", Decision: auditlog.Allow, Policy: "system", Why: "search keys made by another folding", Outcome: auditlog.OutcomeOK,
		Detail: "search keys rebuilt for folding " + jptext.KeyVersion}
	n := 0
	_, workErr, err := g.log.AppendWith(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		var err error
		n, err = records.RebuildKeys(ctx, tx)
		e.Count = n
		return err
	})
	if err != nil {
		return 0, err
	}
	if workErr != nil {
		return 0, fmt.Errorf("rebuild search keys: %w", workErr)
	}
	return n, nil
}

// Count returns how many residents the register holds. It returns no
// identity information, so it is not logged.
func (g *Gate) Count(ctx context.Context) (int64, error) {
	return records.Count(ctx, g.db)
}

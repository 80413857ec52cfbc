package gate

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"jukinet/internal/apperr"
	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/gate/internal/records"
	"jukinet/internal/resident"
)

// StreamImportBytes is the file size (ImportOptions.Size) from which an
// import is streamed: the file is read twice, once to check every row and
// once to store them, instead of holding its rows in memory. A variable
// so tests can stream small files.
var StreamImportBytes int64 = 64 << 20

// streamChunk is how many records a streamed import stores at a time.
const streamChunk = 32768

// importStream is ImportWith for a large file: memory holds a chunk of
// rows, the codes and individual numbers as integers (16 bytes a row, to
// find duplicates), and the entry's list of the residents imported; never
// the file. The first pass reads and checks every row and spools the
// file's bytes to a temporary file; if all is well the second pass reads
// the spool again and stores its rows, in the import entry's transaction,
// a chunk at a time. Rows are stored in file order, each chunk sorted by
// resident code: a file sorted by code loads fastest.
func (g *Gate) importStream(ctx context.Context, e auditlog.Entry, r io.Reader, opt ImportOptions) (ImportReport, error) {
	var rep ImportReport
	now := g.now()
	defer limitGoMemory()()
	spool, err := os.CreateTemp("", "jukinet-import-*.csv")
	if err != nil {
		return rep, g.fail(ctx, e, apperr.Wrap(apperr.Unavailable, err, "create import spool", "取り込み用の一時ファイルを作成できませんでした"))
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	// Pass 1: check every row.
	h := sha256.New()
	var counter resident.NormCounter
	var scope []resident.RowError
	var codes, numbers uintBlocks
	reportRows := 0
	var readProgress func(int)
	if opt.Progress != nil {
		readProgress = func(n int) { opt.Progress(ImportReading, n, 0) }
	}
	file, err := resident.ScanFile(io.TeeReader(r, io.MultiWriter(h, spool)), opt.Encoding, now, readProgress, func(rows []resident.Row) error {
		counter.Add(rows)
		for _, row := range rows {
			rep.Values += len(row.Changes)
			if len(row.Changes) > 0 {
				reportRows++
			}
			if len(scope) < resident.MaxRowErrors && !g.inScope(row.Record.LocalGov) {
				scope = append(scope, resident.RowError{Line: row.Line, Column: "local_gov_code", Reason: g.scopeError(row.Record.LocalGov)})
			}
			c, err1 := strconv.ParseUint(string(row.Record.ResidentCode), 10, 64)
			n, err2 := strconv.ParseUint(string(row.Record.IndividualNumber), 10, 64)
			if err := errors.Join(err1, err2); err != nil {
				return fmt.Errorf("line %d: a checked code is not a number: %w", row.Line, err)
			}
			codes.add(c)
			numbers.add(n)
		}
		return nil
	})
	if err == nil {
		// Whatever the reader stopped at, the digest covers the whole file.
		_, err = io.Copy(io.MultiWriter(h, spool), r)
	}
	rep.SHA256 = hex.EncodeToString(h.Sum(nil))
	e.Detail = "file sha256=" + rep.SHA256
	if err != nil {
		return rep, g.fail(ctx, e, apperr.Wrap(apperr.Invalid, err, "read import file", "ファイルを読み込めませんでした"))
	}
	rep.Rows = codes.len()
	bad := file.Bad
	bad = append(bad, scope...)
	dupCodes := repeated(codes.flatten())
	dupNumbers := repeated(numbers.flatten())
	debug.FreeOSMemory() // the two lists were the pass's largest memory
	if len(dupCodes)+len(dupNumbers) > 0 {
		// Rare: read the file a third time for the lines of the repeats.
		twice, err := g.repeatedRows(spool, file.Encoding, now, dupCodes, dupNumbers)
		if err != nil {
			return rep, g.fail(ctx, e, apperr.Wrap(apperr.Unavailable, err, "read import spool", "取り込み用の一時ファイルを読めませんでした"))
		}
		bad = append(bad, twice...)
	}
	if len(bad) > 0 {
		sort.SliceStable(bad, func(i, j int) bool { return bad[i].Line < bad[j].Line })
		for i := resident.MaxRowErrors; i < len(bad); i++ {
			if bad[i].Line != bad[i-1].Line {
				bad = bad[:i]
				break
			}
		}
		e.Detail += ", " + badRows(bad)
		logged := g.fail(ctx, e, apperr.New(apperr.Invalid, fmt.Sprintf("%s, nothing imported (first: %s)", badRows(bad), bad[0]), "ファイルに誤りがあるため、取り込みを行いませんでした"))
		if apperr.CodeOf(logged) == apperr.Unavailable {
			return rep, logged
		}
		return rep, &ImportError{Rows: bad}
	}
	rep.Normalised = counter.Counts(file.BOM)

	// Pass 2: store the rows, in the entry's transaction.
	var report *os.File
	if opt.Report != nil && rep.Values > 0 {
		if report, err = os.CreateTemp("", "jukinet-normalised-*.csv"); err != nil {
			return rep, g.fail(ctx, e, apperr.Wrap(apperr.Unavailable, err, "create the normalisation report", "正規化の報告を作成できませんでした"))
		}
		defer os.Remove(report.Name())
		defer report.Close()
	}
	var writeProgress func(int)
	if opt.Progress != nil {
		writeProgress = func(n int) { opt.Progress(ImportWriting, n, rep.Rows) }
	}
	changeLine := 0 // the line of a record the register refused
	seq, workErr, err := g.log.AppendBulk(ctx, e, func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry) error {
		if _, err := spool.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("rewind import spool: %w", err)
		}
		var nw *resident.NormReportWriter
		var reportSum = sha256.New()
		var counted *countingWriter
		if report != nil {
			if _, err := report.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("rewind the normalisation report: %w", err)
			}
			if err := report.Truncate(0); err != nil {
				return fmt.Errorf("empty the normalisation report: %w", err)
			}
			counted = &countingWriter{w: io.MultiWriter(report, reportSum)}
			if nw, err = resident.NewNormReportWriter(counted, file.Encoding, file.BOM); err != nil {
				return err
			}
		}
		im, err := records.NewImporter(ctx, tx, seq, rep.Rows, true)
		if err != nil {
			return err
		}
		defer im.Close()
		chunk := make([]resident.IdentityRecord, 0, streamChunk)
		lines := make([]int, 0, streamChunk)
		store := func() error {
			if len(chunk) == 0 {
				return nil
			}
			if err := im.Add(ctx, chunk, writeProgress); err != nil {
				if ce := (*records.ChangeError)(nil); errors.As(err, &ce) && ce.Row > 0 && ce.Row <= len(lines) {
					changeLine = lines[ce.Row-1]
				}
				return err
			}
			chunk, lines = chunk[:0], lines[:0]
			return nil
		}
		again, err := resident.ScanFile(spool, file.Encoding, now, nil, func(rows []resident.Row) error {
			if nw != nil {
				if err := nw.Add(rows); err != nil {
					return err
				}
			}
			for _, row := range rows {
				chunk, lines = append(chunk, row.Record), append(lines, row.Line)
				if len(chunk) == streamChunk {
					if err := store(); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err == nil {
			err = store()
		}
		if err != nil {
			return err
		}
		if len(again.Bad) > 0 {
			return fmt.Errorf("the import spool changed between its readings (%s)", again.Bad[0])
		}
		res, err := im.Finish(ctx)
		if err != nil {
			return err
		}
		if res.Added+res.Changed+res.Unchanged != rep.Rows {
			return fmt.Errorf("the import spool changed between its readings: %d rows stored of %d checked", res.Added+res.Changed+res.Unchanged, rep.Rows)
		}
		rep.Added, rep.Changed, rep.Unchanged = res.Added, res.Changed, res.Unchanged
		if err := records.Notify(ctx, tx, seq, "", e.Time); err != nil {
			return err
		}
		e.Count, e.PackedSubjects = res.Added+res.Changed, res.Codes
		e.Detail += fmt.Sprintf(", rows=%d added=%d changed=%d unchanged=%d", rep.Rows, res.Added, res.Changed, res.Unchanged)
		if rep.Values > 0 {
			e.Detail += fmt.Sprintf(", normalised=%d values", rep.Values)
		}
		if nw != nil {
			if rep.ReportValues, err = nw.Close(); err != nil {
				return err
			}
			if opt.RecordReport != nil {
				// The form counts the rows the report lists; the entry
				// keeps its count of residents added or changed.
				count := e.Count
				e.Count = reportRows
				err := opt.RecordReport(ctx, tx, seq, e, hex.EncodeToString(reportSum.Sum(nil)), counted.n)
				e.Count = count
				return err
			}
		}
		return nil
	})
	if err := importFailure(err, workErr, changeLine); err != nil {
		return rep, err
	}
	rep.AuditSeq = seq
	return rep, handOver(report, seq, opt)
}

// uintBlocks is a list of integers that grows a block at a time, so a list
// of millions is never copied to grow (nor held twice while it is).
type uintBlocks struct {
	blocks [][]uint64
}

// uintBlock is how many integers a block holds (8 MiB).
const uintBlock = 1 << 20

func (b *uintBlocks) add(v uint64) {
	if n := len(b.blocks); n == 0 || len(b.blocks[n-1]) == uintBlock {
		b.blocks = append(b.blocks, make([]uint64, 0, uintBlock))
	}
	last := &b.blocks[len(b.blocks)-1]
	*last = append(*last, v)
}

func (b *uintBlocks) len() int {
	n := 0
	for _, bl := range b.blocks {
		n += len(bl)
	}
	return n
}

// flatten returns the list as one slice, giving each block up as it is
// copied, and empties b.
func (b *uintBlocks) flatten() []uint64 {
	out := make([]uint64, 0, b.len())
	for i := range b.blocks {
		out = append(out, b.blocks[i]...)
		b.blocks[i] = nil
	}
	b.blocks = nil
	return out
}

// streamGoMemory is the soft limit of Go's own memory during a streamed
// import (runtime/debug.SetMemoryLimit): the collector then runs before the
// heap doubles, instead of letting a file's parsed rows pile up as garbage
// beside SQLite's page cache. What the import keeps (16 bytes a row while
// checking, 8 a resident while storing) stays well below it up to tens of
// millions of rows; beyond it the collector runs more often, never fails.
const streamGoMemory = 768 << 20

// goMemory counts the streamed imports running, so that the first lowers
// Go's memory limit and the last gives the previous one back, whatever
// order they end in.
var goMemory struct {
	sync.Mutex
	running int
	before  int64
}

// limitGoMemory lowers Go's soft memory limit to streamGoMemory unless the
// process set one (GOMEMLIMIT), and returns the function that gives the
// previous limit back once no streamed import runs.
func limitGoMemory() (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	goMemory.Lock()
	defer goMemory.Unlock()
	if goMemory.running == 0 {
		goMemory.before = debug.SetMemoryLimit(streamGoMemory)
	}
	goMemory.running++
	var once sync.Once
	return func() {
		once.Do(func() {
			goMemory.Lock()
			defer goMemory.Unlock()
			if goMemory.running--; goMemory.running == 0 {
				debug.SetMemoryLimit(goMemory.before)
			}
		})
	}
}

// repeated returns the values given more than once (sorting values).
func repeated(values []uint64) map[uint64]bool {
	slices.Sort(values)
	var twice map[uint64]bool
	for i := 1; i < len(values); i++ {
		if values[i] == values[i-1] {
			if twice == nil {
				twice = map[uint64]bool{}
			}
			twice[values[i]] = true
		}
	}
	return twice
}

// repeatedRows reads the spooled file again for the rows holding a
// resident code or individual number given more than once, and returns
// their errors as checkRows words them.
func (g *Gate) repeatedRows(spool *os.File, enc resident.Encoding, now time.Time, codes, numbers map[uint64]bool) ([]resident.RowError, error) {
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("rewind import spool: %w", err)
	}
	var rows []resident.Row
	_, err := resident.ScanFile(spool, enc, now, nil, func(batch []resident.Row) error {
		for _, row := range batch {
			c, _ := strconv.ParseUint(string(row.Record.ResidentCode), 10, 64)
			n, _ := strconv.ParseUint(string(row.Record.IndividualNumber), 10, 64)
			if codes[c] || numbers[n] {
				rows = append(rows, row)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return duplicateErrors(rows), nil
}

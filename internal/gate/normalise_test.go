package gate

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"jukinet/internal/auditlog"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
	"jukinet/internal/resident"
	"jukinet/internal/synth"
)

// legacyCSV writes n synthetic records as a legacy system would: the
// readings in half-width katakana (ﾀｶﾊｼ), the dates of birth as 和暦. It
// returns the file and the records as the register should store them.
func legacyCSV(t *testing.T, n int, seed uint64) ([]byte, []resident.IdentityRecord) {
	t.Helper()
	g, _ := synth.New(synth.Options{Seed: seed, LocalGov: "131083"})
	var clean bytes.Buffer
	w := resident.NewCSVWriter(&clean, resident.UTF8)
	recs := make([]resident.IdentityRecord, n)
	for i := range recs {
		recs[i] = g.Next()
		w.Write(recs[i])
	}
	w.Close()
	rows, err := csv.NewReader(&clean).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	half := strings.NewReplacer("タ", "ﾀ", "カ", "ｶ", "ハ", "ﾊ", "シ", "ｼ", "ナ", "ﾅ", "コ", "ｺ", "サ", "ｻ", "ト", "ﾄ", "ウ", "ｳ", "ガ", "ｶﾞ", "バ", "ﾊﾞ", "パ", "ﾊﾟ", "ー", "ｰ")
	for i, r := range rows[1:] {
		r[4] = half.Replace(r[4])
		if d := recs[i].DateOfBirth; d.Year() >= 1990 && d.Year() <= 2018 {
			r[10] = "平成" + strconv.Itoa(d.Year()-1988) + "年" + strconv.Itoa(int(d.Month())) + "月" + strconv.Itoa(d.Day()) + "日"
		}
	}
	var out bytes.Buffer
	cw := csv.NewWriter(&out)
	cw.WriteAll(rows)
	return out.Bytes(), recs
}

// TestImportNormalises: a legacy file imports; the register stores the
// normalised values; the report is handed over only after the entry, and
// recorded in its transaction; a report the register cannot record, or a
// bad row, imports nothing and hands nothing over.
func TestImportNormalises(t *testing.T) {
	importModes(t, func(t *testing.T) { testImportNormalises(t) })
}

func testImportNormalises(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ctx := context.Background()
		file, recs := legacyCSV(t, 30, 11)

		// The report cannot be recorded: nothing imported, nothing handed over.
		handed := 0
		opt := ImportOptions{
			Report: func(io.Reader) error { handed++; return nil },
			RecordReport: func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, sum string, size int64) error {
				return errors.New("forms register full")
			},
		}
		if _, err := f.g.ImportWith(ctx, clerk, bytes.NewReader(file), opt); err == nil || handed != 0 {
			t.Fatalf("import with an unrecordable report: %v, handed %d", err, handed)
		}
		if _, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: string(recs[0].ResidentCode)}); err == nil {
			t.Fatal("a resident was imported although the report could not be recorded")
		}

		// A bad row among normalised ones: nothing imported, nothing handed over.
		bad := bytes.Replace(file, []byte(",131083,"), []byte(",131084,"), 1)
		var ie *ImportError
		if _, err := f.g.ImportWith(ctx, clerk, bytes.NewReader(bad), opt); !errors.As(err, &ie) || handed != 0 {
			t.Fatalf("import with a bad row: %v, handed %d", err, handed)
		}

		var report bytes.Buffer
		var recorded struct {
			seq   int64
			count int
			sum   string
		}
		opt = ImportOptions{
			Report: func(r io.Reader) error { handed++; _, err := io.Copy(&report, r); return err },
			RecordReport: func(ctx context.Context, tx *db.Tx, seq int64, e *auditlog.Entry, sum string, size int64) error {
				recorded.seq, recorded.count, recorded.sum = seq, e.Count, sum
				return nil
			},
		}
		rep, err := f.g.ImportWith(ctx, clerk, bytes.NewReader(file), opt)
		if err != nil || rep.Added != 30 || handed != 1 {
			t.Fatalf("import: %+v %v, handed %d", rep, err, handed)
		}
		if recorded.seq != rep.AuditSeq || recorded.count == 0 || rep.ReportValues == 0 || recorded.count > rep.ReportValues {
			t.Errorf("recorded %+v, report %+v", recorded, rep)
		}
		kana, wareki := 0, 0
		for _, c := range rep.Normalised {
			switch {
			case c.Column == "family_name_kana" && c.How == resident.NormHalfWidthKana:
				kana = c.Values
			case c.Column == "date_of_birth" && c.How == resident.NormWareki:
				wareki = c.Values
			}
		}
		if kana == 0 || wareki == 0 || strings.Count(report.String(), "\n")-1 != rep.ReportValues {
			t.Errorf("counts %+v (%d values), report:\n%s", rep.Normalised, rep.Values, report.String())
		}
		for _, want := range recs {
			got, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: string(want.ResidentCode)})
			if err != nil || got.IdentityRecord != want {
				t.Errorf("stored %+v, %v; want %+v", got.IdentityRecord, err, want)
			}
		}
		// The entry says how many values were normalised, never a value.
		var e auditlog.Entry
		for _, l := range f.entries(t) {
			if l.Seq == rep.AuditSeq {
				e = *l.Entry
			}
		}
		if e.Action != "import" || !strings.Contains(e.Detail, ", normalised=") || strings.ContainsAny(e.Detail, "ﾀｶﾊｼﾅｺｻﾄｳｰ") {
			t.Errorf("entry detail %q", e.Detail)
		}
	})
}

// importModes runs fn twice: with imports held in memory, and streamed
// (every import, however small, read twice through a spool).
func importModes(t *testing.T, fn func(t *testing.T)) {
	for _, mode := range []struct {
		name  string
		bytes int64
	}{{"memory", StreamImportBytes}, {"stream", 0}} {
		t.Run(mode.name, func(t *testing.T) {
			saved := StreamImportBytes
			StreamImportBytes = mode.bytes
			defer func() { StreamImportBytes = saved }()
			fn(t)
		})
	}
}

// TestStreamedImportMatchesInMemory: the same files imported held in
// memory and streamed give the same report, the same refusals, the same
// register and the same audit entry (its detail, count and subjects).
func TestStreamedImportMatchesInMemory(t *testing.T) {
	ctx := context.Background()
	file, recs := legacyCSV(t, 90, 17)
	file = append([]byte("\uFEFF"), file...)
	// Out of code order, so the streamed chunks are sorted.
	lines := strings.SplitAfter(string(file), "\n")
	body := lines[1 : len(lines)-1]
	slices.Reverse(body)
	file = []byte(lines[0] + strings.Join(body, "") + lines[len(lines)-1])
	bad := bytes.Replace(file, []byte(","+string(recs[40].IndividualNumber)+","), []byte(","+string(recs[41].IndividualNumber)+","), 1)
	bad = bytes.Replace(bad, []byte(",131083,"), []byte(",131084,"), 1)

	type outcome struct {
		rep     ImportReport
		report  string
		refusal string
		entry   auditlog.Entry
		stored  []resident.IdentityRecord
	}
	got := map[string]map[bool]outcome{} // by dialect, then streamed
	for _, streamed := range []bool{false, true} {
		saved := StreamImportBytes
		if streamed {
			StreamImportBytes = 0
		}
		dbtest.Run(t, func(t *testing.T, d *db.DB) {
			f := newFixture(t, d)
			var o outcome
			_, err := f.g.Import(ctx, clerk, bytes.NewReader(bad), "")
			o.refusal = fmt.Sprint(err)
			var report bytes.Buffer
			opt := ImportOptions{Report: func(r io.Reader) error { _, err := io.Copy(&report, r); return err }}
			if o.rep, err = f.g.ImportWith(ctx, clerk, bytes.NewReader(file), opt); err != nil {
				t.Fatalf("import (streamed %v): %v", streamed, err)
			}
			o.report = report.String()
			for _, l := range f.entries(t) {
				if l.Seq == o.rep.AuditSeq {
					o.entry = *l.Entry
				}
			}
			for _, r := range recs {
				v, err := f.g.Lookup(ctx, clerk, Key{ResidentCode: string(r.ResidentCode)})
				if err != nil {
					t.Fatalf("lookup after the import (streamed %v): %v", streamed, err)
				}
				o.stored = append(o.stored, v.IdentityRecord)
			}
			if got[d.Dialect().String()] == nil {
				got[d.Dialect().String()] = map[bool]outcome{}
			}
			got[d.Dialect().String()][streamed] = o
		})
		StreamImportBytes = saved
	}
	for dialect, o := range got {
		mem, str := o[false], o[true]
		if mem.refusal != str.refusal || !strings.Contains(mem.refusal, "also on line") || !strings.Contains(mem.refusal, "local_gov_code") {
			t.Errorf("%s: refusals differ or are wrong:\nmemory %s\nstream %s", dialect, mem.refusal, str.refusal)
		}
		mem.rep.AuditSeq, str.rep.AuditSeq = 0, 0
		if fmt.Sprint(mem.rep) != fmt.Sprint(str.rep) || mem.rep.Added != 90 || mem.rep.ReportValues == 0 {
			t.Errorf("%s: reports differ:\nmemory %+v\nstream %+v", dialect, mem.rep, str.rep)
		}
		if mem.report != str.report || mem.report == "" {
			t.Errorf("%s: normalisation reports differ:\nmemory %s\nstream %s", dialect, mem.report, str.report)
		}
		if mem.entry.Detail != str.entry.Detail || mem.entry.SubjectDigest != str.entry.SubjectDigest || mem.entry.SubjectCount != 90 || str.entry.Count != 90 {
			t.Errorf("%s: entries differ:\nmemory %+v\nstream %+v", dialect, mem.entry, str.entry)
		}
		if !slices.Equal(mem.stored, str.stored) || !slices.Equal(mem.stored, recs) {
			t.Errorf("%s: the registers differ", dialect)
		}
	}
}

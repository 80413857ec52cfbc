package gate

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
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

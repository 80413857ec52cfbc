package auditlog

import (
	"context"
	"slices"
	"strings"
	"testing"

	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestPackedSubjectsAsStrings: an entry whose subjects are packed (an
// import's millions) is the same entry as with its codes as strings: the
// same payload, digest and subject rows, in batches across subjectBatch,
// whatever order the codes came in and with repeats; the log verifies, and
// codes that are not eleven digits are refused.
func TestPackedSubjectsAsStrings(t *testing.T) {
	for _, c := range []struct {
		code string
		ok   bool
	}{{"00000000019", true}, {"99999999999", true}, {"12345678901", true}, {"1234567890", false}, {"123456789012", false}, {"1234567890a", false}, {"", false}} {
		if v, ok := PackCode(c.code); ok != c.ok || (ok && string(appendCode(nil, v)) != c.code) {
			t.Errorf("PackCode(%q) = %d, %v", c.code, v, ok)
		}
	}
	if d, s := packedSubjectsDigest(nil); d != "" || s != nil {
		t.Errorf("no packed subjects: %q %v", d, s)
	}

	// More codes than one batch of rows, out of order, one given twice,
	// some with leading zeros.
	n := subjectBatch + 300
	packed := make([]uint64, 0, n+1)
	for i := n - 1; i >= 0; i-- {
		packed = append(packed, uint64(i)*7_654_321+19)
	}
	packed = append(packed, packed[5])
	strs := unpackCodes(packed)
	wantDigest, wantSorted := SubjectsDigest(slices.Clone(strs))
	if len(wantSorted) != n || !strings.HasPrefix(wantSorted[0], "0000000") {
		t.Fatalf("the test's codes: %d, first %q", len(wantSorted), wantSorted[0])
	}

	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s, v := newKey(t)
		l := openLog(t, d, s)
		ctx := context.Background()
		asStrings := entry(1)
		asStrings.Subjects, asStrings.Count = strs, n
		seqA, _, err := l.AppendBulk(ctx, asStrings, func(context.Context, *db.Tx, int64, *Entry) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		asPacked := entry(1)
		seqB, _, err := l.AppendBulk(ctx, asPacked, func(_ context.Context, _ *db.Tx, _ int64, e *Entry) error {
			e.Count, e.PackedSubjects = n, slices.Clone(packed)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		listed, err := List(ctx, d, Filter{After: seqA - 1, Limit: 2})
		if err != nil || len(listed) != 2 {
			t.Fatalf("list: %v %v", listed, err)
		}
		a, b := listed[0].Entry, listed[1].Entry
		if a.SubjectDigest != wantDigest || b.SubjectDigest != wantDigest || a.SubjectCount != n || b.SubjectCount != n {
			t.Errorf("digests %s %s (%d, %d subjects), want %s (%d)", a.SubjectDigest, b.SubjectDigest, a.SubjectCount, b.SubjectCount, wantDigest, n)
		}
		// Apart from its place and time, the packed entry encodes as the
		// other does.
		b.Seq, b.Time = a.Seq, a.Time
		ea, _ := a.Encode()
		eb, _ := b.Encode()
		if string(ea) != string(eb) {
			t.Errorf("payloads differ:\n%s\n%s", ea, eb)
		}
		for _, seq := range []int64{seqA, seqB} {
			rows, err := d.Query(ctx, `SELECT resident_code FROM audit_subject WHERE seq = ? ORDER BY resident_code`, seq)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var c string
				rows.Scan(&c)
				got = append(got, c)
			}
			rows.Close()
			if !slices.Equal(got, wantSorted) {
				t.Errorf("entry %d: %d subject rows, want %d", seq, len(got), len(wantSorted))
			}
		}
		if _, err := Verify(ctx, d, v); err != nil {
			t.Errorf("verify: %v", err)
		}
		// Not eleven digits, or both lists: refused, nothing stored.
		for name, fill := range map[string]func(*Entry){
			"too large": func(e *Entry) { e.PackedSubjects = []uint64{1, maxPackedCode + 1} },
			"both":      func(e *Entry) { e.Subjects, e.PackedSubjects = []string{"00000000019"}, []uint64{19} },
		} {
			_, workErr, err := l.AppendBulk(ctx, entry(2), func(_ context.Context, _ *db.Tx, _ int64, e *Entry) error {
				fill(e)
				return nil
			})
			if err == nil && workErr == nil {
				t.Errorf("%s: appended", name)
			}
		}
		var size int64
		d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_entry`).Scan(&size)
		if size != seqB+1 {
			t.Errorf("%d entries after the refusals, want %d", size, seqB+1)
		}
	})
}

package auditlog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"jukinet/internal/clocktest"
	"jukinet/internal/db/dbtest"
)

// fuzzLog is a small real log the proof fuzz targets check against: what
// it holds is the truth a proof accepted by the checker must tell.
type fuzzLog struct {
	v, wv       note.Verifier
	s           note.Signer
	cp          *Checkpoint
	contents    map[int64]string
	concerns    map[string][]int64 // resident → the entries concerning them
	inclusion   [][]byte           // Prove's text for every entry
	resident    [][]byte           // ProveResident's documents
	checkpoints [][]byte           // the signed checkpoint, and it cosigned
}

// newFuzzLog builds the log on SQLite: the checkers under fuzzing read text
// only, never a database; the database only writes the seeds.
func newFuzzLog(f *testing.F) *fuzzLog {
	ctx := context.Background()
	d := dbtest.OpenSQLite(f)
	s, v := newKey(f)
	ws, wv := newKey(f)
	l := openLog(f, d, s)
	fl := &fuzzLog{v: v, wv: wv, s: s, contents: map[int64]string{}, concerns: map[string][]int64{}}
	a, b := "10000000001", "10000000002"
	for i := range 9 {
		subjects := []string{b}
		if i%3 == 0 {
			subjects = append(subjects, a)
		}
		seq, err := l.Append(ctx, entry(i, subjects...))
		if err != nil {
			f.Fatal(err)
		}
		for _, c := range subjects {
			fl.concerns[c] = append(fl.concerns[c], seq)
		}
	}
	cp, err := l.Checkpoint(ctx)
	if err != nil {
		f.Fatal(err)
	}
	fl.cp = cp
	opened, err := note.Open(cp.Note, note.VerifierList(v))
	if err != nil {
		f.Fatal(err)
	}
	cosigned, err := note.Sign(opened, ws)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO audit_cosignature (size, witness, note, at) VALUES (?, ?, ?, ?)`, cp.Size, wv.Name(), string(cosigned), clocktest.New().Now().UTC()); err != nil {
		f.Fatal(err)
	}
	fl.checkpoints = [][]byte{cp.Note, cosigned}
	rows, err := d.Query(ctx, `SELECT seq, payload FROM audit_entry ORDER BY seq`)
	if err != nil {
		f.Fatal(err)
	}
	for rows.Next() {
		var seq int64
		var payload []byte
		if err := rows.Scan(&seq, &payload); err != nil {
			f.Fatal(err)
		}
		fl.contents[seq] = string(payload)
	}
	rows.Close()
	for n := range cp.Size {
		p, err := Prove(ctx, d, n)
		if err != nil {
			f.Fatal(err)
		}
		fl.inclusion = append(fl.inclusion, p)
	}
	for _, code := range []string{a, b, "19999999999"} {
		p, err := ProveResident(ctx, d, code)
		if err != nil {
			f.Fatal(err)
		}
		doc, err := json.Marshal(p)
		if err != nil {
			f.Fatal(err)
		}
		fl.resident = append(fl.resident, doc)
	}
	return fl
}

// FuzzOpenCheckpoint: only what the node signed opens, as what it says;
// anything else is refused with an error that says which kind of failure
// it is (not a checkpoint, or a signature that fails).
func FuzzOpenCheckpoint(f *testing.F) {
	fl := newFuzzLog(f)
	for _, c := range fl.checkpoints {
		f.Add(c)
	}
	f.Add([]byte("jukinet/test\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— jukinet-test AAAA\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		cp, err := OpenCheckpoint(b, fl.v)
		if err != nil {
			var unverified *note.UnverifiedNoteError
			var invalid *note.InvalidSignatureError
			if !errors.Is(err, ErrNotCheckpoint) && !errors.As(err, &unverified) && !errors.As(err, &invalid) {
				t.Fatalf("refused with an unclassified error: %v", err)
			}
			return
		}
		// The key signed one checkpoint: whatever opens is that one.
		if cp.Origin != fl.cp.Origin || cp.Size != fl.cp.Size || cp.Root != fl.cp.Root || cp.ResidentMap == nil || *cp.ResidentMap != *fl.cp.ResidentMap {
			t.Fatalf("opened %+v, the node signed %+v", cp, fl.cp)
		}
		if !bytes.Equal(cp.Note, b) {
			t.Fatalf("the checkpoint keeps a note other than the one opened")
		}
	})
}

// FuzzOpenCheckpointText: any text the node's key signs that opens as a
// checkpoint is in the canonical form (origin, size and root formatted as
// FormatCheckpoint writes them): a checkpoint has one spelling, so two
// notes for one tree cannot disagree on what they say.
func FuzzOpenCheckpointText(f *testing.F) {
	fl := newFuzzLog(f)
	opened, err := note.Open(fl.cp.Note, note.VerifierList(fl.v))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(opened.Text)
	f.Add("jukinet/test\n+3\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("jukinet/test\n03\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\njukinet/resident-map/v1 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Fuzz(func(t *testing.T, text string) {
		signed, err := note.Sign(&note.Note{Text: text}, fl.s)
		if err != nil {
			return // not a note's text at all
		}
		cp, err := OpenCheckpoint(signed, fl.v)
		if err != nil {
			if !errors.Is(err, ErrNotCheckpoint) {
				t.Fatalf("a text the key signed refused as %v", err)
			}
			return
		}
		want := FormatCheckpoint(cp.Origin, cp.Size, cp.Root)
		if !strings.HasPrefix(text, want) {
			t.Fatalf("opened %q as %q: not the canonical form", text, want)
		}
		if cp.ResidentMap != nil && !strings.Contains(text[len(want):], MapLine(*cp.ResidentMap)) {
			t.Fatalf("opened %q: the resident map line is not canonical", text)
		}
	})
}

// FuzzCheckProof: the checker accepts no proof of an entry other than as
// the log holds it: an accepted proof names an entry under the signed
// size, with its real leaf hash, and content that is the logged entry.
func FuzzCheckProof(f *testing.F) {
	fl := newFuzzLog(f)
	for _, p := range fl.inclusion {
		f.Add(p)
	}
	pruned := strings.Replace(string(fl.inclusion[2]), "content {", "content pruned\nx {", 1)
	f.Add([]byte(pruned))
	f.Fuzz(func(t *testing.T, text []byte) {
		res, err := CheckProof(text, fl.v)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if res.Checkpoint.Size != fl.cp.Size || res.Checkpoint.Root != fl.cp.Root {
			t.Fatalf("accepted against a checkpoint the node did not sign: %+v", res.Checkpoint)
		}
		if res.Entry < 0 || res.Entry >= fl.cp.Size {
			t.Fatalf("accepted a proof of entry %d outside the checkpoint's %d", res.Entry, fl.cp.Size)
		}
		if res.Content != nil {
			b, err := res.Content.Encode()
			if err != nil || string(b) != fl.contents[res.Entry] {
				t.Fatalf("accepted content %s for entry %d, the log holds %s", b, res.Entry, fl.contents[res.Entry])
			}
		}
	})
}

// FuzzCheckResidentProof: an accepted resident proof lists exactly the
// entries concerning the resident, in order, each as logged: none left
// out, none added, none changed.
func FuzzCheckResidentProof(f *testing.F) {
	fl := newFuzzLog(f)
	for _, doc := range fl.resident {
		f.Add(doc)
	}
	f.Add([]byte(`{"format":"x"}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		res, err := CheckResidentProof(doc, fl.v, fl.wv)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error")
			}
			return
		}
		if res.Checkpoint.Size != fl.cp.Size || res.Checkpoint.Root != fl.cp.Root {
			t.Fatalf("accepted against a checkpoint the node did not sign: %+v", res.Checkpoint)
		}
		var got []int64
		for _, e := range res.Entries {
			got = append(got, e.Seq)
			if e.Content != nil {
				b, err := e.Content.Encode()
				if err != nil || string(b) != fl.contents[e.Seq] {
					t.Fatalf("accepted content %s for entry %d, the log holds %s", b, e.Seq, fl.contents[e.Seq])
				}
			}
		}
		if want := fl.concerns[res.Resident]; !slices.Equal(got, want) {
			t.Fatalf("accepted entries %v for %q, the log has %v", got, res.Resident, want)
		}
	})
}

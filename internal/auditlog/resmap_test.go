package auditlog

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/clocktest"
	"jukinet/internal/db"
	"jukinet/internal/db/dbtest"
)

// TestMapProofs: in maps of 0 to 300 residents, every resident's path
// proves their value, a resident not in the map is proved absent, and
// every lie is refused: another value (a count one short, a chain without
// one entry), presence of an absent key, absence of a present one, a path
// cut short or with a sibling changed.
func TestMapProofs(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 17, 300} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			states := map[string]*ResidentState{}
			for i := range n {
				s := &ResidentState{}
				for j := range 1 + rng.IntN(4) {
					s.Add(int64(10*i+j), tlog.RecordHash(fmt.Appendf(nil, "%d/%d", i, j)))
				}
				states[fmt.Sprintf("R%05d", i)] = s
			}
			leaves := Leaves(states)
			root := MapRoot(leaves)
			for code, s := range states {
				key, value := ResidentKey(code), s.Value()
				p := ProveKey(leaves, key)
				if err := CheckKey(root, key, &value, p); err != nil {
					t.Fatalf("%s: %v", code, err)
				}
				short := MapValue(s.Entries-1, s.Chain)
				if CheckKey(root, key, &short, p) == nil {
					t.Errorf("%s: a count one short passes", code)
				}
				less := ResidentState{}
				less.Add(0, tlog.RecordHash([]byte("other")))
				if v := less.Value(); CheckKey(root, key, &v, p) == nil {
					t.Errorf("%s: another chain passes", code)
				}
				if CheckKey(root, key, nil, p) == nil {
					t.Errorf("%s: a present key passes as absent", code)
				}
				if len(p.Siblings) > 0 {
					cut := p
					cut.Siblings = p.Siblings[:len(p.Siblings)-1]
					if CheckKey(root, key, &value, cut) == nil {
						t.Errorf("%s: a path cut short passes", code)
					}
					changed := p
					changed.Siblings = append([]MapHash(nil), p.Siblings...)
					changed.Siblings[0][0] ^= 1
					if CheckKey(root, key, &value, changed) == nil {
						t.Errorf("%s: a changed sibling passes", code)
					}
				}
			}
			for i := range 20 {
				key := ResidentKey(fmt.Sprintf("absent%d", i))
				p := ProveKey(leaves, key)
				if err := CheckKey(root, key, nil, p); err != nil {
					t.Fatalf("absent %d: %v", i, err)
				}
				v := MapValue(1, MapHash{})
				if CheckKey(root, key, &v, p) == nil {
					t.Errorf("absent %d passes as present", i)
				}
			}
		})
	}
}

// TestResidentMapInCheckpoints: every checkpoint carries the root of the
// resident map over its tree, the map stored incrementally checkpoint after
// checkpoint equals the one rebuilt from the log's rows, and each
// resident's stored path proves their count and chain against it (absent
// residents absent), on both databases.
//
// It runs with the map taking its rows in batches of the default size and
// of 2 and 7 rows, so an advance takes many batches, a resident's rows
// split between them.
func TestResidentMapInCheckpoints(t *testing.T) {
	for _, batch := range []int{MapBatch, 2, 7} {
		t.Run(fmt.Sprintf("batch=%d", batch), func(t *testing.T) {
			saved := MapBatch
			MapBatch = batch
			defer func() { MapBatch = saved }()
			testResidentMapInCheckpoints(t)
		})
	}
}

func testResidentMapInCheckpoints(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		rng := rand.New(rand.NewPCG(3, 4))
		codes := make([]string, 40)
		for i := range codes {
			codes[i] = fmt.Sprintf("%011d", 10000000000+i*7919)
		}
		for round := range 5 {
			for i := range 30 {
				var subjects []string
				for range rng.IntN(4) { // a search concerns several, a sign-in none
					subjects = append(subjects, codes[rng.IntN(len(codes[:10+round*6]))])
				}
				if _, err := l.Append(ctx, entry(round*30+i, subjects...)); err != nil {
					t.Fatal(err)
				}
			}
			cp, err := l.Checkpoint(ctx)
			if err != nil {
				t.Fatal(err)
			}
			opened, err := OpenCheckpoint(cp.Note, v)
			if err != nil || opened.ResidentMap == nil || *opened.ResidentMap != *cp.ResidentMap {
				t.Fatalf("round %d: the signed checkpoint's map line: %+v %v", round, opened, err)
			}
			latest, err := LatestCheckpoint(ctx, d)
			if err != nil || latest.ResidentMap == nil || *latest.ResidentMap != *cp.ResidentMap {
				t.Fatalf("round %d: the stored checkpoint's map line: %+v %v", round, latest, err)
			}
			states, err := RebuildMap(ctx, d, cp.Size)
			if err != nil {
				t.Fatal(err)
			}
			if want := MapRoot(Leaves(states)); want != *cp.ResidentMap {
				t.Fatalf("round %d: stored map root %x, rebuilt %x", round, cp.ResidentMap[:4], want[:4])
			}
			// What verify computes, resident by resident, is the same root.
			if root, err := rebuiltMapRoot(ctx, d, cp.Size); err != nil || root != *cp.ResidentMap {
				t.Fatalf("round %d: stored map root %x, verify's %x (%v)", round, cp.ResidentMap[:4], root[:4], err)
			}
			for _, code := range codes {
				st, p, size, err := StoredResident(ctx, d, code)
				if err != nil || size != cp.Size {
					t.Fatalf("%s: size %d (checkpoint %d), %v", code, size, cp.Size, err)
				}
				key := ResidentKey(code)
				want := states[code]
				if want == nil {
					if st.Entries != 0 {
						t.Errorf("round %d %s: %d entries stored, none in the log", round, code, st.Entries)
					}
					if err := CheckKey(*cp.ResidentMap, key, nil, p); err != nil {
						t.Errorf("round %d %s absent: %v", round, code, err)
					}
					continue
				}
				if st != *want {
					t.Errorf("round %d %s: stored %+v, rebuilt %+v", round, code, st, *want)
				}
				value := st.Value()
				if err := CheckKey(*cp.ResidentMap, key, &value, p); err != nil {
					t.Errorf("round %d %s: %v", round, code, err)
				}
			}
		}
		// A checkpoint of the same tree changes nothing.
		again, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if size, _ := l.Size(ctx); again.Size != size {
			t.Errorf("checkpoint again: size %d", again.Size)
		}
	})
}

// TestVerifyChecksTheMap: audit verify rebuilds the resident map and finds
// a signed checkpoint whose map root leaves a resident's entry out.
func TestVerifyChecksTheMap(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		for i := range 10 {
			if _, err := l.Append(ctx, entry(i, fmt.Sprintf("%011d", 10000000000+i%3))); err != nil {
				t.Fatal(err)
			}
		}
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(ctx, d, v)
		if err != nil || rep.MapChecked != cp.Size {
			t.Fatalf("intact: %+v %v", rep, err)
		}
		// The same tree, signed with the map of its first 9 entries: the
		// tenth entry's resident would be told of one entry less.
		states, err := RebuildMap(ctx, d, cp.Size-1)
		if err != nil {
			t.Fatal(err)
		}
		false9 := mustSign(t, s, FormatCheckpoint("jukinet/test", cp.Size, cp.Root)+MapLine(MapRoot(Leaves(states))))
		if _, err := Verify(ctx, d, v, false9); err == nil || !strings.Contains(err.Error(), "resident map signed at size 10") {
			t.Errorf("a checkpoint with a false map: %v", err)
		}
	})
}

// TestResidentProof: a resident's proof lists exactly the entries that
// concern them and checks offline with the node's key and the witness's;
// an entry left out, one added from another resident, entries reordered,
// a content changed, an empty list for a resident with entries, another
// node's key or a witness that did not cosign are each refused. A resident
// no entry concerns gets a proof of that.
func TestResidentProof(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		l := openLog(t, d, s)
		a, b := "10000000001", "10000000002"
		for i := range 12 {
			subjects := []string{b}
			if i%3 == 0 {
				subjects = append(subjects, a)
			}
			if _, err := l.Append(ctx, entry(i, subjects...)); err != nil {
				t.Fatal(err)
			}
		}
		cp, err := l.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		ws, wv := newKey(t)
		opened, err := note.Open(cp.Note, note.VerifierList(v))
		if err != nil {
			t.Fatal(err)
		}
		cosigned, err := note.Sign(opened, ws)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO audit_cosignature (size, witness, note, at) VALUES (?, ?, ?, ?)`, cp.Size, wv.Name(), string(cosigned), clocktest.New().Now().UTC()); err != nil {
			t.Fatal(err)
		}

		proofOf := func(code string) (*ResidentProof, []byte) {
			t.Helper()
			p, err := ProveResident(ctx, d, code)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			return p, doc
		}
		p, doc := proofOf(a)
		res, err := CheckResidentProof(doc, v, wv)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != 4 || res.Entries[1].Seq != 3 || res.Entries[1].Content == nil || res.Entries[1].Content.Action != "lookup" ||
			len(res.Witnesses) != 1 || res.Checkpoint.Size != 12 {
			t.Errorf("resident %s: %+v", a, res)
		}
		if _, doc := proofOf("19999999999"); func() error { _, err := CheckResidentProof(doc, v, wv); return err }() != nil {
			t.Errorf("a resident no entry concerns: %v", err)
		}

		_, other := proofOf(b)
		var pb ResidentProof
		json.Unmarshal(other, &pb)
		for _, c := range []struct {
			name   string
			change func(p *ResidentProof)
			want   string
		}{
			{"an entry left out", func(p *ResidentProof) { p.Entries = append(p.Entries[:1], p.Entries[2:]...) }, "not all the entries"},
			{"the last entry left out", func(p *ResidentProof) { p.Entries = p.Entries[:len(p.Entries)-1] }, "not all the entries"},
			{"none listed", func(p *ResidentProof) { p.Entries = nil }, "not all the entries"},
			{"another resident's entry added", func(p *ResidentProof) { p.Entries = append(p.Entries, pb.Entries[len(pb.Entries)-1]) }, "not all the entries"},
			{"entries reordered", func(p *ResidentProof) { p.Entries[0], p.Entries[1] = p.Entries[1], p.Entries[0] }, "order of the log"},
			{"a content changed", func(p *ResidentProof) {
				p.Entries[2].Content = strings.Replace(p.Entries[2].Content, "lookup", "search", 1)
			}, "does not match its leaf"},
			{"a proof hash changed", func(p *ResidentProof) { p.Entries[2].Proof[0][0] ^= 1 }, "not in the tree"},
			{"a content blanked", func(p *ResidentProof) { p.Entries[1].Content = "" }, "content is missing"},
			{"a map sibling changed", func(p *ResidentProof) { p.Map.Siblings[0][0] ^= 1 }, "not all the entries"},
			{"another resident named", func(p *ResidentProof) { p.Resident = b }, "not all the entries"},
		} {
			var q ResidentProof
			if err := json.Unmarshal(doc, &q); err != nil {
				t.Fatal(err)
			}
			c.change(&q)
			bad, _ := json.Marshal(q)
			if _, err := CheckResidentProof(bad, v, wv); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
		}
		// The log itself changed after the checkpoint: one of the resident's
		// entries rewritten with its leaf hash recomputed. The proof written
		// from it no longer reaches the signed root.
		var payload []byte
		seq := p.Entries[1].Seq
		if err := d.QueryRow(ctx, `SELECT payload FROM audit_entry WHERE seq = ?`, seq).Scan(&payload); err != nil {
			t.Fatal(err)
		}
		changed := []byte(strings.Replace(string(payload), "lookup", "search", 1))
		leaf := tlog.RecordHash(changed)
		if _, err := d.Exec(ctx, `UPDATE audit_entry SET payload = ?, leaf_hash = ? WHERE seq = ?`, changed, leaf[:], seq); err != nil {
			t.Fatal(err)
		}
		if _, tampered := proofOf(a); func() error { _, err := CheckResidentProof(tampered, v, wv); return err }() == nil {
			t.Error("a proof written from a tampered log passes")
		}
		_, v2 := newKey(t)
		if _, err := CheckResidentProof(doc, v2); err == nil {
			t.Error("another node's key passes")
		}
		if _, err := CheckResidentProof(doc, v, v2); err == nil || !strings.Contains(err.Error(), "not cosigned") {
			t.Errorf("a witness that did not cosign: %v", err)
		}
		_ = p
	})
}

// TestTwoProcessesSignTheMap: two logs on one database (the server and a
// console command) append and sign checkpoints at the same time; the
// resident map each signs stays the one the entries give, so the log
// verifies with the map checked at its last checkpoint, on both databases.
func TestTwoProcessesSignTheMap(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s, v := newKey(t)
		a, b := openLog(t, d, s), openLog(t, d, s)
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for w, l := range []*Log{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 40 {
					if _, err := l.Append(ctx, entry(i, fmt.Sprintf("%011d", 10000000000+(w*7+i)%13))); err != nil {
						errs <- err
						return
					}
					if i%5 == 4 {
						if _, err := l.Checkpoint(ctx); err != nil {
							errs <- err
							return
						}
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		a.Close()
		b.Close()
		rep, err := Verify(ctx, d, v)
		if err != nil || rep.Entries != 80 || rep.MapChecked == 0 {
			t.Fatalf("verify: %+v %v", rep, err)
		}
	})
}

package tilelog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// entryData is record seq's data in the tests: deterministic, of varying length.
func entryData(seq int64) []byte {
	n := 40 + int(seq*37%600)
	b := make([]byte, 0, n)
	b = fmt.Appendf(b, "entry %d:", seq)
	for len(b) < n {
		b = append(b, byte('a'+(seq+int64(len(b)))%26))
	}
	return b
}

// memTree is an independent in-memory tlog tree over entryData records.
type memTree struct {
	hashes []tlog.Hash
	n      int64 // records hashed
}

func (m *memTree) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("memTree: hash %d missing", idx)
		}
		out[i] = m.hashes[idx]
	}
	return out, nil
}

// root returns the tree hash of records entryData(0..n-1).
func (m *memTree) root(t *testing.T, n int64) tlog.Hash {
	t.Helper()
	for ; m.n < n; m.n++ {
		hs, err := tlog.StoredHashes(m.n, entryData(m.n), m)
		if err != nil {
			t.Fatal(err)
		}
		m.hashes = append(m.hashes, hs...)
	}
	h, err := tlog.TreeHash(n, m)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func build(seq int64) ([]byte, error) { return entryData(seq), nil }

func mustOpen(t *testing.T, dir string, opt Options) *Journal {
	t.Helper()
	j, err := Open(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func mustClose(t *testing.T, j *Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func appendN(t *testing.T, j *Journal, n int) {
	t.Helper()
	for range n {
		want := j.Size()
		seq, err := j.Append(context.Background(), build)
		if err != nil {
			t.Fatal(err)
		}
		if seq != want {
			t.Fatalf("Append gave seq %d, want %d", seq, want)
		}
	}
}

// checkAll checks that the journal holds exactly entryData(0..n-1) from
// seq from on, read one by one and by Scan, and that its tree hash is the
// independently computed one.
func checkAll(t *testing.T, j *Journal, tree *memTree, from, n int64) {
	t.Helper()
	if got := j.Size(); got != n {
		t.Fatalf("Size = %d, want %d", got, n)
	}
	for seq := from; seq < n; seq++ {
		got, err := j.ReadEntry(seq)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, entryData(seq)) {
			t.Fatalf("record %d = %q, want %q", seq, got, entryData(seq))
		}
	}
	next := from
	err := j.Scan(from, func(seq int64, data []byte) error {
		if seq != next || !bytes.Equal(data, entryData(seq)) {
			return fmt.Errorf("scan: record %d (want %d) = %q", seq, next, data)
		}
		next++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if next != n {
		t.Fatalf("Scan stopped at %d, want %d", next, n)
	}
	for _, size := range []int64{n / 3, n - 1, n} {
		if size < 0 {
			continue
		}
		got, err := j.TreeHash(size)
		if err != nil {
			t.Fatal(err)
		}
		if want := tree.root(t, size); got != want {
			t.Fatalf("TreeHash(%d) = %v, want %v", size, got, want)
		}
	}
}

var smallSegments = Options{SegmentSize: minSegmentSize}

func TestAppendTreeHashAndReopen(t *testing.T) {
	for _, opt := range []Options{
		{},
		{SegmentSize: minSegmentSize, Prealloc: PreallocNone, Sync: SyncFsync},
		{SegmentSize: minSegmentSize, Prealloc: PreallocZero, Sync: SyncODSync},
	} {
		t.Run(fmt.Sprintf("%v-%v-%d", opt.Prealloc, opt.Sync, opt.SegmentSize), func(t *testing.T) {
			dir := t.TempDir()
			tree := &memTree{}
			j := mustOpen(t, dir, opt)
			checkAll(t, j, tree, 0, 0)
			appendN(t, j, 700)
			checkAll(t, j, tree, 0, 700)

			// Tiles read from the journal equal tiles read from the independent tree.
			tree.root(t, 700)
			for _, tile := range tlog.NewTiles(2, 0, 700) {
				got, err := j.ReadTileData(tile)
				if err != nil {
					t.Fatal(err)
				}
				want, err := tlog.ReadTileData(tile, tree)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("tile %s differs", tile.Path())
				}
			}
			mustClose(t, j)
			if _, err := j.AppendBytes(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
				t.Fatalf("Append after Close: %v, want ErrClosed", err)
			}

			j = mustOpen(t, dir, opt)
			checkAll(t, j, tree, 0, 700)
			appendN(t, j, 300)
			checkAll(t, j, tree, 0, 1000)
			mustClose(t, j)
		})
	}
}

func TestConcurrentAppendsGapFree(t *testing.T) {
	dir := t.TempDir()
	j := mustOpen(t, dir, smallSegments)
	const workers, each = 64, 40
	var mu sync.Mutex
	var seqs []int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				// Every fifth build of some workers fails: it must consume no seq.
				fail := w%3 == 0 && i%5 == 0
				seq, err := j.Append(context.Background(), func(seq int64) ([]byte, error) {
					if fail {
						return nil, errors.New("refused")
					}
					return entryData(seq), nil
				})
				if fail {
					if err == nil {
						t.Errorf("failing build: Append gave seq %d", seq)
					}
					continue
				}
				if err != nil {
					t.Error(err)
					return
				}
				// Acknowledged means readable now.
				if got, err := j.ReadEntry(seq); err != nil || !bytes.Equal(got, entryData(seq)) {
					t.Errorf("acknowledged record %d: %q, %v", seq, got, err)
				}
				mu.Lock()
				seqs = append(seqs, seq)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(seqs)
	for i, s := range seqs {
		if s != int64(i) {
			t.Fatalf("seqs not gap-free: position %d holds %d", i, s)
		}
	}
	n := int64(len(seqs))
	if st := j.Stats(); st.Records != n || st.Groups < 1 || st.Groups > n {
		t.Fatalf("Stats = %+v for %d records", st, n)
	}
	if len(j.segs) < 2 {
		t.Fatalf("%d segments: the test should cross a segment boundary", len(j.segs))
	}
	tree := &memTree{}
	checkAll(t, j, tree, 0, n)
	mustClose(t, j)
	j = mustOpen(t, dir, smallSegments)
	defer mustClose(t, j)
	checkAll(t, j, tree, 0, n)
}

func TestBuildErrorAndCancelConsumeNoSeq(t *testing.T) {
	j := mustOpen(t, t.TempDir(), Options{})
	defer mustClose(t, j)
	ctx := context.Background()
	appendN(t, j, 3)
	if _, err := j.Append(ctx, func(int64) ([]byte, error) { return nil, errors.New("no") }); err == nil {
		t.Fatal("failing build: no error")
	}
	if _, err := j.Append(ctx, func(int64) ([]byte, error) { return make([]byte, MaxRecordSize+1), nil }); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized record: %v, want ErrTooLarge", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := j.Append(cancelled, build); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ctx: %v", err)
	}

	// Cancelled while queued behind a build that holds the writer.
	hold, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := j.Append(ctx, func(seq int64) ([]byte, error) {
			close(hold)
			<-release
			return entryData(seq), nil
		})
		held <- err
	}()
	<-hold
	qctx, qcancel := context.WithCancel(ctx)
	queued := make(chan error, 1)
	go func() {
		_, err := j.Append(qctx, func(int64) ([]byte, error) {
			return nil, errors.New("build of a cancelled append ran")
		})
		queued <- err
	}()
	qcancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("queued then cancelled: %v", err)
	}
	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	appendN(t, j, 2) // appendN checks each seq is the next one
	checkAll(t, j, &memTree{}, 0, 6)
}

// copyDir copies the journal folder src into a new temporary folder.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// lastSegment returns the path of dir's last segment.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	if err != nil || len(m) == 0 {
		t.Fatalf("no segments in %s: %v", dir, err)
	}
	slices.Sort(m)
	return m[len(m)-1]
}

// lastFirst returns the first seq of dir's last segment.
func lastFirst(t *testing.T, dir string) int64 {
	t.Helper()
	var first int64
	if _, err := fmt.Sscanf(filepath.Base(lastSegment(t, dir)), "seg-%d.log", &first); err != nil {
		t.Fatal(err)
	}
	return first
}

// recordSpan returns where record seq starts and ends in its segment.
func recordSpan(t *testing.T, dir string, seq int64) (int64, int64) {
	t.Helper()
	j := mustOpen(t, dir, Options{SegmentSize: minSegmentSize})
	defer mustClose(t, j)
	var start, end int64 = -1, -1
	err := j.scan(seq, seq+1, true, func(_, off int64, data []byte) error {
		start, end = off, off+recordSize(len(data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return start, end
}

func patchFile(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestTornTailAtEveryByte(t *testing.T) {
	const n = 18 // record 17 is short (69 bytes): fewer cuts, each with its syncs
	for _, pre := range []Prealloc{PreallocNone, PreallocFallocate} {
		t.Run(pre.String(), func(t *testing.T) {
			opt := Options{SegmentSize: minSegmentSize, Prealloc: pre}
			base := t.TempDir()
			j := mustOpen(t, base, opt)
			appendN(t, j, n)
			mustClose(t, j)
			start, end := recordSpan(t, base, n-1)
			if pre != PreallocNone {
				end = start + recordHeaderSize + int64(len(entryData(n-1))) // the padding is zeros already
			}
			tree := &memTree{}
			for cut := start; cut < end; cut++ {
				dir := copyDir(t, base)
				seg := lastSegment(t, dir)
				if pre == PreallocNone {
					if err := os.Truncate(seg, cut); err != nil {
						t.Fatal(err)
					}
				} else {
					patchFile(t, seg, cut, make([]byte, end-cut))
				}
				j, rec, err := OpenRecover(dir, opt)
				if err != nil {
					t.Fatalf("cut at %d: %v", cut, err)
				}
				checkAll(t, j, tree, 0, n-1)
				if cut > start && rec.TornBytes == 0 && pre != PreallocNone {
					t.Fatalf("cut at %d: TornBytes = 0", cut)
				}
				if (cut-start)%16 != 0 { // appending after recovery takes syncs: every 16th cut
					mustClose(t, j)
					os.RemoveAll(dir)
					continue
				}
				appendN(t, j, 2)
				mustClose(t, j)
				j = mustOpen(t, dir, opt)
				checkAll(t, j, tree, 0, n+1)
				mustClose(t, j)
				os.RemoveAll(dir)
			}
		})
	}
}

// writeRawGroup writes records seqs first.. as group g at off in path, with
// the record at index broken (zeroed) when broken >= 0, and returns the
// offset after them.
func writeRawGroup(t *testing.T, path string, off, first int64, g uint32, count, broken int) int64 {
	t.Helper()
	var b []byte
	for i := range count {
		at := len(b)
		b = appendRecord(b, first+int64(i), g, i, count, entryData(first+int64(i)))
		if i == broken {
			clear(b[at:])
		}
	}
	patchFile(t, path, off, b)
	return off + int64(len(b))
}

func TestTornGroupAndDamageBeforeLaterGroup(t *testing.T) {
	const n = 10
	opt := Options{SegmentSize: minSegmentSize}
	base := t.TempDir()
	j := mustOpen(t, base, opt)
	appendN(t, j, n)
	mustClose(t, j)
	_, end := recordSpan(t, base, n-1)
	tree := &memTree{}

	// n sequential appends made groups 0..n-1. A group of four whose first
	// record never reached the disk, its others did, and the next group
	// (also in flight) whole: torn groups, dropped.
	dir := copyDir(t, base)
	seg := lastSegment(t, dir)
	next := writeRawGroup(t, seg, end, n, n, 4, 0)
	writeRawGroup(t, seg, next, n+4, n+1, 1, -1)
	j, rec, err := OpenRecover(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TornBytes == 0 {
		t.Fatal("TornBytes = 0 after a torn group")
	}
	checkAll(t, j, tree, 0, n)
	appendN(t, j, 1) // seq n, shorter than the torn group: its rest must not come back
	mustClose(t, j)
	j = mustOpen(t, dir, opt)
	checkAll(t, j, tree, 0, n+1)
	mustClose(t, j)

	// A group of two, its second record damaged, then maxInFlight more
	// groups: the last of them was written after the damaged group's sync,
	// so the damaged record had been acknowledged.
	dir = copyDir(t, base)
	seg = lastSegment(t, dir)
	next = writeRawGroup(t, seg, end, n, n, 2, 1)
	for i := range maxInFlight {
		next = writeRawGroup(t, seg, next, n+2+int64(i), n+1+uint32(i), 1, -1)
	}
	if _, err := Open(dir, opt); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("record %d ", n+1)) {
		t.Fatalf("damage before a later group: Open error %v, want one naming record %d", err, n+1)
	}
}

func TestFlippedByteMidSegment(t *testing.T) {
	const n = 200
	for _, pre := range []Prealloc{PreallocNone, PreallocFallocate} {
		t.Run(pre.String(), func(t *testing.T) {
			opt := Options{Prealloc: pre}
			dir := t.TempDir()
			j := mustOpen(t, dir, opt)
			appendN(t, j, n)
			mustClose(t, j)
			for _, at := range []struct {
				name string
				off  int64
			}{{"header", 9}, {"data", recordHeaderSize + 17}} {
				start, _ := recordSpan(t, dir, n/2)
				seg := lastSegment(t, dir)
				b, err := os.ReadFile(seg)
				if err != nil {
					t.Fatal(err)
				}
				b[start+at.off] ^= 0x10
				if err := os.WriteFile(seg, b, 0o600); err != nil {
					t.Fatal(err)
				}
				_, err = Open(dir, opt)
				if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("record %d ", n/2)) || !strings.Contains(err.Error(), filepath.Base(seg)) {
					t.Fatalf("flipped %s byte: Open error %v, want one naming record %d and %s", at.name, err, n/2, filepath.Base(seg))
				}
				b[start+at.off] ^= 0x10
				if err := os.WriteFile(seg, b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestGarbageTail(t *testing.T) {
	const n = 30
	opt := Options{SegmentSize: minSegmentSize}
	dir := t.TempDir()
	j := mustOpen(t, dir, opt)
	appendN(t, j, n)
	mustClose(t, j)
	_, end := recordSpan(t, dir, n-1)
	garbage := make([]byte, 3000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	patchFile(t, lastSegment(t, dir), end, garbage)
	j, rec, err := OpenRecover(dir, opt)
	if err != nil {
		t.Fatal(err)
	}
	if rec.TornBytes < int64(len(garbage))-8 {
		t.Fatalf("TornBytes = %d, want about %d", rec.TornBytes, len(garbage))
	}
	tree := &memTree{}
	checkAll(t, j, tree, 0, n)
	appendN(t, j, 1)
	mustClose(t, j)
	j = mustOpen(t, dir, opt)
	defer mustClose(t, j)
	checkAll(t, j, tree, 0, n+1)
}

func TestHashAndOffsetFilesRebuilt(t *testing.T) {
	const n = 900 // several small segments
	base := t.TempDir()
	j := mustOpen(t, base, smallSegments)
	appendN(t, j, n)
	if len(j.segs) < 3 {
		t.Fatalf("%d segments, want several", len(j.segs))
	}
	mustClose(t, j)
	tree := &memTree{}
	for _, tc := range []struct {
		name string
		do   func(dir string) error
	}{
		{"hashes deleted", func(dir string) error { return os.Remove(filepath.Join(dir, hashFileName)) }},
		{"offsets deleted", func(dir string) error { return os.Remove(filepath.Join(dir, offsetsFileName)) }},
		{"both deleted", func(dir string) error {
			return errors.Join(os.Remove(filepath.Join(dir, hashFileName)), os.Remove(filepath.Join(dir, offsetsFileName)))
		}},
		{"hashes truncated mid-hash", func(dir string) error { return os.Truncate(filepath.Join(dir, hashFileName), 32*333+5) }},
		{"offsets truncated", func(dir string) error { return os.Truncate(filepath.Join(dir, offsetsFileName), 8*100+3) }},
		{"last segment's hashes and offsets zeroed (written, never synced)", func(dir string) error {
			// Only the last segment's are not durable; roll syncs the rest.
			first := lastFirst(t, dir)
			for _, f := range []struct {
				name string
				off  int64
			}{{hashFileName, tlog.StoredHashIndex(0, first) * 32}, {offsetsFileName, first * 8}} {
				st, err := os.Stat(filepath.Join(dir, f.name))
				if err != nil {
					return err
				}
				patchFile(t, filepath.Join(dir, f.name), f.off, make([]byte, st.Size()-f.off))
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, base)
			if err := tc.do(dir); err != nil {
				t.Fatal(err)
			}
			j := mustOpen(t, dir, smallSegments)
			checkAll(t, j, tree, 0, n)
			mustClose(t, j)
		})
	}
}

func TestDropBefore(t *testing.T) {
	const n = 900
	dir := t.TempDir()
	j := mustOpen(t, dir, smallSegments)
	appendN(t, j, n)
	first2 := j.segs[2].first
	dropped, err := j.DropBefore(first2 + 1)
	if err != nil || dropped != 2 {
		t.Fatalf("DropBefore = %d, %v; want 2 segments", dropped, err)
	}
	if _, err := j.ReadEntry(first2 - 1); !errors.Is(err, ErrDropped) {
		t.Fatalf("ReadEntry of a dropped record: %v", err)
	}
	if err := j.Scan(0, func(int64, []byte) error { return nil }); !errors.Is(err, ErrDropped) {
		t.Fatalf("Scan from a dropped record: %v", err)
	}
	tree := &memTree{}
	checkAll(t, j, tree, first2, n)
	if _, err := j.DropBefore(n + 100); err != nil {
		t.Fatal(err)
	}
	if len(j.segs) != 1 {
		t.Fatalf("%d segments left, want the last one", len(j.segs))
	}
	mustClose(t, j)
	j = mustOpen(t, dir, smallSegments)
	checkAll(t, j, tree, j.segs[0].first, n)
	appendN(t, j, 5)
	checkAll(t, j, tree, j.segs[0].first, n+5)
	// The hash file below the kept segments cannot be rebuilt any more.
	mustClose(t, j)
	if err := os.Remove(filepath.Join(dir, hashFileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir, smallSegments); err == nil || !strings.Contains(err.Error(), "dropped") {
		t.Fatalf("hash file lost after drop: Open error %v", err)
	}
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(appendRecord(nil, 7, 7, 0, 1, []byte("hello")))
	f.Add(appendRecord(nil, 1<<40, 9, 2, 3, nil))
	f.Add(make([]byte, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(b)
		if err != nil {
			return
		}
		if r.size > int64(len(b)) {
			t.Fatalf("size %d beyond input %d", r.size, len(b))
		}
		again := appendRecord(nil, r.seq, r.group, r.index, r.count, r.data)
		if !bytes.Equal(again[:recordHeaderSize+len(r.data)], b[:recordHeaderSize+len(r.data)]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

func TestVerify(t *testing.T) {
	const n = 900
	dir := t.TempDir()
	j := mustOpen(t, dir, smallSegments)
	appendN(t, j, n)
	tree := &memTree{}
	got, err := j.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if want := tree.root(t, n); got != want {
		t.Fatalf("Verify = %v, want %v", got, want)
	}
	// A stored hash changed in the hash file is found.
	idx := tlog.StoredHashIndex(0, 401) + 1 // the level-1 hash ending at record 401
	patchFile(t, filepath.Join(dir, hashFileName), idx*32, []byte{0xff})
	if _, err := j.Verify(); err == nil || !strings.Contains(err.Error(), "record 401: stored hash") {
		t.Fatalf("Verify with a changed stored hash: %v", err)
	}
	// A record changed in place (checksum recomputed: a deliberate edit) is found.
	mustClose(t, j)
	dir2 := copyDir(t, dir)
	j = mustOpen(t, dir2, smallSegments)
	defer mustClose(t, j)
	if _, err := j.Verify(); err == nil {
		t.Fatal("Verify of a copy with the changed hash passed")
	}
	j.mu.RLock()
	seg := j.segs[0]
	j.mu.RUnlock()
	var start int64
	if err := j.scan(3, 4, true, func(_, off int64, _ []byte) error { start = off; return nil }); err != nil {
		t.Fatal(err)
	}
	var b []byte
	b = appendRecord(b, 3, 3, 0, 1, bytes.ToUpper(entryData(3)))
	patchFile(t, seg.path, start, b)
	if _, err := j.Verify(); err == nil || !strings.Contains(err.Error(), "record 3:") {
		t.Fatalf("Verify with an edited record: %v", err)
	}
	// Dropped segments: Verify checks the kept ones.
	j2 := mustOpen(t, t.TempDir(), smallSegments)
	defer mustClose(t, j2)
	appendN(t, j2, n)
	if _, err := j2.DropBefore(n / 2); err != nil {
		t.Fatal(err)
	}
	if got, err := j2.Verify(); err != nil || got != tree.root(t, n) {
		t.Fatalf("Verify after DropBefore = %v, %v", got, err)
	}
}

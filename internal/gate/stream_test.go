package gate

import (
	"maps"
	"runtime/debug"
	"slices"
	"testing"
)

// TestUintBlocksAcrossBlocks: the streamed import's list of codes grows a
// block at a time; flattened, it holds every value in order, and a value
// given in two blocks is found repeated.
func TestUintBlocksAcrossBlocks(t *testing.T) {
	var b uintBlocks
	n := 2*uintBlock + 7
	for i := 0; i < n; i++ {
		b.add(uint64(i))
	}
	b.add(3)             // in the third block, first given in the first
	b.add(uint64(n - 1)) // given twice in the third block
	if len(b.blocks) != 3 || b.len() != n+2 {
		t.Fatalf("%d blocks, %d values; want 3 blocks, %d values", len(b.blocks), b.len(), n+2)
	}
	flat := b.flatten()
	if len(flat) != n+2 || flat[0] != 0 || flat[uintBlock] != uintBlock || flat[n-1] != uint64(n-1) || flat[n] != 3 {
		t.Fatalf("flattened out of order: len %d", len(flat))
	}
	if b.blocks != nil || b.len() != 0 {
		t.Errorf("flatten kept its blocks")
	}
	got := slices.Sorted(maps.Keys(repeated(flat)))
	if want := []uint64{3, uint64(n - 1)}; !slices.Equal(got, want) {
		t.Errorf("repeated = %v, want %v", got, want)
	}
}

// TestStreamedImportLimitsGoMemory: a streamed import lowers Go's soft
// memory limit while it runs and gives the previous one back, unless the
// process set its own (GOMEMLIMIT).
func TestStreamedImportLimitsGoMemory(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	t.Setenv("GOMEMLIMIT", "")
	restore := limitGoMemory()
	if got := debug.SetMemoryLimit(-1); got != streamGoMemory {
		t.Errorf("during the import: limit %d, want %d", got, streamGoMemory)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after the import: limit %d, want %d as before", got, before)
	}
	// Two imports that overlap, the first ending first: the limit stays
	// low until the second ends, then is given back.
	first, second := limitGoMemory(), limitGoMemory()
	first()
	first() // twice: counted once
	if got := debug.SetMemoryLimit(-1); got != streamGoMemory {
		t.Errorf("while the second import runs: limit %d, want %d", got, streamGoMemory)
	}
	second()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("after both imports: limit %d, want %d as before", got, before)
	}
	t.Setenv("GOMEMLIMIT", "3GiB")
	limitGoMemory()()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("with GOMEMLIMIT set: limit %d, want %d untouched", got, before)
	}
}

package journal

import (
	"bytes"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
)

// Verify reads every kept record in order, recomputes the tree from them and
// checks each stored hash in the hash file against it. It returns the tree
// hash of the first Size records (as at the call). When DropBefore deleted
// segments, the tree's right edge where the kept records start is taken from
// the hash file, which is then trusted below it.
func (j *Journal) Verify() (tlog.Hash, error) {
	size := j.Size()
	j.mu.RLock()
	if len(j.segs) == 0 {
		j.mu.RUnlock()
		return tlog.Hash{}, ErrClosed
	}
	from := min(j.segs[0].first, size)
	j.mu.RUnlock()

	var edge [64]frontierHash
	for level := 0; level < 63 && from>>level > 0; level++ {
		pos := from>>level - 1
		hs, err := j.ReadHashes([]int64{tlog.StoredHashIndex(level, pos)})
		if err != nil {
			return tlog.Hash{}, fmt.Errorf("verify journal: %w", err)
		}
		edge[level] = frontierHash{ok: true, pos: pos, hash: hs[0]}
	}
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			level, pos := tlog.SplitStoredHashIndex(idx)
			if f := edge[level]; !f.ok || f.pos != pos {
				return nil, fmt.Errorf("stored hash %d is not on the right edge", idx)
			}
			out[i] = edge[level].hash
		}
		return out, nil
	})

	// The stored hashes of consecutive records are consecutive in the hash
	// file: read it alongside in large chunks.
	var stored []byte
	storedAt := tlog.StoredHashIndex(0, from) // index of stored[0]
	limit := tlog.StoredHashCount(size)
	err := j.scan(from, size, true, func(seq, _ int64, data []byte) error {
		hs, err := tlog.StoredHashes(seq, data, reader)
		if err != nil {
			return err
		}
		idx := tlog.StoredHashIndex(0, seq)
		for level, h := range hs {
			edge[level] = frontierHash{ok: true, pos: seq >> level, hash: h}
			i := idx + int64(level)
			if i-storedAt >= int64(len(stored))/tlog.HashSize {
				storedAt += int64(len(stored)) / tlog.HashSize
				n := min(int64(32<<10), limit-storedAt)
				stored = make([]byte, n*tlog.HashSize)
				if _, err := j.hashes.ReadAt(stored, storedAt*tlog.HashSize); err != nil {
					return fmt.Errorf("read stored hashes from %d: %w", storedAt, err)
				}
			}
			at := (i - storedAt) * tlog.HashSize
			if !bytes.Equal(stored[at:at+tlog.HashSize], h[:]) {
				return fmt.Errorf("record %d: stored hash %d (level %d) differs from the one its data gives", seq, i, level)
			}
		}
		return nil
	})
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("verify journal: %w", err)
	}
	return tlog.TreeHash(size, reader)
}

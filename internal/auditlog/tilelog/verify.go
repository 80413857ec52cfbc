package tilelog

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/mod/sumdb/tlog"
)

// verifyBatch is a run of consecutive records on their way through Verify.
type verifyBatch struct {
	first  int64
	data   []byte // the records' data, back to back
	ends   []int  // where each record's data ends in data
	leaves []tlog.Hash
	hashed chan struct{} // closed when leaves are computed
}

const verifyBatchRecords = 1024

var errVerifyStopped = errors.New("verify stopped")

// Verify reads every kept record in order, recomputes the tree from them and
// checks each stored hash in the hash file against it. It returns the tree
// hash of the first Size records (as at the call). When DropBefore deleted
// segments, the tree's right edge where the kept records start is taken from
// the hash file, which is then trusted below it. One goroutine reads the
// segments, GOMAXPROCS goroutines compute the leaf hashes, and the calling
// goroutine the interior hashes and the comparisons, in order.
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

	workers := runtime.GOMAXPROCS(0)
	work := make(chan *verifyBatch, 2*workers)
	ordered := make(chan *verifyBatch, 2*workers)
	free := make(chan *verifyBatch, 4*workers+1) // batches to reuse
	newBatch := func(first int64) *verifyBatch {
		select {
		case b := <-free:
			b.first, b.data, b.ends = first, b.data[:0], b.ends[:0]
			return b
		default:
			return &verifyBatch{first: first, leaves: make([]tlog.Hash, verifyBatchRecords)}
		}
	}
	stop := make(chan struct{})
	var readErr error
	go func() {
		defer close(work)
		defer close(ordered)
		b := newBatch(from)
		send := func() error {
			b.hashed = make(chan struct{})
			select {
			case ordered <- b:
			case <-stop:
				return errVerifyStopped
			}
			work <- b
			return nil
		}
		readErr = j.scan(from, size, true, func(seq, _ int64, data []byte) error {
			b.data = append(b.data, data...)
			b.ends = append(b.ends, len(b.data))
			if len(b.ends) == verifyBatchRecords {
				if err := send(); err != nil {
					return err
				}
				b = newBatch(seq + 1)
			}
			return nil
		})
		if readErr == nil && len(b.ends) > 0 {
			readErr = send()
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				start := 0
				for i, end := range b.ends {
					b.leaves[i] = tlog.RecordHash(b.data[start:end])
					start = end
				}
				close(b.hashed)
			}
		})
	}
	err := j.verifyInterior(ordered, free, edge[:], reader, from, size)
	if err != nil {
		close(stop)
		for b := range ordered { // let the reader finish
			<-b.hashed
		}
	}
	wg.Wait()
	if err == nil && readErr != nil {
		err = readErr
	}
	var h tlog.Hash
	if err == nil {
		h, err = tlog.TreeHash(size, reader)
	}
	if err != nil {
		return tlog.Hash{}, fmt.Errorf("verify journal: %w", err)
	}
	return h, nil
}

// verifyInterior takes the batches in order, computes each record's stored
// hashes from its leaf hash and compares them with the hash file, read
// alongside in large chunks (the stored hashes of consecutive records are
// consecutive in it).
func (j *Journal) verifyInterior(ordered <-chan *verifyBatch, free chan<- *verifyBatch, edge []frontierHash, reader tlog.HashReader, from, size int64) error {
	var stored []byte
	storedAt := tlog.StoredHashIndex(0, from) // index of stored[0]
	limit := tlog.StoredHashCount(size)
	next := from
	for b := range ordered {
		<-b.hashed
		for i, leaf := range b.leaves[:len(b.ends)] {
			seq := b.first + int64(i)
			if seq != next {
				return fmt.Errorf("record %d where %d was due", seq, next)
			}
			next++
			hs, err := tlog.StoredHashesForRecordHash(seq, leaf, reader)
			if err != nil {
				return err
			}
			idx := tlog.StoredHashIndex(0, seq)
			for level, h := range hs {
				edge[level] = frontierHash{ok: true, pos: seq >> level, hash: h}
				k := idx + int64(level)
				if k-storedAt >= int64(len(stored))/tlog.HashSize {
					storedAt += int64(len(stored)) / tlog.HashSize
					n := min(int64(32<<10), limit-storedAt)
					stored = make([]byte, n*tlog.HashSize)
					if _, err := j.hashes.ReadAt(stored, storedAt*tlog.HashSize); err != nil {
						return fmt.Errorf("read stored hashes from %d: %w", storedAt, err)
					}
				}
				at := (k - storedAt) * tlog.HashSize
				if !bytes.Equal(stored[at:at+tlog.HashSize], h[:]) {
					return fmt.Errorf("record %d: stored hash %d (level %d) differs from the one its data gives", seq, k, level)
				}
			}
		}
		select {
		case free <- b:
		default:
		}
	}
	if next != size {
		return fmt.Errorf("records %d-%d not read", next, size-1)
	}
	return nil
}

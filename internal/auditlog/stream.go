package auditlog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"hash"
	"slices"
)

// streamChunk is how many items a reading goroutine hands over at a time.
const streamChunk = 1024

type streamBatch[T any] struct {
	items []T
	err   error
}

// stream runs produce on its own goroutine, handing what it emits to the
// returned cursor in chunks, so that reading rows from the database runs
// beside the caller's work. produce stops early when emit returns false
// (ctx cancelled). The caller cancels ctx and waits (cursor.wait) before
// it lets go of what produce reads from.
func stream[T any](ctx context.Context, produce func(emit func(T) bool) error) *cursor[T] {
	ch := make(chan streamBatch[T], 4)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer close(ch)
		buf := make([]T, 0, streamChunk)
		send := func(b streamBatch[T]) bool {
			select {
			case ch <- b:
				return true
			case <-ctx.Done():
				return false
			}
		}
		err := produce(func(v T) bool {
			buf = append(buf, v)
			if len(buf) < streamChunk {
				return true
			}
			ok := send(streamBatch[T]{items: buf})
			buf = make([]T, 0, streamChunk)
			return ok
		})
		if len(buf) > 0 && !send(streamBatch[T]{items: buf}) {
			return
		}
		if err != nil {
			send(streamBatch[T]{err: err})
		}
	}()
	return &cursor[T]{ch: ch, finished: finished}
}

// cursor reads what a stream produced, one item at a time.
type cursor[T any] struct {
	ch       <-chan streamBatch[T]
	finished <-chan struct{} // closed when the producing goroutine has returned
	buf      []T
	err      error
	done     bool
}

// wait waits until the producing goroutine has returned (after its
// context was cancelled, or it read everything).
func (c *cursor[T]) wait() { <-c.finished }

// peek returns the next item without taking it; false at the end or on an
// error (see Err).
func (c *cursor[T]) peek() (T, bool) {
	for len(c.buf) == 0 && !c.done {
		b, ok := <-c.ch
		switch {
		case !ok:
			c.done = true
		case b.err != nil:
			c.err, c.done = b.err, true
		default:
			c.buf = b.items
		}
	}
	if len(c.buf) == 0 {
		var zero T
		return zero, false
	}
	return c.buf[0], true
}

// next takes the next item; false at the end or on an error (see Err).
func (c *cursor[T]) next() (T, bool) {
	v, ok := c.peek()
	if ok {
		c.buf = c.buf[1:]
	}
	return v, ok
}

// Err returns the error that ended the stream, if any.
func (c *cursor[T]) Err() error { return c.err }

// storedTile is one row of audit_tile at level 0: a tile of leaf hashes.
type storedTile struct {
	n    int64
	data []byte
}

// streamTiles reads the leaves' tiles in order, and closes rows: a Rows
// must not be closed while another goroutine scans it.
func streamTiles(ctx context.Context, rows *sql.Rows) *cursor[storedTile] {
	return stream(ctx, func(emit func(storedTile) bool) error {
		defer rows.Close()
		for rows.Next() {
			var t storedTile
			if err := rows.Scan(&t.n, &t.data); err != nil {
				return fmt.Errorf("read the tree's tiles: %w", err)
			}
			if !emit(t) {
				return nil
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read the tree's tiles: %w", err)
		}
		return nil
	})
}

// subjectGroup is the subject rows of one entry: how many, the first
// code (for messages), and their digest as SubjectsDigest computes it.
type subjectGroup struct {
	seq    int64
	count  int
	first  string
	digest string
}

// streamSubjects reads, per entry in seq order, how many subject rows it
// has and their codes joined by newlines, and digests each entry's codes;
// it closes rows.
func streamSubjects(ctx context.Context, rows *sql.Rows) *cursor[subjectGroup] {
	return stream(ctx, func(emit func(subjectGroup) bool) error {
		defer rows.Close()
		var joined sql.RawBytes
		h := sha256.New()
		for rows.Next() {
			var g subjectGroup
			if err := rows.Scan(&g.seq, &g.count, &joined); err != nil {
				return fmt.Errorf("read audit subjects: %w", err)
			}
			g.first, g.digest = digestJoined(h, joined, g.count)
			if !emit(g) {
				return nil
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read audit subjects: %w", err)
		}
		return nil
	})
}

// digestJoined returns the first code and the digest SubjectsDigest gives
// the count codes joined by newlines in joined, in any order, using h. A
// code that itself holds a newline (rows merged by hand) makes the number
// of codes disagree with count, and gives no digest.
func digestJoined(h hash.Hash, joined []byte, count int) (first, digest string) {
	if bytes.Count(joined, []byte{'\n'})+1 != count {
		return "", "malformed subject rows"
	}
	firstCode, _, _ := bytes.Cut(joined, []byte{'\n'})
	first = string(firstCode)
	h.Reset()
	if strictlySorted(joined) {
		// As the primary key's order gives them: hash as they stand.
		h.Write(joined)
		h.Write([]byte{'\n'})
	} else {
		codes := bytes.Split(joined, []byte{'\n'})
		slices.SortFunc(codes, bytes.Compare)
		codes = slices.CompactFunc(codes, bytes.Equal)
		for _, c := range codes {
			h.Write(c)
			h.Write([]byte{'\n'})
		}
	}
	var sum [sha256.Size]byte
	return first, hex.EncodeToString(h.Sum(sum[:0]))
}

// strictlySorted reports whether the newline-separated codes in joined are
// in increasing byte order, none repeated.
func strictlySorted(joined []byte) bool {
	prev, rest, more := bytes.Cut(joined, []byte{'\n'})
	for more {
		var next []byte
		next, rest, more = bytes.Cut(rest, []byte{'\n'})
		if bytes.Compare(prev, next) >= 0 {
			return false
		}
		prev = next
	}
	return true
}

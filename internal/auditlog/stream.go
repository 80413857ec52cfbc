package auditlog

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"

	"golang.org/x/mod/sumdb/tlog"
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
// (ctx cancelled).
func stream[T any](ctx context.Context, produce func(emit func(T) bool) error) *cursor[T] {
	ch := make(chan streamBatch[T], 4)
	go func() {
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
	return &cursor[T]{ch: ch}
}

// cursor reads what a stream produced, one item at a time.
type cursor[T any] struct {
	ch   <-chan streamBatch[T]
	buf  []T
	err  error
	done bool
}

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

// storedHash is one row of audit_hash.
type storedHash struct {
	idx  int64
	hash tlog.Hash
	size int // length of the stored value, to tell a truncated hash
}

// streamHashes reads audit_hash in index order.
func streamHashes(ctx context.Context, rows *sql.Rows) *cursor[storedHash] {
	return stream(ctx, func(emit func(storedHash) bool) error {
		var raw sql.RawBytes
		for rows.Next() {
			var h storedHash
			if err := rows.Scan(&h.idx, &raw); err != nil {
				return fmt.Errorf("read audit hash: %w", err)
			}
			h.size = copy(h.hash[:], raw)
			if len(raw) != tlog.HashSize {
				h.size = len(raw)
			}
			if !emit(h) {
				return nil
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read audit hashes: %w", err)
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

// streamSubjects reads audit_subject in (seq, code) order and digests each
// entry's rows. The primary key makes the codes of one entry unique and the
// query returns them sorted, so each digest is computed as the rows pass,
// as SubjectsDigest would after sorting.
func streamSubjects(ctx context.Context, rows *sql.Rows) *cursor[subjectGroup] {
	return stream(ctx, func(emit func(subjectGroup) bool) error {
		h := sha256.New()
		var g subjectGroup
		var seq int64
		var code sql.RawBytes
		flush := func() bool {
			if g.count == 0 {
				return true
			}
			g.digest = hex.EncodeToString(h.Sum(nil))
			ok := emit(g)
			h.Reset()
			g = subjectGroup{}
			return ok
		}
		for rows.Next() {
			if err := rows.Scan(&seq, &code); err != nil {
				return fmt.Errorf("read audit subject: %w", err)
			}
			if g.count > 0 && seq != g.seq && !flush() {
				return nil
			}
			if g.count == 0 {
				g.seq, g.first = seq, string(code)
			}
			g.count++
			h.Write(code)
			h.Write([]byte{'\n'})
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read audit subjects: %w", err)
		}
		flush()
		return nil
	})
}

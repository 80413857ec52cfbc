package auditlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// A node ships its audit entries to its witness, which keeps a copy and
// gives them back to the node after a restore from a backup (jukinet
// recover). What travels is exactly what the log stores: the canonical
// payload each leaf hash covers (or, for an entry already pruned, only the
// leaf hash) and the entry's subject rows, which the payload binds by
// digest. The functions here read, check and write such entries; the
// transport is internal/federation.

// ShippedEntry is one audit entry as it travels to and from a witness.
type ShippedEntry struct {
	Seq      int64    `json:"seq"`
	Payload  []byte   `json:"payload,omitempty"`  // the canonical entry; nil once pruned
	Leaf     []byte   `json:"leaf,omitempty"`     // the leaf hash, for a pruned entry only
	Subjects []string `json:"subjects,omitempty"` // the residents concerned, sorted
	// At, Actor and Action are what the log keeps of a pruned entry beside
	// its leaf hash (its columns); for an entry with a payload they are
	// read from it.
	At     time.Time `json:"at,omitzero"`
	Actor  string    `json:"actor,omitempty"`
	Action string    `json:"action,omitempty"`
}

// Size is about how many bytes the entry takes in a JSON message.
func (s ShippedEntry) Size() int {
	n := 64 + len(s.Payload)*4/3 + len(s.Leaf)*4/3
	for _, c := range s.Subjects {
		n += len(c) + 3
	}
	return n
}

// Checked is what a shipped entry says of itself once checked: its leaf
// hash and the columns the log keeps beside it.
type Checked struct {
	Leaf   tlog.Hash
	At     time.Time
	Actor  string
	Action string
}

// Check checks a shipped entry against itself: its payload must be a
// canonical entry with the seq it travels under and a subject digest that
// matches its subjects; a pruned entry (no payload) must carry a leaf hash,
// its time, actor and action, and no subjects.
func (s ShippedEntry) Check() (Checked, error) {
	var c Checked
	if s.Payload == nil {
		if len(s.Leaf) != tlog.HashSize || len(s.Subjects) > 0 || s.At.IsZero() || s.Actor == "" || s.Action == "" {
			return c, fmt.Errorf("entry %d: a pruned entry needs its leaf hash, time, actor and action, and no residents", s.Seq)
		}
		copy(c.Leaf[:], s.Leaf)
		c.At, c.Actor, c.Action = s.At.UTC(), s.Actor, s.Action
		return c, nil
	}
	if s.Leaf != nil || !s.At.IsZero() || s.Actor != "" || s.Action != "" {
		return c, fmt.Errorf("entry %d: a payload comes alone, without a leaf hash, time, actor or action", s.Seq)
	}
	e, err := DecodeEntry(s.Payload)
	if err != nil {
		return c, fmt.Errorf("entry %d: %w", s.Seq, err)
	}
	if e.Seq != s.Seq {
		return c, fmt.Errorf("entry %d holds entry %d", s.Seq, e.Seq)
	}
	digest, sorted := SubjectsDigest(s.Subjects)
	if len(sorted) != len(s.Subjects) || digest != e.SubjectDigest || len(sorted) != e.SubjectCount {
		return c, fmt.Errorf("entry %d: its residents do not match the digest the entry holds", s.Seq)
	}
	return Checked{Leaf: tlog.RecordHash(s.Payload), At: e.Time.UTC(), Actor: e.Actor.String(), Action: e.Action}, nil
}

// ReadShipped reads the entries from seq from (inclusive) to to (exclusive)
// as they are shipped, stopping after about maxBytes (at least one entry).
func ReadShipped(ctx context.Context, q db.Querier, from, to int64, maxBytes int) ([]ShippedEntry, error) {
	const page = 1000
	var out []ShippedEntry
	total := 0
	for from < to && total < maxBytes {
		end := min(to, from+page)
		rows, err := q.Query(ctx, `SELECT seq, payload, leaf_hash, at, actor_id, action FROM audit_entry WHERE seq >= ? AND seq < ? ORDER BY seq`, from, end)
		if err != nil {
			return nil, fmt.Errorf("read audit entries %d to %d: %w", from, end-1, err)
		}
		var chunk []ShippedEntry
		for rows.Next() {
			var s ShippedEntry
			var leaf []byte
			var at time.Time
			var actor, action string
			if err := rows.Scan(&s.Seq, &s.Payload, &leaf, &at, &actor, &action); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read audit entries: %w", err)
			}
			if s.Payload == nil {
				s.Leaf, s.At, s.Actor, s.Action = leaf, at.UTC(), actor, action
			}
			chunk = append(chunk, s)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read audit entries: %w", err)
		}
		if int64(len(chunk)) != end-from {
			return nil, fmt.Errorf("read audit entries %d to %d: %d found, the log has a hole", from, end-1, len(chunk))
		}
		srows, err := q.Query(ctx, `SELECT seq, resident_code FROM audit_subject WHERE seq >= ? AND seq < ? ORDER BY seq, resident_code`, from, end)
		if err != nil {
			return nil, fmt.Errorf("read the residents of audit entries: %w", err)
		}
		for srows.Next() {
			var seq int64
			var code string
			if err := srows.Scan(&seq, &code); err != nil {
				srows.Close()
				return nil, fmt.Errorf("read the residents of audit entries: %w", err)
			}
			chunk[seq-from].Subjects = append(chunk[seq-from].Subjects, code)
		}
		srows.Close()
		if err := srows.Err(); err != nil {
			return nil, fmt.Errorf("read the residents of audit entries: %w", err)
		}
		for _, s := range chunk {
			if total >= maxBytes && len(out) > 0 {
				return out, nil
			}
			out = append(out, s)
			total += s.Size()
		}
		from = end
	}
	return out, nil
}

// Frontier is the right edge of a tree of size n: the hashes of its largest
// complete subtrees, left to right (one per set bit of n). With it, the
// tree's root and the roots of its extensions are computed from the new
// leaves alone (FrontierAppend, FrontierRoot).
type Frontier []tlog.Hash

// ReadFrontier reads the frontier of the tree of size n from the stored
// hashes.
func ReadFrontier(ctx context.Context, q db.Querier, n int64) (Frontier, error) {
	var indexes []int64
	var start int64
	for level := 63; level >= 0; level-- {
		if n&(1<<level) == 0 {
			continue
		}
		indexes = append(indexes, tlog.StoredHashIndex(level, start>>level))
		start += 1 << level
	}
	f, err := StoredHashes(ctx, q).ReadHashes(indexes)
	if err != nil {
		return nil, fmt.Errorf("read the tree's frontier (size %d): %w", n, err)
	}
	return f, nil
}

// Append returns the frontier of the tree of size n+1 whose last leaf is
// leaf, from the frontier f of the tree of size n.
func (f Frontier) Append(n int64, leaf tlog.Hash) Frontier {
	out := append(Frontier(nil), f...)
	h := leaf
	for ; n&1 == 1; n >>= 1 {
		h = tlog.NodeHash(out[len(out)-1], h)
		out = out[:len(out)-1]
	}
	return append(out, h)
}

// Root is the root hash of the tree the frontier describes.
func (f Frontier) Root() tlog.Hash {
	if len(f) == 0 {
		h, _ := tlog.TreeHash(0, nil)
		return h
	}
	h := f[len(f)-1]
	for i := len(f) - 2; i >= 0; i-- {
		h = tlog.NodeHash(f[i], h)
	}
	return h
}

// Fits says whether f can be the frontier of a tree of size n.
func (f Frontier) Fits(n int64) bool { return len(f) == bits.OnesCount64(uint64(n)) }

// Recovered is what a witness gave back and the node checked.
type Recovered struct {
	// Checkpoint is the cosigned checkpoint the entries end at, Note its
	// text with both signatures, Witness the witness's key name.
	Checkpoint *Checkpoint
	Note       []byte
	Witness    string
	Entries    []ShippedEntry // from the log's size to the checkpoint's
	At         time.Time      // when they came back
}

// ErrRecoveredMismatch marks entries that do not extend the log to the
// cosigned checkpoint (or its resident map): nothing is written.
var ErrRecoveredMismatch = errors.New("the entries the witness returned do not extend this log to the checkpoint it cosigned")

// WriteRecovered appends entries a witness gave back, verbatim, to the log
// in d, after checking in one transaction that they continue the log
// exactly from its size and that the tree they make has the cosigned
// checkpoint's root, and the resident map its map root. It writes the
// entries, their tree hashes and subject rows, brings the resident map to
// the checkpoint's size and stores the checkpoint (as the node's, and as
// cosigned). Run it while no other process appends (a stopped node).
func WriteRecovered(ctx context.Context, d *db.DB, r Recovered) error {
	cp := r.Checkpoint
	return d.Transact(ctx, func(tx *db.Tx) error {
		if tx.Dialect() == db.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, advisoryLockID); err != nil {
				return fmt.Errorf("lock audit log: %w", err)
			}
		}
		var size int64
		if err := tx.QueryRow(ctx, sizeQuery).Scan(&size); err != nil {
			return fmt.Errorf("read audit log size: %w", err)
		}
		if size+int64(len(r.Entries)) != cp.Size {
			return fmt.Errorf("%w: the log has %d entries and %d came back, but the checkpoint is of size %d", ErrRecoveredMismatch, size, len(r.Entries), cp.Size)
		}
		// The tree's hashes, the new ones in memory over the stored ones.
		fresh := map[int64]tlog.Hash{}
		stored := StoredHashes(ctx, tx)
		read := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(indexes))
			for i, idx := range indexes {
				if h, ok := fresh[idx]; ok {
					out[i] = h
					continue
				}
				h, err := stored.ReadHashes([]int64{idx})
				if err != nil {
					return nil, err
				}
				out[i] = h[0]
			}
			return out, nil
		})
		var entries, pruned, subjects [][]any
		var hashIdx []int64
		var hashes [][]byte
		for i, s := range r.Entries {
			n := size + int64(i)
			if s.Seq != n {
				return fmt.Errorf("%w: entry %d came back in place of %d", ErrRecoveredMismatch, s.Seq, n)
			}
			c, err := s.Check()
			if err != nil {
				return fmt.Errorf("%w: %v", ErrRecoveredMismatch, err)
			}
			leaf := c.Leaf
			var hs []tlog.Hash
			if s.Payload != nil {
				hs, err = tlog.StoredHashes(n, s.Payload, read)
			} else {
				hs, err = tlog.StoredHashesForRecordHash(n, leaf, read)
			}
			if err != nil {
				return fmt.Errorf("hash recovered entry %d: %w", n, err)
			}
			base := tlog.StoredHashIndex(0, n)
			for j, h := range hs {
				fresh[base+int64(j)] = h
				hashIdx, hashes = append(hashIdx, base+int64(j)), append(hashes, h[:])
			}
			at, actor, action := c.At, c.Actor, c.Action
			if s.Payload != nil {
				for _, c := range s.Subjects {
					subjects = append(subjects, []any{n, c})
				}
				entries = append(entries, []any{n, at, actor, action, s.Payload, leaf[:]})
			} else {
				pruned = append(pruned, []any{n, at, actor, action, leaf[:], r.At})
			}
		}
		root, err := tlog.TreeHash(cp.Size, read)
		if err != nil {
			return fmt.Errorf("tree hash at %d: %w", cp.Size, err)
		}
		if root != cp.Root {
			return fmt.Errorf("%w: they make the root %x, the checkpoint signs %x", ErrRecoveredMismatch, root[:6], cp.Root[:6])
		}
		if err := db.InsertMany(ctx, tx, "audit_entry", entryColumns, entries); err != nil {
			return fmt.Errorf("store recovered audit entries: %w", err)
		}
		if err := db.InsertMany(ctx, tx, "audit_entry", []string{"seq", "at", "actor_id", "action", "leaf_hash", "pruned_at"}, pruned); err != nil {
			return fmt.Errorf("store recovered pruned audit entries: %w", err)
		}
		if err := storeTiles(ctx, tx, hashIdx, hashes); err != nil {
			return fmt.Errorf("store recovered audit hashes: %w", err)
		}
		if err := db.InsertMany(ctx, tx, "audit_subject", subjectColumns, subjects); err != nil {
			return fmt.Errorf("store recovered audit subjects: %w", err)
		}
		if cp.ResidentMap != nil {
			mapRoot, err := advanceMap(ctx, tx, cp.Size)
			if err != nil {
				return err
			}
			if mapRoot != *cp.ResidentMap {
				return fmt.Errorf("%w: the residents of the entries make another resident map than the checkpoint signs", ErrRecoveredMismatch)
			}
		}
		at := r.At.UTC()
		if _, err := tx.Exec(ctx, `INSERT INTO audit_checkpoint (size, root, note, at) VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING`,
			cp.Size, cp.Root[:], string(r.Note), at); err != nil {
			return fmt.Errorf("store the cosigned checkpoint: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit_cosignature (size, witness, note, at) VALUES (?, ?, ?, ?) ON CONFLICT (size, witness) DO NOTHING`,
			cp.Size, r.Witness, string(r.Note), at); err != nil {
			return fmt.Errorf("store the cosigned checkpoint: %w", err)
		}
		return nil
	})
}

// SameNote says whether two signed notes have the same text.
func SameNote(a, b []byte) bool {
	ta, _, _ := strings.Cut(string(a), "\n\n")
	tb, _, _ := strings.Cut(string(b), "\n\n")
	return bytes.Equal([]byte(ta), []byte(tb))
}

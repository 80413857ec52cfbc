package auditlog

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// proofHeader starts every inclusion proof file.
const proofHeader = "jukinet audit inclusion proof v1"

// Prove returns a text proof that entry n is in the tree of the latest
// signed checkpoint. The text carries the entry, the proof hashes and the
// checkpoint, so CheckProof needs nothing but the node's public key.
func Prove(ctx context.Context, d *db.DB, n int64) ([]byte, error) {
	cp, err := LatestCheckpoint(ctx, d)
	if err != nil {
		return nil, err
	}
	if cp == nil {
		return nil, errors.New("no signed checkpoint yet: the node signs one every minute and on shutdown")
	}
	if n < 0 || n >= cp.Size {
		return nil, fmt.Errorf("entry %d is not covered by the latest checkpoint (size %d); wait for the next checkpoint", n, cp.Size)
	}
	var payload, leaf []byte
	if err := d.QueryRow(ctx, `SELECT payload, leaf_hash FROM audit_entry WHERE seq = ?`, n).Scan(&payload, &leaf); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("entry %d does not exist", n)
		}
		return nil, fmt.Errorf("read entry %d: %w", n, err)
	}
	proof, err := tlog.ProveRecord(cp.Size, n, StoredHashes(ctx, d))
	if err != nil {
		return nil, fmt.Errorf("prove entry %d: %w", n, err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nentry %d\nleaf %s\n", proofHeader, n, base64.StdEncoding.EncodeToString(leaf))
	if payload != nil {
		fmt.Fprintf(&b, "content %s\n", payload)
	} else {
		b.WriteString("content pruned\n")
	}
	fmt.Fprintf(&b, "proof %d\n", len(proof))
	for _, h := range proof {
		fmt.Fprintf(&b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b.WriteString("checkpoint\n")
	b.Write(cp.Note)
	return b.Bytes(), nil
}

// ProofResult is what a checked proof establishes.
type ProofResult struct {
	Entry      int64
	Checkpoint *Checkpoint
	Content    *Entry // nil when the entry was pruned
}

// CheckProof checks a proof written by Prove with the node's public key
// alone: the checkpoint's signature, the entry's leaf hash, and the path from
// the leaf to the checkpoint's root.
func CheckProof(text []byte, v note.Verifier) (*ProofResult, error) {
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := func() string {
		if sc.Scan() {
			return sc.Text()
		}
		return ""
	}
	if line() != proofHeader {
		return nil, errors.New("not a jukinet inclusion proof")
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(line(), "entry "), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("proof: entry line: %w", err)
	}
	leafRaw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(line(), "leaf "))
	if err != nil || len(leafRaw) != tlog.HashSize {
		return nil, errors.New("proof: bad leaf line")
	}
	var leaf tlog.Hash
	copy(leaf[:], leafRaw)
	res := &ProofResult{Entry: n}
	content := line()
	if c, ok := strings.CutPrefix(content, "content "); ok && c != "pruned" {
		if tlog.RecordHash([]byte(c)) != leaf {
			return nil, fmt.Errorf("proof: the entry's content does not match its leaf hash")
		}
		e, err := DecodeEntry([]byte(c))
		if err != nil {
			return nil, fmt.Errorf("proof: %w", err)
		}
		if e.Seq != n {
			return nil, fmt.Errorf("proof: content is entry %d, not %d", e.Seq, n)
		}
		res.Content = e
	} else if !ok {
		return nil, errors.New("proof: bad content line")
	}
	count, err := strconv.Atoi(strings.TrimPrefix(line(), "proof "))
	if err != nil || count < 0 || count > 64 {
		return nil, errors.New("proof: bad proof line")
	}
	proof := make(tlog.RecordProof, count)
	for i := range proof {
		raw, err := base64.StdEncoding.DecodeString(line())
		if err != nil || len(raw) != tlog.HashSize {
			return nil, fmt.Errorf("proof: bad hash %d", i+1)
		}
		copy(proof[i][:], raw)
	}
	if line() != "checkpoint" {
		return nil, errors.New("proof: checkpoint missing")
	}
	var rest bytes.Buffer
	for sc.Scan() {
		rest.Write(sc.Bytes())
		rest.WriteByte('\n')
	}
	cp, err := OpenCheckpoint(rest.Bytes(), v)
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	if err := tlog.CheckRecord(proof, cp.Size, cp.Root, n, leaf); err != nil {
		return nil, fmt.Errorf("proof: entry %d is not in the tree of size %d: %w", n, cp.Size, err)
	}
	res.Checkpoint = cp
	return res, nil
}

// ConsistencyProof proves that the tree of size oldSize is a prefix of the
// tree of size newSize, from the stored hashes (for a witness).
func ConsistencyProof(ctx context.Context, d *db.DB, oldSize, newSize int64) (tlog.TreeProof, error) {
	if oldSize == 0 || oldSize == newSize {
		return nil, nil
	}
	p, err := tlog.ProveTree(newSize, oldSize, StoredHashes(ctx, d))
	if err != nil {
		return nil, fmt.Errorf("prove consistency %d → %d: %w", oldSize, newSize, err)
	}
	return p, nil
}

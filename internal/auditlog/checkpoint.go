package auditlog

import (
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

// Checkpoint is a signed statement of the tree: its size and root hash.
type Checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
	// ResidentMap is the root of the resident map over the tree (resmap.go),
	// from the checkpoint's extension line; nil on a checkpoint signed
	// before the map existed.
	ResidentMap *MapHash
	Note        []byte // the signed note, C2SP checkpoint format
}

type cpResult struct {
	cp  *Checkpoint
	err error
}

// Checkpoint signs a checkpoint of the tree as it is now (if it grew since
// the last one) and returns the latest checkpoint.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	reply := make(chan cpResult, 1)
	select {
	case l.cpReq <- reply:
	case <-l.stopped:
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := <-reply
	return r.cp, r.err
}

// checkpoint runs on the committer goroutine, which owns the tree.
func (l *Log) checkpoint(ctx context.Context) (*Checkpoint, error) {
	if l.size == 0 {
		return nil, nil
	}
	if l.size == l.lastCP {
		return LatestCheckpoint(ctx, l.db)
	}
	root, err := tlog.TreeHash(l.size, tlog.HashReaderFunc(l.readFrontier(l.db)))
	if err != nil {
		return nil, fmt.Errorf("tree hash at %d: %w", l.size, err)
	}
	// The resident map is brought to this tree in the transaction that
	// stores the checkpoint: the stored map always describes the latest
	// checkpoint's tree.
	var signed []byte
	var mapRoot MapHash
	if l.journal != nil {
		unlock, err := l.journal.lock()
		if err != nil {
			return nil, err
		}
		defer unlock()
		if err := l.indexBacklog(ctx); err != nil {
			return nil, err
		}
	}
	err = l.db.Transact(ctx, func(tx *db.Tx) error {
		// The checkpoint's entries all have their rows before it is signed.
		if l.journal != nil {
			if _, _, err := l.indexJournal(ctx, tx, nil, -1); err != nil {
				return err
			}
		}
		// Another process on the same log (a console command beside the
		// server) may sign at the same time: on PostgreSQL the writers'
		// lock keeps the two from bringing the map up from the same size
		// (SQLite's write transactions are already one at a time).
		if tx.Dialect() == db.Postgres {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, advisoryLockID); err != nil {
				return fmt.Errorf("lock the log for its checkpoint: %w", err)
			}
		}
		var err error
		if mapRoot, err = advanceMap(ctx, tx, l.size); err != nil {
			return err
		}
		text := FormatCheckpoint(l.opt.Origin, l.size, root) + MapLine(mapRoot)
		if signed, err = note.Sign(&note.Note{Text: text}, l.signer); err != nil {
			return fmt.Errorf("sign checkpoint: %w", err)
		}
		// Another process on the same log (a console command beside the
		// server) may have signed this size already: its checkpoint stands
		// if it has the same root; another root at the same size means two
		// different logs, which must not pass quietly.
		res, err := tx.Exec(ctx, `INSERT INTO audit_checkpoint (size, root, note, at) VALUES (?, ?, ?, ?) ON CONFLICT (size) DO NOTHING`,
			l.size, root[:], string(signed), l.opt.Now().UTC())
		if err != nil {
			return fmt.Errorf("store checkpoint: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("store checkpoint: %w", err)
		} else if n == 0 {
			var stored []byte
			var text string
			if err := tx.QueryRow(ctx, `SELECT root, note FROM audit_checkpoint WHERE size = ?`, l.size).Scan(&stored, &text); err != nil {
				return fmt.Errorf("read the checkpoint stored at size %d: %w", l.size, err)
			}
			if !bytes.Equal(stored, root[:]) {
				return fmt.Errorf("a checkpoint with another root is stored at size %d: this log and the one it was signed for differ", l.size)
			}
			signed = []byte(text)
		}
		return nil
	})
	if errors.Is(err, errMapAhead) {
		// The other process's checkpoint is the latest: it stands, and this
		// process signs again once its own tree is larger.
		return LatestCheckpoint(ctx, l.db)
	}
	if err != nil {
		return nil, err
	}
	l.lastCP = l.size
	return &Checkpoint{Origin: l.opt.Origin, Size: l.size, Root: root, ResidentMap: &mapRoot, Note: signed}, nil
}

// FormatCheckpoint returns the body of a C2SP checkpoint: origin, size and
// base64 root hash, one per line.
func FormatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// mapLinePrefix starts the checkpoint's extension line with the resident
// map's root.
const mapLinePrefix = "jukinet/resident-map/v1 "

// MapLine is the checkpoint's extension line with the resident map's root.
func MapLine(root MapHash) string {
	return mapLinePrefix + base64.StdEncoding.EncodeToString(root[:]) + "\n"
}

// ErrNotCheckpoint marks text that is not a signed checkpoint at all (as
// opposed to one signed by another key, or whose signature fails).
var ErrNotCheckpoint = errors.New("not a signed checkpoint")

// OpenCheckpoint verifies a signed checkpoint with v and parses it. Text
// that is not a signed note, or not a checkpoint, gives an error wrapping
// ErrNotCheckpoint; a note v did not sign gives *note.UnverifiedNoteError,
// one whose signature by v fails *note.InvalidSignatureError.
func OpenCheckpoint(signed []byte, v note.Verifier) (*Checkpoint, error) {
	n, err := note.Open(signed, note.VerifierList(v))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		if errors.As(err, &unverified) || errors.As(err, &invalid) {
			return nil, fmt.Errorf("checkpoint signature: %w", err)
		}
		return nil, fmt.Errorf("%w (%v)", ErrNotCheckpoint, err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		return nil, fmt.Errorf("%w: want origin, size and root hash lines", ErrNotCheckpoint)
	}
	// One spelling per checkpoint, as tlog.ParseTree reads them: no sign,
	// no leading zeros, and the hashes in canonical base64 (the decoder
	// would skip a stray CR).
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || lines[1] != strconv.FormatInt(size, 10) {
		return nil, fmt.Errorf("%w: size %q", ErrNotCheckpoint, lines[1])
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != lines[2] {
		return nil, fmt.Errorf("%w: root hash %q", ErrNotCheckpoint, lines[2])
	}
	cp := &Checkpoint{Origin: lines[0], Size: size, Note: bytes.Clone(signed)}
	copy(cp.Root[:], raw)
	for _, ext := range lines[3 : len(lines)-1] {
		if rest, ok := strings.CutPrefix(ext, mapLinePrefix); ok {
			m, err := base64.StdEncoding.DecodeString(rest)
			if err != nil || len(m) != len(MapHash{}) || base64.StdEncoding.EncodeToString(m) != rest {
				return nil, fmt.Errorf("%w: resident map root %q", ErrNotCheckpoint, rest)
			}
			cp.ResidentMap = new(MapHash)
			copy(cp.ResidentMap[:], m)
		}
	}
	return cp, nil
}

// LatestCheckpoint returns the newest stored checkpoint, or nil if none.
func LatestCheckpoint(ctx context.Context, q db.Querier) (*Checkpoint, error) {
	var size int64
	var root []byte
	var text string
	err := q.QueryRow(ctx, `SELECT size, root, note FROM audit_checkpoint ORDER BY size DESC LIMIT 1`).Scan(&size, &root, &text)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("read latest checkpoint: %w", err)
	}
	cp := &Checkpoint{Size: size, Note: []byte(text)}
	copy(cp.Root[:], root)
	if first, _, ok := strings.Cut(text, "\n"); ok {
		cp.Origin = first
	}
	// The map's line, as signed (the note's text ends at the blank line).
	body, _, _ := strings.Cut(text, "\n\n")
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, mapLinePrefix); ok {
			if m, err := base64.StdEncoding.DecodeString(rest); err == nil && len(m) == len(MapHash{}) {
				cp.ResidentMap = new(MapHash)
				copy(cp.ResidentMap[:], m)
			}
		}
	}
	return cp, nil
}

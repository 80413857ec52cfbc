package auditlog

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"jukinet/internal/db"
)

// Report summarises a successful verification.
type Report struct {
	Entries     int64 // leaves in the log
	Pruned      int64 // of which pruned to their hash
	Checkpoints int   // signed checkpoints checked
	Checked     int64 // size of the largest checkpoint checked
	Root        tlog.Hash
	// MapChecked is the size of the checkpoint whose resident map root was
	// rebuilt from the log and found equal (0: none checked); MapSkipped
	// says why none was.
	MapChecked int64
	MapSkipped string
	// ClockSteps counts the entries stamped while the clock read earlier
	// than the previous entry (they record the reading, Entry.ClockRead);
	// TimesBack the entries whose time is earlier than the previous one's
	// (written before times were held in order). Neither is tampering: the
	// tree and the signatures decide that; both are the auditor's to see.
	ClockSteps, TimesBack int64
	Elapsed               time.Duration
}

func (r Report) String() string {
	m := fmt.Sprintf("resident map checked at size %d", r.MapChecked)
	if r.MapChecked == 0 {
		m = "resident map not checked: " + r.MapSkipped
	}
	if r.ClockSteps > 0 {
		m += fmt.Sprintf(", %d entries stamped while the clock read earlier than the entry before (clock_read)", r.ClockSteps)
	}
	if r.TimesBack > 0 {
		m += fmt.Sprintf(", %d entries timed earlier than the entry before", r.TimesBack)
	}
	return fmt.Sprintf("audit log intact: %d entries (%d pruned), %d signed checkpoints verified up to size %d, root %s, %s, in %s",
		r.Entries, r.Pruned, r.Checkpoints, r.Checked, r.Root, m, r.Elapsed.Round(time.Millisecond))
}

// Problem is a verification failure; Entry is the first bad entry, or -1
// when the fault is not in one entry.
type Problem struct {
	Entry int64
	What  string
}

func (p *Problem) Error() string {
	if p.Entry >= 0 {
		return fmt.Sprintf("audit log broken at entry %d: %s", p.Entry, p.What)
	}
	return "audit log broken: " + p.What
}

func bad(entry int64, format string, args ...any) *Problem {
	return &Problem{Entry: entry, What: fmt.Sprintf(format, args...)}
}

// Verify recomputes every leaf from its stored entry and the tree from the
// leaves, compares them with the stored hashes, and checks the tree against
// every signed checkpoint in the database and every external checkpoint
// given. It returns a *Problem naming the first bad entry when the log was
// changed, had entries removed or reordered, or was cut below a checkpoint.
func Verify(ctx context.Context, d *db.DB, v note.Verifier, external ...[]byte) (Report, error) {
	return VerifyProgress(ctx, d, v, nil, external...)
}

// progressEvery is how many entries pass between two progress reports (a
// variable, for tests).
var progressEvery int64 = 1 << 16

// VerifyProgress is Verify that also calls progress, when not nil, with
// the number of entries verified so far, every few tens of thousands, from
// the goroutine that verifies: it must return quickly.
func VerifyProgress(ctx context.Context, d *db.DB, v note.Verifier, progress func(entries int64), external ...[]byte) (Report, error) {
	rep, err := verify(ctx, d, v, progress, external)
	// Stopped half-way (an abandoned request, Ctrl+C), its readers ended
	// early, and what it would say of the log — "entries were cut" — is not
	// a finding.
	if err != nil && ctx.Err() != nil {
		return rep, fmt.Errorf("audit log verification stopped before the end: %w", ctx.Err())
	}
	return rep, err
}

func verify(ctx context.Context, d *db.DB, v note.Verifier, progress func(entries int64), external [][]byte) (Report, error) {
	start := time.Now()
	// Cancelled on return, so the decoding pipeline stops when a problem
	// ends the walk early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rep Report
	// One verification at a time holds its reading connections: several,
	// each holding some and waiting for more, could take every connection
	// of the pool and wait for one another for ever.
	select {
	case verifying <- struct{}{}:
		defer func() { <-verifying }()
	case <-ctx.Done():
		return rep, fmt.Errorf("wait for another verification: %w", ctx.Err())
	}
	// The entries, the tree's tiles, the subject rows and the resident
	// map's rebuild are read side by side, each on a connection of its
	// own, from one snapshot of the log: read at different moments, a node
	// appending meanwhile would look as if rows had been added to or taken
	// from its log.
	snaps, err := sameSnapshot(ctx, d, 4)
	if err != nil {
		return rep, err
	}
	defer closeReads(snaps)
	checkpoints, err := loadCheckpoints(ctx, snaps[0], v, external)
	if err != nil {
		return rep, err
	}
	// The resident map is rebuilt from the subject rows meanwhile, on its
	// own connection; its root is compared once the walk below has
	// verified those rows (checkMap).
	// The walk stops it at the first pruned entry: such a log's map is not
	// checked.
	mapAt := mapCheckpoint(checkpoints)
	var rebuilt rebuiltMap
	mapDone := make(chan struct{})
	mapCtx, stopMap := context.WithCancel(ctx)
	if mapAt != nil {
		go func() {
			defer close(mapDone)
			rebuilt.root, rebuilt.err = rebuiltMapRoot(mapCtx, snaps[3], mapAt.Size)
		}()
	} else {
		close(mapDone)
	}
	defer func() {
		stopMap()
		<-mapDone // before the snapshots close
	}()
	var covered int64 // entries under the largest checkpoint: authenticated by its signature
	if len(checkpoints) > 0 {
		covered = checkpoints[len(checkpoints)-1].Size
	}
	entries, err := snaps[0].Query(ctx, `SELECT seq, at, actor_id, action, payload, leaf_hash FROM audit_entry ORDER BY seq`)
	if err != nil {
		return rep, fmt.Errorf("read audit entries: %w", err)
	}
	// The tiles above the leaves are few (one hash in 256 of the level
	// below): they are read whole first; the leaves' tiles stream beside
	// the entries.
	upper, err := readUpperTiles(ctx, snaps[1])
	if err != nil {
		entries.Close()
		return rep, err
	}
	tileRows, err := snaps[1].Query(ctx, `SELECT idx, hashes FROM audit_tile WHERE level = 0 ORDER BY idx`)
	if err != nil {
		entries.Close()
		return rep, fmt.Errorf("read the tree's tiles: %w", err)
	}
	// Each entry's subject codes come joined by newlines, concatenated
	// inside the database: an import's million codes cross into Go as one
	// value instead of a million rows.
	concat := `group_concat(resident_code, char(10))`
	if d.Dialect() == db.Postgres {
		concat = `string_agg(resident_code, chr(10))`
	}
	subjectRows, err := snaps[2].Query(ctx, `SELECT seq, COUNT(*), `+concat+` FROM audit_subject GROUP BY seq ORDER BY seq`)
	if err != nil {
		entries.Close()
		tileRows.Close()
		return rep, fmt.Errorf("read audit subjects: %w", err)
	}
	// The entries, the stored hashes and the subject rows are read on
	// goroutines of their own, each of which closes its rows. Before the
	// snapshots close, those goroutines are stopped and waited for: a
	// Rows closed while another goroutine scans it is a data race.
	tiles, subjects := streamTiles(ctx, tileRows), streamSubjects(ctx, subjectRows)
	leaves := leafTiles{c: tiles}
	decoded, decoding := decodeEntries(ctx, entries, covered)
	defer func() {
		cancel()
		tiles.wait()
		subjects.wait()
		<-decoding
	}()

	frontier := map[int]frontierHash{}
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, idx := range indexes {
			level, pos := tlog.SplitStoredHashIndex(idx)
			f, ok := frontier[level]
			if !ok || f.pos != pos {
				return nil, fmt.Errorf("tree hash %d not on the frontier", idx)
			}
			out[i] = f.hash
		}
		return out, nil
	})
	var n int64
	var prevAt time.Time
	cpi := 0
	for c := range decoded {
		if c.err != nil {
			return rep, c.err
		}
		for _, v := range c.rows {
			if v.seq != n {
				if v.seq > n {
					return rep, bad(n, "missing (the next stored entry is %d)", v.seq)
				}
				return rep, bad(v.seq, "stored twice")
			}
			if v.problem != nil {
				return rep, v.problem
			}
			if err := checkSubjects(subjects, n, v.entry); err != nil {
				return rep, err
			}
			if v.entry == nil {
				rep.Pruned++
				stopMap()
			}
			if v.clockRead {
				rep.ClockSteps++
			}
			if n > 0 && v.at.Before(prevAt) {
				rep.TimesBack++
			}
			prevAt = v.at
			stored, err := tlog.StoredHashesForRecordHash(n, v.leaf, reader)
			if err != nil {
				return rep, bad(n, "rebuild tree: %v", err)
			}
			if err := leaves.check(n, stored[0]); err != nil {
				return rep, err
			}
			for level := tileHeight; level < len(stored); level += tileHeight {
				if err := upper.check(n, level, stored[level]); err != nil {
					return rep, err
				}
			}
			for level, h := range stored {
				frontier[level] = frontierHash{pos: n >> level, hash: h}
			}
			n++
			if progress != nil && n%progressEvery == 0 {
				progress(n)
			}
			for cpi < len(checkpoints) && checkpoints[cpi].Size == n {
				root, err := tlog.TreeHash(n, reader)
				if err != nil {
					return rep, bad(n-1, "tree hash: %v", err)
				}
				if root != checkpoints[cpi].Root {
					return rep, bad(-1, "the first %d entries do not match the checkpoint signed at that size (%s); an entry before %d was changed and its hashes recomputed", n, checkpoints[cpi].source, n)
				}
				rep.Checkpoints++
				rep.Checked, rep.Root = n, root
				cpi++
			}
		}
	}
	if cpi < len(checkpoints) {
		cp := checkpoints[cpi]
		return rep, bad(n, "the log has %d entries, but a checkpoint was signed at size %d (%s): entries %d and later were cut", n, cp.Size, cp.source, n)
	}
	if err := leaves.end(n); err != nil {
		return rep, err
	}
	if err := upper.end(n); err != nil {
		return rep, err
	}
	if g, ok := subjects.peek(); ok {
		return rep, bad(g.seq, "subject rows for an entry that does not exist")
	}
	if err := subjects.Err(); err != nil {
		return rep, err
	}
	rep.Entries = n
	if n > 0 && rep.Checked != n {
		root, err := tlog.TreeHash(n, reader)
		if err != nil {
			return rep, err
		}
		rep.Root = root
	}
	<-mapDone
	if err := checkMap(checkpoints, mapAt, rebuilt, &rep); err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// mapCheckpoint returns the largest checkpoint that carries a resident
// map, or nil.
func mapCheckpoint(checkpoints []sourcedCheckpoint) *sourcedCheckpoint {
	var last *sourcedCheckpoint
	for i := range checkpoints {
		if checkpoints[i].ResidentMap != nil {
			last = &checkpoints[i]
		}
	}
	return last
}

// rebuiltMap is the resident map's root rebuilt from the subject rows
// (rebuiltMapRoot), or why it could not be.
type rebuiltMap struct {
	root MapHash
	err  error
}

// checkMap compares the resident map rebuilt from the log's rows (verified
// by the walk) at the largest checkpoint that carries one, last, with the
// roots signed at that size: a map that leaves out an entry concerning a
// resident, or counts one too many, is found here. Pruned entries have no
// subject rows any more, so a log with pruned entries is not checked
// (docs/design/resident-map.md).
func checkMap(checkpoints []sourcedCheckpoint, last *sourcedCheckpoint, m rebuiltMap, rep *Report) error {
	switch {
	case last == nil:
		rep.MapSkipped = "no checkpoint carries one"
		return nil
	case rep.Pruned > 0:
		rep.MapSkipped = fmt.Sprintf("%d entries are pruned", rep.Pruned)
		return nil
	case m.err != nil:
		return m.err
	}
	for _, cp := range checkpoints {
		if cp.Size == last.Size && cp.ResidentMap != nil && *cp.ResidentMap != m.root {
			return bad(-1, "the resident map signed at size %d (%s) does not match the entries: a resident's entries were left out of it or added to it", cp.Size, cp.source)
		}
	}
	rep.MapChecked = last.Size
	return nil
}

// verifying holds a token while a verification runs.
var verifying = make(chan struct{}, 1)

// checkedEntry is one entry as the decoders left it: its leaf hash, its
// content (nil when pruned), or the problem found in it alone.
type checkedEntry struct {
	seq     int64
	at      time.Time
	leaf    tlog.Hash
	entry   *entryHead
	problem error
	// clockRead says the entry records a clock that read earlier than the
	// previous entry's time (Entry.ClockRead).
	clockRead bool
}

type checkedChunk struct {
	rows []checkedEntry
	err  error
}

// verifyChunk is how many entries a decoder takes at a time.
const verifyChunk = 512

// decodeEntries reads the entries in order and checks each on its own —
// leaf hash, canonical content, position and index columns — on every
// core, delivering the results in order. Its reading goroutine closes
// entries; reading is closed when that goroutine has returned.
//
// Entries below covered are checked against a signed checkpoint later, so
// only their head is read (readHead); the others are decoded in full, which
// also checks that they are in canonical form.
func decodeEntries(ctx context.Context, entries *sql.Rows, covered int64) (decoded <-chan checkedChunk, reading <-chan struct{}) {
	type rawEntry struct {
		seq           int64
		at            time.Time
		actor, action string
		payload, leaf []byte
	}
	type job struct {
		raw  []rawEntry
		done chan checkedChunk
	}
	jobs := make(chan job, 2*runtime.GOMAXPROCS(0))
	order := make(chan chan checkedChunk, 2*runtime.GOMAXPROCS(0))
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		go func() {
			for j := range jobs {
				out := make([]checkedEntry, len(j.raw))
				for i, r := range j.raw {
					out[i] = checkOne(r.seq, r.at, r.actor, r.action, r.payload, r.leaf, r.seq < covered)
				}
				j.done <- checkedChunk{rows: out}
			}
		}()
	}
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		defer entries.Close()
		defer close(order)
		defer close(jobs)
		chunk := make([]rawEntry, 0, verifyChunk)
		send := func() bool {
			done := make(chan checkedChunk, 1)
			select {
			case order <- done:
			case <-ctx.Done():
				return false
			}
			select {
			case jobs <- job{raw: chunk, done: done}:
			case <-ctx.Done():
				return false
			}
			chunk = make([]rawEntry, 0, verifyChunk)
			return true
		}
		for entries.Next() {
			var r rawEntry
			if err := entries.Scan(&r.seq, &r.at, &r.actor, &r.action, &r.payload, &r.leaf); err != nil {
				done := make(chan checkedChunk, 1)
				done <- checkedChunk{err: fmt.Errorf("read audit entry: %w", err)}
				select {
				case order <- done:
				case <-ctx.Done():
				}
				return
			}
			chunk = append(chunk, r)
			if len(chunk) == verifyChunk && !send() {
				return
			}
		}
		if len(chunk) > 0 && !send() {
			return
		}
		if err := entries.Err(); err != nil {
			done := make(chan checkedChunk, 1)
			done <- checkedChunk{err: fmt.Errorf("read audit entries: %w", err)}
			select {
			case order <- done:
			case <-ctx.Done():
			}
		}
	}()
	out := make(chan checkedChunk)
	go func() {
		defer close(out)
		for done := range order {
			var c checkedChunk
			select {
			case c = <-done:
			case <-ctx.Done():
				return
			}
			select {
			case out <- c:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, readerDone
}

// checkOne checks what can be checked of one entry without the others.
// When signed says a checkpoint covers the entry, its content is read only
// as far as verification needs (see readHead).
func checkOne(seq int64, at time.Time, actor, action string, payload, leaf []byte, signed bool) checkedEntry {
	c := checkedEntry{seq: seq, at: at}
	if payload == nil {
		if len(leaf) != tlog.HashSize {
			c.problem = bad(seq, "pruned entry has no leaf hash")
		}
		copy(c.leaf[:], leaf)
		return c
	}
	c.leaf = tlog.RecordHash(payload)
	c.clockRead = bytes.Contains(payload, []byte(`,"clock_read":"`))
	if !bytes.Equal(c.leaf[:], leaf) {
		c.problem = bad(seq, "its content does not match its leaf hash (changed)")
		return c
	}
	var e *entryHead
	if signed {
		if h, ok := readHead(payload); ok && h.Version == FormatVersion {
			e = &h
		}
	}
	if e == nil {
		full, err := DecodeEntry(payload)
		if err != nil {
			c.problem = bad(seq, "%v", err)
			return c
		}
		h := headOf(full)
		e = &h
	}
	switch {
	case e.Seq != seq:
		c.problem = bad(seq, "holds entry %d (moved)", e.Seq)
	case !e.Time.Equal(at) || !e.Actor.is(actor) || e.Action != action:
		c.problem = bad(seq, "its index columns (time, actor, action) disagree with its content")
	}
	c.entry = e
	return c
}

// sameSnapshot begins n read-only transactions that see the audit log in
// the same state. PostgreSQL shares one snapshot between them. On SQLite,
// every transaction that writes to the log appends an entry, so
// transactions that see the same number of entries see the same log; if an
// append lands between two of them, all are begun again.
func sameSnapshot(ctx context.Context, d *db.DB, n int) ([]*db.ReadOnlyTx, error) {
	if d.Dialect() == db.Postgres {
		snaps, err := d.BeginSharedReads(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		return snaps, nil
	}
	const attempts = 20
	for range attempts {
		var snaps []*db.ReadOnlyTx
		sizes := map[int64]bool{}
		for range n {
			s, err := d.BeginRead(ctx)
			if err != nil {
				closeReads(snaps)
				return nil, fmt.Errorf("read audit log: %w", err)
			}
			snaps = append(snaps, s)
			var size int64
			if err := s.QueryRow(ctx, sizeQuery).Scan(&size); err != nil {
				closeReads(snaps)
				return nil, fmt.Errorf("read audit log size: %w", err)
			}
			sizes[size] = true
		}
		if len(sizes) == 1 {
			return snaps, nil
		}
		closeReads(snaps)
	}
	return nil, fmt.Errorf("read audit log: entries were appended between every one of %d attempts to read it as of one moment; try again", attempts)
}

// closeReads ends read-only transactions.
func closeReads(snaps []*db.ReadOnlyTx) {
	for _, s := range snaps {
		s.Close()
	}
}

type sourcedCheckpoint struct {
	*Checkpoint
	source string
}

// loadCheckpoints verifies every stored and external checkpoint and returns
// them ordered by size.
func loadCheckpoints(ctx context.Context, d db.Querier, v note.Verifier, external [][]byte) ([]sourcedCheckpoint, error) {
	rows, err := d.Query(ctx, `SELECT size, root, note FROM audit_checkpoint ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []sourcedCheckpoint
	for rows.Next() {
		var size int64
		var root []byte
		var text string
		if err := rows.Scan(&size, &root, &text); err != nil {
			return nil, fmt.Errorf("read checkpoint: %w", err)
		}
		cp, err := OpenCheckpoint([]byte(text), v)
		if err != nil {
			return nil, bad(-1, "stored checkpoint at size %d: %v", size, err)
		}
		if cp.Size != size || !bytes.Equal(cp.Root[:], root) {
			return nil, bad(-1, "stored checkpoint at size %d: its columns disagree with its signed text", size)
		}
		out = append(out, sourcedCheckpoint{cp, fmt.Sprintf("stored checkpoint %d", size)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	// Checkpoints a witness cosigned: the witness holds its own copy, so a
	// log rewritten below one of these is caught there too.
	crows, err := d.Query(ctx, `SELECT size, witness, note FROM audit_cosignature ORDER BY size`)
	if err != nil {
		return nil, fmt.Errorf("read cosigned checkpoints: %w", err)
	}
	defer crows.Close()
	for crows.Next() {
		var size int64
		var witness, text string
		if err := crows.Scan(&size, &witness, &text); err != nil {
			return nil, fmt.Errorf("read cosigned checkpoint: %w", err)
		}
		cp, err := OpenCheckpoint([]byte(text), v)
		if err != nil {
			return nil, bad(-1, "checkpoint cosigned by %s at size %d: %v", witness, size, err)
		}
		out = append(out, sourcedCheckpoint{cp, fmt.Sprintf("checkpoint cosigned by witness %s", witness)})
	}
	if err := crows.Err(); err != nil {
		return nil, fmt.Errorf("read cosigned checkpoints: %w", err)
	}
	for i, raw := range external {
		cp, err := OpenCheckpoint(raw, v)
		var unverified *note.UnverifiedNoteError
		var invalid *note.InvalidSignatureError
		switch {
		case errors.As(err, &unverified):
			// A checkpoint kept off the node was signed with the node's
			// key of the time: if the key cannot verify it now, the file
			// is another node's, or the key was replaced (as someone
			// rewriting the log and its checkpoints would have to).
			return nil, bad(-1, "external checkpoint %d is not signed by this node's key %s: it is another node's checkpoint, or this node's key was replaced since it was signed", i+1, v.Name())
		case errors.As(err, &invalid):
			return nil, bad(-1, "external checkpoint %d: its signature by this node's key does not verify: the file was altered", i+1)
		case err != nil:
			return nil, fmt.Errorf("external checkpoint %d: %w", i+1, err)
		}
		out = append(out, sourcedCheckpoint{cp, "external checkpoint"})
	}
	out = slices.DeleteFunc(out, func(c sourcedCheckpoint) bool { return c.Size == 0 })
	slices.SortStableFunc(out, func(a, b sourcedCheckpoint) int { return cmp.Compare(a.Size, b.Size) })
	return out, nil
}

// checkSubjects checks the subject rows of entry n against the count and
// digest the entry holds (e nil: a pruned entry, which must have none).
func checkSubjects(subjects *cursor[subjectGroup], n int64, e *entryHead) error {
	var g subjectGroup
	if next, ok := subjects.peek(); ok && next.seq <= n {
		if next.seq < n {
			return bad(next.seq, "subject %s stored for an entry out of order", next.first)
		}
		g, _ = subjects.next()
	} else if err := subjects.Err(); err != nil {
		return err
	}
	if e == nil {
		if g.count > 0 {
			return bad(n, "pruned entry still has subject rows")
		}
		return nil
	}
	if g.count != e.SubjectCount || g.digest != e.SubjectDigest {
		return bad(n, "its subject rows (residents concerned, provision records) were changed: %d stored, %d in the entry", g.count, e.SubjectCount)
	}
	return nil
}

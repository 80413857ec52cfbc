// Package tilelog is a storage engine for a tamper-evident log: an
// append-only, group-committed record log in a folder of segment files, with
// the Merkle tree of golang.org/x/mod/sumdb/tlog over its records kept beside
// it (hash tiles, verify from the files). The node does not use it yet: its
// audit log keeps entries as SQL rows, made durable first by the audit
// journal (internal/auditlog, journal.go); this engine is the next step for
// verify's speed and for serving tiles from files (docs/design/audit-storage.md).
//
// Callers append with Append: one writer goroutine runs each caller's build
// function in seq order, writes what has queued as one group (one write, one
// sync), and releases the group's callers once it is durable, in seq order.
// Up to Options.InFlight groups write and sync at once, so a lone caller is
// never held behind another's sync. Durability of seq N implies durability
// of every seq below N.
//
// The folder holds
//
//   - seg-NNNNNNNNNNNNNNNNNNNN.log: the records (named by first seq,
//     preallocated, synced; the format is in format.go);
//   - hashes: the dense array of tlog stored hashes (index
//     tlog.StoredHashIndex, 32 bytes each), so the Journal is a
//     tlog.HashReader answering with preads;
//   - offsets: a u64 per seq, where its record starts in its segment.
//
// The hashes and offsets are derived data, written without sync; the writer
// syncs them when it starts a new segment, and Open recomputes them from the
// last segment's records (or from wherever either file falls short).
//
// See README.md for the recovery rules and the measurements.
package tilelog

-- +goose Up
-- The audit log: one row per entry, the leaf of a Merkle tree (RFC 6962).
-- payload is the canonical entry the leaf hash covers; at, actor_id and
-- action repeat payload fields for queries, and audit verify checks they agree.
CREATE TABLE audit_entry (
    seq       INTEGER PRIMARY KEY,      -- leaf index, from 0, no gaps
    at        TIMESTAMP NOT NULL,
    actor_id  TEXT NOT NULL,
    action    TEXT NOT NULL,
    payload   BLOB,                     -- NULL once pruned
    leaf_hash BLOB NOT NULL,
    pruned_at TIMESTAMP
);
CREATE INDEX audit_entry_at ON audit_entry (at);
CREATE INDEX audit_entry_actor ON audit_entry (actor_id, seq);

-- The tree's stored hashes (golang.org/x/mod/sumdb/tlog indexes).
CREATE TABLE audit_hash (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

-- Residents an entry concerns (with the entry's provision, 提供状況). The
-- entry holds a digest of these rows, so audit verify finds any row added,
-- changed or removed (and rows of entries that do not exist): no foreign
-- key is needed, and none is paid for on every append.
CREATE TABLE audit_subject (
    seq           INTEGER NOT NULL,
    resident_code TEXT NOT NULL,
    PRIMARY KEY (seq, resident_code)
) WITHOUT ROWID;
CREATE INDEX audit_subject_resident ON audit_subject (resident_code, seq);

-- Signed checkpoints (C2SP signed note) of the tree.
CREATE TABLE audit_checkpoint (
    size   INTEGER PRIMARY KEY,
    root   BLOB NOT NULL,
    note   TEXT NOT NULL,
    at     TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE audit_checkpoint;
DROP TABLE audit_subject;
DROP TABLE audit_hash;
DROP TABLE audit_entry;

-- +goose Up
-- At a witness (the upstream node, or the national node's designated
-- witness): a copy of each downstream node's audit entries, shipped before
-- the checkpoint that covers them (POST /federation/v1/entries), so that a
-- node restored from a backup gets back every entry its witness cosigned
-- (jukinet recover, internal/federation/recover.go). payload is the
-- canonical entry the leaf hash covers (NULL for an entry the node had
-- already pruned: then only its leaf hash); subjects are the resident codes
-- of audit_subject, sorted, one per line, which the entry binds by digest.
-- Entries beyond the last cosigned size are held until the checkpoint that
-- covers them arrives, and dropped if it does not match them.
CREATE TABLE fed_witness_entry (
    peer      TEXT NOT NULL,
    seq       BIGINT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,       -- the entry's time, actor and action,
    actor_id  TEXT NOT NULL,           -- as audit_entry keeps them
    action    TEXT NOT NULL,
    payload   BYTEA,
    leaf_hash BYTEA NOT NULL,
    subjects  TEXT NOT NULL,
    PRIMARY KEY (peer, seq)
);

-- The right edge of the node's tree at the cosigned size (the hashes of its
-- largest complete subtrees, left to right, base64, one per line): with it
-- the witness computes the root of the next checkpoint from the entries
-- shipped since. NULL where the witness cosigned before it kept entries
-- (the node sends it with its next entries, checked against the root).
ALTER TABLE fed_witnessed ADD COLUMN frontier TEXT;

-- At a node restored from a backup (jukinet recover): its downstream
-- sources have sent changes it no longer holds, so a batch from one of them
-- that starts after the last change applied here is not a gap to alert on:
-- the source is asked to send again from there (until a batch applies).
ALTER TABLE fed_inbox ADD COLUMN restored_at TIMESTAMPTZ;

-- +goose Down
ALTER TABLE fed_inbox DROP COLUMN restored_at;
ALTER TABLE fed_witnessed DROP COLUMN frontier;
DROP TABLE fed_witness_entry;

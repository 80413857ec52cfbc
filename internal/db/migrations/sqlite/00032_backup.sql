-- +goose Up
-- Backups of the node (koto-ward:4 continuity, 7.2 prompt recovery;
-- internal/backup): every backup tried, in the transaction of its audit
-- entry (seq): who took it, when, where it went, whether it succeeded (or
-- why not), its size and SHA-256, whom it is encrypted to, what it holds
-- (audit entries, the checkpoint it ends at, register rows) and the form it
-- is in the forms register (帳票管理簿, form_id). A generation removed from
-- the folder, erased by the node, keeps its row with removed_at/removed_seq.
CREATE TABLE backup (
    id              INTEGER PRIMARY KEY,
    name            TEXT NOT NULL,            -- the archive's file name
    folder          TEXT NOT NULL,            -- where it was written
    taken_at        TIMESTAMP NOT NULL,
    taken_by        TEXT NOT NULL,
    ok              BOOLEAN NOT NULL,
    error           TEXT NOT NULL DEFAULT '',
    size_bytes      INTEGER NOT NULL DEFAULT 0,
    digest          TEXT NOT NULL DEFAULT '',  -- SHA-256 of the archive's bytes, hex
    encrypted_to    TEXT NOT NULL DEFAULT '',  -- age recipients, space-separated; '' = not encrypted
    entries         INTEGER NOT NULL DEFAULT 0,
    checkpoint_size INTEGER NOT NULL DEFAULT 0,
    rows_total      INTEGER NOT NULL DEFAULT 0,
    millis          INTEGER NOT NULL DEFAULT 0, -- how long it took
    form_id         INTEGER REFERENCES form (id),
    seq             INTEGER NOT NULL,
    removed_at      TIMESTAMP,
    removed_seq     INTEGER
);
CREATE INDEX backup_taken ON backup (taken_at);

-- +goose Down
DROP TABLE backup;

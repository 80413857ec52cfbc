-- +goose Up
-- Witnessed checkpoints. At the witness (the upstream node): the latest
-- checkpoint it cosigned for each downstream node. At the node: the
-- cosigned checkpoints it received, which audit verify checks.
CREATE TABLE fed_witnessed (
    peer  TEXT PRIMARY KEY,
    size  INTEGER NOT NULL,
    root  TEXT NOT NULL,                    -- base64, as in the checkpoint
    note  TEXT NOT NULL,
    at    TIMESTAMP NOT NULL
);
CREATE TABLE audit_cosignature (
    size    INTEGER NOT NULL,
    witness TEXT NOT NULL,                  -- the witness's key name
    note    TEXT NOT NULL,                  -- the checkpoint with both signatures
    at      TIMESTAMP NOT NULL,
    PRIMARY KEY (size, witness)
);

-- +goose Down
DROP TABLE audit_cosignature;
DROP TABLE fed_witnessed;

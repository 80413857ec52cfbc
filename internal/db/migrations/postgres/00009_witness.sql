-- +goose Up
-- Witnessed checkpoints. At the witness (the upstream node): the latest
-- checkpoint it cosigned for each downstream node. At the node: the
-- cosigned checkpoints it received, which audit verify checks.
CREATE TABLE fed_witnessed (
    peer  TEXT PRIMARY KEY,
    size  BIGINT NOT NULL,
    root  TEXT NOT NULL,                    -- base64, as in the checkpoint
    note  TEXT NOT NULL,
    at    TIMESTAMPTZ NOT NULL
);
CREATE TABLE audit_cosignature (
    size    BIGINT NOT NULL,
    witness TEXT NOT NULL,                  -- the witness's key name
    note    TEXT NOT NULL,                  -- the checkpoint with both signatures
    at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (size, witness)
);

-- +goose Down
DROP TABLE audit_cosignature;
DROP TABLE fed_witnessed;

-- +goose Up
-- The node this database belongs to: one row, written by `jukinet init`.
CREATE TABLE node (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    local_gov_code TEXT NOT NULL,
    level          TEXT NOT NULL CHECK (level IN ('municipality', 'prefecture', 'national')),
    profile        TEXT NOT NULL,
    public_key     TEXT NOT NULL,
    demo           INTEGER NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE node;

-- +goose Up
-- Bodies the node provides identity information to (別表 recipients of a
-- prefecture or the national node), with the affairs each may ask for.
-- They authenticate with client certificates (CN recipient:ID) from the
-- node's CA.
CREATE TABLE recipient (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    category   TEXT NOT NULL,               -- 別表第一 …
    affairs    TEXT NOT NULL,               -- affair ids, space-separated
    added_at   TIMESTAMPTZ NOT NULL,
    added_seq  BIGINT NOT NULL,
    removed_at TIMESTAMPTZ
);

-- +goose Down
DROP TABLE recipient;

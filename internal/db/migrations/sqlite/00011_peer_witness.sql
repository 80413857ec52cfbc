-- +goose Up
-- The national node has no upstream: one of its peers, marked here, cosigns
-- its audit-log checkpoints instead.
ALTER TABLE fed_peer ADD COLUMN witness INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE fed_peer DROP COLUMN witness;

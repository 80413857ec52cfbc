-- +goose Up
-- The national node has no upstream: one of its peers, marked here, cosigns
-- its audit-log checkpoints instead.
ALTER TABLE fed_peer ADD COLUMN witness BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE fed_peer DROP COLUMN witness;

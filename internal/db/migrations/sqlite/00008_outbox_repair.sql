-- +goose Up
-- A version queued again by a consistency check's repair: the upstream
-- restores it even where its own copy was altered in place.
ALTER TABLE fed_outbox ADD COLUMN repair INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE fed_outbox DROP COLUMN repair;

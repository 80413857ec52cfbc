-- +goose Up
-- Nothing to do on PostgreSQL: its tables are heaps with separate indexes.
-- (On SQLite this migration makes name_key a WITHOUT ROWID table.)
SELECT 1;

-- +goose Down
SELECT 1;

-- +goose Up
-- The audit log's Merkle tree as C2SP tlog-tiles (golang.org/x/mod/sumdb/tlog
-- tiles of height 8): tile (level, idx) holds the tree's hashes at tree level
-- 8*level, positions idx*256 .. idx*256+W-1, left to right, 32 bytes each
-- (1 <= W <= 256). Only tree levels that are multiples of 8 are kept; every
-- other hash is computed from a tile. The rightmost tile of each level is
-- partial (W < 256) and grows with the log. Migration 35 (a Go migration,
-- internal/db/tilemigration.go) moves the hashes of audit_hash here.
CREATE TABLE audit_tile (
    level  INTEGER NOT NULL,
    idx    BIGINT NOT NULL,
    hashes BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
-- Hashes do not compress: a tile over 2 KB is stored out of line as it is,
-- without PostgreSQL first trying to compress it at every append.
ALTER TABLE audit_tile ALTER COLUMN hashes SET STORAGE EXTERNAL;

-- +goose Down
DROP TABLE audit_tile;

-- +goose Up
-- The resident map (住民別索引, internal/auditlog/resmap.go): for every
-- resident the audit log concerns, how many entries concern them and the hash
-- chain over those entries' leaf hashes, committed by a sparse Merkle tree
-- whose root is in every signed checkpoint (its extension line). A resident's
-- disclosure proves with it that no entry concerning them was left out.
-- Written in the transaction that stores the checkpoint, so the map always
-- describes exactly the tree of the latest checkpoint (audit_map_state.size).
CREATE TABLE audit_resident (
    resident_code TEXT PRIMARY KEY,
    entries       BIGINT NOT NULL,      -- entries concerning the resident
    chain         BLOB NOT NULL,        -- the chain over their leaf hashes
    last_seq      BIGINT NOT NULL       -- the newest of them
);

-- The map's nodes, by their path from the root (2 bytes of depth, then the
-- path's bits). leaf_key and leaf_value are set on a leaf (the one resident
-- under the path: the hash of their code, and of their count and chain); an
-- interior node has neither. Absent paths are empty subtrees.
CREATE TABLE audit_map_node (
    prefix     BLOB PRIMARY KEY,
    leaf_key   BLOB,
    leaf_value BLOB,
    hash       BLOB NOT NULL
);

-- The size of the tree the map describes (one row).
CREATE TABLE audit_map_state (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    size BIGINT NOT NULL
);
INSERT INTO audit_map_state (id, size) VALUES (1, 0);

-- +goose Down
DROP TABLE audit_map_state;
DROP TABLE audit_map_node;
DROP TABLE audit_resident;

-- +goose Up
-- Search keys are found again by recomputing them from the version they were
-- made from, not through an index by resident: that index held a copy of
-- every key (2.5 million at 1,000,000 residents) and was the largest one an
-- import built. Recomputing needs the keys made by the folding in use, so
-- the folding version the keys were made with is kept, and a node whose
-- folding changed rebuilds them at start (records.EnsureKeys).
DROP INDEX name_key_resident;
CREATE TABLE search_key_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    folding TEXT NOT NULL      -- jptext.KeyVersion the stored keys were made with
);

-- +goose Down
DROP TABLE search_key_version;
CREATE INDEX name_key_resident ON name_key (resident_id);

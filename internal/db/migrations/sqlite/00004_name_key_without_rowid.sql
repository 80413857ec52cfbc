-- +goose Up
-- name_key as a WITHOUT ROWID table: its primary key is the table, so each
-- search key costs two B-tree insertions (key, resident) instead of three.
CREATE TABLE name_key_new (
    key           TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES resident (id),
    kind          TEXT NOT NULL,
    PRIMARY KEY (key, date_of_birth, resident_id, kind)
) WITHOUT ROWID;
INSERT INTO name_key_new SELECT key, date_of_birth, resident_id, kind FROM name_key;
DROP TABLE name_key;
ALTER TABLE name_key_new RENAME TO name_key;
CREATE INDEX name_key_resident ON name_key (resident_id);

-- +goose Down
CREATE TABLE name_key_old (
    key           TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES resident (id),
    kind          TEXT NOT NULL,
    PRIMARY KEY (key, date_of_birth, resident_id, kind)
);
INSERT INTO name_key_old SELECT key, date_of_birth, resident_id, kind FROM name_key;
DROP TABLE name_key;
ALTER TABLE name_key_old RENAME TO name_key;
CREATE INDEX name_key_resident ON name_key (resident_id);

-- +goose Up
-- Search by date of birth first (docs/search.md): a surname or a kana
-- prefix with a date of birth is a range of this index (date_of_birth =,
-- key between the prefix and its end), and a date of birth with an address
-- reads the day's residents from it. The name_key primary key (key first)
-- serves a name, a surname or a kana prefix without a date of birth.
-- Keys compare byte by byte, as on SQLite, whatever the database's
-- collation: a prefix range (key >= 'ワタナ' AND key < 'ワタナ' || U+10FFFF)
-- then holds exactly the keys that start with the prefix, and the imports'
-- sorted inserts (records.insertKeysSorted) follow the index's order.
ALTER TABLE name_key ALTER COLUMN key TYPE TEXT COLLATE "C";
CREATE INDEX name_key_birth ON name_key (date_of_birth, key);

-- +goose Down
DROP INDEX name_key_birth;
ALTER TABLE name_key ALTER COLUMN key TYPE TEXT COLLATE "default";

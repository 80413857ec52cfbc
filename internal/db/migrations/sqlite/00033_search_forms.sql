-- +goose Up
-- Search by date of birth first (docs/search.md): a surname or a kana
-- prefix with a date of birth is a range of this index (date_of_birth =,
-- key between the prefix and its end), and a date of birth with an address
-- reads the day's residents from it. The name_key primary key (key first)
-- serves a name, a surname or a kana prefix without a date of birth.
CREATE INDEX name_key_birth ON name_key (date_of_birth, key);

-- +goose Down
DROP INDEX name_key_birth;

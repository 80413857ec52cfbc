-- +goose Up
-- The identity register (本人確認情報), written only through the gate.
-- A resident's current state; search columns repeat the current version.
CREATE TABLE resident (
    id                INTEGER PRIMARY KEY,
    resident_code     TEXT NOT NULL UNIQUE,     -- current 住民票コード
    individual_number TEXT NOT NULL,            -- current 個人番号
    version           INTEGER NOT NULL,         -- current version number
    record_id         INTEGER NOT NULL,         -- current identity_record
    content_hash      TEXT NOT NULL,            -- of the current version's content
    local_gov_code    TEXT NOT NULL,
    removed           INTEGER NOT NULL,         -- 除票
    date_of_birth     TEXT NOT NULL,            -- YYYY-MM-DD
    sex               INTEGER NOT NULL,
    address_key       TEXT NOT NULL
);
CREATE INDEX resident_number ON resident (individual_number);

-- Every version of every record; a change adds a row, never overwrites one.
CREATE TABLE identity_record (
    id                  INTEGER PRIMARY KEY,
    resident_id         INTEGER NOT NULL REFERENCES resident (id),
    version             INTEGER NOT NULL,
    resident_code       TEXT NOT NULL,
    individual_number   TEXT NOT NULL,
    family_name         TEXT NOT NULL,
    given_name          TEXT NOT NULL,
    family_name_kana    TEXT NOT NULL,
    given_name_kana     TEXT NOT NULL,
    former_surname      TEXT NOT NULL,
    former_surname_kana TEXT NOT NULL,
    alias               TEXT NOT NULL,
    alias_kana          TEXT NOT NULL,
    date_of_birth       TEXT NOT NULL,
    sex                 INTEGER NOT NULL,
    address             TEXT NOT NULL,
    local_gov_code      TEXT NOT NULL,
    change_reason       TEXT NOT NULL,
    change_date         TEXT NOT NULL,
    removed             INTEGER NOT NULL,
    retain_until        TEXT NOT NULL,          -- YYYY-MM-DD, or '' while current
    content_hash        TEXT NOT NULL,
    audit_seq           INTEGER NOT NULL,       -- the audit entry that made this version
    UNIQUE (resident_id, version)
);
CREATE INDEX identity_record_code ON identity_record (resident_code);
CREATE INDEX identity_record_number ON identity_record (individual_number);

-- Search keys (jptext) of the current version: name, kana, alias, former surname.
CREATE TABLE name_key (
    key           TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    resident_id   INTEGER NOT NULL REFERENCES resident (id),
    kind          TEXT NOT NULL,
    PRIMARY KEY (key, date_of_birth, resident_id, kind)
);
CREATE INDEX name_key_resident ON name_key (resident_id);

-- +goose Down
DROP TABLE name_key;
DROP TABLE identity_record;
DROP TABLE resident;

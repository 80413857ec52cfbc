-- +goose Up
-- Information assets (情報資産, aomori-pref:2.4, 4.2, 4.3, 5; koto-ward:14;
-- internal/asset): equipment, programs, data sets and media, each with the
-- staff member who manages it. Terminals are not here: they are
-- staff_terminal, shown in the register from there. An asset is registered
-- and retired in the transaction of its audit entry (seq, retired_seq); a
-- retired asset that held data carries the record of how its media were
-- erased or destroyed, by whom, witnessed by whom and on which day.
CREATE TABLE asset (
    id                 TEXT PRIMARY KEY,      -- the asset's identifier (管理番号)
    kind               TEXT NOT NULL,         -- server, network, program, dataset, media
    name               TEXT NOT NULL,
    location           TEXT NOT NULL,
    manager_person_id  INTEGER NOT NULL REFERENCES staff_person (id),
    holds_data         BOOLEAN NOT NULL,
    installed_on       TEXT NOT NULL,         -- YYYY-MM-DD (JST)
    registered_by      TEXT NOT NULL,
    registered_at      TIMESTAMP NOT NULL,
    seq                INTEGER NOT NULL,
    retired_on         TEXT,                  -- YYYY-MM-DD (JST); NULL while in use
    retired_by         TEXT,
    retired_seq        INTEGER,
    retire_reason      TEXT,
    erasure_method     TEXT,                  -- overwrite, degauss, destroy
    erased_by          TEXT,
    erasure_witness_id INTEGER REFERENCES staff_person (id),
    erased_on          TEXT                   -- YYYY-MM-DD (JST)
);
CREATE INDEX asset_manager ON asset (manager_person_id);

-- +goose Down
DROP TABLE asset;

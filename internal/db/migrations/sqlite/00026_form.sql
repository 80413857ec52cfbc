-- +goose Up
-- The forms register (帳票管理簿, koto-ward:14; aomori-pref:4.2;
-- internal/form): every document and file the node produces (PDF, CSV,
-- batch files) gets a control number per fiscal year, reserved before the
-- document is rendered (the number is printed on it) and issued in the
-- transaction of the export's audit entry (issued_seq) with who, when, what,
-- what it covers, how many residents it concerns and where it went. A number
-- reserved whose export then failed stays in the register as void (欠番).
-- Later steps (stored, taken out, returned, handed over, disposed) are rows of
-- form_step, each in the transaction of its audit entry.
CREATE TABLE form_counter (
    fiscal_year INTEGER PRIMARY KEY,   -- 2026 = 令和8年度 (April 2026 to March 2027)
    last_serial INTEGER NOT NULL
);

CREATE TABLE form (
    id           INTEGER PRIMARY KEY,
    fiscal_year  INTEGER NOT NULL,
    serial       INTEGER NOT NULL,
    state        TEXT NOT NULL,              -- reserved, void, issued, stored, taken-out, handed-over, disposed
    kind         TEXT NOT NULL DEFAULT '',   -- audit-log, usage-status, sysaudit-report, resident-export, existing
    format       TEXT NOT NULL DEFAULT '',   -- pdf, csv (paper: an existing form)
    title        TEXT NOT NULL DEFAULT '',
    covers       TEXT NOT NULL DEFAULT '',   -- the period or filter it covers
    residents    INTEGER NOT NULL DEFAULT 0, -- how many residents it concerns
    size_bytes   INTEGER NOT NULL DEFAULT 0,
    digest       TEXT NOT NULL DEFAULT '',   -- SHA-256 of the exact bytes, hex
    destination  TEXT NOT NULL DEFAULT '',   -- where it went / where it is now
    due_on       TEXT,                       -- YYYY-MM-DD (JST): to be returned or disposed of by then
    reserved_by  TEXT NOT NULL,
    reserved_at  TIMESTAMP NOT NULL,
    issued_by    TEXT NOT NULL DEFAULT '',
    issued_at    TIMESTAMP,
    issued_seq   INTEGER,
    void_reason  TEXT NOT NULL DEFAULT '',
    UNIQUE (fiscal_year, serial)
);
CREATE INDEX form_state ON form (state, due_on);
CREATE INDEX form_digest ON form (digest);

CREATE TABLE form_step (
    id           INTEGER PRIMARY KEY,
    form_id      INTEGER NOT NULL REFERENCES form (id),
    step         TEXT NOT NULL,              -- store, take-out, return, hand-over, dispose
    day          TEXT NOT NULL,              -- YYYY-MM-DD (JST)
    place        TEXT NOT NULL DEFAULT '',   -- the place kept, the person or body it went to
    until_on     TEXT,                       -- a take-out: the day it is due back
    method       TEXT NOT NULL DEFAULT '',   -- a disposal: shred, dissolve, incinerate, erase
    done_by      TEXT NOT NULL DEFAULT '',   -- a disposal: who did it
    witness      TEXT NOT NULL DEFAULT '',   -- a disposal: the witness's verification id
    note         TEXT NOT NULL DEFAULT '',
    recorded_by  TEXT NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    seq          INTEGER NOT NULL
);
CREATE INDEX form_step_form ON form_step (form_id);

-- Program changes (koto-ward:14; aomori-pref:4.3): the node's version and
-- the digest of its profile and policies when it starts; a start with either
-- different from the last row records a change, unapproved until the
-- administrator the policies name approves it with a note.
CREATE TABLE program_change (
    id             INTEGER PRIMARY KEY,
    previous_id    INTEGER UNIQUE REFERENCES program_change (id),
    version        TEXT NOT NULL,
    profile_id     TEXT NOT NULL,
    profile_digest TEXT NOT NULL,
    detected_at    TIMESTAMP NOT NULL,
    detected_seq   INTEGER NOT NULL,
    baseline       BOOLEAN NOT NULL,         -- the first record: the program in place when the register began
    approved_by    TEXT NOT NULL DEFAULT '',
    approved_at    TIMESTAMP,
    approved_seq   INTEGER,
    note           TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE program_change;
DROP TABLE form_step;
DROP TABLE form;
DROP TABLE form_counter;

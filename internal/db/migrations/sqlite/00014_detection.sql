-- +goose Up
-- Detection of improper use (不正利用の検知, koto-ward:8, aomori-pref:8).
-- An alert is one rule's finding for one day (JST) and one subject: an
-- actor (kind:id) or a resident code. It is raised and updated by the
-- node's detection runs, each logged, and closed by a person with a
-- finding, logged too.
CREATE TABLE detection_alert (
    id INTEGER PRIMARY KEY,
    rule        TEXT NOT NULL,          -- after-hours, volume, crowd, denials
    day         TEXT NOT NULL,          -- YYYY-MM-DD in Japan Standard Time
    subject     TEXT NOT NULL,          -- actor (kind:id) or 住民票コード
    count       INTEGER NOT NULL,          -- what the rule counted
    detail      TEXT NOT NULL,          -- what was found, in English
    detail_ja   TEXT NOT NULL,          -- and in Japanese
    first_seq   INTEGER NOT NULL,          -- the audit entries it rests on
    last_seq    INTEGER NOT NULL,
    raised_at   TIMESTAMP NOT NULL,
    raised_seq  INTEGER NOT NULL,          -- the detection run that raised it
    state       TEXT NOT NULL,          -- open or closed
    closed_count INTEGER,                  -- count when it was closed (reopened if it grows)
    closed_by   TEXT,
    closed_at   TIMESTAMP,
    closed_seq  INTEGER,
    finding     TEXT,
    UNIQUE (rule, day, subject)
);
CREATE INDEX detection_alert_state ON detection_alert (state, day);

-- How far the detection runs have read the audit log.
CREATE TABLE detection_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    scanned_seq INTEGER NOT NULL
);
INSERT INTO detection_state (id, scanned_seq) VALUES (1, -1);

-- +goose Down
DROP TABLE detection_state;
DROP TABLE detection_alert;

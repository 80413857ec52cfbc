-- +goose Up
-- Staff, terminals, designations, approvals, the enrolment register and
-- suspensions (internal/staff). Every change is made in the transaction of
-- its audit entry, whose sequence number the row keeps (…_seq).

-- Bumped by every change here, so a policy engine in any process knows its
-- picture of the staff is stale.
CREATE TABLE staff_state (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO staff_state (id, version) VALUES (1, 0);

-- People who work with the system; verification_id is the 照合ID.
CREATE TABLE staff_person (
    id              INTEGER PRIMARY KEY,
    verification_id TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    name_kana       TEXT NOT NULL,
    department_id   TEXT NOT NULL,
    title           TEXT NOT NULL,          -- 職 (e.g. 区民課長, 主事)
    active          INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    created_seq     INTEGER NOT NULL,
    left_at         TIMESTAMP,
    left_reason     TEXT NOT NULL DEFAULT '', -- transfer, retirement …
    left_seq        INTEGER
);

-- Roles held (system administrator; security officer of a department …).
CREATE TABLE staff_role (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES staff_person (id),
    role          TEXT NOT NULL,
    department_id TEXT NOT NULL,             -- '' for a node-wide role
    started_at    TIMESTAMP NOT NULL,
    started_seq   INTEGER NOT NULL,
    ended_at      TIMESTAMP,
    ended_seq     INTEGER
);
CREATE INDEX staff_role_person ON staff_role (person_id);

-- Terminal operators (取扱者) and the affairs each may process (koto-ward:12.1).
CREATE TABLE staff_designation (
    id            INTEGER PRIMARY KEY,
    person_id     INTEGER NOT NULL REFERENCES staff_person (id),
    affair_id     TEXT NOT NULL,
    designated_by TEXT NOT NULL,             -- actor
    started_at    TIMESTAMP NOT NULL,
    started_seq   INTEGER NOT NULL,
    ended_at      TIMESTAMP,
    ended_by      TEXT NOT NULL DEFAULT '',
    ended_seq     INTEGER
);
CREATE INDEX staff_designation_person ON staff_designation (person_id);

-- Terminals (端末機), installed with the system administrator's approval,
-- with their terminal manager (aomori-pref:6).
CREATE TABLE staff_terminal (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    department_id       TEXT NOT NULL,
    location            TEXT NOT NULL,
    approved_by         TEXT NOT NULL,
    approved_at         TIMESTAMP NOT NULL,
    approved_seq        INTEGER NOT NULL,
    manager_person_id   INTEGER REFERENCES staff_person (id),
    manager_title       TEXT NOT NULL DEFAULT '',
    manager_reported_at TIMESTAMP,
    retired_at          TIMESTAMP,
    retired_seq         INTEGER
);

-- A department's approved use of an affair (aomori-pref:7).
CREATE TABLE staff_usage_approval (
    id            INTEGER PRIMARY KEY,
    department_id TEXT NOT NULL,
    affair_id     TEXT NOT NULL,
    purpose       TEXT NOT NULL,             -- 事務の内容
    staff         TEXT NOT NULL,             -- 取り扱う職員等
    approved_by   TEXT NOT NULL,
    approved_at   TIMESTAMP NOT NULL,
    approved_seq  INTEGER NOT NULL,
    ended_at      TIMESTAMP,
    ended_seq     INTEGER
);

-- The enrolment register (照合情報認証管理簿, koto-ward:13): every
-- verification credential, who registered it and when, and its removal.
CREATE TABLE staff_credential (
    id             INTEGER PRIMARY KEY,
    person_id      INTEGER NOT NULL REFERENCES staff_person (id),
    credential_id  BLOB NOT NULL UNIQUE,
    data           TEXT NOT NULL,            -- the authenticator's public key and flags (JSON)
    label          TEXT NOT NULL,
    registered_by  TEXT NOT NULL,
    registered_at  TIMESTAMP NOT NULL,
    registered_seq INTEGER NOT NULL,
    removed_at     TIMESTAMP,
    removed_by     TEXT NOT NULL DEFAULT '',
    removed_reason TEXT NOT NULL DEFAULT '',
    removed_seq    INTEGER
);
CREATE INDEX staff_credential_person ON staff_credential (person_id);

-- Suspensions (利用停止, koto-ward:7.1).
CREATE TABLE suspension (
    id          INTEGER PRIMARY KEY,
    scope       TEXT NOT NULL,               -- node, department, terminal, operator, affair
    target      TEXT NOT NULL,               -- '' for the node
    reason      TEXT NOT NULL,
    ordered_by  TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    started_seq INTEGER NOT NULL,
    lifted_at   TIMESTAMP,
    lifted_by   TEXT NOT NULL DEFAULT '',
    lifted_seq  INTEGER
);

-- +goose Down
DROP TABLE suspension;
DROP TABLE staff_credential;
DROP TABLE staff_usage_approval;
DROP TABLE staff_terminal;
DROP TABLE staff_designation;
DROP TABLE staff_role;
DROP TABLE staff_person;
DROP TABLE staff_state;

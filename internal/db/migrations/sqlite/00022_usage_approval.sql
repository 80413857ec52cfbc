-- +goose Up
-- Usage approvals (利用の承認, aomori-pref:7; koto-ward:12.1; internal/approval):
-- a department applies to start using an affair (the affair, what the work is,
-- why, the terminals and the staff who will handle the information, the
-- period); the system administrator approves or refuses it with a reason;
-- the department notifies its end (7.2), which ends the designations for the
-- affair; the status reports asked for (7.3) are recorded with a digest of
-- what was submitted. Every change is made in the transaction of its audit
-- entry (seq) and bumps staff_state.version, so every policy engine rebuilds.
CREATE TABLE usage_approval (
    id              INTEGER PRIMARY KEY,
    department_id   TEXT NOT NULL,
    affair_id       TEXT NOT NULL,
    purpose         TEXT NOT NULL,      -- 事務の内容
    reason          TEXT NOT NULL,      -- why the use is needed (利用の理由)
    starts_on       TEXT NOT NULL,      -- first day, YYYY-MM-DD (JST)
    ends_on         TEXT NOT NULL,      -- last day, YYYY-MM-DD (JST)
    state           TEXT NOT NULL,      -- applied, approved, refused, withdrawn, ended
    applied_by      TEXT NOT NULL,
    applied_at      TIMESTAMP NOT NULL,
    applied_seq     INTEGER NOT NULL,
    decided_by      TEXT NOT NULL DEFAULT '',
    decided_at      TIMESTAMP,
    decided_seq     INTEGER,
    decision_reason TEXT NOT NULL DEFAULT '',
    ended_by        TEXT NOT NULL DEFAULT '',
    ended_at        TIMESTAMP,
    ended_seq       INTEGER,
    end_reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX usage_approval_department ON usage_approval (department_id, affair_id);
CREATE TABLE usage_approval_terminal (
    approval_id INTEGER NOT NULL REFERENCES usage_approval (id),
    terminal_id TEXT NOT NULL,
    PRIMARY KEY (approval_id, terminal_id)
);
CREATE TABLE usage_approval_operator (
    approval_id INTEGER NOT NULL REFERENCES usage_approval (id),
    person_id   INTEGER NOT NULL REFERENCES staff_person (id),
    PRIMARY KEY (approval_id, person_id)
);
-- Status reports (利用状況報告, aomori-pref:7.3): asked for by the system
-- administrator, submitted by the department with a digest of the report.
CREATE TABLE usage_report (
    id             INTEGER PRIMARY KEY,
    approval_id    INTEGER NOT NULL REFERENCES usage_approval (id),
    period_from    TEXT NOT NULL,       -- YYYY-MM-DD (JST)
    period_to      TEXT NOT NULL,       -- YYYY-MM-DD (JST)
    requested_by   TEXT NOT NULL,
    requested_at   TIMESTAMP NOT NULL,
    requested_seq  INTEGER NOT NULL,
    due_on         TEXT NOT NULL,       -- YYYY-MM-DD (JST)
    submitted_by   TEXT NOT NULL DEFAULT '',
    submitted_at   TIMESTAMP,
    submitted_seq  INTEGER,
    digest         TEXT NOT NULL DEFAULT '',   -- SHA-256 of the submitted CSV
    summary        TEXT NOT NULL DEFAULT '',   -- the counts, as submitted
    note           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX usage_report_approval ON usage_report (approval_id);
-- The designations an approval made: ending it ends them.
ALTER TABLE staff_designation ADD COLUMN approval_id INTEGER REFERENCES usage_approval (id);

-- Approvals recorded before the workflow (staff approve) carry over as
-- approved, from the day they were recorded (UTC) to 9999-12-31 (no end was
-- recorded), with the department's terminals in use and its staff
-- designated for the affair.
INSERT INTO usage_approval (id, department_id, affair_id, purpose, reason, starts_on, ends_on, state,
    applied_by, applied_at, applied_seq, decided_by, decided_at, decided_seq, decision_reason, ended_by, ended_at, ended_seq, end_reason)
SELECT id, department_id, affair_id, purpose, '取り扱う職員等: ' || staff, substr(approved_at, 1, 10), '9999-12-31',
    CASE WHEN ended_at IS NULL THEN 'approved' ELSE 'ended' END,
    approved_by, approved_at, approved_seq, approved_by, approved_at, approved_seq, '承認の手続の導入前の承認', '', ended_at, ended_seq, ''
FROM staff_usage_approval;
INSERT INTO usage_approval_terminal (approval_id, terminal_id)
SELECT a.id, t.id FROM usage_approval a JOIN staff_terminal t ON t.department_id = a.department_id AND t.retired_at IS NULL;
INSERT INTO usage_approval_operator (approval_id, person_id)
SELECT DISTINCT a.id, d.person_id FROM usage_approval a
JOIN staff_designation d ON d.affair_id = a.affair_id AND d.ended_at IS NULL
JOIN staff_person p ON p.id = d.person_id AND p.department_id = a.department_id;
DROP TABLE staff_usage_approval;

-- +goose Down
CREATE TABLE staff_usage_approval (
    id            INTEGER PRIMARY KEY,
    department_id TEXT NOT NULL,
    affair_id     TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    staff         TEXT NOT NULL,
    approved_by   TEXT NOT NULL,
    approved_at   TIMESTAMP NOT NULL,
    approved_seq  INTEGER NOT NULL,
    ended_at      TIMESTAMP,
    ended_seq     INTEGER
);
INSERT INTO staff_usage_approval (id, department_id, affair_id, purpose, staff, approved_by, approved_at, approved_seq, ended_at, ended_seq)
SELECT id, department_id, affair_id, purpose, reason, decided_by, decided_at, decided_seq, ended_at, ended_seq FROM usage_approval WHERE state IN ('approved', 'ended');
ALTER TABLE staff_designation DROP COLUMN approval_id;
DROP TABLE usage_report;
DROP TABLE usage_approval_operator;
DROP TABLE usage_approval_terminal;
DROP TABLE usage_approval;

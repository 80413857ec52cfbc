-- +goose Up
-- System audits (システム監査, koto-ward:9; aomori-pref:11; internal/sysaudit):
-- the chief security officer plans an audit (periodic or ad hoc, the period
-- audited, its scope) and names its auditor; the auditor generates the
-- checklist from the profile's article map, each check with the evidence the
-- node collected for it at that moment (the text, the figures, and the audit
-- log entry it was read up to), assesses the checks, records findings
-- (severity, the check and article, description, root cause) and corrective
-- actions (owner, due day); the owner records follow-up notes; someone other
-- than the owner closes an action with the evidence of its completion. Every
-- change is made in the transaction of its audit entry (seq).
CREATE TABLE sysaudit_plan (
    id             BIGSERIAL PRIMARY KEY,
    kind           TEXT NOT NULL,       -- periodic (定期), ad-hoc (臨時)
    title          TEXT NOT NULL,
    period_from    TEXT NOT NULL,       -- first day audited, YYYY-MM-DD (JST)
    period_to      TEXT NOT NULL,       -- last day audited, YYYY-MM-DD (JST)
    scope          TEXT NOT NULL,       -- 監査の範囲
    articles       TEXT NOT NULL,       -- article ids checked, comma-separated; '' = every article
    auditor        TEXT NOT NULL,       -- the auditor's verification id (named by the chief)
    state          TEXT NOT NULL,       -- planned, in-progress, completed
    planned_by     TEXT NOT NULL,
    planned_at     TIMESTAMPTZ NOT NULL,
    planned_seq    BIGINT NOT NULL,
    generated_by   TEXT NOT NULL DEFAULT '',
    generated_at   TIMESTAMPTZ,
    generated_seq  BIGINT,
    evidence_upto  BIGINT,             -- the log's last entry the evidence was read up to
    completed_by   TEXT NOT NULL DEFAULT '',
    completed_at   TIMESTAMPTZ,
    completed_seq  BIGINT,
    conclusion     TEXT NOT NULL DEFAULT ''
);
CREATE TABLE sysaudit_check (
    id            BIGSERIAL PRIMARY KEY,
    plan_id       BIGINT NOT NULL REFERENCES sysaudit_plan (id),
    position      INTEGER NOT NULL,     -- order in the checklist, from 1
    article       TEXT NOT NULL,        -- koto-ward:9 …
    feature       TEXT NOT NULL,        -- the feature catalogue's id
    evidence      TEXT NOT NULL,        -- what the node found, in Japanese
    figures       TEXT NOT NULL,        -- the numbers, name=value; …
    attention     BOOLEAN NOT NULL,     -- the evidence shows something to look at
    result        TEXT NOT NULL DEFAULT '',   -- '', conforming, nonconforming, not-applicable
    note          TEXT NOT NULL DEFAULT '',
    assessed_by   TEXT NOT NULL DEFAULT '',
    assessed_at   TIMESTAMPTZ,
    assessed_seq  BIGINT,
    UNIQUE (plan_id, position)
);
CREATE TABLE sysaudit_finding (
    id            BIGSERIAL PRIMARY KEY,
    plan_id       BIGINT NOT NULL REFERENCES sysaudit_plan (id),
    check_id      BIGINT NOT NULL REFERENCES sysaudit_check (id),
    article       TEXT NOT NULL,
    severity      TEXT NOT NULL,        -- high, medium, low
    description   TEXT NOT NULL,
    root_cause    TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    recorded_seq  BIGINT NOT NULL
);
CREATE INDEX sysaudit_finding_plan ON sysaudit_finding (plan_id);
CREATE TABLE sysaudit_action (
    id               BIGSERIAL PRIMARY KEY,
    finding_id       BIGINT NOT NULL REFERENCES sysaudit_finding (id),
    description      TEXT NOT NULL,
    owner            TEXT NOT NULL,     -- the owner's verification id
    due_on           TEXT NOT NULL,     -- YYYY-MM-DD (JST)
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    created_seq      BIGINT NOT NULL,
    closed_by        TEXT NOT NULL DEFAULT '',
    closed_at        TIMESTAMPTZ,
    closed_seq       BIGINT,
    closure_evidence TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sysaudit_action_finding ON sysaudit_action (finding_id);
CREATE TABLE sysaudit_followup (
    id            BIGSERIAL PRIMARY KEY,
    action_id     BIGINT NOT NULL REFERENCES sysaudit_action (id),
    note          TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    recorded_seq  BIGINT NOT NULL
);
CREATE INDEX sysaudit_followup_action ON sysaudit_followup (action_id);

-- +goose Down
DROP TABLE sysaudit_followup;
DROP TABLE sysaudit_action;
DROP TABLE sysaudit_finding;
DROP TABLE sysaudit_check;
DROP TABLE sysaudit_plan;

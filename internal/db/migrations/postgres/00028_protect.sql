-- +goose Up
-- Protected residents (支援措置: victims of domestic violence, stalking, child
-- or elder abuse; internal/protect). Not an item of the identity record: a
-- register of its own, keyed by 住民票コード, that the policy engine keeps
-- in its snapshot so that the gate knows at decision time whether the
-- resident a request concerns is protected. Each row is one decision: in
-- force from starts_on to ends_on (JST days), ended early with ended_from.
-- The reason is a category, never free text about the person. A row
-- received from a downstream node carries its source (the node's code) and
-- the source's id; rows recorded here have source ''. changed_seq is the
-- audit entry of the row's last change (mark, end, receipt): the cursor the
-- upstream delivery reads from.
CREATE TABLE protected_resident (
    id            BIGSERIAL PRIMARY KEY,
    resident_code TEXT NOT NULL,
    starts_on     TEXT NOT NULL,          -- first day in force, YYYY-MM-DD (JST)
    ends_on       TEXT NOT NULL,          -- last day in force, YYYY-MM-DD (JST)
    department    TEXT NOT NULL,          -- the department that decided (a profile department, or the source's)
    category      TEXT NOT NULL,          -- dv, stalking, child-abuse, elder-abuse, other
    source        TEXT NOT NULL DEFAULT '',
    source_id     BIGINT NOT NULL DEFAULT 0,
    recorded_by   TEXT NOT NULL,
    recorded_at   TIMESTAMPTZ NOT NULL,
    seq           BIGINT NOT NULL,
    ended_on      TEXT,                   -- the day of an early end (支援措置の終了)
    ended_from    TIMESTAMPTZ,              -- no longer in force from this instant
    ended_by      TEXT,
    end_seq       BIGINT,
    changed_seq   BIGINT NOT NULL
);
CREATE INDEX protected_resident_code ON protected_resident (resident_code);
CREATE INDEX protected_resident_changed ON protected_resident (changed_seq);
CREATE UNIQUE INDEX protected_resident_source ON protected_resident (source, source_id) WHERE source <> '';

-- How far the protections have been delivered to each upstream peer
-- (changed_seq of the last row the peer acknowledged).
CREATE TABLE protected_delivery (
    peer     TEXT PRIMARY KEY,
    last_seq BIGINT NOT NULL
);

-- +goose Down
DROP TABLE protected_delivery;
DROP TABLE protected_resident;

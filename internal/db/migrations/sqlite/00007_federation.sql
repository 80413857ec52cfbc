-- +goose Up
-- The network (internal/federation): peers, the outbox of changes to send
-- upstream, what was received from each source, alerts.

-- Peer nodes, added by an offline exchange of bundles (jukinet peer add).
CREATE TABLE fed_peer (
    code      TEXT PRIMARY KEY,             -- 地方公共団体コード, or 'national'
    role      TEXT NOT NULL,                -- upstream or downstream
    level     TEXT NOT NULL,
    name      TEXT NOT NULL,
    url       TEXT NOT NULL,                -- where it listens (upstream peers)
    note_key  TEXT NOT NULL,                -- its signed-note verifier key
    ca_pem    TEXT NOT NULL,                -- its CA (mutual TLS)
    added_at  TIMESTAMP NOT NULL,
    added_seq INTEGER NOT NULL
);

-- Changes to notify upstream, one row per record version, written in the
-- change's own transaction.
CREATE TABLE fed_outbox (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT, -- this node's change sequence, from 1
    record_id     INTEGER NOT NULL,         -- the identity_record version
    previous_code TEXT NOT NULL,            -- for 住民票コード変更
    created_at    TIMESTAMP NOT NULL
);

-- Delivery to the upstream: the last sequence it acknowledged.
CREATE TABLE fed_delivery (
    peer       TEXT PRIMARY KEY,
    last_acked INTEGER NOT NULL,
    last_try   TIMESTAMP,
    last_error TEXT NOT NULL DEFAULT ''
);

-- Receipt from each downstream source: the last sequence applied; a
-- stopped source is refused until resumed.
CREATE TABLE fed_inbox (
    source      TEXT PRIMARY KEY,
    last_seq    INTEGER NOT NULL,
    stopped_at  TIMESTAMP,
    stop_reason TEXT NOT NULL DEFAULT ''
);

-- Alerts: forged or replayed batches, sequence gaps, codes a source may not send.
CREATE TABLE fed_alert (
    id     INTEGER PRIMARY KEY,
    at     TIMESTAMP NOT NULL,
    source TEXT NOT NULL,
    kind   TEXT NOT NULL,
    detail TEXT NOT NULL
);

-- +goose Down
DROP TABLE fed_alert;
DROP TABLE fed_inbox;
DROP TABLE fed_delivery;
DROP TABLE fed_outbox;
DROP TABLE fed_peer;

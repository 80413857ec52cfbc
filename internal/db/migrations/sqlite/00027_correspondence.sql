-- +goose Up
-- Reports and requests between bodies (報告・依頼, koto-ward:15;
-- internal/correspondence): documents a node sends to a peer body over the
-- federation (direction 'out') and those it received (direction 'in'). Each
-- is kept with the signed note that carried it; an outgoing one is queued
-- here in the transaction of its audit entry before it leaves, and carries
-- the recipient's signed acknowledgement once delivered. A request is
-- tracked to the answer that references it.
CREATE TABLE corr_document (
    id            TEXT PRIMARY KEY,              -- SENDER-RECIPIENT-SEQ, unique in the network
    direction     TEXT NOT NULL,                 -- out, in
    sender        TEXT NOT NULL,                 -- the sending body's code (地方公共団体コード, or national)
    recipient     TEXT NOT NULL,
    seq           INTEGER NOT NULL,              -- the sender's sequence towards the recipient, from 1
    kind          TEXT NOT NULL,                 -- incident, audit, usage, answer, investigate, other
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    refs          TEXT NOT NULL DEFAULT '',      -- space-separated references (incident:3, audit:2 …)
    answers       TEXT NOT NULL DEFAULT '',      -- an answer: the request it answers
    due_on        TEXT NOT NULL DEFAULT '',      -- a request: the day its answer is due
    sent_by       TEXT NOT NULL,                 -- the staff member who sent it (actor)
    sent_by_name  TEXT NOT NULL DEFAULT '',
    sent_at       TIMESTAMP NOT NULL,
    note          TEXT NOT NULL,                 -- the signed note (C2SP) as sent or received
    state         TEXT NOT NULL,                 -- out: queued, delivered, acknowledged, refused; in: received
    recorded_at   TIMESTAMP NOT NULL,            -- when this node recorded it (sent or received)
    recorded_seq  INTEGER NOT NULL,              -- its audit entry here
    attempts      INTEGER NOT NULL DEFAULT 0,
    last_try      TIMESTAMP,
    last_error    TEXT NOT NULL DEFAULT '',
    ack_note      TEXT NOT NULL DEFAULT '',      -- the recipient's signed acknowledgement
    acked_at      TIMESTAMP,
    answered_by   TEXT NOT NULL DEFAULT '',      -- a request: the answer's id
    answered_at   TIMESTAMP
);
CREATE UNIQUE INDEX corr_document_seq ON corr_document (direction, sender, recipient, seq);
CREATE INDEX corr_document_state ON corr_document (direction, state);

-- +goose Down
DROP TABLE corr_document;

-- +goose Up
-- Residents' disclosure requests (本人確認情報・提供状況の開示, internal/disclosure):
-- received (who asked, how their identity and authority were checked, what
-- is asked), decided by the head of the department that keeps the register
-- (disclose, in part, refuse, with the reason) within the profile's period,
-- and issued (how, the number of entries proved, the digest of the proof
-- file, the checkpoint it was proved against, and the proof itself for a
-- reprint). Every step is made in the
-- transaction of its audit entry (seq), which concerns the resident.
CREATE TABLE disclosure_request (
    id              INTEGER PRIMARY KEY,
    resident_code   TEXT NOT NULL,
    requester       TEXT NOT NULL,       -- self, representative
    requester_name  TEXT NOT NULL,       -- a representative's name ('' for the resident)
    authority       TEXT NOT NULL,       -- how a representative's authority was confirmed
    id_check        TEXT NOT NULL,       -- my-number-card, driver-licence, passport, other
    items           TEXT NOT NULL,       -- identity, provisions, accesses (comma-separated)
    received_day    TEXT NOT NULL,       -- YYYY-MM-DD (JST)
    due_day         TEXT NOT NULL,       -- the decision's last day, YYYY-MM-DD (JST)
    received_by     TEXT NOT NULL,
    received_at     TIMESTAMP NOT NULL,
    received_seq    BIGINT NOT NULL,
    decision        TEXT,                -- disclose, partial, refuse
    reason          TEXT,
    decided_by      TEXT,
    decided_at      TIMESTAMP,
    decided_seq     BIGINT,
    issued_by       TEXT,
    issued_at       TIMESTAMP,
    issued_seq      BIGINT,
    delivery        TEXT,                -- 窓口交付, 郵送 …
    entries         BIGINT,              -- entries the proof listed
    proof_sha256    TEXT,
    checkpoint_size BIGINT,
    proof           BLOB,                -- the proof file issued (JSON)
    pdf             BLOB,                -- the document issued (PDF), as handed over
    form_number     TEXT                 -- its control number in the forms register
);
CREATE INDEX disclosure_request_resident ON disclosure_request (resident_code);

-- +goose Down
DROP TABLE disclosure_request;

-- +goose Up
-- Versions by the audit entry that made them: the outbox takes a change's
-- versions by it (without it, every received batch scanned the register).
CREATE INDEX identity_record_audit ON identity_record (audit_seq);

-- +goose Down
DROP INDEX identity_record_audit;

-- +goose Up
-- The early end of an outsourcing contract (契約の解除, aomori-pref:10;
-- internal/contract): the day given, the instant from which the contract is
-- no longer in force (the moment it was recorded when that is the day
-- itself, else midnight JST starting the day), why, who recorded it and in
-- which audit entry. NULL while the contract runs to its last day. Its
-- people lose access from that instant: the policy engine's snapshot takes
-- the earlier of it and the midnight after ends_on as the contract's end.
ALTER TABLE contract ADD COLUMN ended_on TEXT;            -- the day of the 解除, YYYY-MM-DD (JST)
ALTER TABLE contract ADD COLUMN ended_from TIMESTAMPTZ;   -- no longer in force from this instant
ALTER TABLE contract ADD COLUMN end_reason TEXT;
ALTER TABLE contract ADD COLUMN ended_by TEXT;
ALTER TABLE contract ADD COLUMN end_seq BIGINT;

-- +goose Down
ALTER TABLE contract DROP COLUMN end_seq;
ALTER TABLE contract DROP COLUMN ended_by;
ALTER TABLE contract DROP COLUMN end_reason;
ALTER TABLE contract DROP COLUMN ended_from;
ALTER TABLE contract DROP COLUMN ended_on;

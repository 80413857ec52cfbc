-- +goose Up
-- Why a suspension (利用停止, koto-ward:7.1) was lifted: lifting, like
-- ordering, records its reason (shown in the suspension list and logged).
ALTER TABLE suspension ADD COLUMN lifted_reason TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE suspension DROP COLUMN lifted_reason;

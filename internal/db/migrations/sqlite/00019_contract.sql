-- +goose Up
-- Outsourcing (委託, aomori-pref:10; internal/contract): the contracts under
-- which a vendor's people work on Juki-net, the five clauses aomori-pref:10.2
-- requires each recorded with where the contract text holds it, the people
-- each contract covers, and the vendor's handling reports the clauses ask
-- for. Every change is made in the transaction of its audit entry (seq) and
-- bumps staff_state.version, so every policy engine rebuilds its picture of
-- who is covered.
CREATE TABLE contract (
    id          INTEGER PRIMARY KEY,
    vendor      TEXT NOT NULL,
    scope       TEXT NOT NULL,
    starts_on   TEXT NOT NULL,          -- first day in force, YYYY-MM-DD (JST)
    ends_on     TEXT NOT NULL,          -- last day in force, YYYY-MM-DD (JST)
    survey      TEXT NOT NULL,          -- the vendor's protection measures checked (10.1)
    approved_by TEXT NOT NULL,          -- who approved the vendor (10.1)
    approved_at TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE TABLE contract_clause (
    contract_id INTEGER NOT NULL REFERENCES contract (id),
    clause      TEXT NOT NULL,          -- contract.Clause id
    reference   TEXT NOT NULL,          -- where the contract text holds it (条・頁)
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (contract_id, clause)
);
CREATE TABLE contract_person (
    contract_id INTEGER NOT NULL REFERENCES contract (id),
    person_id   INTEGER NOT NULL REFERENCES staff_person (id),
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (contract_id, person_id)
);
CREATE INDEX contract_person_person ON contract_person (person_id);
CREATE TABLE contract_report (
    id          INTEGER PRIMARY KEY,
    contract_id INTEGER NOT NULL REFERENCES contract (id),
    kind        TEXT NOT NULL,          -- contract.ReportKind id
    reported_on TEXT NOT NULL,          -- the day of the report, YYYY-MM-DD (JST)
    summary     TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX contract_report_contract ON contract_report (contract_id);

-- +goose Down
DROP TABLE contract_report;
DROP TABLE contract_person;
DROP TABLE contract_clause;
DROP TABLE contract;

-- +goose Up
-- Incidents (事案, koto-ward:7 and 8.2): improper use, leakage or an
-- outage, the measures taken (each logged), and the conclusion.
CREATE TABLE incident (
    id BIGSERIAL PRIMARY KEY,
    kind        TEXT NOT NULL,          -- misuse, leakage, outage
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    alert_id    BIGINT REFERENCES detection_alert (id),
    opened_by   TEXT NOT NULL,
    opened_at   TIMESTAMPTZ NOT NULL,
    opened_seq  BIGINT NOT NULL,
    state       TEXT NOT NULL,          -- open or closed
    closed_by   TEXT,
    closed_at   TIMESTAMPTZ,
    closed_seq  BIGINT,
    conclusion  TEXT
);
CREATE TABLE incident_measure (
    id BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incident (id),
    kind        TEXT NOT NULL,          -- coordination, notice, suspension, assessment, containment, recovery, complaint, note
    text        TEXT NOT NULL,
    taken_by    TEXT NOT NULL,
    taken_at    TIMESTAMPTZ NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE INDEX incident_measure_incident ON incident_measure (incident_id, id);

-- +goose Down
DROP TABLE incident_measure;
DROP TABLE incident;

-- +goose Up
-- Incidents (事案, koto-ward:7 and 8.2): improper use, leakage or an
-- outage, the measures taken (each logged), and the conclusion.
CREATE TABLE incident (
    id INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,          -- misuse, leakage, outage
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    alert_id    INTEGER REFERENCES detection_alert (id),
    opened_by   TEXT NOT NULL,
    opened_at   TIMESTAMP NOT NULL,
    opened_seq  INTEGER NOT NULL,
    state       TEXT NOT NULL,          -- open or closed
    closed_by   TEXT,
    closed_at   TIMESTAMP,
    closed_seq  INTEGER,
    conclusion  TEXT
);
CREATE TABLE incident_measure (
    id INTEGER PRIMARY KEY,
    incident_id INTEGER NOT NULL REFERENCES incident (id),
    kind        TEXT NOT NULL,          -- coordination, notice, suspension, assessment, containment, recovery, complaint, note
    text        TEXT NOT NULL,
    taken_by    TEXT NOT NULL,
    taken_at    TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX incident_measure_incident ON incident_measure (incident_id, id);

-- +goose Down
DROP TABLE incident_measure;
DROP TABLE incident;

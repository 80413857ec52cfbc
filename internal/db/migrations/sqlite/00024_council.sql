-- +goose Up
-- The security council (セキュリティ会議, koto-ward:5; internal/council):
-- its meetings, regular or extraordinary (called from an incident or a
-- detection alert), who convened each, when and where; who attended, each
-- in the council seat their post gives them (chair, vice chair, member) or
-- as staff called to attend (5.9), which quorum counts; the agenda items,
-- free text or linked to an incident, an alert or an overdue directive; the
-- decisions with their text and how they were reached (consent, or the
-- votes); the minutes, approved by the chair, after which the meeting's
-- record is closed. Then the chief security officer's directives to
-- departments and requests to other bodies after a decision (koto-ward:6),
-- each with what, to whom, by when, its acknowledgement and completion (or
-- the body's answer). Every change is made in the transaction of its audit
-- entry (seq).
CREATE TABLE council_meeting (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL,               -- regular, extraordinary
    held_at       TIMESTAMP NOT NULL,          -- the day and time it meets
    place         TEXT NOT NULL,
    source        TEXT NOT NULL DEFAULT '',    -- incident:N or alert:N an extraordinary meeting was called from
    convened_by   TEXT NOT NULL,
    convened_at   TIMESTAMP NOT NULL,
    convened_seq  INTEGER NOT NULL,
    minutes       TEXT NOT NULL DEFAULT '',
    minutes_by    TEXT NOT NULL DEFAULT '',
    minutes_at    TIMESTAMP,
    minutes_seq   INTEGER,
    approved_by   TEXT NOT NULL DEFAULT '',    -- the chair (or the vice chair acting, 5.7) who approved the minutes
    approved_at   TIMESTAMP,                   -- set: the record is closed
    approved_seq  INTEGER
);
CREATE TABLE council_attendance (
    meeting_id  INTEGER NOT NULL REFERENCES council_meeting (id),
    person_id   INTEGER NOT NULL REFERENCES staff_person (id),
    seat        TEXT NOT NULL,                 -- chair, vice_chair, member, staff (called to attend, 5.9)
    post        TEXT NOT NULL,                 -- the post that gives the seat (e.g. 区民課長), or the person's title
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL,
    PRIMARY KEY (meeting_id, person_id)
);
CREATE TABLE council_item (
    id          INTEGER PRIMARY KEY,
    meeting_id  INTEGER NOT NULL REFERENCES council_meeting (id),
    number      INTEGER NOT NULL,              -- 議題 1, 2 … within the meeting
    title       TEXT NOT NULL,
    ref_kind    TEXT NOT NULL DEFAULT '',      -- '', incident, alert, directive
    ref_id      INTEGER NOT NULL DEFAULT 0,
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL,
    UNIQUE (meeting_id, number)
);
CREATE TABLE council_decision (
    id            INTEGER PRIMARY KEY,
    meeting_id    INTEGER NOT NULL REFERENCES council_meeting (id),
    item_id       INTEGER REFERENCES council_item (id),
    text          TEXT NOT NULL,
    method        TEXT NOT NULL,               -- consent, vote
    votes_for     INTEGER NOT NULL DEFAULT 0,
    votes_against INTEGER NOT NULL DEFAULT 0,
    votes_abstain INTEGER NOT NULL DEFAULT 0,
    adopted       INTEGER NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TIMESTAMP NOT NULL,
    seq           INTEGER NOT NULL
);
CREATE INDEX council_decision_meeting ON council_decision (meeting_id);
CREATE TABLE council_directive (
    id               INTEGER PRIMARY KEY,
    decision_id      INTEGER NOT NULL REFERENCES council_decision (id),
    kind             TEXT NOT NULL,            -- directive (指示, to a department), request (要請, to another body)
    department_id    TEXT NOT NULL DEFAULT '', -- a directive's department
    body             TEXT NOT NULL DEFAULT '', -- a request's body (教育委員会 …)
    text             TEXT NOT NULL,
    due_on           TEXT NOT NULL,            -- YYYY-MM-DD (JST)
    issued_by        TEXT NOT NULL,
    issued_at        TIMESTAMP NOT NULL,
    issued_seq       INTEGER NOT NULL,
    acknowledged_by  TEXT NOT NULL DEFAULT '',
    acknowledged_at  TIMESTAMP,
    acknowledged_seq INTEGER,
    completed_by     TEXT NOT NULL DEFAULT '', -- a directive's completion report, a request's answer recorded
    completed_at     TIMESTAMP,
    completed_seq    INTEGER,
    note             TEXT NOT NULL DEFAULT ''  -- the completion note, or the body's answer
);
CREATE INDEX council_directive_due ON council_directive (due_on);

-- +goose Down
DROP TABLE council_directive;
DROP TABLE council_decision;
DROP TABLE council_item;
DROP TABLE council_attendance;
DROP TABLE council_meeting;

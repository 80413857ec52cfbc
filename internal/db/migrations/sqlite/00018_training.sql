-- +goose Up
-- Training (研修, koto-ward:10, aomori-pref:9; internal/training): the
-- sessions held of the profile's courses, and who attended each. A session
-- is recorded in the transaction of its audit entry (seq), which also bumps
-- staff_state.version, so every policy engine rebuilds its picture of who
-- is trained.
CREATE TABLE training_session (
    id          INTEGER PRIMARY KEY,
    course_id   TEXT NOT NULL,          -- profile.toml [[courses]] id
    held_on     TEXT NOT NULL,          -- the day held, YYYY-MM-DD (JST)
    trainer     TEXT NOT NULL,
    material    TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE TABLE training_attendance (
    session_id INTEGER NOT NULL REFERENCES training_session (id),
    person_id  INTEGER NOT NULL REFERENCES staff_person (id),
    PRIMARY KEY (session_id, person_id)
);
CREATE INDEX training_attendance_person ON training_attendance (person_id);

-- +goose Down
DROP TABLE training_attendance;
DROP TABLE training_session;

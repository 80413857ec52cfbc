-- +goose Up
-- Rooms and installations (環境及び設備, koto-ward:11; 端末機の設置,
-- aomori-pref:6; internal/facility): the rooms of the system with their
-- protection level (3 storage of data and security information, 2 server
-- and network room, 1 terminal area), the staff members authorised per
-- room, the entry and exit log (door or card reader; visitors with their
-- escort), and each terminal's approved installation in a room with its
-- terminal manager (端末機管理者). Every change is made in the transaction
-- of its audit entry (seq); installations bump staff_state.version so the
-- policy engines rebuild their picture of which terminals are installed.
CREATE TABLE facility_room (
    id          TEXT PRIMARY KEY,
    building    TEXT NOT NULL,
    name        TEXT NOT NULL,
    level       INTEGER NOT NULL,        -- 1 terminal area, 2 server/network room, 3 storage
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    seq         BIGINT NOT NULL
);
CREATE TABLE facility_authorisation (
    room_id    TEXT NOT NULL REFERENCES facility_room (id),
    person_id  BIGINT NOT NULL REFERENCES staff_person (id),
    granted_by TEXT NOT NULL,
    granted_at TIMESTAMPTZ NOT NULL,
    seq        BIGINT NOT NULL,
    PRIMARY KEY (room_id, person_id)
);
CREATE TABLE facility_entry (
    id             BIGSERIAL PRIMARY KEY,
    room_id        TEXT NOT NULL REFERENCES facility_room (id),
    person_vid     TEXT,                 -- the staff member (NULL for a visitor)
    visitor        TEXT,                 -- a visitor's name and affiliation
    escort_vid     TEXT,                 -- the staff member escorting the visitor
    purpose        TEXT NOT NULL,
    direction      TEXT NOT NULL,        -- in, out
    at             TIMESTAMPTZ NOT NULL,
    source         TEXT NOT NULL,        -- door (a clerk), card (card-reader import)
    authorised     BOOLEAN NOT NULL,     -- the person (or escort) was authorised for the room then
    recorded_by    TEXT NOT NULL,
    seq            BIGINT NOT NULL
);
CREATE INDEX facility_entry_at ON facility_entry (at);
CREATE TABLE facility_installation (
    id                BIGSERIAL PRIMARY KEY,
    terminal_id       TEXT NOT NULL REFERENCES staff_terminal (id),
    room_id           TEXT NOT NULL REFERENCES facility_room (id),
    manager_person_id BIGINT NOT NULL REFERENCES staff_person (id),
    approved_by       TEXT NOT NULL,
    approved_at       TIMESTAMPTZ NOT NULL,
    seq               BIGINT NOT NULL,
    ended_at          TIMESTAMPTZ,         -- moved or removed; NULL while installed
    ended_seq         BIGINT
);
CREATE INDEX facility_installation_terminal ON facility_installation (terminal_id);

-- +goose Down
DROP TABLE facility_installation;
DROP TABLE facility_entry;
DROP TABLE facility_authorisation;
DROP TABLE facility_room;

-- +goose Up
-- Operator sign-in (internal/auth): WebAuthn ceremonies in progress,
-- one-time enrolment links, sessions bound to a terminal, failed attempts.

-- A ceremony's server-side state (the challenge) between begin and finish.
CREATE TABLE auth_ceremony (
    id          TEXT PRIMARY KEY,           -- random, sent to the browser
    kind        TEXT NOT NULL,              -- login, enrol, reverify
    verification_id TEXT NOT NULL,
    terminal_id TEXT NOT NULL,
    data        TEXT NOT NULL,              -- webauthn.SessionData (JSON)
    expires_at  TIMESTAMP NOT NULL
);

-- One-time enrolment links the system administrator issues (koto-ward:13).
CREATE TABLE auth_enrolment (
    token_hash      TEXT PRIMARY KEY,       -- SHA-256 of the link's token
    verification_id TEXT NOT NULL,
    issued_by       TEXT NOT NULL,          -- actor
    issued_at       TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL,
    used_at         TIMESTAMP
);

-- Sessions: bound to the terminal they began on; idle lock and absolute end
-- follow the profile's [session] rules.
CREATE TABLE auth_session (
    token_hash      TEXT PRIMARY KEY,       -- SHA-256 of the cookie's token
    verification_id TEXT NOT NULL,
    terminal_id     TEXT NOT NULL,
    demo            INTEGER NOT NULL,       -- one-click demo sign-in, no authenticator
    created_at      TIMESTAMP NOT NULL,
    last_seen_at    TIMESTAMP NOT NULL,
    verified_at     TIMESTAMP NOT NULL,     -- the latest user verification
    ended_at        TIMESTAMP,
    end_reason      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX auth_session_person ON auth_session (verification_id);

-- Failed sign-ins, for the lockout rule.
CREATE TABLE auth_failure (
    id              INTEGER PRIMARY KEY,
    verification_id TEXT NOT NULL,
    at              TIMESTAMP NOT NULL
);
CREATE INDEX auth_failure_person ON auth_failure (verification_id, at);

-- +goose Down
DROP TABLE auth_failure;
DROP TABLE auth_session;
DROP TABLE auth_enrolment;
DROP TABLE auth_ceremony;

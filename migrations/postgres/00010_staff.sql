-- +goose Up
-- Members of staff: people who sign in to the agent desktop and the admin
-- pages, through SSO (issuer and subject of their ID token) or, in dev
-- mode, the demo sign-in (issuer 'local'). identity is their conversations
-- identity and their worker's "identity" attribute: it is set on the first
-- sign-in and never changes, even when their email does. roles is a
-- space-separated set of agent, supervisor and admin, refreshed on every
-- sign-in. The worker is the one provisioning last put them on.
CREATE TABLE staff_users (
    sid            TEXT PRIMARY KEY,
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    identity       TEXT NOT NULL UNIQUE,
    email          TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL DEFAULT '',
    roles          TEXT NOT NULL DEFAULT '',
    workspace_sid  TEXT NOT NULL DEFAULT '',
    worker_sid     TEXT NOT NULL DEFAULT '',
    date_created   TIMESTAMPTZ NOT NULL,
    date_updated   TIMESTAMPTZ NOT NULL,
    UNIQUE (issuer, subject)
);

-- Signed-in sessions. Only a SHA-256 of the cookie's token is kept, so a
-- copy of the database signs nobody in. The CSRF token goes into every
-- page the session sees; id_token is the provider's ID token, which
-- RP-initiated logout passes back as id_token_hint. A session ends when
-- it is idle too long (last_seen) or at expires_at, whichever is first.
CREATE TABLE staff_sessions (
    token_hash    TEXT PRIMARY KEY,
    staff_sid     TEXT NOT NULL REFERENCES staff_users (sid) ON DELETE CASCADE,
    csrf_token    TEXT NOT NULL,
    id_token      TEXT NOT NULL DEFAULT '',
    date_created  TIMESTAMPTZ NOT NULL,
    last_seen     TIMESTAMPTZ NOT NULL,
    expires_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_sid);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);

-- +goose Down
DROP TABLE staff_sessions;
DROP TABLE staff_users;

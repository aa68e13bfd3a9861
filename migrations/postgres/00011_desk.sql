-- +goose Up
-- Canned responses (CN…): replies agents search and insert into the
-- composer. An empty workspace_sid makes a response global: every
-- workspace's agents see it. tags is a JSON array of strings.
CREATE TABLE desk_canned_responses (
    sid            TEXT PRIMARY KEY,
    workspace_sid  TEXT NOT NULL DEFAULT '',
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,
    tags           TEXT NOT NULL DEFAULT '[]',
    date_created   TIMESTAMPTZ NOT NULL,
    date_updated   TIMESTAMPTZ NOT NULL
);
CREATE INDEX desk_canned_responses_workspace ON desk_canned_responses (workspace_sid, title);

-- Dispositions (DI…): a workspace's outcomes an agent picks when completing
-- a task. Inactive ones stay for the tasks that used them but are no longer
-- offered. The code is what lands in task attributes, so it is unique per
-- workspace.
CREATE TABLE desk_dispositions (
    sid            TEXT PRIMARY KEY,
    workspace_sid  TEXT NOT NULL,
    code           TEXT NOT NULL,
    label          TEXT NOT NULL,
    active         BOOLEAN NOT NULL DEFAULT TRUE,
    date_created   TIMESTAMPTZ NOT NULL,
    date_updated   TIMESTAMPTZ NOT NULL,
    UNIQUE (workspace_sid, code)
);

-- Notes (NO…): what agents write about a conversation from the context
-- panel or when completing its task. Never shown to the customer.
CREATE TABLE desk_notes (
    sid               TEXT PRIMARY KEY,
    conversation_sid  TEXT NOT NULL,
    worker_sid        TEXT NOT NULL,
    author_identity   TEXT NOT NULL,
    author_name       TEXT NOT NULL DEFAULT '',
    body              TEXT NOT NULL,
    date_created      TIMESTAMPTZ NOT NULL
);
CREATE INDEX desk_notes_conversation ON desk_notes (conversation_sid, date_created);

-- +goose Down
DROP TABLE desk_notes;
DROP TABLE desk_dispositions;
DROP TABLE desk_canned_responses;

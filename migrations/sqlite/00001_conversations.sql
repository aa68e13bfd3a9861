-- +goose Up
CREATE TABLE accounts (
    sid           TEXT PRIMARY KEY,
    friendly_name TEXT NOT NULL,
    auth_token    TEXT NOT NULL,
    date_created  DATETIME NOT NULL,
    date_updated  DATETIME NOT NULL
);

CREATE TABLE api_keys (
    sid           TEXT PRIMARY KEY,
    account_sid   TEXT NOT NULL REFERENCES accounts (sid),
    friendly_name TEXT NOT NULL,
    secret_hash   TEXT NOT NULL,
    date_created  DATETIME NOT NULL,
    date_updated  DATETIME NOT NULL
);

CREATE TABLE services (
    sid                                   TEXT PRIMARY KEY,
    friendly_name                         TEXT NOT NULL,
    default_conversation_creator_role_sid TEXT NOT NULL DEFAULT '',
    default_conversation_role_sid         TEXT NOT NULL DEFAULT '',
    default_chat_service_role_sid         TEXT NOT NULL DEFAULT '',
    reachability_enabled                  BOOLEAN NOT NULL DEFAULT FALSE,
    notifications                         TEXT NOT NULL DEFAULT '{}',
    date_created                          DATETIME NOT NULL,
    date_updated                          DATETIME NOT NULL
);

-- One row: the account-wide defaults.
CREATE TABLE configurations (
    account_sid                   TEXT PRIMARY KEY REFERENCES accounts (sid),
    default_chat_service_sid      TEXT NOT NULL REFERENCES services (sid),
    default_messaging_service_sid TEXT NOT NULL DEFAULT '',
    default_inactive_timer        TEXT NOT NULL DEFAULT '',
    default_closed_timer          TEXT NOT NULL DEFAULT '',
    date_updated                  DATETIME NOT NULL
);

-- Webhook configuration: scope '' is the account-wide (global) one, otherwise a service SID.
CREATE TABLE webhook_configs (
    scope            TEXT PRIMARY KEY,
    method           TEXT NOT NULL DEFAULT 'POST',
    filters          TEXT NOT NULL DEFAULT '[]',
    pre_webhook_url  TEXT NOT NULL DEFAULT '',
    post_webhook_url TEXT NOT NULL DEFAULT '',
    target           TEXT NOT NULL DEFAULT 'webhook',
    date_updated     DATETIME NOT NULL
);

CREATE TABLE roles (
    sid           TEXT PRIMARY KEY,
    service_sid   TEXT NOT NULL REFERENCES services (sid) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL,
    type          TEXT NOT NULL,
    permissions   TEXT NOT NULL,
    date_created  DATETIME NOT NULL,
    date_updated  DATETIME NOT NULL
);
CREATE INDEX roles_service ON roles (service_sid, date_created);

CREATE TABLE users (
    sid           TEXT PRIMARY KEY,
    service_sid   TEXT NOT NULL REFERENCES services (sid) ON DELETE CASCADE,
    identity      TEXT NOT NULL,
    friendly_name TEXT NOT NULL DEFAULT '',
    attributes    TEXT NOT NULL DEFAULT '{}',
    role_sid      TEXT NOT NULL DEFAULT '',
    date_created  DATETIME NOT NULL,
    date_updated  DATETIME NOT NULL,
    UNIQUE (service_sid, identity)
);
CREATE INDEX users_service ON users (service_sid, date_created);

CREATE TABLE conversations (
    sid                   TEXT PRIMARY KEY,
    service_sid           TEXT NOT NULL REFERENCES services (sid) ON DELETE CASCADE,
    unique_name           TEXT,
    friendly_name         TEXT NOT NULL DEFAULT '',
    attributes            TEXT NOT NULL DEFAULT '{}',
    state                 TEXT NOT NULL,
    messaging_service_sid TEXT NOT NULL DEFAULT '',
    timer_inactive        TEXT NOT NULL DEFAULT '',
    timer_closed          TEXT NOT NULL DEFAULT '',
    date_inactive         DATETIME,
    date_closed           DATETIME,
    bindings              TEXT NOT NULL DEFAULT '{}',
    next_index            INTEGER NOT NULL DEFAULT 0,
    date_created          DATETIME NOT NULL,
    date_updated          DATETIME NOT NULL,
    UNIQUE (service_sid, unique_name)
);
CREATE INDEX conversations_service ON conversations (service_sid, date_created, sid);

CREATE TABLE participants (
    sid                     TEXT PRIMARY KEY,
    service_sid             TEXT NOT NULL,
    conversation_sid        TEXT NOT NULL REFERENCES conversations (sid) ON DELETE CASCADE,
    identity                TEXT,
    channel_type            TEXT NOT NULL DEFAULT '',
    address                 TEXT,
    proxy_address           TEXT,
    projected_address       TEXT,
    attributes              TEXT NOT NULL DEFAULT '{}',
    role_sid                TEXT NOT NULL DEFAULT '',
    last_read_message_index INTEGER,
    last_read_timestamp     DATETIME,
    notification_level      TEXT NOT NULL DEFAULT 'default',
    date_created            DATETIME NOT NULL,
    date_updated            DATETIME NOT NULL,
    UNIQUE (conversation_sid, identity)
);
CREATE INDEX participants_conversation ON participants (conversation_sid, date_created, sid);
CREATE INDEX participants_identity ON participants (service_sid, identity);
CREATE INDEX participants_address ON participants (address);

-- An (address, proxy address) pair may belong to one non-closed conversation only;
-- the primary key makes that rule hold under concurrent writers.
CREATE TABLE bindings (
    address          TEXT NOT NULL,
    proxy_address    TEXT NOT NULL,
    conversation_sid TEXT NOT NULL REFERENCES conversations (sid) ON DELETE CASCADE,
    participant_sid  TEXT NOT NULL REFERENCES participants (sid) ON DELETE CASCADE,
    PRIMARY KEY (address, proxy_address)
);
CREATE INDEX bindings_conversation ON bindings (conversation_sid);

CREATE TABLE messages (
    sid               TEXT PRIMARY KEY,
    service_sid       TEXT NOT NULL,
    conversation_sid  TEXT NOT NULL REFERENCES conversations (sid) ON DELETE CASCADE,
    idx               INTEGER NOT NULL,
    author            TEXT NOT NULL,
    body              TEXT,
    attributes        TEXT NOT NULL DEFAULT '{}',
    participant_sid   TEXT,
    media             TEXT,
    content_sid       TEXT,
    content_variables TEXT,
    subject           TEXT,
    date_created      DATETIME NOT NULL,
    date_updated      DATETIME,
    UNIQUE (conversation_sid, idx)
);

CREATE TABLE delivery_receipts (
    sid                 TEXT PRIMARY KEY,
    service_sid         TEXT NOT NULL,
    conversation_sid    TEXT NOT NULL REFERENCES conversations (sid) ON DELETE CASCADE,
    message_sid         TEXT NOT NULL REFERENCES messages (sid) ON DELETE CASCADE,
    participant_sid     TEXT NOT NULL,
    channel_message_sid TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL,
    error_code          INTEGER NOT NULL DEFAULT 0,
    date_created        DATETIME NOT NULL,
    date_updated        DATETIME NOT NULL,
    UNIQUE (message_sid, participant_sid)
);

CREATE TABLE address_configurations (
    sid                            TEXT PRIMARY KEY,
    type                           TEXT NOT NULL,
    address                        TEXT NOT NULL,
    friendly_name                  TEXT NOT NULL DEFAULT '',
    address_country                TEXT NOT NULL DEFAULT '',
    auto_creation_enabled          BOOLEAN NOT NULL DEFAULT FALSE,
    auto_creation_type             TEXT NOT NULL DEFAULT '',
    auto_creation_service_sid      TEXT NOT NULL DEFAULT '',
    auto_creation_webhook_url      TEXT NOT NULL DEFAULT '',
    auto_creation_webhook_method   TEXT NOT NULL DEFAULT '',
    auto_creation_webhook_filters  TEXT NOT NULL DEFAULT '[]',
    auto_creation_studio_flow_sid  TEXT NOT NULL DEFAULT '',
    auto_creation_studio_retry_count INTEGER NOT NULL DEFAULT 0,
    date_created                   DATETIME NOT NULL,
    date_updated                   DATETIME NOT NULL,
    UNIQUE (address)
);

CREATE TABLE conversation_webhooks (
    sid              TEXT PRIMARY KEY,
    service_sid      TEXT NOT NULL,
    conversation_sid TEXT NOT NULL REFERENCES conversations (sid) ON DELETE CASCADE,
    target           TEXT NOT NULL,
    url              TEXT NOT NULL DEFAULT '',
    method           TEXT NOT NULL DEFAULT 'POST',
    filters          TEXT NOT NULL DEFAULT '[]',
    triggers         TEXT NOT NULL DEFAULT '[]',
    flow_sid         TEXT NOT NULL DEFAULT '',
    replay_after     INTEGER,
    date_created     DATETIME NOT NULL,
    date_updated     DATETIME NOT NULL
);
CREATE INDEX conversation_webhooks_conversation ON conversation_webhooks (conversation_sid, date_created);

-- Durable jobs: written in the transaction that makes them necessary, claimed
-- with FOR UPDATE SKIP LOCKED, retried with backoff, kept when they fail for good.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    kind         TEXT NOT NULL,
    dedupe_key   TEXT,
    payload      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending',
    run_at       DATETIME NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    last_error   TEXT NOT NULL DEFAULT '',
    date_created DATETIME NOT NULL,
    date_updated DATETIME NOT NULL
);
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status IN ('pending', 'running');

-- +goose Down
DROP TABLE jobs;
DROP TABLE conversation_webhooks;
DROP TABLE address_configurations;
DROP TABLE delivery_receipts;
DROP TABLE messages;
DROP TABLE bindings;
DROP TABLE participants;
DROP TABLE conversations;
DROP TABLE users;
DROP TABLE roles;
DROP TABLE webhook_configs;
DROP TABLE configurations;
DROP TABLE services;
DROP TABLE api_keys;
DROP TABLE accounts;

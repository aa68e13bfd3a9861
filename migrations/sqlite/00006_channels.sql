-- +goose Up
-- Carrier accounts (Twilio, Meta WhatsApp Cloud, the dev simulator). Secrets
-- are sealed with the server's secret key (AES-GCM), never stored in clear.
CREATE TABLE channel_providers (
    sid              TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    friendly_name    TEXT NOT NULL DEFAULT '',
    account_id       TEXT NOT NULL DEFAULT '',
    secret           TEXT NOT NULL DEFAULT '',
    app_secret       TEXT NOT NULL DEFAULT '',
    verify_token     TEXT NOT NULL DEFAULT '',
    base_url         TEXT NOT NULL DEFAULT '',
    templates        TEXT NOT NULL DEFAULT '{}',
    date_created     DATETIME NOT NULL,
    date_updated     DATETIME NOT NULL
);

-- Our numbers and WhatsApp senders, as proxy addresses (+E164,
-- whatsapp:+E164), and the carrier account each one sends through.
CREATE TABLE channel_senders (
    address       TEXT PRIMARY KEY,
    provider_sid  TEXT NOT NULL REFERENCES channel_providers (sid),
    sender_id     TEXT NOT NULL DEFAULT '',
    rate_limit    REAL NOT NULL DEFAULT 0,
    date_created  DATETIME NOT NULL,
    date_updated  DATETIME NOT NULL
);
CREATE INDEX channel_senders_provider ON channel_senders (provider_sid);

-- Every inbound carrier message once: carriers retry webhooks, and a
-- duplicate must not become a second conversation message.
CREATE TABLE channel_inbound (
    provider_sid     TEXT NOT NULL,
    external_id      TEXT NOT NULL,
    message_sid      TEXT NOT NULL DEFAULT '',
    date_created     DATETIME NOT NULL,
    PRIMARY KEY (provider_sid, external_id)
);

-- When each customer last wrote to each of our addresses: WhatsApp allows
-- free-form messages only within 24 hours of it.
CREATE TABLE channel_contacts (
    address          TEXT NOT NULL,
    proxy_address    TEXT NOT NULL,
    last_inbound_at  DATETIME NOT NULL,
    PRIMARY KEY (address, proxy_address)
);

-- One row per message and non-chat recipient: the outbound ledger that makes
-- delivery exactly-once. state: pending → sending → sent | failed.
CREATE TABLE channel_deliveries (
    sid               TEXT PRIMARY KEY,
    service_sid       TEXT NOT NULL,
    message_sid       TEXT NOT NULL,
    participant_sid   TEXT NOT NULL,
    conversation_sid  TEXT NOT NULL,
    provider_sid      TEXT NOT NULL DEFAULT '',
    from_address      TEXT NOT NULL,
    to_address        TEXT NOT NULL,
    state             TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    external_id       TEXT,
    error_code        INTEGER NOT NULL DEFAULT 0,
    error_message     TEXT NOT NULL DEFAULT '',
    date_sending      DATETIME,
    date_created      DATETIME NOT NULL,
    date_updated      DATETIME NOT NULL,
    UNIQUE (message_sid, participant_sid)
);
CREATE UNIQUE INDEX channel_deliveries_external ON channel_deliveries (provider_sid, external_id);

-- +goose Down
DROP TABLE channel_deliveries;
DROP TABLE channel_contacts;
DROP TABLE channel_inbound;
DROP TABLE channel_senders;
DROP TABLE channel_providers;

-- +goose Up
-- Webchat deployments (WD…): a widget on customers' sites. The key is
-- public (it is embedded in those sites) but unguessable, and rotating it
-- cuts off copies of the snippet. allowed_origins and pre_engagement are
-- JSON. No foreign key to the address configuration: deleting one leaves
-- the deployment refusing new sessions with a clear error.
CREATE TABLE webchat_deployments (
    sid                        TEXT PRIMARY KEY,
    deployment_key             TEXT NOT NULL UNIQUE,
    friendly_name              TEXT NOT NULL DEFAULT '',
    allowed_origins            TEXT NOT NULL DEFAULT '[]',
    address_configuration_sid  TEXT NOT NULL,
    pre_engagement             TEXT NOT NULL,
    welcome_message            TEXT NOT NULL DEFAULT '',
    brand_color                TEXT NOT NULL DEFAULT '',
    title                      TEXT NOT NULL DEFAULT '',
    date_created               TIMESTAMPTZ NOT NULL,
    date_updated               TIMESTAMPTZ NOT NULL
);

-- One row per webchat session: the guest identity its tokens carry and
-- the one conversation it may reach. Rows outlive their deployment, so a
-- session keeps working until its conversation closes.
CREATE TABLE webchat_sessions (
    identity          TEXT PRIMARY KEY,
    deployment_sid    TEXT NOT NULL,
    service_sid       TEXT NOT NULL,
    conversation_sid  TEXT NOT NULL,
    participant_sid   TEXT NOT NULL,
    date_created      TIMESTAMPTZ NOT NULL
);
CREATE INDEX webchat_sessions_conversation ON webchat_sessions (conversation_sid);

-- +goose Down
DROP TABLE webchat_sessions;
DROP TABLE webchat_deployments;

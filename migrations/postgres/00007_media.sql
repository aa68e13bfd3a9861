-- +goose Up
-- Uploaded media (ME…). The bytes live in the media store under the SID;
-- conversation_sid and message_sid stay null until a message claims the
-- media. No foreign keys: a message links its media before its own row is
-- inserted, and rows of a deleted service or message stay behind to find
-- the stored bytes they own.
CREATE TABLE media (
    sid              TEXT PRIMARY KEY,
    service_sid      TEXT NOT NULL,
    content_type     TEXT NOT NULL,
    filename         TEXT NOT NULL DEFAULT '',
    size             BIGINT NOT NULL,
    author           TEXT NOT NULL,
    conversation_sid TEXT,
    message_sid      TEXT,
    date_created     TIMESTAMPTZ NOT NULL,
    date_updated     TIMESTAMPTZ NOT NULL
);
CREATE INDEX media_message ON media (message_sid);

-- +goose Down
DROP TABLE media;

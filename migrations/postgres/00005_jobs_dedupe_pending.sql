-- +goose Up
-- One pending job per key, whatever is running: a change that reschedules
-- a job while it runs (a conversation's timers restarting as the timer
-- fires) must leave a pending twin behind, not be lost.
DROP INDEX jobs_dedupe;
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status = 'pending';

-- +goose Down
DROP INDEX jobs_dedupe;
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key) WHERE status IN ('pending', 'running');

-- +goose Up
-- Insights: one row per task, kept from the TaskRouter events in the
-- transaction that records each of them, so historical dashboards read one
-- narrow table instead of replaying the event history (which is purged after
-- 30 days anyway). Times are when things happened; the *_ms columns are the
-- durations derived from them when the later moment is recorded: wait_ms
-- runs from creation to acceptance (or to cancelation), handle_ms from
-- acceptance to completion (wrap-up included), wrap_ms from wrap-up to
-- completion, first_response_ms from acceptance to the agent's first
-- message. abandoned marks a task canceled while it waited for an agent
-- (a transfer withdrawn before anyone took it leaves no row at all).
CREATE TABLE insights_tasks (
    task_sid          TEXT PRIMARY KEY,
    workspace_sid     TEXT NOT NULL,
    task_channel_sid  TEXT NOT NULL DEFAULT '',
    task_queue_sid    TEXT NOT NULL DEFAULT '',
    workflow_sid      TEXT NOT NULL DEFAULT '',
    created_at        DATETIME NOT NULL,
    entered_at        DATETIME,
    accepted_at       DATETIME,
    worker_sid        TEXT NOT NULL DEFAULT '',
    first_response_at DATETIME,
    wrapup_at         DATETIME,
    completed_at      DATETIME,
    canceled_at       DATETIME,
    abandoned         BOOLEAN NOT NULL DEFAULT FALSE,
    transfers         INTEGER NOT NULL DEFAULT 0,
    transferred_from  TEXT NOT NULL DEFAULT '',
    disposition       TEXT NOT NULL DEFAULT '',
    final_worker_sid  TEXT NOT NULL DEFAULT '',
    wait_ms           BIGINT,
    handle_ms         BIGINT,
    wrap_ms           BIGINT,
    first_response_ms BIGINT
);
-- Every dashboard query is a date range of one workspace.
CREATE INDEX insights_tasks_created ON insights_tasks (workspace_sid, created_at);
-- A transfer's origin counts its transfers.
CREATE INDEX insights_tasks_transferred_from ON insights_tasks (transferred_from) WHERE transferred_from <> '';

-- +goose Down
DROP TABLE insights_tasks;

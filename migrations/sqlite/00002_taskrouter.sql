-- +goose Up
-- The task layer: TaskRouter resources and the Flex Interactions that tie
-- conversations to tasks.

CREATE TABLE workspaces (
    sid                    TEXT PRIMARY KEY,
    friendly_name          TEXT NOT NULL,
    event_callback_url     TEXT NOT NULL DEFAULT '',
    events_filter          TEXT NOT NULL DEFAULT '',
    multi_task_enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    prioritize_queue_order TEXT NOT NULL DEFAULT 'FIFO',
    default_activity_sid   TEXT NOT NULL DEFAULT '',
    timeout_activity_sid   TEXT NOT NULL DEFAULT '',
    date_created           DATETIME NOT NULL,
    date_updated           DATETIME NOT NULL
);

CREATE TABLE activities (
    sid           TEXT PRIMARY KEY,
    workspace_sid TEXT NOT NULL REFERENCES workspaces (sid) ON DELETE CASCADE,
    friendly_name TEXT NOT NULL,
    available     BOOLEAN NOT NULL,
    date_created  DATETIME NOT NULL,
    date_updated  DATETIME NOT NULL,
    UNIQUE (workspace_sid, friendly_name)
);

CREATE TABLE task_channels (
    sid                       TEXT PRIMARY KEY,
    workspace_sid             TEXT NOT NULL REFERENCES workspaces (sid) ON DELETE CASCADE,
    friendly_name             TEXT NOT NULL,
    unique_name               TEXT NOT NULL,
    channel_optimized_routing BOOLEAN NOT NULL DEFAULT FALSE,
    date_created              DATETIME NOT NULL,
    date_updated              DATETIME NOT NULL,
    UNIQUE (workspace_sid, unique_name)
);

CREATE TABLE workers (
    sid                 TEXT PRIMARY KEY,
    workspace_sid       TEXT NOT NULL REFERENCES workspaces (sid) ON DELETE CASCADE,
    friendly_name       TEXT NOT NULL,
    attributes          TEXT NOT NULL DEFAULT '{}',
    activity_sid        TEXT NOT NULL,
    available           BOOLEAN NOT NULL,
    date_status_changed DATETIME NOT NULL,
    -- when the worker last got a reservation: "longest idle" orders by it
    last_reserved_at    DATETIME,
    date_created        DATETIME NOT NULL,
    date_updated        DATETIME NOT NULL,
    UNIQUE (workspace_sid, friendly_name)
);
CREATE INDEX workers_available ON workers (workspace_sid, available);

-- Capacity per worker and task channel. `used` counts pending reservations
-- plus assigned and wrapping tasks; the router raises it with a guarded
-- UPDATE (used < capacity), so capacity holds under concurrent routing.
CREATE TABLE worker_channels (
    sid              TEXT PRIMARY KEY,
    workspace_sid    TEXT NOT NULL,
    worker_sid       TEXT NOT NULL REFERENCES workers (sid) ON DELETE CASCADE,
    task_channel_sid TEXT NOT NULL REFERENCES task_channels (sid) ON DELETE CASCADE,
    capacity         INTEGER NOT NULL,
    available        BOOLEAN NOT NULL DEFAULT TRUE,
    used             INTEGER NOT NULL DEFAULT 0,
    assigned         INTEGER NOT NULL DEFAULT 0,
    date_created     DATETIME NOT NULL,
    date_updated     DATETIME NOT NULL,
    UNIQUE (worker_sid, task_channel_sid)
);

CREATE TABLE task_queues (
    sid                      TEXT PRIMARY KEY,
    workspace_sid            TEXT NOT NULL REFERENCES workspaces (sid) ON DELETE CASCADE,
    friendly_name            TEXT NOT NULL,
    target_workers           TEXT NOT NULL DEFAULT '1==1',
    max_reserved_workers     INTEGER NOT NULL DEFAULT 1,
    task_order               TEXT NOT NULL DEFAULT 'FIFO',
    reservation_activity_sid TEXT NOT NULL DEFAULT '',
    assignment_activity_sid  TEXT NOT NULL DEFAULT '',
    date_created             DATETIME NOT NULL,
    date_updated             DATETIME NOT NULL,
    UNIQUE (workspace_sid, friendly_name)
);

CREATE TABLE workflows (
    sid                              TEXT PRIMARY KEY,
    workspace_sid                    TEXT NOT NULL REFERENCES workspaces (sid) ON DELETE CASCADE,
    friendly_name                    TEXT NOT NULL,
    configuration                    TEXT NOT NULL,
    assignment_callback_url          TEXT NOT NULL DEFAULT '',
    fallback_assignment_callback_url TEXT NOT NULL DEFAULT '',
    task_reservation_timeout         INTEGER NOT NULL DEFAULT 120,
    date_created                     DATETIME NOT NULL,
    date_updated                     DATETIME NOT NULL
);

CREATE TABLE tasks (
    sid                     TEXT PRIMARY KEY,
    workspace_sid           TEXT NOT NULL REFERENCES workspaces (sid) ON DELETE CASCADE,
    attributes              TEXT NOT NULL DEFAULT '{}',
    assignment_status       TEXT NOT NULL,
    priority                INTEGER NOT NULL DEFAULT 0,
    reason                  TEXT NOT NULL DEFAULT '',
    timeout                 INTEGER NOT NULL DEFAULT 86400,
    task_channel_sid        TEXT NOT NULL,
    workflow_sid            TEXT NOT NULL DEFAULT '',
    task_queue_sid          TEXT NOT NULL DEFAULT '',
    task_queue_entered_date DATETIME,
    routing_target          TEXT NOT NULL DEFAULT '',
    ignore_capacity         BOOLEAN NOT NULL DEFAULT FALSE,
    virtual_start_time      DATETIME NOT NULL,
    -- the workflow step in force: filter index and target index, and since when
    filter_index            INTEGER NOT NULL DEFAULT -1,
    target_index            INTEGER NOT NULL DEFAULT 0,
    target_entered_at       DATETIME,
    worker_sid              TEXT NOT NULL DEFAULT '',
    date_created            DATETIME NOT NULL,
    date_updated            DATETIME NOT NULL
);
CREATE INDEX tasks_routing ON tasks (workspace_sid, assignment_status, priority DESC, virtual_start_time);
CREATE INDEX tasks_queue ON tasks (task_queue_sid, assignment_status);

CREATE TABLE reservations (
    sid                TEXT PRIMARY KEY,
    workspace_sid      TEXT NOT NULL,
    task_sid           TEXT NOT NULL REFERENCES tasks (sid) ON DELETE CASCADE,
    worker_sid         TEXT NOT NULL REFERENCES workers (sid) ON DELETE CASCADE,
    task_channel_sid   TEXT NOT NULL,
    reservation_status TEXT NOT NULL,
    timeout_at         DATETIME NOT NULL,
    date_created       DATETIME NOT NULL,
    date_updated       DATETIME NOT NULL
);
CREATE INDEX reservations_task ON reservations (task_sid, reservation_status);
CREATE INDEX reservations_worker ON reservations (worker_sid, reservation_status);
-- A worker holds at most one live reservation per task.
CREATE UNIQUE INDEX reservations_live ON reservations (task_sid, worker_sid)
    WHERE reservation_status IN ('pending', 'accepted', 'wrapping');

CREATE TABLE taskrouter_events (
    sid             TEXT PRIMARY KEY,
    workspace_sid   TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    event_date      DATETIME NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    resource_type   TEXT NOT NULL DEFAULT '',
    resource_sid    TEXT NOT NULL DEFAULT '',
    task_sid        TEXT NOT NULL DEFAULT '',
    worker_sid      TEXT NOT NULL DEFAULT '',
    reservation_sid TEXT NOT NULL DEFAULT '',
    task_queue_sid  TEXT NOT NULL DEFAULT '',
    workflow_sid    TEXT NOT NULL DEFAULT '',
    task_channel    TEXT NOT NULL DEFAULT '',
    event_data      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX taskrouter_events_date ON taskrouter_events (workspace_sid, event_date);
CREATE INDEX taskrouter_events_type ON taskrouter_events (workspace_sid, event_type, event_date);

-- Flex Interactions: an interaction ties a conversation (its media channel)
-- to the tasks that route it.
CREATE TABLE interactions (
    sid                     TEXT PRIMARY KEY,
    channel                 TEXT NOT NULL DEFAULT '{}',
    routing                 TEXT NOT NULL DEFAULT '{}',
    interaction_context_sid TEXT NOT NULL DEFAULT '',
    webhook_ttid            TEXT NOT NULL DEFAULT '',
    date_created            DATETIME NOT NULL,
    date_updated            DATETIME NOT NULL
);

CREATE TABLE interaction_channels (
    sid               TEXT PRIMARY KEY,
    interaction_sid   TEXT NOT NULL REFERENCES interactions (sid) ON DELETE CASCADE,
    type              TEXT NOT NULL,
    status            TEXT NOT NULL,
    media_channel_sid TEXT NOT NULL DEFAULT '',
    error_code        INTEGER,
    error_message     TEXT,
    date_created      DATETIME NOT NULL,
    date_updated      DATETIME NOT NULL
);
CREATE INDEX interaction_channels_media ON interaction_channels (media_channel_sid, status);

CREATE TABLE interaction_participants (
    sid                 TEXT PRIMARY KEY,
    interaction_sid     TEXT NOT NULL,
    channel_sid         TEXT NOT NULL REFERENCES interaction_channels (sid) ON DELETE CASCADE,
    type                TEXT NOT NULL,
    status              TEXT NOT NULL DEFAULT 'active',
    media_properties    TEXT NOT NULL DEFAULT '{}',
    routing_properties  TEXT NOT NULL DEFAULT '{}',
    conversation_participant_sid TEXT NOT NULL DEFAULT '',
    date_created        DATETIME NOT NULL,
    date_updated        DATETIME NOT NULL
);
CREATE INDEX interaction_participants_channel ON interaction_participants (channel_sid);

CREATE TABLE interaction_invites (
    sid             TEXT PRIMARY KEY,
    interaction_sid TEXT NOT NULL,
    channel_sid     TEXT NOT NULL REFERENCES interaction_channels (sid) ON DELETE CASCADE,
    routing         TEXT NOT NULL DEFAULT '{}',
    task_sid        TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending',
    date_created    DATETIME NOT NULL,
    date_updated    DATETIME NOT NULL
);
CREATE INDEX interaction_invites_channel ON interaction_invites (channel_sid);
CREATE INDEX interaction_invites_task ON interaction_invites (task_sid);

CREATE TABLE interaction_transfers (
    sid             TEXT PRIMARY KEY,
    interaction_sid TEXT NOT NULL,
    channel_sid     TEXT NOT NULL REFERENCES interaction_channels (sid) ON DELETE CASCADE,
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    from_sid        TEXT NOT NULL DEFAULT '',
    to_sid          TEXT NOT NULL DEFAULT '',
    note            TEXT NOT NULL DEFAULT '',
    invite_sid      TEXT NOT NULL DEFAULT '',
    date_created    DATETIME NOT NULL,
    date_updated    DATETIME NOT NULL
);

-- +goose Down
DROP TABLE interaction_transfers;
DROP TABLE interaction_invites;
DROP TABLE interaction_participants;
DROP TABLE interaction_channels;
DROP TABLE interactions;
DROP TABLE taskrouter_events;
DROP TABLE reservations;
DROP TABLE tasks;
DROP TABLE workflows;
DROP TABLE task_queues;
DROP TABLE worker_channels;
DROP TABLE workers;
DROP TABLE task_channels;
DROP TABLE activities;
DROP TABLE workspaces;

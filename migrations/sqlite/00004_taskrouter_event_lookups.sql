-- +goose Up
-- Statistics attribute each event to its queue, workflow and channel
-- through the reservation.created or task.created event of the same
-- reservation or task; event lists filter by task and reservation too.
-- Without these, SQLite scans every creation event for each event counted.
CREATE INDEX taskrouter_events_task ON taskrouter_events (task_sid);
CREATE INDEX taskrouter_events_reservation ON taskrouter_events (reservation_sid);

-- +goose Down
DROP INDEX taskrouter_events_reservation;
DROP INDEX taskrouter_events_task;

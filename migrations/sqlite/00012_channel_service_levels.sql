-- +goose Up
-- Per task channel settings that are ours, not Twilio's: the capacity a new
-- worker gets on the channel, and the service level the supervisor views
-- and insights measure against — a task answered within
-- service_level_seconds meets it; one abandoned within short_abandon_seconds
-- is a short abandon, counted in neither handled nor abandoned.
ALTER TABLE task_channels ADD COLUMN default_capacity INTEGER NOT NULL DEFAULT 1;
ALTER TABLE task_channels ADD COLUMN service_level_seconds INTEGER NOT NULL DEFAULT 60;
ALTER TABLE task_channels ADD COLUMN short_abandon_seconds INTEGER NOT NULL DEFAULT 10;

-- +goose Down
ALTER TABLE task_channels DROP COLUMN short_abandon_seconds;
ALTER TABLE task_channels DROP COLUMN service_level_seconds;
ALTER TABLE task_channels DROP COLUMN default_capacity;

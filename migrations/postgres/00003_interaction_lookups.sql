-- +goose Up
-- The message hook asks, for every new message, whether its author is an
-- agent of an interaction.
CREATE INDEX interaction_participants_conversation_participant ON interaction_participants (conversation_participant_sid);

-- +goose Down
DROP INDEX interaction_participants_conversation_participant;

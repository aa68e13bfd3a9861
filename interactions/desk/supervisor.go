package desk

import (
	"context"
	"encoding/json"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// The desk's rendering and choices, for a supervisor watching a
// conversation they hold no task on. Their access is the caller's to check
// (the supervise service allows any conversation with a task in the
// supervisor's workspace); nothing here moves a read horizon, signals
// typing or joins anyone, so watching stays invisible to the customer.

// ObservedThread is the page of a conversation's thread before index
// `before` as viewer sees it: their own messages (once they joined and
// wrote) are Mine, everyone else's theirs.
func (s *Service) ObservedThread(ctx context.Context, viewer Agent, conversationSid string, before int64) (Thread, error) {
	c, err := s.observed(ctx, conversationSid)
	if err != nil {
		return Thread{}, err
	}
	return s.older(ctx, viewer, c, before)
}

// ObservedAfter is up to limit messages after index `after`, with the
// system events since, as viewer sees them: what a watching page missed.
func (s *Service) ObservedAfter(ctx context.Context, viewer Agent, conversationSid string, after int64, limit int) (Thread, error) {
	c, err := s.observed(ctx, conversationSid)
	if err != nil {
		return Thread{}, err
	}
	return s.after(ctx, viewer, c, after, limit)
}

// ObservedMessages renders messages of a conversation the page shows
// already (an edit, a delivery receipt), as viewer sees them.
func (s *Service) ObservedMessages(ctx context.Context, viewer Agent, conversationSid string, ms []conversations.Message) ([]Message, error) {
	c, err := s.observed(ctx, conversationSid)
	if err != nil {
		return nil, err
	}
	tv, err := s.newThreadView(ctx, viewer, c)
	if err != nil {
		return nil, err
	}
	return tv.messages(ctx, ms)
}

// ParticipantEvent is the system line for a conversation participant who
// joined or left as an agent or supervisor; ok is false for anyone else.
func (s *Service) ParticipantEvent(ctx context.Context, participantSid string, joined bool) (Event, bool, error) {
	return s.participantEvent(ctx, participantSid, joined)
}

// ParticipantName is how a conversation participant is named in the
// thread: their friendly name, else their user's, else their identity or
// address.
func (s *Service) ParticipantName(ctx context.Context, serviceSid string, p conversations.Participant) (string, error) {
	key, name := participantName(p)
	if name != key || p.Identity == nil {
		return name, nil
	}
	users, err := s.userNames(ctx, serviceSid, []string{key})
	if err != nil {
		return "", err
	}
	if users[key] != "" {
		return users[key], nil
	}
	return name, nil
}

// observed loads a conversation without checking who asks.
func (s *Service) observed(ctx context.Context, conversationSid string) (conversations.Conversation, error) {
	var c conversations.Conversation
	res := s.read(ctx).Where("sid = ?", conversationSid).Limit(1).Find(&c)
	if res.Error != nil {
		return c, errs.Wrap(res.Error, "observed conversation")
	}
	if res.RowsAffected == 0 {
		return c, errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	return c, nil
}

// ReassignAgents lists a workspace's agents for a task on taskChannelSid,
// as the transfer dialog does: those who can take it now first, then the
// rest, by name; except (the task's current agent) is left out.
func (s *Service) ReassignAgents(ctx context.Context, workspaceSid, taskChannelSid, except string) ([]TransferAgent, error) {
	return s.transferAgents(ctx, workspaceSid, except, taskChannelSid)
}

// ReassignQueues lists a workspace's queues with their waiting tasks and
// available agents, by name.
func (s *Service) ReassignQueues(ctx context.Context, workspaceSid string) ([]TransferQueue, error) {
	return s.transferQueues(ctx, workspaceSid)
}

// WorkerName names a worker for people: their full_name attribute (staff
// provisioning sets it), else the worker's name.
func WorkerName(wk taskrouter.Worker) string { return displayName(wk) }

// TaskFields are a task's attributes worth showing, labelled for people,
// as the context panel shows them, with the conversation's pre-engagement
// answers.
func TaskFields(attributes string, c conversations.Conversation) []Field {
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(attributes), &attrs) // a task's attributes are a JSON object; unreadable reads as empty
	if attrs == nil {
		attrs = map[string]any{}
	}
	return taskFields(attrs, conversationFields(c))
}

// DeskChannel is the desk's channel (ChannelSMS, ChannelWhatsApp or
// ChannelChat) for an interaction channel's type.
func DeskChannel(channelType string) string { return deskChannel(channelType) }

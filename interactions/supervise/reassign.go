package supervise

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// ReassignChoices is what the reassign picker offers: the workspace's
// agents (those who can take the task now first) and its queues.
type ReassignChoices struct {
	ConversationSid string
	Channel         string // the task channel's name
	Agents          []desk.TransferAgent
	Queues          []desk.TransferQueue
}

// ReassignChoices lists where the conversation's live task can go: every
// agent but the one holding it, and every queue.
func (s *Service) ReassignChoices(ctx context.Context, sup Supervisor, conversationSid string) (ReassignChoices, error) {
	t, err := s.monTask(ctx, sup, conversationSid)
	if err != nil {
		return ReassignChoices{}, err
	}
	out := ReassignChoices{ConversationSid: conversationSid}
	tc, err := s.tr.TaskChannel(ctx, t.WorkspaceSid, t.TaskChannelSid)
	if err != nil {
		return out, err
	}
	out.Channel = tc.FriendlyName
	if out.Agents, err = s.desk.ReassignAgents(ctx, t.WorkspaceSid, t.TaskChannelSid, t.WorkerSid); err != nil {
		return out, err
	}
	out.Queues, err = s.desk.ReassignQueues(ctx, t.WorkspaceSid)
	return out, err
}

// Reassign moves the conversation's live task to an agent who can take it
// now (they are offered it) or to a queue (it waits there). Whoever held
// it loses it at once, and the hand-over shows in the thread with who
// ordered it. Bad targets change nothing.
func (s *Service) Reassign(ctx context.Context, sup Supervisor, conversationSid, to, note string) error {
	t, err := s.monTask(ctx, sup, conversationSid)
	if err != nil {
		return err
	}
	if !(MonitorTask{Status: t.AssignmentStatus}).Live() {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "This conversation's task is %s: only live work can be reassigned",
			t.AssignmentStatus)
	}
	to = strings.TrimSpace(to)
	if err := s.raCheckTarget(ctx, t, to); err != nil {
		return err
	}
	note = strings.TrimSpace(note)
	if n := utf8.RuneCountInString(note); n > desk.MaxTransferNote {
		return errs.Invalidf("The note is %d characters; at most %d fit", n, desk.MaxTransferNote)
	}
	by := "Reassigned by " + sup.Name
	if note != "" {
		by += ": " + note
	}
	_, err = s.ix.Reassign(ctx, t.InteractionSid, t.ChannelSid, interactions.ReassignSpec{TaskSid: t.Sid, To: to, Note: by})
	return err
}

// raCheckTarget refuses a target outside the workspace, the agent who
// holds the task, and an agent an offer could not reach now.
func (s *Service) raCheckTarget(ctx context.Context, t monTaskRow, to string) error {
	switch {
	case to == t.WorkerSid && to != "":
		return errs.Invalidf("That agent has this conversation already: choose another agent or a queue")
	case !sid.Is(to, sid.TaskQueue) && !sid.Is(to, sid.Worker):
		return errs.Invalidf("Choose an agent or a queue to reassign the conversation to")
	}
	return s.desk.CheckTarget(ctx, t.WorkspaceSid, t.TaskChannelSid, to)
}

package desk

import (
	"context"
	"encoding/json"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// work is an agent's part in a conversation: the latest task they hold or
// held on it, the interaction channel that task belongs to and, once they
// accepted it, their participant in that channel.
type work struct {
	conversation conversations.Conversation
	channel      interactions.Channel
	task         taskrouter.Task
	participant  *interactions.Participant // nil: none for this task
}

// workOn finds the agent's work on a conversation. It checks Allowed
// first, so a conversation the agent never held is not found whatever
// action asked.
func (s *Service) workOn(ctx context.Context, a Agent, conversationSid string) (work, error) {
	if err := s.Allowed(ctx, a, conversationSid); err != nil {
		return work{}, err
	}
	var held []struct {
		TaskSid      string
		WorkspaceSid string
		ChannelSid   string
	}
	err := s.read(ctx).Raw(`SELECT r.task_sid, r.workspace_sid, c.sid AS channel_sid FROM reservations r
		JOIN interaction_invites i ON i.task_sid = r.task_sid
		JOIN interaction_channels c ON c.sid = i.channel_sid
		WHERE r.worker_sid = ? AND r.reservation_status IN ? AND c.media_channel_sid = ?
		ORDER BY r.date_created DESC, r.sid DESC LIMIT 1`, a.WorkerSid, heldStatuses, conversationSid).Scan(&held).Error
	if err != nil {
		return work{}, errs.Wrap(err, "desk work")
	}
	if len(held) == 0 {
		return work{}, errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	var w work
	if w.task, err = s.tr.Task(ctx, held[0].WorkspaceSid, held[0].TaskSid); err != nil {
		return w, err
	}
	if err := s.read(ctx).Where("sid = ?", held[0].ChannelSid).First(&w.channel).Error; err != nil {
		return w, errs.Wrap(err, "desk work channel")
	}
	if err := s.read(ctx).Where("sid = ?", conversationSid).First(&w.conversation).Error; err != nil {
		return w, errs.Wrap(err, "desk work conversation")
	}
	var agents []interactions.Participant
	if err := s.read(ctx).Where("channel_sid = ? AND type = ?", w.channel.Sid, interactions.TypeAgent).
		Order("date_created DESC").Find(&agents).Error; err != nil {
		return w, errs.Wrap(err, "desk work participant")
	}
	for i := range agents {
		var rp struct {
			TaskSid string `json:"task_sid"`
		}
		_ = json.Unmarshal([]byte(agents[i].RoutingProperties), &rp) // written by interactions; unreadable means not ours
		if rp.TaskSid == w.task.Sid {
			w.participant = &agents[i]
			break
		}
	}
	return w, nil
}

// inConversation refuses an action that needs the agent still working the
// conversation: in it, with their task assigned.
func (w work) inConversation() error {
	if w.participant == nil || w.participant.Status != interactions.ParticipantActive || w.task.AssignmentStatus != taskrouter.TaskAssigned {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "You are no longer in conversation %s: its task is %s",
			w.conversation.Sid, w.task.AssignmentStatus)
	}
	return nil
}

// attributes reads the task's attributes; a task always has a JSON object,
// but an unreadable one reads as empty rather than failing a view.
func (w work) attributes() map[string]any {
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(w.task.Attributes), &attrs)
	if attrs == nil {
		attrs = map[string]any{}
	}
	return attrs
}

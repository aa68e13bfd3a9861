package desk

import (
	"context"
	"encoding/json"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// EndChat ends the agent's part in a conversation they are working: their
// interaction participant goes to wrapup, so they leave the conversation and
// their task waits in wrapping for Complete. The customer stays; their next
// message brings new work if nobody else is in it.
func (s *Service) EndChat(ctx context.Context, a Agent, conversationSid string) error {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	if err := w.inConversation(); err != nil {
		return err
	}
	_, err = s.ix.UpdateParticipant(ctx, w.channel.InteractionSid, w.channel.Sid, w.participant.Sid, interactions.ParticipantWrapup)
	return err
}

// CompleteForm is what the Complete form offers for a task.
type CompleteForm struct {
	ConversationSid string
	// Dispositions are the workspace's active ones; when there are any,
	// one is required.
	Dispositions []Disposition
	// Wrapping says the agent already left the conversation (End chat);
	// otherwise completing also takes them out of it.
	Wrapping bool
}

// CompleteRequest is what the agent submits.
type CompleteRequest struct {
	Disposition string // a code of the workspace's active dispositions
	Note        string // kept as a note on the conversation
}

// CompleteForm describes the Complete form for the agent's task on a
// conversation that is assigned or wrapping.
func (s *Service) CompleteForm(ctx context.Context, a Agent, conversationSid string) (CompleteForm, error) {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return CompleteForm{}, err
	}
	if err := w.completable(); err != nil {
		return CompleteForm{}, err
	}
	ds, err := s.activeDispositions(ctx, w.task.WorkspaceSid)
	return CompleteForm{ConversationSid: conversationSid, Dispositions: ds, Wrapping: w.task.AssignmentStatus == taskrouter.TaskWrapping}, err
}

// completable refuses a task that is not the agent's to complete any more.
func (w work) completable() error {
	if w.task.AssignmentStatus != taskrouter.TaskAssigned && w.task.AssignmentStatus != taskrouter.TaskWrapping {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Your task on conversation %s is %s: there is nothing to complete",
			w.conversation.Sid, w.task.AssignmentStatus)
	}
	return nil
}

// Complete completes the agent's task on a conversation with a disposition
// from the workspace's active list (required when the list is not empty)
// and an optional note. The disposition goes into the task's attributes as
// disposition (the code) and conversations.outcome (the label, where Flex
// Insights reads a conversation's outcome). An agent still in the
// conversation leaves it first, as End chat would. Bad input changes
// nothing.
func (s *Service) Complete(ctx context.Context, a Agent, conversationSid string, r CompleteRequest) error {
	w, err := s.workOn(ctx, a, conversationSid)
	if err != nil {
		return err
	}
	if err := w.completable(); err != nil {
		return err
	}
	note, err := checkNote(r.Note)
	if err != nil {
		return err
	}
	picked, err := s.pickDisposition(ctx, w.task.WorkspaceSid, r.Disposition)
	if err != nil {
		return err
	}
	attrs := w.attributes()
	if picked != nil {
		conv, _ := attrs["conversations"].(map[string]any)
		if conv == nil {
			conv = map[string]any{}
		}
		conv["outcome"] = picked.Label
		attrs["conversations"], attrs["disposition"] = conv, picked.Code
	}
	encoded, err := json.Marshal(attrs)
	if err != nil {
		return errs.Wrap(err, "complete: task attributes")
	}
	if w.participant != nil && w.participant.Status == interactions.ParticipantActive {
		if _, err := s.ix.UpdateParticipant(ctx, w.channel.InteractionSid, w.channel.Sid, w.participant.Sid,
			interactions.ParticipantWrapup); err != nil {
			return err
		}
	}
	attrsJSON, status, reason := string(encoded), taskrouter.TaskCompleted, "completed by agent"
	if picked != nil {
		reason += " (" + picked.Code + ")"
	}
	if _, err := s.tr.UpdateTask(ctx, w.task.WorkspaceSid, w.task.Sid, taskrouter.TaskParams{Attributes: &attrsJSON,
		AssignmentStatus: &status, Reason: &reason}); err != nil {
		return err
	}
	if w.participant != nil {
		// Its task is completed already; this only closes the participant,
		// as the Interactions API shows it.
		if _, err := s.ix.UpdateParticipant(ctx, w.channel.InteractionSid, w.channel.Sid, w.participant.Sid,
			interactions.ParticipantClosed); err != nil {
			return err
		}
	}
	if note == "" {
		return nil
	}
	_, err = s.writeNote(ctx, a, conversationSid, note)
	return err
}

// pickDisposition checks the agent's choice against the workspace's active
// dispositions: one is required when there are any, and none can be given
// when there are none.
func (s *Service) pickDisposition(ctx context.Context, workspaceSid, code string) (*Disposition, error) {
	active, err := s.activeDispositions(ctx, workspaceSid)
	if err != nil {
		return nil, err
	}
	if code == "" {
		if len(active) > 0 {
			return nil, errs.Invalidf("Choose a disposition to complete this task")
		}
		return nil, nil
	}
	for i := range active {
		if active[i].Code == code {
			return &active[i], nil
		}
	}
	return nil, errs.Invalidf("Disposition %q is not one of this workspace's active dispositions", code)
}

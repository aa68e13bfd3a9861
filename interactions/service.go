package interactions

import (
	"context"
	"encoding/json"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// Conversations is what the interactions layer needs of the conversations
// engine. Every method works inside the caller's transaction, so a task and
// a conversation change commit together.
type Conversations interface {
	ConversationTx(tx *db.Tx, conversationSid string) (conversations.Conversation, error)
	ParticipantTx(tx *db.Tx, conversationSid, key string) (conversations.Participant, error)
	ParticipantsTx(tx *db.Tx, conversationSid string) ([]conversations.Participant, error)
	CreateConversationTx(tx *db.Tx, serviceSid string, p conversations.ConversationParams, members []conversations.ParticipantParams) (conversations.Conversation, error)
	DefaultServiceSid(tx *db.Tx) (string, error)
	AddParticipantTx(tx *db.Tx, serviceSid, conversationKey string, p conversations.ParticipantParams) (conversations.Participant, error)
	RemoveParticipantTx(tx *db.Tx, serviceSid, conversationKey, key, source string) error
	SetStateTx(tx *db.Tx, conversationSid, state, reason string) error
	OnMessageAdded(h conversations.MessageHook)
	OnStateChanged(h conversations.StateHook)
}

// Service runs interactions over the conversations engine and TaskRouter.
type Service struct {
	db   *db.DB
	conv Conversations
	tr   *taskrouter.Engine
	now  func() time.Time
}

// jobInbound turns a customer's message into work when nobody handles the
// conversation: a durable job written with the message.
const jobInbound = "interactions.inbound"

// New returns the service and hooks it into both engines: customer messages
// enqueue routing work, and accepting a reservation joins the agent to the
// conversation in the same transaction.
func New(d *db.DB, conv Conversations, tr *taskrouter.Engine) *Service {
	s := &Service{db: d, conv: conv, tr: tr, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
	conv.OnMessageAdded(s.onMessage)
	conv.OnStateChanged(s.onStateChanged)
	tr.OnAccepted(s.onAccepted)
	return s
}

// RegisterJobs tells the job runner how to run the layer's jobs.
func (s *Service) RegisterJobs(r *jobs.Runner) { r.Handle(jobInbound, s.runInbound) }

func (s *Service) read(ctx context.Context) *gorm.DB { return s.db.Gorm.WithContext(ctx) }

// onMessage schedules routing for a message written by a participant who
// is not an agent: a customer's message may need a task. Messages from the
// system or a back end (no participant) and from agents never do. The job
// decides after the message commits, under the conversation's lock, so an
// agent leaving at the same moment is seen. A conversation has at most one
// routing job waiting: a burst of its customer's messages costs one job,
// not one each — at a thousand messages a second those piled up faster
// than they ran.
func (s *Service) onMessage(tx *db.Tx, c conversations.Conversation, m conversations.Message) error {
	if m.ParticipantSid == nil {
		return nil
	}
	var staff bool
	if err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM interaction_participants WHERE conversation_participant_sid = ? AND type IN ?)`,
		*m.ParticipantSid, []string{TypeAgent, TypeSupervisor}).Scan(&staff).Error; err != nil || staff {
		return err
	}
	return jobs.Schedule(tx, jobInbound, jobInbound+":"+c.Sid,
		jsonString(inboundPayload{ConversationSid: c.Sid, ParticipantSid: *m.ParticipantSid}), s.now())
}

// onStateChanged ends the work of a conversation that closes, in the same
// transaction: offers are withdrawn (an agent could never join), agents'
// tasks complete and the channel closes.
func (s *Service) onStateChanged(tx *db.Tx, c conversations.Conversation, _ string) error {
	if c.State != conversations.StateClosed {
		return nil
	}
	var open []Channel
	if err := tx.Locked("UPDATE").Where("media_channel_sid = ? AND status IN ?", c.Sid, []string{ChannelSetup, ChannelActive, ChannelInactive}).
		Find(&open).Error; err != nil {
		return err
	}
	for i := range open {
		if err := s.withdrawInvites(tx, open[i].Sid); err != nil {
			return err
		}
		var staff []Participant
		if err := tx.Where("channel_sid = ? AND type IN ? AND status <> ?", open[i].Sid, []string{TypeAgent, TypeSupervisor},
			ParticipantClosed).Find(&staff).Error; err != nil {
			return err
		}
		for j := range staff {
			if err := s.leave(tx, &staff[j], ParticipantClosed); err != nil {
				return err
			}
		}
		if err := tx.Model(&open[i]).Updates(map[string]any{"status": ChannelClosed, "date_updated": s.now()}).Error; err != nil {
			return err
		}
	}
	return nil
}

// jsonString renders v for a JSON text column.
func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "{}"
	}
	return string(b)
}

// notFound reports a missing resource the Twilio way.
func notFound(kind, key string) error {
	return errs.NotFoundf("The requested resource /%s/%s was not found", kind, key)
}

// Package desk is the agent desktop's service: what a signed-in agent sees
// (task cards, offers, the canvas, the context panel) as view models, and
// what they do (accept, reply, transfer, wrap up, complete), each checked
// against what the agent holds. Web handlers call it; views never see the
// stores' own types.
package desk

import (
	"context"
	"io"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
)

// Agent is the signed-in agent a desk call acts for.
type Agent struct {
	WorkspaceSid string
	WorkerSid    string
	Identity     string // their conversations identity
	Name         string
}

// Media stores an agent's attachments and links media for the browser.
// *media.Service satisfies it.
type Media interface {
	Save(ctx context.Context, serviceSid, contentType, filename, author string, body io.Reader) (conversations.Media, error)
	Delete(ctx context.Context, serviceSid, mediaSid string) error
	SignedURL(mediaSid string, ttl time.Duration) string
}

// Signaller passes ephemeral events (typing) to every node's subscribers;
// *realtime.Hub satisfies it.
type Signaller interface {
	Signal(ctx context.Context, ev events.Event) error
}

// Service answers the agent desktop.
type Service struct {
	db     *db.DB
	conv   *conversations.Engine
	tr     *taskrouter.Engine
	ix     *interactions.Service
	media  Media
	signal Signaller
	now    func() time.Time
}

// New returns the desk service. Attachments and typing need SetMedia and
// SetSignaller; without them the desk refuses uploads, shows media without
// links and keeps typing to itself.
func New(d *db.DB, conv *conversations.Engine, tr *taskrouter.Engine, ix *interactions.Service) *Service {
	return &Service{db: d, conv: conv, tr: tr, ix: ix, now: func() time.Time { return time.Now().UTC() }}
}

// SetMedia gives the desk its media store. Call before serving.
func (s *Service) SetMedia(m Media) { s.media = m }

// SetSignaller gives the desk the hub that carries typing. Call before serving.
func (s *Service) SetSignaller(sig Signaller) { s.signal = sig }

func (s *Service) read(ctx context.Context) *gorm.DB { return s.db.Gorm.WithContext(ctx) }

// heldStatuses are the states of a reservation whose worker holds or held
// its task: an offer (pending) does not count.
var heldStatuses = []string{taskrouter.ReservationAccepted, taskrouter.ReservationWrapping, taskrouter.ReservationCompleted}

// Allowed reports whether the agent holds or held a task on the
// conversation. Anything else is answered as not found, so a guessed SID
// learns nothing.
func (s *Service) Allowed(ctx context.Context, a Agent, conversationSid string) error {
	var n int64
	err := s.read(ctx).Raw(`SELECT COUNT(*) FROM reservations r
		JOIN interaction_invites i ON i.task_sid = r.task_sid
		JOIN interaction_channels c ON c.sid = i.channel_sid
		WHERE r.worker_sid = ? AND r.reservation_status IN ? AND c.media_channel_sid = ?`,
		a.WorkerSid, heldStatuses, conversationSid).Scan(&n).Error
	if err != nil {
		return errs.Wrap(err, "desk access")
	}
	if n == 0 {
		return errs.NotFoundf("Conversation %s was not found", conversationSid)
	}
	return nil
}

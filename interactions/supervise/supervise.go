// Package supervise is the supervisor's service: the real-time queues and
// teams views, live monitoring of any conversation, joining one as a
// supervisor, and moving work between agents and queues. It reads
// TaskRouter and the conversations engine and acts through them, so every
// change a supervisor makes is an ordinary TaskRouter or Conversations
// change that the agents' desktops hear about live.
package supervise

import (
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
)

// Service answers the supervisor's views and carries out their actions.
type Service struct {
	db   *db.DB
	conv *conversations.Engine
	tr   *taskrouter.Engine
	ix   *interactions.Service
	desk *desk.Service
	now  func() time.Time
}

// New returns the supervisor's service over the engines the desk uses.
func New(d *db.DB, conv *conversations.Engine, tr *taskrouter.Engine, ix *interactions.Service, dk *desk.Service) *Service {
	return &Service{db: d, conv: conv, tr: tr, ix: ix, desk: dk, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

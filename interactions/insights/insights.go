// Package insights computes the historical contact-centre metrics a
// manager reads: volume, handle time, first response, speed of answer,
// service level, abandonment, transfers and dispositions, over a date
// range and per queue, agent or channel.
package insights

import (
	"time"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
)

// Service answers insights queries.
type Service struct {
	db  *db.DB
	tr  *taskrouter.Engine
	now func() time.Time
}

// New returns the insights service.
func New(d *db.DB, tr *taskrouter.Engine) *Service {
	return &Service{db: d, tr: tr, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

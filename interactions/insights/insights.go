// Package insights computes the historical contact-centre metrics a
// manager reads: volume, handle time, first response, speed of answer,
// service level, abandonment, transfers and dispositions, over a date
// range and per queue, agent or channel.
//
// The figures come from a fact table with one row per task
// (insights_tasks), which an observer of the TaskRouter keeps up to date
// inside the transaction of every task and reservation event; the
// dashboards aggregate it in SQL.
package insights

import (
	"time"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
)

// Service answers insights queries.
type Service struct {
	db  *db.DB
	now func() time.Time
	// loc is the time zone whose days and hours the dashboards count in:
	// the server's.
	loc *time.Location
}

// New returns the insights service and starts keeping the task facts from
// tr's events. Create one per engine: each registers its own observer.
func New(d *db.DB, tr *taskrouter.Engine) *Service {
	s := &Service{db: d, now: time.Now, loc: time.Local}
	tr.OnEvent(observe)
	return s
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

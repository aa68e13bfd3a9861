package taskrouter

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// EventRetention is how long a workspace's event history is kept, as on
// Twilio; the statistics cannot look further back either.
const EventRetention = 30 * 24 * time.Hour

// DefaultWindowMinutes is the interval of an event list or of cumulative
// statistics when the request names none.
const DefaultWindowMinutes = 15

// Window is the interval an event list or cumulative statistics cover: the
// last Minutes, or StartDate to EndDate (both inclusive; a missing StartDate
// means DefaultWindowMinutes before the end, a missing EndDate now). Minutes
// cannot be combined with dates, as on Twilio.
type Window struct {
	Minutes   *int
	StartDate *time.Time
	EndDate   *time.Time
}

// interval resolves w against the engine's clock.
func (e *Engine) interval(w Window) (start, end time.Time, err error) {
	end = e.now()
	if w.Minutes != nil {
		if w.StartDate != nil || w.EndDate != nil {
			return start, end, errs.Invalidf("Minutes cannot be combined with StartDate or EndDate")
		}
		if *w.Minutes < 1 {
			return start, end, errs.Invalidf("Minutes must be at least 1")
		}
		// Nothing older than the retention exists, and longer spans could
		// overflow a Duration.
		span := time.Duration(min(*w.Minutes, int(EventRetention/time.Minute))) * time.Minute
		return end.Add(-span), end, nil
	}
	if w.EndDate != nil {
		end = w.EndDate.UTC()
	}
	start = end.Add(-DefaultWindowMinutes * time.Minute)
	if w.StartDate != nil {
		start = w.StartDate.UTC()
	}
	if start.After(end) {
		return start, end, errs.Invalidf("StartDate must not be after EndDate")
	}
	return start, end, nil
}

// EventFilter narrows the event history; empty strings match everything.
// TaskQueueSid, WorkflowSid and TaskChannel (a SID or unique name) match the
// queue, workflow and channel an event belongs to, even when the event
// itself does not name them (see attributionJoins).
type EventFilter struct {
	Window
	EventType      string
	TaskSid        string
	WorkerSid      string
	ReservationSid string
	TaskQueueSid   string
	WorkflowSid    string
	TaskChannel    string
	Sid            string
}

// attributionJoins give each event e the queue, workflow and task channel
// it belongs to (the columns eventQueue, eventWorkflow and eventChannel):
// its own when it records them, else a reservation's from its
// reservation.created event and a task's from its task.created event.
// Rejections, timeouts and task updates, for instance, name only the task,
// worker and reservation.
//
// NULLIF keeps an event without a reservation (or task) from looking up
// every other such event: no row equals NULL, and the index says so at once.
const attributionJoins = `LEFT JOIN taskrouter_events rc ON rc.reservation_sid = NULLIF(e.reservation_sid, '')
  AND rc.workspace_sid = e.workspace_sid AND rc.event_type = 'reservation.created'
LEFT JOIN taskrouter_events tc ON tc.task_sid = NULLIF(e.task_sid, '')
  AND tc.workspace_sid = e.workspace_sid AND tc.event_type = 'task.created'`

// The queue, workflow and task channel unique name of event e, given attributionJoins.
const (
	eventQueue    = "COALESCE(NULLIF(e.task_queue_sid, ''), rc.task_queue_sid, '')"
	eventWorkflow = "COALESCE(NULLIF(e.workflow_sid, ''), NULLIF(rc.workflow_sid, ''), tc.workflow_sid, '')"
	eventChannel  = "COALESCE(NULLIF(e.task_channel, ''), NULLIF(rc.task_channel, ''), tc.task_channel, '')"
)

// Events lists a workspace's history in the filter's window, oldest first.
func (e *Engine) Events(ctx context.Context, workspaceSid string, f EventFilter, p Page) ([]Event, bool, error) {
	q := e.read(ctx)
	if _, err := e.findWorkspace(q, workspaceSid); err != nil {
		return nil, false, err
	}
	start, end, err := e.interval(f.Window)
	if err != nil {
		return nil, false, err
	}
	sel := q.Table("taskrouter_events AS e").Select("e.*").
		Where("e.workspace_sid = ? AND e.event_date >= ? AND e.event_date <= ?", workspaceSid, start, end)
	for _, c := range [...]struct{ col, v string }{{"e.event_type", f.EventType}, {"e.task_sid", f.TaskSid},
		{"e.worker_sid", f.WorkerSid}, {"e.reservation_sid", f.ReservationSid}, {"e.sid", f.Sid}} {
		if c.v != "" {
			sel = sel.Where(c.col+" = ?", c.v)
		}
	}
	if sel, err = e.whereBelongs(q, sel, workspaceSid, f.TaskQueueSid, f.WorkflowSid, f.TaskChannel); err != nil {
		return nil, false, err
	}
	var rows []Event
	if err := sel.Order("e.event_date, e.sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "events")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// whereBelongs narrows a query over events e to those of a queue, a
// workflow and a task channel (SID or unique name); empty ones match all.
// It adds attributionJoins only when a filter needs them.
func (e *Engine) whereBelongs(q, sel *gorm.DB, workspaceSid, queueSid, workflowSid, channel string) (*gorm.DB, error) {
	if queueSid == "" && workflowSid == "" && channel == "" {
		return sel, nil
	}
	sel = sel.Joins(attributionJoins)
	if queueSid != "" {
		sel = sel.Where(eventQueue+" = ?", queueSid)
	}
	if workflowSid != "" {
		sel = sel.Where(eventWorkflow+" = ?", workflowSid)
	}
	if channel != "" {
		tc, err := taskChannelParam(q, workspaceSid, channel)
		if err != nil {
			return nil, err
		}
		sel = sel.Where(eventChannel+" = ?", tc.UniqueName)
	}
	return sel, nil
}

// Event fetches one event of a workspace's history.
func (e *Engine) Event(ctx context.Context, workspaceSid, eventSid string) (Event, error) {
	var ev Event
	res := e.read(ctx).Where("workspace_sid = ? AND sid = ?", workspaceSid, eventSid).Limit(1).Find(&ev)
	if res.Error != nil {
		return ev, errs.Wrap(res.Error, "event")
	}
	if res.RowsAffected == 0 {
		return ev, notFound("Events", eventSid)
	}
	return ev, nil
}

// The event purge: one durable job that deletes history older than
// EventRetention and then reschedules itself.
const (
	jobEventPurge   = "taskrouter.event-purge"
	eventPurgeEvery = time.Hour
	// eventPurgeBatch bounds one DELETE, so a large backlog never holds a
	// long transaction.
	eventPurgeBatch = 5000
)

// RegisterEventPurge registers the job that deletes events older than
// EventRetention and makes sure it is scheduled (once, whatever the number
// of nodes); it then runs every hour on whichever node runs jobs.
func (e *Engine) RegisterEventPurge(ctx context.Context, r *jobs.Runner) error {
	r.Handle(jobEventPurge, e.runEventPurge)
	return e.write(ctx, func(tx *db.Tx) error {
		return jobs.Schedule(tx, jobEventPurge, jobEventPurge, "", e.now())
	})
}

// runEventPurge deletes expired events in batches, then asks to run again
// in an hour.
func (e *Engine) runEventPurge(ctx context.Context, _ string) error {
	if _, err := e.PurgeEvents(ctx); err != nil {
		return err
	}
	return jobs.Later(e.now().Add(eventPurgeEvery))
}

// PurgeEvents deletes every event older than EventRetention and reports
// how many it deleted.
func (e *Engine) PurgeEvents(ctx context.Context) (int64, error) {
	cutoff := e.now().Add(-EventRetention)
	var total int64
	for {
		res := e.read(ctx).Exec(`DELETE FROM taskrouter_events WHERE sid IN
			(SELECT sid FROM taskrouter_events WHERE event_date < ? LIMIT ?)`, cutoff, eventPurgeBatch)
		if res.Error != nil {
			return total, errs.Wrap(res.Error, "purge events")
		}
		total += res.RowsAffected
		if res.RowsAffected < eventPurgeBatch {
			return total, nil
		}
	}
}

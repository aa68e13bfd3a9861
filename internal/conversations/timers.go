package conversations

import (
	"context"
	"time"

	"github.com/sosodev/duration"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// Minimum timer durations Twilio allows.
const (
	minInactiveTimer = time.Minute
	minClosedTimer   = 10 * time.Minute
)

// jobConversationTimer is the durable job that moves a conversation to
// inactive or closed when its timers fire.
const jobConversationTimer = "conversation.timer"

// parseTimer parses an ISO-8601 duration such as PT5M; "" means no timer.
func parseTimer(name, v string, minimum time.Duration) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := duration.Parse(v)
	if err != nil {
		return 0, errs.Invalidf("%s must be an ISO-8601 duration such as PT1H, got %q", name, v)
	}
	td := d.ToTimeDuration()
	if td < minimum {
		return 0, errs.Invalidf("%s must be at least %s", name, isoDuration(minimum))
	}
	return td, nil
}

func isoDuration(d time.Duration) string { return duration.FromTimeDuration(d).String() }

// RegisterJobs tells runner how to run the engine's durable jobs.
func (e *Engine) RegisterJobs(r *jobs.Runner) {
	r.Handle(jobConversationTimer, e.runTimer)
}

// armTimers recomputes the absolute timer dates of c from now and schedules
// the timer job; activity (a message, a reactivation) calls it again, which
// restarts the timers.
func (e *Engine) armTimers(tx *db.Tx, c *Conversation) error {
	now := e.now()
	c.DateInactive, c.DateClosed = nil, nil
	if c.State == StateClosed {
		return nil
	}
	if d, _ := parseTimer("Timers.Inactive", c.TimerInactive, 0); d > 0 && c.State == StateActive {
		t := now.Add(d)
		c.DateInactive = &t
	}
	if d, _ := parseTimer("Timers.Closed", c.TimerClosed, 0); d > 0 {
		t := now.Add(d)
		c.DateClosed = &t
	}
	if due := c.nextTimer(); due != nil {
		return jobs.Schedule(tx, jobConversationTimer, "conversation-timer:"+c.Sid, c.Sid, *due)
	}
	return nil
}

// nextTimer is when c's next timer fires, if any.
func (c *Conversation) nextTimer() *time.Time {
	var due *time.Time
	if c.State == StateActive && c.DateInactive != nil {
		due = c.DateInactive
	}
	if c.State != StateClosed && c.DateClosed != nil && (due == nil || c.DateClosed.Before(*due)) {
		due = c.DateClosed
	}
	return due
}

// runTimer fires a conversation's due timers. The job may run early (the
// timers were restarted since it was scheduled): then it reschedules itself.
func (e *Engine) runTimer(ctx context.Context, conversationSid string) error {
	var next *time.Time
	err := e.write(ctx, func(tx *db.Tx) error {
		var c Conversation
		res := tx.Locked("UPDATE").Where("sid = ?", conversationSid).Limit(1).Find(&c)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error // deleted: nothing to do
		}
		now := e.now()
		from := c.State
		switch {
		case c.State == StateClosed:
			return nil
		case c.DateClosed != nil && !now.Before(*c.DateClosed):
			c.State = StateClosed
		case c.State == StateActive && c.DateInactive != nil && !now.Before(*c.DateInactive):
			c.State = StateInactive
			c.DateInactive = nil
		default:
			next = c.nextTimer()
			return nil
		}
		if err := e.applyState(tx, &c, from, "TIMER"); err != nil {
			return err
		}
		next = c.nextTimer()
		return nil
	})
	if err != nil {
		return err
	}
	if next != nil {
		return jobs.Later(*next)
	}
	return nil
}

// applyState saves a state change of c made by reason and its consequences:
// closing frees the conversation's bindings and its timers.
func (e *Engine) applyState(tx *db.Tx, c *Conversation, from, reason string) error {
	now := e.now()
	c.DateUpdated = now
	if c.State == StateClosed {
		c.DateInactive, c.DateClosed = nil, nil
		if err := tx.Where("conversation_sid = ?", c.Sid).Delete(&binding{}).Error; err != nil {
			return err
		}
	}
	if err := tx.Model(c).Select("state", "date_inactive", "date_closed", "date_updated").Updates(c).Error; err != nil {
		return err
	}
	for _, h := range e.stateHooks {
		if err := h(tx, *c, from); err != nil {
			return err
		}
	}
	return e.publish(tx, events.Event{Type: events.ConversationStateUpdated, ServiceSid: c.ServiceSid,
		ConversationSid: c.Sid, Sid: c.Sid, StateFrom: from, StateTo: c.State, Reason: reason})
}

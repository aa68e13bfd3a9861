package taskrouter

import (
	"encoding/json"

	"github.com/switchboardhq/switchboard/internal/db"
	// Aliased: the package's tests have a helper named events.
	bus "github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// routingChannel carries "something changed, route again" wake-ups for a
// workspace to the router, on whichever node leads.
const routingChannel = "switchboard_routing"

// wake asks the router to run a pass over the workspace once tx commits.
func wake(tx *db.Tx, workspaceSid string) error { return tx.Notify(routingChannel, workspaceSid) }

// record appends ev to the workspace's event history inside tx.
func (e *Engine) record(tx *db.Tx, ev Event, data map[string]any) error {
	ev.Sid = sid.New(sid.Event)
	if ev.EventDate.IsZero() {
		ev.EventDate = e.now()
	}
	ev.EventData = "{}"
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return err
		}
		ev.EventData = string(b)
	}
	if err := tx.Create(&ev).Error; err != nil {
		return err
	}
	if err := e.observe(tx, ev, data); err != nil {
		return err
	}
	if err := bus.Publish(tx, bus.Event{Type: bus.Type(bus.TaskRouterPrefix + ev.EventType), Sid: ev.ResourceSid,
		WorkspaceSid: ev.WorkspaceSid, WorkerSid: ev.WorkerSid, TaskSid: ev.TaskSid, ReservationSid: ev.ReservationSid}); err != nil {
		return err
	}
	return e.eventCallback(tx, ev, data)
}

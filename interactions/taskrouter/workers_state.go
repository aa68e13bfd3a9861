package taskrouter

import (
	"github.com/switchboardhq/switchboard/internal/db"
)

// setWorkerActivity moves w to the activity, keeps `available` derived from
// it, records the change and, when the worker becomes available, wakes the
// router. The caller saves nothing else: this writes the worker row.
func (e *Engine) setWorkerActivity(tx *db.Tx, w *Worker, activitySid, reason string) error {
	if w.ActivitySid == activitySid {
		return nil
	}
	a, err := activityOf(tx, w.WorkspaceSid, "ActivitySid", &activitySid, false)
	if err != nil {
		return err
	}
	now := e.now()
	from := w.ActivitySid
	w.ActivitySid, w.Available, w.DateStatusChanged, w.DateUpdated = a.Sid, a.Available, now, now
	if err := tx.Model(w).Select("activity_sid", "available", "date_status_changed", "date_updated").Updates(w).Error; err != nil {
		return err
	}
	if err := e.record(tx, Event{WorkspaceSid: w.WorkspaceSid, EventType: "worker.activity.update", ResourceType: "worker",
		ResourceSid: w.Sid, WorkerSid: w.Sid, Description: "Worker " + w.FriendlyName + " updated to " + a.FriendlyName + " Activity"},
		map[string]any{"worker_activity_sid": a.Sid, "worker_activity_name": a.FriendlyName, "worker_previous_activity_sid": from,
			"reason": reason}); err != nil {
		return err
	}
	if a.Available {
		return wake(tx, w.WorkspaceSid)
	}
	return nil
}

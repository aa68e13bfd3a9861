package taskrouter

import (
	"errors"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
)

// errWorkerChanged rolls back an offer whose worker lost its availability
// or its room since the pass read it.
var errWorkerChanged = errors.New("the worker changed since the routing pass read it")

// takeCapacityPostgres takes one unit of the worker's capacity on the
// channel, if the worker and the channel are still available with room,
// marks the worker reserved now and inserts the reservation: one round trip
// instead of three, as the router's offers are its hot path.
const takeCapacityPostgres = `WITH ch AS (
  UPDATE worker_channels SET used = used + 1, date_updated = @now
  WHERE worker_sid = @worker AND task_channel_sid = @channel AND available
    AND (@ignore OR used < capacity)
    AND EXISTS (SELECT 1 FROM workers w WHERE w.sid = worker_channels.worker_sid AND w.available)
  RETURNING worker_sid
), wk AS (
  UPDATE workers SET last_reserved_at = @now WHERE sid IN (SELECT worker_sid FROM ch) RETURNING sid
)
INSERT INTO reservations (sid, workspace_sid, task_sid, worker_sid, task_channel_sid, reservation_status, timeout_at, date_created, date_updated)
SELECT @sid, @workspace, @task, sid, @channel, @status, @timeout, @created, @updated FROM wk`

// takeCapacity gives rv's worker the reservation if its channel still has
// room (or ignoreCapacity) and it and the channel are still available; it
// reports whether it did. rv.DateCreated is the reservation's time.
func takeCapacity(tx *db.Tx, rv Reservation, ignoreCapacity bool) (bool, error) {
	now := rv.DateCreated
	if tx.Dialect() == db.Postgres {
		res := tx.Exec(takeCapacityPostgres, map[string]any{"now": now, "worker": rv.WorkerSid, "channel": rv.TaskChannelSid,
			"ignore": ignoreCapacity, "sid": rv.Sid, "workspace": rv.WorkspaceSid, "task": rv.TaskSid,
			"status": rv.ReservationStatus, "timeout": rv.TimeoutAt, "created": rv.DateCreated, "updated": rv.DateUpdated})
		return res.RowsAffected == 1, res.Error
	}
	guard := tx.Model(&WorkerChannel{}).Where("worker_sid = ? AND task_channel_sid = ? AND available = ?", rv.WorkerSid, rv.TaskChannelSid, true).
		Where("EXISTS (SELECT 1 FROM workers w WHERE w.sid = worker_channels.worker_sid AND w.available = ?)", true)
	if !ignoreCapacity {
		guard = guard.Where("used < capacity")
	}
	res := guard.Updates(map[string]any{"used": gorm.Expr("used + 1"), "date_updated": now})
	if res.Error != nil || res.RowsAffected == 0 {
		return false, res.Error
	}
	if err := tx.Model(&Worker{}).Where("sid = ?", rv.WorkerSid).Update("last_reserved_at", now).Error; err != nil {
		return false, err
	}
	return true, tx.Create(&rv).Error
}

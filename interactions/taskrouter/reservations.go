package taskrouter

import (
	"context"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// jobReservationTimeout times out a reservation nobody answered.
const jobReservationTimeout = "taskrouter.reservation-timeout"

// ReservationParams are the fields of a reservation update.
type ReservationParams struct {
	ReservationStatus   *string // accepted, rejected, wrapping, completed
	WorkerActivitySid   *string // reject: move the worker to this activity
	PostWorkActivitySid *string // complete: move the worker to this activity
}

// releaseCapacity gives back one unit of a worker's channel capacity;
// assigned says the unit belonged to an accepted (not pending) reservation.
func (e *Engine) releaseCapacity(tx *db.Tx, workerSid, channelSid string, assigned bool) error {
	updates := map[string]any{"used": gorm.Expr("CASE WHEN used > 0 THEN used - 1 ELSE 0 END"), "date_updated": e.now()}
	if assigned {
		updates["assigned"] = gorm.Expr("CASE WHEN assigned > 0 THEN assigned - 1 ELSE 0 END")
	}
	return tx.Model(&WorkerChannel{}).Where("worker_sid = ? AND task_channel_sid = ?", workerSid, channelSid).Updates(updates).Error
}

// endPendingReservations ends every pending reservation of t (except the
// one named keep) with status, releasing their capacity.
func (e *Engine) endPendingReservations(tx *db.Tx, t *Task, keep, status string) error {
	var pending []Reservation
	q := tx.Where("task_sid = ? AND reservation_status = ?", t.Sid, ReservationPending)
	if keep != "" {
		q = q.Where("sid <> ?", keep)
	}
	// Worker order keeps concurrent transactions from locking the same
	// worker channels in opposite orders.
	if err := q.Order("worker_sid").Find(&pending).Error; err != nil {
		return err
	}
	for _, r := range pending {
		if err := e.endReservation(tx, &r, status); err != nil {
			return err
		}
	}
	return nil
}

// endReservation moves a pending reservation to a final status, releasing
// the capacity it held. A reservation that is no longer pending is a conflict.
func (e *Engine) endReservation(tx *db.Tx, r *Reservation, status string) error {
	res := tx.Model(&Reservation{}).Where("sid = ? AND reservation_status = ?", r.Sid, ReservationPending).
		Updates(map[string]any{"reservation_status": status, "date_updated": e.now()})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Reservation %s is no longer pending", r.Sid)
	}
	r.ReservationStatus = status
	if err := e.releaseCapacity(tx, r.WorkerSid, r.TaskChannelSid, false); err != nil {
		return err
	}
	return e.record(tx, Event{WorkspaceSid: r.WorkspaceSid, EventType: "reservation." + status, ResourceType: "reservation",
		ResourceSid: r.Sid, ReservationSid: r.Sid, TaskSid: r.TaskSid, WorkerSid: r.WorkerSid}, nil)
}

// findReservation loads a reservation of the workspace.
func (e *Engine) findReservation(q *gorm.DB, workspaceSid, reservationSid string) (Reservation, error) {
	var r Reservation
	res := q.Where("workspace_sid = ? AND sid = ?", workspaceSid, reservationSid).Limit(1).Find(&r)
	if res.Error != nil {
		return r, errs.Wrap(res.Error, "reservation")
	}
	if res.RowsAffected == 0 {
		return r, notFound("Reservations", reservationSid)
	}
	return r, nil
}

// Reservation fetches a reservation.
func (e *Engine) Reservation(ctx context.Context, workspaceSid, reservationSid string) (Reservation, error) {
	return e.findReservation(e.read(ctx), workspaceSid, reservationSid)
}

// ReservationFilter narrows a reservation list to one task or one worker.
type ReservationFilter struct {
	TaskSid           string
	WorkerSid         string
	ReservationStatus string
}

// Reservations lists reservations, oldest first.
func (e *Engine) Reservations(ctx context.Context, workspaceSid string, f ReservationFilter, p Page) ([]Reservation, bool, error) {
	q := e.read(ctx).Where("workspace_sid = ?", workspaceSid)
	if f.TaskSid != "" {
		q = q.Where("task_sid = ?", f.TaskSid)
	}
	if f.WorkerSid != "" {
		q = q.Where("worker_sid = ?", f.WorkerSid)
	}
	if f.ReservationStatus != "" {
		q = q.Where("reservation_status = ?", f.ReservationStatus)
	}
	var rows []Reservation
	if err := q.Order("date_created, sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "reservations")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateReservation answers or advances a reservation: accepted or rejected
// while pending, wrapping or completed once accepted.
func (e *Engine) UpdateReservation(ctx context.Context, workspaceSid, reservationSid string, p ReservationParams) (Reservation, error) {
	var r Reservation
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if r, err = e.findReservation(tx.DB, workspaceSid, reservationSid); err != nil {
			return err
		}
		if p.ReservationStatus == nil {
			return errs.Invalidf("ReservationStatus is required")
		}
		// Read it again under its task's lock: an answer may have raced this one.
		if err := lockTask(tx, r.TaskSid); err != nil {
			return err
		}
		if r, err = e.findReservation(tx.DB, workspaceSid, reservationSid); err != nil {
			return err
		}
		switch *p.ReservationStatus {
		case ReservationAccepted:
			return e.acceptReservation(tx, &r)
		case ReservationRejected:
			return e.rejectReservation(tx, &r, p.WorkerActivitySid)
		case ReservationWrapping, ReservationCompleted:
			t, err := e.lockedTask(tx, workspaceSid, r.TaskSid)
			if err != nil {
				return err
			}
			if r.ReservationStatus != ReservationAccepted && r.ReservationStatus != ReservationWrapping {
				return errs.E(errs.Conflict, errs.CodeInvalidParam, "Reservation %s is %s, not accepted", r.Sid, r.ReservationStatus)
			}
			if *p.ReservationStatus == ReservationWrapping {
				err = e.wrapTask(tx, &t, "")
			} else {
				err = e.completeTask(tx, &t, "reservation completed")
			}
			if err != nil {
				return err
			}
			if p.PostWorkActivitySid != nil && *p.ReservationStatus == ReservationCompleted {
				w, err := e.findWorker(tx.DB, workspaceSid, r.WorkerSid)
				if err != nil {
					return err
				}
				if err := e.setWorkerActivity(tx, &w, *p.PostWorkActivitySid, "post work activity"); err != nil {
					return err
				}
			}
			r, err = e.findReservation(tx.DB, workspaceSid, r.Sid)
			return err
		}
		return errs.Invalidf("ReservationStatus must be accepted, rejected, wrapping or completed, not %q", *p.ReservationStatus)
	})
	return r, err
}

// AcceptReservation accepts a pending reservation: the task is assigned to
// the worker and the task's other pending reservations are rescinded.
func (e *Engine) AcceptReservation(ctx context.Context, workspaceSid, reservationSid string) (Reservation, Task, error) {
	var r Reservation
	var t Task
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if r, err = e.findReservation(tx.DB, workspaceSid, reservationSid); err != nil {
			return err
		}
		if err := e.acceptReservation(tx, &r); err != nil {
			return err
		}
		t, err = e.findTask(tx.DB, workspaceSid, r.TaskSid)
		return err
	})
	return r, t, err
}

func (e *Engine) acceptReservation(tx *db.Tx, r *Reservation) error {
	if err := lockTask(tx, r.TaskSid); err != nil {
		return err
	}
	// Lock every worker channel this acceptance touches (the accepting
	// worker's, and those of the offers it rescinds) in one go, in worker
	// order: two acceptances of tasks offered to the same workers then queue
	// instead of deadlocking.
	var touched []string
	if err := tx.Locked("UPDATE").Model(&WorkerChannel{}).
		Where("task_channel_sid = ? AND worker_sid IN (?)", r.TaskChannelSid,
			tx.Model(&Reservation{}).Select("worker_sid").Where("task_sid = ? AND reservation_status = ?", r.TaskSid, ReservationPending)).
		Order("worker_sid").Pluck("sid", &touched).Error; err != nil {
		return err
	}
	now := e.now()
	res := tx.Model(&Reservation{}).Where("sid = ? AND reservation_status = ?", r.Sid, ReservationPending).
		Updates(map[string]any{"reservation_status": ReservationAccepted, "date_updated": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Reservation %s is %s and can no longer be accepted", r.Sid, r.ReservationStatus)
	}
	// The task must still be waiting for this offer: first accept wins.
	res = tx.Model(&Task{}).Where("sid = ? AND assignment_status = ?", r.TaskSid, TaskReserved).
		Updates(map[string]any{"assignment_status": TaskAssigned, "worker_sid": r.WorkerSid, "date_updated": now})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errs.E(errs.Conflict, errs.CodeInvalidParam, "Task %s is no longer waiting for this reservation", r.TaskSid)
	}
	r.ReservationStatus = ReservationAccepted
	if err := tx.Model(&WorkerChannel{}).Where("worker_sid = ? AND task_channel_sid = ?", r.WorkerSid, r.TaskChannelSid).
		Updates(map[string]any{"assigned": gorm.Expr("assigned + 1"), "date_updated": now}).Error; err != nil {
		return err
	}
	t, err := e.findTask(tx.DB, r.WorkspaceSid, r.TaskSid)
	if err != nil {
		return err
	}
	if err := e.endPendingReservations(tx, &t, r.Sid, ReservationRescinded); err != nil {
		return err
	}
	for _, h := range e.acceptHooks {
		if err := h(tx, *r, t); err != nil {
			return err
		}
	}
	if err := e.record(tx, Event{WorkspaceSid: r.WorkspaceSid, EventType: "reservation.accepted", ResourceType: "reservation",
		ResourceSid: r.Sid, ReservationSid: r.Sid, TaskSid: r.TaskSid, WorkerSid: r.WorkerSid, TaskQueueSid: t.TaskQueueSid}, nil); err != nil {
		return err
	}
	return e.applyQueueActivity(tx, t.TaskQueueSid, r.WorkerSid, func(q TaskQueue) string { return q.AssignmentActivitySid })
}

// applyQueueActivity moves the worker to the queue's reservation or
// assignment activity, when the queue names one.
func (e *Engine) applyQueueActivity(tx *db.Tx, queueSid, workerSid string, pick func(TaskQueue) string) error {
	if queueSid == "" {
		return nil
	}
	var q TaskQueue
	if res := tx.Where("sid = ?", queueSid).Limit(1).Find(&q); res.Error != nil || res.RowsAffected == 0 || pick(q) == "" {
		return res.Error
	}
	w, err := e.findWorker(tx.DB, q.WorkspaceSid, workerSid)
	if err != nil {
		return err
	}
	return e.setWorkerActivity(tx, &w, pick(q), "queue activity")
}

// rejectReservation declines a pending reservation; the task is offered again.
func (e *Engine) rejectReservation(tx *db.Tx, r *Reservation, activitySid *string) error {
	if err := lockTask(tx, r.TaskSid); err != nil {
		return err
	}
	if err := e.endReservation(tx, r, ReservationRejected); err != nil {
		return err
	}
	if activitySid != nil && *activitySid != "" {
		w, err := e.findWorker(tx.DB, r.WorkspaceSid, r.WorkerSid)
		if err != nil {
			return err
		}
		if err := e.setWorkerActivity(tx, &w, *activitySid, "rejected reservation"); err != nil {
			return err
		}
	}
	return e.reofferIfUnreserved(tx, r.TaskSid)
}

// reofferIfUnreserved puts a reserved task with no live offer left back to
// pending and wakes the router.
func (e *Engine) reofferIfUnreserved(tx *db.Tx, taskSid string) error {
	var live int64
	if err := tx.Model(&Reservation{}).Where("task_sid = ? AND reservation_status = ?", taskSid, ReservationPending).
		Count(&live).Error; err != nil {
		return err
	}
	var t Task
	if res := tx.Where("sid = ?", taskSid).Limit(1).Find(&t); res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	if live == 0 && t.AssignmentStatus == TaskReserved {
		if err := tx.Model(&t).Updates(map[string]any{"assignment_status": TaskPending, "date_updated": e.now()}).Error; err != nil {
			return err
		}
	}
	return wake(tx, t.WorkspaceSid)
}

// runReservationTimeout ends a reservation still pending at its deadline:
// the worker moves to the workspace's timeout activity and the task is
// offered again.
func (e *Engine) runReservationTimeout(ctx context.Context, reservationSid string) error {
	return e.write(ctx, func(tx *db.Tx) error {
		var r Reservation
		res := tx.Where("sid = ?", reservationSid).Limit(1).Find(&r)
		if res.Error != nil || res.RowsAffected == 0 || r.ReservationStatus != ReservationPending {
			return res.Error
		}
		if e.now().Before(r.TimeoutAt) {
			return jobs.Later(r.TimeoutAt)
		}
		if err := lockTask(tx, r.TaskSid); err != nil {
			return err
		}
		// Reload under the lock: an answer may have raced the deadline.
		if err := tx.Where("sid = ?", reservationSid).First(&r).Error; err != nil || r.ReservationStatus != ReservationPending {
			return err
		}
		if err := e.endReservation(tx, &r, ReservationTimeout); err != nil {
			return err
		}
		ws, err := e.findWorkspace(tx.DB, r.WorkspaceSid)
		if err != nil {
			return err
		}
		if ws.TimeoutActivitySid != "" {
			w, err := e.findWorker(tx.DB, r.WorkspaceSid, r.WorkerSid)
			if err != nil {
				return err
			}
			if err := e.setWorkerActivity(tx, &w, ws.TimeoutActivitySid, "reservation timeout"); err != nil {
				return err
			}
		}
		return e.reofferIfUnreserved(tx, r.TaskSid)
	})
}

// lockTask takes the task's row lock. Every transaction that changes a
// task's reservations takes it first, so they serialise per task and never
// deadlock on reservation rows. SQLite's immediate transactions already
// serialise all writers.
func lockTask(tx *db.Tx, taskSid string) error {
	if tx.Dialect() != db.Postgres {
		return nil
	}
	return tx.Exec("SELECT 1 FROM tasks WHERE sid = ? FOR UPDATE", taskSid).Error
}

// lockedTask locks and loads a task.
func (e *Engine) lockedTask(tx *db.Tx, workspaceSid, taskSid string) (Task, error) {
	if err := lockTask(tx, taskSid); err != nil {
		return Task{}, err
	}
	return e.findTask(tx.DB, workspaceSid, taskSid)
}

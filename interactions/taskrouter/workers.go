package taskrouter

import (
	"context"
	"slices"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/interactions/expr"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// MaxWorkerAttributes is the largest Attributes document a worker may have,
// in bytes, whitespace included: Twilio's documented limit as we recall it
// (4 KB), which keeps every routing pass's copy of the workforce small.
const MaxWorkerAttributes = 4096

// WorkerParams are a worker's settable fields; nil leaves one as is.
type WorkerParams struct {
	FriendlyName *string
	Attributes   *string
	ActivitySid  *string
	// RejectPendingReservations (update only) rejects the worker's pending
	// offers when it moves to an unavailable activity; it does nothing for
	// a move to an available one.
	RejectPendingReservations *bool
}

// WorkerFilter narrows a worker list; zero values match everything. The
// expression filters see what the router sees of a worker: its attributes
// plus sid, friendly_name, activity_sid, activity_name, available and
// channel.<unique name>.*.
type WorkerFilter struct {
	ActivityName            string
	ActivitySid             string
	Available               *bool
	FriendlyName            string
	TargetWorkersExpression string
	TaskQueueName           string // workers the queue's target expression selects
	TaskQueueSid            string
}

// checkWorkerAttributes validates a worker's Attributes: a JSON object of at
// most MaxWorkerAttributes bytes ("" means {}).
func checkWorkerAttributes(attrs *string) error { return checkAttributes(attrs, MaxWorkerAttributes) }

func checkWorkerParams(p WorkerParams, create bool) error {
	if err := checkFriendlyName(p.FriendlyName, create); err != nil {
		return err
	}
	return checkWorkerAttributes(p.Attributes)
}

// workerNameTaken reports a conflict when another worker of the workspace
// has the name; like Twilio, names differing only in case are the same.
func workerNameTaken(q *gorm.DB, workspaceSid, name, exceptSid string) error {
	var n int64
	if err := q.Model(&Worker{}).Where("workspace_sid = ? AND LOWER(friendly_name) = LOWER(?) AND sid <> ?", workspaceSid, name, exceptSid).
		Count(&n).Error; err != nil {
		return err
	}
	if n > 0 {
		return conflict("A worker named %q already exists in this workspace", name)
	}
	return nil
}

// CreateWorker adds a worker in the given activity (the workspace's default
// one when none is given), with each task channel's DefaultCapacity on it.
func (e *Engine) CreateWorker(ctx context.Context, workspaceSid string, p WorkerParams) (Worker, error) {
	if err := checkWorkerParams(p, true); err != nil {
		return Worker{}, err
	}
	if p.RejectPendingReservations != nil {
		return Worker{}, errs.Invalidf("RejectPendingReservations applies to updates only")
	}
	now := e.now()
	w := Worker{Sid: sid.New(sid.Worker), WorkspaceSid: workspaceSid, FriendlyName: *p.FriendlyName, Attributes: "{}",
		DateStatusChanged: now, DateCreated: now, DateUpdated: now}
	set(&w.Attributes, p.Attributes)
	err := e.write(ctx, func(tx *db.Tx) error {
		// See CreateTaskChannel: no channel can appear between this and the
		// worker's channels being created.
		ws, err := e.findWorkspace(tx.Locked("SHARE"), workspaceSid)
		if err != nil {
			return err
		}
		activitySid := &ws.DefaultActivitySid
		if p.ActivitySid != nil {
			activitySid = p.ActivitySid
		}
		a, err := activityOf(tx, workspaceSid, "ActivitySid", activitySid, false)
		if err != nil {
			return err
		}
		w.ActivitySid, w.Available = a.Sid, a.Available
		if err := workerNameTaken(tx.DB, workspaceSid, w.FriendlyName, w.Sid); err != nil {
			return err
		}
		if err := tx.Create(&w).Error; err != nil {
			if db.IsUniqueViolation(err) {
				return conflict("A worker named %q already exists in this workspace", w.FriendlyName)
			}
			return err
		}
		var channels []TaskChannel
		if err := tx.Where("workspace_sid = ?", workspaceSid).Order("sid").Find(&channels).Error; err != nil {
			return err
		}
		if len(channels) > 0 {
			wcs := make([]WorkerChannel, len(channels))
			for i, tc := range channels {
				// A new worker starts with each channel's default capacity.
				wcs[i] = newWorkerChannel(workspaceSid, w.Sid, tc.Sid, now)
				wcs[i].Capacity = tc.DefaultCapacity
			}
			if err := tx.Create(&wcs).Error; err != nil {
				return err
			}
		}
		if err := e.record(tx, Event{WorkspaceSid: workspaceSid, EventType: "worker.created", ResourceType: "worker",
			ResourceSid: w.Sid, WorkerSid: w.Sid, Description: "Worker " + w.FriendlyName + " created"},
			map[string]any{"worker_activity_sid": a.Sid, "worker_activity_name": a.FriendlyName, "worker_attributes": w.Attributes}); err != nil {
			return err
		}
		if a.Available {
			return wake(tx, workspaceSid)
		}
		return nil
	})
	return w, errs.Wrap(err, "create worker")
}

// Worker fetches a worker.
func (e *Engine) Worker(ctx context.Context, workspaceSid, workerSid string) (Worker, error) {
	return e.findWorker(e.read(ctx), workspaceSid, workerSid)
}

// Workers lists a workspace's workers, oldest first.
func (e *Engine) Workers(ctx context.Context, workspaceSid string, f WorkerFilter, p Page) ([]Worker, bool, error) {
	q := e.read(ctx)
	var selectors []*expr.Expr
	if f.TargetWorkersExpression != "" {
		x, err := expr.Parse(f.TargetWorkersExpression)
		if err != nil {
			return nil, false, errs.Invalidf("TargetWorkersExpression: %v", err)
		}
		selectors = append(selectors, x)
	}
	if f.TaskQueueSid != "" || f.TaskQueueName != "" {
		column, key := "sid", f.TaskQueueSid
		if key == "" {
			column, key = "friendly_name", f.TaskQueueName
		}
		tq, err := lookup[TaskQueue](q, workspaceSid, column, key, "TaskQueues")
		if err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return nil, false, errs.Invalidf("%q is not a task queue of this workspace", key)
			}
			return nil, false, err
		}
		if tq.TargetWorkers == "" {
			return nil, false, nil // a queue without a target selects nobody: its tasks wait
		}
		x, err := expr.Parse(tq.TargetWorkers)
		if err != nil {
			return nil, false, errs.Wrap(err, "queue "+tq.Sid+" target")
		}
		selectors = append(selectors, x)
	}
	sel := q.Where("workspace_sid = ?", workspaceSid)
	if f.ActivitySid != "" {
		sel = sel.Where("activity_sid = ?", f.ActivitySid)
	}
	if f.ActivityName != "" {
		sel = sel.Where("activity_sid IN (?)", q.Model(&Activity{}).Select("sid").
			Where("workspace_sid = ? AND friendly_name = ?", workspaceSid, f.ActivityName))
	}
	if f.Available != nil {
		sel = sel.Where("available = ?", *f.Available)
	}
	if f.FriendlyName != "" {
		sel = sel.Where("LOWER(friendly_name) = LOWER(?)", f.FriendlyName)
	}
	sel = sel.Order("date_created, sid")
	var rows []Worker
	if len(selectors) == 0 {
		if err := sel.Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
			return nil, false, errs.Wrap(err, "workers")
		}
		rows, more := trimPage(rows, p)
		return rows, more, nil
	}
	// Expressions are evaluated here, on every worker the columns allow.
	if err := sel.Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "workers")
	}
	roots, err := e.workerRoots(q, workspaceSid, rows)
	if err != nil {
		return nil, false, err
	}
	var matched []Worker
	for i, w := range rows {
		if !slices.ContainsFunc(selectors, func(x *expr.Expr) bool { return !x.Eval(roots[i]) }) {
			matched = append(matched, w)
		}
	}
	matched = matched[min(p.Offset, len(matched)):]
	matched, more := trimPage(matched, p)
	return matched, more, nil
}

// workerRoots builds, for each worker, what expressions see of it, exactly
// as a routing pass does.
func (e *Engine) workerRoots(q *gorm.DB, workspaceSid string, workers []Worker) ([]map[string]any, error) {
	p := &pass{channels: map[string]string{}, activities: map[string]Activity{}}
	var tcs []TaskChannel
	if err := q.Where("workspace_sid = ?", workspaceSid).Find(&tcs).Error; err != nil {
		return nil, errs.Wrap(err, "task channels")
	}
	for _, tc := range tcs {
		p.channels[tc.Sid] = tc.UniqueName
	}
	var acts []Activity
	if err := q.Where("workspace_sid = ?", workspaceSid).Find(&acts).Error; err != nil {
		return nil, errs.Wrap(err, "activities")
	}
	for _, a := range acts {
		p.activities[a.Sid] = a
	}
	sids := make([]string, len(workers))
	for i, w := range workers {
		sids[i] = w.Sid
	}
	var wcs []WorkerChannel
	if len(sids) > 0 {
		if err := q.Where("worker_sid IN ?", sids).Find(&wcs).Error; err != nil {
			return nil, errs.Wrap(err, "worker channels")
		}
	}
	channels := map[string]map[string]*WorkerChannel{}
	for i := range wcs {
		if channels[wcs[i].WorkerSid] == nil {
			channels[wcs[i].WorkerSid] = map[string]*WorkerChannel{}
		}
		channels[wcs[i].WorkerSid][wcs[i].TaskChannelSid] = &wcs[i]
	}
	roots := make([]map[string]any, len(workers))
	for i, w := range workers {
		roots[i] = p.workerRoot(&candidate{w: w, channels: channels[w.Sid]})
	}
	return roots, nil
}

// UpdateWorker renames a worker, replaces its attributes or moves it to
// another activity. New attributes may change which queues select the
// worker, so they wake the router.
func (e *Engine) UpdateWorker(ctx context.Context, workspaceSid, workerSid string, p WorkerParams) (Worker, error) {
	if err := checkWorkerParams(p, false); err != nil {
		return Worker{}, err
	}
	var w Worker
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if w, err = e.findWorker(tx.DB, workspaceSid, workerSid); err != nil {
			return err
		}
		to, err := activityOf(tx, workspaceSid, "ActivitySid", p.ActivitySid, false)
		if err != nil {
			return err
		}
		if p.FriendlyName != nil {
			if err := workerNameTaken(tx.DB, workspaceSid, *p.FriendlyName, w.Sid); err != nil {
				return err
			}
		}
		// Offers first: their task locks come before the worker's row, in
		// the order the router takes them.
		if p.RejectPendingReservations != nil && *p.RejectPendingReservations && p.ActivitySid != nil && !to.Available {
			if err := e.endWorkerOffers(tx, w.Sid, func(r *Reservation) error { return e.rejectReservation(tx, r, nil) }); err != nil {
				return err
			}
		}
		if p.FriendlyName != nil || p.Attributes != nil {
			set(&w.FriendlyName, p.FriendlyName)
			set(&w.Attributes, p.Attributes)
			w.DateUpdated = e.now()
			if err := tx.Model(&w).Select("friendly_name", "attributes", "date_updated").Updates(&w).Error; err != nil {
				if db.IsUniqueViolation(err) {
					return conflict("A worker named %q already exists in this workspace", w.FriendlyName)
				}
				return err
			}
		}
		if p.Attributes != nil {
			if err := e.record(tx, Event{WorkspaceSid: workspaceSid, EventType: "worker.attributes.update", ResourceType: "worker",
				ResourceSid: w.Sid, WorkerSid: w.Sid, Description: "Worker " + w.FriendlyName + " attributes updated"},
				map[string]any{"worker_attributes": w.Attributes}); err != nil {
				return err
			}
			if err := wake(tx, workspaceSid); err != nil {
				return err
			}
		}
		if p.ActivitySid != nil {
			return e.setWorkerActivity(tx, &w, to.Sid, "api")
		}
		return nil
	})
	return w, errs.Wrap(err, "update worker")
}

// endWorkerOffers applies end to each of the worker's pending reservations,
// in task order. An offer answered meanwhile (end reports a conflict before
// writing anything) is left as it is.
func (e *Engine) endWorkerOffers(tx *db.Tx, workerSid string, end func(*Reservation) error) error {
	var pending []Reservation
	if err := tx.Where("worker_sid = ? AND reservation_status = ?", workerSid, ReservationPending).
		Order("task_sid").Find(&pending).Error; err != nil {
		return err
	}
	for i := range pending {
		if err := end(&pending[i]); err != nil && errs.KindOf(err) != errs.Conflict {
			return err
		}
	}
	return nil
}

// DeleteWorker removes a worker that holds no assigned or wrapping task;
// its pending offers are canceled and their tasks offered again.
func (e *Engine) DeleteWorker(ctx context.Context, workspaceSid, workerSid string) error {
	return errs.Wrap(e.write(ctx, func(tx *db.Tx) error {
		w, err := e.findWorker(tx.DB, workspaceSid, workerSid)
		if err != nil {
			return err
		}
		// Hold the worker's row so that no new offer to it (which must
		// reference the row) can commit before the delete.
		if err := tx.Locked("UPDATE").Where("sid = ?", w.Sid).Find(&Worker{}).Error; err != nil {
			return err
		}
		if err := e.endWorkerOffers(tx, w.Sid, func(r *Reservation) error {
			if err := lockTask(tx, r.TaskSid); err != nil {
				return err
			}
			if err := e.endReservation(tx, r, ReservationCanceled); err != nil {
				return err
			}
			return e.reofferIfUnreserved(tx, r.TaskSid)
		}); err != nil {
			return err
		}
		var holding int64
		if err := tx.Model(&Reservation{}).Where("worker_sid = ? AND reservation_status IN ?", w.Sid,
			[]string{ReservationAccepted, ReservationWrapping}).Count(&holding).Error; err != nil {
			return err
		}
		if holding > 0 {
			return conflict("Worker %s cannot be deleted while it holds %d assigned or wrapping tasks", w.Sid, holding)
		}
		if err := tx.Delete(&w).Error; err != nil {
			return err
		}
		return e.record(tx, Event{WorkspaceSid: workspaceSid, EventType: "worker.deleted", ResourceType: "worker",
			ResourceSid: w.Sid, WorkerSid: w.Sid, Description: "Worker " + w.FriendlyName + " deleted"}, nil)
	}), "delete worker")
}

// ReservationsOf lists the reservations of one task or one worker (the
// filter's TaskSid or WorkerSid), which must exist.
func (e *Engine) ReservationsOf(ctx context.Context, workspaceSid string, f ReservationFilter, p Page) ([]Reservation, bool, error) {
	if err := e.checkReservationParent(ctx, workspaceSid, f); err != nil {
		return nil, false, err
	}
	if f.ReservationStatus != "" && !slices.Contains(reservationStatuses, f.ReservationStatus) {
		return nil, false, errs.Invalidf("ReservationStatus %q is not a reservation status", f.ReservationStatus)
	}
	return e.Reservations(ctx, workspaceSid, f, p)
}

var reservationStatuses = []string{ReservationPending, ReservationAccepted, ReservationRejected, ReservationTimeout,
	ReservationCanceled, ReservationRescinded, ReservationWrapping, ReservationCompleted}

// ReservationOf fetches a reservation through its task's or its worker's
// path: one of another task or worker is not found there.
func (e *Engine) ReservationOf(ctx context.Context, workspaceSid string, scope ReservationFilter, reservationSid string) (Reservation, error) {
	if err := e.checkReservationParent(ctx, workspaceSid, scope); err != nil {
		return Reservation{}, err
	}
	r, err := e.Reservation(ctx, workspaceSid, reservationSid)
	if err != nil {
		return r, err
	}
	if (scope.TaskSid != "" && r.TaskSid != scope.TaskSid) || (scope.WorkerSid != "" && r.WorkerSid != scope.WorkerSid) {
		return Reservation{}, notFound("Reservations", reservationSid)
	}
	return r, nil
}

// UpdateReservationOf is UpdateReservation through a task's or a worker's
// path. Which task and worker a reservation belongs to never changes, so
// checking it before the update is enough.
func (e *Engine) UpdateReservationOf(ctx context.Context, workspaceSid string, scope ReservationFilter, reservationSid string, p ReservationParams) (Reservation, error) {
	if _, err := e.ReservationOf(ctx, workspaceSid, scope, reservationSid); err != nil {
		return Reservation{}, err
	}
	return e.UpdateReservation(ctx, workspaceSid, reservationSid, p)
}

func (e *Engine) checkReservationParent(ctx context.Context, workspaceSid string, f ReservationFilter) error {
	if f.TaskSid != "" {
		if _, err := e.findTask(e.read(ctx), workspaceSid, f.TaskSid); err != nil {
			return err
		}
	}
	if f.WorkerSid != "" {
		if _, err := e.findWorker(e.read(ctx), workspaceSid, f.WorkerSid); err != nil {
			return err
		}
	}
	return nil
}

package taskrouter

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/switchboardhq/switchboard/interactions/expr"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// MaxReservedWorkersLimit is the most workers a queue may offer one task to at once.
const MaxReservedWorkersLimit = 50

// DefaultTargetWorkers selects every worker.
const DefaultTargetWorkers = "1==1"

// TaskQueueParams are a queue's settable fields; nil leaves one as is. An
// empty TargetWorkers selects nobody: the queue's tasks just wait.
type TaskQueueParams struct {
	FriendlyName           *string
	TargetWorkers          *string
	MaxReservedWorkers     *int
	TaskOrder              *string
	ReservationActivitySid *string
	AssignmentActivitySid  *string
}

// TaskQueueFilter narrows a queue list; zero values match everything.
type TaskQueueFilter struct {
	FriendlyName string
	// EvaluateWorkerAttributes keeps the queues whose target expression
	// selects a worker with these attributes (a JSON object).
	EvaluateWorkerAttributes string
	// WorkerSid keeps the queues whose target expression selects the worker.
	WorkerSid string
}

func checkTaskQueueParams(p TaskQueueParams, create bool) error {
	if err := checkFriendlyName(p.FriendlyName, create); err != nil {
		return err
	}
	if p.TargetWorkers != nil && *p.TargetWorkers != "" {
		if _, err := expr.Parse(*p.TargetWorkers); err != nil {
			return errs.Invalidf("TargetWorkers: %v", err)
		}
	}
	if p.MaxReservedWorkers != nil && (*p.MaxReservedWorkers < 1 || *p.MaxReservedWorkers > MaxReservedWorkersLimit) {
		return errs.Invalidf("MaxReservedWorkers must be between 1 and %d", MaxReservedWorkersLimit)
	}
	return checkChoice("TaskOrder", p.TaskOrder, "FIFO", "LIFO")
}

// checkQueueActivities checks that the queue's activities, when set, are
// activities of the workspace.
func checkQueueActivities(tx *db.Tx, workspaceSid string, p TaskQueueParams) error {
	if _, err := activityOf(tx, workspaceSid, "ReservationActivitySid", p.ReservationActivitySid, true); err != nil {
		return err
	}
	_, err := activityOf(tx, workspaceSid, "AssignmentActivitySid", p.AssignmentActivitySid, true)
	return err
}

// queueNameTaken turns a unique violation into a clear conflict.
func queueNameTaken(err error, name string) error {
	if db.IsUniqueViolation(err) {
		return conflict("A task queue named %q already exists in this workspace", name)
	}
	return err
}

// CreateTaskQueue adds a queue. Its target expression is checked now, so
// that it never fails while routing.
func (e *Engine) CreateTaskQueue(ctx context.Context, workspaceSid string, p TaskQueueParams) (TaskQueue, error) {
	if err := checkTaskQueueParams(p, true); err != nil {
		return TaskQueue{}, err
	}
	now := e.now()
	q := TaskQueue{Sid: sid.New(sid.TaskQueue), WorkspaceSid: workspaceSid, FriendlyName: *p.FriendlyName,
		TargetWorkers: DefaultTargetWorkers, MaxReservedWorkers: 1, TaskOrder: "FIFO", DateCreated: now, DateUpdated: now}
	set(&q.TargetWorkers, p.TargetWorkers)
	set(&q.MaxReservedWorkers, p.MaxReservedWorkers)
	set(&q.TaskOrder, p.TaskOrder)
	set(&q.ReservationActivitySid, p.ReservationActivitySid)
	set(&q.AssignmentActivitySid, p.AssignmentActivitySid)
	err := e.write(ctx, func(tx *db.Tx) error {
		if _, err := e.findWorkspace(tx.DB, workspaceSid); err != nil {
			return err
		}
		if err := checkQueueActivities(tx, workspaceSid, p); err != nil {
			return err
		}
		if err := tx.Create(&q).Error; err != nil {
			return queueNameTaken(err, q.FriendlyName)
		}
		return e.recordQueue(tx, q, "task-queue.created", "created")
	})
	return q, errs.Wrap(err, "create task queue")
}

func (e *Engine) recordQueue(tx *db.Tx, q TaskQueue, eventType, what string) error {
	return e.record(tx, Event{WorkspaceSid: q.WorkspaceSid, EventType: eventType, ResourceType: "task_queue",
		ResourceSid: q.Sid, TaskQueueSid: q.Sid, Description: "TaskQueue " + q.FriendlyName + " " + what},
		map[string]any{"task_queue_sid": q.Sid, "task_queue_name": q.FriendlyName, "task_queue_target_expression": q.TargetWorkers})
}

// TaskQueue fetches a queue.
func (e *Engine) TaskQueue(ctx context.Context, workspaceSid, queueSid string) (TaskQueue, error) {
	return lookup[TaskQueue](e.read(ctx), workspaceSid, "sid", queueSid, "TaskQueues")
}

// TaskQueues lists a workspace's queues, oldest first.
func (e *Engine) TaskQueues(ctx context.Context, workspaceSid string, f TaskQueueFilter, p Page) ([]TaskQueue, bool, error) {
	q := e.read(ctx)
	var roots []map[string]any
	if f.EvaluateWorkerAttributes != "" {
		var attrs map[string]any
		if err := json.Unmarshal([]byte(f.EvaluateWorkerAttributes), &attrs); err != nil || attrs == nil {
			return nil, false, errs.Invalidf("EvaluateWorkerAttributes must be a JSON object")
		}
		roots = append(roots, attrs)
	}
	if f.WorkerSid != "" {
		w, err := e.findWorker(q, workspaceSid, f.WorkerSid)
		if err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return nil, false, errs.Invalidf("WorkerSid %s is not a worker of this workspace", f.WorkerSid)
			}
			return nil, false, err
		}
		wr, err := e.workerRoots(q, workspaceSid, []Worker{w})
		if err != nil {
			return nil, false, err
		}
		roots = append(roots, wr[0])
	}
	sel := q.Where("workspace_sid = ?", workspaceSid)
	if f.FriendlyName != "" {
		sel = sel.Where("friendly_name = ?", f.FriendlyName)
	}
	sel = sel.Order("date_created, sid")
	var rows []TaskQueue
	if len(roots) == 0 {
		if err := sel.Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
			return nil, false, errs.Wrap(err, "task queues")
		}
		rows, more := trimPage(rows, p)
		return rows, more, nil
	}
	if err := sel.Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "task queues")
	}
	var matched []TaskQueue
	for _, tq := range rows {
		if tq.TargetWorkers == "" {
			continue
		}
		x, err := expr.Parse(tq.TargetWorkers)
		if err != nil {
			return nil, false, errs.Wrap(err, "queue "+tq.Sid+" target")
		}
		if !slices.ContainsFunc(roots, func(root map[string]any) bool { return !x.Eval(root) }) {
			matched = append(matched, tq)
		}
	}
	matched = matched[min(p.Offset, len(matched)):]
	matched, more := trimPage(matched, p)
	return matched, more, nil
}

// UpdateTaskQueue changes a queue and wakes the router: a new target,
// order or reservation limit may make offers possible.
func (e *Engine) UpdateTaskQueue(ctx context.Context, workspaceSid, queueSid string, p TaskQueueParams) (TaskQueue, error) {
	if err := checkTaskQueueParams(p, false); err != nil {
		return TaskQueue{}, err
	}
	var q TaskQueue
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if q, err = lookup[TaskQueue](tx.DB, workspaceSid, "sid", queueSid, "TaskQueues"); err != nil {
			return err
		}
		if err := checkQueueActivities(tx, workspaceSid, p); err != nil {
			return err
		}
		target := q.TargetWorkers
		set(&q.FriendlyName, p.FriendlyName)
		set(&q.TargetWorkers, p.TargetWorkers)
		set(&q.MaxReservedWorkers, p.MaxReservedWorkers)
		set(&q.TaskOrder, p.TaskOrder)
		set(&q.ReservationActivitySid, p.ReservationActivitySid)
		set(&q.AssignmentActivitySid, p.AssignmentActivitySid)
		q.DateUpdated = e.now()
		if err := tx.Select("*").Updates(&q).Error; err != nil {
			return queueNameTaken(err, q.FriendlyName)
		}
		if q.TargetWorkers != target {
			if err := e.recordQueue(tx, q, "task-queue.expression.updated", "target updated"); err != nil {
				return err
			}
		}
		return wake(tx, workspaceSid)
	})
	return q, errs.Wrap(err, "update task queue")
}

// DeleteTaskQueue removes a queue in which no task waits and to which no
// workflow routes.
func (e *Engine) DeleteTaskQueue(ctx context.Context, workspaceSid, queueSid string) error {
	return errs.Wrap(e.write(ctx, func(tx *db.Tx) error {
		// The lock makes a workflow saved concurrently (which share-locks the
		// queues it names) either see the queue gone or be seen below.
		q, err := lookup[TaskQueue](tx.Locked("UPDATE"), workspaceSid, "sid", queueSid, "TaskQueues")
		if err != nil {
			return err
		}
		var waiting int64
		if err := tx.Model(&Task{}).Where("workspace_sid = ? AND (task_queue_sid = ? OR routing_target = ?) AND assignment_status IN ?",
			workspaceSid, q.Sid, q.Sid, []string{TaskPending, TaskReserved}).Count(&waiting).Error; err != nil {
			return err
		}
		if waiting > 0 {
			return conflict("TaskQueue %s cannot be deleted while %d tasks wait in it", q.Sid, waiting)
		}
		var workflows []Workflow
		if err := tx.Where("workspace_sid = ?", workspaceSid).Order("date_created, sid").Find(&workflows).Error; err != nil {
			return err
		}
		for _, wf := range workflows {
			if slices.Contains(configQueues(wf.Configuration), q.Sid) {
				return conflict("TaskQueue %s cannot be deleted while workflow %s routes to it", q.Sid, wf.Sid)
			}
		}
		if err := tx.Delete(&q).Error; err != nil {
			return err
		}
		return e.recordQueue(tx, q, "task-queue.deleted", "deleted")
	}), "delete task queue")
}

// configQueues lists the queues a workflow configuration routes to.
func configQueues(configuration string) []string {
	var cfg WorkflowConfig
	_ = json.Unmarshal([]byte(configuration), &cfg) // validated when saved
	var out []string
	for _, f := range cfg.TaskRouting.Filters {
		for _, t := range f.Targets {
			out = append(out, t.Queue)
		}
	}
	if d := cfg.TaskRouting.DefaultFilter; d != nil {
		out = append(out, d.Queue)
	}
	return out
}

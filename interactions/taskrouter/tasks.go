package taskrouter

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Task limits.
const (
	MaxTaskAttributes = 32 * 1024
	DefaultTaskTTL    = 86400
	MaxTaskTTL        = 1209600
)

// ttlExceeded is the reason a task canceled at the end of its time to live
// gives; statistics count those tasks as timed out in the workflow.
const ttlExceeded = "Task TTL Exceeded"

// jobTaskTTL cancels a task that was not assigned within its timeout.
const jobTaskTTL = "taskrouter.task-ttl"

// TaskParams are a task's settable fields; nil leaves one as is.
type TaskParams struct {
	Attributes       *string
	Priority         *int64
	Timeout          *int
	TaskChannel      *string // SID or unique name
	WorkflowSid      *string
	RoutingTarget    *string
	TaskQueueSid     *string // create: the queue the task is in (alone, a routing target)
	IgnoreCapacity   *bool
	VirtualStartTime *time.Time
	AssignmentStatus *string // update only: canceled, wrapping, completed
	Reason           *string
}

// TaskFilter narrows a task list.
type TaskFilter struct {
	AssignmentStatus []string
	WorkflowSid      string
	TaskQueueSid     string
	TaskChannel      string
	Ordering         string // "DateCreated:asc" (default), "DateCreated:desc", "Priority:desc", "Priority:asc"
}

func checkAttributes(attrs *string, max int) error {
	if attrs == nil {
		return nil
	}
	if *attrs == "" {
		*attrs = "{}"
	}
	if len(*attrs) > max {
		return errs.E(errs.TooLarge, errs.CodeInvalidParam, "Attributes must be at most %d bytes", max)
	}
	var obj map[string]any
	if err := json.Unmarshal([]byte(*attrs), &obj); err != nil || obj == nil {
		return errs.Invalidf("Attributes must be a JSON object")
	}
	return nil
}

// findTask loads a task of the workspace.
func (e *Engine) findTask(q *gorm.DB, workspaceSid, taskSid string) (Task, error) {
	var t Task
	res := q.Where("workspace_sid = ? AND sid = ?", workspaceSid, taskSid).Limit(1).Find(&t)
	if res.Error != nil {
		return t, errs.Wrap(res.Error, "task")
	}
	if res.RowsAffected == 0 {
		return t, notFound("Tasks", taskSid)
	}
	return t, nil
}

// taskChannelParam resolves a TaskChannel parameter (SID or unique name),
// share-locked so the channel cannot be deleted under the write that uses it.
func taskChannelParam(q *gorm.DB, workspaceSid, key string) (TaskChannel, error) {
	tc, err := taskChannelByKey(q, workspaceSid, key)
	if errs.KindOf(err) == errs.NotFound {
		return tc, errs.Invalidf("TaskChannel %q is not a task channel of this workspace", key)
	}
	return tc, err
}

// CreateTask adds a task and hands it to the router.
func (e *Engine) CreateTask(ctx context.Context, workspaceSid string, p TaskParams) (Task, error) {
	var t Task
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		t, err = e.createTask(tx, workspaceSid, p)
		return err
	})
	return t, err
}

// CreateTaskTx creates a task inside a caller's transaction, for a layer
// that makes a task together with its own records (an interaction's invite).
func (e *Engine) CreateTaskTx(tx *db.Tx, workspaceSid string, p TaskParams) (Task, error) {
	return e.createTask(tx, workspaceSid, p)
}

// MoveTaskTx moves a task to wrapping, completed or canceled inside a
// caller's transaction.
func (e *Engine) MoveTaskTx(tx *db.Tx, workspaceSid, taskSid, status, reason string) (Task, error) {
	t, err := e.lockedTask(tx, workspaceSid, taskSid)
	if err != nil {
		return t, err
	}
	return t, e.moveTask(tx, &t, status, reason)
}

// TaskTx loads a task inside a caller's transaction.
func (e *Engine) TaskTx(tx *db.Tx, workspaceSid, taskSid string) (Task, error) {
	return e.findTask(tx.DB, workspaceSid, taskSid)
}

// WorkerTx loads a worker inside a caller's transaction.
func (e *Engine) WorkerTx(tx *db.Tx, workspaceSid, workerSid string) (Worker, error) {
	return e.findWorker(tx.DB, workspaceSid, workerSid)
}

// DefaultWorkspace is the installation's first workspace: the one Flex
// routes conversations through.
func (e *Engine) DefaultWorkspace(ctx context.Context) (Workspace, error) {
	return defaultWorkspace(e.read(ctx))
}

// DefaultWorkspaceTx is DefaultWorkspace inside a caller's transaction.
func (e *Engine) DefaultWorkspaceTx(tx *db.Tx) (Workspace, error) { return defaultWorkspace(tx.DB) }

func defaultWorkspace(q *gorm.DB) (Workspace, error) {
	var ws Workspace
	err := q.Order("date_created, sid").First(&ws).Error
	if db.IsNotFound(err) {
		return ws, errs.E(errs.Internal, errs.CodeInternal, "no workspace: run switchboard migrate")
	}
	return ws, errs.Wrap(err, "default workspace")
}

func (e *Engine) createTask(tx *db.Tx, workspaceSid string, p TaskParams) (Task, error) {
	if err := checkAttributes(p.Attributes, MaxTaskAttributes); err != nil {
		return Task{}, err
	}
	if _, err := e.findWorkspace(tx.DB, workspaceSid); err != nil {
		return Task{}, err
	}
	now := e.now()
	t := Task{Sid: sid.New(sid.Task), WorkspaceSid: workspaceSid, Attributes: "{}", AssignmentStatus: TaskPending,
		Timeout: DefaultTaskTTL, FilterIndex: -1, VirtualStartTime: now, DateCreated: now, DateUpdated: now}
	if p.Attributes != nil {
		t.Attributes = *p.Attributes
	}
	if p.Priority != nil {
		if *p.Priority < 0 || *p.Priority > 1<<31-1 {
			return t, errs.Invalidf("Priority must be between 0 and 2147483647")
		}
		t.Priority = *p.Priority
	}
	if p.Timeout != nil {
		if *p.Timeout < 1 || *p.Timeout > MaxTaskTTL {
			return t, errs.Invalidf("Timeout must be between 1 and %d seconds", MaxTaskTTL)
		}
		t.Timeout = *p.Timeout
	}
	if p.VirtualStartTime != nil {
		t.VirtualStartTime = p.VirtualStartTime.UTC()
	}
	channel := "default"
	if p.TaskChannel != nil && *p.TaskChannel != "" {
		channel = *p.TaskChannel
	}
	tc, err := taskChannelParam(tx.Locked("SHARE"), workspaceSid, channel)
	if err != nil {
		return t, err
	}
	t.TaskChannelSid = tc.Sid
	if p.IgnoreCapacity != nil {
		t.IgnoreCapacity = *p.IgnoreCapacity
	}
	if err := e.resolveRouting(tx, &t, p); err != nil {
		return t, err
	}
	entered, timeout, err := e.enterWorkflow(tx, &t, now)
	if err != nil {
		return t, err
	}
	if err := tx.Create(&t).Error; err != nil {
		return t, err
	}
	if entered {
		if err := e.recordStep(tx, t, "", timeout, nil); err != nil {
			return t, err
		}
	}
	if err := jobs.Enqueue(tx, jobTaskTTL, t.Sid, now.Add(time.Duration(t.Timeout)*time.Second)); err != nil {
		return t, err
	}
	if err := e.record(tx, Event{WorkspaceSid: workspaceSid, EventType: "task.created", ResourceType: "task", ResourceSid: t.Sid,
		TaskSid: t.Sid, WorkflowSid: t.WorkflowSid, TaskChannel: tc.UniqueName, Description: "Task " + t.Sid + " created"},
		map[string]any{"task_priority": t.Priority, "task_attributes": t.Attributes}); err != nil {
		return t, err
	}
	return t, wake(tx, workspaceSid)
}

// enterWorkflow puts a new task on its first routing step as it is created,
// so the router's first look at it can make an offer straight away. It
// reports whether the task entered a queue, and that target's timeout.
func (e *Engine) enterWorkflow(tx *db.Tx, t *Task, now time.Time) (bool, int, error) {
	if sid.Is(t.RoutingTarget, sid.TaskQueue) {
		setStep(t, 0, 0, t.RoutingTarget, nil, now)
		return true, 0, nil
	}
	if sid.Is(t.RoutingTarget, sid.Worker) && t.TaskQueueSid != "" {
		queue := t.TaskQueueSid
		t.TaskQueueSid = "" // setStep records the entry
		setStep(t, 0, 0, queue, nil, now)
		return true, 0, nil
	}
	if t.WorkflowSid == "" {
		return false, 0, nil
	}
	var wf Workflow
	if err := tx.Where("sid = ?", t.WorkflowSid).First(&wf).Error; err != nil {
		return false, 0, err
	}
	plan, err := e.planOf(wf)
	if err != nil {
		return false, 0, err
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(t.Attributes), &attrs) // checked by checkAttributes
	fi, tp := matchFilter(plan, attrs)
	if tp == nil {
		return false, 0, nil // nothing matches: the task waits until its attributes change
	}
	setStep(t, fi, 0, tp.queue, tp.priority, now)
	return true, tp.timeout, nil
}

// resolveRouting sets where a new task goes: the given workflow, a routing
// target (a worker, queue or workflow), or the workspace's only workflow.
func (e *Engine) resolveRouting(tx *db.Tx, t *Task, p TaskParams) error {
	target := ""
	if p.RoutingTarget != nil {
		target = *p.RoutingTarget
	}
	if p.TaskQueueSid != nil && *p.TaskQueueSid != "" {
		// A queue of its own: where the task waits, even when it is meant for
		// one worker (Flex's transfer to a known agent in a queue).
		if _, err := lookup[TaskQueue](tx.Locked("SHARE"), t.WorkspaceSid, "sid", *p.TaskQueueSid, "TaskQueues"); err != nil {
			if errs.KindOf(err) == errs.NotFound {
				return errs.Invalidf("TaskQueueSid %s is not a TaskQueue of this workspace", *p.TaskQueueSid)
			}
			return err
		}
		t.TaskQueueSid = *p.TaskQueueSid
		if target == "" {
			target = t.TaskQueueSid
		}
	}
	switch {
	case target != "" && sid.Is(target, sid.Worker):
		if _, err := e.findWorker(tx.DB, t.WorkspaceSid, target); err != nil {
			return errs.Invalidf("RoutingTarget %s is not a worker of this workspace", target)
		}
		t.RoutingTarget = target
		return nil
	case target != "" && sid.Is(target, sid.TaskQueue):
		_, err := lookup[TaskQueue](tx.Locked("SHARE"), t.WorkspaceSid, "sid", target, "TaskQueues")
		if errs.KindOf(err) == errs.NotFound {
			return errs.Invalidf("RoutingTarget %s is not a TaskQueue of this workspace", target)
		}
		if err != nil {
			return err
		}
		t.RoutingTarget = target
		return nil
	case target != "" && sid.Is(target, sid.Workflow):
		p.WorkflowSid = &target
	case target != "":
		return errs.Invalidf("RoutingTarget must be a Worker (WK…), TaskQueue (WQ…) or Workflow (WW…) SID")
	}
	if p.WorkflowSid != nil && *p.WorkflowSid != "" {
		var wf Workflow
		res := tx.Locked("SHARE").Where("workspace_sid = ? AND sid = ?", t.WorkspaceSid, *p.WorkflowSid).Limit(1).Find(&wf)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errs.Invalidf("WorkflowSid %s is not a workflow of this workspace", *p.WorkflowSid)
		}
		t.WorkflowSid = wf.Sid
		return nil
	}
	var wfs []Workflow
	if err := tx.Locked("SHARE").Where("workspace_sid = ?", t.WorkspaceSid).Limit(2).Find(&wfs).Error; err != nil {
		return err
	}
	if len(wfs) != 1 {
		return errs.Invalidf("WorkflowSid is required: the workspace has %d workflows", len(wfs))
	}
	t.WorkflowSid = wfs[0].Sid
	return nil
}

// Task fetches a task.
func (e *Engine) Task(ctx context.Context, workspaceSid, taskSid string) (Task, error) {
	return e.findTask(e.read(ctx), workspaceSid, taskSid)
}

// Tasks lists a workspace's tasks.
func (e *Engine) Tasks(ctx context.Context, workspaceSid string, f TaskFilter, p Page) ([]Task, bool, error) {
	q := e.read(ctx).Where("workspace_sid = ?", workspaceSid)
	if len(f.AssignmentStatus) > 0 {
		q = q.Where("assignment_status IN ?", f.AssignmentStatus)
	}
	if f.WorkflowSid != "" {
		q = q.Where("workflow_sid = ?", f.WorkflowSid)
	}
	if f.TaskQueueSid != "" {
		q = q.Where("task_queue_sid = ?", f.TaskQueueSid)
	}
	if f.TaskChannel != "" {
		tc, err := taskChannelParam(e.read(ctx), workspaceSid, f.TaskChannel)
		if err != nil {
			return nil, false, err
		}
		q = q.Where("task_channel_sid = ?", tc.Sid)
	}
	switch strings.ToLower(f.Ordering) {
	case "", "datecreated:asc":
		q = q.Order("date_created, sid")
	case "datecreated:desc":
		q = q.Order("date_created DESC, sid")
	case "priority:desc":
		q = q.Order("priority DESC, date_created, sid")
	case "priority:asc":
		q = q.Order("priority, date_created, sid")
	default:
		return nil, false, errs.Invalidf("Ordering must be DateCreated:asc, DateCreated:desc, Priority:asc or Priority:desc")
	}
	var rows []Task
	if err := q.Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "tasks")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateTask changes a task's attributes or priority, or moves it along its
// lifecycle: canceled (from pending or reserved), wrapping (from assigned),
// completed (from assigned or wrapping).
func (e *Engine) UpdateTask(ctx context.Context, workspaceSid, taskSid string, p TaskParams) (Task, error) {
	if err := checkAttributes(p.Attributes, MaxTaskAttributes); err != nil {
		return Task{}, err
	}
	var t Task
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if t, err = e.lockedTask(tx, workspaceSid, taskSid); err != nil {
			return err
		}
		changed := false
		if p.Attributes != nil {
			t.Attributes, changed = *p.Attributes, true
			if t.AssignmentStatus == TaskPending && t.WorkflowSid != "" {
				// New attributes may match another filter: route from the top.
				t.TargetEnteredAt, t.FilterIndex, t.TargetIndex = nil, -1, 0
			}
		}
		if p.Priority != nil {
			if *p.Priority < 0 || *p.Priority > 1<<31-1 {
				return errs.Invalidf("Priority must be between 0 and 2147483647")
			}
			t.Priority, changed = *p.Priority, true
		}
		if p.TaskChannel != nil {
			tc, err := taskChannelParam(tx.Locked("SHARE"), workspaceSid, *p.TaskChannel)
			if err != nil {
				return err
			}
			if tc.Sid != t.TaskChannelSid && t.AssignmentStatus != TaskPending {
				return errs.E(errs.Conflict, errs.CodeInvalidParam, "TaskChannel can only change while the task is pending")
			}
			t.TaskChannelSid, changed = tc.Sid, true
		}
		if changed {
			if t.AssignmentStatus == TaskCompleted || t.AssignmentStatus == TaskCanceled {
				return errs.E(errs.Conflict, errs.CodeInvalidParam, "Task %s is %s and cannot be changed", t.Sid, t.AssignmentStatus)
			}
			t.DateUpdated = e.now()
			if err := tx.Model(&t).Select("attributes", "priority", "task_channel_sid", "target_entered_at", "filter_index",
				"target_index", "date_updated").Updates(&t).Error; err != nil {
				return err
			}
			if err := e.record(tx, Event{WorkspaceSid: workspaceSid, EventType: "task.updated", ResourceType: "task",
				ResourceSid: t.Sid, TaskSid: t.Sid, TaskQueueSid: t.TaskQueueSid, WorkflowSid: t.WorkflowSid,
				Description: "Task " + t.Sid + " updated"}, nil); err != nil {
				return err
			}
			if err := wake(tx, workspaceSid); err != nil {
				return err
			}
		}
		if p.AssignmentStatus == nil {
			return nil
		}
		reason := ""
		if p.Reason != nil {
			reason = *p.Reason
		}
		return e.moveTask(tx, &t, *p.AssignmentStatus, reason)
	})
	return t, err
}

// moveTask applies a lifecycle transition requested through the API.
func (e *Engine) moveTask(tx *db.Tx, t *Task, to, reason string) error {
	switch to {
	case TaskCanceled:
		if reason == "" {
			return errs.Invalidf("Reason is required to cancel a task")
		}
		return e.cancelTask(tx, t, reason)
	case TaskWrapping:
		return e.wrapTask(tx, t, reason)
	case TaskCompleted:
		if reason == "" {
			return errs.Invalidf("Reason is required to complete a task")
		}
		return e.completeTask(tx, t, reason)
	}
	return errs.Invalidf("AssignmentStatus can be set to canceled, wrapping or completed, not %q", to)
}

// errTaskState reports a transition the task's state does not allow.
func errTaskState(t *Task, to string) error {
	return errs.E(errs.Conflict, errs.CodeInvalidParam, "Task %s is %s and cannot move to %s", t.Sid, t.AssignmentStatus, to)
}

// cancelTask cancels a task that is not yet assigned, withdrawing its
// pending reservations.
func (e *Engine) cancelTask(tx *db.Tx, t *Task, reason string) error {
	if t.AssignmentStatus != TaskPending && t.AssignmentStatus != TaskReserved {
		return errTaskState(t, TaskCanceled)
	}
	if err := e.endPendingReservations(tx, t, "", ReservationCanceled); err != nil {
		return err
	}
	return e.setTaskStatus(tx, t, TaskCanceled, reason, "task.canceled")
}

// wrapTask moves an assigned task (and its reservation) to wrapping.
func (e *Engine) wrapTask(tx *db.Tx, t *Task, reason string) error {
	if t.AssignmentStatus == TaskWrapping {
		return nil
	}
	if t.AssignmentStatus != TaskAssigned {
		return errTaskState(t, TaskWrapping)
	}
	var accepted []Reservation
	if err := tx.Where("task_sid = ? AND reservation_status = ?", t.Sid, ReservationAccepted).Find(&accepted).Error; err != nil {
		return err
	}
	for _, r := range accepted {
		if err := tx.Model(&r).Updates(map[string]any{"reservation_status": ReservationWrapping, "date_updated": e.now()}).Error; err != nil {
			return err
		}
		// Named after the worker, so their desktop hears of the wrap-up
		// however it was asked for.
		if err := e.record(tx, Event{WorkspaceSid: t.WorkspaceSid, EventType: "reservation.wrapup", ResourceType: "reservation",
			ResourceSid: r.Sid, ReservationSid: r.Sid, TaskSid: t.Sid, WorkerSid: r.WorkerSid, TaskQueueSid: t.TaskQueueSid}, nil); err != nil {
			return err
		}
	}
	return e.setTaskStatus(tx, t, TaskWrapping, reason, "task.wrapup")
}

// completeTask completes an assigned or wrapping task and frees the worker's capacity.
func (e *Engine) completeTask(tx *db.Tx, t *Task, reason string) error {
	if t.AssignmentStatus != TaskAssigned && t.AssignmentStatus != TaskWrapping {
		return errTaskState(t, TaskCompleted)
	}
	var live []Reservation
	if err := tx.Where("task_sid = ? AND reservation_status IN ?", t.Sid, []string{ReservationAccepted, ReservationWrapping}).
		Find(&live).Error; err != nil {
		return err
	}
	now := e.now()
	for _, r := range live {
		if err := tx.Model(&r).Updates(map[string]any{"reservation_status": ReservationCompleted, "date_updated": now}).Error; err != nil {
			return err
		}
		if err := e.releaseCapacity(tx, r.WorkerSid, r.TaskChannelSid, true); err != nil {
			return err
		}
		if err := e.record(tx, Event{WorkspaceSid: t.WorkspaceSid, EventType: "reservation.completed", ResourceType: "reservation",
			ResourceSid: r.Sid, ReservationSid: r.Sid, TaskSid: t.Sid, WorkerSid: r.WorkerSid, TaskQueueSid: t.TaskQueueSid}, nil); err != nil {
			return err
		}
	}
	if err := e.setTaskStatus(tx, t, TaskCompleted, reason, "task.completed"); err != nil {
		return err
	}
	return wake(tx, t.WorkspaceSid)
}

// setTaskStatus writes a task's new status and records the event.
func (e *Engine) setTaskStatus(tx *db.Tx, t *Task, status, reason, eventType string) error {
	t.AssignmentStatus, t.DateUpdated = status, e.now()
	if reason != "" {
		t.Reason = reason
	}
	if err := tx.Model(t).Select("assignment_status", "reason", "date_updated").Updates(t).Error; err != nil {
		return err
	}
	return e.record(tx, Event{WorkspaceSid: t.WorkspaceSid, EventType: eventType, ResourceType: "task", ResourceSid: t.Sid,
		TaskSid: t.Sid, TaskQueueSid: t.TaskQueueSid, WorkflowSid: t.WorkflowSid, Description: "Task " + t.Sid + " " + status},
		map[string]any{"task_assignment_status": status, "task_canceled_reason": reason})
}

// DeleteTask removes a task, withdrawing its reservations first.
func (e *Engine) DeleteTask(ctx context.Context, workspaceSid, taskSid string) error {
	return e.write(ctx, func(tx *db.Tx) error {
		t, err := e.lockedTask(tx, workspaceSid, taskSid)
		if err != nil {
			return err
		}
		if err := e.endPendingReservations(tx, &t, "", ReservationCanceled); err != nil {
			return err
		}
		var live []Reservation
		if err := tx.Where("task_sid = ? AND reservation_status IN ?", t.Sid, []string{ReservationAccepted, ReservationWrapping}).
			Find(&live).Error; err != nil {
			return err
		}
		for _, r := range live {
			if err := e.releaseCapacity(tx, r.WorkerSid, r.TaskChannelSid, true); err != nil {
				return err
			}
		}
		if err := tx.Where("task_sid = ?", t.Sid).Delete(&Reservation{}).Error; err != nil {
			return err
		}
		if err := tx.Delete(&t).Error; err != nil {
			return err
		}
		if err := e.record(tx, Event{WorkspaceSid: workspaceSid, EventType: "task.deleted", ResourceType: "task", ResourceSid: t.Sid,
			TaskSid: t.Sid, TaskQueueSid: t.TaskQueueSid, WorkflowSid: t.WorkflowSid}, nil); err != nil {
			return err
		}
		return wake(tx, workspaceSid)
	})
}

// runTaskTTL cancels a task still unassigned when its time to live runs out.
func (e *Engine) runTaskTTL(ctx context.Context, taskSid string) error {
	return e.write(ctx, func(tx *db.Tx) error {
		if err := lockTask(tx, taskSid); err != nil {
			return err
		}
		var t Task
		res := tx.Where("sid = ?", taskSid).Limit(1).Find(&t)
		if res.Error != nil || res.RowsAffected == 0 {
			return res.Error
		}
		if t.AssignmentStatus != TaskPending && t.AssignmentStatus != TaskReserved {
			return nil
		}
		return e.cancelTask(tx, &t, ttlExceeded)
	})
}

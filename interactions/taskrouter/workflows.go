package taskrouter

import (
	"context"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// How long a worker has to answer an offer of a workflow's task, in seconds.
const (
	DefaultTaskReservationTimeout = 120
	MaxTaskReservationTimeout     = 86400
)

// WorkflowParams are a workflow's settable fields; nil leaves one as is.
type WorkflowParams struct {
	FriendlyName                  *string
	Configuration                 *string
	AssignmentCallbackURL         *string
	FallbackAssignmentCallbackURL *string
	TaskReservationTimeout        *int
	// ReEvaluateTasks (update only) routes the workflow's pending tasks
	// again from its first filter, under the new configuration.
	ReEvaluateTasks *bool
}

func checkWorkflowParams(p WorkflowParams, create bool) error {
	if err := checkFriendlyName(p.FriendlyName, create); err != nil {
		return err
	}
	if create && p.Configuration == nil {
		return errs.Invalidf("Configuration is required")
	}
	if err := checkCallbackURL("AssignmentCallbackUrl", p.AssignmentCallbackURL); err != nil {
		return err
	}
	if err := checkCallbackURL("FallbackAssignmentCallbackUrl", p.FallbackAssignmentCallbackURL); err != nil {
		return err
	}
	if t := p.TaskReservationTimeout; t != nil && (*t < 1 || *t > MaxTaskReservationTimeout) {
		return errs.Invalidf("TaskReservationTimeout must be between 1 and %d seconds", MaxTaskReservationTimeout)
	}
	return nil
}

// checkConfiguration compiles a configuration document against the
// workspace's queues. On Postgres the queues it names are share-locked, so
// none can be deleted before the workflow is saved.
func checkConfiguration(tx *db.Tx, workspaceSid, configuration string) error {
	var lookupErr error
	exists := func(queueSid string) bool {
		var found []string
		if err := tx.Locked("SHARE").Model(&TaskQueue{}).Where("workspace_sid = ? AND sid = ?", workspaceSid, queueSid).
			Limit(1).Pluck("sid", &found).Error; err != nil {
			lookupErr = err
		}
		return len(found) == 1
	}
	_, err := compileWorkflow(configuration, exists)
	if lookupErr != nil {
		return lookupErr
	}
	return err
}

// CreateWorkflow adds a workflow. Its configuration is compiled now, every
// expression in it included, so that it never fails while routing.
func (e *Engine) CreateWorkflow(ctx context.Context, workspaceSid string, p WorkflowParams) (Workflow, error) {
	if err := checkWorkflowParams(p, true); err != nil {
		return Workflow{}, err
	}
	if p.ReEvaluateTasks != nil {
		return Workflow{}, errs.Invalidf("ReEvaluateTasks applies to updates only")
	}
	now := e.now()
	wf := Workflow{Sid: sid.New(sid.Workflow), WorkspaceSid: workspaceSid, FriendlyName: *p.FriendlyName,
		Configuration: *p.Configuration, TaskReservationTimeout: DefaultTaskReservationTimeout, DateCreated: now, DateUpdated: now}
	set(&wf.AssignmentCallbackURL, p.AssignmentCallbackURL)
	set(&wf.FallbackAssignmentCallbackURL, p.FallbackAssignmentCallbackURL)
	set(&wf.TaskReservationTimeout, p.TaskReservationTimeout)
	err := e.write(ctx, func(tx *db.Tx) error {
		if _, err := e.findWorkspace(tx.DB, workspaceSid); err != nil {
			return err
		}
		if err := checkConfiguration(tx, workspaceSid, wf.Configuration); err != nil {
			return err
		}
		if err := tx.Create(&wf).Error; err != nil {
			return err
		}
		return e.recordWorkflow(tx, wf, "created")
	})
	return wf, errs.Wrap(err, "create workflow")
}

func (e *Engine) recordWorkflow(tx *db.Tx, wf Workflow, what string) error {
	return e.record(tx, Event{WorkspaceSid: wf.WorkspaceSid, EventType: "workflow." + what, ResourceType: "workflow",
		ResourceSid: wf.Sid, WorkflowSid: wf.Sid, Description: "Workflow " + wf.FriendlyName + " " + what},
		map[string]any{"workflow_sid": wf.Sid, "workflow_name": wf.FriendlyName})
}

// Workflow fetches a workflow.
func (e *Engine) Workflow(ctx context.Context, workspaceSid, workflowSid string) (Workflow, error) {
	return lookup[Workflow](e.read(ctx), workspaceSid, "sid", workflowSid, "Workflows")
}

// Workflows lists a workspace's workflows, oldest first; a non-empty
// friendlyName keeps only the workflows of that name.
func (e *Engine) Workflows(ctx context.Context, workspaceSid, friendlyName string, p Page) ([]Workflow, bool, error) {
	q := e.read(ctx).Where("workspace_sid = ?", workspaceSid)
	if friendlyName != "" {
		q = q.Where("friendly_name = ?", friendlyName)
	}
	var rows []Workflow
	if err := q.Order("date_created, sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "workflows")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateWorkflow changes a workflow and wakes the router. With
// ReEvaluateTasks its pending tasks leave their current target and queue
// and are routed again from the first filter; reserved ones keep their offers.
func (e *Engine) UpdateWorkflow(ctx context.Context, workspaceSid, workflowSid string, p WorkflowParams) (Workflow, error) {
	if err := checkWorkflowParams(p, false); err != nil {
		return Workflow{}, err
	}
	var wf Workflow
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if wf, err = lookup[Workflow](tx.DB, workspaceSid, "sid", workflowSid, "Workflows"); err != nil {
			return err
		}
		if p.Configuration != nil {
			if err := checkConfiguration(tx, workspaceSid, *p.Configuration); err != nil {
				return err
			}
		}
		set(&wf.FriendlyName, p.FriendlyName)
		set(&wf.Configuration, p.Configuration)
		set(&wf.AssignmentCallbackURL, p.AssignmentCallbackURL)
		set(&wf.FallbackAssignmentCallbackURL, p.FallbackAssignmentCallbackURL)
		set(&wf.TaskReservationTimeout, p.TaskReservationTimeout)
		// The router recompiles a workflow whose date_updated changed.
		wf.DateUpdated = e.now()
		if err := tx.Select("*").Updates(&wf).Error; err != nil {
			return err
		}
		if p.ReEvaluateTasks != nil && *p.ReEvaluateTasks {
			if err := tx.Model(&Task{}).Where("workflow_sid = ? AND assignment_status = ?", wf.Sid, TaskPending).
				Updates(map[string]any{"target_entered_at": nil, "filter_index": -1, "target_index": 0, "task_queue_sid": "",
					"date_updated": wf.DateUpdated}).Error; err != nil {
				return err
			}
		}
		if err := e.recordWorkflow(tx, wf, "updated"); err != nil {
			return err
		}
		return wake(tx, workspaceSid)
	})
	return wf, errs.Wrap(err, "update workflow")
}

// DeleteWorkflow removes a workflow none of whose tasks is pending,
// reserved or assigned.
func (e *Engine) DeleteWorkflow(ctx context.Context, workspaceSid, workflowSid string) error {
	return errs.Wrap(e.write(ctx, func(tx *db.Tx) error {
		// Locked, so that a task creation that share-locks the workflow is
		// either counted below or finds the workflow gone.
		wf, err := lookup[Workflow](tx.Locked("UPDATE"), workspaceSid, "sid", workflowSid, "Workflows")
		if err != nil {
			return err
		}
		var live int64
		if err := tx.Model(&Task{}).Where("workflow_sid = ? AND assignment_status IN ?", wf.Sid,
			[]string{TaskPending, TaskReserved, TaskAssigned}).Count(&live).Error; err != nil {
			return err
		}
		if live > 0 {
			return conflict("Workflow %s cannot be deleted while %d of its tasks are pending, reserved or assigned", wf.Sid, live)
		}
		if err := tx.Delete(&wf).Error; err != nil {
			return err
		}
		return e.recordWorkflow(tx, wf, "deleted")
	}), "delete workflow")
}

package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
)

type taskQueueJSON struct {
	AccountSid              string            `json:"account_sid"`
	WorkspaceSid            string            `json:"workspace_sid"`
	Sid                     string            `json:"sid"`
	FriendlyName            string            `json:"friendly_name"`
	TargetWorkers           string            `json:"target_workers"`
	MaxReservedWorkers      int               `json:"max_reserved_workers"`
	TaskOrder               string            `json:"task_order"`
	ReservationActivitySid  *string           `json:"reservation_activity_sid"`
	ReservationActivityName *string           `json:"reservation_activity_name"`
	AssignmentActivitySid   *string           `json:"assignment_activity_sid"`
	AssignmentActivityName  *string           `json:"assignment_activity_name"`
	DateCreated             string            `json:"date_created"`
	DateUpdated             string            `json:"date_updated"`
	URL                     string            `json:"url"`
	Links                   map[string]string `json:"links"`
}

func (a *restAPI) taskQueuesJSON() renderer[taskrouter.TaskQueue, taskQueueJSON] {
	return labeled(a, func(q taskrouter.TaskQueue) []string {
		return []string{q.ReservationActivitySid, q.AssignmentActivitySid}
	},
		func(c *fiber.Ctx, q taskrouter.TaskQueue, l taskrouter.Labels) taskQueueJSON {
			u := a.trURL(c, "/TaskQueues/"+q.Sid)
			links := map[string]string{"workspace": a.trURL(c, ""), "statistics": u + "/Statistics",
				"real_time_statistics": u + "/RealTimeStatistics", "cumulative_statistics": u + "/CumulativeStatistics"}
			if q.ReservationActivitySid != "" {
				links["reservation_activity"] = a.trURL(c, "/Activities/"+q.ReservationActivitySid)
			}
			if q.AssignmentActivitySid != "" {
				links["assignment_activity"] = a.trURL(c, "/Activities/"+q.AssignmentActivitySid)
			}
			return taskQueueJSON{
				AccountSid: a.tr.AccountSid(), WorkspaceSid: q.WorkspaceSid, Sid: q.Sid, FriendlyName: q.FriendlyName,
				TargetWorkers: q.TargetWorkers, MaxReservedWorkers: q.MaxReservedWorkers, TaskOrder: q.TaskOrder,
				ReservationActivitySid: nullable(q.ReservationActivitySid), ReservationActivityName: labelOf(l, q.ReservationActivitySid),
				AssignmentActivitySid: nullable(q.AssignmentActivitySid), AssignmentActivityName: labelOf(l, q.AssignmentActivitySid),
				DateCreated: isoTime(q.DateCreated), DateUpdated: isoTime(q.DateUpdated), URL: u, Links: links,
			}
		})
}

func taskQueueParams(c *fiber.Ctx) (taskrouter.TaskQueueParams, error) {
	f := form{c}
	p := taskrouter.TaskQueueParams{
		FriendlyName: f.str("FriendlyName"), TargetWorkers: f.str("TargetWorkers"), TaskOrder: f.str("TaskOrder"),
		ReservationActivitySid: f.str("ReservationActivitySid"), AssignmentActivitySid: f.str("AssignmentActivitySid"),
	}
	var err error
	p.MaxReservedWorkers, err = intParam(f, "MaxReservedWorkers")
	return p, err
}

func (a *restAPI) createTaskQueue(c *fiber.Ctx) error {
	p, err := taskQueueParams(c)
	if err != nil {
		return err
	}
	q, err := a.tr.CreateTaskQueue(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, q, a.taskQueuesJSON())
}

func (a *restAPI) fetchTaskQueue(c *fiber.Ctx) error {
	q, err := a.tr.TaskQueue(c.UserContext(), workspaceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, q, a.taskQueuesJSON())
}

func (a *restAPI) updateTaskQueue(c *fiber.Ctx) error {
	p, err := taskQueueParams(c)
	if err != nil {
		return err
	}
	q, err := a.tr.UpdateTaskQueue(c.UserContext(), workspaceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, q, a.taskQueuesJSON())
}

func (a *restAPI) deleteTaskQueue(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteTaskQueue(c.UserContext(), workspaceOf(c), param(c, "Sid")))
}

func (a *restAPI) listTaskQueues(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	f := form{c}
	filter := taskrouter.TaskQueueFilter{FriendlyName: optional(f, "FriendlyName"),
		EvaluateWorkerAttributes: optional(f, "EvaluateWorkerAttributes"), WorkerSid: optional(f, "WorkerSid")}
	rows, more, err := a.tr.TaskQueues(c.UserContext(), workspaceOf(c), filter, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/TaskQueues"), "task_queues", pg, rows, more, a.taskQueuesJSON())
}

type workflowJSON struct {
	AccountSid                    string            `json:"account_sid"`
	WorkspaceSid                  string            `json:"workspace_sid"`
	Sid                           string            `json:"sid"`
	FriendlyName                  string            `json:"friendly_name"`
	Configuration                 string            `json:"configuration"`
	DocumentContentType           string            `json:"document_content_type"`
	AssignmentCallbackURL         *string           `json:"assignment_callback_url"`
	FallbackAssignmentCallbackURL *string           `json:"fallback_assignment_callback_url"`
	TaskReservationTimeout        int               `json:"task_reservation_timeout"`
	DateCreated                   string            `json:"date_created"`
	DateUpdated                   string            `json:"date_updated"`
	URL                           string            `json:"url"`
	Links                         map[string]string `json:"links"`
}

func (a *restAPI) workflowsJSON() renderer[taskrouter.Workflow, workflowJSON] {
	return mapRows(func(c *fiber.Ctx, wf taskrouter.Workflow) workflowJSON {
		u := a.trURL(c, "/Workflows/"+wf.Sid)
		return workflowJSON{
			AccountSid: a.tr.AccountSid(), WorkspaceSid: wf.WorkspaceSid, Sid: wf.Sid, FriendlyName: wf.FriendlyName,
			Configuration: wf.Configuration, DocumentContentType: "application/json",
			AssignmentCallbackURL: nullable(wf.AssignmentCallbackURL), FallbackAssignmentCallbackURL: nullable(wf.FallbackAssignmentCallbackURL),
			TaskReservationTimeout: wf.TaskReservationTimeout, DateCreated: isoTime(wf.DateCreated), DateUpdated: isoTime(wf.DateUpdated),
			URL: u, Links: map[string]string{"workspace": a.trURL(c, ""), "statistics": u + "/Statistics",
				"real_time_statistics": u + "/RealTimeStatistics", "cumulative_statistics": u + "/CumulativeStatistics"},
		}
	})
}

func workflowParams(c *fiber.Ctx) (taskrouter.WorkflowParams, error) {
	f := form{c}
	p := taskrouter.WorkflowParams{
		FriendlyName: f.str("FriendlyName"), Configuration: f.str("Configuration"),
		AssignmentCallbackURL: f.str("AssignmentCallbackUrl"), FallbackAssignmentCallbackURL: f.str("FallbackAssignmentCallbackUrl"),
	}
	var err error
	if p.TaskReservationTimeout, err = intParam(f, "TaskReservationTimeout"); err != nil {
		return p, err
	}
	p.ReEvaluateTasks, err = f.boolean("ReEvaluateTasks")
	return p, err
}

func (a *restAPI) createWorkflow(c *fiber.Ctx) error {
	p, err := workflowParams(c)
	if err != nil {
		return err
	}
	wf, err := a.tr.CreateWorkflow(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, wf, a.workflowsJSON())
}

func (a *restAPI) fetchWorkflow(c *fiber.Ctx) error {
	wf, err := a.tr.Workflow(c.UserContext(), workspaceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, wf, a.workflowsJSON())
}

func (a *restAPI) updateWorkflow(c *fiber.Ctx) error {
	p, err := workflowParams(c)
	if err != nil {
		return err
	}
	wf, err := a.tr.UpdateWorkflow(c.UserContext(), workspaceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, wf, a.workflowsJSON())
}

func (a *restAPI) deleteWorkflow(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteWorkflow(c.UserContext(), workspaceOf(c), param(c, "Sid")))
}

func (a *restAPI) listWorkflows(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	rows, more, err := a.tr.Workflows(c.UserContext(), workspaceOf(c), optional(form{c}, "FriendlyName"), page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/Workflows"), "workflows", pg, rows, more, a.workflowsJSON())
}

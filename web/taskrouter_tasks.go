package web

import (
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
)

type taskJSON struct {
	AccountSid            string            `json:"account_sid"`
	WorkspaceSid          string            `json:"workspace_sid"`
	Sid                   string            `json:"sid"`
	Age                   int64             `json:"age"`
	AssignmentStatus      string            `json:"assignment_status"`
	Attributes            string            `json:"attributes"`
	Addons                string            `json:"addons"`
	Priority              int64             `json:"priority"`
	Reason                *string           `json:"reason"`
	Timeout               int               `json:"timeout"`
	TaskQueueSid          *string           `json:"task_queue_sid"`
	TaskQueueFriendlyName *string           `json:"task_queue_friendly_name"`
	TaskQueueEnteredDate  *string           `json:"task_queue_entered_date"`
	TaskChannelSid        string            `json:"task_channel_sid"`
	TaskChannelUniqueName *string           `json:"task_channel_unique_name"`
	WorkflowSid           *string           `json:"workflow_sid"`
	WorkflowFriendlyName  *string           `json:"workflow_friendly_name"`
	RoutingTarget         *string           `json:"routing_target"`
	IgnoreCapacity        bool              `json:"ignore_capacity"`
	VirtualStartTime      string            `json:"virtual_start_time"`
	DateCreated           string            `json:"date_created"`
	DateUpdated           string            `json:"date_updated"`
	URL                   string            `json:"url"`
	Links                 map[string]string `json:"links"`
}

func (a *restAPI) tasksJSON() renderer[taskrouter.Task, taskJSON] {
	return labeled(a, func(t taskrouter.Task) []string { return []string{t.TaskQueueSid, t.TaskChannelSid, t.WorkflowSid} },
		func(c *fiber.Ctx, t taskrouter.Task, l taskrouter.Labels) taskJSON {
			u := a.trURL(c, "/Tasks/"+t.Sid)
			links := map[string]string{"reservations": u + "/Reservations", "workspace": a.trURL(c, "")}
			if t.TaskQueueSid != "" {
				links["task_queue"] = a.trURL(c, "/TaskQueues/"+t.TaskQueueSid)
			}
			if t.WorkflowSid != "" {
				links["workflow"] = a.trURL(c, "/Workflows/"+t.WorkflowSid)
			}
			return taskJSON{
				AccountSid: a.tr.AccountSid(), WorkspaceSid: t.WorkspaceSid, Sid: t.Sid,
				Age:              max(0, int64(time.Since(t.DateCreated)/time.Second)),
				AssignmentStatus: t.AssignmentStatus, Attributes: t.Attributes, Addons: "{}", Priority: t.Priority,
				Reason: nullable(t.Reason), Timeout: t.Timeout,
				TaskQueueSid: nullable(t.TaskQueueSid), TaskQueueFriendlyName: labelOf(l, t.TaskQueueSid),
				TaskQueueEnteredDate: isoTimePtr(t.TaskQueueEnteredDate),
				TaskChannelSid:       t.TaskChannelSid, TaskChannelUniqueName: labelOf(l, t.TaskChannelSid),
				WorkflowSid: nullable(t.WorkflowSid), WorkflowFriendlyName: labelOf(l, t.WorkflowSid),
				RoutingTarget: nullable(t.RoutingTarget), IgnoreCapacity: t.IgnoreCapacity,
				VirtualStartTime: isoTime(t.VirtualStartTime), DateCreated: isoTime(t.DateCreated), DateUpdated: isoTime(t.DateUpdated),
				URL: u, Links: links,
			}
		})
}

func taskParams(c *fiber.Ctx) (taskrouter.TaskParams, error) {
	f := form{c}
	p := taskrouter.TaskParams{
		Attributes: f.str("Attributes"), TaskChannel: f.str("TaskChannel"), WorkflowSid: f.str("WorkflowSid"),
		RoutingTarget: f.str("RoutingTarget"), TaskQueueSid: f.str("TaskQueueSid"), AssignmentStatus: f.str("AssignmentStatus"),
		Reason: f.str("Reason"),
	}
	var err error
	if p.Priority, err = f.integer("Priority"); err != nil {
		return p, err
	}
	if p.Timeout, err = intParam(f, "Timeout"); err != nil {
		return p, err
	}
	if p.IgnoreCapacity, err = f.boolean("IgnoreCapacity"); err != nil {
		return p, err
	}
	p.VirtualStartTime, err = f.date("VirtualStartTime")
	return p, err
}

func (a *restAPI) createTask(c *fiber.Ctx) error {
	p, err := taskParams(c)
	if err != nil {
		return err
	}
	t, err := a.tr.CreateTask(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, t, a.tasksJSON())
}

func (a *restAPI) fetchTask(c *fiber.Ctx) error {
	t, err := a.tr.Task(c.UserContext(), workspaceOf(c), param(c, "Task"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, t, a.tasksJSON())
}

func (a *restAPI) updateTask(c *fiber.Ctx) error {
	p, err := taskParams(c)
	if err != nil {
		return err
	}
	t, err := a.tr.UpdateTask(c.UserContext(), workspaceOf(c), param(c, "Task"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, t, a.tasksJSON())
}

func (a *restAPI) deleteTask(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteTask(c.UserContext(), workspaceOf(c), param(c, "Task")))
}

func (a *restAPI) listTasks(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	f := form{c}
	// Better a clear refusal than a list that silently ignores a filter.
	for _, name := range []string{"EvaluateTaskAttributes", "Priority", "WorkflowName", "TaskQueueName", "RoutingTarget", "HasAddons"} {
		if f.has(name) {
			return errs.Invalidf("%s is not a supported task list filter", name)
		}
	}
	filter := taskrouter.TaskFilter{WorkflowSid: optional(f, "WorkflowSid"), TaskQueueSid: optional(f, "TaskQueueSid"),
		TaskChannel: optional(f, "TaskChannel"), Ordering: optional(f, "Ordering")}
	// Repeated (AssignmentStatus=a&AssignmentStatus=b) or comma-separated.
	statuses, _ := f.strs("AssignmentStatus")
	for _, s := range statuses {
		for _, one := range strings.Split(s, ",") {
			if one = strings.TrimSpace(one); one != "" {
				filter.AssignmentStatus = append(filter.AssignmentStatus, one)
			}
		}
	}
	rows, more, err := a.tr.Tasks(c.UserContext(), workspaceOf(c), filter, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/Tasks"), "tasks", pg, rows, more, a.tasksJSON())
}

type reservationJSON struct {
	AccountSid        string            `json:"account_sid"`
	WorkspaceSid      string            `json:"workspace_sid"`
	Sid               string            `json:"sid"`
	TaskSid           string            `json:"task_sid"`
	WorkerSid         string            `json:"worker_sid"`
	WorkerName        *string           `json:"worker_name"`
	ReservationStatus string            `json:"reservation_status"`
	DateCreated       string            `json:"date_created"`
	DateUpdated       string            `json:"date_updated"`
	URL               string            `json:"url"`
	Links             map[string]string `json:"links"`
}

// reservationsJSON renders reservations under the path they were reached
// through: their task's, or their worker's.
func (a *restAPI) reservationsJSON() renderer[taskrouter.Reservation, reservationJSON] {
	return labeled(a, func(r taskrouter.Reservation) []string { return []string{r.WorkerSid} },
		func(c *fiber.Ctx, r taskrouter.Reservation, l taskrouter.Labels) reservationJSON {
			task, worker := a.trURL(c, "/Tasks/"+r.TaskSid), a.trURL(c, "/Workers/"+r.WorkerSid)
			u := task + "/Reservations/" + r.Sid
			if param(c, "Worker") != "" {
				u = worker + "/Reservations/" + r.Sid
			}
			return reservationJSON{
				AccountSid: a.tr.AccountSid(), WorkspaceSid: r.WorkspaceSid, Sid: r.Sid, TaskSid: r.TaskSid,
				WorkerSid: r.WorkerSid, WorkerName: labelOf(l, r.WorkerSid), ReservationStatus: r.ReservationStatus,
				DateCreated: isoTime(r.DateCreated), DateUpdated: isoTime(r.DateUpdated), URL: u,
				Links: map[string]string{"task": task, "worker": worker, "workspace": a.trURL(c, "")},
			}
		})
}

// reservationScope is the task or worker whose path a reservation request
// came through.
func reservationScope(c *fiber.Ctx) taskrouter.ReservationFilter {
	return taskrouter.ReservationFilter{TaskSid: param(c, "Task"), WorkerSid: param(c, "Worker")}
}

// reservationsURL is the list a reservation request came through.
func (a *restAPI) reservationsURL(c *fiber.Ctx) string {
	if w := param(c, "Worker"); w != "" {
		return a.trURL(c, "/Workers/"+w+"/Reservations")
	}
	return a.trURL(c, "/Tasks/"+param(c, "Task")+"/Reservations")
}

func (a *restAPI) listReservations(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	f := form{c}
	filter := reservationScope(c)
	filter.ReservationStatus = optional(f, "ReservationStatus")
	if filter.WorkerSid == "" {
		filter.WorkerSid = optional(f, "WorkerSid")
	}
	rows, more, err := a.tr.ReservationsOf(c.UserContext(), workspaceOf(c), filter, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.reservationsURL(c), "reservations", pg, rows, more, a.reservationsJSON())
}

func (a *restAPI) fetchReservation(c *fiber.Ctx) error {
	r, err := a.tr.ReservationOf(c.UserContext(), workspaceOf(c), reservationScope(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, r, a.reservationsJSON())
}

func (a *restAPI) updateReservation(c *fiber.Ctx) error {
	f := form{c}
	p := taskrouter.ReservationParams{ReservationStatus: f.str("ReservationStatus"), WorkerActivitySid: f.str("WorkerActivitySid"),
		PostWorkActivitySid: f.str("PostWorkActivitySid")}
	r, err := a.tr.UpdateReservationOf(c.UserContext(), workspaceOf(c), reservationScope(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, r, a.reservationsJSON())
}

package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
)

type workerJSON struct {
	AccountSid        string            `json:"account_sid"`
	WorkspaceSid      string            `json:"workspace_sid"`
	Sid               string            `json:"sid"`
	FriendlyName      string            `json:"friendly_name"`
	ActivitySid       string            `json:"activity_sid"`
	ActivityName      *string           `json:"activity_name"`
	Available         bool              `json:"available"`
	Attributes        string            `json:"attributes"`
	DateStatusChanged string            `json:"date_status_changed"`
	DateCreated       string            `json:"date_created"`
	DateUpdated       string            `json:"date_updated"`
	URL               string            `json:"url"`
	Links             map[string]string `json:"links"`
}

func (a *restAPI) workersJSON() renderer[taskrouter.Worker, workerJSON] {
	return labeled(a, func(w taskrouter.Worker) []string { return []string{w.ActivitySid} },
		func(c *fiber.Ctx, w taskrouter.Worker, l taskrouter.Labels) workerJSON {
			u := a.trURL(c, "/Workers/"+w.Sid)
			return workerJSON{
				AccountSid: a.tr.AccountSid(), WorkspaceSid: w.WorkspaceSid, Sid: w.Sid, FriendlyName: w.FriendlyName,
				ActivitySid: w.ActivitySid, ActivityName: labelOf(l, w.ActivitySid), Available: w.Available,
				Attributes: w.Attributes, DateStatusChanged: isoTime(w.DateStatusChanged),
				DateCreated: isoTime(w.DateCreated), DateUpdated: isoTime(w.DateUpdated), URL: u,
				Links: map[string]string{
					"channels": u + "/Channels", "reservations": u + "/Reservations", "statistics": u + "/Statistics",
					"real_time_statistics": u + "/RealTimeStatistics", "cumulative_statistics": u + "/CumulativeStatistics",
					"activity": a.trURL(c, "/Activities/"+w.ActivitySid), "workspace": a.trURL(c, ""),
				},
			}
		})
}

func workerParams(c *fiber.Ctx) (taskrouter.WorkerParams, error) {
	f := form{c}
	p := taskrouter.WorkerParams{FriendlyName: f.str("FriendlyName"), Attributes: f.str("Attributes"), ActivitySid: f.str("ActivitySid")}
	var err error
	p.RejectPendingReservations, err = f.boolean("RejectPendingReservations")
	return p, err
}

func (a *restAPI) createWorker(c *fiber.Ctx) error {
	p, err := workerParams(c)
	if err != nil {
		return err
	}
	w, err := a.tr.CreateWorker(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, w, a.workersJSON())
}

func (a *restAPI) fetchWorker(c *fiber.Ctx) error {
	w, err := a.tr.Worker(c.UserContext(), workspaceOf(c), param(c, "Worker"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, w, a.workersJSON())
}

func (a *restAPI) updateWorker(c *fiber.Ctx) error {
	p, err := workerParams(c)
	if err != nil {
		return err
	}
	w, err := a.tr.UpdateWorker(c.UserContext(), workspaceOf(c), param(c, "Worker"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, w, a.workersJSON())
}

func (a *restAPI) deleteWorker(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteWorker(c.UserContext(), workspaceOf(c), param(c, "Worker")))
}

func (a *restAPI) listWorkers(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	f := form{c}
	filter := taskrouter.WorkerFilter{
		ActivityName: optional(f, "ActivityName"), ActivitySid: optional(f, "ActivitySid"),
		FriendlyName: optional(f, "FriendlyName"), TargetWorkersExpression: optional(f, "TargetWorkersExpression"),
		TaskQueueName: optional(f, "TaskQueueName"), TaskQueueSid: optional(f, "TaskQueueSid"),
	}
	if filter.Available, err = f.boolean("Available"); err != nil {
		return err
	}
	rows, more, err := a.tr.Workers(c.UserContext(), workspaceOf(c), filter, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/Workers"), "workers", pg, rows, more, a.workersJSON())
}

type workerChannelJSON struct {
	AccountSid                  string  `json:"account_sid"`
	WorkspaceSid                string  `json:"workspace_sid"`
	WorkerSid                   string  `json:"worker_sid"`
	Sid                         string  `json:"sid"`
	TaskChannelSid              string  `json:"task_channel_sid"`
	TaskChannelUniqueName       *string `json:"task_channel_unique_name"`
	ConfiguredCapacity          int     `json:"configured_capacity"`
	AssignedTasks               int     `json:"assigned_tasks"`
	Available                   bool    `json:"available"`
	AvailableCapacityPercentage int     `json:"available_capacity_percentage"`
	DateCreated                 string  `json:"date_created"`
	DateUpdated                 string  `json:"date_updated"`
	URL                         string  `json:"url"`
}

func (a *restAPI) workerChannelsJSON() renderer[taskrouter.WorkerChannel, workerChannelJSON] {
	return labeled(a, func(wc taskrouter.WorkerChannel) []string { return []string{wc.TaskChannelSid} },
		func(c *fiber.Ctx, wc taskrouter.WorkerChannel, l taskrouter.Labels) workerChannelJSON {
			return workerChannelJSON{
				AccountSid: a.tr.AccountSid(), WorkspaceSid: wc.WorkspaceSid, WorkerSid: wc.WorkerSid, Sid: wc.Sid,
				TaskChannelSid: wc.TaskChannelSid, TaskChannelUniqueName: labelOf(l, wc.TaskChannelSid),
				ConfiguredCapacity: wc.Capacity, AssignedTasks: wc.Assigned, Available: wc.Available,
				AvailableCapacityPercentage: wc.AvailableCapacityPercentage(),
				DateCreated:                 isoTime(wc.DateCreated), DateUpdated: isoTime(wc.DateUpdated),
				URL: a.trURL(c, "/Workers/"+wc.WorkerSid+"/Channels/"+wc.Sid),
			}
		})
}

func (a *restAPI) fetchWorkerChannel(c *fiber.Ctx) error {
	wc, err := a.tr.WorkerChannel(c.UserContext(), workspaceOf(c), param(c, "Worker"), param(c, "Sid"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, wc, a.workerChannelsJSON())
}

func (a *restAPI) updateWorkerChannel(c *fiber.Ctx) error {
	f := form{c}
	var p taskrouter.WorkerChannelParams
	var err error
	if p.Capacity, err = intParam(f, "Capacity"); err != nil {
		return err
	}
	if p.Available, err = f.boolean("Available"); err != nil {
		return err
	}
	wc, err := a.tr.UpdateWorkerChannel(c.UserContext(), workspaceOf(c), param(c, "Worker"), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, wc, a.workerChannelsJSON())
}

func (a *restAPI) listWorkerChannels(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	rows, more, err := a.tr.WorkerChannels(c.UserContext(), workspaceOf(c), param(c, "Worker"), page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/Workers/"+param(c, "Worker")+"/Channels"), "channels", pg, rows, more, a.workerChannelsJSON())
}

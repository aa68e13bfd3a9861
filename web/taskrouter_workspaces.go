package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
)

type workspaceJSON struct {
	AccountSid           string            `json:"account_sid"`
	Sid                  string            `json:"sid"`
	FriendlyName         string            `json:"friendly_name"`
	DefaultActivitySid   string            `json:"default_activity_sid"`
	DefaultActivityName  *string           `json:"default_activity_name"`
	TimeoutActivitySid   string            `json:"timeout_activity_sid"`
	TimeoutActivityName  *string           `json:"timeout_activity_name"`
	EventCallbackURL     *string           `json:"event_callback_url"`
	EventsFilter         *string           `json:"events_filter"`
	MultiTaskEnabled     bool              `json:"multi_task_enabled"`
	PrioritizeQueueOrder string            `json:"prioritize_queue_order"`
	DateCreated          string            `json:"date_created"`
	DateUpdated          string            `json:"date_updated"`
	URL                  string            `json:"url"`
	Links                map[string]string `json:"links"`
}

func (a *restAPI) workspacesJSON() renderer[taskrouter.Workspace, workspaceJSON] {
	return labeled(a, func(ws taskrouter.Workspace) []string { return []string{ws.DefaultActivitySid, ws.TimeoutActivitySid} },
		func(c *fiber.Ctx, ws taskrouter.Workspace, l taskrouter.Labels) workspaceJSON {
			u := a.workspaceURL(c, ws.Sid, "")
			links := map[string]string{
				"activities": u + "/Activities", "task_channels": u + "/TaskChannels", "task_queues": u + "/TaskQueues",
				"tasks": u + "/Tasks", "workers": u + "/Workers", "workflows": u + "/Workflows", "events": u + "/Events",
				"statistics": u + "/Statistics", "real_time_statistics": u + "/RealTimeStatistics",
				"cumulative_statistics": u + "/CumulativeStatistics",
			}
			return workspaceJSON{
				AccountSid: a.tr.AccountSid(), Sid: ws.Sid, FriendlyName: ws.FriendlyName,
				DefaultActivitySid: ws.DefaultActivitySid, DefaultActivityName: labelOf(l, ws.DefaultActivitySid),
				TimeoutActivitySid: ws.TimeoutActivitySid, TimeoutActivityName: labelOf(l, ws.TimeoutActivitySid),
				EventCallbackURL: nullable(ws.EventCallbackURL), EventsFilter: nullable(ws.EventsFilter),
				MultiTaskEnabled: ws.MultiTaskEnabled, PrioritizeQueueOrder: ws.PrioritizeQueueOrder,
				DateCreated: isoTime(ws.DateCreated), DateUpdated: isoTime(ws.DateUpdated), URL: u, Links: links,
			}
		})
}

func workspaceParams(c *fiber.Ctx) (taskrouter.WorkspaceParams, error) {
	f := form{c}
	p := taskrouter.WorkspaceParams{
		FriendlyName: f.str("FriendlyName"), EventCallbackURL: f.str("EventCallbackUrl"), EventsFilter: f.str("EventsFilter"),
		PrioritizeQueueOrder: f.str("PrioritizeQueueOrder"), DefaultActivitySid: f.str("DefaultActivitySid"),
		TimeoutActivitySid: f.str("TimeoutActivitySid"),
	}
	var err error
	p.MultiTaskEnabled, err = f.boolean("MultiTaskEnabled")
	return p, err
}

func (a *restAPI) createWorkspace(c *fiber.Ctx) error {
	p, err := workspaceParams(c)
	if err != nil {
		return err
	}
	ws, err := a.tr.CreateWorkspace(c.UserContext(), p, form{c}.str("Template"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, ws, a.workspacesJSON())
}

func (a *restAPI) fetchWorkspace(c *fiber.Ctx) error {
	ws, err := a.tr.Workspace(c.UserContext(), workspaceOf(c))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, ws, a.workspacesJSON())
}

func (a *restAPI) updateWorkspace(c *fiber.Ctx) error {
	p, err := workspaceParams(c)
	if err != nil {
		return err
	}
	ws, err := a.tr.UpdateWorkspace(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, ws, a.workspacesJSON())
}

func (a *restAPI) deleteWorkspace(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteWorkspace(c.UserContext(), workspaceOf(c)))
}

func (a *restAPI) listWorkspaces(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	rows, more, err := a.tr.Workspaces(c.UserContext(), optional(form{c}, "FriendlyName"), page)
	if err != nil {
		return err
	}
	return renderPage(c, a.base(c)+"/v1/Workspaces", "workspaces", pg, rows, more, a.workspacesJSON())
}

type activityJSON struct {
	AccountSid   string            `json:"account_sid"`
	WorkspaceSid string            `json:"workspace_sid"`
	Sid          string            `json:"sid"`
	FriendlyName string            `json:"friendly_name"`
	Available    bool              `json:"available"`
	DateCreated  string            `json:"date_created"`
	DateUpdated  string            `json:"date_updated"`
	URL          string            `json:"url"`
	Links        map[string]string `json:"links"`
}

func (a *restAPI) activitiesJSON() renderer[taskrouter.Activity, activityJSON] {
	return mapRows(func(c *fiber.Ctx, v taskrouter.Activity) activityJSON {
		return activityJSON{
			AccountSid: a.tr.AccountSid(), WorkspaceSid: v.WorkspaceSid, Sid: v.Sid, FriendlyName: v.FriendlyName,
			Available: v.Available, DateCreated: isoTime(v.DateCreated), DateUpdated: isoTime(v.DateUpdated),
			URL:   a.trURL(c, "/Activities/"+v.Sid),
			Links: map[string]string{"workspace": a.trURL(c, "")},
		}
	})
}

func activityParams(c *fiber.Ctx) (taskrouter.ActivityParams, error) {
	f := form{c}
	available, err := f.boolean("Available")
	return taskrouter.ActivityParams{FriendlyName: f.str("FriendlyName"), Available: available}, err
}

func (a *restAPI) createActivity(c *fiber.Ctx) error {
	p, err := activityParams(c)
	if err != nil {
		return err
	}
	v, err := a.tr.CreateActivity(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, v, a.activitiesJSON())
}

func (a *restAPI) fetchActivity(c *fiber.Ctx) error {
	v, err := a.tr.Activity(c.UserContext(), workspaceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, v, a.activitiesJSON())
}

func (a *restAPI) updateActivity(c *fiber.Ctx) error {
	p, err := activityParams(c)
	if err != nil {
		return err
	}
	v, err := a.tr.UpdateActivity(c.UserContext(), workspaceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, v, a.activitiesJSON())
}

func (a *restAPI) deleteActivity(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteActivity(c.UserContext(), workspaceOf(c), param(c, "Sid")))
}

func (a *restAPI) listActivities(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	f := form{c}
	filter := taskrouter.ActivityFilter{FriendlyName: optional(f, "FriendlyName")}
	if filter.Available, err = f.boolean("Available"); err != nil {
		return err
	}
	rows, more, err := a.tr.Activities(c.UserContext(), workspaceOf(c), filter, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/Activities"), "activities", pg, rows, more, a.activitiesJSON())
}

type taskChannelJSON struct {
	AccountSid              string            `json:"account_sid"`
	WorkspaceSid            string            `json:"workspace_sid"`
	Sid                     string            `json:"sid"`
	FriendlyName            string            `json:"friendly_name"`
	UniqueName              string            `json:"unique_name"`
	ChannelOptimizedRouting bool              `json:"channel_optimized_routing"`
	DateCreated             string            `json:"date_created"`
	DateUpdated             string            `json:"date_updated"`
	URL                     string            `json:"url"`
	Links                   map[string]string `json:"links"`
}

func (a *restAPI) taskChannelsJSON() renderer[taskrouter.TaskChannel, taskChannelJSON] {
	return mapRows(func(c *fiber.Ctx, v taskrouter.TaskChannel) taskChannelJSON {
		return taskChannelJSON{
			AccountSid: a.tr.AccountSid(), WorkspaceSid: v.WorkspaceSid, Sid: v.Sid, FriendlyName: v.FriendlyName,
			UniqueName: v.UniqueName, ChannelOptimizedRouting: v.ChannelOptimizedRouting,
			DateCreated: isoTime(v.DateCreated), DateUpdated: isoTime(v.DateUpdated),
			URL: a.trURL(c, "/TaskChannels/"+v.Sid), Links: map[string]string{"workspace": a.trURL(c, "")},
		}
	})
}

func taskChannelParams(c *fiber.Ctx) (taskrouter.TaskChannelParams, error) {
	f := form{c}
	optimized, err := f.boolean("ChannelOptimizedRouting")
	return taskrouter.TaskChannelParams{FriendlyName: f.str("FriendlyName"), UniqueName: f.str("UniqueName"),
		ChannelOptimizedRouting: optimized}, err
}

func (a *restAPI) createTaskChannel(c *fiber.Ctx) error {
	p, err := taskChannelParams(c)
	if err != nil {
		return err
	}
	v, err := a.tr.CreateTaskChannel(c.UserContext(), workspaceOf(c), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusCreated, v, a.taskChannelsJSON())
}

func (a *restAPI) fetchTaskChannel(c *fiber.Ctx) error {
	v, err := a.tr.TaskChannel(c.UserContext(), workspaceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, v, a.taskChannelsJSON())
}

func (a *restAPI) updateTaskChannel(c *fiber.Ctx) error {
	p, err := taskChannelParams(c)
	if err != nil {
		return err
	}
	v, err := a.tr.UpdateTaskChannel(c.UserContext(), workspaceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, v, a.taskChannelsJSON())
}

func (a *restAPI) deleteTaskChannel(c *fiber.Ctx) error {
	return noContent(c, a.tr.DeleteTaskChannel(c.UserContext(), workspaceOf(c), param(c, "Sid")))
}

func (a *restAPI) listTaskChannels(c *fiber.Ctx) error {
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	rows, more, err := a.tr.TaskChannels(c.UserContext(), workspaceOf(c), page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/TaskChannels"), "channels", pg, rows, more, a.taskChannelsJSON())
}

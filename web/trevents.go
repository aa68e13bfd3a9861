package web

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
)

// eventSource is the source every event reports: they all come from this
// server's TaskRouter (Twilio's say where in Twilio they came from).
const eventSource = "switchboard"

// eventJSON is Twilio's TaskrouterV1Event. We record no actor and no source
// address, so those are null.
type eventJSON struct {
	AccountSid      string         `json:"account_sid"`
	ActorSid        *string        `json:"actor_sid"`
	ActorType       *string        `json:"actor_type"`
	ActorURL        *string        `json:"actor_url"`
	Description     string         `json:"description"`
	EventData       map[string]any `json:"event_data"`
	EventDate       string         `json:"event_date"`
	EventDateMs     int64          `json:"event_date_ms"`
	EventType       string         `json:"event_type"`
	ResourceSid     string         `json:"resource_sid"`
	ResourceType    string         `json:"resource_type"`
	ResourceURL     *string        `json:"resource_url"`
	Sid             string         `json:"sid"`
	Source          string         `json:"source"`
	SourceIPAddress *string        `json:"source_ip_address"`
	URL             string         `json:"url"`
	WorkspaceSid    string         `json:"workspace_sid"`
}

func (a *restAPI) eventJSON(c *fiber.Ctx, ev taskrouter.Event) eventJSON {
	// event_data carries what the event recorded plus the resources it
	// names, under the names Twilio's callbacks use.
	data := map[string]any{}
	_ = json.Unmarshal([]byte(ev.EventData), &data) // written by the engine as a JSON object
	if data == nil {
		data = map[string]any{}
	}
	for k, v := range map[string]string{"task_sid": ev.TaskSid, "worker_sid": ev.WorkerSid, "reservation_sid": ev.ReservationSid,
		"task_queue_sid": ev.TaskQueueSid, "workflow_sid": ev.WorkflowSid, "task_channel_unique_name": ev.TaskChannel} {
		if _, taken := data[k]; !taken && v != "" {
			data[k] = v
		}
	}
	return eventJSON{
		AccountSid: a.tr.AccountSid(), Description: ev.Description, EventData: data, EventDate: isoTime(ev.EventDate),
		EventDateMs: ev.EventDate.UnixMilli(), EventType: ev.EventType, ResourceSid: ev.ResourceSid, ResourceType: ev.ResourceType,
		ResourceURL: a.resourceURL(c, ev), Sid: ev.Sid, Source: eventSource, URL: a.workspaceURL(c, ev.WorkspaceSid, "/Events/"+ev.Sid),
		WorkspaceSid: ev.WorkspaceSid,
	}
}

// resourceURL is the URL of the resource an event is about, when it has one.
func (a *restAPI) resourceURL(c *fiber.Ctx, ev taskrouter.Event) *string {
	path, ok := map[string]string{
		"workspace": "", "activity": "/Activities/" + ev.ResourceSid, "task_channel": "/TaskChannels/" + ev.ResourceSid,
		"worker": "/Workers/" + ev.ResourceSid, "task_queue": "/TaskQueues/" + ev.ResourceSid,
		"workflow": "/Workflows/" + ev.ResourceSid, "task": "/Tasks/" + ev.ResourceSid,
		"reservation": "/Tasks/" + ev.TaskSid + "/Reservations/" + ev.ResourceSid,
	}[ev.ResourceType]
	if !ok || ev.ResourceSid == "" {
		return nil
	}
	u := a.workspaceURL(c, ev.WorkspaceSid, path)
	return &u
}

// windowParams reads Minutes, StartDate and EndDate.
func windowParams(f form) (taskrouter.Window, error) {
	var w taskrouter.Window
	var err error
	if w.Minutes, err = intParam(f, "Minutes"); err != nil {
		return w, err
	}
	if w.StartDate, err = f.date("StartDate"); err != nil {
		return w, err
	}
	w.EndDate, err = f.date("EndDate")
	return w, err
}

func (a *restAPI) listEvents(c *fiber.Ctx) error {
	f := form{c}
	w, err := windowParams(f)
	if err != nil {
		return err
	}
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	rows, more, err := a.tr.Events(c.UserContext(), workspaceOf(c), taskrouter.EventFilter{
		Window: w, EventType: optional(f, "EventType"), TaskSid: optional(f, "TaskSid"), WorkerSid: optional(f, "WorkerSid"),
		ReservationSid: optional(f, "ReservationSid"), TaskQueueSid: optional(f, "TaskQueueSid"),
		WorkflowSid: optional(f, "WorkflowSid"), TaskChannel: optional(f, "TaskChannel"), Sid: optional(f, "Sid"),
	}, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/Events"), "events", pg, rows, more, mapRows(a.eventJSON))
}

func (a *restAPI) fetchEvent(c *fiber.Ctx) error {
	ev, err := a.tr.Event(c.UserContext(), workspaceOf(c), param(c, "Event"))
	if err != nil {
		return err
	}
	return renderOne(c, fiber.StatusOK, ev, mapRows(a.eventJSON))
}

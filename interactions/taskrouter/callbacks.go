package taskrouter

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/db"
)

// CallbackSender delivers a workspace's event callbacks: durably, signed
// with X-Twilio-Signature, retried. The webhooks service implements it.
type CallbackSender interface {
	EnqueueCallback(tx *db.Tx, event, target string, params url.Values) error
}

// SendEventCallbacks makes the engine post every event to its workspace's
// EventCallbackUrl, as its EventsFilter selects. Call before serving.
func (e *Engine) SendEventCallbacks(s CallbackSender) { e.callbacks = s }

// eventCallback enqueues, in the transaction that records ev, the callback
// its workspace asks for, if any.
func (e *Engine) eventCallback(tx *db.Tx, ev Event, data map[string]any) error {
	if e.callbacks == nil {
		return nil
	}
	var ws Workspace
	res := tx.Select("sid", "friendly_name", "event_callback_url", "events_filter").Where("sid = ?", ev.WorkspaceSid).Limit(1).Find(&ws)
	if res.Error != nil || res.RowsAffected == 0 || ws.EventCallbackURL == "" || !selects(ws.EventsFilter, ev.EventType) {
		return res.Error
	}
	return e.callbacks.EnqueueCallback(tx, ev.EventType, ws.EventCallbackURL, e.callbackParams(ws, ev, data))
}

// selects reports whether a workspace's EventsFilter (comma-separated event
// types; empty means every event) lets an event through.
func selects(filter, eventType string) bool {
	if strings.TrimSpace(filter) == "" {
		return true
	}
	for _, t := range strings.Split(filter, ",") {
		if strings.TrimSpace(t) == eventType {
			return true
		}
	}
	return false
}

// callbackParams are the form parameters of TaskRouter's event callback:
// the event and the resources it names, then what the event recorded, its
// snake_case names in the callback's PascalCase (task_priority → TaskPriority).
func (e *Engine) callbackParams(ws Workspace, ev Event, data map[string]any) url.Values {
	v := url.Values{}
	for k, val := range data {
		v.Set(pascal(k), callbackValue(val))
	}
	set := func(name, value string) {
		if value != "" {
			v.Set(name, value)
		}
	}
	set("Sid", ev.Sid)
	set("AccountSid", e.accountSid)
	set("WorkspaceSid", ws.Sid)
	set("WorkspaceName", ws.FriendlyName)
	set("EventType", ev.EventType)
	set("EventDescription", ev.Description)
	set("ResourceType", ev.ResourceType)
	set("ResourceSid", ev.ResourceSid)
	set("Timestamp", strconv.FormatInt(ev.EventDate.Unix(), 10))
	set("TaskSid", ev.TaskSid)
	set("WorkerSid", ev.WorkerSid)
	set("ReservationSid", ev.ReservationSid)
	set("TaskQueueSid", ev.TaskQueueSid)
	set("WorkflowSid", ev.WorkflowSid)
	set("TaskChannelUniqueName", ev.TaskChannel)
	return v
}

// pascal turns a snake_case name into PascalCase.
func pascal(s string) string {
	parts := strings.Split(s, "_")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "")
}

// callbackValue renders a recorded value as a form value: strings as they
// are, anything else as JSON.
func callbackValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

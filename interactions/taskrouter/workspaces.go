package taskrouter

import (
	"context"
	"net/url"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// MaxFriendlyName is the longest FriendlyName TaskRouter accepts for any of
// its resources.
const MaxFriendlyName = 64

// Workspace templates: NONE creates the default activities and task
// channels, FIFO also the "Everyone" queue and a workflow routing to it.
const (
	TemplateNone = "NONE"
	TemplateFIFO = "FIFO"
)

// eventTypes are the event types a workspace's EventsFilter may name.
var eventTypes = map[string]bool{}

func init() {
	for group, names := range map[string][]string{
		"activity":     {"created", "updated", "deleted"},
		"reservation":  {"created", "accepted", "rejected", "timeout", "canceled", "rescinded", "completed", "failed", "wrapup"},
		"task":         {"created", "updated", "canceled", "wrapup", "completed", "deleted", "system-deleted", "transfer-initiated", "transfer-attempt-failed", "transfer-failed", "transfer-canceled", "transfer-completed"},
		"task-channel": {"created", "updated", "deleted"},
		"task-queue":   {"created", "deleted", "entered", "timeout", "moved", "expression.updated"},
		"worker":       {"created", "activity.update", "attributes.update", "capacity.update", "channel.availability.update", "deleted"},
		"workflow":     {"created", "updated", "deleted", "target-matched", "entered", "timeout", "skipped"},
		"workspace":    {"created", "updated", "deleted"},
	} {
		for _, n := range names {
			eventTypes[group+"."+n] = true
		}
	}
}

// conflict reports a request that clashes with the workspace's current
// state (HTTP 409).
func conflict(format string, args ...any) error {
	return errs.E(errs.Conflict, errs.CodeInvalidParam, format, args...)
}

// checkFriendlyName validates a FriendlyName parameter; required says
// whether it must be given (creates) or may be absent (updates).
func checkFriendlyName(name *string, required bool) error {
	switch {
	case name == nil && !required:
		return nil
	case name == nil || strings.TrimSpace(*name) == "":
		return errs.Invalidf("FriendlyName is required")
	case utf8.RuneCountInString(*name) > MaxFriendlyName:
		return errs.Invalidf("FriendlyName must be at most %d characters", MaxFriendlyName)
	}
	return nil
}

// checkChoice validates an enumerated parameter.
func checkChoice(field string, v *string, choices ...string) error {
	if v == nil {
		return nil
	}
	for _, c := range choices {
		if *v == c {
			return nil
		}
	}
	return errs.Invalidf("%s must be one of %s, not %q", field, strings.Join(choices, ", "), *v)
}

// checkCallbackURL validates a URL we will call: absolute http(s), or empty
// for none.
func checkCallbackURL(field string, v *string) error {
	if v == nil || *v == "" {
		return nil
	}
	u, err := url.Parse(*v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errs.Invalidf("%s must be an absolute http or https URL", field)
	}
	return nil
}

// lookup loads the row of a workspace's resource table whose column equals
// value, or reports /kind/value as not found.
func lookup[T any](q *gorm.DB, workspaceSid, column, value, kind string) (T, error) {
	var row T
	res := q.Where("workspace_sid = ? AND "+column+" = ?", workspaceSid, value).Limit(1).Find(&row)
	if res.Error != nil {
		return row, errs.Wrap(res.Error, kind)
	}
	if res.RowsAffected == 0 {
		return row, notFound(kind, value)
	}
	return row, nil
}

// activityOf checks that an ActivitySid-valued parameter names an activity
// of the workspace (an empty value is allowed where allowEmpty says so) and
// returns it, share-locked so that it cannot be deleted before tx commits.
func activityOf(tx *db.Tx, workspaceSid, field string, v *string, allowEmpty bool) (Activity, error) {
	if v == nil || (*v == "" && allowEmpty) {
		return Activity{}, nil
	}
	a, err := lookup[Activity](tx.Locked("SHARE"), workspaceSid, "sid", *v, "Activities")
	if errs.KindOf(err) == errs.NotFound {
		return a, errs.Invalidf("%s %q is not an activity of this workspace", field, *v)
	}
	return a, err
}

func checkWorkspaceParams(p WorkspaceParams, create bool) error {
	if err := checkFriendlyName(p.FriendlyName, create); err != nil {
		return err
	}
	if err := checkCallbackURL("EventCallbackUrl", p.EventCallbackURL); err != nil {
		return err
	}
	if p.EventsFilter != nil && *p.EventsFilter != "" {
		for _, t := range strings.Split(*p.EventsFilter, ",") {
			if !eventTypes[strings.TrimSpace(t)] {
				return errs.Invalidf("EventsFilter names %q, which is not a TaskRouter event type", strings.TrimSpace(t))
			}
		}
	}
	return checkChoice("PrioritizeQueueOrder", p.PrioritizeQueueOrder, "FIFO", "LIFO")
}

// CreateWorkspace creates a workspace with the default activities (Offline
// by default and on timeout) and task channels; template FIFO also adds the
// "Everyone" queue and a workflow routing every task to it. A nil template
// means NONE.
func (e *Engine) CreateWorkspace(ctx context.Context, p WorkspaceParams, template *string) (Workspace, error) {
	if err := checkWorkspaceParams(p, true); err != nil {
		return Workspace{}, err
	}
	if err := checkChoice("Template", template, TemplateNone, TemplateFIFO); err != nil {
		return Workspace{}, err
	}
	if p.DefaultActivitySid != nil || p.TimeoutActivitySid != nil {
		return Workspace{}, errs.Invalidf("DefaultActivitySid and TimeoutActivitySid can be set once the workspace exists")
	}
	var ws Workspace
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if ws, err = e.createWorkspace(tx, p, template != nil && *template == TemplateFIFO); err != nil {
			return err
		}
		return e.record(tx, Event{WorkspaceSid: ws.Sid, EventType: "workspace.created", ResourceType: "workspace",
			ResourceSid: ws.Sid, Description: "Workspace " + ws.FriendlyName + " created"}, nil)
	})
	return ws, errs.Wrap(err, "create workspace")
}

// Workspace fetches a workspace.
func (e *Engine) Workspace(ctx context.Context, workspaceSid string) (Workspace, error) {
	return e.findWorkspace(e.read(ctx), workspaceSid)
}

// Workspaces lists workspaces, oldest first; a non-empty friendlyName keeps
// only the workspaces of that name.
func (e *Engine) Workspaces(ctx context.Context, friendlyName string, p Page) ([]Workspace, bool, error) {
	q := e.read(ctx)
	if friendlyName != "" {
		q = q.Where("friendly_name = ?", friendlyName)
	}
	var rows []Workspace
	if err := q.Order("date_created, sid").Offset(p.Offset).Limit(p.Limit + 1).Find(&rows).Error; err != nil {
		return nil, false, errs.Wrap(err, "workspaces")
	}
	rows, more := trimPage(rows, p)
	return rows, more, nil
}

// UpdateWorkspace changes a workspace's settings. The default and timeout
// activities must be activities of the workspace.
func (e *Engine) UpdateWorkspace(ctx context.Context, workspaceSid string, p WorkspaceParams) (Workspace, error) {
	if err := checkWorkspaceParams(p, false); err != nil {
		return Workspace{}, err
	}
	var ws Workspace
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if ws, err = e.findWorkspace(tx.DB, workspaceSid); err != nil {
			return err
		}
		if _, err := activityOf(tx, ws.Sid, "DefaultActivitySid", p.DefaultActivitySid, false); err != nil {
			return err
		}
		if _, err := activityOf(tx, ws.Sid, "TimeoutActivitySid", p.TimeoutActivitySid, false); err != nil {
			return err
		}
		set(&ws.FriendlyName, p.FriendlyName)
		set(&ws.EventCallbackURL, p.EventCallbackURL)
		set(&ws.EventsFilter, p.EventsFilter)
		set(&ws.MultiTaskEnabled, p.MultiTaskEnabled)
		set(&ws.PrioritizeQueueOrder, p.PrioritizeQueueOrder)
		set(&ws.DefaultActivitySid, p.DefaultActivitySid)
		set(&ws.TimeoutActivitySid, p.TimeoutActivitySid)
		ws.DateUpdated = e.now()
		if err := tx.Select("*").Updates(&ws).Error; err != nil {
			return err
		}
		if err := e.record(tx, Event{WorkspaceSid: ws.Sid, EventType: "workspace.updated", ResourceType: "workspace",
			ResourceSid: ws.Sid, Description: "Workspace " + ws.FriendlyName + " updated"}, nil); err != nil {
			return err
		}
		// Multitasking decides whether a busy worker may take more.
		return wake(tx, ws.Sid)
	})
	return ws, errs.Wrap(err, "update workspace")
}

// DeleteWorkspace removes a workspace and everything in it, its event
// history included.
func (e *Engine) DeleteWorkspace(ctx context.Context, workspaceSid string) error {
	return errs.Wrap(e.write(ctx, func(tx *db.Tx) error {
		if _, err := e.findWorkspace(tx.DB, workspaceSid); err != nil {
			return err
		}
		// The history has no foreign key to the workspace; everything else
		// cascades from it (worker channels and reservations through their
		// workers and tasks).
		if err := tx.Where("workspace_sid = ?", workspaceSid).Delete(&Event{}).Error; err != nil {
			return err
		}
		return tx.Where("sid = ?", workspaceSid).Delete(&Workspace{}).Error
	}), "delete workspace")
}

// Labels maps SIDs to the names the API shows beside them: friendly names
// of queues, workflows, workers and activities, unique names of task
// channels.
type Labels map[string]string

// Labels looks up the names of the given SIDs, one query per kind of
// resource. SIDs of other kinds, and unknown ones, are left out.
func (e *Engine) Labels(ctx context.Context, sids ...string) (Labels, error) {
	byKind := map[string][]string{}
	for _, s := range sids {
		if len(s) == 34 {
			byKind[s[:2]] = append(byKind[s[:2]], s)
		}
	}
	out := Labels{}
	for prefix, src := range map[string]struct{ table, column string }{
		sid.TaskQueue: {"task_queues", "friendly_name"}, sid.Workflow: {"workflows", "friendly_name"},
		sid.Worker: {"workers", "friendly_name"}, sid.Activity: {"activities", "friendly_name"},
		sid.TaskChannel: {"task_channels", "unique_name"},
	} {
		if len(byKind[prefix]) == 0 {
			continue
		}
		var rows []struct{ Sid, Name string }
		if err := e.read(ctx).Table(src.table).Select("sid, "+src.column+" AS name").
			Where("sid IN ?", byKind[prefix]).Scan(&rows).Error; err != nil {
			return nil, errs.Wrap(err, "labels")
		}
		for _, r := range rows {
			out[r.Sid] = r.Name
		}
	}
	return out, nil
}

// set copies *v into *dst when v is given.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Package taskrouter is Switchboard's TaskRouter: workspaces, activities,
// task channels, workers and their capacity, queues, workflows, tasks,
// reservations, the event history and the router that offers tasks to
// workers. Its REST surface matches Twilio's TaskRouter v1.
package taskrouter

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Engine is the TaskRouter of one account.
type Engine struct {
	db          *db.DB
	accountSid  string
	now         func() time.Time
	acceptHooks []AcceptHook
	observers   []EventObserver
	callbacks   CallbackSender

	plansMu sync.Mutex
	plans   map[string]cachedPlan
}

// AcceptHook runs inside the transaction that accepts a reservation, after
// the task is assigned: what it does (adding the agent to the conversation)
// happens together with the acceptance or not at all. An error refuses the
// acceptance.
type AcceptHook func(tx *db.Tx, r Reservation, t Task) error

// OnAccepted registers an accept hook. Register hooks before serving.
func (e *Engine) OnAccepted(h AcceptHook) { e.acceptHooks = append(e.acceptHooks, h) }

// New returns the TaskRouter over d.
func New(d *db.DB, accountSid string) *Engine {
	return &Engine{db: d, accountSid: accountSid, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		plans: map[string]cachedPlan{}}
}

// SetClock replaces the clock (tests of timeouts).
func (e *Engine) SetClock(now func() time.Time) { e.now = now }

// AccountSid is the account the engine serves.
func (e *Engine) AccountSid() string { return e.accountSid }

// Page selects Limit items starting at Offset.
type Page struct {
	Offset int
	Limit  int
}

func trimPage[T any](rows []T, p Page) ([]T, bool) {
	if len(rows) > p.Limit {
		return rows[:p.Limit], true
	}
	return rows, false
}

func (e *Engine) write(ctx context.Context, fn func(tx *db.Tx) error) error {
	return e.db.InTx(ctx, fn)
}

func (e *Engine) read(ctx context.Context) *gorm.DB { return e.db.Gorm.WithContext(ctx) }

func notFound(kind, key string) error {
	return errs.NotFoundf("The requested resource /%s/%s was not found", kind, key)
}

// Default activities, task channels and names of a new workspace, as Flex sets them up.
var (
	defaultActivities = []struct {
		name      string
		available bool
	}{{"Offline", false}, {"Available", true}, {"Unavailable", false}, {"Break", false}}
	defaultChannels = []struct{ unique, friendly string }{
		{"default", "Default"}, {"chat", "Programmable Chat"}, {"sms", "SMS"}, {"whatsapp", "WhatsApp"}, {"voice", "Voice"},
	}
)

const (
	// DefaultWorkspaceName names the workspace created on first start.
	DefaultWorkspaceName = "Flex Task Assignment"
	defaultQueueName     = "Everyone"
	defaultWorkflowName  = "Assign to Anyone"
)

// Bootstrap makes sure the installation has a workspace, created as Flex
// creates its own: four activities (Offline by default and on timeout), the
// usual task channels, an "Everyone" queue and a workflow that routes every
// task to it. It is idempotent.
func Bootstrap(ctx context.Context, d *db.DB, accountSid string) error {
	e := New(d, accountSid)
	return e.write(ctx, func(tx *db.Tx) error {
		var n int64
		if err := tx.Model(&Workspace{}).Count(&n).Error; err != nil || n > 0 {
			return err
		}
		_, err := e.createWorkspace(tx, WorkspaceParams{FriendlyName: ptr(DefaultWorkspaceName)}, true)
		return err
	})
}

// WorkspaceParams are a workspace's settable fields; nil leaves one as is.
type WorkspaceParams struct {
	FriendlyName         *string
	EventCallbackURL     *string
	EventsFilter         *string
	MultiTaskEnabled     *bool
	PrioritizeQueueOrder *string
	DefaultActivitySid   *string
	TimeoutActivitySid   *string
}

// createWorkspace inserts a workspace with its default activities and task
// channels and, with flexDefaults, the "Everyone" queue and its workflow.
func (e *Engine) createWorkspace(tx *db.Tx, p WorkspaceParams, flexDefaults bool) (Workspace, error) {
	now := e.now()
	ws := Workspace{Sid: sid.New(sid.Workspace), MultiTaskEnabled: true, PrioritizeQueueOrder: "FIFO", DateCreated: now, DateUpdated: now}
	if p.FriendlyName != nil {
		ws.FriendlyName = *p.FriendlyName
	}
	if p.EventCallbackURL != nil {
		ws.EventCallbackURL = *p.EventCallbackURL
	}
	if p.EventsFilter != nil {
		ws.EventsFilter = *p.EventsFilter
	}
	if p.MultiTaskEnabled != nil {
		ws.MultiTaskEnabled = *p.MultiTaskEnabled
	}
	if p.PrioritizeQueueOrder != nil {
		ws.PrioritizeQueueOrder = *p.PrioritizeQueueOrder
	}
	var activities []Activity
	for _, a := range defaultActivities {
		activities = append(activities, Activity{Sid: sid.New(sid.Activity), WorkspaceSid: ws.Sid, FriendlyName: a.name,
			Available: a.available, DateCreated: now, DateUpdated: now})
	}
	ws.DefaultActivitySid, ws.TimeoutActivitySid = activities[0].Sid, activities[0].Sid
	if err := tx.Create(&ws).Error; err != nil {
		return ws, err
	}
	if err := tx.Create(&activities).Error; err != nil {
		return ws, err
	}
	var channels []TaskChannel
	for _, c := range defaultChannels {
		channels = append(channels, TaskChannel{Sid: sid.New(sid.TaskChannel), WorkspaceSid: ws.Sid, UniqueName: c.unique,
			FriendlyName: c.friendly, DefaultCapacity: 1, ServiceLevelSeconds: DefaultServiceLevelSeconds,
			ShortAbandonSeconds: DefaultShortAbandonSeconds, DateCreated: now, DateUpdated: now})
	}
	if err := tx.Create(&channels).Error; err != nil {
		return ws, err
	}
	if !flexDefaults {
		return ws, nil
	}
	q := TaskQueue{Sid: sid.New(sid.TaskQueue), WorkspaceSid: ws.Sid, FriendlyName: defaultQueueName, TargetWorkers: "1==1",
		MaxReservedWorkers: 1, TaskOrder: "FIFO", DateCreated: now, DateUpdated: now}
	if err := tx.Create(&q).Error; err != nil {
		return ws, err
	}
	cfg, _ := json.Marshal(map[string]any{"task_routing": map[string]any{
		"filters": []any{}, "default_filter": map[string]any{"queue": q.Sid}}})
	wf := Workflow{Sid: sid.New(sid.Workflow), WorkspaceSid: ws.Sid, FriendlyName: defaultWorkflowName,
		Configuration: string(cfg), TaskReservationTimeout: 120, DateCreated: now, DateUpdated: now}
	return ws, tx.Create(&wf).Error
}

func ptr[T any](v T) *T { return &v }

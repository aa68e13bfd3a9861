package taskrouter

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// fixture is a workspace over a real database with a controllable clock,
// a router and a job runner, for routing tests.
type fixture struct {
	t        testing.TB
	ctx      context.Context
	d        *db.DB
	e        *Engine
	r        *Router
	jobs     *jobs.Runner
	ws       Workspace
	now      time.Time
	activity map[string]string // name → SID
	channel  map[string]string // unique name → SID
}

func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ctx: ctx, d: d, e: New(d, acct.Sid), now: time.Now().UTC().Truncate(time.Second),
		activity: map[string]string{}, channel: map[string]string{}}
	clock := func() time.Time { return f.now }
	f.e.SetClock(clock)
	log := slog.New(slog.DiscardHandler)
	f.r = NewRouter(f.e, log)
	f.jobs = jobs.NewRunner(d, log)
	f.jobs.Now = clock
	f.e.RegisterJobs(f.jobs)
	if err := d.Gorm.First(&f.ws).Error; err != nil {
		t.Fatal(err)
	}
	var acts []Activity
	d.Gorm.Where("workspace_sid = ?", f.ws.Sid).Find(&acts)
	for _, a := range acts {
		f.activity[a.FriendlyName] = a.Sid
	}
	var tcs []TaskChannel
	d.Gorm.Where("workspace_sid = ?", f.ws.Sid).Find(&tcs)
	for _, c := range tcs {
		f.channel[c.UniqueName] = c.Sid
	}
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func jsonOf(v any) string {
	if m, ok := v.(map[string]any); ok && m == nil {
		return "{}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// worker inserts a worker in the Available (or Offline) activity with the
// given capacity per channel (chat 1 when none is given).
func (f *fixture) worker(name string, attrs map[string]any, available bool, capacity map[string]int) Worker {
	f.t.Helper()
	act := f.activity["Offline"]
	if available {
		act = f.activity["Available"]
	}
	if capacity == nil {
		capacity = map[string]int{"chat": 1}
	}
	w := Worker{Sid: sid.New(sid.Worker), WorkspaceSid: f.ws.Sid, FriendlyName: name, Attributes: jsonOf(attrs),
		ActivitySid: act, Available: available, DateStatusChanged: f.now, DateCreated: f.now, DateUpdated: f.now}
	f.must(f.d.Gorm.Create(&w).Error)
	for ch, chSid := range f.channel {
		wc := WorkerChannel{Sid: sid.New(sid.WorkerChannel), WorkspaceSid: f.ws.Sid, WorkerSid: w.Sid, TaskChannelSid: chSid,
			Capacity: capacity[ch], Available: true, DateCreated: f.now, DateUpdated: f.now}
		f.must(f.d.Gorm.Create(&wc).Error)
	}
	return w
}

func (f *fixture) queue(name, target string, maxReserved int, order string) TaskQueue {
	f.t.Helper()
	q := TaskQueue{Sid: sid.New(sid.TaskQueue), WorkspaceSid: f.ws.Sid, FriendlyName: name, TargetWorkers: target,
		MaxReservedWorkers: maxReserved, TaskOrder: order, DateCreated: f.now, DateUpdated: f.now}
	f.must(f.d.Gorm.Create(&q).Error)
	return q
}

// workflow replaces the workspace's workflows with one of the given configuration.
func (f *fixture) workflow(config any, reservationTimeout int) Workflow {
	f.t.Helper()
	f.must(f.d.Gorm.Where("workspace_sid = ?", f.ws.Sid).Delete(&Workflow{}).Error)
	cfg := jsonOf(config)
	if _, err := compileWorkflow(cfg, func(string) bool { return true }); err != nil {
		f.t.Fatalf("workflow config: %v", err)
	}
	w := Workflow{Sid: sid.New(sid.Workflow), WorkspaceSid: f.ws.Sid, FriendlyName: "wf", Configuration: cfg,
		TaskReservationTimeout: reservationTimeout, DateCreated: f.now, DateUpdated: f.now}
	f.must(f.d.Gorm.Create(&w).Error)
	return w
}

func (f *fixture) task(attrs map[string]any, priority int64) Task {
	f.t.Helper()
	ch := "chat"
	a := jsonOf(attrs)
	t, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{Attributes: &a, Priority: &priority, TaskChannel: &ch})
	f.must(err)
	return t
}

// route runs one routing pass and returns how many offers it made.
func (f *fixture) route() int {
	f.t.Helper()
	n, err := f.r.RouteWorkspace(f.ctx, f.ws.Sid)
	f.must(err)
	return n
}

// advance moves the clock and runs the jobs that fall due.
func (f *fixture) advance(d time.Duration) {
	f.t.Helper()
	f.now = f.now.Add(d)
	_, err := f.jobs.RunDue(f.ctx)
	f.must(err)
}

// offers returns the pending reservations of a task, by worker name.
func (f *fixture) offers(taskSid string) map[string]Reservation {
	f.t.Helper()
	var rs []Reservation
	f.must(f.d.Gorm.Where("task_sid = ? AND reservation_status = ?", taskSid, ReservationPending).Find(&rs).Error)
	out := map[string]Reservation{}
	for _, r := range rs {
		var w Worker
		f.must(f.d.Gorm.Where("sid = ?", r.WorkerSid).First(&w).Error)
		out[w.FriendlyName] = r
	}
	return out
}

func (f *fixture) reload(t Task) Task {
	f.t.Helper()
	got, err := f.e.Task(f.ctx, f.ws.Sid, t.Sid)
	f.must(err)
	return got
}

package taskrouter

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// wantError asserts err is an error of the kind whose message contains want.
func wantError(t *testing.T, err error, kind errs.Kind, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want kind %v naming %q", kind, want)
	}
	if e := errs.As(err); e.Kind != kind || !strings.Contains(e.Message, want) {
		t.Fatalf("error = %v (kind %v, code %d), want kind %v naming %q", err, e.Kind, errs.CodeOf(err), kind, want)
	}
}

// trTables are the TaskRouter tables whose rows a rejected request must leave alone.
var trTables = []string{"workspaces", "activities", "task_channels", "workers", "worker_channels", "task_queues",
	"workflows", "tasks", "reservations", "taskrouter_events"}

// rowCounts counts the rows of every TaskRouter table, optionally only those
// of one workspace.
func rowCounts(t *testing.T, d *db.DB, workspaceSid string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range trTables {
		q := d.Gorm.Table(table)
		if workspaceSid != "" {
			column := "workspace_sid"
			if table == "workspaces" {
				column = "sid"
			}
			q = q.Where(column+" = ?", workspaceSid)
		}
		var n int64
		if err := q.Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// wantUnchanged asserts that no TaskRouter table gained or lost rows.
func wantUnchanged(t *testing.T, d *db.DB, before map[string]int64) {
	t.Helper()
	for table, n := range rowCounts(t, d, "") {
		if n != before[table] {
			t.Fatalf("%s has %d rows, had %d: a rejected request wrote", table, n, before[table])
		}
	}
}

// events returns the types of the workspace's recorded events about a resource, oldest first.
func events(t *testing.T, f *fixture, workspaceSid, resourceSid string) []string {
	t.Helper()
	var types []string
	if err := f.d.Gorm.Model(&Event{}).Where("workspace_sid = ? AND resource_sid = ?", workspaceSid, resourceSid).
		Order("event_date, sid").Pluck("event_type", &types).Error; err != nil {
		t.Fatal(err)
	}
	return types
}

func hasEvent(t *testing.T, f *fixture, workspaceSid, resourceSid, eventType string) {
	t.Helper()
	for _, ev := range events(t, f, workspaceSid, resourceSid) {
		if ev == eventType {
			return
		}
	}
	t.Fatalf("no %s event for %s; have %v", eventType, resourceSid, events(t, f, workspaceSid, resourceSid))
}

// tick moves the fixture's clock so that the next rows sort after the last.
func (f *fixture) tick() { f.now = f.now.Add(time.Second) }

func TestCreateWorkspaceValidatesEverythingAndWritesNothingOnError(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		before := rowCounts(t, d, "")
		for _, tc := range []struct {
			name     string
			p        WorkspaceParams
			template *string
			want     string
		}{
			{"no name", WorkspaceParams{}, nil, "FriendlyName"},
			{"blank name", WorkspaceParams{FriendlyName: ptr("  ")}, nil, "FriendlyName"},
			{"name over 64", WorkspaceParams{FriendlyName: ptr(strings.Repeat("n", 65))}, nil, "FriendlyName"},
			{"relative callback", WorkspaceParams{FriendlyName: ptr("w"), EventCallbackURL: ptr("/events")}, nil, "EventCallbackUrl"},
			{"ftp callback", WorkspaceParams{FriendlyName: ptr("w"), EventCallbackURL: ptr("ftp://example.com/x")}, nil, "EventCallbackUrl"},
			{"unknown event", WorkspaceParams{FriendlyName: ptr("w"), EventsFilter: ptr("task.created, task.exploded")}, nil, "task.exploded"},
			{"queue order", WorkspaceParams{FriendlyName: ptr("w"), PrioritizeQueueOrder: ptr("RANDOM")}, nil, "PrioritizeQueueOrder"},
			{"template", WorkspaceParams{FriendlyName: ptr("w")}, ptr("LIFO"), "Template"},
			{"default activity on create", WorkspaceParams{FriendlyName: ptr("w"), DefaultActivitySid: ptr(f.activity["Offline"])}, nil, "DefaultActivitySid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.CreateWorkspace(f.ctx, tc.p, tc.template)
				wantError(t, err, errs.Invalid, tc.want)
				if errs.CodeOf(err) != errs.CodeInvalidParam {
					t.Fatalf("code = %d, want 20001", errs.CodeOf(err))
				}
			})
		}
		wantUnchanged(t, d, before)
	})
}

func TestWorkspaceTemplatesAndSettings(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.tick() // after the bootstrapped workspace
		plain, err := f.e.CreateWorkspace(f.ctx, WorkspaceParams{FriendlyName: ptr("Support"), EventCallbackURL: ptr("https://example.com/ev"),
			EventsFilter: ptr("task.created, worker.activity.update"), MultiTaskEnabled: ptr(false), PrioritizeQueueOrder: ptr("LIFO")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if plain.FriendlyName != "Support" || plain.EventCallbackURL != "https://example.com/ev" || plain.MultiTaskEnabled ||
			plain.PrioritizeQueueOrder != "LIFO" || plain.EventsFilter != "task.created, worker.activity.update" {
			t.Fatalf("created = %+v", plain)
		}
		counts := rowCounts(t, d, plain.Sid)
		if counts["activities"] != 4 || counts["task_channels"] != 5 || counts["task_queues"] != 0 || counts["workflows"] != 0 {
			t.Fatalf("a NONE workspace has %v", counts)
		}
		offline, err := f.e.Activity(f.ctx, plain.Sid, plain.DefaultActivitySid)
		if err != nil || offline.FriendlyName != "Offline" || plain.TimeoutActivitySid != offline.Sid {
			t.Fatalf("default activity = %+v, %v; timeout = %s", offline, err, plain.TimeoutActivitySid)
		}
		hasEvent(t, f, plain.Sid, plain.Sid, "workspace.created")

		f.tick()
		fifo, err := f.e.CreateWorkspace(f.ctx, WorkspaceParams{FriendlyName: ptr("Sales")}, ptr(TemplateFIFO))
		if err != nil {
			t.Fatal(err)
		}
		if !fifo.MultiTaskEnabled || fifo.PrioritizeQueueOrder != "FIFO" {
			t.Fatalf("defaults = %+v", fifo)
		}
		qs, _, err := f.e.TaskQueues(f.ctx, fifo.Sid, TaskQueueFilter{}, Page{Limit: 10})
		if err != nil || len(qs) != 1 || qs[0].FriendlyName != "Everyone" {
			t.Fatalf("FIFO queues = %+v, %v", qs, err)
		}
		wfs, _, err := f.e.Workflows(f.ctx, fifo.Sid, "", Page{Limit: 10})
		if err != nil || len(wfs) != 1 || configQueues(wfs[0].Configuration)[0] != qs[0].Sid {
			t.Fatalf("FIFO workflows = %+v, %v", wfs, err)
		}

		page, more, err := f.e.Workspaces(f.ctx, "", Page{Limit: 2})
		if err != nil || len(page) != 2 || !more || page[0].Sid != f.ws.Sid || page[1].Sid != plain.Sid {
			t.Fatalf("first page = %v more=%v, %v", page, more, err)
		}
		page, more, err = f.e.Workspaces(f.ctx, "", Page{Offset: 2, Limit: 2})
		if err != nil || len(page) != 1 || more || page[0].Sid != fifo.Sid {
			t.Fatalf("second page = %v more=%v, %v", page, more, err)
		}
		page, _, err = f.e.Workspaces(f.ctx, "Sales", Page{Limit: 10})
		if err != nil || len(page) != 1 || page[0].Sid != fifo.Sid {
			t.Fatalf("by name = %v, %v", page, err)
		}

		// Update: activities must belong to the workspace.
		var available Activity
		f.must(d.Gorm.Where("workspace_sid = ? AND friendly_name = ?", plain.Sid, "Available").First(&available).Error)
		before := rowCounts(t, d, "")
		_, err = f.e.UpdateWorkspace(f.ctx, plain.Sid, WorkspaceParams{DefaultActivitySid: ptr(f.activity["Available"])})
		wantError(t, err, errs.Invalid, "DefaultActivitySid")
		_, err = f.e.UpdateWorkspace(f.ctx, plain.Sid, WorkspaceParams{TimeoutActivitySid: ptr("WA00000000000000000000000000000000")})
		wantError(t, err, errs.Invalid, "TimeoutActivitySid")
		_, err = f.e.UpdateWorkspace(f.ctx, plain.Sid, WorkspaceParams{FriendlyName: ptr("")})
		wantError(t, err, errs.Invalid, "FriendlyName")
		_, err = f.e.UpdateWorkspace(f.ctx, "WS00000000000000000000000000000000", WorkspaceParams{FriendlyName: ptr("x")})
		wantError(t, err, errs.NotFound, "WS00000000000000000000000000000000")
		wantUnchanged(t, d, before)

		f.tick()
		up, err := f.e.UpdateWorkspace(f.ctx, plain.Sid, WorkspaceParams{FriendlyName: ptr("Support 2"), DefaultActivitySid: &available.Sid,
			MultiTaskEnabled: ptr(true), EventCallbackURL: ptr("")})
		if err != nil || up.FriendlyName != "Support 2" || up.DefaultActivitySid != available.Sid || !up.MultiTaskEnabled ||
			up.EventCallbackURL != "" || up.TimeoutActivitySid != offline.Sid || up.PrioritizeQueueOrder != "LIFO" || !up.DateUpdated.After(up.DateCreated) {
			t.Fatalf("update = %+v, %v", up, err)
		}
		got, _ := f.e.Workspace(f.ctx, plain.Sid)
		if got.FriendlyName != up.FriendlyName || got.DefaultActivitySid != up.DefaultActivitySid || !got.DateUpdated.Equal(up.DateUpdated) {
			t.Fatalf("fetched %+v, updated %+v", got, up)
		}
		hasEvent(t, f, plain.Sid, plain.Sid, "workspace.updated")
	})
}

func TestDeletingAWorkspaceRemovesEverythingInIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ws, err := f.e.CreateWorkspace(f.ctx, WorkspaceParams{FriendlyName: ptr("Doomed")}, ptr(TemplateFIFO))
		f.must(err)
		var available Activity
		f.must(d.Gorm.Where("workspace_sid = ? AND friendly_name = ?", ws.Sid, "Available").First(&available).Error)
		w, err := f.e.CreateWorker(f.ctx, ws.Sid, WorkerParams{FriendlyName: ptr("alice"), ActivitySid: &available.Sid})
		f.must(err)
		_, err = f.e.CreateTask(f.ctx, ws.Sid, TaskParams{})
		f.must(err)
		if n, err := f.r.RouteWorkspace(f.ctx, ws.Sid); err != nil || n != 1 {
			t.Fatalf("routing offered %d, %v", n, err)
		}
		kept := rowCounts(t, d, f.ws.Sid)
		if c := rowCounts(t, d, ws.Sid); c["reservations"] != 1 || c["worker_channels"] != 5 || c["taskrouter_events"] == 0 {
			t.Fatalf("before delete: %v", c)
		}
		f.must(f.e.DeleteWorkspace(f.ctx, ws.Sid))
		for table, n := range rowCounts(t, d, ws.Sid) {
			if n != 0 {
				t.Errorf("%s keeps %d rows of the deleted workspace", table, n)
			}
		}
		if c := rowCounts(t, d, f.ws.Sid); len(c) != len(kept) || c["activities"] != kept["activities"] || c["taskrouter_events"] != kept["taskrouter_events"] {
			t.Fatalf("other workspace changed: %v, was %v", c, kept)
		}
		_, err = f.e.Worker(f.ctx, ws.Sid, w.Sid)
		wantError(t, err, errs.NotFound, w.Sid)
		_, err = f.e.Workspace(f.ctx, ws.Sid)
		wantError(t, err, errs.NotFound, ws.Sid)
		wantError(t, f.e.DeleteWorkspace(f.ctx, ws.Sid), errs.NotFound, ws.Sid)
	})
}

func TestLabelsNameSidsOfEveryKind(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("alice")})
		f.must(err)
		q, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Billing")})
		f.must(err)
		var wf Workflow
		f.must(d.Gorm.Where("workspace_sid = ?", f.ws.Sid).First(&wf).Error)
		unknown := "WQ00000000000000000000000000000000"
		got, err := f.e.Labels(f.ctx, w.Sid, q.Sid, wf.Sid, f.activity["Break"], f.channel["sms"], unknown, "", "nonsense")
		if err != nil {
			t.Fatal(err)
		}
		want := Labels{w.Sid: "alice", q.Sid: "Billing", wf.Sid: wf.FriendlyName, f.activity["Break"]: "Break", f.channel["sms"]: "sms"}
		if len(got) != len(want) {
			t.Fatalf("labels = %v, want %v", got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Fatalf("labels = %v, want %v", got, want)
			}
		}
		if none, err := f.e.Labels(f.ctx); err != nil || len(none) != 0 {
			t.Fatalf("labels of nothing = %v, %v", none, err)
		}
	})
}

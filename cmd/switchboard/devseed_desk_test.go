package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// deskSeedStart is what one dev start's desk seed works with.
type deskSeedStart struct {
	tr    *taskrouter.Engine
	desk  *desk.Service
	staff *auth.Directory
	ch    *channels.Service
	dev   devStart
	db    *db.DB
	// jobs runs the durable jobs of this start's services (inbound
	// routing, deliveries to the simulated phones).
	jobs *jobs.Runner
}

// startDeskSeed boots what a dev start does before seeding the desk: the
// channel layer with its simulator (startDev) and TaskRouter's bootstrap.
func startDeskSeed(t *testing.T, d *db.DB) deskSeedStart {
	t.Helper()
	ctx := context.Background()
	dev := startDev(t, d)
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	tr := taskrouter.New(d, acct.Sid)
	ix := interactions.New(d, dev.conv, tr)
	runner := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
	ix.RegisterJobs(runner)
	dev.ch.RegisterJobs(runner)
	dk := desk.New(d, dev.conv, tr, ix)
	return deskSeedStart{tr: tr, desk: dk, staff: auth.NewDirectory(d, desk.NewProvisioner(dev.conv, tr, "")), ch: dev.ch, dev: dev, jobs: runner}
}

func (s deskSeedStart) seed(t *testing.T) {
	t.Helper()
	if err := seedDevDesk(context.Background(), s.tr, s.desk, s.staff, s.ch); err != nil {
		t.Fatal(err)
	}
}

func (s deskSeedStart) queue(t *testing.T, ws, name string) taskrouter.TaskQueue {
	t.Helper()
	qs, _, err := s.tr.TaskQueues(context.Background(), ws, taskrouter.TaskQueueFilter{FriendlyName: name}, taskrouter.Page{Limit: 10})
	if err != nil || len(qs) != 1 {
		t.Fatalf("queue %s: %d found, err %v; want exactly one", name, len(qs), err)
	}
	return qs[0]
}

func TestTheDeskDemoIsSeededOnceAndKeepsADevelopersChanges(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		first := startDeskSeed(t, d)
		first.seed(t)
		ws, err := first.tr.DefaultWorkspace(ctx)
		if err != nil {
			t.Fatal(err)
		}
		local, err := first.staff.Local(ctx)
		if err != nil {
			t.Fatal(err)
		}
		byEmail := map[string]auth.Staff{}
		for _, s := range local {
			byEmail[s.Email] = s
		}
		anna, ben, sue, ada := byEmail["anna@example.com"], byEmail["ben@example.com"], byEmail["sue@example.com"], byEmail["ada@example.com"]
		if len(local) != 4 || !anna.Has(auth.RoleAgent) || anna.Has(auth.RoleSupervisor) || !ben.Has(auth.RoleAgent) ||
			!sue.Has(auth.RoleSupervisor) || !ada.Has(auth.RoleAdmin) {
			t.Fatalf("demo staff = %+v", local)
		}
		if anna.WorkspaceSid != ws.Sid || anna.WorkerSid == "" {
			t.Fatalf("Anna is placed in %s/%s, want a worker in the default workspace %s", anna.WorkspaceSid, anna.WorkerSid, ws.Sid)
		}
		// A developer's changes: Anna's chat capacity, a disposition switched off.
		one, off := 1, false
		if _, err := first.tr.UpdateWorkerChannel(ctx, ws.Sid, anna.WorkerSid, "chat", taskrouter.WorkerChannelParams{Capacity: &one}); err != nil {
			t.Fatal(err)
		}
		ds, _, err := first.desk.Dispositions(ctx, desk.DispositionFilter{WorkspaceSid: ws.Sid}, 0, 50)
		if err != nil || len(ds) != 4 {
			t.Fatalf("dispositions = %+v, %v; want 4", ds, err)
		}
		if _, err := first.desk.UpdateDisposition(ctx, ds[0].Sid, desk.DispositionParams{Active: &off}); err != nil {
			t.Fatal(err)
		}

		// A restart: new services over the same database seed again.
		again := startDeskSeed(t, d)
		again.seed(t)

		local, _ = again.staff.Local(ctx)
		if len(local) != 4 {
			t.Fatalf("%d demo staff after a restart, want 4", len(local))
		}
		sales, support := again.queue(t, ws.Sid, "Sales"), again.queue(t, ws.Sid, "Support")
		if sales.TargetWorkers != `routing.skills HAS 'sales'` || support.TargetWorkers != `routing.skills HAS 'support'` {
			t.Fatalf("targets: Sales %q, Support %q", sales.TargetWorkers, support.TargetWorkers)
		}
		workflows, _, _ := again.tr.Workflows(ctx, ws.Sid, "", taskrouter.Page{Limit: 10})
		if len(workflows) != 1 || workflows[0].FriendlyName != devWorkflowName {
			t.Fatalf("workflows = %+v, want the demo's alone (tasks route only through a single workflow)", workflows)
		}
		wc, err := again.tr.WorkerChannel(ctx, ws.Sid, anna.WorkerSid, "chat")
		if err != nil || wc.Capacity != 1 {
			t.Fatalf("Anna's chat capacity after a restart = %d (%v), want the developer's 1", wc.Capacity, err)
		}
		if sms, _ := again.tr.WorkerChannel(ctx, ws.Sid, ben.WorkerSid, "sms"); sms.Capacity != 2 {
			t.Fatalf("Ben's SMS capacity = %d, want the demo's 2", sms.Capacity)
		}
		w, _ := again.tr.Worker(ctx, ws.Sid, ben.WorkerSid)
		var attrs struct {
			Identity string `json:"identity"`
			Routing  struct {
				Skills []string `json:"skills"`
			} `json:"routing"`
		}
		if err := json.Unmarshal([]byte(w.Attributes), &attrs); err != nil || attrs.Identity != ben.Identity ||
			len(attrs.Routing.Skills) != 2 {
			t.Fatalf("Ben's attributes = %s", w.Attributes)
		}
		ds, _, _ = again.desk.Dispositions(ctx, desk.DispositionFilter{WorkspaceSid: ws.Sid}, 0, 50)
		if len(ds) != 4 || ds[0].Active {
			t.Fatalf("dispositions after a restart = %+v, want the same 4 with the first still off", ds)
		}
		canned, _, _ := again.desk.CannedResponses(ctx, desk.CannedFilter{WorkspaceSid: ws.Sid}, 0, 50)
		global := 0
		for _, c := range canned {
			if c.WorkspaceSid == "" {
				global++
			}
		}
		if len(canned) != 5 || global != 2 {
			t.Fatalf("canned responses = %d (%d global), want 5 (2 global)", len(canned), global)
		}
		providers, _ := again.ch.Providers(ctx)
		var templates map[string]channels.Template
		for _, p := range providers {
			if p.FriendlyName == devSimulatorName {
				_ = json.Unmarshal([]byte(p.Templates), &templates)
			}
		}
		if len(templates) != 2 {
			t.Fatalf("simulator templates = %v, want the demo's 2", templates)
		}
	})
}

func TestTheDemoRoutesSMSToSalesAndEverythingElseToSupport(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := startDeskSeed(t, d)
		s.seed(t)
		ws, _ := s.tr.DefaultWorkspace(ctx)
		sales, support := s.queue(t, ws.Sid, "Sales"), s.queue(t, ws.Sid, "Support")
		for _, tc := range []struct{ channelType, want string }{
			{"sms", sales.Sid}, {"web", support.Sid}, {"whatsapp", support.Sid},
		} {
			attrs := `{"channelType":"` + tc.channelType + `"}`
			task, err := s.tr.CreateTask(ctx, ws.Sid, taskrouter.TaskParams{Attributes: &attrs})
			if err != nil {
				t.Fatal(err)
			}
			if task.TaskQueueSid != tc.want {
				t.Errorf("a %s task entered queue %s, want %s", tc.channelType, task.TaskQueueSid, tc.want)
			}
		}
		// The queues reach the agents by skill: Ben in both, Anna in Support only.
		local, _ := s.staff.Local(ctx)
		names := map[string]string{}
		for _, st := range local {
			names[st.WorkerSid] = st.Name
		}
		for _, tc := range []struct {
			queue taskrouter.TaskQueue
			want  map[string]bool
		}{
			{sales, map[string]bool{"Ben": true}},
			{support, map[string]bool{"Anna": true, "Ben": true, "Sue": true}},
		} {
			workers, _, err := s.tr.Workers(ctx, ws.Sid, taskrouter.WorkerFilter{TaskQueueSid: tc.queue.Sid}, taskrouter.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{}
			for _, w := range workers {
				got[names[w.Sid]] = true
			}
			if len(got) != len(tc.want) {
				t.Errorf("queue %s reaches %v, want %v", tc.queue.FriendlyName, got, tc.want)
			}
			for n := range tc.want {
				if !got[n] {
					t.Errorf("queue %s does not reach %s (reaches %v)", tc.queue.FriendlyName, n, got)
				}
			}
		}
	})
}

// runJobs runs the jobs due until none are left.
func (s deskSeedStart) runJobs(t *testing.T) {
	t.Helper()
	for range 20 {
		n, err := s.jobs.RunDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

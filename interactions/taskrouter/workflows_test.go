package taskrouter

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestWorkflowsCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		billing, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Billing")})
		f.must(err)
		other, err := f.e.CreateWorkspace(f.ctx, WorkspaceParams{FriendlyName: ptr("Other")}, ptr(TemplateFIFO))
		f.must(err)
		var foreign TaskQueue
		f.must(d.Gorm.Where("workspace_sid = ?", other.Sid).First(&foreign).Error)
		cfg := func(expression, queue string) *string {
			return ptr(jsonOf(map[string]any{"task_routing": map[string]any{
				"filters":        []any{map[string]any{"filter_friendly_name": "Billing", "expression": expression, "targets": []any{map[string]any{"queue": queue}}}},
				"default_filter": map[string]any{"queue": billing.Sid}}}))
		}
		good := cfg("type == 'billing'", billing.Sid)

		before := rowCounts(t, d, "")
		for _, tc := range []struct {
			name string
			p    WorkflowParams
			want string
		}{
			{"no name", WorkflowParams{Configuration: good}, "FriendlyName"},
			{"no configuration", WorkflowParams{FriendlyName: ptr("wf")}, "Configuration is required"},
			{"not JSON", WorkflowParams{FriendlyName: ptr("wf"), Configuration: ptr("{")}, "Configuration"},
			{"bad filter expression", WorkflowParams{FriendlyName: ptr("wf"), Configuration: cfg("type == ", billing.Sid)},
				"task_routing.filters[0].expression: invalid expression at position 9"},
			{"unknown queue", WorkflowParams{FriendlyName: ptr("wf"), Configuration: cfg("1==1", "WQ00000000000000000000000000000000")}, "filters[0].targets[0].queue"},
			{"queue of another workspace", WorkflowParams{FriendlyName: ptr("wf"), Configuration: cfg("1==1", foreign.Sid)}, foreign.Sid},
			{"relative callback", WorkflowParams{FriendlyName: ptr("wf"), Configuration: good, AssignmentCallbackURL: ptr("assign")}, "AssignmentCallbackUrl"},
			{"fallback callback", WorkflowParams{FriendlyName: ptr("wf"), Configuration: good, FallbackAssignmentCallbackURL: ptr("mailto:x@y")}, "FallbackAssignmentCallbackUrl"},
			{"zero timeout", WorkflowParams{FriendlyName: ptr("wf"), Configuration: good, TaskReservationTimeout: ptr(0)}, "TaskReservationTimeout"},
			{"long timeout", WorkflowParams{FriendlyName: ptr("wf"), Configuration: good, TaskReservationTimeout: ptr(86401)}, "TaskReservationTimeout"},
			{"re-evaluate on create", WorkflowParams{FriendlyName: ptr("wf"), Configuration: good, ReEvaluateTasks: ptr(true)}, "ReEvaluateTasks"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.CreateWorkflow(f.ctx, f.ws.Sid, tc.p)
				wantError(t, err, errs.Invalid, tc.want)
			})
		}
		wantUnchanged(t, d, before)

		f.tick()
		wf, err := f.e.CreateWorkflow(f.ctx, f.ws.Sid, WorkflowParams{FriendlyName: ptr("Billing first"), Configuration: good,
			AssignmentCallbackURL: ptr("https://example.com/assign")})
		f.must(err)
		if wf.TaskReservationTimeout != DefaultTaskReservationTimeout || wf.Configuration != *good || wf.AssignmentCallbackURL != "https://example.com/assign" {
			t.Fatalf("created = %+v", wf)
		}
		hasEvent(t, f, f.ws.Sid, wf.Sid, "workflow.created")
		got, err := f.e.Workflow(f.ctx, f.ws.Sid, wf.Sid)
		if err != nil || got.FriendlyName != "Billing first" {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		_, err = f.e.Workflow(f.ctx, other.Sid, wf.Sid)
		wantError(t, err, errs.NotFound, wf.Sid)
		all, more, err := f.e.Workflows(f.ctx, f.ws.Sid, "", Page{Limit: 1})
		if err != nil || len(all) != 1 || !more || all[0].Sid == wf.Sid {
			t.Fatalf("first page = %+v more=%v, %v", all, more, err)
		}
		all, more, err = f.e.Workflows(f.ctx, f.ws.Sid, "", Page{Offset: 1, Limit: 1})
		if err != nil || len(all) != 1 || more || all[0].Sid != wf.Sid {
			t.Fatalf("second page = %+v more=%v, %v", all, more, err)
		}
		byName, _, err := f.e.Workflows(f.ctx, f.ws.Sid, "Billing first", Page{Limit: 10})
		if err != nil || len(byName) != 1 {
			t.Fatalf("by name = %+v, %v", byName, err)
		}

		before = rowCounts(t, d, "")
		_, err = f.e.UpdateWorkflow(f.ctx, f.ws.Sid, wf.Sid, WorkflowParams{Configuration: cfg("type IN 'x'", billing.Sid)})
		wantError(t, err, errs.Invalid, "position")
		_, err = f.e.UpdateWorkflow(f.ctx, f.ws.Sid, "WW00000000000000000000000000000000", WorkflowParams{FriendlyName: ptr("x")})
		wantError(t, err, errs.NotFound, "WW00000000000000000000000000000000")
		wantUnchanged(t, d, before)

		f.tick()
		up, err := f.e.UpdateWorkflow(f.ctx, f.ws.Sid, wf.Sid, WorkflowParams{FriendlyName: ptr("Renamed"), TaskReservationTimeout: ptr(30),
			AssignmentCallbackURL: ptr("")})
		if err != nil || up.FriendlyName != "Renamed" || up.TaskReservationTimeout != 30 || up.AssignmentCallbackURL != "" ||
			up.Configuration != *good || !up.DateUpdated.After(up.DateCreated) {
			t.Fatalf("update = %+v, %v", up, err)
		}
		hasEvent(t, f, f.ws.Sid, wf.Sid, "workflow.updated")

		// Now the billing queue is routed to, so it stays.
		wantError(t, f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, billing.Sid), errs.Conflict, wf.Sid)
	})
}

func TestReEvaluatingAWorkflowRoutesItsPendingTasksAgain(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		a, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("A"), TargetWorkers: ptr("")})
		f.must(err)
		b, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("B"), TargetWorkers: ptr("")})
		f.must(err)
		to := func(q TaskQueue) *string {
			return ptr(jsonOf(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}))
		}
		wf, err := f.e.CreateWorkflow(f.ctx, f.ws.Sid, WorkflowParams{FriendlyName: ptr("wf"), Configuration: to(a)})
		f.must(err)
		waiting, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{WorkflowSid: &wf.Sid})
		f.must(err)
		f.route()
		if got := f.reload(waiting); got.TaskQueueSid != a.Sid || got.TargetEnteredAt == nil {
			t.Fatalf("task = %+v, want waiting in A", got)
		}

		f.tick()
		_, err = f.e.UpdateWorkflow(f.ctx, f.ws.Sid, wf.Sid, WorkflowParams{Configuration: to(b), ReEvaluateTasks: ptr(true)})
		f.must(err)
		got := f.reload(waiting)
		if got.TaskQueueSid != "" || got.TargetEnteredAt != nil || got.FilterIndex != -1 || got.TargetIndex != 0 {
			t.Fatalf("after ReEvaluateTasks: %+v", got)
		}
		f.route()
		if got := f.reload(waiting); got.TaskQueueSid != b.Sid {
			t.Fatalf("re-evaluated task is in %q, want B", got.TaskQueueSid)
		}

		wantError(t, f.e.DeleteWorkflow(f.ctx, f.ws.Sid, wf.Sid), errs.Conflict, "pending, reserved or assigned")
		_, err = f.e.UpdateTask(f.ctx, f.ws.Sid, waiting.Sid, TaskParams{AssignmentStatus: ptr(TaskCanceled), Reason: ptr("done")})
		f.must(err)
		f.must(f.e.DeleteWorkflow(f.ctx, f.ws.Sid, wf.Sid))
		hasEvent(t, f, f.ws.Sid, wf.Sid, "workflow.deleted")
		_, err = f.e.Workflow(f.ctx, f.ws.Sid, wf.Sid)
		wantError(t, err, errs.NotFound, wf.Sid)
		f.must(f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, a.Sid))
	})
}

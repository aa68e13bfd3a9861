package taskrouter

import (
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func queueNames(qs []TaskQueue) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = q.FriendlyName
	}
	return out
}

func TestTaskQueuesCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		other, err := f.e.CreateWorkspace(f.ctx, WorkspaceParams{FriendlyName: ptr("Other")}, nil)
		f.must(err)
		before := rowCounts(t, d, "")
		for _, tc := range []struct {
			name string
			p    TaskQueueParams
			want string
		}{
			{"no name", TaskQueueParams{}, "FriendlyName"},
			{"bad target", TaskQueueParams{FriendlyName: ptr("q"), TargetWorkers: ptr("skills HAS 'a' AND")}, "TargetWorkers: invalid expression at position 19"},
			{"no reserved workers", TaskQueueParams{FriendlyName: ptr("q"), MaxReservedWorkers: ptr(0)}, "MaxReservedWorkers"},
			{"too many reserved workers", TaskQueueParams{FriendlyName: ptr("q"), MaxReservedWorkers: ptr(51)}, "MaxReservedWorkers"},
			{"task order", TaskQueueParams{FriendlyName: ptr("q"), TaskOrder: ptr("RANDOM")}, "TaskOrder"},
			{"foreign activity", TaskQueueParams{FriendlyName: ptr("q"), ReservationActivitySid: &other.DefaultActivitySid}, "ReservationActivitySid"},
			{"unknown activity", TaskQueueParams{FriendlyName: ptr("q"), AssignmentActivitySid: ptr("WA00000000000000000000000000000000")}, "AssignmentActivitySid"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, tc.p)
				wantError(t, err, errs.Invalid, tc.want)
			})
		}
		_, err = f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Everyone")})
		wantError(t, err, errs.Conflict, "Everyone")
		wantUnchanged(t, d, before)

		f.tick()
		plain, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Plain")})
		f.must(err)
		if plain.TargetWorkers != "1==1" || plain.MaxReservedWorkers != 1 || plain.TaskOrder != "FIFO" ||
			plain.ReservationActivitySid != "" || plain.AssignmentActivitySid != "" {
			t.Fatalf("defaults = %+v", plain)
		}
		hasEvent(t, f, f.ws.Sid, plain.Sid, "task-queue.created")
		f.tick()
		vip, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("VIP"), TargetWorkers: ptr("routing.skills HAS 'vip'"),
			MaxReservedWorkers: ptr(3), TaskOrder: ptr("LIFO"), ReservationActivitySid: ptr(f.activity["Unavailable"]),
			AssignmentActivitySid: ptr(f.activity["Break"])})
		f.must(err)
		f.tick()
		parked, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Parked"), TargetWorkers: ptr("")})
		f.must(err)
		if parked.TargetWorkers != "" {
			t.Fatalf("an empty target became %q", parked.TargetWorkers)
		}
		got, err := f.e.TaskQueue(f.ctx, f.ws.Sid, vip.Sid)
		if err != nil || got.MaxReservedWorkers != 3 || got.TaskOrder != "LIFO" || got.AssignmentActivitySid != f.activity["Break"] {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		_, err = f.e.TaskQueue(f.ctx, other.Sid, vip.Sid)
		wantError(t, err, errs.NotFound, vip.Sid)

		ann := f.worker("ann", map[string]any{"routing": map[string]any{"skills": []string{"vip"}}}, true, nil)
		for _, tc := range []struct {
			name string
			f    TaskQueueFilter
			want []string
		}{
			{"all", TaskQueueFilter{}, []string{"Everyone", "Plain", "VIP", "Parked"}},
			{"by name", TaskQueueFilter{FriendlyName: "VIP"}, []string{"VIP"}},
			{"for attributes", TaskQueueFilter{EvaluateWorkerAttributes: `{"routing":{"skills":["vip"]}}`}, []string{"Everyone", "Plain", "VIP"}},
			{"for other attributes", TaskQueueFilter{EvaluateWorkerAttributes: `{}`}, []string{"Everyone", "Plain"}},
			{"for a worker", TaskQueueFilter{WorkerSid: ann.Sid}, []string{"Everyone", "Plain", "VIP"}},
			{"for a worker, by name", TaskQueueFilter{WorkerSid: ann.Sid, FriendlyName: "Plain"}, []string{"Plain"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				qs, more, err := f.e.TaskQueues(f.ctx, f.ws.Sid, tc.f, Page{Limit: 50})
				if err != nil || more || !slices.Equal(queueNames(qs), tc.want) {
					t.Fatalf("queues = %v more=%v, %v; want %v", queueNames(qs), more, err, tc.want)
				}
			})
		}
		qs, more, err := f.e.TaskQueues(f.ctx, f.ws.Sid, TaskQueueFilter{EvaluateWorkerAttributes: `{"routing":{"skills":["vip"]}}`}, Page{Offset: 1, Limit: 1})
		if err != nil || !more || !slices.Equal(queueNames(qs), []string{"Plain"}) {
			t.Fatalf("filtered page = %v more=%v, %v", queueNames(qs), more, err)
		}
		qs, more, err = f.e.TaskQueues(f.ctx, f.ws.Sid, TaskQueueFilter{}, Page{Offset: 2, Limit: 2})
		if err != nil || more || !slices.Equal(queueNames(qs), []string{"VIP", "Parked"}) {
			t.Fatalf("last page = %v more=%v, %v", queueNames(qs), more, err)
		}
		_, _, err = f.e.TaskQueues(f.ctx, f.ws.Sid, TaskQueueFilter{EvaluateWorkerAttributes: `[1]`}, Page{Limit: 50})
		wantError(t, err, errs.Invalid, "EvaluateWorkerAttributes")
		_, _, err = f.e.TaskQueues(f.ctx, f.ws.Sid, TaskQueueFilter{WorkerSid: "WK00000000000000000000000000000000"}, Page{Limit: 50})
		wantError(t, err, errs.Invalid, "WorkerSid")

		before = rowCounts(t, d, "")
		_, err = f.e.UpdateTaskQueue(f.ctx, f.ws.Sid, vip.Sid, TaskQueueParams{TargetWorkers: ptr("a ==")})
		wantError(t, err, errs.Invalid, "position")
		_, err = f.e.UpdateTaskQueue(f.ctx, f.ws.Sid, vip.Sid, TaskQueueParams{FriendlyName: ptr("Plain")})
		wantError(t, err, errs.Conflict, "Plain")
		wantUnchanged(t, d, before)

		f.tick()
		up, err := f.e.UpdateTaskQueue(f.ctx, f.ws.Sid, vip.Sid, TaskQueueParams{TargetWorkers: ptr("level > 2"), ReservationActivitySid: ptr(""),
			MaxReservedWorkers: ptr(50)})
		if err != nil || up.TargetWorkers != "level > 2" || up.ReservationActivitySid != "" || up.MaxReservedWorkers != 50 ||
			up.FriendlyName != "VIP" || up.TaskOrder != "LIFO" || !up.DateUpdated.After(up.DateCreated) {
			t.Fatalf("update = %+v, %v", up, err)
		}
		hasEvent(t, f, f.ws.Sid, vip.Sid, "task-queue.expression.updated")
		f.tick()
		_, err = f.e.UpdateTaskQueue(f.ctx, f.ws.Sid, plain.Sid, TaskQueueParams{FriendlyName: ptr("Plainer")})
		f.must(err)
		if ev := events(t, f, f.ws.Sid, plain.Sid); slices.Contains(ev, "task-queue.expression.updated") {
			t.Fatalf("a rename recorded an expression update: %v", ev)
		}

		f.must(f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, parked.Sid))
		hasEvent(t, f, f.ws.Sid, parked.Sid, "task-queue.deleted")
		_, err = f.e.TaskQueue(f.ctx, f.ws.Sid, parked.Sid)
		wantError(t, err, errs.NotFound, parked.Sid)
	})
}

func TestAQueueInUseCannotBeDeleted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var everyone TaskQueue
		f.must(d.Gorm.Where("workspace_sid = ? AND friendly_name = ?", f.ws.Sid, "Everyone").First(&everyone).Error)
		wantError(t, f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, everyone.Sid), errs.Conflict, "workflow")

		q, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Direct"), TargetWorkers: ptr("")})
		f.must(err)
		task, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{RoutingTarget: &q.Sid})
		f.must(err)
		wantError(t, f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, q.Sid), errs.Conflict, "wait")
		f.route() // the task enters the queue and waits there
		if got := f.reload(task); got.TaskQueueSid != q.Sid {
			t.Fatalf("task queue = %q", got.TaskQueueSid)
		}
		wantError(t, f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, q.Sid), errs.Conflict, "wait")
		_, err = f.e.UpdateTask(f.ctx, f.ws.Sid, task.Sid, TaskParams{AssignmentStatus: ptr(TaskCanceled), Reason: ptr("gone")})
		f.must(err)
		f.must(f.e.DeleteTaskQueue(f.ctx, f.ws.Sid, q.Sid))
	})
}

package taskrouter

import (
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Regression: a worker whose offer timed out is never offered the task again,
// even after coming back to an available activity. With one agent (or when
// every agent once let it time out) the task waits until its TTL (24h).
func TestTimedOutTaskIsOfferedAgainWhenTheWorkerReturns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana := f.worker("ana", nil, true, nil)
		task := f.task(nil, 0)
		f.route()
		if _, ok := f.offers(task.Sid)["ana"]; !ok {
			t.Fatalf("offers = %v, want ana", f.offers(task.Sid))
		}
		f.advance(121 * time.Second) // the offer times out, ana goes Offline
		avail := f.activity["Available"]
		_, err := f.e.UpdateWorker(f.ctx, f.ws.Sid, ana.Sid, WorkerParams{ActivitySid: &avail})
		f.must(err)
		f.route()
		if _, ok := f.offers(task.Sid)["ana"]; !ok {
			t.Fatalf("ana is available again with free capacity but task %s (%s) is not offered to anybody",
				task.Sid, f.reload(task).AssignmentStatus)
		}
	})
}

// Regression: a pass loads only the first maxTasksPerPass waiting tasks by
// priority and age and never looks further, so a backlog of old tasks that
// nobody can take (a queue whose tasks just wait) starves every newer task,
// in any queue, forever.
func TestABacklogBeyondOnePassNeverStarvesOtherQueues(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		parked := f.queue("parked", "", 1, "FIFO") // empty target: tasks just wait
		general := f.queue("general", "1==1", 1, "FIFO")
		wf := f.workflow(map[string]any{"task_routing": map[string]any{
			"filters": []any{map[string]any{"filter_friendly_name": "parked", "expression": "type == 'parked'",
				"targets": []any{map[string]any{"queue": parked.Sid}}}},
			"default_filter": map[string]any{"queue": general.Sid}}}, 120)
		old := f.now.Add(-time.Hour)
		backlog := make([]Task, maxTasksPerPass)
		for i := range backlog {
			backlog[i] = Task{Sid: sid.New(sid.Task), WorkspaceSid: f.ws.Sid, Attributes: `{"type":"parked"}`,
				AssignmentStatus: TaskPending, Timeout: DefaultTaskTTL, TaskChannelSid: f.channel["chat"], WorkflowSid: wf.Sid,
				TaskQueueSid: parked.Sid, TaskQueueEnteredDate: &old, FilterIndex: 0, TargetIndex: 0, TargetEnteredAt: &old,
				VirtualStartTime: old, DateCreated: old, DateUpdated: old}
		}
		f.must(d.Gorm.CreateInBatches(backlog, 200).Error)
		f.worker("ana", nil, true, nil)
		task := f.task(map[string]any{"type": "support"}, 0)
		if got := f.reload(task).TaskQueueSid; got != general.Sid {
			t.Fatalf("task in %s, want general", got)
		}
		f.route()
		f.route()
		if len(f.offers(task.Sid)) == 0 {
			t.Fatalf("an available worker of the general queue is never offered its task: %d older parked tasks fill every pass",
				len(backlog))
		}
	})
}

// Regression: two workers each accepting a different multi-reserved task at the
// same moment lock worker channels in opposite orders (own channel first,
// then the rescinded worker's), so Postgres aborts one of them as a deadlock.
func TestCrossedAcceptsOfMultiReservedTasksDoNotDeadlock(t *testing.T) {
	d := dbtest.Open(t, db.Postgres)
	f := newFixture(t, d)
	q := f.queue("broadcast", "1==1", 2, "FIFO")
	f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 120)
	w1 := f.worker("w1", nil, true, map[string]int{"chat": 10})
	w2 := f.worker("w2", nil, true, map[string]int{"chat": 10})
	failures := 0
	for range 40 {
		t1, t2 := f.task(nil, 0), f.task(nil, 0)
		f.route()
		r1, r2 := f.offers(t1.Sid)["w1"], f.offers(t2.Sid)["w2"]
		if r1.Sid == "" || r2.Sid == "" {
			t.Fatalf("offers %v %v", f.offers(t1.Sid), f.offers(t2.Sid))
		}
		start := make(chan struct{})
		errc := make(chan error, 2)
		for _, r := range []Reservation{r1, r2} {
			go func() {
				<-start
				_, _, err := f.e.AcceptReservation(f.ctx, f.ws.Sid, r.Sid)
				errc <- err
			}()
		}
		close(start)
		for range 2 {
			if err := <-errc; err != nil {
				failures++
				t.Logf("accept failed: %v", err)
			}
		}
		for _, tk := range []Task{t1, t2} {
			done, reason := TaskCompleted, "done"
			_, _ = f.e.UpdateTask(f.ctx, f.ws.Sid, tk.Sid, TaskParams{AssignmentStatus: &done, Reason: &reason})
			cancel := TaskCanceled
			_, _ = f.e.UpdateTask(f.ctx, f.ws.Sid, tk.Sid, TaskParams{AssignmentStatus: &cancel, Reason: &reason})
		}
	}
	_ = w1
	_ = w2
	if failures > 0 {
		t.Fatalf("%d of 80 concurrent accepts failed", failures)
	}
}

// Regression: a workflow update without ReEvaluateTasks leaves pending tasks on
// their old (filter, target) indexes; when the new configuration has fewer
// filters or targets, currentStep finds no target and the task is never
// routed again (Twilio keeps such tasks in their queue).
func TestWorkflowUpdateDoesNotStrandPendingTasks(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		sales := f.queue("sales", "1==1", 1, "FIFO")
		support := f.queue("support", "1==1", 1, "FIFO")
		wf := f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{
			map[string]any{"filter_friendly_name": "sales", "expression": "type == 'sales'", "targets": []any{map[string]any{"queue": sales.Sid}}},
			map[string]any{"filter_friendly_name": "support", "expression": "type == 'support'", "targets": []any{map[string]any{"queue": support.Sid}}},
		}}}, 120)
		task := f.task(map[string]any{"type": "support"}, 0) // filter 1, nobody available yet
		cfg := jsonOf(map[string]any{"task_routing": map[string]any{"filters": []any{
			map[string]any{"filter_friendly_name": "support", "expression": "type == 'support'", "targets": []any{map[string]any{"queue": support.Sid}}},
		}}})
		f.now = f.now.Add(time.Second)
		_, err := f.e.UpdateWorkflow(f.ctx, f.ws.Sid, wf.Sid, WorkflowParams{Configuration: &cfg})
		f.must(err)
		f.worker("ana", nil, true, nil)
		f.route()
		if len(f.offers(task.Sid)) == 0 {
			got := f.reload(task)
			t.Fatalf("task pending in %s (filter %d) is never offered after the workflow lost a filter", got.TaskQueueSid, got.FilterIndex)
		}
	})
}

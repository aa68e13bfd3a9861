package taskrouter

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

type workerSpec struct {
	name      string
	attrs     map[string]any
	available bool
	capacity  map[string]int
}

type taskSpec struct {
	attrs    map[string]any
	priority int64
}

func skills(s ...string) map[string]any {
	return map[string]any{"routing": map[string]any{"skills": s}}
}

// TestRoutingRules routes a set of tasks once and checks which worker each
// task is offered to ("" for none).
func TestRoutingRules(t *testing.T) {
	cases := []struct {
		name    string
		queue   string // target_workers of the queue
		order   string
		target  map[string]any // extra target keys (expression, order_by…)
		workers []workerSpec
		tasks   []taskSpec
		want    []string // per task, the worker offered it
	}{
		{
			name: "skills pick the worker", queue: "routing.skills HAS 'billing'",
			workers: []workerSpec{{"ana", skills("support"), true, nil}, {"bo", skills("billing"), true, nil}},
			tasks:   []taskSpec{{nil, 0}}, want: []string{"bo"},
		},
		{
			name: "unavailable workers get nothing", queue: "1==1",
			workers: []workerSpec{{"ana", nil, false, nil}},
			tasks:   []taskSpec{{nil, 0}}, want: []string{""},
		},
		{
			name: "capacity limits concurrent offers", queue: "1==1",
			workers: []workerSpec{{"ana", nil, true, map[string]int{"chat": 2}}},
			tasks:   []taskSpec{{nil, 0}, {nil, 0}, {nil, 0}}, want: []string{"ana", "ana", ""},
		},
		{
			name: "zero capacity on the channel means no offers", queue: "1==1",
			workers: []workerSpec{{"ana", nil, true, map[string]int{"chat": 0, "sms": 3}}},
			tasks:   []taskSpec{{nil, 0}}, want: []string{""},
		},
		{
			name: "higher priority goes first", queue: "1==1",
			workers: []workerSpec{{"ana", nil, true, nil}},
			tasks:   []taskSpec{{map[string]any{"n": 1}, 1}, {map[string]any{"n": 2}, 5}}, want: []string{"", "ana"},
		},
		{
			name: "FIFO: the oldest task first", queue: "1==1", order: "FIFO",
			workers: []workerSpec{{"ana", nil, true, nil}},
			tasks:   []taskSpec{{nil, 0}, {nil, 0}}, want: []string{"ana", ""},
		},
		{
			name: "target expression compares task and worker", queue: "1==1",
			target:  map[string]any{"expression": "task.language IN worker.languages"},
			workers: []workerSpec{{"ana", map[string]any{"languages": []string{"en"}}, true, nil}, {"bo", map[string]any{"languages": []string{"es", "en"}}, true, nil}},
			tasks:   []taskSpec{{map[string]any{"language": "es"}, 0}}, want: []string{"bo"},
		},
		{
			name: "order_by prefers the higher level", queue: "1==1",
			target:  map[string]any{"order_by": "worker.level DESC"},
			workers: []workerSpec{{"ana", map[string]any{"level": 1}, true, nil}, {"bo", map[string]any{"level": 3}, true, nil}, {"cy", map[string]any{"level": 2}, true, nil}},
			tasks:   []taskSpec{{nil, 0}, {nil, 0}}, want: []string{"bo", "cy"},
		},
		{
			name: "known worker from a task attribute", queue: "1==1",
			target:  map[string]any{"known_worker_friendly_name": "task.preferred"},
			workers: []workerSpec{{"ana", nil, true, nil}, {"bo", nil, true, nil}},
			tasks:   []taskSpec{{map[string]any{"preferred": "bo"}, 0}}, want: []string{"bo"},
		},
		{
			name: "worker channel state is visible to expressions", queue: "worker.channel.chat.configured_capacity >= 2",
			workers: []workerSpec{{"ana", nil, true, map[string]int{"chat": 1}}, {"bo", nil, true, map[string]int{"chat": 2}}},
			tasks:   []taskSpec{{nil, 0}}, want: []string{"bo"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				f := newFixture(t, d)
				order := tc.order
				if order == "" {
					order = "FIFO"
				}
				q := f.queue("q", tc.queue, 1, order)
				target := map[string]any{"queue": q.Sid}
				for k, v := range tc.target {
					target[k] = v
				}
				f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{
					map[string]any{"filter_friendly_name": "all", "expression": "1==1", "targets": []any{target}}}}}, 120)
				for _, w := range tc.workers {
					f.worker(w.name, w.attrs, w.available, w.capacity)
					f.now = f.now.Add(time.Second) // distinct idle times
				}
				var tasks []Task
				for _, ts := range tc.tasks {
					tasks = append(tasks, f.task(ts.attrs, ts.priority))
					f.now = f.now.Add(time.Second)
				}
				f.route()
				for i, task := range tasks {
					offers := f.offers(task.Sid)
					got := ""
					for name := range offers {
						got = name
					}
					if len(offers) > 1 || got != tc.want[i] {
						t.Errorf("task %d offered to %v, want %q", i, offers, tc.want[i])
					}
				}
			})
		})
	}
}

func TestLongestIdleWorkerGetsTheTask(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.worker("ana", nil, true, map[string]int{"chat": 5})
		f.now = f.now.Add(time.Second) // ana has been idle longer
		f.worker("bo", nil, true, map[string]int{"chat": 5})
		var got []string
		for range 4 {
			task := f.task(nil, 0)
			f.now = f.now.Add(time.Second)
			f.route()
			for name := range f.offers(task.Sid) {
				got = append(got, name)
			}
		}
		if !slices.Equal(got, []string{"ana", "bo", "ana", "bo"}) {
			t.Fatalf("offers went to %v, want alternating by idle time", got)
		}
	})
}

func TestAcceptAssignsAndRejectReoffers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.worker("ana", nil, true, nil)
		f.now = f.now.Add(time.Second)
		f.worker("bo", nil, true, nil)
		task := f.task(nil, 0)
		f.route()
		first := f.offers(task.Sid)["ana"]
		if first.Sid == "" {
			t.Fatalf("offers = %v, want ana (longest idle)", f.offers(task.Sid))
		}
		rejected := ReservationRejected
		if _, err := f.e.UpdateReservation(f.ctx, f.ws.Sid, first.Sid, ReservationParams{ReservationStatus: &rejected}); err != nil {
			t.Fatal(err)
		}
		if got := f.reload(task).AssignmentStatus; got != TaskPending {
			t.Fatalf("after the only offer was rejected the task is %s, want pending", got)
		}
		f.route()
		second := f.offers(task.Sid)["bo"]
		if second.Sid == "" {
			t.Fatalf("after ana rejected, offers = %v, want bo", f.offers(task.Sid))
		}
		r, tk, err := f.e.AcceptReservation(f.ctx, f.ws.Sid, second.Sid)
		if err != nil || r.ReservationStatus != ReservationAccepted || tk.AssignmentStatus != TaskAssigned || tk.WorkerSid != second.WorkerSid {
			t.Fatalf("accept = %+v %+v %v", r, tk, err)
		}
		if _, _, err := f.e.AcceptReservation(f.ctx, f.ws.Sid, second.Sid); err == nil {
			t.Fatal("accepting twice succeeded")
		}
		var wc WorkerChannel
		f.must(d.Gorm.Where("worker_sid = ? AND task_channel_sid = ?", second.WorkerSid, f.channel["chat"]).First(&wc).Error)
		if wc.Used != 1 || wc.Assigned != 1 {
			t.Fatalf("worker channel used %d assigned %d, want 1/1", wc.Used, wc.Assigned)
		}
		wrap, done, reason := TaskWrapping, TaskCompleted, "resolved"
		if _, err := f.e.UpdateTask(f.ctx, f.ws.Sid, task.Sid, TaskParams{AssignmentStatus: &wrap}); err != nil {
			t.Fatal(err)
		}
		// The wrap-up names the worker, so their live views hear of it.
		var wrapups []Event
		f.must(d.Gorm.Where("event_type = ? AND reservation_sid = ?", "reservation.wrapup", second.Sid).Find(&wrapups).Error)
		if len(wrapups) != 1 || wrapups[0].WorkerSid != second.WorkerSid {
			t.Fatalf("reservation.wrapup events %+v, want one naming worker %s", wrapups, second.WorkerSid)
		}
		if _, err := f.e.UpdateTask(f.ctx, f.ws.Sid, task.Sid, TaskParams{AssignmentStatus: &done, Reason: &reason}); err != nil {
			t.Fatal(err)
		}
		f.must(d.Gorm.Where("sid = ?", wc.Sid).First(&wc).Error)
		if wc.Used != 0 || wc.Assigned != 0 {
			t.Fatalf("after completion used %d assigned %d, want 0/0", wc.Used, wc.Assigned)
		}
	})
}

func TestMaxReservedWorkersFirstAcceptWinsOthersRescinded(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("broadcast", "1==1", 3, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 120)
		for _, n := range []string{"ana", "bo", "cy", "di"} {
			f.worker(n, nil, true, nil)
		}
		task := f.task(nil, 0)
		f.route()
		offers := f.offers(task.Sid)
		if len(offers) != 3 {
			t.Fatalf("offers = %d, want 3 (max_reserved_workers)", len(offers))
		}
		var winner, loser Reservation
		for _, r := range offers {
			if winner.Sid == "" {
				winner = r
			} else {
				loser = r
			}
		}
		if _, _, err := f.e.AcceptReservation(f.ctx, f.ws.Sid, winner.Sid); err != nil {
			t.Fatal(err)
		}
		got, _ := f.e.Reservation(f.ctx, f.ws.Sid, loser.Sid)
		if got.ReservationStatus != ReservationRescinded {
			t.Fatalf("the other offer is %s, want rescinded", got.ReservationStatus)
		}
		if _, _, err := f.e.AcceptReservation(f.ctx, f.ws.Sid, loser.Sid); err == nil {
			t.Fatal("a rescinded reservation was accepted")
		}
	})
}

func TestReservationTimeoutMovesWorkerOfflineAndReoffers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("q", "1==1", 1, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 30)
		ana := f.worker("ana", nil, true, nil)
		f.now = f.now.Add(time.Second)
		f.worker("bo", nil, true, nil)
		task := f.task(nil, 0)
		f.route()
		if _, ok := f.offers(task.Sid)["ana"]; !ok {
			t.Fatalf("offers = %v, want ana", f.offers(task.Sid))
		}
		f.advance(31 * time.Second)
		var w Worker
		f.must(d.Gorm.Where("sid = ?", ana.Sid).First(&w).Error)
		if w.Available || w.ActivitySid != f.ws.TimeoutActivitySid {
			t.Fatalf("after timing out ana is in %s (available %v), want the timeout activity", w.ActivitySid, w.Available)
		}
		f.route()
		if _, ok := f.offers(task.Sid)["bo"]; !ok {
			t.Fatalf("after the timeout offers = %v, want bo", f.offers(task.Sid))
		}
	})
}

func TestTargetTimeoutEscalatesToTheNextTarget(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		tier1 := f.queue("tier1", "tier == 1", 1, "FIFO")
		tier2 := f.queue("tier2", "tier == 2", 1, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{map[string]any{
			"filter_friendly_name": "support", "expression": "type == 'support'",
			"targets": []any{map[string]any{"queue": tier1.Sid, "timeout": 60}, map[string]any{"queue": tier2.Sid, "priority": 10}},
		}}}}, 120)
		f.worker("senior", map[string]any{"tier": 2}, true, nil)
		task := f.task(map[string]any{"type": "support"}, 0)
		f.route()
		if got := f.reload(task); got.TaskQueueSid != tier1.Sid || len(f.offers(task.Sid)) != 0 {
			t.Fatalf("task in %s with offers %v, want waiting in tier1", got.TaskQueueSid, f.offers(task.Sid))
		}
		f.advance(61 * time.Second)
		f.route()
		got := f.reload(task)
		if got.TaskQueueSid != tier2.Sid || got.Priority != 10 {
			t.Fatalf("after the timeout the task is in %s with priority %d, want tier2 at 10", got.TaskQueueSid, got.Priority)
		}
		if _, ok := f.offers(task.Sid)["senior"]; !ok {
			t.Fatal("the escalated task was not offered to the tier-2 worker")
		}
	})
}

func TestSkipIfMovesOnWhenNobodyIsAvailable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		specialists := f.queue("specialists", "specialist == true", 1, "FIFO")
		everyone := f.queue("general", "1==1", 1, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{map[string]any{
			"filter_friendly_name": "all", "expression": "1==1",
			"targets": []any{map[string]any{"queue": specialists.Sid, "timeout": 300, "skip_if": "workers.available == 0"},
				map[string]any{"queue": everyone.Sid}},
		}}}}, 120)
		f.worker("spec", map[string]any{"specialist": true}, false, nil)
		f.worker("gen", nil, true, nil)
		task := f.task(nil, 0)
		f.route()
		if _, ok := f.offers(task.Sid)["gen"]; !ok || f.reload(task).TaskQueueSid != everyone.Sid {
			t.Fatalf("offers %v in queue %s, want skipped straight to the general queue", f.offers(task.Sid), f.reload(task).TaskQueueSid)
		}
	})
}

func TestTaskTTLCancelsAnUnassignedTask(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ttl := 60
		a := "{}"
		task, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{Attributes: &a, Timeout: &ttl})
		f.must(err)
		f.advance(61 * time.Second)
		got := f.reload(task)
		if got.AssignmentStatus != TaskCanceled || got.Reason != "Task TTL Exceeded" {
			t.Fatalf("task = %s (%q), want canceled by TTL", got.AssignmentStatus, got.Reason)
		}
	})
}

func TestATaskForOneWorkerEndsWhenThatWorkerDeclines(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana := f.worker("ana", nil, true, nil)
		f.worker("bo", nil, true, nil)
		a, ch := "{}", "chat"
		task, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{Attributes: &a, TaskChannel: &ch, RoutingTarget: &ana.Sid})
		f.must(err)
		f.route()
		offer, ok := f.offers(task.Sid)["ana"]
		if !ok || len(f.offers(task.Sid)) != 1 {
			t.Fatalf("offers = %v, want ana only", f.offers(task.Sid))
		}
		rejected := ReservationRejected
		_, err = f.e.UpdateReservation(f.ctx, f.ws.Sid, offer.Sid, ReservationParams{ReservationStatus: &rejected})
		f.must(err)
		f.route()
		got := f.reload(task)
		if got.AssignmentStatus != TaskCanceled || len(f.offers(task.Sid)) != 0 {
			t.Fatalf("after ana declined: task %s, offers %v; want canceled and offered to nobody else", got.AssignmentStatus, f.offers(task.Sid))
		}
	})
}

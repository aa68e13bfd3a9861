package taskrouter

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// statsAt moves the fixture's clock to start+offset (running due jobs).
func (f *fixture) statsAt(start time.Time, offset time.Duration) {
	f.t.Helper()
	f.advance(start.Add(offset).Sub(f.now))
}

// stats computes statistics of a scope, both parts, over the default window.
func (f *fixture) stats(s StatisticsScope, p StatisticsParams) Statistics {
	f.t.Helper()
	p.RealTime, p.Cumulative = true, true
	st, err := f.e.Statistics(f.ctx, f.ws.Sid, s, p)
	f.must(err)
	return st
}

// answer accepts or rejects a reservation.
func (f *fixture) answer(r Reservation, status string) {
	f.t.Helper()
	_, err := f.e.UpdateReservation(f.ctx, f.ws.Sid, r.Sid, ReservationParams{ReservationStatus: &status})
	f.must(err)
}

// moveTask cancels or completes a task.
func (f *fixture) moveTask(t Task, status, reason string) {
	f.t.Helper()
	_, err := f.e.UpdateTask(f.ctx, f.ws.Sid, t.Sid, TaskParams{AssignmentStatus: &status, Reason: &reason})
	f.must(err)
}

func wantEqual[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

// reservationCounts are the six reservation counters of cumulative statistics.
func reservationCounts(c *CumulativeStatistics) [6]int {
	return [6]int{c.ReservationsCreated, c.ReservationsAccepted, c.ReservationsRejected, c.ReservationsTimedOut,
		c.ReservationsCanceled, c.ReservationsRescinded}
}

// TestStatisticsOfAQueueDay follows three tasks through a queue (one
// accepted, one rejected then canceled, one re-offered and accepted) and
// checks every real-time and cumulative figure of the workspace, the queue,
// the workflow and the workers.
func TestStatisticsOfAQueueDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		t0 := f.now
		q := f.queue("Support", "1==1", 1, "FIFO")
		wf := f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 120)
		alice := f.worker("alice", nil, true, nil)
		carolName := "carol"
		carol, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: &carolName}) // Offline, with history
		f.must(err)
		f.statsAt(t0, time.Second)
		bob := f.worker("bob", nil, true, nil)

		f.statsAt(t0, 10*time.Second)
		a := f.task(map[string]any{"n": "a"}, 0)
		f.statsAt(t0, 11*time.Second)
		b := f.task(map[string]any{"n": "b"}, 5)
		f.statsAt(t0, 12*time.Second)
		c := f.task(map[string]any{"n": "c"}, 0)
		f.statsAt(t0, 13*time.Second)
		f.route() // b (higher priority) to alice, the longest idle; a to bob; c waits
		bOffer, aOffer := f.offers(b.Sid)["alice"], f.offers(a.Sid)["bob"]
		if bOffer.Sid == "" || aOffer.Sid == "" || len(f.offers(c.Sid)) != 0 {
			t.Fatalf("offers: a %v, b %v, c %v", f.offers(a.Sid), f.offers(b.Sid), f.offers(c.Sid))
		}
		f.statsAt(t0, 15*time.Second)
		f.answer(aOffer, ReservationAccepted)
		f.statsAt(t0, 20*time.Second)
		f.answer(bOffer, ReservationRejected)
		f.route() // b was refused by alice and bob is busy; c goes to alice
		cOffer := f.offers(c.Sid)["alice"]
		if cOffer.Sid == "" || len(f.offers(b.Sid)) != 0 {
			t.Fatalf("after the rejection: b %v, c %v", f.offers(b.Sid), f.offers(c.Sid))
		}

		// Real time, with a pending, a reserved and an assigned task.
		ws := f.stats(StatisticsScope{}, StatisticsParams{})
		rt := ws.RealTime
		wantEqual(t, "workspace tasks_by_status", rt.TasksByStatus, map[string]int{"pending": 1, "reserved": 1, "assigned": 1, "wrapping": 0})
		wantEqual(t, "workspace tasks_by_priority", rt.TasksByPriority, map[string]int{"0": 2, "5": 1})
		wantEqual(t, "workspace total_tasks", rt.TotalTasks, 3)
		wantEqual(t, "workspace longest waiting", rt.LongestWaiting, &WaitingTask{Sid: b.Sid, Age: 9})
		wantEqual(t, "workspace workers", [2]int{rt.TotalWorkers, rt.TotalAvailableWorkers}, [2]int{3, 2})
		byActivity := map[string]int{}
		for _, a := range rt.ActivityStatistics {
			byActivity[a.FriendlyName] = a.Workers
		}
		wantEqual(t, "workspace activity_statistics", byActivity, map[string]int{"Offline": 1, "Available": 2, "Unavailable": 0, "Break": 0})

		qs := f.stats(StatisticsScope{TaskQueueSid: q.Sid}, StatisticsParams{})
		wantEqual(t, "queue tasks_by_status", qs.RealTime.TasksByStatus, rt.TasksByStatus)
		wantEqual(t, "queue eligible/available workers", [2]int{qs.RealTime.TotalWorkers, qs.RealTime.TotalAvailableWorkers}, [2]int{3, 2})
		// b and c entered the queue when created or when first routed,
		// whichever the engine does; the earlier of them waits longest.
		bIn, cIn := *f.reload(b).TaskQueueEnteredDate, *f.reload(c).TaskQueueEnteredDate
		want := []WaitingTask{{Sid: b.Sid, Age: int(f.now.Sub(bIn).Seconds())}, {Sid: c.Sid, Age: int(f.now.Sub(cIn).Seconds())}}
		if in := qs.RealTime.LongestInQueue; in == nil || !(bIn.Before(cIn) && *in == want[0] ||
			cIn.Before(bIn) && *in == want[1] || bIn.Equal(cIn) && slices.Contains(want, *in)) {
			t.Errorf("queue longest in queue = %+v, want the earlier of %+v", in, want)
		}
		everyone := f.stats(StatisticsScope{TaskQueueSid: f.queueNamed("Everyone").Sid}, StatisticsParams{})
		wantEqual(t, "Everyone queue total_tasks", everyone.RealTime.TotalTasks, 0)
		if everyone.RealTime.LongestWaiting != nil {
			t.Errorf("an empty queue has a longest waiting task: %+v", everyone.RealTime.LongestWaiting)
		}
		sms := f.stats(StatisticsScope{}, StatisticsParams{TaskChannel: "sms"})
		wantEqual(t, "sms total_tasks", sms.RealTime.TotalTasks, 0)
		wantEqual(t, "sms workers (only carol has sms capacity)", sms.RealTime.TotalWorkers, 1)
		wantEqual(t, "sms reservations", reservationCounts(sms.Cumulative), [6]int{})

		f.statsAt(t0, 22*time.Second)
		f.moveTask(b, TaskCanceled, "abandoned")
		f.statsAt(t0, 30*time.Second)
		f.answer(cOffer, ReservationAccepted)
		f.statsAt(t0, 35*time.Second)
		available := f.activity["Available"]
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, carol.Sid, WorkerParams{ActivitySid: &available})
		f.must(err)
		f.statsAt(t0, 40*time.Second)
		f.moveTask(a, TaskCompleted, "resolved")

		// Cumulative, over the default fifteen minutes.
		split := StatisticsParams{SplitByWaitTime: []int{5, 15}}
		ws = f.stats(StatisticsScope{}, split)
		cu := ws.Cumulative
		wantEqual(t, "window", [2]time.Time{cu.StartTime, cu.EndTime}, [2]time.Time{f.now.Add(-15 * time.Minute), f.now})
		wantEqual(t, "workspace reservations", reservationCounts(cu), [6]int{3, 2, 1, 0, 0, 0})
		wantEqual(t, "workspace tasks created/canceled/completed/deleted/moved/ttl",
			[6]int{cu.TasksCreated, cu.TasksCanceled, cu.TasksCompleted, cu.TasksDeleted, cu.TasksMoved, cu.TasksTimedOutInWorkflow},
			[6]int{3, 1, 1, 0, 0, 0})
		wantEqual(t, "wait until accepted (5s and 18s)", cu.WaitDurationUntilAccepted, Durations{Avg: 12, Min: 5, Max: 18, Total: 23})
		wantEqual(t, "avg_task_acceptance_time", cu.AvgTaskAcceptanceTime, 12)
		wantEqual(t, "wait until canceled", cu.WaitDurationUntilCanceled, Durations{Avg: 11, Min: 11, Max: 11, Total: 11})
		wantEqual(t, "split_by_wait_time", cu.SplitByWaitTime, []WaitSplit{
			{Threshold: 5, Below: SplitCounts{ReservationsAccepted: 1}, Above: SplitCounts{TasksCanceled: 1, ReservationsAccepted: 1}},
			{Threshold: 15, Below: SplitCounts{TasksCanceled: 1, ReservationsAccepted: 1}, Above: SplitCounts{ReservationsAccepted: 1}},
		})
		wantEqual(t, "workspace tasks_by_status at the end", ws.RealTime.TasksByStatus, map[string]int{"pending": 0, "reserved": 0, "assigned": 1, "wrapping": 0})
		if ws.RealTime.LongestWaiting != nil {
			t.Errorf("nothing waits, yet longest waiting = %+v", ws.RealTime.LongestWaiting)
		}

		qs = f.stats(StatisticsScope{TaskQueueSid: q.Sid}, split)
		wantEqual(t, "queue reservations", reservationCounts(qs.Cumulative), [6]int{3, 2, 1, 0, 0, 0})
		wantEqual(t, "queue entered/canceled/completed", [3]int{qs.Cumulative.TasksEntered, qs.Cumulative.TasksCanceled,
			qs.Cumulative.TasksCompleted}, [3]int{3, 1, 1})
		wantEqual(t, "queue wait until accepted", qs.Cumulative.WaitDurationUntilAccepted, cu.WaitDurationUntilAccepted)
		aWait := t0.Add(15 * time.Second).Sub(*f.reload(a).TaskQueueEnteredDate).Seconds()
		cWait := t0.Add(30 * time.Second).Sub(cIn).Seconds()
		wantEqual(t, "queue wait in queue until accepted", qs.Cumulative.WaitDurationInQueueUntilAccepted,
			Durations{Avg: int(math.Round((aWait + cWait) / 2)), Min: int(min(aWait, cWait)), Max: int(max(aWait, cWait)),
				Total: int(aWait + cWait)})
		wantEqual(t, "queue split_by_wait_time", qs.Cumulative.SplitByWaitTime, cu.SplitByWaitTime)
		everyone = f.stats(StatisticsScope{TaskQueueSid: f.queueNamed("Everyone").Sid}, split)
		wantEqual(t, "Everyone queue reservations", reservationCounts(everyone.Cumulative), [6]int{})

		wfs := f.stats(StatisticsScope{WorkflowSid: wf.Sid}, split)
		wantEqual(t, "workflow entered/canceled/completed", [3]int{wfs.Cumulative.TasksEntered, wfs.Cumulative.TasksCanceled,
			wfs.Cumulative.TasksCompleted}, [3]int{3, 1, 1})
		wantEqual(t, "workflow reservations", reservationCounts(wfs.Cumulative), [6]int{3, 2, 1, 0, 0, 0})
		wantEqual(t, "workflow total_tasks", wfs.RealTime.TotalTasks, 1)
		if wfs.RealTime.ActivityStatistics != nil {
			t.Errorf("workflow statistics count workers: %+v", wfs.RealTime.ActivityStatistics)
		}

		chat := f.stats(StatisticsScope{}, StatisticsParams{TaskChannel: f.channel["chat"]})
		wantEqual(t, "chat reservations (by channel SID)", reservationCounts(chat.Cumulative), reservationCounts(cu))

		workers := f.stats(StatisticsScope{Workers: &WorkerFilter{}}, StatisticsParams{})
		wantEqual(t, "workers reservations", reservationCounts(workers.Cumulative), [6]int{3, 2, 1, 0, 0, 0})
		durations := durationsByName(workers.Cumulative)
		// alice Available 40s, bob 39s, carol 5s after 35s Offline.
		wantEqual(t, "activity durations", durations, map[string]Durations{
			"Available": {Avg: 28, Min: 5, Max: 40, Total: 84}, "Offline": {Avg: 35, Min: 35, Max: 35, Total: 35},
			"Unavailable": {}, "Break": {},
		})
		if workers.RealTime.TasksByStatus != nil {
			t.Errorf("worker statistics count tasks: %+v", workers.RealTime.TasksByStatus)
		}
		wantEqual(t, "workers total", workers.RealTime.TotalWorkers, 3)
		named := f.stats(StatisticsScope{Workers: &WorkerFilter{FriendlyName: "bob"}}, StatisticsParams{})
		wantEqual(t, "bob's reservations", reservationCounts(named.Cumulative), [6]int{1, 1, 0, 0, 0, 0})
		wantEqual(t, "bob's workers", named.RealTime.TotalWorkers, 1)
		one := f.stats(StatisticsScope{WorkerSid: alice.Sid}, StatisticsParams{})
		wantEqual(t, "alice's reservations", reservationCounts(one.Cumulative), [6]int{2, 1, 1, 0, 0, 0})
		wantEqual(t, "alice's Available time", durationsByName(one.Cumulative)["Available"], Durations{Avg: 40, Min: 40, Max: 40, Total: 40})

		// A window that starts after the first offers and acceptance.
		from := t0.Add(16 * time.Second)
		late := f.stats(StatisticsScope{}, StatisticsParams{Window: Window{StartDate: &from}})
		wantEqual(t, "late reservations", reservationCounts(late.Cumulative), [6]int{1, 1, 1, 0, 0, 0})
		wantEqual(t, "late wait until accepted", late.Cumulative.WaitDurationUntilAccepted, Durations{Avg: 18, Min: 18, Max: 18, Total: 18})
		wantEqual(t, "late tasks created", late.Cumulative.TasksCreated, 0)
		lateWorkers := f.stats(StatisticsScope{WorkerSid: bob.Sid}, StatisticsParams{Window: Window{StartDate: &from}})
		wantEqual(t, "bob's Available time since +16s", durationsByName(lateWorkers.Cumulative)["Available"],
			Durations{Avg: 24, Min: 24, Max: 24, Total: 24})
	})
}

// durationsByName indexes activity durations by activity name.
func durationsByName(c *CumulativeStatistics) map[string]Durations {
	out := map[string]Durations{}
	for _, a := range c.ActivityDurations {
		out[a.FriendlyName] = a.Durations
	}
	return out
}

// queueNamed finds a queue of the fixture's workspace by name.
func (f *fixture) queueNamed(name string) TaskQueue {
	f.t.Helper()
	var q TaskQueue
	f.must(f.d.Gorm.Where("workspace_sid = ? AND friendly_name = ?", f.ws.Sid, name).First(&q).Error)
	return q
}

// TestStatisticsCountEveryWayAnOfferEnds covers rescinded, timed-out and
// canceled offers and deleted tasks.
func TestStatisticsCountEveryWayAnOfferEnds(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("broadcast", "1==1", 2, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 30)
		available := f.activity["Available"]
		newWorker := func(name string) Worker { // with its history, unlike f.worker
			w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: &name, ActivitySid: &available})
			f.must(err)
			return w
		}
		ana, bo := newWorker("ana"), newWorker("bo")

		x := f.task(nil, 0)
		f.route()
		offers := f.offers(x.Sid)
		if len(offers) != 2 {
			t.Fatalf("x offered to %v, want ana and bo", offers)
		}
		f.answer(offers["ana"], ReservationAccepted) // bo's offer is rescinded
		y := f.task(nil, 0)
		f.route()
		if _, ok := f.offers(y.Sid)["bo"]; !ok {
			t.Fatalf("y offered to %v, want bo", f.offers(y.Sid))
		}
		f.advance(31 * time.Second) // bo's offer times out; bo goes Offline
		_, err := f.e.UpdateWorker(f.ctx, f.ws.Sid, bo.Sid, WorkerParams{ActivitySid: &available})
		f.must(err)
		z := f.task(nil, 1)
		f.route() // z outranks y, which waits for bo's next free slot
		if _, ok := f.offers(z.Sid)["bo"]; !ok {
			t.Fatalf("z offered to %v, want bo", f.offers(z.Sid))
		}
		f.moveTask(z, TaskCanceled, "gone") // cancels bo's offer
		f.must(f.e.DeleteTask(f.ctx, f.ws.Sid, y.Sid))

		st := f.stats(StatisticsScope{}, StatisticsParams{})
		wantEqual(t, "reservations created/accepted/rejected/timed out/canceled/rescinded", reservationCounts(st.Cumulative),
			[6]int{4, 1, 0, 1, 1, 1})
		wantEqual(t, "tasks created/canceled/deleted", [3]int{st.Cumulative.TasksCreated, st.Cumulative.TasksCanceled,
			st.Cumulative.TasksDeleted}, [3]int{3, 1, 1})
		qs := f.stats(StatisticsScope{TaskQueueSid: q.Sid}, StatisticsParams{})
		wantEqual(t, "queue reservations (rescinded, timed out and canceled offers found by their creation)",
			reservationCounts(qs.Cumulative), [6]int{4, 1, 0, 1, 1, 1})
		bos := f.stats(StatisticsScope{WorkerSid: bo.Sid}, StatisticsParams{})
		wantEqual(t, "bo's reservations", reservationCounts(bos.Cumulative), [6]int{3, 0, 0, 1, 1, 1})
		anas := f.stats(StatisticsScope{WorkerSid: ana.Sid}, StatisticsParams{})
		wantEqual(t, "ana's reservations", reservationCounts(anas.Cumulative), [6]int{1, 1, 0, 0, 0, 0})
		durations := durationsByName(bos.Cumulative)
		// bo: Available 31s until the timeout, Offline for an instant, Available again.
		wantEqual(t, "bo's activity durations", durations, map[string]Durations{
			"Available": {Avg: 31, Min: 31, Max: 31, Total: 31}, "Offline": {}, "Unavailable": {}, "Break": {}})
	})
}

// TestStatisticsCountMovesAndTimeToLive follows a task that escalates from
// one queue to another and is canceled by its time to live.
func TestStatisticsCountMovesAndTimeToLive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		tier1 := f.queue("tier1", "tier == 1", 1, "FIFO")
		tier2 := f.queue("tier2", "tier == 2", 1, "FIFO")
		wf := f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{map[string]any{
			"filter_friendly_name": "all", "expression": "1==1",
			"targets": []any{map[string]any{"queue": tier1.Sid, "timeout": 60}, map[string]any{"queue": tier2.Sid}},
		}}}}, 120)
		ttl, attrs := 90, "{}"
		task, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{Attributes: &attrs, Timeout: &ttl})
		f.must(err)
		f.route()
		f.advance(61 * time.Second)
		f.route()
		if got := f.reload(task).TaskQueueSid; got != tier2.Sid {
			t.Fatalf("task in %s, want escalated to tier2", got)
		}
		f.advance(30 * time.Second)
		if got := f.reload(task); got.AssignmentStatus != TaskCanceled {
			t.Fatalf("task %s, want canceled by its TTL", got.AssignmentStatus)
		}
		ws := f.stats(StatisticsScope{}, StatisticsParams{SplitByWaitTime: []int{90, 91}})
		cu := ws.Cumulative
		wantEqual(t, "canceled/moved/timed out in workflow", [3]int{cu.TasksCanceled, cu.TasksMoved, cu.TasksTimedOutInWorkflow}, [3]int{1, 1, 1})
		wantEqual(t, "wait until canceled", cu.WaitDurationUntilCanceled, Durations{Avg: 91, Min: 91, Max: 91, Total: 91})
		wantEqual(t, "canceled split at 90s and 91s", [2][2]int{
			{cu.SplitByWaitTime[0].Below.TasksCanceled, cu.SplitByWaitTime[0].Above.TasksCanceled},
			{cu.SplitByWaitTime[1].Below.TasksCanceled, cu.SplitByWaitTime[1].Above.TasksCanceled}}, [2][2]int{{0, 1}, {1, 0}})
		t1 := f.stats(StatisticsScope{TaskQueueSid: tier1.Sid}, StatisticsParams{}).Cumulative
		t2 := f.stats(StatisticsScope{TaskQueueSid: tier2.Sid}, StatisticsParams{}).Cumulative
		wantEqual(t, "tier1 entered/moved/canceled", [3]int{t1.TasksEntered, t1.TasksMoved, t1.TasksCanceled}, [3]int{1, 0, 0})
		wantEqual(t, "tier2 entered/moved/canceled", [3]int{t2.TasksEntered, t2.TasksMoved, t2.TasksCanceled}, [3]int{1, 1, 1})
		w := f.stats(StatisticsScope{WorkflowSid: wf.Sid}, StatisticsParams{}).Cumulative
		wantEqual(t, "workflow entered/moved/timed out", [3]int{w.TasksEntered, w.TasksMoved, w.TasksTimedOutInWorkflow}, [3]int{1, 1, 1})
	})
}

func TestStatisticsRejectBadRequests(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		minutes, now := 5, f.now
		earlier := now.Add(-time.Hour)
		for name, tc := range map[string]struct {
			s StatisticsScope
			p StatisticsParams
		}{
			"minutes with a date":   {p: StatisticsParams{Window: Window{Minutes: &minutes, EndDate: &now}}},
			"start after end":       {p: StatisticsParams{Window: Window{StartDate: &now, EndDate: &earlier}}},
			"zero threshold":        {p: StatisticsParams{SplitByWaitTime: []int{0}}},
			"unknown task channel":  {p: StatisticsParams{TaskChannel: "pigeon"}},
			"unknown queue":         {s: StatisticsScope{TaskQueueSid: "WQ00000000000000000000000000000000"}},
			"unknown worker":        {s: StatisticsScope{WorkerSid: "WK00000000000000000000000000000000"}},
			"unknown workflow":      {s: StatisticsScope{WorkflowSid: "WW00000000000000000000000000000000"}},
			"unknown workers queue": {s: StatisticsScope{Workers: &WorkerFilter{TaskQueueName: "nope"}}},
		} {
			tc.p.RealTime, tc.p.Cumulative = true, true
			if _, err := f.e.Statistics(f.ctx, f.ws.Sid, tc.s, tc.p); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if _, err := f.e.Statistics(f.ctx, "WS00000000000000000000000000000000", StatisticsScope{}, StatisticsParams{RealTime: true}); err == nil {
			t.Error("statistics of an unknown workspace")
		}
	})
}

func TestBulkQueueRealTimeStatistics(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("Support", "1==1", 1, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 120)
		f.worker("ana", nil, false, nil)
		task := f.task(nil, 0)
		f.route()
		f.advance(5 * time.Second)
		elsewhere := "WQ00000000000000000000000000000000"
		rows, err := f.e.TaskQueuesRealTimeStatistics(f.ctx, f.ws.Sid, []string{elsewhere, q.Sid})
		f.must(err)
		if len(rows) != 2 || rows[0].TaskQueueSid != elsewhere || rows[1].TaskQueueSid != q.Sid {
			t.Fatalf("rows = %+v, want one per SID in order", rows)
		}
		wantEqual(t, "another workspace's queue", *rows[0].RealTime, RealTimeStatistics{ActivityStatistics: []ActivityStatistic{},
			TasksByStatus: map[string]int{"pending": 0, "reserved": 0, "assigned": 0, "wrapping": 0}, TasksByPriority: map[string]int{}})
		rt := rows[1].RealTime
		wantEqual(t, "queue tasks and workers", [3]int{rt.TotalTasks, rt.TotalWorkers, rt.TotalAvailableWorkers}, [3]int{1, 1, 0})
		wantEqual(t, "longest waiting", rt.LongestWaiting, &WaitingTask{Sid: task.Sid, Age: 5})
		if rows[1].Cumulative != nil {
			t.Error("bulk statistics computed the cumulative part")
		}
		for name, sids := range map[string][]string{"none": nil, "not a queue SID": {"WK00000000000000000000000000000000"},
			"51": slices.Repeat([]string{q.Sid}, 51)} {
			if _, err := f.e.TaskQueuesRealTimeStatistics(f.ctx, f.ws.Sid, sids); errs.KindOf(err) != errs.Invalid {
				t.Errorf("%s: %v", name, err)
			}
		}
	})
}

package taskrouter

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// TestRandomizedRoutingKeepsItsInvariants races the router, the job runner
// (reservation timeouts), agents accepting, rejecting, wrapping and
// completing, and workers changing activity, then drains the work and checks:
// no task is assigned twice, no worker ever holds more than its capacity,
// capacity counters match the reservations, and every task ends completed or
// canceled — none is lost.
func TestRandomizedRoutingKeepsItsInvariants(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.e.SetClock(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
		f.jobs.Now = func() time.Time { return time.Now().UTC() }
		f.jobs.Poll = 20 * time.Millisecond
		const nWorkers, nTasks = 16, 120
		skillSet := []string{"a", "b", "c"}
		var queues []any
		for _, s := range skillSet {
			q := f.queue("q-"+s, fmt.Sprintf("skills HAS '%s'", s), 1+len(queues)%2, "FIFO")
			queues = append(queues, map[string]any{"filter_friendly_name": s, "expression": fmt.Sprintf("skill == '%s'", s),
				"targets": []any{map[string]any{"queue": q.Sid}}})
		}
		everyone := f.queue("everyone", "1==1", 1, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"filters": queues,
			"default_filter": map[string]any{"queue": everyone.Sid}}}, 1) // 1 s reservation timeout
		rng := rand.New(rand.NewPCG(1, 2))
		var workers []Worker
		for i := range nWorkers {
			skills := []string{skillSet[i%3], skillSet[(i+1)%3]}
			workers = append(workers, f.worker(fmt.Sprint("w", i), map[string]any{"skills": skills}, true,
				map[string]int{"chat": 1 + rng.IntN(3)}))
		}

		ctx, stop := context.WithCancel(f.ctx)
		var bg sync.WaitGroup
		defer func() { stop(); bg.Wait() }()
		bg.Add(2)
		go func() { defer bg.Done(); f.jobs.Run(ctx) }()
		go func() { // the router, woken often as a leader would be
			defer bg.Done()
			for ctx.Err() == nil {
				if _, err := f.r.RouteWorkspace(ctx, f.ws.Sid); err != nil && ctx.Err() == nil {
					t.Logf("route: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()

		var creators sync.WaitGroup
		for c := range 4 {
			creators.Add(1)
			go func() {
				defer creators.Done()
				for i := range nTasks / 4 {
					f.task(map[string]any{"skill": []string{"a", "b", "c", "z"}[(c+i)%4]}, int64(i%3))
				}
			}()
		}
		var agents sync.WaitGroup
		deadline := time.Now().Add(4 * time.Second)
		for a := range 6 {
			agents.Add(1)
			go func() {
				defer agents.Done()
				rng := rand.New(rand.NewPCG(uint64(a), 99))
				for time.Now().Before(deadline) {
					f.agentStep(ctx, rng, workers)
				}
			}()
		}
		creators.Wait()
		agents.Wait()
		f.checkInvariants(t)
		f.logOutcomes(t)
		var st []struct {
			AssignmentStatus string
			N                int
		}
		f.d.Gorm.Raw("SELECT assignment_status, COUNT(*) AS n FROM tasks GROUP BY assignment_status").Scan(&st)
		t.Logf("tasks: %+v", st)

		// Drain: everyone available, accept and complete until nothing waits.
		for _, w := range workers {
			w := w
			f.must(f.e.write(f.ctx, func(tx *db.Tx) error { return f.e.setWorkerActivity(tx, &w, f.activity["Available"], "drain") }))
		}
		for round := 0; ; round++ {
			var open int64
			f.must(d.Gorm.Model(&Task{}).Where("assignment_status NOT IN ?", []string{TaskCompleted, TaskCanceled}).Count(&open).Error)
			if open == 0 {
				break
			}
			if round > 400 {
				t.Fatalf("%d tasks still open after draining", open)
			}
			f.finishEverything()
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		bg.Wait()
		f.checkInvariants(t)
		var total int64
		f.must(d.Gorm.Model(&Task{}).Count(&total).Error)
		if total != nTasks {
			t.Fatalf("%d tasks exist, want %d", total, nTasks)
		}
	})
}

// agentStep does one random thing an agent or supervisor might do.
func (f *fixture) agentStep(ctx context.Context, rng *rand.Rand, workers []Worker) {
	switch rng.IntN(10) {
	case 0, 1, 2, 3: // answer an offer
		var r Reservation
		if f.d.Gorm.Where("workspace_sid = ? AND reservation_status = ?", f.ws.Sid, ReservationPending).
			Order("date_created").Offset(rng.IntN(3)).Limit(1).Find(&r).RowsAffected == 0 {
			return
		}
		if r.WorkerSid == workers[0].Sid || r.WorkerSid == workers[1].Sid {
			return // these two never answer: their offers time out
		}
		status := ReservationAccepted
		if rng.IntN(4) == 0 {
			status = ReservationRejected
		}
		_, _ = f.e.UpdateReservation(ctx, f.ws.Sid, r.Sid, ReservationParams{ReservationStatus: &status})
	case 4, 5, 6: // wrap or complete assigned work
		var task Task
		if f.d.Gorm.Where("workspace_sid = ? AND assignment_status IN ?", f.ws.Sid, []string{TaskAssigned, TaskWrapping}).
			Offset(rng.IntN(3)).Limit(1).Find(&task).RowsAffected == 0 {
			return
		}
		status, reason := TaskCompleted, "done"
		if task.AssignmentStatus == TaskAssigned && rng.IntN(2) == 0 {
			status = TaskWrapping
		}
		_, _ = f.e.UpdateTask(ctx, f.ws.Sid, task.Sid, TaskParams{AssignmentStatus: &status, Reason: &reason})
	case 7, 8: // go on break or come back
		w := workers[rng.IntN(len(workers))]
		act := f.activity["Available"]
		if rng.IntN(2) == 0 {
			act = f.activity["Break"]
		}
		_ = f.e.write(ctx, func(tx *db.Tx) error {
			cur, err := f.e.findWorker(tx.DB, f.ws.Sid, w.Sid)
			if err != nil {
				return err
			}
			return f.e.setWorkerActivity(tx, &cur, act, "test")
		})
	case 9: // now and then, cancel a waiting task
		if rng.IntN(40) != 0 {
			return
		}
		var task Task
		if f.d.Gorm.Where("workspace_sid = ? AND assignment_status IN ?", f.ws.Sid, []string{TaskPending, TaskReserved}).
			Offset(rng.IntN(5)).Limit(1).Find(&task).RowsAffected == 0 {
			return
		}
		status, reason := TaskCanceled, "customer left"
		_, _ = f.e.UpdateTask(ctx, f.ws.Sid, task.Sid, TaskParams{AssignmentStatus: &status, Reason: &reason})
	}
}

// finishEverything accepts every offer and completes every assigned task.
func (f *fixture) finishEverything() {
	var pending []Reservation
	f.must(f.d.Gorm.Where("workspace_sid = ? AND reservation_status = ?", f.ws.Sid, ReservationPending).Find(&pending).Error)
	for _, r := range pending {
		_, _, _ = f.e.AcceptReservation(f.ctx, f.ws.Sid, r.Sid)
	}
	var assigned []Task
	f.must(f.d.Gorm.Where("workspace_sid = ? AND assignment_status IN ?", f.ws.Sid, []string{TaskAssigned, TaskWrapping}).Find(&assigned).Error)
	status, reason := TaskCompleted, "drained"
	for _, t := range assigned {
		_, _ = f.e.UpdateTask(f.ctx, f.ws.Sid, t.Sid, TaskParams{AssignmentStatus: &status, Reason: &reason})
	}
}

func (f *fixture) checkInvariants(t *testing.T) {
	t.Helper()
	var doubles []struct {
		TaskSid string
		N       int
	}
	f.must(f.d.Gorm.Raw(`SELECT task_sid, COUNT(*) AS n FROM reservations WHERE reservation_status IN (?, ?, ?)
		GROUP BY task_sid HAVING COUNT(*) > 1`, ReservationAccepted, ReservationWrapping, ReservationCompleted).Scan(&doubles).Error)
	if len(doubles) > 0 {
		t.Fatalf("tasks assigned more than once: %+v", doubles)
	}
	// One statement, so one consistent snapshot while the router still runs.
	var wcs []struct {
		WorkerSid                string
		Used, Assigned, Capacity int
		Live, Held               int
	}
	f.must(f.d.Gorm.Raw(`SELECT wc.worker_sid, wc.used, wc.assigned, wc.capacity,
		(SELECT COUNT(*) FROM reservations r WHERE r.worker_sid = wc.worker_sid AND r.task_channel_sid = wc.task_channel_sid
			AND r.reservation_status IN (?, ?, ?)) AS live,
		(SELECT COUNT(*) FROM reservations r WHERE r.worker_sid = wc.worker_sid AND r.task_channel_sid = wc.task_channel_sid
			AND r.reservation_status IN (?, ?)) AS held
		FROM worker_channels wc WHERE wc.workspace_sid = ?`,
		ReservationPending, ReservationAccepted, ReservationWrapping, ReservationAccepted, ReservationWrapping, f.ws.Sid).
		Scan(&wcs).Error)
	for _, wc := range wcs {
		if wc.Used > wc.Capacity || wc.Used != wc.Live || wc.Assigned != wc.Held {
			t.Fatalf("worker %s channel: used %d assigned %d capacity %d, but %d live and %d held reservations",
				wc.WorkerSid, wc.Used, wc.Assigned, wc.Capacity, wc.Live, wc.Held)
		}
	}
	var mismatched int64
	f.must(f.d.Gorm.Raw(`SELECT COUNT(*) FROM tasks t WHERE t.assignment_status IN (?, ?) AND NOT EXISTS (
		SELECT 1 FROM reservations r WHERE r.task_sid = t.sid AND r.reservation_status IN (?, ?) AND r.worker_sid = t.worker_sid)`,
		TaskAssigned, TaskWrapping, ReservationAccepted, ReservationWrapping).Scan(&mismatched).Error)
	if mismatched > 0 {
		t.Fatalf("%d assigned tasks have no live reservation of their worker", mismatched)
	}
}

func (f *fixture) logOutcomes(t *testing.T) {
	var rows []struct {
		ReservationStatus string
		N                 int
	}
	f.must(f.d.Gorm.Raw(`SELECT reservation_status, COUNT(*) AS n FROM reservations GROUP BY reservation_status`).Scan(&rows).Error)
	t.Logf("reservations by outcome: %+v", rows)
}

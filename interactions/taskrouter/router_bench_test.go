package taskrouter

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// supportFixture is the shape `make bench` routes over: workers skilled in
// support and sales, each holding one SMS and one chat task, with room for
// 50 tasks on the default channel, and a workflow whose default filter
// sends every task to a Support queue.
func supportFixture(b *testing.B, dialect db.Dialect, workers int) *fixture {
	f := newFixture(b, dbtest.Open(b, dialect))
	f.e.SetClock(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
	for i := range workers {
		f.worker(fmt.Sprint("agent", i), map[string]any{"routing": map[string]any{"skills": []string{"support", "sales"}}},
			true, map[string]int{"sms": 1, "chat": 1, "default": 50})
	}
	f.must(f.d.Gorm.Exec("UPDATE worker_channels SET used = 1, assigned = 1 WHERE task_channel_sid IN ?",
		[]string{f.channel["sms"], f.channel["chat"]}).Error)
	q := f.queue("Support", "routing.skills HAS 'support'", 1, "FIFO")
	f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{},
		"default_filter": map[string]any{"queue": q.Sid}}}, 120)
	return f
}

// defaultTask creates a task on the default channel, as the bench does.
func (f *fixture) defaultTask() Task {
	f.t.Helper()
	ch, a, prio := "default", "{}", int64(0)
	t, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{Attributes: &a, Priority: &prio, TaskChannel: &ch})
	f.must(err)
	return t
}

// BenchmarkRoutingPass measures one wake-up as the bench causes it: a task
// arrives in a workspace of 500 workers, one routing pass offers it.
func BenchmarkRoutingPass(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			f := supportFixture(b, dialect, 500)
			f.route()
			var passes int
			var elapsed time.Duration
			for b.Loop() {
				b.StopTimer()
				f.defaultTask()
				b.StartTimer()
				start := time.Now()
				if n := f.route(); n != 1 {
					b.Fatalf("pass made %d offers, want 1", n)
				}
				elapsed += time.Since(start)
				passes++
				b.StopTimer()
				f.must(f.d.Gorm.Exec("UPDATE tasks SET assignment_status = 'completed' WHERE assignment_status = 'reserved'").Error)
				f.must(f.d.Gorm.Exec("UPDATE reservations SET reservation_status = 'completed' WHERE reservation_status = 'pending'").Error)
				f.must(f.d.Gorm.Exec("UPDATE worker_channels SET used = 0, assigned = 0 WHERE task_channel_sid = ?", f.channel["default"]).Error)
				b.StartTimer()
			}
			b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(passes), "ms/pass")
			b.ReportMetric(float64(passes)/elapsed.Seconds(), "assignments/s")
		})
	}
}

// BenchmarkRoutingBacklog measures offers per second when a flood has left
// 200 tasks waiting for 500 workers: passes run until every task is offered.
func BenchmarkRoutingBacklog(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			f := supportFixture(b, dialect, 500)
			const backlog = 200
			total, elapsed := 0, time.Duration(0)
			for b.Loop() {
				b.StopTimer()
				f.must(f.d.Gorm.Exec("UPDATE tasks SET assignment_status = 'completed' WHERE assignment_status = 'reserved'").Error)
				f.must(f.d.Gorm.Exec("UPDATE reservations SET reservation_status = 'completed' WHERE reservation_status = 'pending'").Error)
				f.must(f.d.Gorm.Exec("UPDATE worker_channels SET used = 0, assigned = 0 WHERE task_channel_sid = ?", f.channel["default"]).Error)
				for range backlog {
					f.defaultTask()
				}
				b.StartTimer()
				start := time.Now()
				for made := 0; made < backlog; {
					n := f.route()
					if n == 0 {
						b.Fatalf("routing stalled after %d offers", made)
					}
					made += n
				}
				elapsed += time.Since(start)
				total += backlog
			}
			b.ReportMetric(float64(total)/elapsed.Seconds(), "assignments/s")
		})
	}
}

package taskrouter

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// benchFixture is a workspace with many available workers, each with room
// for five chats.
func benchFixture(b *testing.B, dialect db.Dialect, workers int) *fixture {
	f := newFixture(b, dbtest.Open(b, dialect))
	f.e.SetClock(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
	for i := range workers {
		f.worker(fmt.Sprint("w", i), map[string]any{"skills": []string{"a", "b"}}, true, map[string]int{"chat": 5})
	}
	return f
}

// BenchmarkRoutingAssignments measures offers made per second by routing
// passes over a backlog: 500 waiting tasks, 200 workers with room for all.
func BenchmarkRoutingAssignments(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			f := benchFixture(b, dialect, 200)
			const backlog = 500
			total, elapsed := 0, time.Duration(0)
			for b.Loop() {
				b.StopTimer()
				f.must(f.d.Gorm.Exec("DELETE FROM reservations").Error)
				f.must(f.d.Gorm.Exec("DELETE FROM tasks").Error)
				f.must(f.d.Gorm.Exec("UPDATE worker_channels SET used = 0, assigned = 0").Error)
				for range backlog {
					f.task(nil, 0)
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

// BenchmarkTaskToReservation measures the time from a task's creation to its
// reservation with the router running as in production: woken by the
// database's notifications, not by polling.
func BenchmarkTaskToReservation(b *testing.B) {
	for _, dialect := range []db.Dialect{db.SQLite, db.Postgres} {
		b.Run(string(dialect), func(b *testing.B) {
			f := benchFixture(b, dialect, 50)
			ctx, stop := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); f.r.Run(ctx) }()
			defer func() { stop(); <-done }()
			time.Sleep(200 * time.Millisecond) // let the router take the lead and listen
			var lat []time.Duration
			for b.Loop() {
				start := time.Now()
				t := f.task(nil, 0)
				for {
					var n int64
					f.must(f.d.Gorm.Model(&Reservation{}).Where("task_sid = ?", t.Sid).Count(&n).Error)
					if n > 0 {
						break
					}
					if time.Since(start) > 10*time.Second {
						b.Fatal("no reservation within 10 s")
					}
					time.Sleep(200 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
				b.StopTimer()
				f.must(f.d.Gorm.Exec("UPDATE worker_channels SET used = 0, assigned = 0").Error)
				f.must(f.d.Gorm.Exec("UPDATE reservations SET reservation_status = 'canceled'").Error)
				b.StartTimer()
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		})
	}
}

package jobs_test

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

func TestJobsRunOnceRetryAndFailVisibly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
		now := time.Now().UTC()
		r.Now = func() time.Time { return now }
		calls := map[string]int{}
		r.Handle("ok", func(ctx context.Context, p string) error { calls["ok:"+p]++; return nil })
		r.Handle("flaky", func(ctx context.Context, p string) error {
			calls["flaky"]++
			if calls["flaky"] < 2 {
				return errors.New("temporary")
			}
			return nil
		})
		r.Handle("bad", func(ctx context.Context, p string) error { return jobs.Permanent(errors.New("no such number")) })

		err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, k := range []string{"ok", "flaky", "bad"} {
				if err := jobs.Enqueue(tx, k, "a", now); err != nil {
					return err
				}
			}
			return jobs.Enqueue(tx, "ok", "future", now.Add(time.Hour))
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := r.RunDue(ctx); err != nil || n != 3 {
			t.Fatalf("RunDue = %d, %v; want the 3 due jobs", n, err)
		}
		if calls["ok:a"] != 1 || calls["ok:future"] != 0 || calls["flaky"] != 1 {
			t.Fatalf("calls = %v", calls)
		}
		now = now.Add(10 * time.Minute) // past the flaky job's backoff, before the future job
		if n, _ := r.RunDue(ctx); n != 1 || calls["flaky"] != 2 {
			t.Fatalf("retry ran %d jobs, calls %v", n, calls)
		}
		failed, err := jobs.Failed(ctx, d, 10)
		if err != nil || len(failed) != 1 || failed[0].Kind != "bad" || failed[0].LastError != "no such number" {
			t.Fatalf("failed jobs = %+v, %v", failed, err)
		}
	})
}

func TestScheduleKeepsOneJobPerKeyAtTheEarliestTime(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		for _, at := range []time.Time{now.Add(time.Hour), now.Add(time.Minute), now.Add(2 * time.Hour)} {
			if err := d.InTx(ctx, func(tx *db.Tx) error { return jobs.Schedule(tx, "timer", "k1", "", at) }); err != nil {
				t.Fatal(err)
			}
		}
		var rows []jobs.Job
		if err := d.Gorm.Where("dedupe_key = ?", "k1").Find(&rows).Error; err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || !rows[0].RunAt.Equal(now.Add(time.Minute)) {
			t.Fatalf("jobs = %+v, want one due in a minute", rows)
		}
	})
}

func TestFinishedJobsArePurgedAndFailedOnesKept(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		r := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
		now := time.Now().UTC()
		r.Now = func() time.Time { return now }
		r.Handle("ok", func(context.Context, string) error { return nil })
		r.Handle("bad", func(context.Context, string) error { return jobs.Permanent(errors.New("broken")) })
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := jobs.Enqueue(tx, "ok", "", now); err != nil {
				return err
			}
			return jobs.Enqueue(tx, "bad", "", now)
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := r.PurgeDone(ctx, time.Hour); err != nil || n != 0 {
			t.Fatalf("purged %d fresh jobs (%v), want none", n, err)
		}
		now = now.Add(2 * time.Hour)
		if n, err := r.PurgeDone(ctx, time.Hour); err != nil || n != 1 {
			t.Fatalf("purged %d (%v), want the one done job", n, err)
		}
		if failed, _ := jobs.Failed(ctx, d, 10); len(failed) != 1 {
			t.Fatalf("failed jobs left = %d, want 1", len(failed))
		}
	})
}

func TestASlowJobDoesNotHoldUpTheOthers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(t.Context())
		r := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
		r.Workers, r.Poll = 2, 10*time.Millisecond
		release, ran := make(chan struct{}), make(chan string, 10)
		r.Handle("slow", func(ctx context.Context, p string) error { <-release; ran <- "slow"; return nil })
		r.Handle("ok", func(ctx context.Context, p string) error { ran <- p; return nil })
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := jobs.Enqueue(tx, "slow", "", time.Now().Add(-time.Second)); err != nil {
				return err
			}
			for _, p := range []string{"1", "2", "3", "4", "5"} {
				if err := jobs.Enqueue(tx, "ok", p, time.Now()); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan struct{})
		go func() { r.Run(ctx); close(stopped) }()
		for range 5 {
			select {
			case p := <-ran:
				if p == "slow" {
					t.Fatal("the slow job finished before it was released")
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the quick jobs waited behind the slow one")
			}
		}
		cancel()
		select {
		case <-stopped:
			t.Fatal("Run returned while a job it started was still running")
		case <-time.After(50 * time.Millisecond):
		}
		close(release)
		<-stopped
		if p := <-ran; p != "slow" {
			t.Fatalf("ran %q last, want the slow job", p)
		}
	})
}

func TestRunnersSharingADatabaseRunEachJobOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const n = 60
		var mu sync.Mutex
		calls := map[string]int{}
		done := make(chan struct{}, n*2)
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			for i := range n {
				if err := jobs.Enqueue(tx, "count", strconv.Itoa(i), time.Now()); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 3 {
			r := jobs.NewRunner(d, slog.New(slog.DiscardHandler))
			r.Workers, r.Poll = 4, 10*time.Millisecond
			r.Handle("count", func(ctx context.Context, p string) error {
				mu.Lock()
				calls[p]++
				mu.Unlock()
				done <- struct{}{}
				return nil
			})
			wg.Go(func() { r.Run(ctx) })
		}
		for range n {
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("only %d of %d jobs ran", len(calls), n)
			}
		}
		cancel()
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		for p, c := range calls {
			if c != 1 {
				t.Fatalf("job %s ran %d times", p, c)
			}
		}
		if len(calls) != n {
			t.Fatalf("%d distinct jobs ran, want %d", len(calls), n)
		}
	})
}

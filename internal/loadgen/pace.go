package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// spinFor is how much of each wait the pacer busy-waits: time.Sleep
// overshoots by about half a millisecond on a VM, which would otherwise
// become the floor of every latency measured from the intended time.
const spinFor = time.Millisecond

// Pace is an open-loop arrival process: it calls send for message i at
// start + i/rate, whether or not earlier sends have completed, for d. Each
// send runs in its own goroutine and gets its intended time, from which its
// latency is measured. Once inFlight sends are outstanding, a due send is
// shed (counted, not made) rather than delayed, so that a slow target shows
// as latency and shed load, never as a slower arrival rate.
//
// It returns the number of sends made and the pacer's own lag (actual
// start of each send after its intended time), the floor of any latency
// measured through it.
func Pace(ctx context.Context, rate float64, d time.Duration, inFlight int, rec *Recorder,
	send func(ctx context.Context, i int, intended time.Time)) (int, Latency) {
	lag := NewRecorder(time.Time{})
	start := time.Now().Add(5 * time.Millisecond)
	n := int(rate * d.Seconds())
	var busy atomic.Int64
	var wg sync.WaitGroup
	sent := 0
	for i := range n {
		intended := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if !waitUntil(ctx, intended) {
			break
		}
		lag.Observe(intended, time.Now())
		if busy.Add(1) > int64(inFlight) {
			busy.Add(-1)
			rec.Shed(intended)
			continue
		}
		sent++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer busy.Add(-1)
			send(ctx, i, intended)
		}()
	}
	wg.Wait()
	return sent, lag.Summary()
}

// waitUntil sleeps until shortly before t and spins the rest; false when
// ctx ended first.
func waitUntil(ctx context.Context, t time.Time) bool {
	if d := time.Until(t) - spinFor; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
		}
	}
	for time.Now().Before(t) {
	}
	return ctx.Err() == nil
}

package loadgen

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// spinMargin is how much earlier than its measured overshoot the pacer
// wakes, to busy-wait the rest: time.Sleep overshoots by about half a
// millisecond on a VM, which would otherwise become the floor of every
// latency measured from the intended time. Spinning a whole millisecond
// before each send would instead take a core of two at 1,000 sends a
// second, from the server being measured.
const spinMargin = 150 * time.Microsecond

// sleeper sleeps until shortly before a deadline and spins the rest,
// learning how late the runtime wakes it.
type sleeper struct {
	overshoot time.Duration // moving average of how late a sleep returns
}

// until waits for t; false when ctx ended first.
func (s *sleeper) until(ctx context.Context, t time.Time) bool {
	if d := time.Until(t) - s.overshoot - spinMargin; d > 0 {
		timer := time.NewTimer(d)
		want := time.Now().Add(d)
		select {
		case <-ctx.Done():
			timer.Stop()
			return false
		case <-timer.C:
			s.overshoot += (time.Since(want) - s.overshoot) / 8
		}
	} else {
		// Not slept: let the estimate decay, or one late wake-up could make
		// it exceed the gap between sends and spin the pacer for good.
		s.overshoot -= s.overshoot / 8
	}
	for time.Now().Before(t) {
	}
	return ctx.Err() == nil
}

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
	sleep := sleeper{overshoot: 500 * time.Microsecond}
	sent := 0
	for i := range n {
		intended := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if !sleep.until(ctx, intended) {
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

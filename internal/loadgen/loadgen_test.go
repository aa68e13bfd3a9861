package loadgen

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentilesAreOfSamplesIntendedAfterTheWarmUp(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewRecorder(t0)
	r.Observe(t0.Add(-time.Second), t0.Add(time.Hour)) // warm-up: dropped
	for i := 1; i <= 1000; i++ {
		r.Observe(t0, t0.Add(time.Duration(i)*time.Millisecond))
	}
	r.Error(t0)
	r.Error(t0.Add(-time.Second)) // warm-up: not counted
	s := r.Summary()
	want := Latency{Count: 1000, Errors: 1, P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000}
	if s != want {
		t.Fatalf("summary = %+v, want %+v", s, want)
	}
}

func TestTrackerTimesEachTokenOnceAndCountsTheUnseenAsLost(t *testing.T) {
	t0 := time.Unix(1000, 0)
	r := NewRecorder(time.Time{})
	tr := NewTracker(r)
	tr.Expect(Token(1, 1), t0)
	tr.Expect(Token(1, 2), t0)
	tr.Expect(Token(1, 12), t0)
	frame := []byte(`<div>hello ` + Token(1, 1) + `</div><div>` + Token(1, 12) + ` and ` + Token(9, 9) + `</div>`)
	tr.Scan(frame, t0.Add(3*time.Millisecond))
	tr.Scan(frame, t0.Add(9*time.Millisecond)) // seen again: not timed twice
	if lost := tr.Drain(); lost != 1 {
		t.Fatalf("lost = %d, want 1 (token 2 never seen)", lost)
	}
	s := r.Summary()
	if s.Count != 2 || s.Max != 3 || s.Lost != 1 {
		t.Fatalf("summary = %+v, want two samples of 3 ms and one lost", s)
	}
}

func TestPaceShedsRatherThanDelaysOnceTheInFlightBoundIsReached(t *testing.T) {
	r := NewRecorder(time.Time{})
	release := make(chan struct{})
	var started atomic.Int64
	// The sends hang until every due send was either made or shed, however
	// slowly a loaded machine runs the pacer.
	go func() {
		for started.Load()+r.Summary().Shed < 50 {
			time.Sleep(time.Millisecond)
		}
		close(release)
	}()
	sent, lag := Pace(context.Background(), 1000, 50*time.Millisecond, 10, r, func(ctx context.Context, i int, intended time.Time) {
		started.Add(1)
		<-release
	})
	if sent != 10 || r.Summary().Shed != 40 {
		t.Fatalf("sent %d, shed %d; want 10 sent (the bound) and 40 shed", sent, r.Summary().Shed)
	}
	if lag.Count != 50 {
		t.Fatalf("lag samples %d, want one per due send", lag.Count)
	}
}

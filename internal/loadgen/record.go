package loadgen

import (
	"slices"
	"sync"
	"time"
)

// Latency summarises one step's latencies in milliseconds, with what did
// not complete.
type Latency struct {
	Count  int     `json:"count"`
	Errors int64   `json:"errors"`
	Shed   int64   `json:"shed"`
	Lost   int64   `json:"lost"`
	P50    float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	P999   float64 `json:"p999_ms"`
	Max    float64 `json:"max_ms"`
}

// Recorder collects latencies measured from intended send times. Samples
// whose intended time falls before the end of the warm-up are dropped, so a
// step's first seconds (connection pools filling, caches warming) do not
// count.
type Recorder struct {
	mu     sync.Mutex
	warm   time.Time
	lat    []time.Duration
	errors int64
	shed   int64
	lost   int64
}

// NewRecorder records what was meant to be sent from warmUntil on.
func NewRecorder(warmUntil time.Time) *Recorder {
	return &Recorder{warm: warmUntil, lat: make([]time.Duration, 0, 1<<14)}
}

// Observe records one completion, intended at intended and seen at seen.
func (r *Recorder) Observe(intended, seen time.Time) {
	if intended.Before(r.warm) {
		return
	}
	r.mu.Lock()
	r.lat = append(r.lat, seen.Sub(intended))
	r.mu.Unlock()
}

// Error counts a send the target refused or failed.
func (r *Recorder) Error(intended time.Time) { r.count(intended, &r.errors) }

// Shed counts a send the pacer skipped because too many were in flight.
func (r *Recorder) Shed(intended time.Time) { r.count(intended, &r.shed) }

// Lost counts a send the target accepted but the observer never saw.
func (r *Recorder) Lost(intended time.Time) { r.count(intended, &r.lost) }

func (r *Recorder) count(intended time.Time, n *int64) {
	if intended.Before(r.warm) {
		return
	}
	r.mu.Lock()
	*n++
	r.mu.Unlock()
}

// Summary gives the percentiles of what was recorded so far.
func (r *Recorder) Summary() Latency {
	r.mu.Lock()
	lat := slices.Clone(r.lat)
	s := Latency{Count: len(lat), Errors: r.errors, Shed: r.shed, Lost: r.lost}
	r.mu.Unlock()
	if len(lat) == 0 {
		return s
	}
	slices.Sort(lat)
	at := func(q float64) float64 {
		i := int(q*float64(len(lat))+0.5) - 1
		return ms(lat[max(0, min(i, len(lat)-1))])
	}
	s.P50, s.P90, s.P99, s.P999, s.Max = at(0.50), at(0.90), at(0.99), at(0.999), ms(lat[len(lat)-1])
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

package loadgen

import (
	"bytes"
	"context"
	"strconv"
	"sync"
	"time"
)

// Customer is the customer side of a system under test: it sends one
// customer's message in (a carrier webhook, a chat socket, another
// product's message API). Send returns once the target has acknowledged the
// message; the body carries the token an observer matches on the agent side.
type Customer interface {
	// Name says what the target is, for the report.
	Name() string
	// Customers is how many distinct customers Send may be asked to write as.
	Customers() int
	// Send writes body as customer c (0 ≤ c < Customers()).
	Send(ctx context.Context, c int, body string) error
}

// tokenPrefix starts every token a body carries; nothing else the
// product renders contains it.
const tokenPrefix = "lgtok"

// Token is the marker of message i of a run: what Tracker looks for in the
// frames an observer receives.
func Token(run, i int) string {
	return tokenPrefix + strconv.Itoa(run) + "x" + strconv.Itoa(i) + "z"
}

// Tracker matches what observers see to what was sent: the latency of a
// message is from its intended send time to the first frame that carries
// its token.
type Tracker struct {
	rec     *Recorder
	mu      sync.Mutex
	pending map[string]time.Time
}

// NewTracker records matched latencies into rec.
func NewTracker(rec *Recorder) *Tracker {
	return &Tracker{rec: rec, pending: map[string]time.Time{}}
}

// Expect notes that a message carrying token was meant to be sent at
// intended. Call it before sending, so a fast observer cannot see the
// token first.
func (t *Tracker) Expect(token string, intended time.Time) {
	t.mu.Lock()
	t.pending[token] = intended
	t.mu.Unlock()
}

// Forget drops a token whose send failed: it is counted as an error, not
// as lost.
func (t *Tracker) Forget(token string) {
	t.mu.Lock()
	delete(t.pending, token)
	t.mu.Unlock()
}

// Scan looks for tokens in a frame received at at and records each one
// expected, once.
func (t *Tracker) Scan(frame []byte, at time.Time) {
	for {
		i := bytes.Index(frame, []byte(tokenPrefix))
		if i < 0 {
			return
		}
		frame = frame[i:]
		end := bytes.IndexByte(frame, 'z')
		if end < 0 {
			return
		}
		tok := string(frame[:end+1])
		frame = frame[end+1:]
		t.mu.Lock()
		intended, ok := t.pending[tok]
		if ok {
			delete(t.pending, tok)
		}
		t.mu.Unlock()
		if ok {
			t.rec.Observe(intended, at)
		}
	}
}

// Drain counts as lost every token still expected, once the observers
// had time to see them.
func (t *Tracker) Drain() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(t.pending)
	for tok, intended := range t.pending {
		t.rec.Lost(intended)
		delete(t.pending, tok)
	}
	return n
}

// Pending is how many expected tokens have not been seen yet.
func (t *Tracker) Pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending)
}

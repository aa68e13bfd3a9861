package webchat

import (
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"
	"golang.org/x/time/rate"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// Options tune the abuse limits. Zero fields take the defaults.
type Options struct {
	// SessionsPerMinute and SessionBurst limit how many sessions one client
	// IP may start (default 5 a minute, bursts of 5).
	SessionsPerMinute float64
	SessionBurst      int
	// RequestsPerSecond and RequestBurst limit every public webchat request
	// from one client IP (default 5 a second, bursts of 50: offices and
	// mobile carriers put many customers behind one address).
	RequestsPerSecond float64
	RequestBurst      int
	// MessagesPerSecond and MessageBurst limit the messages one chat
	// identity sends (default 5 a second, bursts of 10).
	MessagesPerSecond float64
	MessageBurst      int
	// TrackedKeys is how many IPs or identities each limit remembers
	// (default 100,000); beyond it the least recently seen are forgotten.
	TrackedKeys int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	set := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	set(&o.SessionsPerMinute, 5)
	setInt(&o.SessionBurst, 5)
	set(&o.RequestsPerSecond, 5)
	setInt(&o.RequestBurst, 50)
	set(&o.MessagesPerSecond, 5)
	setInt(&o.MessageBurst, 10)
	setInt(&o.TrackedKeys, 100_000)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Limits are token buckets per client IP and per chat identity, kept in
// memory on each node: a client spread over several nodes gets each node's
// allowance, which bounds abuse well enough without a shared store.
type Limits struct {
	sessions, requests, messages *keyedLimit
}

func newLimits(o Options) *Limits {
	return &Limits{
		sessions: newKeyedLimit(rate.Limit(o.SessionsPerMinute/60), o.SessionBurst, o.TrackedKeys, o.Now),
		requests: newKeyedLimit(rate.Limit(o.RequestsPerSecond), o.RequestBurst, o.TrackedKeys, o.Now),
		messages: newKeyedLimit(rate.Limit(o.MessagesPerSecond), o.MessageBurst, o.TrackedKeys, o.Now),
	}
}

// AllowMessage takes one message from the identity's allowance and reports
// whether it may be sent; the chat protocol answers a refused send with
// error 20429 and stores nothing.
func (l *Limits) AllowMessage(identity string) bool { return l.messages.allow(identity) }

// AllowRequest takes one public webchat request from the client IP's
// allowance, or refuses it (429, 20429).
func (l *Limits) AllowRequest(ip string) error {
	if !l.requests.allow(ip) {
		return errs.E(errs.RateLimited, errs.CodeRateLimit, "Too many webchat requests from your network; wait a moment and try again")
	}
	return nil
}

// allowSession takes one session start from the client IP's allowance.
func (l *Limits) allowSession(ip string) error {
	if !l.sessions.allow(ip) {
		return errs.E(errs.RateLimited, errs.CodeRateLimit, "Too many chats were started from your network; try again in a minute")
	}
	return nil
}

// keyedLimit is one token bucket per key. Buckets idle long enough to have
// refilled are dropped, so the map stays as small as the set of active keys.
type keyedLimit struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	now     func() time.Time
	buckets *expirable.LRU[string, *rate.Limiter]
}

func newKeyedLimit(limit rate.Limit, burst, size int, now func() time.Time) *keyedLimit {
	// A bucket refills fully in burst/limit; forgetting it after that much
	// idle time (at least 10 minutes, to keep the LRU's sweeper rare) gives
	// nobody more than a fresh bucket would.
	idle := max(time.Duration(float64(burst)/float64(limit)*float64(time.Second)), 10*time.Minute)
	return &keyedLimit{limit: limit, burst: burst, now: now, buckets: expirable.NewLRU[string, *rate.Limiter](size, nil, idle)}
}

func (k *keyedLimit) allow(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	b, ok := k.buckets.Get(key)
	if !ok {
		b = rate.NewLimiter(k.limit, k.burst)
	}
	k.buckets.Add(key, b) // renews the idle expiry
	return b.AllowN(k.now(), 1)
}

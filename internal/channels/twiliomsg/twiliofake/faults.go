package twiliofake

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Fault is how a send fails.
type Fault struct {
	// Status is the HTTP status answered; 500 when zero.
	Status int
	// Code is the Twilio error code in the answer's body; 0 for none.
	Code int
	// Message is the error's text; the status text when empty.
	Message string
	// RetryAfter is sent as Retry-After, in whole seconds, when positive.
	RetryAfter time.Duration
	// Accept makes the fake accept and record the message before failing:
	// Twilio has it, but its answer is lost.
	Accept bool
	// Drop closes the connection without any answer instead of answering
	// Status.
	Drop bool
}

type fault struct {
	Fault
	left int
}

// FailSends makes the next n sends fail with f, after any failures already
// queued. For example:
//
//	s.FailSends(2, twiliofake.Fault{Status: 503})               // Twilio down for two attempts
//	s.FailSends(1, twiliofake.Fault{Status: 400, Code: 21211})  // invalid number
//	s.FailSends(1, twiliofake.Fault{Status: 429, Code: 20429, RetryAfter: 2 * time.Second})
//	s.FailSends(1, twiliofake.Fault{Accept: true, Drop: true})  // sent, but the answer is lost
func (s *Server) FailSends(n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{Fault: f, left: n})
}

func (s *Server) nextFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0].Fault
	if s.faults[0].left--; s.faults[0].left == 0 {
		s.faults = s.faults[1:]
	}
	return f, true
}

func (f Fault) answer(w http.ResponseWriter) {
	if f.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
		panic(http.ErrAbortHandler) // no hijacking (HTTP/2): abort the stream instead
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(status)
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(f.RetryAfter.Round(time.Second)/time.Second)))
	}
	writeError(w, status, f.Code, msg)
}

// HoldSends makes sends wait, unanswered, until ReleaseSends. A held send is
// then handled as usual, whether or not its client still waits: a carrier
// that received a request may act on it after the caller gave up.
func (s *Server) HoldSends() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold == nil {
		s.hold = make(chan struct{})
	}
}

// ReleaseSends lets held sends proceed and stops holding new ones.
func (s *Server) ReleaseSends() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hold != nil {
		close(s.hold)
		s.hold = nil
	}
}

// WaitHeld waits until at least n sends are being held.
func (s *Server) WaitHeld(ctx context.Context, n int) error {
	if err := s.wait(ctx, func() bool { return s.held >= n }); err != nil {
		return fmt.Errorf("waiting for %d held sends: %w", n, err)
	}
	return nil
}

func (s *Server) waitWhileHeld() {
	s.mu.Lock()
	hold := s.hold
	if hold == nil {
		s.mu.Unlock()
		return
	}
	s.held++
	s.notify()
	s.mu.Unlock()
	<-hold
	s.mu.Lock()
	s.held--
	s.notify()
	s.mu.Unlock()
}

// wait blocks until cond, checked under s.mu, holds.
func (s *Server) wait(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/switchboardhq/switchboard/internal/loadgen"
)

// observers hands each received frame to the step being measured, if any.
type observers struct {
	cur atomic.Pointer[loadgen.Tracker]
}

func (o *observers) frame(b []byte, at time.Time) {
	if t := o.cur.Load(); t != nil {
		t.Scan(b, at)
	}
}

// paced is one open-loop step: send is called at rate for the plan's step
// length. With an observer, latency runs from the intended send to the
// first frame carrying the message's token; without one, to the target's
// acknowledgement.
type paced struct {
	name, target string
	rate         float64
	watch        *observers // nil: time the acknowledgement
	send         func(ctx context.Context, i int, body string) error
}

// runID numbers the tokens of each step apart.
var runID atomic.Int64

func (b *run) step(ctx context.Context, p paced, pids ...int) Step {
	b.settle(ctx)
	id := int(runID.Add(1))
	warm := time.Now().Add(b.plan.Warmup)
	rec := loadgen.NewRecorder(warm)
	ack := loadgen.NewRecorder(warm)
	tr := loadgen.NewTracker(rec)
	if p.watch != nil {
		p.watch.cur.Store(tr)
		defer p.watch.cur.Store(nil)
	}
	m, err := loadgen.StartMeter(b.server(), b.plan.DBName, append(pids, os.Getpid())...)
	if err != nil {
		b.res.Warnings = append(b.res.Warnings, err.Error())
	}
	sent, lag := loadgen.Pace(ctx, p.rate, b.plan.Step, 4096, rec, func(ctx context.Context, i int, intended time.Time) {
		tok := loadgen.Token(id, i)
		if p.watch != nil {
			tr.Expect(tok, intended)
		}
		err := p.send(ctx, i, "load "+tok+" hello")
		switch {
		case err != nil:
			if p.watch != nil {
				tr.Forget(tok)
			}
			rec.Error(intended)
			b.firstError(p.name, err)
		case p.watch == nil:
			rec.Observe(intended, time.Now())
		default:
			ack.Observe(intended, time.Now())
		}
	})
	if p.watch != nil {
		// What has not arrived a few seconds after the last send is lost.
		waitFor(ctx, 3*time.Second, func() bool { return tr.Pending() == 0 })
		tr.Drain()
	}
	s := Step{Name: p.name, Target: p.target, Rate: p.rate, Latency: rec.Summary(), Ack: ack.Summary(), Lag: lag}
	if m != nil {
		s.CPU = m.Stop()
		s.Disturbed = overloaded(s.CPU)
		if sent > 0 {
			s.CoreMs = s.CPU.Machine * s.CPU.Seconds * 1000 / float64(sent)
			s.ServerCoreMs = (s.CPU.Server + s.CPU.Database) * s.CPU.Seconds * 1000 / float64(sent)
		}
	}
	measured := (b.plan.Step - b.plan.Warmup).Seconds()
	s.Achieved = float64(s.Latency.Count) / measured
	b.logf("%s @%.0f/s: p50 %.2f ms p99 %.2f ms p99.9 %.2f ms max %.1f ms, %d done, err %d shed %d lost %d (acknowledged p50 %.2f ms p99 %.2f ms), cpu %.2f cores (server %.2f db %.2f other %.2f), lag p99 %.2f ms",
		p.name, p.rate, s.Latency.P50, s.Latency.P99, s.Latency.P999, s.Latency.Max, s.Latency.Count, s.Latency.Errors, s.Latency.Shed, s.Latency.Lost,
		s.Ack.P50, s.Ack.P99, s.CPU.Machine, s.CPU.Server, s.CPU.Database, s.CPU.Other, lag.P99)
	return s
}

// firstError keeps the first error of each step kind for the report.
func (b *run) firstError(step string, err error) {
	b.errMu.Lock()
	defer b.errMu.Unlock()
	if b.errSeen == nil {
		b.errSeen = map[string]bool{}
	}
	if !b.errSeen[step] {
		b.errSeen[step] = true
		b.res.Warnings = append(b.res.Warnings, fmt.Sprintf("%s: first error: %v", step, err))
	}
}

// settle waits (up to half a minute) until the server and its database
// are nearly idle, so that one row's backlog is not measured in the next.
func (b *run) settle(ctx context.Context) {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		m, err := loadgen.StartMeter(b.server(), b.plan.DBName)
		if err != nil {
			return
		}
		time.Sleep(500 * time.Millisecond)
		if c := m.Stop(); c.Server+c.Database < 0.3 {
			return
		}
	}
	b.logf("the server was still busy after 30 s; measuring anyway")
}

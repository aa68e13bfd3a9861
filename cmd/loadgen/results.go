package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/switchboardhq/switchboard/internal/loadgen"
	"github.com/switchboardhq/switchboard/internal/loadgen/pgfloor"
)

// Results is everything a run measured: bench.json.
type Results struct {
	Machine Machine `json:"machine"`
	Plan    plan    `json:"plan"`
	Seconds float64 `json:"seconds"`
	Floors  struct {
		Pg    pgfloor.Result  `json:"pg"`
		PgCPU loadgen.CPU     `json:"pg_cpu"`
		Echo  loadgen.Latency `json:"ws_echo"`
		Lag   loadgen.Latency `json:"pacer_lag"`
		Idle  Idle            `json:"idle_fiber"`
		Noop  Step            `json:"harness_noop"`
	} `json:"floors"`
	Idle Idle `json:"idle"`
	// Rest is the CPU used with every socket open and no traffic.
	Rest    loadgen.CPU `json:"at_rest"`
	Inbound Step        `json:"inbound"`
	Steps   []Step      `json:"inbound_steps"`
	MaxRate float64     `json:"inbound_max_per_s"`
	Reply   Step        `json:"reply"`
	Offer   Step        `json:"routing_offer"`
	Assign  Assign      `json:"routing_max"`
	// Reconnects counts agents' desktop sockets the server cut off.
	Reconnects int      `json:"desktop_reconnects"`
	Warnings   []string `json:"warnings"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs     int     `json:"cpus"`
	CPU      string  `json:"cpu"`
	MemoryGB float64 `json:"memory_gb"`
	Go       string  `json:"go"`
	Postgres string  `json:"postgres"`
}

// Idle is the cost of idle sockets held on a server.
type Idle struct {
	Sockets       int     `json:"sockets"`
	Failed        int     `json:"failed"`
	KBPerSocket   float64 `json:"kb_per_socket"`
	GoroutinesPer float64 `json:"goroutines_per_socket"`
}

// Step is one paced step: its target rate, latencies and CPU.
type Step struct {
	Name     string          `json:"name"`
	Target   string          `json:"target"`
	Rate     float64         `json:"rate"`
	Achieved float64         `json:"achieved_per_s"`
	Latency  loadgen.Latency `json:"latency"`
	// Ack is the send's own latency, to the target's acknowledgement (for
	// steps timed end to end).
	Ack loadgen.Latency `json:"acknowledged"`
	Lag loadgen.Latency `json:"pacer_lag"`
	CPU loadgen.CPU     `json:"cpu"`
	// CoreMs is the machine's CPU per message, in core-milliseconds.
	CoreMs float64 `json:"core_ms_per_msg"`
	// ServerCoreMs counts the server and the database only.
	ServerCoreMs float64 `json:"server_db_core_ms_per_msg"`
	Disturbed    bool    `json:"disturbed"`
}

// sustained says whether the step held its rate: ≥ 97% achieved, nothing
// failed, shed or lost, p99 within 50 ms.
func (s Step) sustained() bool {
	l := s.Latency
	return s.Achieved >= 0.97*s.Rate && l.Errors == 0 && l.Shed == 0 && l.Lost == 0 && l.P99 <= 50
}

// Assign is the router's maximum: tasks offered per second under a flood.
type Assign struct {
	Tasks          int         `json:"tasks"`
	Offered        int         `json:"offered"`
	PerSecond      float64     `json:"per_s"`
	Oversubscribed int         `json:"oversubscribed_channels"`
	CPU            loadgen.CPU `json:"cpu"`
	Disturbed      bool        `json:"disturbed"`
}

func ratio(x, floor float64) float64 {
	if floor == 0 {
		return 0
	}
	return x / floor
}

// printTable prints the run in perf.md's fixed format, every figure with
// its ratio to its floor; a step another process disturbed is marked "!".
func printTable(w io.Writer, r Results) {
	f := r.Floors
	mark := func(disturbed bool) string {
		if disturbed {
			return " !"
		}
		return ""
	}
	other := "other-cpu<=0.3 OK"
	for _, s := range append([]Step{f.Noop, r.Inbound, r.Reply, r.Offer}, r.Steps...) {
		if s.Disturbed {
			other = "other-cpu>0.3 on steps marked !"
		}
	}
	if r.Assign.Disturbed {
		other = "other-cpu>0.3 on steps marked !"
	}
	fmt.Fprintf(w, "bench %dcpu %s pg%s seed=%s msgs  idle=%d  %s\n", r.Machine.CPUs, strings.TrimPrefix(r.Machine.Go, "go"),
		r.Machine.Postgres, count(r.Plan.Dataset.Messages), r.Idle.Sockets, other)
	fmt.Fprintf(w, "floor pg.insert1.c8          %.0f tps      floor pg.msgtx.c8   %.0f tps   floor pg.route.c8  %.0f /s\n",
		f.Pg.Insert1, f.Pg.MsgTx, f.Pg.Route)
	fmt.Fprintf(w, "floor ws.echo@1k             p50 %.2f ms p99 %.2f ms   floor idle.fiber  %.1f KB/sock   pacer lag p99 %.2f ms\n",
		f.Echo.P50, f.Echo.P99, f.Idle.KBPerSocket, f.Lag.P99)
	fmt.Fprintf(w, "floor harness->noop@%-8.0f p50 %.2f ms p99 %.2f ms   cpu %.2f core-ms/msg%s\n",
		f.Noop.Rate, f.Noop.Latency.P50, f.Noop.Latency.P99, f.Noop.CoreMs, mark(f.Noop.Disturbed))
	in := r.Inbound
	fmt.Fprintf(w, "inbound  e2e@%-5.0f/s        p50 %.2f ms p99 %.2f ms p99.9 %.2f ms  err %d shed %d lost %d   cpu %.2f core-ms/msg (server+db %.2f)  = p99 %.1f * ws.echo, cpu %.1f * harness%s\n",
		in.Rate, in.Latency.P50, in.Latency.P99, in.Latency.P999, in.Latency.Errors, in.Latency.Shed, in.Latency.Lost, in.CoreMs, in.ServerCoreMs,
		ratio(in.Latency.P99, f.Echo.P99), ratio(in.CoreMs, f.Noop.CoreMs), mark(in.Disturbed))
	fmt.Fprintf(w, "inbound  max(p99<=50ms)      %.0f msg/s   = %.2f * pg.msgtx.c8   steps:", r.MaxRate, ratio(r.MaxRate, f.Pg.MsgTx))
	for _, s := range r.Steps {
		ok := "ok"
		if !s.sustained() {
			ok = "fail"
		}
		fmt.Fprintf(w, " %.0f:p99=%.1f/%s%s", s.Rate, s.Latency.P99, ok, mark(s.Disturbed))
	}
	fmt.Fprintln(w)
	rp := r.Reply
	fmt.Fprintf(w, "reply    e2e@%-5.0f/s        p50 %.2f ms p99 %.2f ms  err %d lost %d   (agent -> DB -> customer chat socket)  = p99 %.1f * ws.echo%s\n",
		rp.Rate, rp.Latency.P50, rp.Latency.P99, rp.Latency.Errors, rp.Latency.Lost, ratio(rp.Latency.P99, f.Echo.P99), mark(rp.Disturbed))
	offer := fmt.Sprintf("p50 %.2f ms p99 %.2f ms", r.Offer.Latency.P50, r.Offer.Latency.P99)
	if r.Offer.Latency.Count == 0 {
		offer = fmt.Sprintf("none within the step (%d lost)", r.Offer.Latency.Lost)
	}
	fmt.Fprintf(w, "routing  max assign          %.0f /s      = %.2f * pg.route.c8 ; offer->agent socket %s @%.0f tasks/s ; oversubscribed %d%s\n",
		r.Assign.PerSecond, ratio(r.Assign.PerSecond, f.Pg.Route), offer, r.Offer.Rate,
		r.Assign.Oversubscribed, mark(r.Assign.Disturbed || r.Offer.Disturbed))
	fmt.Fprintf(w, "idle     mem                 %.1f KB/sock = %.2f * idle.fiber ; goroutines/sock %.2f (fiber %.2f) ; at rest server %.2f db %.2f cores\n",
		r.Idle.KBPerSocket, ratio(r.Idle.KBPerSocket, f.Idle.KBPerSocket), r.Idle.GoroutinesPer, f.Idle.GoroutinesPer, r.Rest.Server, r.Rest.Database)
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning  %s\n", warn)
	}
	fmt.Fprintf(w, "took %.0f s\n", r.Seconds)
}

func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

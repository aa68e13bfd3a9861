package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/switchboardhq/switchboard/internal/loadgen"
	"github.com/switchboardhq/switchboard/internal/loadgen/seed"
	"github.com/switchboardhq/switchboard/internal/loadgen/switchboard"
)

var (
	credentialsRe = regexp.MustCompile(`HTTP Basic (AC[0-9a-f]{32}):(\S+)`)
	metricsRe     = regexp.MustCompile(`Metrics: (http://\S+)`)
)

// smsNumber is the number the bench's SMS customers text; their own
// numbers (+1555…) never collide with the seeded ones (+1999…).
const smsNumber = "+15557770000"

// sut is the system under test: the running server and what the bench set up in it.
type sut struct {
	s          *switchboard.Server
	dsn        string
	ws         switchboard.Workspace
	agents     []*switchboard.Agent
	workers    []string
	smsConv    []string // per agent: the SMS conversation open on its canvas
	chatConv   []string // per agent: the chat conversation it answers
	sms        *switchboard.SMS
	chats      *switchboard.ChatCustomers
	agentObs   observers
	chatObs    observers
	holder     *child
	metricsURL string
	key        switchboard.Key
	service    string
}

// product measures Switchboard: started on a fresh copy of the seeded
// data set, with agents and customers set up, then each row of the table.
func (b *run) product(ctx context.Context) error {
	dsn, err := seed.Prepare(ctx, b.adminDSN, b.plan.DBName, b.plan.Dataset, b.logf)
	if err != nil {
		return fmt.Errorf("data set: %w", err)
	}
	f := &sut{dsn: dsn}
	if err := b.startServer(ctx, f); err != nil {
		return err
	}
	if err := b.setUp(ctx, f); err != nil {
		return fmt.Errorf("set up: %w", err)
	}
	b.logf("idle: %d chat sockets held by a process of their own", b.plan.Idle)
	goroutines := func() (float64, error) { return metric(ctx, f.metricsURL, "go_goroutines") }
	key, _ := json.Marshal(f.key)
	idle, h, err := b.idle(ctx, b.server(), goroutines, "hold-chat", []string{"LOADGEN_KEY=" + string(key)},
		"--url", switchboard.ChatURL(f.s.Base), "--chat-service", f.service)
	if err != nil {
		return fmt.Errorf("idle: %w", err)
	}
	f.holder = h
	b.defer_(h.stop)
	b.res.Idle = idle
	b.logf("idle: %.1f KB and %.2f goroutines per socket (%d failed)", idle.KBPerSocket, idle.GoroutinesPer, idle.Failed)

	// What the server and the database cost at rest, with every socket open.
	if m, err := loadgen.StartMeter(b.server(), b.plan.DBName, os.Getpid(), h.pid()); err == nil {
		time.Sleep(b.plan.Hold / 2)
		b.res.Rest = m.Stop()
		b.logf("at rest: server %.2f cores, database %.2f cores", b.res.Rest.Server, b.res.Rest.Database)
	}
	inbound := func(rate float64) Step {
		return b.step(ctx, paced{name: "inbound", target: f.sms.Name(), rate: rate, watch: &f.agentObs,
			send: func(ctx context.Context, i int, body string) error { return f.sms.Send(ctx, i%f.sms.N, body) }}, h.pid())
	}
	b.profiled("inbound", f)
	b.res.Inbound = inbound(b.plan.Rate)
	b.maxInbound(inbound)
	b.profiled("reply", f)
	b.res.Reply = b.step(ctx, paced{name: "reply", target: "desktop composer -> chat socket", rate: b.plan.ReplyRate, watch: &f.chatObs,
		send: func(ctx context.Context, i int, body string) error {
			k := i % len(f.agents)
			return f.agents[k].Reply(ctx, f.chatConv[k], body)
		}}, h.pid())
	if err := b.routing(ctx, f); err != nil {
		return err
	}
	for _, a := range f.agents {
		b.res.Reconnects += a.Reconnects()
	}
	if b.res.Reconnects > 0 {
		b.res.Warnings = append(b.res.Warnings, fmt.Sprintf("the server cut agents' desktop sockets off as too far behind %d times; they reconnected as the page does", b.res.Reconnects))
	}
	return nil
}

// startServer starts Switchboard on dsn in dev mode, with metrics, and
// an API key for chat tokens.
func (b *run) startServer(ctx context.Context, f *sut) error {
	dataDir := b.logDir + "/data"
	env := []string{"SWITCHBOARD_SECRET_KEY=" + secretHex()}
	key := exec.CommandContext(ctx, b.serverBin, "apikey", "create", "--friendly-name", "loadgen", "--database-url", f.dsn, "--data-dir", dataDir)
	key.Env = append(os.Environ(), env...)
	out, err := key.Output()
	if err != nil {
		return fmt.Errorf("apikey create: %w", err)
	}
	if err := json.Unmarshal(out, &f.key); err != nil {
		return fmt.Errorf("apikey create printed %q: %w", out, err)
	}
	srv, err := start(b.logDir, "switchboard", env, b.serverBin, "serve", "--dev", "--addr", "127.0.0.1:0", "--database-url", f.dsn,
		"--data-dir", dataDir, "--metrics-addr", "127.0.0.1:0", "--log-level", "warn")
	if err != nil {
		return err
	}
	b.srv = srv
	b.defer_(func() { srv.stop(); b.srv = nil })
	m, err := srv.await(metricsRe, 3*time.Minute)
	if err != nil {
		return err
	}
	f.metricsURL = m[1]
	base, err := srv.await(listeningRe, time.Second)
	if err != nil {
		return err
	}
	creds, err := srv.await(credentialsRe, time.Second)
	if err != nil {
		return err
	}
	f.s = &switchboard.Server{Base: base[1], AccountSid: creds[1], AuthToken: creds[2], HTTP: switchboard.NewHTTPClient(1024)}
	b.logf("server: %s (pid %d)", f.s.Base, srv.pid())
	return nil
}

// forEach runs fn for 0 ≤ i < n, 32 at a time; the first error ends it.
func forEach(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(32)
	for i := range n {
		g.Go(func() error { return fn(ctx, i) })
	}
	return g.Wait()
}

// setUp makes the agents and their customers: each agent signed in with
// the desktop open, Available with capacity one SMS and one chat, and
// holding one conversation of each — the SMS one open on the canvas.
func (b *run) setUp(ctx context.Context, f *sut) error {
	var err error
	s, n := f.s, b.plan.Agents
	if f.ws, err = s.DemoWorkspace(ctx); err != nil {
		return err
	}
	if f.service, err = s.ChatService(ctx); err != nil {
		return err
	}
	b.logf("set up: %d agents", n)
	staff, err := insertAgents(ctx, f.dsn, n)
	if err != nil {
		return err
	}
	f.agents = make([]*switchboard.Agent, n)
	if err := forEach(ctx, n, func(ctx context.Context, i int) error {
		a, err := switchboard.SignIn(ctx, s, staff[i], f.agentObs.frame)
		if err != nil {
			return err
		}
		f.agents[i] = a
		return a.Connect(ctx)
	}); err != nil {
		return err
	}
	b.defer_(func() {
		for _, a := range f.agents {
			if a != nil {
				a.Close()
			}
		}
	})
	if f.workers, err = workersOf(ctx, f.dsn, staff); err != nil {
		return err
	}
	for i, a := range f.agents {
		// A task without a conversation (the routing rows') is done once
		// taken, as in pgbench's routing cycle: its capacity comes back.
		a.OnAccepted(func(ctx context.Context, reservation, conversation string) {
			if conversation != "" {
				return
			}
			err := s.Call(ctx, http.MethodPost, "/v1/Workspaces/"+f.ws.Sid+"/Workers/"+f.workers[i]+"/Reservations/"+reservation,
				url.Values{"ReservationStatus": {"completed"}}, nil)
			if err != nil {
				b.firstError("complete", err)
			}
		})
	}
	available := f.ws.Activities["Available"]
	if err := forEach(ctx, n, func(ctx context.Context, i int) error {
		id := fmt.Sprintf("bench-agent-%d@bench.invalid", i)
		attrs, _ := json.Marshal(map[string]any{"identity": id, "contact_uri": "client:" + id, "email": id,
			"full_name": fmt.Sprintf("Bench Agent %d", i), "roles": []string{"agent"}, "routing": map[string]any{"skills": []string{"support", "sales"}}})
		for ch, capacity := range map[string]int{"sms": 1, "chat": 1, "default": 50} {
			if err := s.SetCapacity(ctx, f.ws.Sid, f.workers[i], ch, capacity); err != nil {
				return err
			}
		}
		return s.UpdateWorker(ctx, f.ws.Sid, f.workers[i], url.Values{"Attributes": {string(attrs)}, "ActivitySid": {available}})
	}); err != nil {
		return err
	}
	b.logf("set up: %d SMS and %d chat customers, each taken by an agent", n, n)
	hook, err := s.SMSLine(ctx, smsNumber, "loadgenCarrierToken0123456789abcd")
	if err != nil {
		return err
	}
	f.sms = &switchboard.SMS{URL: hook, AuthToken: "loadgenCarrierToken0123456789abcd", To: smsNumber, N: n, HTTP: s.HTTP}
	if err := forEach(ctx, n, func(ctx context.Context, i int) error {
		return f.sms.Send(ctx, i, "Hello, I need help with my order")
	}); err != nil {
		return err
	}
	f.chats = &switchboard.ChatCustomers{Clients: make([]*switchboard.Chat, n), Conversations: make([]string, n)}
	if err := forEach(ctx, n, func(ctx context.Context, i int) error {
		identity := fmt.Sprintf("cust-%d", i)
		conv, err := s.ChatConversation(ctx, identity)
		if err != nil {
			return err
		}
		h, err := f.key.ChatHeader(identity, f.service)
		if err != nil {
			return err
		}
		c, err := switchboard.DialChat(ctx, s.Base, h, f.chatObs.frame)
		if err != nil {
			return err
		}
		f.chats.Clients[i], f.chats.Conversations[i] = c, conv
		if err := c.Subscribe(ctx, conv); err != nil {
			return err
		}
		return c.Send(ctx, conv, "Hi, a question about my invoice")
	}); err != nil {
		return err
	}
	b.defer_(func() {
		for _, c := range f.chats.Clients {
			if c != nil {
				c.Close()
			}
		}
	})
	var lastErr error
	if !waitFor(ctx, 2*time.Minute, func() bool {
		for _, a := range f.agents {
			convs, err := a.Conversations()
			if err != nil {
				lastErr = err
			}
			if len(convs) < 2 {
				return false
			}
		}
		return true
	}) {
		taken := 0
		for _, a := range f.agents {
			convs, _ := a.Conversations()
			taken += len(convs)
		}
		return fmt.Errorf("after 2 minutes agents hold %d of %d conversations (last accept error: %v)", taken, 2*n, lastErr)
	}
	f.smsConv, f.chatConv = make([]string, n), make([]string, n)
	for i, a := range f.agents {
		convs, _ := a.Conversations()
		for _, c := range convs[:2] {
			if slices.Contains(f.chats.Conversations, c) {
				f.chatConv[i] = c
			} else {
				f.smsConv[i] = c
			}
		}
		if f.smsConv[i] == "" || f.chatConv[i] == "" {
			return fmt.Errorf("agent %d holds %v, not one SMS and one chat conversation", i, convs)
		}
		if err := a.Open(f.smsConv[i], 0); err != nil {
			return err
		}
	}
	return nil
}

// insertAgents adds n local members of staff (the demo sign-in reaches
// them) and returns their SIDs; signing in provisions their workers.
func insertAgents(ctx context.Context, dsn string, n int) ([]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `INSERT INTO staff_users (sid, issuer, subject, identity, email, name, roles, date_created, date_updated)
		SELECT 'SU' || md5('bench-agent-' || i), 'local', e, e, e, 'Bench Agent ' || i, 'agent', now(), now()
		FROM generate_series(0, $1 - 1) i, LATERAL (SELECT 'bench-agent-' || i || '@bench.invalid' AS e) x
		ORDER BY i RETURNING sid`, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// workersOf reads the workers signing in provisioned for staff, in order.
func workersOf(ctx context.Context, dsn string, staff []string) ([]string, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, `SELECT s.worker_sid FROM unnest($1::text[]) WITH ORDINALITY AS u(sid, n)
		JOIN staff_users s ON s.sid = u.sid ORDER BY u.n`, staff)
	if err != nil {
		return nil, err
	}
	workers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err == nil && (len(workers) != len(staff) || slices.Contains(workers, "")) {
		err = fmt.Errorf("signing in provisioned %d workers for %d agents", len(workers), len(staff))
	}
	return workers, err
}

// routing measures offers: their latency to the agent's socket at a
// steady task rate, then how many tasks a second the router offers under
// a flood, and that no worker was given more than its capacity.
func (b *run) routing(ctx context.Context, f *sut) error {
	create := func(ctx context.Context, body string) error {
		attrs, _ := json.Marshal(map[string]string{"customerName": body})
		return f.s.Call(ctx, http.MethodPost, "/v1/Workspaces/"+f.ws.Sid+"/Tasks", url.Values{"Attributes": {string(attrs)}, "TaskChannel": {"default"}}, nil)
	}
	b.profiled("offer", f)
	b.res.Offer = b.step(ctx, paced{name: "offer", target: "TaskRouter REST -> desktop socket", rate: b.plan.RouteRate, watch: &f.agentObs,
		send: func(ctx context.Context, i int, body string) error { return create(ctx, body) }}, f.holder.pid())

	b.settle(ctx)
	b.logf("routing: a flood of tasks from 32 clients for %s", b.plan.Flood)
	id := int(runID.Add(1))
	rec := loadgen.NewRecorder(time.Time{})
	tr := loadgen.NewTracker(rec)
	f.agentObs.cur.Store(tr)
	defer f.agentObs.cur.Store(nil)
	m, err := loadgen.StartMeter(b.server(), b.plan.DBName, os.Getpid(), f.holder.pid())
	if err != nil {
		return err
	}
	var made atomic.Int64
	start := time.Now()
	stop := start.Add(b.plan.Flood)
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				i := int(made.Add(1))
				tok := loadgen.Token(id, i)
				tr.Expect(tok, time.Now())
				if err := create(ctx, "flood "+tok); err != nil {
					tr.Forget(tok)
					b.firstError("flood", err)
				}
			}
		}()
	}
	wg.Wait()
	waitFor(ctx, 30*time.Second, func() bool { return tr.Pending() == 0 })
	end := time.Now()
	lost := tr.Drain()
	a := Assign{Tasks: int(made.Load()), Offered: rec.Summary().Count, CPU: m.Stop()}
	a.PerSecond = float64(a.Offered) / end.Sub(start).Seconds()
	a.Disturbed = overloaded(a.CPU)
	if a.Oversubscribed, err = oversubscribed(ctx, f.dsn); err != nil {
		return err
	}
	b.res.Assign = a
	b.logf("routing: %d tasks, %d offered (%d never) in %.1f s: %.0f/s; %d channels over capacity", a.Tasks, a.Offered, lost,
		end.Sub(start).Seconds(), a.PerSecond, a.Oversubscribed)
	return nil
}

// oversubscribed counts worker channels holding more live reservations
// than their capacity.
func oversubscribed(ctx context.Context, dsn string) (int, error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0, err
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `SELECT count(*) FROM worker_channels wc
		WHERE (SELECT count(*) FROM reservations r WHERE r.worker_sid = wc.worker_sid AND r.task_channel_sid = wc.task_channel_sid
		       AND r.reservation_status IN ('pending', 'accepted', 'wrapping')) > wc.capacity`).Scan(&n)
	return n, err
}

// profiled starts the CPU profile when step is the one asked for.
func (b *run) profiled(step string, f *sut) {
	if b.profile != "" && b.profileStep == step {
		go b.cpuProfile(context.Background(), f.metricsURL)
	}
}

// cpuProfile saves the server's CPU profile over the measured part of the
// next step.
func (b *run) cpuProfile(ctx context.Context, metricsURL string) {
	time.Sleep(b.plan.Warmup)
	secs := int((b.plan.Step - b.plan.Warmup).Seconds())
	u := strings.TrimSuffix(metricsURL, "/metrics") + fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.firstError("profile", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(b.profile)
	if err != nil {
		b.firstError("profile", err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

// maxInbound finds the highest sustained inbound rate: up from the e2e
// row's rate in ×1.25 steps while it holds, or down from it until one
// does — halving while a step is far off (p99 over half a second, or sends
// shed), then by 1.25.
func (b *run) maxInbound(inbound func(rate float64) Step) {
	last := b.res.Inbound
	if last.sustained() {
		b.res.MaxRate = b.plan.Rate
		for rate, n := b.plan.Rate*1.25, 0; n < b.plan.MaxSteps; rate, n = rate*1.25, n+1 {
			s := inbound(rate)
			b.res.Steps = append(b.res.Steps, s)
			if !s.sustained() {
				return
			}
			b.res.MaxRate = rate
		}
		return
	}
	rate := b.plan.Rate
	for range b.plan.MaxSteps {
		if last.Latency.P99 > 500 || last.Latency.Shed > 0 {
			rate /= 2
		} else {
			rate /= 1.25
		}
		last = inbound(rate)
		b.res.Steps = append(b.res.Steps, last)
		if last.sustained() {
			b.res.MaxRate = rate
			return
		}
	}
}

package interactions_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// TestRandomizedInteractionsKeepTheirInvariants races customers writing,
// the job runner, the router, agents answering offers, transferring (cold
// and warm, to workers and queues), wrapping up, leaving and closing
// channels, and workers changing activity, over both engines and the
// interactions layer. It checks, in single SQL statements (one snapshot
// each) while everything runs and again at the end: no task is accepted
// twice, worker capacity counters match the reservations and never exceed
// capacity, a conversation has at most one open interaction channel, an
// agent is in a conversation exactly while an active agent participant of
// the interaction says so, and assigned tasks and active agents go together.
// Then it drains the work and checks every task ended, no agent is left in
// any conversation, every channel and conversation is parked or closed, and
// a customer message to a conversation nobody works always becomes work.
func TestRandomizedInteractionsKeepTheirInvariants(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		start := time.Now()
		c := newChaos(t, d)
		c.run(4 * time.Second)
		t.Logf("took %v", time.Since(start).Round(time.Millisecond))
	})
}

// chaos is the randomized test's world: the fixture plus its workers,
// queues and customers, and tallies of what happened.
type chaos struct {
	*fixture
	// ctx (shadowing the fixture's) is what every call of the run uses: the
	// watchdog cancels it when the run is stuck, so that it ends.
	ctx       context.Context
	cancelAll context.CancelFunc
	stuck     atomic.Bool
	workers   []taskrouter.Worker
	identity  []string // the workers' conversation identities
	queues    []string
	activity  map[string]string // name → SID
	customers []customer
	// A router and job runner of our own, whose warnings and errors we read.
	watchedRouter *taskrouter.Router
	watchedRunner *jobs.Runner
	logs          *logRecorder

	mu       sync.Mutex
	outcomes map[string]int // "op kind" → count
	internal atomic.Int32
}

type customer struct {
	conversation string
	author       string // the SMS address or chat identity the customer writes as
}

func newChaos(t *testing.T, d *db.DB) *chaos {
	f := newFixture(t, d)
	c := &chaos{fixture: f, activity: map[string]string{}, outcomes: map[string]int{}, logs: &logRecorder{}}
	c.ctx, c.cancelAll = context.WithCancel(f.ctx)
	t.Cleanup(c.cancelAll)
	var acts []taskrouter.Activity
	f.must(d.Gorm.Where("workspace_sid = ?", f.ws.Sid).Find(&acts).Error)
	for _, a := range acts {
		c.activity[a.FriendlyName] = a.Sid
	}
	// Offers of the inbound workflow time out after a second, so the
	// agent who never answers makes timeouts within the run.
	wfs, _, err := f.tr.Workflows(f.ctx, f.ws.Sid, "", taskrouter.Page{Limit: 10})
	f.must(err)
	for _, wf := range wfs {
		_, err := f.tr.UpdateWorkflow(f.ctx, f.ws.Sid, wf.Sid, taskrouter.WorkflowParams{TaskReservationTimeout: ptr(1)})
		f.must(err)
	}
	qs, _, err := f.tr.TaskQueues(f.ctx, f.ws.Sid, taskrouter.TaskQueueFilter{}, taskrouter.Page{Limit: 10})
	f.must(err)
	for _, q := range qs {
		c.queues = append(c.queues, q.Sid)
	}
	// A second queue offers each task to two workers at once: the loser's
	// offer is rescinded.
	support, err := f.tr.CreateTaskQueue(f.ctx, f.ws.Sid, taskrouter.TaskQueueParams{FriendlyName: ptr("Support"),
		TargetWorkers: ptr("1==1"), MaxReservedWorkers: ptr(2)})
	f.must(err)
	c.queues = append(c.queues, support.Sid)
	for i := range 10 {
		w := f.worker(fmt.Sprint("agent", i))
		c.workers = append(c.workers, w)
		c.identity = append(c.identity, w.FriendlyName) // contact_uri client:<name>
	}
	for i := range 12 {
		conv, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		cu := customer{conversation: conv.Sid}
		p := conversations.ParticipantParams{Attributes: ptr(fmt.Sprintf(`{"friendlyName":"Customer %d"}`, i))}
		if i%3 == 2 { // a chat guest
			cu.author = fmt.Sprintf("guest-%d", i)
			p.Identity = &cu.author
		} else {
			cu.author = fmt.Sprintf("+1555123%04d", i)
			p.Address, p.ProxyAddress = &cu.author, ptr("+15559870000")
		}
		_, err = f.conv.AddParticipant(f.ctx, f.service, conv.Sid, p)
		f.must(err)
		c.customers = append(c.customers, cu)
	}
	// A router and runner of our own, whose logs we read: a routing or job
	// error is a failure even though no caller sees it.
	log := slog.New(c.logs)
	c.watchedRouter = taskrouter.NewRouter(f.tr, log)
	c.watchedRunner = jobs.NewRunner(d, log)
	c.watchedRunner.Poll = 20 * time.Millisecond
	f.conv.RegisterJobs(c.watchedRunner)
	f.tr.RegisterJobs(c.watchedRunner)
	f.svc.RegisterJobs(c.watchedRunner)
	return c
}

func (c *chaos) run(d time.Duration) {
	t := c.t
	// A run that makes no progress (every connection taken by transactions
	// waiting for each other) would hang: show where it is stuck, then
	// cancel everything so that the test fails instead.
	watchdog := time.AfterFunc(5*d+15*time.Second, func() {
		c.stuck.Store(true)
		t.Errorf("the run is stuck; blocked calls:\n%s", blockedStacks())
		c.cancelAll()
	})
	defer watchdog.Stop()
	ctx, stop := context.WithCancel(c.ctx)
	var bg sync.WaitGroup
	stopped := false
	halt := func() {
		if !stopped {
			stopped = true
			c.logs.off.Store(true) // a job cut short by the cancel is no failure
			stop()
			bg.Wait()
		}
	}
	defer halt()
	bg.Add(2)
	go func() { defer bg.Done(); c.watchedRunner.Run(ctx) }()
	go func() {
		defer bg.Done()
		for ctx.Err() == nil {
			if _, err := c.watchedRouter.RouteWorkspace(ctx, c.ws.Sid); err != nil && ctx.Err() == nil {
				c.record("route", err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	// The actors stop after d or, if the mix of outcomes is still too thin
	// (a slow or loaded machine: CI runs every package at once), once it is
	// rich enough, but by 5d at most.
	var done atomic.Bool
	var actors sync.WaitGroup
	for i := range 2 {
		actors.Add(1)
		go func() {
			defer actors.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 7))
			for !done.Load() {
				cu := c.customers[rng.IntN(len(c.customers))]
				c.record("message", c.say(cu))
				time.Sleep(time.Duration(5+rng.IntN(30)) * time.Millisecond)
			}
		}()
	}
	for i := range 6 {
		actors.Add(1)
		go func() {
			defer actors.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 99))
			for !done.Load() {
				c.agentStep(rng)
				time.Sleep(time.Duration(rng.IntN(4)) * time.Millisecond)
			}
		}()
	}
	actors.Add(1)
	go func() { // invariants hold at every moment, not only at the end
		defer actors.Done()
		seen := map[string]bool{}
		for !done.Load() {
			for _, v := range c.violations(false) {
				if !seen[v] {
					seen[v] = true
					t.Errorf("during the run: %s", v)
				}
			}
			time.Sleep(150 * time.Millisecond)
		}
	}()
	began := time.Now()
	time.Sleep(d)
	for end := time.Now().Add(4 * d); time.Now().Before(end); time.Sleep(250 * time.Millisecond) {
		if _, rich := c.mix(); rich {
			break
		}
	}
	done.Store(true)
	n, _ := c.mix()
	t.Logf("actors ran for %v: %+v", time.Since(began).Round(time.Millisecond), n)
	actors.Wait()
	if c.internal.Load() > 0 || t.Failed() || c.stuck.Load() {
		c.logOutcomes()
		t.FailNow()
	}

	// Quiet: nobody acts but the runner and the router, which can make
	// work but never end it. A customer writing to a conversation nobody
	// works must get work; one somebody works needs none.
	c.waitInbound()
	c.pingAndExpectWork("after the run")
	c.drain("after the run")
	c.checkDrained()

	// Drained, nobody works anything: every conversation's next message is
	// new work, once, on its parked channel.
	c.pingAndExpectWork("after draining")
	var live []struct {
		MediaChannelSid string
		N               int
	}
	c.must(c.d.Gorm.WithContext(c.ctx).Raw(`SELECT ch.media_channel_sid, COUNT(*) AS n FROM interaction_channels ch
		JOIN interaction_invites i ON i.channel_sid = ch.sid JOIN tasks t ON t.sid = i.task_sid
		WHERE t.assignment_status IN ? GROUP BY ch.media_channel_sid`, liveTask).Scan(&live).Error)
	if len(live) != len(c.customers) {
		t.Errorf("after pinging every drained conversation, %d conversations have live work, want %d", len(live), len(c.customers))
	}
	for _, l := range live {
		if l.N != 1 {
			t.Errorf("conversation %s has %d live tasks after one message, want 1", l.MediaChannelSid, l.N)
		}
	}
	c.drain("after the pings")
	c.checkDrained()
	halt()
	c.logs.mu.Lock()
	for _, m := range c.logs.msgs {
		t.Errorf("router or job runner: %s", m)
	}
	c.logs.mu.Unlock()
	c.logOutcomes()
	c.checkMix()
}

var liveTask = []string{taskrouter.TaskPending, taskrouter.TaskReserved, taskrouter.TaskAssigned, taskrouter.TaskWrapping}

// answering is the work that answers a customer: waiting for an agent or
// assigned to one. Wrapping work does not: that agent left the conversation.
var answering = []string{taskrouter.TaskPending, taskrouter.TaskReserved, taskrouter.TaskAssigned}

func (c *chaos) say(cu customer) error {
	_, err := c.conv.AddMessage(c.ctx, c.service, cu.conversation, conversations.MessageParams{Author: ptr(cu.author), Body: ptr("hello?")})
	return err
}

// record tallies an operation's outcome. Conflicts and missing resources
// are what racing callers expect; an internal error is a failure.
func (c *chaos) record(op string, err error) {
	kind := "ok"
	if err != nil {
		kind = map[errs.Kind]string{errs.Internal: "internal", errs.Invalid: "invalid", errs.NotFound: "notfound",
			errs.Conflict: "conflict"}[errs.KindOf(err)]
		if kind == "" {
			kind = fmt.Sprint("kind", errs.KindOf(err))
		}
	}
	c.mu.Lock()
	c.outcomes[op+" "+kind]++
	c.mu.Unlock()
	if kind == "internal" {
		if c.internal.Add(1) <= 10 {
			c.t.Errorf("%s: internal error: %v%s", op, err, pgDetail(err))
		}
	}
}

// pgDetail is what Postgres says about an error beyond its message: for a
// deadlock, who waited for what.
func pgDetail(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return fmt.Sprintf(" (%s; %s)", pg.Detail, pg.Where)
	}
	return ""
}

// agentStep does one random thing an agent (or their supervisor) might do.
func (c *chaos) agentStep(rng *rand.Rand) {
	g := c.d.Gorm.WithContext(c.ctx)
	switch n := rng.IntN(20); {
	case n < 8: // answer an offer
		// The first two agents never answer: their offers time out.
		var rs []taskrouter.Reservation
		if err := g.Where("workspace_sid = ? AND reservation_status = ? AND worker_sid NOT IN ?", c.ws.Sid,
			taskrouter.ReservationPending, []string{c.workers[0].Sid, c.workers[1].Sid}).
			Order("date_created").Limit(20).Find(&rs).Error; err != nil || len(rs) == 0 {
			if err != nil {
				c.record("list offers", err)
			}
			return
		}
		r := rs[rng.IntN(len(rs))]
		switch k := rng.IntN(10); {
		case k < 2:
			_, err := c.tr.UpdateReservation(c.ctx, c.ws.Sid, r.Sid, taskrouter.ReservationParams{ReservationStatus: ptr(taskrouter.ReservationRejected)})
			c.record("reject", err)
		case k < 6:
			_, _, err := c.tr.AcceptReservation(c.ctx, c.ws.Sid, r.Sid)
			c.record("accept", err)
		default:
			_, err := c.tr.UpdateReservation(c.ctx, c.ws.Sid, r.Sid, taskrouter.ReservationParams{ReservationStatus: ptr(taskrouter.ReservationAccepted)})
			c.record("accept", err)
		}
	case n < 11: // transfer from an active agent
		p, ok := c.randomAgent(rng, interactions.ParticipantActive)
		if !ok {
			return
		}
		spec := interactions.TransferSpec{From: p.Sid, Type: interactions.TransferCold, Note: "over to you"}
		if rng.IntN(2) == 0 {
			spec.Type = interactions.TransferWarm
		}
		if rng.IntN(5) < 3 {
			for spec.To == "" || spec.To == workerOf(p) {
				spec.To = c.workers[rng.IntN(len(c.workers))].Sid
			}
		} else {
			spec.To = c.queues[rng.IntN(len(c.queues))]
		}
		_, err := c.svc.CreateTransfer(c.ctx, p.InteractionSid, p.ChannelSid, spec)
		c.record("transfer "+spec.Type, err)
	case n < 16: // wrap up or leave
		p, ok := c.randomAgent(rng, interactions.ParticipantActive, interactions.ParticipantWrapup)
		if !ok {
			return
		}
		status := interactions.ParticipantClosed
		if p.Status == interactions.ParticipantActive && rng.IntN(5) < 2 {
			status = interactions.ParticipantWrapup
		}
		_, err := c.svc.UpdateParticipant(c.ctx, p.InteractionSid, p.ChannelSid, p.Sid, status)
		c.record("participant "+status, err)
	case n < 17: // close or park the channel
		p, ok := c.randomAgent(rng, interactions.ParticipantActive)
		if !ok {
			return
		}
		status, routing := interactions.ChannelClosed, `{"status":"wrapup"}`
		switch rng.IntN(4) {
		case 0:
			routing = `{"status":"closed"}`
		case 1:
			status, routing = interactions.ChannelInactive, `{"status":"closed"}`
		}
		_, err := c.svc.UpdateChannel(c.ctx, p.InteractionSid, p.ChannelSid, status, routing)
		c.record("channel "+status, err)
	case n < 19: // a worker changes activity; timed-out ones come back
		var off []taskrouter.Worker
		if err := g.Where("workspace_sid = ? AND available = ?", c.ws.Sid, false).Find(&off).Error; err != nil {
			if err != nil {
				c.record("list workers", err)
			}
			return
		}
		w := c.workers[rng.IntN(len(c.workers))]
		if len(off) > 0 && rng.IntN(4) > 0 {
			w = off[rng.IntN(len(off))]
		}
		p := taskrouter.WorkerParams{ActivitySid: ptr(c.activity["Available"])}
		if rng.IntN(4) == 0 {
			p.ActivitySid, p.RejectPendingReservations = ptr(c.activity["Break"]), ptr(rng.IntN(2) == 0)
		}
		_, err := c.tr.UpdateWorker(c.ctx, c.ws.Sid, w.Sid, p)
		c.record("activity", err)
	default: // withdraw a transfer nobody took yet
		var trs []interactions.Transfer
		if err := g.Where("status = ?", "active").Limit(5).Find(&trs).Error; err != nil || len(trs) == 0 {
			if err != nil {
				c.record("list transfers", err)
			}
			return
		}
		if rng.IntN(3) > 0 {
			return
		}
		tr := trs[rng.IntN(len(trs))]
		_, err := c.svc.CancelTransfer(c.ctx, tr.InteractionSid, tr.ChannelSid, tr.Sid)
		c.record("cancel transfer", err)
	}
}

// randomAgent picks an agent participant in one of the statuses.
func (c *chaos) randomAgent(rng *rand.Rand, statuses ...string) (interactions.Participant, bool) {
	var ps []interactions.Participant
	if err := c.d.Gorm.WithContext(c.ctx).Where("type = ? AND status IN ?", interactions.TypeAgent, statuses).
		Order("date_created").Find(&ps).Error; err != nil || len(ps) == 0 {
		if err != nil {
			c.record("list agents", err)
		}
		return interactions.Participant{}, false
	}
	return ps[rng.IntN(len(ps))], true
}

func workerOf(p interactions.Participant) string {
	var rp struct {
		WorkerSid string `json:"worker_sid"`
	}
	_ = json.Unmarshal([]byte(p.RoutingProperties), &rp)
	return rp.WorkerSid
}

// violations checks the invariants that hold at every moment, each in one
// statement so it sees one consistent snapshot while everything runs.
func (c *chaos) violations(final bool) []string {
	var out []string
	q := func(dest any, sql string, args ...any) {
		if err := c.d.Gorm.WithContext(c.ctx).Raw(sql, args...).Scan(dest).Error; err != nil {
			out = append(out, "query: "+err.Error())
		}
	}
	var doubles []struct {
		TaskSid string
		N       int
	}
	q(&doubles, `SELECT task_sid, COUNT(*) AS n FROM reservations WHERE reservation_status IN ? GROUP BY task_sid HAVING COUNT(*) > 1`,
		[]string{taskrouter.ReservationAccepted, taskrouter.ReservationWrapping, taskrouter.ReservationCompleted})
	for _, x := range doubles {
		out = append(out, fmt.Sprintf("task %s accepted %d times", x.TaskSid, x.N))
	}
	var wcs []struct {
		WorkerSid                string
		Used, Assigned, Capacity int
		Live, Held               int
	}
	q(&wcs, `SELECT wc.worker_sid, wc.used, wc.assigned, wc.capacity,
		(SELECT COUNT(*) FROM reservations r WHERE r.worker_sid = wc.worker_sid AND r.task_channel_sid = wc.task_channel_sid
			AND r.reservation_status IN ?) AS live,
		(SELECT COUNT(*) FROM reservations r WHERE r.worker_sid = wc.worker_sid AND r.task_channel_sid = wc.task_channel_sid
			AND r.reservation_status IN ?) AS held
		FROM worker_channels wc WHERE wc.workspace_sid = ?`,
		[]string{taskrouter.ReservationPending, taskrouter.ReservationAccepted, taskrouter.ReservationWrapping},
		[]string{taskrouter.ReservationAccepted, taskrouter.ReservationWrapping}, c.ws.Sid)
	for _, wc := range wcs {
		if wc.Used > wc.Capacity || wc.Used != wc.Live || wc.Assigned != wc.Held {
			out = append(out, fmt.Sprintf("worker %s channel: used %d assigned %d capacity %d, but %d live and %d held reservations",
				wc.WorkerSid, wc.Used, wc.Assigned, wc.Capacity, wc.Live, wc.Held))
		}
	}
	var open []struct {
		MediaChannelSid string
		N               int
	}
	q(&open, `SELECT media_channel_sid, COUNT(*) AS n FROM interaction_channels WHERE status IN ? GROUP BY media_channel_sid HAVING COUNT(*) > 1`,
		[]string{interactions.ChannelSetup, interactions.ChannelActive, interactions.ChannelInactive})
	for _, x := range open {
		out = append(out, fmt.Sprintf("conversation %s has %d open interaction channels", x.MediaChannelSid, x.N))
	}
	// An agent is in a conversation exactly while an active agent
	// participant of its interaction stands for them.
	var strays []struct {
		ConversationSid string
		Identity        string
	}
	q(&strays, `SELECT p.conversation_sid, p.identity FROM participants p WHERE p.identity IN ? AND NOT EXISTS (
		SELECT 1 FROM interaction_participants ip WHERE ip.conversation_participant_sid = p.sid AND ip.type = ? AND ip.status = ?)`,
		c.identity, interactions.TypeAgent, interactions.ParticipantActive)
	for _, x := range strays {
		out = append(out, fmt.Sprintf("agent %s is in conversation %s without an active agent participant", x.Identity, x.ConversationSid))
	}
	var ghosts []struct {
		Sid        string
		ChannelSid string
	}
	q(&ghosts, `SELECT ip.sid, ip.channel_sid FROM interaction_participants ip WHERE ip.type = ? AND ip.status = ? AND NOT EXISTS (
		SELECT 1 FROM participants p WHERE p.sid = ip.conversation_participant_sid)`, interactions.TypeAgent, interactions.ParticipantActive)
	for _, x := range ghosts {
		out = append(out, fmt.Sprintf("active agent participant %s of channel %s is not in the conversation", x.Sid, x.ChannelSid))
	}
	// An interaction's task is assigned exactly while its agent is active.
	var unmanned []string
	q(&unmanned, `SELECT t.sid FROM tasks t JOIN interaction_invites i ON i.task_sid = t.sid WHERE t.assignment_status = ?
		AND NOT EXISTS (SELECT 1 FROM interaction_participants ip WHERE ip.type = ? AND ip.status = ?
			AND ip.routing_properties LIKE '%"task_sid":"' || t.sid || '"%')`,
		taskrouter.TaskAssigned, interactions.TypeAgent, interactions.ParticipantActive)
	for _, x := range unmanned {
		out = append(out, fmt.Sprintf("task %s is assigned but no active agent works it", x))
	}
	var idle []struct {
		Sid              string
		AssignmentStatus string
	}
	q(&idle, `SELECT ip.sid, t.assignment_status FROM interaction_participants ip JOIN tasks t
		ON ip.routing_properties LIKE '%"task_sid":"' || t.sid || '"%'
		WHERE ip.type = ? AND ip.status = ? AND t.assignment_status <> ?`,
		interactions.TypeAgent, interactions.ParticipantActive, taskrouter.TaskAssigned)
	for _, x := range idle {
		out = append(out, fmt.Sprintf("active agent participant %s works a task that is %s", x.Sid, x.AssignmentStatus))
	}
	// An offer on a closed channel can never be accepted.
	var stranded []struct{ Sid, ChannelSid string }
	q(&stranded, `SELECT t.sid, ch.sid AS channel_sid FROM tasks t JOIN interaction_invites i ON i.task_sid = t.sid
		JOIN interaction_channels ch ON ch.sid = i.channel_sid WHERE ch.status = ? AND t.assignment_status IN ?`,
		interactions.ChannelClosed, []string{taskrouter.TaskPending, taskrouter.TaskReserved})
	for _, x := range stranded {
		out = append(out, fmt.Sprintf("task %s waits for an agent on closed channel %s: none can ever accept it", x.Sid, x.ChannelSid))
	}
	if !final {
		return out
	}
	var unfinished []struct {
		Sid              string
		AssignmentStatus string
	}
	q(&unfinished, `SELECT sid, assignment_status FROM tasks WHERE assignment_status NOT IN ?`,
		[]string{taskrouter.TaskCompleted, taskrouter.TaskCanceled})
	for _, x := range unfinished {
		out = append(out, fmt.Sprintf("task %s is still %s", x.Sid, x.AssignmentStatus))
	}
	var agents []struct {
		ConversationSid string
		Identity        string
	}
	q(&agents, `SELECT conversation_sid, identity FROM participants WHERE identity IN ?`, c.identity)
	for _, x := range agents {
		out = append(out, fmt.Sprintf("agent %s is still in conversation %s", x.Identity, x.ConversationSid))
	}
	var staying []struct {
		Sid    string
		Status string
	}
	q(&staying, `SELECT sid, status FROM interaction_participants WHERE type = ? AND status <> ?`, interactions.TypeAgent, interactions.ParticipantClosed)
	for _, x := range staying {
		out = append(out, fmt.Sprintf("agent participant %s is still %s", x.Sid, x.Status))
	}
	var channels []struct {
		Sid, Status, MediaChannelSid string
	}
	q(&channels, `SELECT sid, status, media_channel_sid FROM interaction_channels WHERE status NOT IN ?`,
		[]string{interactions.ChannelInactive, interactions.ChannelClosed})
	for _, x := range channels {
		out = append(out, fmt.Sprintf("channel %s of conversation %s is %s with nobody working it", x.Sid, x.MediaChannelSid, x.Status))
	}
	var convs []struct {
		Sid, State string
	}
	q(&convs, `SELECT sid, state FROM conversations WHERE state <> ?`, conversations.StateInactive)
	for _, x := range convs {
		out = append(out, fmt.Sprintf("conversation %s is %s with nobody working it, want inactive", x.Sid, x.State))
	}
	var jobsLeft []struct {
		Kind, Status, LastError string
	}
	q(&jobsLeft, `SELECT kind, status, last_error FROM jobs WHERE status = ? OR (kind = ? AND status <> ?)`,
		jobs.StatusFailed, "interactions.inbound", jobs.StatusDone)
	for _, x := range jobsLeft {
		out = append(out, fmt.Sprintf("job %s is %s: %s", x.Kind, x.Status, x.LastError))
	}
	return out
}

// waitInbound waits until the runner has turned every customer message into
// work (or found it needs none).
func (c *chaos) waitInbound() {
	c.t.Helper()
	for i := 0; ; i++ {
		var n int64
		c.must(c.d.Gorm.WithContext(c.ctx).Model(&jobs.Job{}).Where("kind = ? AND status IN ?", "interactions.inbound",
			[]string{jobs.StatusPending, jobs.StatusRunning}).Count(&n).Error)
		if n == 0 {
			return
		}
		if i > 300 {
			var errors []string
			c.d.Gorm.WithContext(c.ctx).Model(&jobs.Job{}).Where("kind = ? AND last_error <> ''", "interactions.inbound").Pluck("last_error", &errors)
			c.t.Fatalf("%d inbound jobs still waiting after 3 s; their errors: %q", n, errors)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// pingAndExpectWork has every customer write once while no agent acts, and
// checks that each conversation nobody worked now has work.
func (c *chaos) pingAndExpectWork(when string) {
	t := c.t
	t.Helper()
	// One statement: a conversation is worked when its open channel has an
	// active agent or a task answering it (what the inbound job asks).
	worked := c.workedConversations()
	busy := map[string]bool{}
	for _, s := range worked {
		busy[s] = true
	}
	idle := 0
	for _, cu := range c.customers {
		if !busy[cu.conversation] {
			idle++
		}
		if err := c.say(cu); err != nil {
			t.Fatalf("%s: customer of %s cannot write: %v", when, cu.conversation, err)
		}
	}
	c.waitInbound()
	now := map[string]bool{}
	for _, s := range c.workedConversations() {
		now[s] = true
	}
	for _, cu := range c.customers {
		if !now[cu.conversation] {
			t.Errorf("%s: conversation %s (worked before: %v) got a customer message but nobody works it", when, cu.conversation, busy[cu.conversation])
		}
	}
	t.Logf("%s: %d of %d conversations were idle when their customer wrote", when, idle, len(c.customers))
}

func (c *chaos) workedConversations() []string {
	var out []string
	c.must(c.d.Gorm.WithContext(c.ctx).Raw(`SELECT ch.media_channel_sid FROM interaction_channels ch WHERE ch.status IN ? AND (
		EXISTS (SELECT 1 FROM interaction_invites i JOIN tasks t ON t.sid = i.task_sid WHERE i.channel_sid = ch.sid AND t.assignment_status IN ?)
		OR EXISTS (SELECT 1 FROM interaction_participants ip WHERE ip.channel_sid = ch.sid AND ip.type = ? AND ip.status = ?))`,
		[]string{interactions.ChannelSetup, interactions.ChannelActive, interactions.ChannelInactive}, answering,
		interactions.TypeAgent, interactions.ParticipantActive).Scan(&out).Error)
	return out
}

// drain makes every worker available and, round after round, accepts every
// offer and has every agent leave (closed), until no work is left.
func (c *chaos) drain(when string) {
	t := c.t
	t.Helper()
	g := c.d.Gorm.WithContext(c.ctx)
	for round := 0; ; round++ {
		var left struct{ Tasks, Agents, Jobs int }
		c.must(g.Raw(`SELECT (SELECT COUNT(*) FROM tasks WHERE assignment_status IN ?) AS tasks,
			(SELECT COUNT(*) FROM interaction_participants WHERE type = ? AND status <> ?) AS agents,
			(SELECT COUNT(*) FROM jobs WHERE kind = ? AND status IN ?) AS jobs`,
			liveTask, interactions.TypeAgent, interactions.ParticipantClosed,
			"interactions.inbound", []string{jobs.StatusPending, jobs.StatusRunning}).Scan(&left).Error)
		if left.Tasks+left.Agents+left.Jobs == 0 {
			t.Logf("%s: drained in %d rounds", when, round)
			return
		}
		if round >= 200 {
			c.explainStuck()
			c.logOutcomes()
			t.Fatalf("%s: still %d live tasks, %d agents in channels and %d inbound jobs after %d drain rounds",
				when, left.Tasks, left.Agents, left.Jobs, round)
		}
		var off []taskrouter.Worker
		c.must(g.Where("workspace_sid = ? AND available = ?", c.ws.Sid, false).Find(&off).Error)
		for _, w := range off {
			_, err := c.tr.UpdateWorker(c.ctx, c.ws.Sid, w.Sid, taskrouter.WorkerParams{ActivitySid: ptr(c.activity["Available"])})
			c.record("drain activity", err)
		}
		var offers []taskrouter.Reservation
		c.must(g.Where("workspace_sid = ? AND reservation_status = ?", c.ws.Sid, taskrouter.ReservationPending).Find(&offers).Error)
		for _, r := range offers {
			_, _, err := c.tr.AcceptReservation(c.ctx, c.ws.Sid, r.Sid)
			c.record("drain accept", err)
		}
		var agents []interactions.Participant
		c.must(g.Where("type = ? AND status <> ?", interactions.TypeAgent, interactions.ParticipantClosed).Find(&agents).Error)
		for _, p := range agents {
			_, err := c.svc.UpdateParticipant(c.ctx, p.InteractionSid, p.ChannelSid, p.Sid, interactions.ParticipantClosed)
			c.record("drain close", err)
		}
		if c.internal.Load() > 0 {
			t.FailNow()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// explainStuck logs each live task the drain could not finish: its
// channel, and what accepting its offer says.
func (c *chaos) explainStuck() {
	var stuck []struct {
		Sid, AssignmentStatus, ChannelSid, ChannelStatus string
		ChannelUpdated, TaskCreated                      time.Time
	}
	c.d.Gorm.WithContext(c.ctx).Raw(`SELECT t.sid, t.assignment_status, ch.sid AS channel_sid, ch.status AS channel_status,
		ch.date_updated AS channel_updated, t.date_created AS task_created
		FROM tasks t JOIN interaction_invites i ON i.task_sid = t.sid JOIN interaction_channels ch ON ch.sid = i.channel_sid
		WHERE t.assignment_status IN ?`, liveTask).Scan(&stuck)
	for _, s := range stuck {
		why := ""
		var r taskrouter.Reservation
		if c.d.Gorm.WithContext(c.ctx).Where("task_sid = ? AND reservation_status = ?", s.Sid, taskrouter.ReservationPending).Limit(1).Find(&r).RowsAffected > 0 {
			_, _, err := c.tr.AcceptReservation(c.ctx, c.ws.Sid, r.Sid)
			why = fmt.Sprintf("; accepting its offer: %v", err)
		}
		c.t.Logf("stuck task %s is %s (created %s) on channel %s, %s since %s%s", s.Sid, s.AssignmentStatus,
			s.TaskCreated.Format("15:04:05.000000"), s.ChannelSid, s.ChannelStatus, s.ChannelUpdated.Format("15:04:05.000000"), why)
	}
}

func (c *chaos) checkDrained() {
	c.t.Helper()
	if vs := c.violations(true); len(vs) > 0 {
		for _, v := range vs {
			c.t.Errorf("after draining: %s", v)
		}
		c.logOutcomes()
		c.t.FailNow()
	}
}

// logOutcomes shows that real work happened: reservations and transfers
// by outcome, and what the actors' calls returned.
func (c *chaos) logOutcomes() {
	t := c.t
	count := func(sql string, args ...any) string {
		var rows []struct {
			S string
			N int
		}
		if err := c.d.Gorm.WithContext(c.ctx).Raw(sql, args...).Scan(&rows).Error; err != nil {
			return err.Error()
		}
		var parts []string
		for _, r := range rows {
			parts = append(parts, fmt.Sprintf("%s=%d", r.S, r.N))
		}
		return strings.Join(parts, " ")
	}
	t.Logf("reservations: %s", count(`SELECT reservation_status AS s, COUNT(*) AS n FROM reservations GROUP BY reservation_status ORDER BY 1`))
	t.Logf("tasks: %s", count(`SELECT assignment_status AS s, COUNT(*) AS n FROM tasks GROUP BY assignment_status ORDER BY 1`))
	// A transfer whose task was canceled (declined, timed out, withdrawn) reads as failed.
	t.Logf("transfers: %s", count(`SELECT tr.type || ' ' || CASE WHEN tr.status = 'active' AND t.assignment_status = ? THEN 'failed'
		ELSE tr.status END || ' to ' || CASE WHEN tr.to_sid LIKE 'WQ%' THEN 'queue' ELSE 'worker' END AS s, COUNT(*) AS n
		FROM interaction_transfers tr JOIN interaction_invites i ON i.sid = tr.invite_sid JOIN tasks t ON t.sid = i.task_sid
		GROUP BY 1 ORDER BY 1`, taskrouter.TaskCanceled))
	t.Logf("interactions: %s; channels: %s; agent participants: %s; messages: %s",
		count(`SELECT 'total' AS s, COUNT(*) AS n FROM interactions`),
		count(`SELECT status AS s, COUNT(*) AS n FROM interaction_channels GROUP BY status ORDER BY 1`),
		count(`SELECT status AS s, COUNT(*) AS n FROM interaction_participants WHERE type = 'agent' GROUP BY status ORDER BY 1`),
		count(`SELECT 'total' AS s, COUNT(*) AS n FROM messages`))
	c.mu.Lock()
	keys := make([]string, 0, len(c.outcomes))
	for k := range c.outcomes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%d", k, c.outcomes[k]))
	}
	c.mu.Unlock()
	t.Logf("calls: %s", strings.Join(parts, ", "))
}

// checkMix makes sure the run exercised what it claims to: offers timed
// out and rejected, transfers completed, channels closed. (Rescinded offers
// and both kinds of transfer are usual but not required: a slow machine,
// or -race, may not get there in time.)
func (c *chaos) checkMix() {
	if n, rich := c.mix(); !rich {
		c.t.Errorf("the run was too tame to prove much: %+v", n)
	}
}

type mix struct{ Timeout, Rejected, Rescinded, Cold, Warm, Closed int }

func (c *chaos) mix() (mix, bool) {
	var n mix
	err := c.d.Gorm.WithContext(c.ctx).Raw(`SELECT
		(SELECT COUNT(*) FROM reservations WHERE reservation_status = ?) AS timeout,
		(SELECT COUNT(*) FROM reservations WHERE reservation_status = ?) AS rejected,
		(SELECT COUNT(*) FROM reservations WHERE reservation_status = ?) AS rescinded,
		(SELECT COUNT(*) FROM interaction_transfers WHERE type = ? AND status = ?) AS cold,
		(SELECT COUNT(*) FROM interaction_transfers WHERE type = ? AND status = ?) AS warm,
		(SELECT COUNT(*) FROM interaction_channels WHERE status = ?) AS closed`,
		taskrouter.ReservationTimeout, taskrouter.ReservationRejected, taskrouter.ReservationRescinded,
		interactions.TransferCold, "completed", interactions.TransferWarm, "completed", interactions.ChannelClosed).Scan(&n).Error
	return n, err == nil && n.Timeout > 0 && n.Rejected > 0 && n.Cold+n.Warm >= 2 && n.Closed > 0
}

// logRecorder keeps the warnings and errors the router and job runner log.
type logRecorder struct {
	off  atomic.Bool
	mu   sync.Mutex
	msgs []string
}

func (h *logRecorder) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	if h.off.Load() {
		return nil
	}
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	h.mu.Lock()
	h.msgs = append(h.msgs, b.String())
	h.mu.Unlock()
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// blockedStacks lists the goroutines running Switchboard code (but not
// sleeping between steps), reduced to their Switchboard frames: where a
// stuck run waits.
func blockedStacks() string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, "switchboardhq/switchboard/") || strings.Contains(g, "blockedStacks") ||
			strings.Contains(g, "time.Sleep") || strings.Contains(g, "testing.tRunner") {
			continue
		}
		lines := strings.Split(g, "\n")
		keep := []string{lines[0]}
		for _, l := range lines[1:] {
			if strings.Contains(l, "switchboardhq/switchboard/") && !strings.HasPrefix(l, "\t") {
				keep = append(keep, "  "+l)
			}
		}
		out = append(out, strings.Join(keep, "\n"))
	}
	return strings.Join(out, "\n")
}

// The tests below are the smallest reproductions of what the randomized
// test found, kept as regression tests. The races make one interleaving
// certain by holding a row that one side needs, watching the test's own
// connections (tagged with an application name) until they wait where they
// should, then letting go; SQLite runs one writer at a time, so they need
// Postgres.

// taggedPostgres opens a fresh migrated Postgres schema whose connections
// carry an application name of the test's own; poolParams are added to the
// pool's URL (pool_max_conns…). It returns the database and a monitor.
func taggedPostgres(t *testing.T, poolParams string) (*db.DB, *pgMonitor) {
	t.Helper()
	ctx := context.Background()
	var b [4]byte
	_, _ = crand.Read(b[:])
	app := "sb_" + hex.EncodeToString(b[:])
	url := dbtest.PostgresURL(t) + "&application_name=" + app
	d, err := db.Open(ctx, db.Options{URL: url + poolParams})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url) // outside the pool, which a test may exhaust
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return d, &pgMonitor{t: t, conn: conn, app: app, url: url}
}

// pgMonitor watches the lock waits of one test's connections.
type pgMonitor struct {
	t    *testing.T
	conn *pgx.Conn // never in a transaction: pg_stat_activity is read once per transaction
	app  string
	url  string // without pool parameters
}

// awaitWaiters waits until n of the test's connections wait for a lock, or
// until done (a call that returned instead of waiting) is closed; false
// after 5 s.
func (m *pgMonitor) awaitWaiters(n int, done <-chan struct{}) bool {
	m.t.Helper()
	for i := 0; i < 500; i++ {
		select {
		case <-done:
			return true
		default:
		}
		var waiting int
		if err := m.conn.QueryRow(context.Background(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE application_name = $1 AND wait_event_type = 'Lock'`, m.app).Scan(&waiting); err != nil {
			m.t.Fatal(err)
		}
		if waiting >= n {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

// call runs fn in a goroutine; the channel closes when it returns.
func call(fn func()) <-chan struct{} {
	done := make(chan struct{})
	go func() { defer close(done); fn() }()
	return done
}

// agentOnAChat starts a chat conversation whose customer wrote and whose
// task ana accepted; it returns the conversation, the interaction, the
// channel and ana's agent participant.
func agentOnAChat(f *fixture, guest string) (conv, ix, ch, agent string) {
	f.t.Helper()
	ana := f.worker("ana")
	c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
	f.must(err)
	_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: ptr(guest)})
	f.must(err)
	f.say(c.Sid, guest, "hi")
	f.settle()
	offer := f.pendingOffer(ana)
	_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, offer.Sid)
	f.must(err)
	attrs := f.taskAttrs(offer.TaskSid)
	ix, ch = attrs["flexInteractionSid"].(string), attrs["flexInteractionChannelSid"].(string)
	parts, _, err := f.svc.Participants(f.ctx, ix, ch, 0, 50)
	f.must(err)
	for _, p := range parts {
		if p.Type == interactions.TypeAgent {
			agent = p.Sid
		}
	}
	return c.Sid, ix, ch, agent
}

// TestATransferRacingTheChannelClosingCannotStrandItsTask: an agent
// transfers while the channel is being closed. CreateTransfer checks the
// channel is open, then writes the invite and its task; UpdateChannel
// withdraws the pending invites it can see, then closes the channel. When
// neither locks the channel, the close can read the invites before the
// transfer commits, and the transfer's task is left on a closed channel:
// every offer of it fails to accept ("channel is closed"), holds the
// worker's capacity until it times out (the worker then goes offline), and
// the task waits out its 24-hour TTL.
//
// The test holds the target queue's row, which creating the transfer's task
// share-locks after the channel check and which closing never touches.
func TestATransferRacingTheChannelClosingCannotStrandItsTask(t *testing.T) {
	d, mon := taggedPostgres(t, "")
	f := newFixture(t, d)
	_, ix, ch, agent := agentOnAChat(f, "guest-9")
	var queue taskrouter.TaskQueue
	f.must(d.Gorm.Where("workspace_sid = ?", f.ws.Sid).First(&queue).Error)

	hold := d.Gorm.Begin()
	f.must(hold.Exec("SELECT 1 FROM task_queues WHERE sid = ? FOR NO KEY UPDATE", queue.Sid).Error)
	var transferErr, closeErr error
	transferred := call(func() {
		_, transferErr = f.svc.CreateTransfer(f.ctx, ix, ch, interactions.TransferSpec{From: agent, To: queue.Sid})
	})
	mon.awaitWaiters(1, transferred) // past its channel check, waiting for the queue
	closed := call(func() {
		_, closeErr = f.svc.UpdateChannel(f.ctx, ix, ch, interactions.ChannelClosed, `{"status":"closed"}`)
	})
	mon.awaitWaiters(2, closed) // the close either ran or waits for the transfer
	f.must(hold.Rollback().Error)
	<-transferred
	<-closed
	f.must(closeErr)

	var stranded []string
	f.must(d.Gorm.Raw(`SELECT t.sid FROM interaction_invites i JOIN tasks t ON t.sid = i.task_sid
		JOIN interaction_channels ch ON ch.sid = i.channel_sid WHERE ch.status = ? AND t.assignment_status IN ?`,
		interactions.ChannelClosed, []string{taskrouter.TaskPending, taskrouter.TaskReserved}).Pluck("sid", &stranded).Error)
	if len(stranded) > 0 {
		f.settle()
		var r taskrouter.Reservation
		d.Gorm.Where("task_sid = ?", stranded[0]).Order("date_created DESC").Limit(1).Find(&r)
		_, _, acceptErr := f.tr.AcceptReservation(f.ctx, f.ws.Sid, r.Sid)
		t.Fatalf("the transfer (err %v) left task %s waiting on closed channel %s; accepting its offer %s: %v",
			transferErr, stranded[0], ch, r.Sid, acceptErr)
	}
}

// TestTheInboundJobNeedsNoSecondConnection: runInbound holds the
// conversation's row lock; if anything in it reads through the pool rather
// than its transaction (invite() once read the default workspace so), it
// needs a second connection. When the other pooled connections belong to
// writers waiting for that same conversation (customer messages), nobody
// can move: the randomized test hung this way (pool of 4 on 2 cores, one
// held by LISTEN). The test uses a pool of 2 and one waiting message.
func TestTheInboundJobNeedsNoSecondConnection(t *testing.T) {
	d, mon := taggedPostgres(t, "&pool_max_conns=2")
	f := newFixture(t, d)
	f.worker("ana")
	c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
	f.must(err)
	_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: ptr("guest-7")})
	f.must(err)
	f.say(c.Sid, "guest-7", "hi") // its inbound job waits to run

	outside, err := pgx.Connect(f.ctx, mon.url) // the pool is too small to hold a lock with
	f.must(err)
	defer outside.Close(context.Background())
	hold, err := outside.Begin(f.ctx)
	f.must(err)
	_, err = hold.Exec(f.ctx, "SELECT 1 FROM conversations WHERE sid = $1 FOR UPDATE", c.Sid)
	f.must(err)
	jobCtx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	ran := call(func() { _, _ = f.runner.RunDue(jobCtx) })
	mon.awaitWaiters(1, ran) // the inbound job holds one connection and waits for the conversation
	var sayErr error
	said := call(func() {
		_, sayErr = f.conv.AddMessage(f.ctx, f.service, c.Sid, conversations.MessageParams{Author: ptr("guest-7"), Body: ptr("hello?")})
	})
	mon.awaitWaiters(2, said) // the customer's next message holds the other one and waits too
	f.must(hold.Commit(f.ctx))
	select {
	case <-said:
		f.must(sayErr)
		<-ran
	case <-time.After(3 * time.Second):
		cancel() // the job gives up its wait for a connection; the message then goes through
		<-ran
		<-said
		var jobErrors []string
		d.Gorm.Model(&jobs.Job{}).Where("kind = ?", "interactions.inbound").Pluck("last_error", &jobErrors)
		t.Fatalf("the inbound job (holding the conversation, waiting for a pooled connection) and the customer's message "+
			"(holding the last connection, waiting for the conversation) stood still for 3 s; canceled, the job said %q", jobErrors)
	}
}

// TestAnAgentWhoTakesBackTheirOwnTransferStaysInTheConversation: a
// transfer to a queue can be offered to the transferring agent (it has room
// for a second task). Accepting it finds them already in the conversation
// and gives their new agent participant the same conversation participant.
// When either of their two participants leaves, leave() must not remove
// that shared conversation participant: the other, still active with an
// assigned task, would no longer be in the conversation, and the agent
// could not read or answer it. The randomized test met it on SQLite (it
// needs no race).
func TestAnAgentWhoTakesBackTheirOwnTransferStaysInTheConversation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		conv, ix, ch, first := agentOnAChat(f, "guest-6")
		var queue taskrouter.TaskQueue
		f.must(d.Gorm.Where("workspace_sid = ?", f.ws.Sid).First(&queue).Error)
		_, err := f.svc.CreateTransfer(f.ctx, ix, ch, interactions.TransferSpec{From: first, To: queue.Sid, Type: interactions.TransferWarm})
		f.must(err)
		f.settle()
		var ana taskrouter.Worker
		f.must(d.Gorm.Where("friendly_name = ?", "ana").First(&ana).Error)
		_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, f.pendingOffer(ana).Sid)
		f.must(err)
		_, err = f.svc.UpdateParticipant(f.ctx, ix, ch, first, interactions.ParticipantClosed)
		f.must(err)
		parts, _, err := f.svc.Participants(f.ctx, ix, ch, 0, 50)
		f.must(err)
		for _, p := range parts {
			if p.Type == interactions.TypeAgent && p.Status == interactions.ParticipantActive && !f.identities(conv)["ana"] {
				t.Fatalf("ana's participant %s is active (her task assigned) but she is no longer in the conversation", p.Sid)
			}
		}
	})
}

// TestTwoAgentsLeavingTogetherParkTheChannel: after a warm transfer two
// agents work a channel. leave() parks the channel (and the conversation)
// only when channelBusy finds no other active agent; if two leaves do not
// serialize, each sees the other still active and neither parks: the
// channel and the conversation stay active with nobody in them, and the
// conversation's inactivity timers never start. (Found by reading; the
// randomized test's final check would catch it.) The test holds both
// leaves at their commit, with a deferred trigger of its own schema, until
// both have looked.
func TestTwoAgentsLeavingTogetherParkTheChannel(t *testing.T) {
	d, mon := taggedPostgres(t, "")
	f := newFixture(t, d)
	conv, ix, ch, first := agentOnAChat(f, "guest-5")
	bo := f.worker("bo")
	_, err := f.svc.CreateTransfer(f.ctx, ix, ch, interactions.TransferSpec{From: first, To: bo.Sid, Type: interactions.TransferWarm})
	f.must(err)
	f.settle()
	_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, f.pendingOffer(bo).Sid)
	f.must(err)
	var both []string
	f.must(d.Gorm.Model(&interactions.Participant{}).Where("channel_sid = ? AND type = ? AND status = ?", ch,
		interactions.TypeAgent, interactions.ParticipantActive).Pluck("sid", &both).Error)
	if len(both) != 2 {
		t.Fatalf("%d active agents after the warm transfer, want 2", len(both))
	}
	f.must(d.Gorm.Exec(`CREATE FUNCTION hold_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN PERFORM pg_advisory_xact_lock_shared(4242); RETURN NULL; END $$`).Error)
	f.must(d.Gorm.Exec(`CREATE CONSTRAINT TRIGGER hold_commit AFTER UPDATE ON interaction_participants
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION hold_commit()`).Error)
	hold := d.Gorm.Begin()
	f.must(hold.Exec("SELECT pg_advisory_xact_lock(4242)").Error)
	leaveErrs := make([]error, 2)
	var left []<-chan struct{}
	for i, p := range both {
		left = append(left, call(func() {
			_, leaveErrs[i] = f.svc.UpdateParticipant(f.ctx, ix, ch, p, interactions.ParticipantClosed)
		}))
	}
	mon.awaitWaiters(2, nil) // both at their commit (or one waiting for the other)
	f.must(hold.Rollback().Error)
	<-left[0]
	<-left[1]
	f.must(leaveErrs[0])
	f.must(leaveErrs[1])
	channel, err := f.svc.Channel(f.ctx, ix, ch)
	f.must(err)
	c, err := f.conv.Conversation(f.ctx, f.service, conv)
	f.must(err)
	if channel.Status != interactions.ChannelInactive || c.State != conversations.StateInactive {
		t.Fatalf("both agents left, yet the channel is %s and the conversation %s; want both inactive", channel.Status, c.State)
	}
}

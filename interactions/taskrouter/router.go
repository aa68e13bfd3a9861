package taskrouter

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/interactions/expr"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// jobTargetTimeout wakes the router when a task's workflow target times out.
const jobTargetTimeout = "taskrouter.target-timeout"

// maxTasksPerPass bounds one routing pass; the next wake-up continues.
const maxTasksPerPass = 2000

// Router offers waiting tasks to eligible workers. It is event-driven: every
// change that can make an offer possible wakes it through the database's
// notifications; a periodic reconcile is only a backstop.
type Router struct {
	e   *Engine
	log *slog.Logger
	// Reconcile is how often the router routes every workspace regardless
	// of wake-ups.
	Reconcile time.Duration

	mu        sync.Mutex // one pass at a time on this node
	queue     map[string]cachedQueue
	snapshots map[string]*snapshot // by workspace SID

	wakeMu  sync.Mutex
	pending map[string]bool
	signal  chan struct{}
}

type cachedQueue struct {
	q      TaskQueue
	target *expr.Expr
}

// NewRouter returns a router over the engine.
func NewRouter(e *Engine, log *slog.Logger) *Router {
	return &Router{e: e, log: log, Reconcile: 10 * time.Second,
		queue: map[string]cachedQueue{}, snapshots: map[string]*snapshot{}, pending: map[string]bool{}, signal: make(chan struct{}, 1)}
}

// RegisterJobs tells the job runner how to run the task layer's jobs.
func (e *Engine) RegisterJobs(r *jobs.Runner) {
	r.Handle(jobReservationTimeout, e.runReservationTimeout)
	r.Handle(jobTaskTTL, e.runTaskTTL)
	r.Handle(jobTargetTimeout, func(ctx context.Context, workspaceSid string) error {
		return e.write(ctx, func(tx *db.Tx) error { return wake(tx, workspaceSid) })
	})
}

// Run routes while this node holds the routing lease (exactly one node
// routes at a time), until ctx ends.
func (r *Router) Run(ctx context.Context) {
	r.e.db.Listen(ctx, routingChannel, func(workspaceSid string) {
		r.wakeMu.Lock()
		r.pending[workspaceSid] = true
		r.wakeMu.Unlock()
		select {
		case r.signal <- struct{}{}:
		default:
		}
	})
	r.e.db.Lead(ctx, "router", func(ctx context.Context) {
		r.log.Info("this node routes tasks")
		r.loop(ctx)
		r.log.Info("this node stopped routing tasks")
	})
}

func (r *Router) loop(ctx context.Context) {
	tick := time.NewTicker(r.Reconcile)
	defer tick.Stop()
	r.routeAll(ctx) // whatever happened while nobody led
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.routeAll(ctx)
		case <-r.signal:
			r.wakeMu.Lock()
			woken := r.pending
			r.pending = map[string]bool{}
			r.wakeMu.Unlock()
			for ws := range woken {
				if _, err := r.RouteWorkspace(ctx, ws); err != nil && ctx.Err() == nil {
					r.log.Error("routing", "workspace", ws, "err", err)
				}
			}
		}
	}
}

func (r *Router) routeAll(ctx context.Context) {
	var sids []string
	if err := r.e.read(ctx).Model(&Workspace{}).Pluck("sid", &sids).Error; err != nil {
		r.log.Error("routing: list workspaces", "err", err)
		return
	}
	for _, ws := range sids {
		if _, err := r.RouteWorkspace(ctx, ws); err != nil && ctx.Err() == nil {
			r.log.Error("routing", "workspace", ws, "err", err)
		}
	}
}

// candidate is a worker as one routing pass sees it.
type candidate struct {
	w        Worker
	root     map[string]any // attributes plus sid, activity and channel state
	state    *workerState   // what root was built from, kept across passes
	channels map[string]*WorkerChannel
	used     int // across channels, for single-task workspaces
	tried    map[string]bool
}

// pass is the state of one routing pass over a workspace.
type pass struct {
	ws         Workspace
	workers    []*candidate
	byName     map[string]*candidate
	bySid      map[string]*candidate
	channels   map[string]string // task channel SID → unique name
	activities map[string]Activity
	workflows  map[string]Workflow
	queues     map[string]TaskQueue
	lifo       []string                   // LIFO queues
	room       bool                       // some worker had room when the chunk began
	live       map[string]int             // task SID → pending offers
	tried      map[string]map[string]bool // task SID → workers not to offer it (now)
	declined   map[string]map[string]bool // task SID → workers who rejected it or let it time out
	now        time.Time
}

// RouteWorkspace runs one routing pass: each waiting task, by priority and
// age, is offered to the best eligible workers its workflow step allows.
// It returns how many reservations it made.
func (r *Router) RouteWorkspace(ctx context.Context, workspaceSid string) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, err := r.load(ctx, workspaceSid)
	if err != nil {
		return 0, err
	}
	made := 0
	// Tasks come in chunks, so a backlog nobody can serve at the head of the
	// line never hides the tasks behind it. Every task still moves through
	// its workflow (targets, timeouts) when no worker has room; only the
	// search for candidates is skipped then.
	for offset := 0; ; offset += maxTasksPerPass {
		tasks, err := r.loadTasks(ctx, p, offset)
		if err != nil {
			return made, err
		}
		p.room = p.anyRoom()
		for i := range tasks {
			n, err := r.routeTask(ctx, p, &tasks[i])
			if err != nil {
				if ctx.Err() != nil {
					return made, err
				}
				// One task's trouble must not stall the queue behind it.
				r.log.Error("routing task", "task", tasks[i].Sid, "err", err)
				continue
			}
			made += n
		}
		if len(tasks) < maxTasksPerPass {
			break
		}
	}
	return made, nil
}

// anyRoom reports whether some available worker has room on some channel:
// without one, no offer can be made.
func (p *pass) anyRoom() bool {
	for _, c := range p.workers {
		if !c.w.Available {
			continue
		}
		for _, wc := range c.channels {
			if wc.Available && wc.Used < wc.Capacity {
				return true
			}
		}
	}
	return false
}

// loadTasks loads one chunk of waiting tasks, best first, with what is
// known of their offers: live ones, and workers who turned them down on
// their current step (not offered them again there) or at all (for the
// known-worker rule).
func (r *Router) loadTasks(ctx context.Context, p *pass, offset int) ([]Task, error) {
	q := r.e.read(ctx)
	var tasks []Task
	if err := q.Where("workspace_sid = ? AND assignment_status IN ?", p.ws.Sid, []string{TaskPending, TaskReserved}).
		Order("priority DESC, virtual_start_time, sid").Offset(offset).Limit(maxTasksPerPass).Find(&tasks).Error; err != nil {
		return nil, err
	}
	if len(tasks) == 0 {
		return nil, nil
	}
	sortForQueues(tasks, p.lifo)
	taskSids := make([]string, len(tasks))
	entered := make(map[string]*time.Time, len(tasks))
	for i := range tasks {
		taskSids[i] = tasks[i].Sid
		entered[tasks[i].Sid] = tasks[i].TargetEnteredAt
	}
	var offers []Reservation
	if err := q.Select("task_sid", "worker_sid", "reservation_status", "date_created").Where("task_sid IN ?", taskSids).
		Find(&offers).Error; err != nil {
		return nil, err
	}
	mark := func(m map[string]map[string]bool, task, worker string) {
		if m[task] == nil {
			m[task] = map[string]bool{}
		}
		m[task][worker] = true
	}
	for _, o := range offers {
		switch o.ReservationStatus {
		case ReservationPending:
			p.live[o.TaskSid]++
			mark(p.tried, o.TaskSid, o.WorkerSid)
		case ReservationRejected, ReservationTimeout:
			mark(p.declined, o.TaskSid, o.WorkerSid)
			// A rejection holds for the step it was made on; a timeout
			// already took the worker out of rotation through their activity.
			if since := entered[o.TaskSid]; o.ReservationStatus == ReservationRejected && (since == nil || !o.DateCreated.Before(*since)) {
				mark(p.tried, o.TaskSid, o.WorkerSid)
			}
		}
	}
	return tasks, nil
}

// load reads the workspace's routing state: workers with their capacity,
// activities, channels, workflows and queues, in a handful of queries, so a
// pass costs writes only for the offers it makes.
func (r *Router) load(ctx context.Context, workspaceSid string) (*pass, error) {
	q := r.e.read(ctx)
	ws, err := r.e.findWorkspace(q, workspaceSid)
	if err != nil {
		return nil, err
	}
	p := &pass{ws: ws, byName: map[string]*candidate{}, bySid: map[string]*candidate{}, channels: map[string]string{},
		activities: map[string]Activity{}, workflows: map[string]Workflow{}, queues: map[string]TaskQueue{},
		live: map[string]int{}, tried: map[string]map[string]bool{}, declined: map[string]map[string]bool{}, now: r.e.now()}
	var wfs []Workflow
	if err := q.Where("workspace_sid = ?", workspaceSid).Find(&wfs).Error; err != nil {
		return nil, err
	}
	for _, wf := range wfs {
		p.workflows[wf.Sid] = wf
	}
	var queues []TaskQueue
	if err := q.Where("workspace_sid = ?", workspaceSid).Find(&queues).Error; err != nil {
		return nil, err
	}
	for _, tq := range queues {
		p.queues[tq.Sid] = tq
		if tq.TaskOrder == "LIFO" {
			p.lifo = append(p.lifo, tq.Sid)
		}
	}
	var tcs []TaskChannel
	if err := q.Where("workspace_sid = ?", workspaceSid).Find(&tcs).Error; err != nil {
		return nil, err
	}
	for _, tc := range tcs {
		p.channels[tc.Sid] = tc.UniqueName
	}
	var acts []Activity
	if err := q.Where("workspace_sid = ?", workspaceSid).Find(&acts).Error; err != nil {
		return nil, err
	}
	for _, a := range acts {
		p.activities[a.Sid] = a
	}
	workers, wcs, err := loadWorkers(q, workspaceSid)
	if err != nil {
		return nil, err
	}
	for i := range workers {
		c := &candidate{w: workers[i], channels: map[string]*WorkerChannel{}}
		p.workers = append(p.workers, c)
		p.bySid[c.w.Sid] = c
		p.byName[c.w.FriendlyName] = c
	}
	for i := range wcs {
		if c := p.bySid[wcs[i].WorkerSid]; c != nil {
			c.channels[wcs[i].TaskChannelSid] = &wcs[i]
			c.used += wcs[i].Used
		}
	}
	actNames := make(map[string]string, len(p.activities))
	for sid, a := range p.activities {
		actNames[sid] = a.FriendlyName
	}
	r.snapshotOf(workspaceSid, actNames, p.channels).refresh(p)
	return p, nil
}

// sortForQueues orders tasks for routing: higher priority first, then by
// age: oldest first, except between two tasks of the same LIFO queue.
func sortForQueues(tasks []Task, lifoQueues []string) {
	slices.SortStableFunc(tasks, func(a, b Task) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		c := a.VirtualStartTime.Compare(b.VirtualStartTime)
		if a.TaskQueueSid != "" && a.TaskQueueSid == b.TaskQueueSid && slices.Contains(lifoQueues, a.TaskQueueSid) {
			return -c
		}
		return c
	})
}

// workerRoot is what expressions see of a worker: its attributes, plus sid,
// friendly_name, activity and per-channel capacity under channel. A queue's
// target_workers sees it as is and also under "worker" (worker.channel.chat…),
// as a workflow target expression does.
func (p *pass) workerRoot(c *candidate) map[string]any {
	return p.rootOf(c, parseAttributes(c.w.Attributes))
}

// rootOf is workerRoot given the worker's parsed attributes, which it
// leaves as they are.
func (p *pass) rootOf(c *candidate, attrs map[string]any) map[string]any {
	root := maps.Clone(attrs)
	channels := map[string]any{}
	for tcSid, wc := range c.channels {
		channels[p.channels[tcSid]] = map[string]any{"configured_capacity": wc.Capacity, "assigned_tasks": wc.Assigned,
			"available": wc.Available, "available_capacity_percentage": wc.AvailableCapacityPercentage()}
	}
	act := p.activities[c.w.ActivitySid]
	for k, v := range map[string]any{"sid": c.w.Sid, "friendly_name": c.w.FriendlyName, "activity_sid": act.Sid,
		"activity_name": act.FriendlyName, "available": c.w.Available, "channel": channels} {
		if _, taken := root[k]; !taken || k == "channel" {
			root[k] = v
		}
	}
	if _, taken := root["worker"]; !taken {
		root["worker"] = root
	}
	return root
}

// hasRoom reports whether c can take one more task on the channel.
func (p *pass) hasRoom(c *candidate, channelSid string, ignoreCapacity bool) bool {
	if !c.w.Available {
		return false
	}
	wc := c.channels[channelSid]
	if wc == nil || !wc.Available {
		return false
	}
	if ignoreCapacity {
		return true
	}
	if !p.ws.MultiTaskEnabled && c.used > 0 {
		return false
	}
	return wc.Used < wc.Capacity
}

// step is where a task is in its routing: a queue and the target narrowing it.
type step struct {
	queue    *cachedQueue
	target   *targetPlan // nil for a plain queue or worker routing target
	worker   string      // a worker routing target
	timeout  int         // reservation timeout, seconds
	priority *int64
}

func (r *Router) routeTask(ctx context.Context, p *pass, t *Task) (int, error) {
	attrs := map[string]any{}
	_ = json.Unmarshal([]byte(t.Attributes), &attrs)
	for range 16 { // bounded: each skip moves one target on
		st, err := r.currentStep(ctx, p, t, attrs)
		if err != nil || st == nil {
			return 0, err
		}
		live := p.live[t.Sid]
		maxReserved := 1
		if st.queue != nil {
			maxReserved = st.queue.q.MaxReservedWorkers
		}
		if live >= maxReserved {
			return 0, nil
		}
		var cands []*candidate
		if p.room {
			var err error
			if cands, err = r.candidates(ctx, p, t, attrs, st); err != nil {
				return 0, err
			}
		}
		if len(cands) == 0 {
			if st.worker != "" && p.declined[t.Sid][st.worker] && live == 0 {
				// The one worker this task is for declined it or let it time
				// out: nobody else may take it, so it ends, as in Flex.
				return 0, r.e.write(ctx, func(tx *db.Tx) error {
					_, err := r.e.MoveTaskTx(tx, t.WorkspaceSid, t.Sid, TaskCanceled, "Known worker declined the task")
					if errs.KindOf(err) == errs.Conflict {
						return nil // it moved on meanwhile
					}
					return err
				})
			}
			if st.target != nil && st.target.skipIf != nil && st.target.skipIf.Eval(p.skipVars(st, t, attrs)) {
				if err := r.advance(ctx, p, t, "workflow.skipped"); err != nil {
					return 0, err
				}
				continue
			}
			return 0, nil
		}
		made := 0
		for _, c := range cands {
			if live+made >= maxReserved {
				break
			}
			ok, err := r.reserve(ctx, p, t, c, st)
			if err != nil {
				return made, err
			}
			if ok {
				made++
			}
		}
		return made, nil
	}
	return 0, nil
}

// currentStep returns the task's routing step, entering the workflow or the
// next target first when needed. nil means the task cannot be routed now.
func (r *Router) currentStep(ctx context.Context, p *pass, t *Task, attrs map[string]any) (*step, error) {
	if sid.Is(t.RoutingTarget, sid.Worker) {
		return &step{worker: t.RoutingTarget, timeout: 120}, nil
	}
	if sid.Is(t.RoutingTarget, sid.TaskQueue) {
		q, err := r.queueFor(p, t.RoutingTarget)
		if err != nil {
			return nil, err
		}
		if t.TaskQueueSid == "" {
			if err := r.enterTarget(ctx, p, t, 0, 0, q.q.Sid, nil, 0); err != nil {
				return nil, err
			}
		}
		return &step{queue: q, timeout: 120}, nil
	}
	wf, plan, err := r.planFor(p, t.WorkflowSid)
	if err != nil {
		return nil, err
	}
	if t.TargetEnteredAt == nil { // a task whose routing was reset: pick its filter again
		fi, tp := matchFilter(plan, attrs)
		if tp == nil {
			return nil, nil // no filter matches and no default: the task waits for an update
		}
		if err := r.enterTarget(ctx, p, t, fi, 0, tp.queue, tp.priority, tp.timeout); err != nil {
			return nil, err
		}
	}
	// Move past targets whose time is up.
	for t.AssignmentStatus == TaskPending || t.AssignmentStatus == TaskReserved {
		tp := targetAt(plan, t.FilterIndex, t.TargetIndex)
		if tp == nil {
			// The workflow changed under the task and its step is gone: match
			// its filter again rather than strand it.
			fi, first := matchFilter(plan, attrs)
			if first == nil {
				return nil, nil
			}
			if err := r.enterTarget(ctx, p, t, fi, 0, first.queue, first.priority, first.timeout); err != nil {
				return nil, err
			}
			continue
		}
		if tp.timeout == 0 || p.now.Before(t.TargetEnteredAt.Add(time.Duration(tp.timeout)*time.Second)) {
			q, err := r.queueFor(p, tp.queue)
			if err != nil {
				return nil, err
			}
			return &step{queue: q, target: tp, timeout: wf.TaskReservationTimeout, priority: tp.priority}, nil
		}
		if t.FilterIndex < 0 {
			// The default filter's own timeout: stay there; nowhere else to go.
			q, err := r.queueFor(p, tp.queue)
			if err != nil {
				return nil, err
			}
			return &step{queue: q, target: tp, timeout: wf.TaskReservationTimeout, priority: tp.priority}, nil
		}
		if err := r.advance(ctx, p, t, "workflow.timeout"); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// targetAt returns target ti of filter fi (fi < 0: the default filter).
func targetAt(plan workflowPlan, fi, ti int) *targetPlan {
	if fi < 0 {
		if ti == 0 {
			return plan.defaultTarget
		}
		return nil
	}
	if fi >= len(plan.filters) || ti >= len(plan.filters[fi].targets) {
		return nil
	}
	return &plan.filters[fi].targets[ti]
}

// advance moves a task to its filter's next target, or to the default
// filter after the last one.
func (r *Router) advance(ctx context.Context, p *pass, t *Task, reason string) error {
	_, plan, err := r.planFor(p, t.WorkflowSid)
	if err != nil {
		return err
	}
	fi, ti, ok := nextTarget(plan, t.FilterIndex, t.TargetIndex)
	if !ok {
		// Nowhere further to go: stay on the last target, its timeout spent.
		return nil
	}
	tp := targetAt(plan, fi, ti)
	return r.enterTarget(ctx, p, t, fi, ti, tp.queue, tp.priority, tp.timeout, reason)
}

// nextTarget is the step after target ti of filter fi: the filter's next
// target, else the default filter; ok is false when there is none.
func nextTarget(plan workflowPlan, fi, ti int) (int, int, bool) {
	if targetAt(plan, fi, ti+1) != nil {
		return fi, ti + 1, true
	}
	if plan.defaultTarget == nil || fi < 0 {
		return fi, ti, false
	}
	return -1, 0, true
}

// enterTarget saves a task's move into a workflow target (or a routing
// target queue), applying the target's priority and scheduling its timeout.
func (r *Router) enterTarget(ctx context.Context, p *pass, t *Task, fi, ti int, queueSid string, priority *int64, timeout int, reasons ...string) error {
	return r.e.write(ctx, func(tx *db.Tx) error {
		if err := lockTask(tx, t.Sid); err != nil {
			return err
		}
		var cur Task
		if err := tx.Where("sid = ?", t.Sid).First(&cur).Error; err != nil {
			return err
		}
		if cur.AssignmentStatus != TaskPending && cur.AssignmentStatus != TaskReserved {
			*t = cur // it left the queue meanwhile; the caller sees the new status
			return nil
		}
		from := cur.TaskQueueSid
		setStep(&cur, fi, ti, queueSid, priority, p.now)
		if err := tx.Model(&cur).Select("filter_index", "target_index", "target_entered_at", "task_queue_sid",
			"task_queue_entered_date", "priority", "date_updated").Updates(&cur).Error; err != nil {
			return err
		}
		*t = cur
		return r.e.recordStep(tx, cur, from, timeout, reasons)
	})
}

// setStep puts a task on workflow step (fi, ti) in queueSid as of now.
func setStep(t *Task, fi, ti int, queueSid string, priority *int64, now time.Time) {
	t.FilterIndex, t.TargetIndex, t.TargetEnteredAt, t.DateUpdated = fi, ti, &now, now
	if t.TaskQueueSid != queueSid {
		t.TaskQueueSid, t.TaskQueueEnteredDate = queueSid, &now
	}
	if priority != nil {
		t.Priority = *priority
	}
}

// recordStep writes the history of a step change (the reasons that caused
// it, the target match, queue entry) and schedules the target's timeout.
func (e *Engine) recordStep(tx *db.Tx, t Task, fromQueue string, timeout int, reasons []string) error {
	for _, reason := range reasons {
		if err := e.record(tx, Event{WorkspaceSid: t.WorkspaceSid, EventType: reason, ResourceType: "workflow",
			ResourceSid: t.WorkflowSid, TaskSid: t.Sid, WorkflowSid: t.WorkflowSid, TaskQueueSid: fromQueue}, nil); err != nil {
			return err
		}
	}
	evs := []string{"workflow.target-matched"}
	if fromQueue != t.TaskQueueSid {
		evs = append(evs, "task-queue.entered")
		if fromQueue != "" {
			evs = append(evs, "task-queue.moved")
		}
	}
	for _, ev := range evs {
		if err := e.record(tx, Event{WorkspaceSid: t.WorkspaceSid, EventType: ev, ResourceType: "task", ResourceSid: t.Sid,
			TaskSid: t.Sid, WorkflowSid: t.WorkflowSid, TaskQueueSid: t.TaskQueueSid},
			map[string]any{"filter_index": t.FilterIndex, "target_index": t.TargetIndex}); err != nil {
			return err
		}
	}
	if timeout > 0 {
		return jobs.Enqueue(tx, jobTargetTimeout, t.WorkspaceSid, t.TargetEnteredAt.Add(time.Duration(timeout)*time.Second))
	}
	return nil
}

// matchFilter picks a task's filter: the first whose expression its
// attributes satisfy, else the default filter (-1). nil: nothing matches.
func matchFilter(plan workflowPlan, attrs map[string]any) (int, *targetPlan) {
	for i, f := range plan.filters {
		if f.expr.Eval(attrs) {
			return i, &plan.filters[i].targets[0]
		}
	}
	return -1, plan.defaultTarget
}

// planFor returns a workflow of the pass and its compiled plan.
func (r *Router) planFor(p *pass, workflowSid string) (Workflow, workflowPlan, error) {
	wf, ok := p.workflows[workflowSid]
	if !ok {
		return wf, workflowPlan{}, fmt.Errorf("workflow %s no longer exists", workflowSid)
	}
	plan, err := r.e.planOf(wf)
	return wf, plan, err
}

// queueFor returns a queue of the pass with its parsed target expression,
// cached until the queue changes.
func (r *Router) queueFor(p *pass, queueSid string) (*cachedQueue, error) {
	q, ok := p.queues[queueSid]
	if !ok {
		return nil, fmt.Errorf("queue %s no longer exists", queueSid)
	}
	if c, ok := r.queue[q.Sid]; ok && c.q.DateUpdated.Equal(q.DateUpdated) {
		return &c, nil
	}
	c := cachedQueue{q: q}
	if q.TargetWorkers != "" {
		x, err := expr.Parse(q.TargetWorkers)
		if err != nil {
			return nil, fmt.Errorf("queue %s target no longer parses: %w", q.Sid, err)
		}
		c.target = x
	}
	r.queue[q.Sid] = c
	return &c, nil
}

// eligible reports whether c may work tasks of the step, capacity aside.
func (p *pass) eligible(c *candidate, st *step, task map[string]any) bool {
	if st.queue != nil && !queueSelects(c, st.queue) {
		// An empty target expression means the queue's tasks just wait.
		return false
	}
	if st.target != nil && st.target.expr != nil && !st.target.expr.Eval(map[string]any{"task": task, "worker": c.root}) {
		return false
	}
	return true
}

// queueSelects reports whether the queue's target expression selects c,
// evaluated once per root the worker goes through.
func queueSelects(c *candidate, q *cachedQueue) bool {
	if q.target == nil {
		return false
	}
	if c.state == nil {
		return q.target.Eval(c.root)
	}
	if e, ok := c.state.eligible[q.q.Sid]; ok && e.target == q.target {
		return e.ok
	}
	ok := q.target.Eval(c.root)
	if c.state.eligible == nil {
		c.state.eligible = map[string]eligibility{}
	}
	c.state.eligible[q.q.Sid] = eligibility{target: q.target, ok: ok}
	return ok
}

// candidates lists the workers a task can be offered to now, best first.
func (r *Router) candidates(ctx context.Context, p *pass, t *Task, attrs map[string]any, st *step) ([]*candidate, error) {
	tried := p.tried[t.Sid]
	var pool []*candidate
	switch {
	case st.worker != "":
		if c := p.bySid[st.worker]; c != nil {
			pool = []*candidate{c}
		}
	case st.target != nil && st.target.knownWorker.set():
		key, ok := st.target.knownWorker.resolve(attrs)
		if !ok {
			return nil, nil
		}
		c := p.bySid[key]
		if st.target.knownWorker.byName {
			c = p.byName[key]
		}
		if c != nil && p.eligible(c, st, attrs) {
			pool = []*candidate{c}
		}
	default:
		for _, c := range p.workers {
			if p.eligible(c, st, attrs) {
				pool = append(pool, c)
			}
		}
	}
	out := pool[:0:0]
	for _, c := range pool {
		if !tried[c.w.Sid] && p.hasRoom(c, t.TaskChannelSid, t.IgnoreCapacity && st.worker != "") {
			out = append(out, c)
		}
	}
	var orderBy []expr.OrderKey
	if st.target != nil {
		orderBy = st.target.orderBy
	}
	slices.SortStableFunc(out, func(a, b *candidate) int {
		for _, k := range orderBy {
			av, _ := expr.Lookup(map[string]any{"worker": a.root}, k.Path)
			bv, _ := expr.Lookup(map[string]any{"worker": b.root}, k.Path)
			if c := compareValues(av, bv); c != 0 {
				if k.Desc {
					return -c
				}
				return c
			}
		}
		return compareIdle(a, b)
	})
	return out, nil
}

// compareIdle orders the longest-idle worker first: never reserved, then
// the oldest last reservation, then the oldest status change.
func compareIdle(a, b *candidate) int {
	switch {
	case a.w.LastReservedAt == nil && b.w.LastReservedAt != nil:
		return -1
	case a.w.LastReservedAt != nil && b.w.LastReservedAt == nil:
		return 1
	case a.w.LastReservedAt != nil && !a.w.LastReservedAt.Equal(*b.w.LastReservedAt):
		return a.w.LastReservedAt.Compare(*b.w.LastReservedAt)
	}
	if c := a.w.DateStatusChanged.Compare(b.w.DateStatusChanged); c != 0 {
		return c
	}
	return cmp.Compare(a.w.Sid, b.w.Sid)
}

// compareValues orders order_by values: numbers numerically, strings
// lexically, missing values last.
func compareValues(a, b any) int {
	switch av := a.(type) {
	case float64:
		if bv, ok := b.(float64); ok {
			return cmp.Compare(av, bv)
		}
		return -1
	case string:
		if bv, ok := b.(string); ok {
			return cmp.Compare(av, bv)
		}
		return -1
	case bool:
		if bv, ok := b.(bool); ok && av != bv {
			if av {
				return 1
			}
			return -1
		}
		return 0
	}
	if b == nil {
		return 0
	}
	return 1
}

// skipVars are the variables a target's skip_if sees: how many of the
// step's eligible workers are available, unavailable, and in each activity.
func (p *pass) skipVars(st *step, t *Task, attrs map[string]any) map[string]any {
	vars := map[string]any{"available": 0.0, "unavailable": 0.0}
	for _, c := range p.workers {
		if !p.eligible(c, st, attrs) {
			continue
		}
		if c.w.Available {
			vars["available"] = vars["available"].(float64) + 1
		} else {
			vars["unavailable"] = vars["unavailable"].(float64) + 1
		}
		n, _ := vars[c.w.ActivitySid].(float64)
		vars[c.w.ActivitySid] = n + 1
	}
	return map[string]any{"workers": vars}
}

// reserve offers the task to one worker, in a transaction that re-checks
// everything the snapshot assumed: the task still waits, the worker is still
// available with room. It reports whether the offer was made.
func (r *Router) reserve(ctx context.Context, p *pass, t *Task, c *candidate, st *step) (bool, error) {
	var made bool
	err := r.e.write(ctx, func(tx *db.Tx) error {
		now := r.e.now()
		// Marking the task reserved first locks it, as every change of a
		// task's offers does before touching a worker's capacity.
		var queueSids []string
		res := tx.Raw("UPDATE tasks SET assignment_status = ?, date_updated = ? WHERE sid = ? AND assignment_status IN (?, ?) RETURNING task_queue_sid",
			TaskReserved, now, t.Sid, TaskPending, TaskReserved).Scan(&queueSids)
		if res.Error != nil || len(queueSids) == 0 {
			return res.Error // no longer waiting
		}
		timeout := st.timeout
		if timeout <= 0 {
			timeout = 120
		}
		rv := Reservation{Sid: sid.New(sid.Reservation), WorkspaceSid: t.WorkspaceSid, TaskSid: t.Sid, WorkerSid: c.w.Sid,
			TaskChannelSid: t.TaskChannelSid, ReservationStatus: ReservationPending,
			TimeoutAt: now.Add(time.Duration(timeout) * time.Second), DateCreated: now, DateUpdated: now}
		ok, err := takeCapacity(tx, rv, t.IgnoreCapacity && st.worker != "")
		if err != nil {
			return err
		}
		if !ok {
			return errWorkerChanged // undoes the task's mark
		}
		if err := jobs.Enqueue(tx, jobReservationTimeout, rv.Sid, rv.TimeoutAt); err != nil {
			return err
		}
		if err := r.e.record(tx, Event{WorkspaceSid: t.WorkspaceSid, EventType: "reservation.created", ResourceType: "reservation",
			ResourceSid: rv.Sid, ReservationSid: rv.Sid, TaskSid: t.Sid, WorkerSid: c.w.Sid, TaskQueueSid: queueSids[0],
			WorkflowSid: t.WorkflowSid, TaskChannel: p.channels[t.TaskChannelSid]}, nil); err != nil {
			return err
		}
		if st.queue != nil && st.queue.q.ReservationActivitySid != "" {
			w := c.w
			if err := r.e.setWorkerActivity(tx, &w, st.queue.q.ReservationActivitySid, "queue reservation activity"); err != nil {
				return err
			}
		}
		made = true
		return nil
	})
	if errors.Is(err, errWorkerChanged) {
		return false, nil
	}
	if err != nil || !made {
		return false, err
	}
	// Keep the snapshot honest for the rest of the pass.
	now := r.e.now()
	c.w.LastReservedAt = &now
	if wc := c.channels[t.TaskChannelSid]; wc != nil {
		wc.Used++
	}
	c.used++
	t.AssignmentStatus = TaskReserved
	p.live[t.Sid]++
	if p.tried[t.Sid] == nil {
		p.tried[t.Sid] = map[string]bool{}
	}
	p.tried[t.Sid][c.w.Sid] = true
	return true, nil
}

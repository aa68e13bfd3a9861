package taskrouter

import (
	"context"
	"encoding/json"
	"slices"
	"strings"

	"github.com/switchboardhq/switchboard/interactions/expr"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// WorkflowPreview is where a workflow configuration would send a task with
// given attributes right now, worked out by the router's own code: the
// filter the attributes match, the target that filter starts on (after any
// target whose skip_if holds with nobody to offer), its queue, and the
// workers the router would offer the task to, best first.
type WorkflowPreview struct {
	// Matched is false when no filter matches and there is no default
	// filter: such a task waits until its attributes change.
	Matched bool
	// FilterIndex is the matching filter's position; -1 the default filter.
	FilterIndex int
	Filter      string // its filter_friendly_name
	TargetIndex int
	Skipped     int // targets passed over by their skip_if
	Queue       TaskQueue
	Expression  string // the target's expression over task and worker; "" none
	Priority    *int64 // the priority the target gives the task; nil keeps it
	Timeout     int    // seconds on this target before the next; 0 none
	OrderBy     string
	KnownWorker string // a known_worker_sid or known_worker_friendly_name, resolved
	// ReservationTimeout is how long each offer rings.
	ReservationTimeout int
	TaskChannel        TaskChannel
	// Workers are the eligible workers now: available, with room on the
	// channel, selected by the queue and the target, in the order the
	// router offers; it offers to the first Queue.MaxReservedWorkers at once.
	Workers []Worker
	// Selected counts the workers the queue and target select, whatever
	// their activity and capacity.
	Selected int
}

// PreviewWorkflow works out where a task with the given attributes on the
// given task channel (SID or unique name; "" the default channel) would go
// under configuration (saved or not), as of now. reservationTimeout is the
// workflow's TaskReservationTimeout (0: the default). Tasks already waiting
// are not taken into account: one ahead in line may take a worker first.
func (e *Engine) PreviewWorkflow(ctx context.Context, workspaceSid, configuration, attributes, taskChannel string, reservationTimeout int) (WorkflowPreview, error) {
	if strings.TrimSpace(attributes) == "" {
		attributes = "{}"
	}
	if err := checkAttributes(&attributes, MaxTaskAttributes); err != nil {
		return WorkflowPreview{}, errs.Invalidf("Task attributes must be a JSON object")
	}
	var attrs map[string]any
	_ = json.Unmarshal([]byte(attributes), &attrs) // checked above
	if taskChannel == "" {
		taskChannel = "default"
	}
	if reservationTimeout <= 0 {
		reservationTimeout = DefaultTaskReservationTimeout
	}
	r := &Router{e: e, queue: map[string]cachedQueue{}}
	p, err := r.load(ctx, workspaceSid)
	if err != nil {
		return WorkflowPreview{}, errs.Wrap(err, "preview")
	}
	tc, err := taskChannelParam(e.read(ctx), workspaceSid, taskChannel)
	if err != nil {
		return WorkflowPreview{}, err
	}
	plan, err := compileWorkflow(configuration, func(q string) bool { _, ok := p.queues[q]; return ok })
	if err != nil {
		return WorkflowPreview{}, err
	}
	out := WorkflowPreview{TaskChannel: tc, ReservationTimeout: reservationTimeout}
	fi, tp := matchFilter(plan, attrs)
	if tp == nil {
		return out, nil
	}
	out.Matched, out.FilterIndex = true, fi
	t := &Task{WorkspaceSid: workspaceSid, Attributes: attributes, AssignmentStatus: TaskPending, TaskChannelSid: tc.Sid,
		FilterIndex: fi}
	p.room = p.anyRoom()
	for ti := 0; ; {
		q, err := r.queueFor(p, tp.queue)
		if err != nil {
			return out, errs.Wrap(err, "preview")
		}
		st := &step{queue: q, target: tp, timeout: reservationTimeout, priority: tp.priority}
		var cands []*candidate
		if p.room {
			if cands, err = r.candidates(ctx, p, t, attrs, st); err != nil {
				return out, errs.Wrap(err, "preview")
			}
		}
		// As routeTask: a target with nobody to offer to is skipped when its
		// skip_if holds.
		if len(cands) == 0 && tp.skipIf != nil && tp.skipIf.Eval(p.skipVars(st, t, attrs)) {
			if nfi, nti, ok := nextTarget(plan, fi, ti); ok {
				fi, ti, tp = nfi, nti, targetAt(plan, nfi, nti)
				t.FilterIndex, t.TargetIndex = fi, ti
				out.Skipped++
				continue
			}
		}
		out.FilterIndex, out.TargetIndex, out.Queue = fi, ti, q.q
		if fi >= 0 {
			out.Filter = plan.filters[fi].name
		}
		if tp.expr != nil {
			out.Expression = tp.expr.String()
		}
		out.Priority, out.Timeout = tp.priority, tp.timeout
		out.OrderBy = orderByText(tp.orderBy)
		if tp.knownWorker.set() {
			out.KnownWorker, _ = tp.knownWorker.resolve(attrs)
		}
		for _, c := range p.workers {
			if p.eligible(c, st, attrs) {
				out.Selected++
			}
		}
		for _, c := range cands {
			out.Workers = append(out.Workers, c.w)
		}
		return out, nil
	}
}

func orderByText(keys []expr.OrderKey) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strings.Join(k.Path, ".") + " ASC"
		if k.Desc {
			parts[i] = strings.Join(k.Path, ".") + " DESC"
		}
	}
	return strings.Join(parts, ", ")
}

// TargetPreview is what a queue's target workers expression selects now.
type TargetPreview struct {
	Workers []Worker // selected, oldest first
	Total   int      // workers of the workspace
}

// PreviewTargetWorkers checks a target workers expression and lists the
// workers it selects now, the way the router and the REST API's
// TargetWorkersExpression filter see them. A parse error is Invalid, with
// the position of the mistake; an empty expression selects nobody.
func (e *Engine) PreviewTargetWorkers(ctx context.Context, workspaceSid, expression string) (TargetPreview, error) {
	all, _, err := e.Workers(ctx, workspaceSid, WorkerFilter{}, Page{Limit: maxPreviewWorkers})
	if err != nil {
		return TargetPreview{}, err
	}
	out := TargetPreview{Total: len(all)}
	if strings.TrimSpace(expression) == "" {
		return out, nil
	}
	if _, err := expr.Parse(expression); err != nil {
		return out, errs.Invalidf("TargetWorkers: %v", err)
	}
	out.Workers, _, err = e.Workers(ctx, workspaceSid, WorkerFilter{TargetWorkersExpression: expression}, Page{Limit: maxPreviewWorkers})
	return out, err
}

// maxPreviewWorkers bounds the workers a target preview reads.
const maxPreviewWorkers = 10000

// CheckWorkflowConfiguration validates a workflow configuration as saving
// it would: JSON, every expression, and every queue a queue of the
// workspace. Errors name the place in the document.
func (e *Engine) CheckWorkflowConfiguration(ctx context.Context, workspaceSid, configuration string) error {
	var queues []string
	if err := e.read(ctx).Model(&TaskQueue{}).Where("workspace_sid = ?", workspaceSid).Pluck("sid", &queues).Error; err != nil {
		return errs.Wrap(err, "task queues")
	}
	_, err := compileWorkflow(configuration, func(q string) bool { return slices.Contains(queues, q) })
	return err
}

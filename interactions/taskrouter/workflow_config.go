package taskrouter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboardhq/switchboard/interactions/expr"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// WorkflowConfig is a workflow's configuration document, as Flex writes it.
type WorkflowConfig struct {
	TaskRouting struct {
		Filters       []FilterConfig `json:"filters"`
		DefaultFilter *TargetConfig  `json:"default_filter,omitempty"`
	} `json:"task_routing"`
}

// FilterConfig matches tasks by expression and lists the targets they try.
type FilterConfig struct {
	FilterFriendlyName string         `json:"filter_friendly_name"`
	Expression         string         `json:"expression"`
	Targets            []TargetConfig `json:"targets"`
}

// TargetConfig is one routing step: a queue, optionally narrowed by an
// expression over task and worker, with its own priority, timeout, order,
// skip condition or known worker.
type TargetConfig struct {
	Queue                   string `json:"queue"`
	Expression              string `json:"expression,omitempty"`
	Priority                *int64 `json:"priority,omitempty"`
	Timeout                 *int   `json:"timeout,omitempty"`
	OrderBy                 string `json:"order_by,omitempty"`
	SkipIf                  string `json:"skip_if,omitempty"`
	KnownWorkerSid          string `json:"known_worker_sid,omitempty"`
	KnownWorkerFriendlyName string `json:"known_worker_friendly_name,omitempty"`
}

// workflowPlan is a workflow configuration compiled for routing: every
// expression is parsed once, when the workflow is saved or loaded.
type workflowPlan struct {
	filters       []filterPlan
	defaultTarget *targetPlan
}

type filterPlan struct {
	name    string
	expr    *expr.Expr
	targets []targetPlan
}

type targetPlan struct {
	queue       string
	expr        *expr.Expr // nil: every worker of the queue
	priority    *int64
	timeout     int // seconds; 0: no timeout
	orderBy     []expr.OrderKey
	skipIf      *expr.Expr
	knownWorker knownWorker
}

// knownWorker is a target's known_worker_sid or known_worker_friendly_name:
// a literal, or a task attribute path such as task.transferTargetSid.
type knownWorker struct {
	byName bool
	value  string   // a literal SID or name
	path   []string // a task attribute path, resolved per task
}

func (k knownWorker) set() bool { return k.value != "" || k.path != nil }

// resolve returns the worker SID or name the target names for a task.
func (k knownWorker) resolve(taskAttrs map[string]any) (string, bool) {
	if k.path == nil {
		return k.value, k.value != ""
	}
	v, ok := expr.Lookup(taskAttrs, k.path)
	s, isString := v.(string)
	return s, ok && isString && s != ""
}

// compileWorkflow checks a configuration document and compiles it. A bad
// expression is reported with the JSON location and the position in it, so
// it fails when saved, never at routing time. queueExists checks queue SIDs.
func compileWorkflow(configuration string, queueExists func(string) bool) (workflowPlan, error) {
	var cfg WorkflowConfig
	dec := json.NewDecoder(strings.NewReader(configuration))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return workflowPlan{}, errs.Invalidf("Configuration is not a valid workflow document%s: %v", jsonPlace(configuration, err), err)
	}
	var plan workflowPlan
	for i, f := range cfg.TaskRouting.Filters {
		where := fmt.Sprintf("task_routing.filters[%d]", i)
		fp := filterPlan{name: f.FilterFriendlyName}
		if strings.TrimSpace(f.Expression) == "" {
			return plan, errs.Invalidf("Configuration %s.expression is required", where)
		}
		x, err := expr.Parse(f.Expression)
		if err != nil {
			return plan, errs.Invalidf("Configuration %s.expression: %v", where, err)
		}
		fp.expr = x
		if len(f.Targets) == 0 {
			return plan, errs.Invalidf("Configuration %s.targets must list at least one target", where)
		}
		for j, t := range f.Targets {
			tp, err := compileTarget(t, fmt.Sprintf("%s.targets[%d]", where, j), queueExists)
			if err != nil {
				return plan, err
			}
			fp.targets = append(fp.targets, tp)
		}
		plan.filters = append(plan.filters, fp)
	}
	if d := cfg.TaskRouting.DefaultFilter; d != nil {
		tp, err := compileTarget(*d, "task_routing.default_filter", queueExists)
		if err != nil {
			return plan, err
		}
		plan.defaultTarget = &tp
	}
	if len(plan.filters) == 0 && plan.defaultTarget == nil {
		return plan, errs.Invalidf("Configuration must have task_routing.filters or a task_routing.default_filter")
	}
	return plan, nil
}

func compileTarget(t TargetConfig, where string, queueExists func(string) bool) (targetPlan, error) {
	tp := targetPlan{queue: t.Queue, priority: t.Priority}
	if !sid.Is(t.Queue, sid.TaskQueue) || !queueExists(t.Queue) {
		return tp, errs.Invalidf("Configuration %s.queue %q is not a TaskQueue of this workspace", where, t.Queue)
	}
	var err error
	if strings.TrimSpace(t.Expression) != "" {
		if tp.expr, err = expr.Parse(t.Expression); err != nil {
			return tp, errs.Invalidf("Configuration %s.expression: %v", where, err)
		}
	}
	if t.Timeout != nil {
		if *t.Timeout < 0 || *t.Timeout > 86400*14 {
			return tp, errs.Invalidf("Configuration %s.timeout must be between 0 and 1209600 seconds", where)
		}
		tp.timeout = *t.Timeout
	}
	if strings.TrimSpace(t.OrderBy) != "" {
		if tp.orderBy, err = expr.ParseOrderBy(t.OrderBy); err != nil {
			return tp, errs.Invalidf("Configuration %s.order_by: %v", where, err)
		}
	}
	if strings.TrimSpace(t.SkipIf) != "" {
		if tp.skipIf, err = expr.Parse(t.SkipIf); err != nil {
			return tp, errs.Invalidf("Configuration %s.skip_if: %v", where, err)
		}
	}
	switch {
	case t.KnownWorkerSid != "" && t.KnownWorkerFriendlyName != "":
		return tp, errs.Invalidf("Configuration %s has both known_worker_sid and known_worker_friendly_name", where)
	case t.KnownWorkerSid != "":
		tp.knownWorker = parseKnownWorker(t.KnownWorkerSid, false)
	case t.KnownWorkerFriendlyName != "":
		tp.knownWorker = parseKnownWorker(t.KnownWorkerFriendlyName, true)
	}
	return tp, nil
}

func parseKnownWorker(v string, byName bool) knownWorker {
	if rest, ok := strings.CutPrefix(v, "task."); ok {
		return knownWorker{byName: byName, path: strings.Split(rest, ".")}
	}
	return knownWorker{byName: byName, value: v}
}

// cachedPlan is a compiled workflow as of its last update.
type cachedPlan struct {
	updated time.Time
	plan    workflowPlan
}

// planOf compiles a workflow's configuration, once per version of it.
func (e *Engine) planOf(wf Workflow) (workflowPlan, error) {
	e.plansMu.Lock()
	defer e.plansMu.Unlock()
	if c, ok := e.plans[wf.Sid]; ok && c.updated.Equal(wf.DateUpdated) {
		return c.plan, nil
	}
	plan, err := compileWorkflow(wf.Configuration, func(string) bool { return true })
	if err != nil {
		return plan, fmt.Errorf("workflow %s no longer compiles: %w", wf.Sid, err)
	}
	e.plans[wf.Sid] = cachedPlan{updated: wf.DateUpdated, plan: plan}
	return plan, nil
}

// jsonPlace says where in the document a decoding error is, as " at line
// L, column C", so an editor can point at it; "" when the error has no offset.
func jsonPlace(doc string, err error) string {
	var offset int64
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		offset = syntax.Offset
	case errors.As(err, &typ):
		offset = typ.Offset
	case errors.Is(err, io.ErrUnexpectedEOF):
		offset = int64(len(doc)) // the document ends before its last value does
	default:
		return ""
	}
	before := doc[:min(int(offset), len(doc))]
	line := strings.Count(before, "\n") + 1
	col := utf8.RuneCountInString(before[strings.LastIndex(before, "\n")+1:])
	return fmt.Sprintf(" at line %d, column %d", line, max(col, 1))
}

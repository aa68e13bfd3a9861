package taskrouter

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// StatisticsScope is what statistics describe: the whole workspace (the
// zero value), one queue, one workflow, one worker, or workers.
type StatisticsScope struct {
	TaskQueueSid string
	WorkflowSid  string
	WorkerSid    string
	// Workers makes these worker statistics: over the workers the filter's
	// TaskQueueSid, TaskQueueName and FriendlyName select (all when empty).
	Workers *WorkerFilter
}

// MaxWaitTimeSplits bounds SplitByWaitTime: each threshold adds columns to
// the statistics query.
const MaxWaitTimeSplits = 20

// StatisticsParams say which statistics to compute and over what.
type StatisticsParams struct {
	Window                 // the interval of the cumulative statistics
	TaskChannel     string // a task channel SID or unique name; "" counts every channel
	SplitByWaitTime []int  // wait thresholds in seconds
	RealTime        bool
	Cumulative      bool
}

// Statistics are a scope's real-time and cumulative statistics; a part not
// asked for is nil.
type Statistics struct {
	RealTime   *RealTimeStatistics
	Cumulative *CumulativeStatistics
}

// RealTimeStatistics describe a scope now. Worker statistics have no task
// figures and workflow statistics no worker figures.
type RealTimeStatistics struct {
	// ActivityStatistics count the scope's workers in each activity of the
	// workspace, every activity listed. A queue's workers are those its
	// target expression selects; with a task channel, only workers with
	// capacity on it count.
	ActivityStatistics    []ActivityStatistic
	TotalWorkers          int // the scope's workers (a queue's eligible workers)
	TotalAvailableWorkers int // of those, the ones in an available activity

	// The scope's live tasks: pending, reserved, assigned or wrapping.
	TasksByStatus   map[string]int // every live status, zeros included
	TasksByPriority map[string]int // priorities that have tasks
	TotalTasks      int
	// LongestWaiting is the pending or reserved task of the earliest virtual
	// start time; LongestInQueue the one that entered its queue first
	// (queues only). Nil when no task waits.
	LongestWaiting *WaitingTask
	LongestInQueue *WaitingTask
}

// ActivityStatistic is the number of workers in one activity.
type ActivityStatistic struct {
	Sid          string
	FriendlyName string
	Workers      int
}

// WaitingTask is a waiting task and how long it has waited, in seconds.
type WaitingTask struct {
	Sid string
	Age int
}

// CumulativeStatistics count what happened in an interval, from the event
// history. Durations are whole seconds.
type CumulativeStatistics struct {
	StartTime time.Time
	EndTime   time.Time

	ReservationsCreated   int
	ReservationsAccepted  int
	ReservationsRejected  int
	ReservationsTimedOut  int
	ReservationsCanceled  int
	ReservationsRescinded int

	TasksCreated int
	// TasksEntered counts tasks entering the scope: a workflow's created
	// tasks, otherwise tasks entering a queue.
	TasksEntered   int
	TasksCanceled  int
	TasksCompleted int
	TasksDeleted   int
	TasksMoved     int // tasks that moved into a queue from another
	// TasksTimedOutInWorkflow counts tasks canceled by their time to live.
	TasksTimedOutInWorkflow int

	// AvgTaskAcceptanceTime is the average time from a task's creation to
	// the acceptance of its reservation, as on Twilio; it equals
	// WaitDurationUntilAccepted.Avg.
	AvgTaskAcceptanceTime     int
	WaitDurationUntilAccepted Durations // task created → reservation accepted
	WaitDurationUntilCanceled Durations // task created → task canceled
	// WaitDurationInQueueUntilAccepted runs from the task entering its
	// queue (tasks deleted since do not count).
	WaitDurationInQueueUntilAccepted Durations
	// SplitByWaitTime has one entry per requested threshold, in order.
	SplitByWaitTime []WaitSplit

	// ActivityDurations (worker statistics) give, for every activity, the
	// time each worker spent in it during the interval.
	ActivityDurations []ActivityDuration
}

// Durations summarise waits or stays: the average, shortest and longest
// one and their sum, in whole seconds.
type Durations struct {
	Avg, Min, Max, Total int
}

// WaitSplit counts canceled tasks and accepted reservations whose wait was
// at most (Below) or over (Above) Threshold seconds.
type WaitSplit struct {
	Threshold int
	Below     SplitCounts
	Above     SplitCounts
}

// SplitCounts are one side of a WaitSplit.
type SplitCounts struct {
	TasksCanceled        int
	ReservationsAccepted int
}

// ActivityDuration is the time workers spent in one activity: per worker
// who spent any, the average, shortest and longest stay, and the total.
type ActivityDuration struct {
	Sid          string
	FriendlyName string
	Durations
}

// QueueStatistics are one queue's statistics in a list of queues.
type QueueStatistics struct {
	TaskQueueSid string
	Statistics
}

// liveStatuses are the statuses of tasks that real-time statistics count.
var liveStatuses = []string{TaskPending, TaskReserved, TaskAssigned, TaskWrapping}

// allRows is a page that holds every row.
var allRows = Page{Limit: math.MaxInt32}

// scope is a StatisticsScope resolved against the database.
type scope struct {
	workspaceSid string
	queue        *TaskQueue
	workflowSid  string
	channel      *TaskChannel
	// workerStats marks worker statistics; someWorkers restricts them (and
	// a queue's real-time figures) to workers.
	workerStats bool
	someWorkers bool
	workers     []string
}

// Statistics computes a scope's statistics.
func (e *Engine) Statistics(ctx context.Context, workspaceSid string, s StatisticsScope, p StatisticsParams) (Statistics, error) {
	q := e.read(ctx)
	if _, err := e.findWorkspace(q, workspaceSid); err != nil {
		return Statistics{}, err
	}
	sc := scope{workspaceSid: workspaceSid, workflowSid: s.WorkflowSid}
	switch {
	case s.TaskQueueSid != "":
		tq, err := lookup[TaskQueue](q, workspaceSid, "sid", s.TaskQueueSid, "TaskQueues")
		if err != nil {
			return Statistics{}, err
		}
		sc.queue = &tq
	case s.WorkflowSid != "":
		if _, err := lookup[Workflow](q, workspaceSid, "sid", s.WorkflowSid, "Workflows"); err != nil {
			return Statistics{}, err
		}
	case s.WorkerSid != "":
		if _, err := e.findWorker(q, workspaceSid, s.WorkerSid); err != nil {
			return Statistics{}, err
		}
		sc.workerStats, sc.someWorkers, sc.workers = true, true, []string{s.WorkerSid}
	case s.Workers != nil:
		sc.workerStats = true
		if *s.Workers != (WorkerFilter{}) {
			if err := e.selectWorkers(ctx, &sc, *s.Workers); err != nil {
				return Statistics{}, err
			}
		}
	}
	return e.statistics(ctx, sc, p)
}

// TaskQueuesStatistics lists the statistics of a workspace's queues (those
// named friendlyName, when given), oldest queue first.
func (e *Engine) TaskQueuesStatistics(ctx context.Context, workspaceSid, friendlyName string, p StatisticsParams, page Page) ([]QueueStatistics, bool, error) {
	queues, more, err := e.TaskQueues(ctx, workspaceSid, TaskQueueFilter{FriendlyName: friendlyName}, page)
	if err != nil {
		return nil, false, err
	}
	if p.Cumulative {
		// One interval for every queue of the list.
		start, end, err := e.interval(p.Window)
		if err != nil {
			return nil, false, err
		}
		p.Window = Window{StartDate: &start, EndDate: &end}
	}
	out := make([]QueueStatistics, len(queues))
	for i := range queues {
		st, err := e.statistics(ctx, scope{workspaceSid: workspaceSid, queue: &queues[i]}, p)
		if err != nil {
			return nil, false, err
		}
		out[i] = QueueStatistics{TaskQueueSid: queues[i].Sid, Statistics: st}
	}
	return out, more, nil
}

// MaxBulkTaskQueues is how many queues one bulk real-time request may name.
const MaxBulkTaskQueues = 50

// TaskQueuesRealTimeStatistics computes the real-time statistics of up to
// MaxBulkTaskQueues queues at once, in the order given. As on Twilio, a
// well-formed queue SID the workspace does not have gets zeros.
func (e *Engine) TaskQueuesRealTimeStatistics(ctx context.Context, workspaceSid string, queueSids []string) ([]QueueStatistics, error) {
	q := e.read(ctx)
	if _, err := e.findWorkspace(q, workspaceSid); err != nil {
		return nil, err
	}
	if len(queueSids) < 1 || len(queueSids) > MaxBulkTaskQueues {
		return nil, errs.Invalidf("QueueSids must name between 1 and %d task queues", MaxBulkTaskQueues)
	}
	for _, s := range queueSids {
		if !sid.Is(s, sid.TaskQueue) {
			return nil, errs.Invalidf("QueueSids: %q is not a TaskQueue SID", s)
		}
	}
	var queues []TaskQueue
	if err := q.Where("workspace_sid = ? AND sid IN ?", workspaceSid, queueSids).Find(&queues).Error; err != nil {
		return nil, errs.Wrap(err, "task queues")
	}
	out := make([]QueueStatistics, len(queueSids))
	for i, s := range queueSids {
		out[i].TaskQueueSid = s
		j := slices.IndexFunc(queues, func(tq TaskQueue) bool { return tq.Sid == s })
		if j < 0 {
			out[i].RealTime = &RealTimeStatistics{TasksByPriority: map[string]int{}, TasksByStatus: zeroStatuses(),
				ActivityStatistics: []ActivityStatistic{}}
			continue
		}
		st, err := e.statistics(ctx, scope{workspaceSid: workspaceSid, queue: &queues[j]}, StatisticsParams{RealTime: true})
		if err != nil {
			return nil, err
		}
		out[i].Statistics = st
	}
	return out, nil
}

// selectWorkers restricts the scope to the workers f selects.
func (e *Engine) selectWorkers(ctx context.Context, sc *scope, f WorkerFilter) error {
	workers, _, err := e.Workers(ctx, sc.workspaceSid, f, allRows)
	if err != nil {
		return err
	}
	sc.someWorkers, sc.workers = true, make([]string, len(workers))
	for i, w := range workers {
		sc.workers[i] = w.Sid
	}
	return nil
}

func (e *Engine) statistics(ctx context.Context, sc scope, p StatisticsParams) (Statistics, error) {
	q := e.read(ctx)
	if p.TaskChannel != "" {
		tc, err := taskChannelParam(q, sc.workspaceSid, p.TaskChannel)
		if err != nil {
			return Statistics{}, err
		}
		sc.channel = &tc
	}
	var start, end time.Time
	if p.Cumulative {
		var err error
		if start, end, err = e.interval(p.Window); err != nil {
			return Statistics{}, err
		}
		if len(p.SplitByWaitTime) > MaxWaitTimeSplits {
			return Statistics{}, errs.Invalidf("SplitByWaitTime takes at most %d thresholds", MaxWaitTimeSplits)
		}
		for _, t := range p.SplitByWaitTime {
			if t < 1 {
				return Statistics{}, errs.Invalidf("SplitByWaitTime thresholds must be whole seconds of at least 1")
			}
		}
	}
	var out Statistics
	if p.RealTime {
		rsc := sc
		if sc.queue != nil {
			// A queue's workers are those its target expression selects
			// (only now: its history counts every worker).
			if err := e.selectWorkers(ctx, &rsc, WorkerFilter{TaskQueueSid: sc.queue.Sid}); err != nil {
				return out, err
			}
		}
		rt, err := e.realTime(q, rsc)
		if err != nil {
			return out, err
		}
		out.RealTime = &rt
	}
	if p.Cumulative {
		cu, err := e.cumulative(q, sc, start, end, p.SplitByWaitTime)
		if err != nil {
			return out, err
		}
		out.Cumulative = &cu
	}
	return out, nil
}

// realTime computes the real-time statistics of a scope.
func (e *Engine) realTime(q *gorm.DB, sc scope) (RealTimeStatistics, error) {
	var rt RealTimeStatistics
	if sc.workflowSid == "" {
		if err := e.activityStatistics(q, sc, &rt); err != nil {
			return rt, err
		}
	}
	if sc.workerStats {
		return rt, nil
	}
	tasks := func() *gorm.DB {
		t := q.Model(&Task{}).Where("workspace_sid = ? AND assignment_status IN ?", sc.workspaceSid, liveStatuses)
		if sc.queue != nil {
			t = t.Where("task_queue_sid = ?", sc.queue.Sid)
		}
		if sc.workflowSid != "" {
			t = t.Where("workflow_sid = ?", sc.workflowSid)
		}
		if sc.channel != nil {
			t = t.Where("task_channel_sid = ?", sc.channel.Sid)
		}
		return t
	}
	var groups []struct {
		AssignmentStatus string
		Priority         int64
		N                int
	}
	if err := tasks().Select("assignment_status, priority, COUNT(*) AS n").Group("assignment_status, priority").
		Scan(&groups).Error; err != nil {
		return rt, errs.Wrap(err, "task statistics")
	}
	rt.TasksByStatus, rt.TasksByPriority = zeroStatuses(), map[string]int{}
	for _, g := range groups {
		rt.TasksByStatus[g.AssignmentStatus] += g.N
		rt.TasksByPriority[strconv.FormatInt(g.Priority, 10)] += g.N
		rt.TotalTasks += g.N
	}
	now := e.now()
	waiting := func(order string, since func(Task) time.Time) (*WaitingTask, error) {
		var t []Task
		if err := tasks().Where("assignment_status IN ?", []string{TaskPending, TaskReserved}).Order(order).Limit(1).
			Find(&t).Error; err != nil || len(t) == 0 {
			return nil, errs.Wrap(err, "waiting tasks")
		}
		return &WaitingTask{Sid: t[0].Sid, Age: max(0, int(now.Sub(since(t[0])).Seconds()))}, nil
	}
	var err error
	if rt.LongestWaiting, err = waiting("virtual_start_time, sid", func(t Task) time.Time { return t.VirtualStartTime }); err != nil {
		return rt, err
	}
	if sc.queue != nil {
		rt.LongestInQueue, err = waiting("task_queue_entered_date, sid", func(t Task) time.Time {
			if t.TaskQueueEnteredDate == nil {
				return now
			}
			return *t.TaskQueueEnteredDate
		})
	}
	return rt, err
}

// zeroStatuses counts no task in each live status.
func zeroStatuses() map[string]int {
	out := map[string]int{}
	for _, s := range liveStatuses {
		out[s] = 0
	}
	return out
}

// activityStatistics counts the scope's workers per activity.
func (e *Engine) activityStatistics(q *gorm.DB, sc scope, rt *RealTimeStatistics) error {
	on, args := "w.activity_sid = a.sid", []any{}
	if sc.someWorkers {
		on, args = on+" AND w.sid IN ?", append(args, sc.workers)
	}
	if sc.channel != nil {
		on += ` AND EXISTS (SELECT 1 FROM worker_channels wc
			WHERE wc.worker_sid = w.sid AND wc.task_channel_sid = ? AND wc.capacity > 0)`
		args = append(args, sc.channel.Sid)
	}
	var rows []struct {
		Sid          string
		FriendlyName string
		Workers      int
		Available    int
	}
	if err := q.Table("activities AS a").
		Select("a.sid, a.friendly_name, COUNT(w.sid) AS workers, COUNT(CASE WHEN w.available THEN 1 END) AS available").
		Joins("LEFT JOIN workers w ON "+on, args...).Where("a.workspace_sid = ?", sc.workspaceSid).
		Group("a.sid, a.friendly_name, a.date_created").Order("a.date_created, a.sid").Scan(&rows).Error; err != nil {
		return errs.Wrap(err, "activity statistics")
	}
	rt.ActivityStatistics = make([]ActivityStatistic, len(rows))
	for i, r := range rows {
		rt.ActivityStatistics[i] = ActivityStatistic{Sid: r.Sid, FriendlyName: r.FriendlyName, Workers: r.Workers}
		rt.TotalWorkers += r.Workers
		rt.TotalAvailableWorkers += r.Available
	}
	return nil
}

// sqlDialect writes the few expressions SQLite and Postgres spell differently.
type sqlDialect db.Dialect

// seconds is the time from b to a in seconds, rounded to the millisecond
// so that comparisons with whole-second thresholds are exact.
func (d sqlDialect) seconds(a, b string) string {
	if db.Dialect(d) == db.Postgres {
		return "(ROUND(CAST(EXTRACT(EPOCH FROM (" + a + " - " + b + ")) AS DOUBLE PRECISION) * 1000) / 1000.0)"
	}
	return "(ROUND((julianday(" + a + ") - julianday(" + b + ")) * 86400000.0) / 1000.0)"
}

// least and greatest pick the smaller and the larger of two values.
func (d sqlDialect) least(a, b string) string {
	if db.Dialect(d) == db.Postgres {
		return "LEAST(" + a + ", " + b + ")"
	}
	return "min(" + a + ", " + b + ")"
}

func (d sqlDialect) greatest(a, b string) string {
	if db.Dialect(d) == db.Postgres {
		return "GREATEST(" + a + ", " + b + ")"
	}
	return "max(" + a + ", " + b + ")"
}

// jsonText is the string at key of the JSON object in column.
func (d sqlDialect) jsonText(column, key string) string {
	if db.Dialect(d) == db.Postgres {
		return "(CAST(" + column + " AS jsonb) ->> '" + key + "')"
	}
	return "json_extract(" + column + ", '$." + key + "')"
}

// cumulative counts the scope's events between start and end (inclusive)
// in one pass over the history, attributing each event to its queue,
// workflow and channel (see attributionJoins).
func (e *Engine) cumulative(q *gorm.DB, sc scope, start, end time.Time, splits []int) (CumulativeStatistics, error) {
	cu := CumulativeStatistics{StartTime: start, EndTime: end}
	d := sqlDialect(e.db.Dialect)
	const (
		accepted = "e.event_type = 'reservation.accepted'"
		canceled = "e.event_type = 'task.canceled'"
	)
	// A wait runs from the task's creation; the in-queue wait from the task
	// entering the queue that accepted it, which it never leaves afterwards.
	wait := d.seconds("e.event_date", "tc.event_date")
	queueWait := d.seconds("e.event_date", "t.task_queue_entered_date")
	args := map[string]any{"ws": sc.workspaceSid, "start": start, "end": end, "ttl": `%"task_canceled_reason":"` + ttlExceeded + `"%`}
	entered := "task-queue.entered"
	if sc.workflowSid != "" {
		entered = "task.created"
	}
	args["entered"] = entered

	type column struct {
		expr string
		dst  *int
	}
	counts := []column{
		{"e.event_type = 'reservation.created'", &cu.ReservationsCreated},
		{accepted, &cu.ReservationsAccepted},
		{"e.event_type = 'reservation.rejected'", &cu.ReservationsRejected},
		{"e.event_type = 'reservation.timeout'", &cu.ReservationsTimedOut},
		{"e.event_type = 'reservation.canceled'", &cu.ReservationsCanceled},
		{"e.event_type = 'reservation.rescinded'", &cu.ReservationsRescinded},
		{"e.event_type = 'task.created'", &cu.TasksCreated},
		{"e.event_type = @entered", &cu.TasksEntered},
		{canceled, &cu.TasksCanceled},
		{"e.event_type = 'task.completed'", &cu.TasksCompleted},
		{"e.event_type = 'task.deleted'", &cu.TasksDeleted},
		{"e.event_type = 'task-queue.moved'", &cu.TasksMoved},
		{canceled + " AND e.event_data LIKE @ttl", &cu.TasksTimedOutInWorkflow},
	}
	cu.SplitByWaitTime = make([]WaitSplit, len(splits))
	for i, t := range splits {
		s := &cu.SplitByWaitTime[i]
		s.Threshold = t
		name := fmt.Sprintf("t%d", i)
		args[name] = t
		counts = append(counts,
			column{canceled + " AND " + wait + " <= @" + name, &s.Below.TasksCanceled},
			column{canceled + " AND " + wait + " > @" + name, &s.Above.TasksCanceled},
			column{accepted + " AND " + wait + " <= @" + name, &s.Below.ReservationsAccepted},
			column{accepted + " AND " + wait + " > @" + name, &s.Above.ReservationsAccepted},
		)
	}
	durations := []struct {
		value string
		dst   *Durations
	}{
		{"CASE WHEN " + accepted + " THEN " + wait + " END", &cu.WaitDurationUntilAccepted},
		{"CASE WHEN " + canceled + " THEN " + wait + " END", &cu.WaitDurationUntilCanceled},
		{"CASE WHEN " + accepted + " AND t.task_queue_sid = e.task_queue_sid THEN " + queueWait + " END",
			&cu.WaitDurationInQueueUntilAccepted},
	}

	var sel []string
	var dst []any
	countVals := make([]sql.NullInt64, len(counts))
	for i, c := range counts {
		sel = append(sel, "COUNT(CASE WHEN "+c.expr+" THEN 1 END)")
		dst = append(dst, &countVals[i])
	}
	durVals := make([][4]sql.NullFloat64, len(durations))
	for i, du := range durations {
		for j, agg := range []string{"AVG", "MIN", "MAX", "SUM"} {
			sel = append(sel, agg+"("+du.value+")")
			dst = append(dst, &durVals[i][j])
		}
	}
	where := []string{"e.workspace_sid = @ws", "e.event_date >= @start", "e.event_date <= @end"}
	if sc.queue != nil {
		where, args["queue"] = append(where, eventQueue+" = @queue"), sc.queue.Sid
	}
	if sc.workflowSid != "" {
		where, args["workflow"] = append(where, eventWorkflow+" = @workflow"), sc.workflowSid
	}
	if sc.channel != nil {
		where, args["channel"] = append(where, eventChannel+" = @channel"), sc.channel.UniqueName
	}
	if sc.someWorkers {
		where, args["workers"] = append(where, "e.worker_sid IN @workers"), sc.workers
	}
	query := "SELECT " + strings.Join(sel, ",\n") + "\nFROM taskrouter_events e\n" + attributionJoins +
		"\nLEFT JOIN tasks t ON t.sid = e.task_sid\nWHERE " + strings.Join(where, " AND ")
	if err := q.Raw(query, args).Row().Scan(dst...); err != nil {
		return cu, errs.Wrap(err, "cumulative statistics")
	}
	for i, c := range counts {
		*c.dst = int(countVals[i].Int64)
	}
	for i, du := range durations {
		*du.dst = Durations{Avg: roundSeconds(durVals[i][0]), Min: roundSeconds(durVals[i][1]),
			Max: roundSeconds(durVals[i][2]), Total: roundSeconds(durVals[i][3])}
	}
	cu.AvgTaskAcceptanceTime = cu.WaitDurationUntilAccepted.Avg
	if sc.workerStats {
		var err error
		cu.ActivityDurations, err = e.activityDurations(q, sc, start, end)
		return cu, err
	}
	return cu, nil
}

func roundSeconds(v sql.NullFloat64) int { return int(math.Round(v.Float64)) }

// activityDurations sums, per worker and activity, the time the scope's
// workers spent in each activity between start and end. A worker's
// timeline is its activity changes in the history (worker.created,
// worker.activity.update, worker.deleted) plus its current activity since
// date_status_changed, so workers whose last change is older than the
// history still count.
func (e *Engine) activityDurations(q *gorm.DB, sc scope, start, end time.Time) ([]ActivityDuration, error) {
	d := sqlDialect(e.db.Dialect)
	stay := d.seconds(d.least("COALESCE(until, @end)", "@end"), d.greatest("since", "@start"))
	args := map[string]any{"ws": sc.workspaceSid, "start": start, "end": end}
	only := ""
	if sc.someWorkers {
		only, args["workers"] = " AND worker_sid IN @workers", sc.workers
	}
	query := `WITH changes AS (
	SELECT worker_sid, event_date AS since, COALESCE(` + d.jsonText("event_data", "worker_activity_sid") + `, '') AS activity_sid
	FROM taskrouter_events
	WHERE workspace_sid = @ws AND event_type IN ('worker.created', 'worker.activity.update', 'worker.deleted') AND event_date <= @end
	UNION ALL
	SELECT sid, date_status_changed, activity_sid FROM workers WHERE workspace_sid = @ws AND date_status_changed <= @end
), spans AS (
	SELECT worker_sid, activity_sid, since, LEAD(since) OVER (PARTITION BY worker_sid ORDER BY since) AS until FROM changes
), stays AS (
	SELECT worker_sid, activity_sid, SUM(` + stay + `) AS secs FROM spans
	WHERE activity_sid <> '' AND COALESCE(until, @end) > @start` + only + `
	GROUP BY worker_sid, activity_sid
)
SELECT activity_sid, AVG(secs) AS avg, MIN(secs) AS min, MAX(secs) AS max, SUM(secs) AS total
FROM stays WHERE secs > 0 GROUP BY activity_sid`
	var rows []struct {
		ActivitySid          string
		Avg, Min, Max, Total sql.NullFloat64
	}
	if err := q.Raw(query, args).Scan(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "activity durations")
	}
	byActivity := map[string]Durations{}
	for _, r := range rows {
		byActivity[r.ActivitySid] = Durations{Avg: roundSeconds(r.Avg), Min: roundSeconds(r.Min), Max: roundSeconds(r.Max),
			Total: roundSeconds(r.Total)}
	}
	var acts []Activity
	if err := q.Where("workspace_sid = ?", sc.workspaceSid).Order("date_created, sid").Find(&acts).Error; err != nil {
		return nil, errs.Wrap(err, "activities")
	}
	out := make([]ActivityDuration, len(acts))
	for i, a := range acts {
		out[i] = ActivityDuration{Sid: a.Sid, FriendlyName: a.FriendlyName, Durations: byActivity[a.Sid]}
	}
	return out, nil
}

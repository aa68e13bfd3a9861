package web

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// addTaskRouterStatisticsRoutes mounts the event history and the
// statistics of workspaces, queues, workflows and workers.
func (a *restAPI) addTaskRouterStatisticsRoutes(v1 fiber.Router) {
	w := inWorkspace{g: v1.Group("/Workspaces/:Workspace"), a: a}
	w.get("/Events", a.listEvents)
	w.get("/Events/:Event", a.fetchEvent)

	for _, kind := range []statsKind{workspaceStats, queueStats, workflowStats, workersStats} {
		w.get(kind.path+"/Statistics", a.statistics(kind, nested))
		w.get(kind.path+"/RealTimeStatistics", a.statistics(kind, realTimeOnly))
		w.get(kind.path+"/CumulativeStatistics", a.statistics(kind, cumulativeOnly))
	}
	w.get(workerStats.path+"/Statistics", a.statistics(workerStats, nested))
	w.get("/TaskQueues/Statistics", a.listTaskQueuesStatistics)
	w.post("/TaskQueues/RealTimeStatistics", a.bulkTaskQueuesRealTimeStatistics)
}

// statsKind is one of Twilio's statistics resources: where it lives, its
// subject and the fields it has, by name or group.
type statsKind struct {
	path       string // under the workspace
	param      string // the path parameter naming the subject, if any
	subject    string // the JSON field naming it
	scope      func(c *fiber.Ctx) taskrouter.StatisticsScope
	realTime   []string
	cumulative []string // beyond the interval and the reservation counters
}

var (
	workspaceStats = statsKind{
		scope:      func(*fiber.Ctx) taskrouter.StatisticsScope { return taskrouter.StatisticsScope{} },
		realTime:   []string{"activity_statistics", "longest_task_waiting", "tasks", "total_workers"},
		cumulative: []string{"tasks_canceled", "tasks_completed", "tasks_created", "tasks_deleted", "tasks_moved", "tasks_timed_out_in_workflow", "waits"},
	}
	queueStats = statsKind{path: "/TaskQueues/:TaskQueue", param: "TaskQueue", subject: "task_queue_sid",
		scope: func(c *fiber.Ctx) taskrouter.StatisticsScope {
			return taskrouter.StatisticsScope{TaskQueueSid: param(c, "TaskQueue")}
		},
		realTime:   []string{"activity_statistics", "longest_task_waiting", "longest_relative_task", "tasks", "eligible_workers"},
		cumulative: []string{"tasks_canceled", "tasks_completed", "tasks_deleted", "tasks_entered", "tasks_moved", "waits", "queue_wait"},
	}
	workflowStats = statsKind{path: "/Workflows/:Workflow", param: "Workflow", subject: "workflow_sid",
		scope: func(c *fiber.Ctx) taskrouter.StatisticsScope {
			return taskrouter.StatisticsScope{WorkflowSid: param(c, "Workflow")}
		},
		realTime:   []string{"longest_task_waiting", "tasks"},
		cumulative: []string{"tasks_canceled", "tasks_completed", "tasks_deleted", "tasks_entered", "tasks_moved", "tasks_timed_out_in_workflow", "waits"},
	}
	// Worker statistics cover the workers a queue selects or a name names
	// (Twilio's TaskQueueSid, TaskQueueName and FriendlyName), all by default.
	workersStats = statsKind{path: "/Workers",
		scope: func(c *fiber.Ctx) taskrouter.StatisticsScope {
			f := form{c}
			return taskrouter.StatisticsScope{Workers: &taskrouter.WorkerFilter{TaskQueueSid: optional(f, "TaskQueueSid"),
				TaskQueueName: optional(f, "TaskQueueName"), FriendlyName: optional(f, "FriendlyName")}}
		},
		realTime:   []string{"activity_statistics", "total_workers"},
		cumulative: []string{"activity_durations"},
	}
	workerStats = statsKind{path: "/Workers/:Worker", param: "Worker", subject: "worker_sid",
		scope: func(c *fiber.Ctx) taskrouter.StatisticsScope {
			return taskrouter.StatisticsScope{WorkerSid: param(c, "Worker")}
		},
		cumulative: []string{"activity_durations"},
	}
)

// statisticsParams reads the parameters every statistics resource takes:
// TaskChannel, and for cumulative statistics the window and SplitByWaitTime.
func statisticsParams(c *fiber.Ctx, realTime, cumulative bool) (taskrouter.StatisticsParams, error) {
	f := form{c}
	p := taskrouter.StatisticsParams{TaskChannel: optional(f, "TaskChannel"), RealTime: realTime, Cumulative: cumulative}
	if !cumulative {
		return p, nil
	}
	var err error
	if p.Window, err = windowParams(f); err != nil {
		return p, err
	}
	if s := optional(f, "SplitByWaitTime"); s != "" {
		for _, part := range strings.Split(s, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil {
				return p, errs.Invalidf("SplitByWaitTime must be a comma-separated list of seconds, such as 5,30")
			}
			p.SplitByWaitTime = append(p.SplitByWaitTime, n)
		}
	}
	return p, nil
}

// statsShape is how a statistics resource presents its parts.
type statsShape int

const (
	nested         statsShape = iota // …/Statistics: "realtime" and "cumulative" objects, those the kind has
	realTimeOnly                     // …/RealTimeStatistics: the real-time fields at the top
	cumulativeOnly                   // …/CumulativeStatistics: the cumulative fields at the top
)

// statistics serves one kind of statistics resource in one shape.
func (a *restAPI) statistics(kind statsKind, shape statsShape) fiber.Handler {
	realTime := shape == realTimeOnly || shape == nested && len(kind.realTime) > 0
	cumulative := shape != realTimeOnly
	return func(c *fiber.Ctx) error {
		p, err := statisticsParams(c, realTime, cumulative)
		if err != nil {
			return err
		}
		st, err := a.tr.Statistics(c.UserContext(), workspaceOf(c), kind.scope(c), p)
		if err != nil {
			return err
		}
		out := fiber.Map{"account_sid": a.tr.AccountSid(), "workspace_sid": workspaceOf(c), "url": a.base(c) + c.Path()}
		if kind.subject != "" {
			out[kind.subject] = param(c, kind.param)
		}
		switch shape {
		case nested:
			out["cumulative"] = kind.cumulativeJSON(st.Cumulative)
			if realTime {
				out["realtime"] = kind.realTimeJSON(st.RealTime)
			}
		case realTimeOnly:
			merge(out, kind.realTimeJSON(st.RealTime))
		case cumulativeOnly:
			merge(out, kind.cumulativeJSON(st.Cumulative))
		}
		return c.JSON(out)
	}
}

func (a *restAPI) listTaskQueuesStatistics(c *fiber.Ctx) error {
	p, err := statisticsParams(c, true, true)
	if err != nil {
		return err
	}
	pg, page, err := trPage(c)
	if err != nil {
		return err
	}
	rows, more, err := a.tr.TaskQueuesStatistics(c.UserContext(), workspaceOf(c), optional(form{c}, "FriendlyName"), p, page)
	if err != nil {
		return err
	}
	return renderPage(c, a.trURL(c, "/TaskQueues/Statistics"), "task_queues_statistics", pg, rows, more,
		mapRows(func(c *fiber.Ctx, s taskrouter.QueueStatistics) fiber.Map {
			return fiber.Map{"account_sid": a.tr.AccountSid(), "workspace_sid": workspaceOf(c), "task_queue_sid": s.TaskQueueSid,
				"realtime": queueStats.realTimeJSON(s.RealTime), "cumulative": queueStats.cumulativeJSON(s.Cumulative)}
		}))
}

// bulkTaskQueuesRealTimeStatistics answers Twilio's bulk retrieval: a JSON
// body {"QueueSids": [...]} (any letter case) naming up to 50 queues.
func (a *restAPI) bulkTaskQueuesRealTimeStatistics(c *fiber.Ctx) error {
	var body struct {
		QueueSids []string `json:"queueSids"`
	}
	if err := json.Unmarshal(c.Body(), &body); err != nil {
		return errs.Invalidf("The body must be a JSON object such as {\"QueueSids\": [\"WQ…\"]}")
	}
	rows, err := a.tr.TaskQueuesRealTimeStatistics(c.UserContext(), workspaceOf(c), body.QueueSids)
	if err != nil {
		return err
	}
	data := make([]fiber.Map, len(rows))
	for i, r := range rows {
		data[i] = queueStats.realTimeJSON(r.RealTime)
		data[i]["task_queue_sid"] = r.TaskQueueSid
	}
	return c.JSON(fiber.Map{"account_sid": a.tr.AccountSid(), "workspace_sid": workspaceOf(c), "task_queue_data": data,
		"task_queue_response_count": len(data), "url": a.trURL(c, "/TaskQueues/RealTimeStatistics")})
}

func merge(dst, src fiber.Map) {
	for k, v := range src {
		dst[k] = v
	}
}

// realTimeJSON renders the real-time fields this kind of resource has.
func (k statsKind) realTimeJSON(rt *taskrouter.RealTimeStatistics) fiber.Map {
	out := fiber.Map{}
	waiting := func(sidField, ageField string, t *taskrouter.WaitingTask) {
		out[sidField], out[ageField] = nil, 0
		if t != nil {
			out[sidField], out[ageField] = t.Sid, t.Age
		}
	}
	for _, group := range k.realTime {
		switch group {
		case "activity_statistics":
			stats := make([]fiber.Map, len(rt.ActivityStatistics))
			for i, s := range rt.ActivityStatistics {
				stats[i] = fiber.Map{"sid": s.Sid, "friendly_name": s.FriendlyName, "workers": s.Workers}
			}
			out["activity_statistics"] = stats
		case "longest_task_waiting":
			waiting("longest_task_waiting_sid", "longest_task_waiting_age", rt.LongestWaiting)
		case "longest_relative_task":
			waiting("longest_relative_task_sid_in_queue", "longest_relative_task_age_in_queue", rt.LongestInQueue)
		case "tasks":
			out["tasks_by_status"], out["tasks_by_priority"], out["total_tasks"] = rt.TasksByStatus, rt.TasksByPriority, rt.TotalTasks
		case "total_workers":
			out["total_workers"] = rt.TotalWorkers
		case "eligible_workers":
			out["total_eligible_workers"], out["total_available_workers"] = rt.TotalWorkers, rt.TotalAvailableWorkers
		}
	}
	return out
}

// cumulativeJSON renders the cumulative fields this kind of resource has.
func (k statsKind) cumulativeJSON(cu *taskrouter.CumulativeStatistics) fiber.Map {
	out := fiber.Map{
		"start_time": isoTime(cu.StartTime), "end_time": isoTime(cu.EndTime),
		"reservations_created": cu.ReservationsCreated, "reservations_accepted": cu.ReservationsAccepted,
		"reservations_rejected": cu.ReservationsRejected, "reservations_timed_out": cu.ReservationsTimedOut,
		"reservations_canceled": cu.ReservationsCanceled, "reservations_rescinded": cu.ReservationsRescinded,
	}
	tasks := map[string]int{
		"tasks_canceled": cu.TasksCanceled, "tasks_completed": cu.TasksCompleted, "tasks_created": cu.TasksCreated,
		"tasks_deleted": cu.TasksDeleted, "tasks_entered": cu.TasksEntered, "tasks_moved": cu.TasksMoved,
		"tasks_timed_out_in_workflow": cu.TasksTimedOutInWorkflow,
	}
	for _, field := range k.cumulative {
		switch field {
		case "waits":
			out["avg_task_acceptance_time"] = cu.AvgTaskAcceptanceTime
			out["wait_duration_until_accepted"] = durationsJSON(cu.WaitDurationUntilAccepted)
			out["wait_duration_until_canceled"] = durationsJSON(cu.WaitDurationUntilCanceled)
			out["split_by_wait_time"] = nil
			if len(cu.SplitByWaitTime) > 0 {
				splits := fiber.Map{}
				for _, s := range cu.SplitByWaitTime {
					splits[strconv.Itoa(s.Threshold)] = fiber.Map{"below": splitJSON(s.Below), "above": splitJSON(s.Above)}
				}
				out["split_by_wait_time"] = splits
			}
		case "queue_wait":
			out["wait_duration_in_queue_until_accepted"] = durationsJSON(cu.WaitDurationInQueueUntilAccepted)
		case "activity_durations":
			durations := make([]fiber.Map, len(cu.ActivityDurations))
			for i, d := range cu.ActivityDurations {
				durations[i] = durationsJSON(d.Durations)
				durations[i]["sid"], durations[i]["friendly_name"] = d.Sid, d.FriendlyName
			}
			out["activity_durations"] = durations
		default:
			out[field] = tasks[field]
		}
	}
	return out
}

func durationsJSON(d taskrouter.Durations) fiber.Map {
	return fiber.Map{"avg": d.Avg, "min": d.Min, "max": d.Max, "total": d.Total}
}

func splitJSON(s taskrouter.SplitCounts) fiber.Map {
	return fiber.Map{"tasks_canceled": s.TasksCanceled, "reservations_accepted": s.ReservationsAccepted}
}

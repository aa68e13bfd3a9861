package web_test

import (
	"reflect"
	"testing"
	"time"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

// trDay is a workspace where, on a clock the test moves, alice accepted one
// chat task seven seconds after its creation and a second task was
// canceled after two seconds; bob stays Offline.
type trDay struct {
	flex
	alice, bob, queue, workflow string
	accepted, canceled          string // task SIDs
	now                         time.Time
}

func newTrDay(t *testing.T, s *webtest.Server) *trDay {
	t.Helper()
	tw := s.Twilio.TaskrouterV1
	d := &trDay{flex: flexWorkspace(t, s), now: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}
	s.TaskRouter.SetClock(func() time.Time { return d.now })
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	alice, err := tw.CreateWorker(d.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("alice").SetActivitySid(d.activities["Available"]))
	must(err)
	bob, err := tw.CreateWorker(d.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("bob"))
	must(err)
	d.alice, d.bob = *alice.Sid, *bob.Sid
	d.now = d.now.Add(time.Minute)
	task, err := tw.CreateTask(d.sid, (&trv1.CreateTaskParams{}).SetTaskChannel("chat"))
	must(err)
	d.accepted, d.workflow = *task.Sid, *task.WorkflowSid
	d.now = d.now.Add(4 * time.Second)
	route(t, s, d.sid)
	rs, err := tw.ListTaskReservation(d.sid, d.accepted, nil)
	if err != nil || len(rs) != 1 {
		t.Fatalf("reservations = %v, %v", rs, err)
	}
	d.now = d.now.Add(3 * time.Second)
	_, err = tw.UpdateTaskReservation(d.sid, d.accepted, *rs[0].Sid, (&trv1.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
	must(err)
	got, err := tw.FetchTask(d.sid, d.accepted)
	must(err)
	d.queue = *got.TaskQueueSid
	d.now = d.now.Add(time.Second)
	other, err := tw.CreateTask(d.sid, (&trv1.CreateTaskParams{}).SetTaskChannel("chat").SetPriority(3))
	must(err)
	d.canceled = *other.Sid
	d.now = d.now.Add(2 * time.Second)
	_, err = tw.UpdateTask(d.sid, d.canceled, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled").SetReason("gone"))
	must(err)
	d.now = d.now.Add(time.Second)
	return d
}

// asMap is a statistics object as twilio-go decodes it, or nil.
func asMap(v *interface{}) map[string]any {
	if v == nil {
		return nil
	}
	m, _ := (*v).(map[string]any)
	return m
}

// wantFields checks the decoded fields of a statistics object.
func wantFields(t *testing.T, what string, got map[string]any, want map[string]any) {
	t.Helper()
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s %s = %#v, want %#v", what, k, got[k], v)
		}
	}
}

// Numbers as encoding/json decodes them into interface{}.
func durations(avg, min, max, total float64) map[string]any {
	return map[string]any{"avg": avg, "min": min, "max": max, "total": total}
}

func TestWorkspaceStatisticsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		d := newTrDay(t, s)
		base := s.URL + "/v1/Workspaces/" + d.sid

		both, err := tw.FetchWorkspaceStatistics(d.sid, (&trv1.FetchWorkspaceStatisticsParams{}).SetSplitByWaitTime("5,10"))
		if err != nil {
			t.Fatal(err)
		}
		if *both.AccountSid != s.AccountSid || *both.WorkspaceSid != d.sid || *both.Url != base+"/Statistics" {
			t.Errorf("statistics = %+v", both)
		}
		wantFields(t, "cumulative", asMap(both.Cumulative), map[string]any{
			"reservations_created": 1.0, "reservations_accepted": 1.0, "reservations_rejected": 0.0, "reservations_timed_out": 0.0,
			"reservations_canceled": 0.0, "reservations_rescinded": 0.0, "tasks_created": 2.0, "tasks_canceled": 1.0,
			"tasks_completed": 0.0, "tasks_deleted": 0.0, "tasks_moved": 0.0, "tasks_timed_out_in_workflow": 0.0,
			"avg_task_acceptance_time": 7.0, "wait_duration_until_accepted": durations(7, 7, 7, 7),
			"wait_duration_until_canceled": durations(2, 2, 2, 2),
			"start_time":                   "2026-03-04T09:46:11Z", "end_time": "2026-03-04T10:01:11Z",
			"split_by_wait_time": map[string]any{
				"5": map[string]any{"below": map[string]any{"tasks_canceled": 1.0, "reservations_accepted": 0.0},
					"above": map[string]any{"tasks_canceled": 0.0, "reservations_accepted": 1.0}},
				"10": map[string]any{"below": map[string]any{"tasks_canceled": 1.0, "reservations_accepted": 1.0},
					"above": map[string]any{"tasks_canceled": 0.0, "reservations_accepted": 0.0}},
			},
		})
		realtime := asMap(both.Realtime)
		wantFields(t, "realtime", realtime, map[string]any{
			"tasks_by_status":          map[string]any{"pending": 0.0, "reserved": 0.0, "assigned": 1.0, "wrapping": 0.0},
			"tasks_by_priority":        map[string]any{"0": 1.0},
			"total_tasks":              1.0,
			"total_workers":            2.0,
			"longest_task_waiting_sid": nil,
			"longest_task_waiting_age": 0.0,
		})
		if acts, _ := realtime["activity_statistics"].([]any); len(acts) != 4 {
			t.Errorf("activity_statistics = %v, want the four activities", realtime["activity_statistics"])
		}

		rt, err := tw.FetchWorkspaceRealTimeStatistics(d.sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		workers := map[string]float64{}
		for _, a := range *rt.ActivityStatistics {
			m := a.(map[string]any)
			workers[m["friendly_name"].(string)] = m["workers"].(float64)
		}
		if rt.TotalTasks != 1 || rt.TotalWorkers != 2 || rt.LongestTaskWaitingSid != nil || *rt.Url != base+"/RealTimeStatistics" ||
			!reflect.DeepEqual(workers, map[string]float64{"Available": 1, "Offline": 1, "Unavailable": 0, "Break": 0}) {
			t.Errorf("real-time = %+v, workers by activity %v", rt, workers)
		}
		sms, err := tw.FetchWorkspaceRealTimeStatistics(d.sid, (&trv1.FetchWorkspaceRealTimeStatisticsParams{}).SetTaskChannel("sms"))
		if err != nil || sms.TotalTasks != 0 {
			t.Errorf("sms real-time = %+v, %v", sms, err)
		}

		from := d.now.Add(-3 * time.Second) // after the acceptance, from the second task's creation
		cu, err := tw.FetchWorkspaceCumulativeStatistics(d.sid, (&trv1.FetchWorkspaceCumulativeStatisticsParams{}).SetStartDate(from))
		if err != nil {
			t.Fatal(err)
		}
		if cu.TasksCreated != 1 || cu.TasksCanceled != 1 || cu.ReservationsAccepted != 0 || cu.AvgTaskAcceptanceTime != 0 ||
			!cu.StartTime.Equal(from) || !cu.EndTime.Equal(d.now) || *cu.Url != base+"/CumulativeStatistics" || cu.SplitByWaitTime != nil {
			t.Errorf("cumulative since %s = %+v", from, cu)
		}
		hour, err := tw.FetchWorkspaceCumulativeStatistics(d.sid, (&trv1.FetchWorkspaceCumulativeStatisticsParams{}).SetMinutes(60))
		if err != nil || hour.TasksCreated != 2 || hour.ReservationsCreated != 1 || !hour.StartTime.Equal(d.now.Add(-time.Hour)) {
			t.Errorf("cumulative over an hour = %+v, %v", hour, err)
		}

		_, err = tw.FetchWorkspaceCumulativeStatistics(d.sid, (&trv1.FetchWorkspaceCumulativeStatisticsParams{}).SetMinutes(5).SetStartDate(from))
		wantMessage(t, err, 20001, 400, "Minutes")
		_, err = tw.FetchWorkspaceStatistics(d.sid, (&trv1.FetchWorkspaceStatisticsParams{}).SetSplitByWaitTime("5,soon"))
		wantMessage(t, err, 20001, 400, "SplitByWaitTime")
		_, err = tw.FetchWorkspaceStatistics(d.sid, (&trv1.FetchWorkspaceStatisticsParams{}).SetTaskChannel("pigeon"))
		wantTwilioError(t, err, 20001, 400)
		_, err = tw.FetchWorkspaceStatistics("WS00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestTaskQueueStatisticsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		d := newTrDay(t, s)
		base := s.URL + "/v1/Workspaces/" + d.sid + "/TaskQueues/" + d.queue

		rt, err := tw.FetchTaskQueueRealTimeStatistics(d.sid, d.queue, nil)
		if err != nil {
			t.Fatal(err)
		}
		if *rt.TaskQueueSid != d.queue || rt.TotalEligibleWorkers != 2 || rt.TotalAvailableWorkers != 1 || rt.TotalTasks != 1 ||
			rt.LongestTaskWaitingSid != nil || rt.LongestRelativeTaskSidInQueue != nil || *rt.Url != base+"/RealTimeStatistics" ||
			len(*rt.ActivityStatistics) != 4 || !reflect.DeepEqual(asMap(rt.TasksByStatus)["assigned"], 1.0) {
			t.Errorf("queue real-time = %+v", rt)
		}
		cu, err := tw.FetchTaskQueueCumulativeStatistics(d.sid, d.queue, (&trv1.FetchTaskQueueCumulativeStatisticsParams{}).SetSplitByWaitTime("8"))
		if err != nil {
			t.Fatal(err)
		}
		if *cu.TaskQueueSid != d.queue || cu.TasksEntered != 2 || cu.TasksCanceled != 1 || cu.ReservationsAccepted != 1 ||
			cu.AvgTaskAcceptanceTime != 7 || *cu.Url != base+"/CumulativeStatistics" ||
			!reflect.DeepEqual(asMap(cu.WaitDurationUntilAccepted), durations(7, 7, 7, 7)) || cu.WaitDurationInQueueUntilAccepted == nil ||
			!reflect.DeepEqual(asMap(cu.SplitByWaitTime)["8"], map[string]any{
				"below": map[string]any{"tasks_canceled": 1.0, "reservations_accepted": 1.0},
				"above": map[string]any{"tasks_canceled": 0.0, "reservations_accepted": 0.0}}) {
			t.Errorf("queue cumulative = %+v", cu)
		}
		both, err := tw.FetchTaskQueueStatistics(d.sid, d.queue, nil)
		if err != nil || *both.TaskQueueSid != d.queue || *both.Url != base+"/Statistics" ||
			asMap(both.Realtime)["total_eligible_workers"] != 2.0 || asMap(both.Cumulative)["tasks_entered"] != 2.0 {
			t.Errorf("queue statistics = %+v, %v", both, err)
		}

		_, err = tw.FetchTaskQueueStatistics(d.sid, "WQ00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestWorkflowStatisticsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		d := newTrDay(t, s)
		rt, err := tw.FetchWorkflowRealTimeStatistics(d.sid, d.workflow, nil)
		if err != nil || *rt.WorkflowSid != d.workflow || rt.TotalTasks != 1 || rt.LongestTaskWaitingSid != nil {
			t.Errorf("workflow real-time = %+v, %v", rt, err)
		}
		cu, err := tw.FetchWorkflowCumulativeStatistics(d.sid, d.workflow, nil)
		if err != nil || *cu.WorkflowSid != d.workflow || cu.TasksEntered != 2 || cu.TasksCanceled != 1 || cu.ReservationsCreated != 1 ||
			cu.AvgTaskAcceptanceTime != 7 || cu.TasksTimedOutInWorkflow != 0 {
			t.Errorf("workflow cumulative = %+v, %v", cu, err)
		}
		both, err := tw.FetchWorkflowStatistics(d.sid, d.workflow, nil)
		if err != nil || asMap(both.Realtime)["total_tasks"] != 1.0 || asMap(both.Cumulative)["tasks_entered"] != 2.0 {
			t.Errorf("workflow statistics = %+v, %v", both, err)
		}
		_, err = tw.FetchWorkflowStatistics(d.sid, "WW00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
	})
}

// activityTotals indexes decoded activity_durations by activity name.
func activityTotals(v []interface{}) map[string]any {
	out := map[string]any{}
	for _, a := range v {
		m := a.(map[string]any)
		out[m["friendly_name"].(string)] = durations(m["avg"].(float64), m["min"].(float64), m["max"].(float64), m["total"].(float64))
	}
	return out
}

// Since their creation, alice has been Available and bob Offline for 71s.
var (
	aliceActivities = map[string]any{"Available": durations(71, 71, 71, 71), "Offline": durations(0, 0, 0, 0),
		"Unavailable": durations(0, 0, 0, 0), "Break": durations(0, 0, 0, 0)}
	workersActivities = map[string]any{"Available": durations(71, 71, 71, 71), "Offline": durations(71, 71, 71, 71),
		"Unavailable": durations(0, 0, 0, 0), "Break": durations(0, 0, 0, 0)}
)

func TestWorkerStatisticsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		d := newTrDay(t, s)
		alice, err := tw.FetchWorkerInstanceStatistics(d.sid, d.alice, nil)
		if err != nil {
			t.Fatal(err)
		}
		cu := asMap(alice.Cumulative)
		if *alice.WorkerSid != d.alice || *alice.AccountSid != s.AccountSid || *alice.WorkspaceSid != d.sid ||
			*alice.Url != s.URL+"/v1/Workspaces/"+d.sid+"/Workers/"+d.alice+"/Statistics" ||
			cu["reservations_created"] != 1.0 || cu["reservations_accepted"] != 1.0 || cu["end_time"] != "2026-03-04T10:01:11Z" {
			t.Errorf("alice's statistics = %+v, cumulative %v", alice, cu)
		}
		durations, _ := cu["activity_durations"].([]interface{})
		if got := activityTotals(durations); !reflect.DeepEqual(got, aliceActivities) {
			t.Errorf("alice's activity durations = %v, want %v", got, aliceActivities)
		}
		_, err = tw.FetchWorkerInstanceStatistics(d.sid, "WK00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
	})
}

// TestStatisticsBesideQueuesAndWorkersThroughTwilioGo reads the statistics
// that live beside queues and workers (/TaskQueues/Statistics, the bulk
// POST /TaskQueues/RealTimeStatistics, /Workers/Statistics…): the
// TaskQueues/{Sid} and Workers/{Sid} routes must not answer them, so
// addTaskRouterStatisticsRoutes has to be registered before addTaskRouterRoutes.
func TestStatisticsBesideQueuesAndWorkersThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		d := newTrDay(t, s)
		base := s.URL + "/v1/Workspaces/" + d.sid + "/Workers"
		// /TaskQueues/Statistics must not be taken for a queue named "Statistics".
		all, err := tw.ListTaskQueuesStatistics(d.sid, (&trv1.ListTaskQueuesStatisticsParams{}).SetPageSize(1))
		if err != nil {
			t.Fatalf("list of queue statistics: %v (a 20404 means the /TaskQueues/{Sid} route answered: register "+
				"addTaskRouterStatisticsRoutes before addTaskRouterRoutes in web/routes.go)", err)
		}
		var everyone map[string]any
		for _, qs := range all {
			if *qs.TaskQueueSid == d.queue {
				everyone = asMap(qs.Cumulative)
			}
			if *qs.AccountSid != s.AccountSid || *qs.WorkspaceSid != d.sid || qs.Realtime == nil {
				t.Errorf("queue statistics entry = %+v", qs)
			}
		}
		if everyone["tasks_entered"] != 2.0 {
			t.Errorf("the list has %d queues; the task's queue shows %v", len(all), everyone)
		}
		named, err := tw.ListTaskQueuesStatistics(d.sid, (&trv1.ListTaskQueuesStatisticsParams{}).SetFriendlyName("nobody"))
		if err != nil || len(named) != 0 {
			t.Errorf("queues named nobody: %v, %v", named, err)
		}

		cu, err := tw.FetchWorkersCumulativeStatistics(d.sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cu.ReservationsCreated != 1 || cu.ReservationsAccepted != 1 || *cu.Url != base+"/CumulativeStatistics" {
			t.Errorf("workers cumulative = %+v", cu)
		}
		if got := activityTotals(*cu.ActivityDurations); !reflect.DeepEqual(got, workersActivities) {
			t.Errorf("activity durations = %v, want %v", got, workersActivities)
		}
		rt, err := tw.FetchWorkersRealTimeStatistics(d.sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if rt.TotalWorkers != 2 || len(*rt.ActivityStatistics) != 4 || *rt.Url != base+"/RealTimeStatistics" {
			t.Errorf("workers real-time = %+v", rt)
		}
		bob, err := tw.FetchWorkerStatistics(d.sid, (&trv1.FetchWorkerStatisticsParams{}).SetFriendlyName("bob"))
		if err != nil || asMap(bob.Realtime)["total_workers"] != 1.0 || asMap(bob.Cumulative)["reservations_created"] != 0.0 ||
			*bob.Url != base+"/Statistics" {
			t.Errorf("bob's statistics = %+v, %v", bob, err)
		}
		inQueue, err := tw.FetchWorkerStatistics(d.sid, (&trv1.FetchWorkerStatisticsParams{}).SetTaskQueueSid(d.queue))
		if err != nil || asMap(inQueue.Realtime)["total_workers"] != 2.0 {
			t.Errorf("the queue's workers' statistics = %+v, %v", inQueue, err)
		}
		_, err = tw.FetchWorkerStatistics(d.sid, (&trv1.FetchWorkerStatisticsParams{}).SetTaskQueueName("nowhere"))
		wantTwilioError(t, err, 20001, 400)

		elsewhere := "WQ00000000000000000000000000000000"
		bulk, err := tw.CreateTaskQueueBulkRealTimeStatistics(d.sid, (&trv1.CreateTaskQueueBulkRealTimeStatisticsParams{}).
			SetBody(map[string]interface{}{"QueueSids": []string{d.queue, elsewhere}}))
		if err != nil {
			t.Fatal(err)
		}
		if bulk.TaskQueueResponseCount != 2 || len(*bulk.TaskQueueData) != 2 || *bulk.WorkspaceSid != d.sid ||
			*bulk.Url != s.URL+"/v1/Workspaces/"+d.sid+"/TaskQueues/RealTimeStatistics" {
			t.Fatalf("bulk = %+v", bulk)
		}
		wantFields(t, "bulk, the task's queue", (*bulk.TaskQueueData)[0].(map[string]any), map[string]any{"task_queue_sid": d.queue,
			"total_tasks": 1.0, "total_eligible_workers": 2.0, "total_available_workers": 1.0, "longest_task_waiting_sid": nil})
		wantFields(t, "bulk, a queue elsewhere", (*bulk.TaskQueueData)[1].(map[string]any), map[string]any{"task_queue_sid": elsewhere,
			"total_tasks": 0.0, "total_eligible_workers": 0.0, "activity_statistics": []any{}})
		_, err = tw.CreateTaskQueueBulkRealTimeStatistics(d.sid, (&trv1.CreateTaskQueueBulkRealTimeStatisticsParams{}).
			SetBody(map[string]interface{}{"queueSids": []string{}}))
		wantMessage(t, err, 20001, 400, "QueueSids")
	})
}

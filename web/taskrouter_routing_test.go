package web_test

import (
	"encoding/json"
	"slices"
	"testing"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func queueNames(qs []trv1.TaskrouterV1TaskQueue) []string {
	out := make([]string, len(qs))
	for i, q := range qs {
		out[i] = *q.FriendlyName
	}
	return out
}

// routingTo is a workflow configuration: tasks of the given type go to
// queue, every other task to fallback.
func routingTo(t *testing.T, expression, queue, fallback string) string {
	t.Helper()
	b, err := json.Marshal(map[string]any{"task_routing": map[string]any{
		"filters": []any{map[string]any{"filter_friendly_name": "f", "expression": expression,
			"targets": []any{map[string]any{"queue": queue, "timeout": 30}}}},
		"default_filter": map[string]any{"queue": fallback},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestTaskQueuesThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		q, err := tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("VIP").
			SetTargetWorkers("routing.skills HAS 'vip'").SetMaxReservedWorkers(3).SetTaskOrder("LIFO").
			SetReservationActivitySid(fx.activities["Unavailable"]).SetAssignmentActivitySid(fx.activities["Break"]))
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Workspaces/" + fx.sid + "/TaskQueues/" + *q.Sid
		if *q.TargetWorkers != "routing.skills HAS 'vip'" || q.MaxReservedWorkers != 3 || *q.TaskOrder != "LIFO" ||
			*q.ReservationActivityName != "Unavailable" || *q.AssignmentActivityName != "Break" || *q.Url != u ||
			(*q.Links)["assignment_activity"] != s.URL+"/v1/Workspaces/"+fx.sid+"/Activities/"+fx.activities["Break"] {
			t.Fatalf("created = %+v", q)
		}
		plain, err := tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Plain"))
		if err != nil || *plain.TargetWorkers != "1==1" || plain.MaxReservedWorkers != 1 || *plain.TaskOrder != "FIFO" ||
			plain.ReservationActivitySid != nil || plain.AssignmentActivityName != nil {
			t.Fatalf("defaults = %+v, %v", plain, err)
		}
		got, err := tw.FetchTaskQueue(fx.sid, *q.Sid)
		if err != nil || *got.FriendlyName != "VIP" {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		up, err := tw.UpdateTaskQueue(fx.sid, *q.Sid, (&trv1.UpdateTaskQueueParams{}).SetTargetWorkers("level > 2").
			SetReservationActivitySid("").SetMaxReservedWorkers(5))
		if err != nil || *up.TargetWorkers != "level > 2" || up.ReservationActivitySid != nil || up.MaxReservedWorkers != 5 {
			t.Fatalf("update = %+v, %v", up, err)
		}

		for _, tc := range []struct {
			name string
			p    *trv1.ListTaskQueueParams
			want []string
		}{
			{"all, over pages", (&trv1.ListTaskQueueParams{}).SetPageSize(1), []string{"Everyone", "VIP", "Plain"}},
			{"by name", (&trv1.ListTaskQueueParams{}).SetFriendlyName("Plain"), []string{"Plain"}},
			{"for attributes", (&trv1.ListTaskQueueParams{}).SetEvaluateWorkerAttributes(`{"level":3}`), []string{"Everyone", "VIP", "Plain"}},
			{"for other attributes", (&trv1.ListTaskQueueParams{}).SetEvaluateWorkerAttributes(`{"level":1}`), []string{"Everyone", "Plain"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tw.ListTaskQueue(fx.sid, tc.p)
				if err != nil || !slices.Equal(queueNames(got), tc.want) {
					t.Fatalf("queues = %v, %v; want %v", queueNames(got), err, tc.want)
				}
			})
		}
		w, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("w").SetAttributes(`{"level":1}`))
		if err != nil {
			t.Fatal(err)
		}
		mine, err := tw.ListTaskQueue(fx.sid, (&trv1.ListTaskQueueParams{}).SetWorkerSid(*w.Sid))
		if err != nil || !slices.Equal(queueNames(mine), []string{"Everyone", "Plain"}) {
			t.Fatalf("the worker's queues = %v, %v", queueNames(mine), err)
		}

		if err := tw.DeleteTaskQueue(fx.sid, *plain.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchTaskQueue(fx.sid, *plain.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestTaskQueueErrorsWriteNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		everyone, err := tw.ListTaskQueue(fx.sid, (&trv1.ListTaskQueueParams{}).SetFriendlyName("Everyone"))
		if err != nil || len(everyone) != 1 {
			t.Fatalf("Everyone = %v, %v", everyone, err)
		}
		before := trRows(t, s)
		_, err = tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Bad").SetTargetWorkers("skills HAS 'a' AND"))
		wantMessage(t, err, 20001, 400, "TargetWorkers: invalid expression at position 19")
		_, err = tw.UpdateTaskQueue(fx.sid, *everyone[0].Sid, (&trv1.UpdateTaskQueueParams{}).SetTargetWorkers("level >"))
		wantMessage(t, err, 20001, 400, "position 8")
		_, err = tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Everyone"))
		wantMessage(t, err, 20001, 409, "Everyone")
		_, err = tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Big").SetMaxReservedWorkers(51))
		wantMessage(t, err, 20001, 400, "MaxReservedWorkers")
		_, err = tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Odd").SetTaskOrder("RANDOM"))
		wantMessage(t, err, 20001, 400, "TaskOrder")
		_, err = tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Act").SetAssignmentActivitySid("WA00000000000000000000000000000000"))
		wantMessage(t, err, 20001, 400, "AssignmentActivitySid")
		_, err = tw.ListTaskQueue(fx.sid, (&trv1.ListTaskQueueParams{}).SetEvaluateWorkerAttributes("{"))
		wantMessage(t, err, 20001, 400, "EvaluateWorkerAttributes")
		wantMessage(t, tw.DeleteTaskQueue(fx.sid, *everyone[0].Sid), 20001, 409, "workflow")
		_, err = tw.FetchTaskQueue(fx.sid, "WQ00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)
	})
}

func TestWorkflowsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		billing, err := tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Billing").SetTargetWorkers(""))
		if err != nil {
			t.Fatal(err)
		}
		other, err := tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Other").SetTargetWorkers(""))
		if err != nil {
			t.Fatal(err)
		}
		cfg := routingTo(t, "type == 'billing'", *billing.Sid, *other.Sid)
		wf, err := tw.CreateWorkflow(fx.sid, (&trv1.CreateWorkflowParams{}).SetFriendlyName("Billing first").SetConfiguration(cfg).
			SetAssignmentCallbackUrl("https://example.com/assign").SetTaskReservationTimeout(60))
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Workspaces/" + fx.sid + "/Workflows/" + *wf.Sid
		if *wf.Configuration != cfg || *wf.AssignmentCallbackUrl != "https://example.com/assign" || wf.FallbackAssignmentCallbackUrl != nil ||
			wf.TaskReservationTimeout != 60 || *wf.DocumentContentType != "application/json" || *wf.Url != u ||
			(*wf.Links)["statistics"] != u+"/Statistics" {
			t.Fatalf("created = %+v", wf)
		}
		got, err := tw.FetchWorkflow(fx.sid, *wf.Sid)
		if err != nil || *got.FriendlyName != "Billing first" {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		all, err := tw.ListWorkflow(fx.sid, (&trv1.ListWorkflowParams{}).SetPageSize(1))
		if err != nil || len(all) != 2 {
			t.Fatalf("listed %d workflows over pages, %v; want 2", len(all), err)
		}
		byName, err := tw.ListWorkflow(fx.sid, (&trv1.ListWorkflowParams{}).SetFriendlyName("Billing first"))
		if err != nil || len(byName) != 1 {
			t.Fatalf("by name = %v, %v", byName, err)
		}

		// A pending task waits in Other; re-evaluated under a configuration
		// that sends everything to Billing, it moves there.
		task, err := tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetWorkflowSid(*wf.Sid).SetAttributes(`{"type":"sales"}`))
		if err != nil {
			t.Fatal(err)
		}
		route(t, s, fx.sid)
		if got, _ := tw.FetchTask(fx.sid, *task.Sid); got.TaskQueueSid == nil || *got.TaskQueueSid != *other.Sid {
			t.Fatalf("task = %+v, want waiting in Other", got)
		}
		up, err := tw.UpdateWorkflow(fx.sid, *wf.Sid, (&trv1.UpdateWorkflowParams{}).SetConfiguration(routingTo(t, "1==1", *billing.Sid, *billing.Sid)).
			SetReEvaluateTasks("true").SetFriendlyName("Everything to billing"))
		if err != nil || *up.FriendlyName != "Everything to billing" || up.TaskReservationTimeout != 60 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if got, _ := tw.FetchTask(fx.sid, *task.Sid); got.TaskQueueSid != nil {
			t.Fatalf("after ReEvaluateTasks the task is still in %s", *got.TaskQueueSid)
		}
		route(t, s, fx.sid)
		if got, _ := tw.FetchTask(fx.sid, *task.Sid); got.TaskQueueSid == nil || *got.TaskQueueFriendlyName != "Billing" {
			t.Fatalf("re-evaluated task = %+v, want in Billing", got)
		}

		wantMessage(t, tw.DeleteWorkflow(fx.sid, *wf.Sid), 20001, 409, "pending")
		if _, err := tw.UpdateTask(fx.sid, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled").SetReason("test")); err != nil {
			t.Fatal(err)
		}
		if err := tw.DeleteWorkflow(fx.sid, *wf.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchWorkflow(fx.sid, *wf.Sid)
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestWorkflowErrorsWriteNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		qs, err := tw.ListTaskQueue(fx.sid, nil)
		if err != nil || len(qs) != 1 {
			t.Fatalf("queues = %v, %v", qs, err)
		}
		wfs, err := tw.ListWorkflow(fx.sid, nil)
		if err != nil || len(wfs) != 1 {
			t.Fatalf("workflows = %v, %v", wfs, err)
		}
		q := *qs[0].Sid
		before := trRows(t, s)
		for _, tc := range []struct {
			name string
			p    *trv1.CreateWorkflowParams
			want string
		}{
			{"bad expression", (&trv1.CreateWorkflowParams{}).SetFriendlyName("wf").SetConfiguration(routingTo(t, "type == 'a' OR", q, q)),
				"task_routing.filters[0].expression: invalid expression at position 15"},
			{"unknown queue", (&trv1.CreateWorkflowParams{}).SetFriendlyName("wf").SetConfiguration(routingTo(t, "1==1", "WQ00000000000000000000000000000000", q)),
				"task_routing.filters[0].targets[0].queue"},
			{"not a document", (&trv1.CreateWorkflowParams{}).SetFriendlyName("wf").SetConfiguration(`{"routing":{}}`), "Configuration"},
			{"no configuration", (&trv1.CreateWorkflowParams{}).SetFriendlyName("wf"), "Configuration is required"},
			{"no name", (&trv1.CreateWorkflowParams{}).SetConfiguration(routingTo(t, "1==1", q, q)), "FriendlyName"},
			{"callback", (&trv1.CreateWorkflowParams{}).SetFriendlyName("wf").SetConfiguration(routingTo(t, "1==1", q, q)).
				SetFallbackAssignmentCallbackUrl("example.com/fallback"), "FallbackAssignmentCallbackUrl"},
			{"timeout", (&trv1.CreateWorkflowParams{}).SetFriendlyName("wf").SetConfiguration(routingTo(t, "1==1", q, q)).
				SetTaskReservationTimeout(86401), "TaskReservationTimeout"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := tw.CreateWorkflow(fx.sid, tc.p)
				wantMessage(t, err, 20001, 400, tc.want)
			})
		}
		_, err = tw.UpdateWorkflow(fx.sid, *wfs[0].Sid, (&trv1.UpdateWorkflowParams{}).SetConfiguration(routingTo(t, "a IN 'b'", q, q)))
		wantMessage(t, err, 20001, 400, "task_routing.filters[0].expression: invalid expression at position")
		_, err = tw.UpdateWorkflow(fx.sid, *wfs[0].Sid, (&trv1.UpdateWorkflowParams{}).SetReEvaluateTasks("sometimes"))
		wantMessage(t, err, 20001, 400, "ReEvaluateTasks")
		_, err = tw.FetchWorkflow(fx.sid, "WW00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)
	})
}

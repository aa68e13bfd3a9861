package web_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func taskSids(ts []trv1.TaskrouterV1Task) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = *t.Sid
	}
	return out
}

// getJSON sends a GET that twilio-go cannot express and decodes its 200 answer.
func getJSON(t *testing.T, s *webtest.Server, path string, v any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(s.AccountSid, s.AuthToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

func TestATaskCreatedThroughTwilioGoReachesItsQueue(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		task, err := tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetAttributes(`{"type":"support"}`).SetPriority(5).
			SetTimeout(3600).SetTaskChannel("chat").SetVirtualStartTime(start))
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Workspaces/" + fx.sid + "/Tasks/" + *task.Sid
		if *task.AssignmentStatus != "pending" || *task.Attributes != `{"type":"support"}` || task.Priority != 5 || task.Timeout != 3600 ||
			*task.TaskChannelUniqueName != "chat" || *task.WorkflowFriendlyName != "Assign to Anyone" || *task.Addons != "{}" ||
			task.Age < 0 || task.Reason != nil || !task.VirtualStartTime.Equal(start) ||
			*task.IgnoreCapacity || *task.Url != u || (*task.Links)["reservations"] != u+"/Reservations" {
			t.Fatalf("created = %+v", task)
		}
		route(t, s, fx.sid)
		got, err := tw.FetchTask(fx.sid, *task.Sid)
		if err != nil || got.TaskQueueSid == nil || *got.TaskQueueFriendlyName != "Everyone" || got.TaskQueueEnteredDate == nil ||
			*got.AssignmentStatus != "pending" || (*got.Links)["task_queue"] != s.URL+"/v1/Workspaces/"+fx.sid+"/TaskQueues/"+*got.TaskQueueSid {
			t.Fatalf("after routing = %+v, %v; want waiting in Everyone", got, err)
		}
		inQueue, err := tw.ListTask(fx.sid, (&trv1.ListTaskParams{}).SetTaskQueueSid(*got.TaskQueueSid))
		if err != nil || !slices.Equal(taskSids(inQueue), []string{*task.Sid}) {
			t.Fatalf("tasks in the queue = %v, %v", taskSids(inQueue), err)
		}
	})
}

func TestTasksThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		var sids []string
		for i, ch := range []string{"chat", "sms", "chat", "voice"} {
			task, err := tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetPriority(i).SetTaskChannel(ch))
			if err != nil {
				t.Fatal(err)
			}
			sids = append(sids, *task.Sid)
		}
		up, err := tw.UpdateTask(fx.sid, sids[0], (&trv1.UpdateTaskParams{}).SetAttributes(`{"vip":true}`).SetPriority(10))
		if err != nil || *up.Attributes != `{"vip":true}` || up.Priority != 10 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		canceled, err := tw.UpdateTask(fx.sid, sids[3], (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled").SetReason("spam"))
		if err != nil || *canceled.AssignmentStatus != "canceled" || *canceled.Reason != "spam" {
			t.Fatalf("cancel = %+v, %v", canceled, err)
		}
		for _, tc := range []struct {
			name string
			p    *trv1.ListTaskParams
			want []string
		}{
			{"all, over pages", (&trv1.ListTaskParams{}).SetPageSize(1), sids},
			{"pending", (&trv1.ListTaskParams{}).SetAssignmentStatus([]string{"pending"}), sids[:3]},
			{"pending or canceled", (&trv1.ListTaskParams{}).SetAssignmentStatus([]string{"pending", "canceled"}).SetPageSize(2), sids},
			{"by priority", (&trv1.ListTaskParams{}).SetOrdering("Priority:desc"), []string{sids[0], sids[3], sids[2], sids[1]}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tw.ListTask(fx.sid, tc.p)
				if err != nil || !slices.Equal(taskSids(got), tc.want) {
					t.Fatalf("tasks = %v, %v; want %v", taskSids(got), err, tc.want)
				}
			})
		}
		wfs, err := tw.ListWorkflow(fx.sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		byWorkflow, err := tw.ListTask(fx.sid, (&trv1.ListTaskParams{}).SetWorkflowSid(*wfs[0].Sid))
		if err != nil || len(byWorkflow) != 4 {
			t.Fatalf("by workflow = %v, %v", taskSids(byWorkflow), err)
		}
		// TaskChannel is a filter twilio-go's params lack.
		var chat trv1.ListTaskResponse
		getJSON(t, s, "/v1/Workspaces/"+fx.sid+"/Tasks?TaskChannel=chat", &chat)
		if !slices.Equal(taskSids(chat.Tasks), []string{sids[0], sids[2]}) {
			t.Fatalf("chat tasks = %v", taskSids(chat.Tasks))
		}
		page, err := tw.PageTask(fx.sid, (&trv1.ListTaskParams{}).SetAssignmentStatus([]string{"pending"}).SetPageSize(2), "", "")
		if err != nil || len(page.Tasks) != 2 || page.Meta.Key != "tasks" || page.Meta.NextPageUrl == nil {
			t.Fatalf("first page = %+v, %v", page, err)
		}

		if err := tw.DeleteTask(fx.sid, sids[1], nil); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchTask(fx.sid, sids[1])
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestTaskErrorsWriteNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		task, err := tw.CreateTask(fx.sid, nil)
		if err != nil {
			t.Fatal(err)
		}
		before := trRows(t, s)
		_, err = tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetAttributes("[1,2]"))
		wantMessage(t, err, 20001, 400, "Attributes")
		_, err = tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetTaskChannel("fax"))
		wantMessage(t, err, 20001, 400, "fax")
		_, err = tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetWorkflowSid("WW00000000000000000000000000000000"))
		wantMessage(t, err, 20001, 400, "WorkflowSid")
		_, err = tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetIgnoreCapacity("often"))
		wantMessage(t, err, 20001, 400, "IgnoreCapacity")
		_, err = tw.UpdateTask(fx.sid, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("canceled"))
		wantMessage(t, err, 20001, 400, "Reason")
		_, err = tw.UpdateTask(fx.sid, *task.Sid, (&trv1.UpdateTaskParams{}).SetAssignmentStatus("completed").SetReason("done"))
		wantMessage(t, err, 20001, 409, "pending")
		_, err = tw.ListTask(fx.sid, (&trv1.ListTaskParams{}).SetOrdering("Age:sideways"))
		wantMessage(t, err, 20001, 400, "Ordering")
		_, err = tw.ListTask(fx.sid, (&trv1.ListTaskParams{}).SetEvaluateTaskAttributes("1==1"))
		wantMessage(t, err, 20001, 400, "EvaluateTaskAttributes")
		_, err = tw.FetchTask(fx.sid, "WT00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)
	})
}

func TestReservationsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		w, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("alice").SetActivitySid(fx.activities["Available"]))
		if err != nil {
			t.Fatal(err)
		}
		idle, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("bob"))
		if err != nil {
			t.Fatal(err)
		}
		task, err := tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetTaskChannel("chat"))
		if err != nil {
			t.Fatal(err)
		}
		if n := route(t, s, fx.sid); n != 1 {
			t.Fatalf("routing made %d offers, want 1", n)
		}
		rs, err := tw.ListTaskReservation(fx.sid, *task.Sid, nil)
		if err != nil || len(rs) != 1 {
			t.Fatalf("task's reservations = %v, %v", rs, err)
		}
		r := rs[0]
		base := s.URL + "/v1/Workspaces/" + fx.sid
		if *r.ReservationStatus != "pending" || *r.WorkerSid != *w.Sid || *r.WorkerName != "alice" || *r.TaskSid != *task.Sid ||
			*r.Url != base+"/Tasks/"+*task.Sid+"/Reservations/"+*r.Sid || (*r.Links)["worker"] != base+"/Workers/"+*w.Sid {
			t.Fatalf("reservation = %+v", r)
		}
		viaWorker, err := tw.FetchWorkerReservation(fx.sid, *w.Sid, *r.Sid)
		if err != nil || *viaWorker.Url != base+"/Workers/"+*w.Sid+"/Reservations/"+*r.Sid {
			t.Fatalf("through the worker = %+v, %v", viaWorker, err)
		}
		pending, err := tw.ListWorkerReservation(fx.sid, *w.Sid, (&trv1.ListWorkerReservationParams{}).SetReservationStatus("pending"))
		if err != nil || len(pending) != 1 {
			t.Fatalf("worker's pending = %v, %v", pending, err)
		}
		page, err := tw.PageWorkerReservation(fx.sid, *w.Sid, nil, "", "")
		if err != nil || page.Meta.Key != "reservations" || page.Meta.Url == "" {
			t.Fatalf("page = %+v, %v", page, err)
		}

		before := trRows(t, s)
		_, err = tw.FetchWorkerReservation(fx.sid, *idle.Sid, *r.Sid)
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.UpdateWorkerReservation(fx.sid, *idle.Sid, *r.Sid, (&trv1.UpdateWorkerReservationParams{}).SetReservationStatus("accepted"))
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.UpdateTaskReservation(fx.sid, *task.Sid, *r.Sid, (&trv1.UpdateTaskReservationParams{}).SetReservationStatus("maybe"))
		wantMessage(t, err, 20001, 400, "ReservationStatus")
		_, err = tw.ListTaskReservation(fx.sid, "WT00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.ListWorkerReservation(fx.sid, *w.Sid, (&trv1.ListWorkerReservationParams{}).SetReservationStatus("eventually"))
		wantMessage(t, err, 20001, 400, "eventually")
		wantNothingWritten(t, s, before)

		acc, err := tw.UpdateTaskReservation(fx.sid, *task.Sid, *r.Sid, (&trv1.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
		if err != nil || *acc.ReservationStatus != "accepted" {
			t.Fatalf("accept = %+v, %v", acc, err)
		}
		_, err = tw.UpdateTaskReservation(fx.sid, *task.Sid, *r.Sid, (&trv1.UpdateTaskReservationParams{}).SetReservationStatus("accepted"))
		wantTwilioError(t, err, 20001, 409)
		if got, _ := tw.FetchTask(fx.sid, *task.Sid); *got.AssignmentStatus != "assigned" {
			t.Fatalf("task is %s after acceptance", *got.AssignmentStatus)
		}
		chat, err := tw.FetchWorkerChannel(fx.sid, *w.Sid, "chat")
		if err != nil || chat.AssignedTasks != 1 || chat.AvailableCapacityPercentage != 0 {
			t.Fatalf("alice's chat channel = %+v, %v", chat, err)
		}

		done, err := tw.UpdateWorkerReservation(fx.sid, *w.Sid, *r.Sid, (&trv1.UpdateWorkerReservationParams{}).
			SetReservationStatus("completed").SetPostWorkActivitySid(fx.activities["Break"]))
		if err != nil || *done.ReservationStatus != "completed" || *done.Url != base+"/Workers/"+*w.Sid+"/Reservations/"+*r.Sid {
			t.Fatalf("complete = %+v, %v", done, err)
		}
		if got, _ := tw.FetchTask(fx.sid, *task.Sid); *got.AssignmentStatus != "completed" {
			t.Fatalf("task is %s after completion", *got.AssignmentStatus)
		}
		if got, _ := tw.FetchWorker(fx.sid, *w.Sid); *got.ActivityName != "Break" || *got.Available {
			t.Fatalf("worker after post-work activity = %+v", got)
		}
	})
}

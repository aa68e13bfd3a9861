package web_test

import (
	"strconv"
	"testing"
	"time"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func TestWorkspaceEventCallbacks(t *testing.T) {
	cases := []struct {
		name   string
		filter string
		want   []string // event types posted after the workspace exists
	}{
		{"the filter selects the events posted", "worker.created, task-queue.created", []string{"worker.created"}},
		{"no filter posts every event", "", []string{"activity.created", "worker.created"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			each(t, func(t *testing.T, s *webtest.Server) {
				rc := newReceiver(t, s)
				tw := s.Twilio.TaskrouterV1
				ws, err := tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("Support").SetEventCallbackUrl(rc.URL + "/tr"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := tw.UpdateWorkspace(*ws.Sid, (&trv1.UpdateWorkspaceParams{}).SetEventsFilter(tc.filter)); err != nil {
					t.Fatal(err)
				}
				runJobs(t, s)
				seen := len(rc.requests(t))
				if _, err := tw.CreateActivity(*ws.Sid, (&trv1.CreateActivityParams{}).SetFriendlyName("Lunch")); err != nil {
					t.Fatal(err)
				}
				w, err := tw.CreateWorker(*ws.Sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("alice"))
				if err != nil {
					t.Fatal(err)
				}
				before := time.Now().Add(-time.Minute).Unix()
				runJobs(t, s)
				got := rc.requests(t)[seen:]
				var types []string
				for _, r := range got {
					types = append(types, r.Params.Get("EventType"))
				}
				if len(types) != len(tc.want) {
					t.Fatalf("callbacks = %v, want %v", types, tc.want)
				}
				for i := range types {
					if types[i] != tc.want[i] {
						t.Fatalf("callbacks = %v, want %v", types, tc.want)
					}
				}
				p := got[len(got)-1].Params
				ts, _ := strconv.ParseInt(p.Get("Timestamp"), 10, 64)
				if p.Get("AccountSid") != s.AccountSid || p.Get("WorkspaceSid") != *ws.Sid || p.Get("WorkspaceName") != "Support" ||
					p.Get("ResourceType") != "worker" || p.Get("ResourceSid") != *w.Sid || p.Get("WorkerSid") != *w.Sid ||
					len(p.Get("Sid")) != 34 || ts < before || got[len(got)-1].Path != "/tr" {
					t.Fatalf("worker.created callback = %v", p)
				}
			})
		})
	}
}

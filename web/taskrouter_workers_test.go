package web_test

import (
	"slices"
	"strings"
	"testing"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

func workerNames(ws []trv1.TaskrouterV1Worker) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = *w.FriendlyName
	}
	return out
}

func TestWorkersThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		w, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("alice").
			SetAttributes(`{"routing":{"skills":["billing"]}}`))
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Workspaces/" + fx.sid + "/Workers/" + *w.Sid
		if *w.FriendlyName != "alice" || *w.ActivityName != "Offline" || *w.ActivitySid != fx.activities["Offline"] || *w.Available ||
			*w.Attributes != `{"routing":{"skills":["billing"]}}` || *w.Url != u || (*w.Links)["channels"] != u+"/Channels" ||
			(*w.Links)["reservations"] != u+"/Reservations" || w.DateStatusChanged == nil || *w.WorkspaceSid != fx.sid {
			t.Fatalf("created = %+v", w)
		}
		got, err := tw.FetchWorker(fx.sid, *w.Sid)
		if err != nil || *got.Attributes != *w.Attributes {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		up, err := tw.UpdateWorker(fx.sid, *w.Sid, (&trv1.UpdateWorkerParams{}).SetActivitySid(fx.activities["Available"]).
			SetAttributes(`{"routing":{"skills":["billing","sales"]}}`).SetFriendlyName("Alice"))
		if err != nil || *up.ActivityName != "Available" || !*up.Available || *up.FriendlyName != "Alice" ||
			!strings.Contains(*up.Attributes, "sales") {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if err := tw.DeleteWorker(fx.sid, *w.Sid, nil); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchWorker(fx.sid, *w.Sid)
		wantTwilioError(t, err, 20404, 404)
		wantTwilioError(t, tw.DeleteWorker(fx.sid, *w.Sid, nil), 20404, 404)
	})
}

func TestListingWorkersThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		for _, w := range []struct{ name, activity, attrs string }{
			{"ann", "Available", `{"routing":{"skills":["billing"]},"level":3}`},
			{"ben", "Offline", `{"routing":{"skills":["billing"]},"level":1}`},
			{"cy", "Available", `{"routing":{"skills":["support"]}}`},
			{"di", "Break", `{}`},
			{"ed", "Break", `{}`},
		} {
			if _, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName(w.name).
				SetActivitySid(fx.activities[w.activity]).SetAttributes(w.attrs)); err != nil {
				t.Fatal(err)
			}
		}
		q, err := tw.CreateTaskQueue(fx.sid, (&trv1.CreateTaskQueueParams{}).SetFriendlyName("Billing").
			SetTargetWorkers("routing.skills HAS 'billing'"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			p    *trv1.ListWorkerParams
			want []string
		}{
			{"all, over pages", (&trv1.ListWorkerParams{}).SetPageSize(2), []string{"ann", "ben", "cy", "di", "ed"}},
			{"activity name", (&trv1.ListWorkerParams{}).SetActivityName("Break"), []string{"di", "ed"}},
			{"activity sid", (&trv1.ListWorkerParams{}).SetActivitySid(fx.activities["Offline"]), []string{"ben"}},
			{"available", (&trv1.ListWorkerParams{}).SetAvailable("true"), []string{"ann", "cy"}},
			{"friendly name", (&trv1.ListWorkerParams{}).SetFriendlyName("cy"), []string{"cy"}},
			{"expression, over pages", (&trv1.ListWorkerParams{}).SetTargetWorkersExpression("level >= 1 OR activity_name == 'Break'").SetPageSize(1),
				[]string{"ann", "ben", "di", "ed"}},
			{"queue sid", (&trv1.ListWorkerParams{}).SetTaskQueueSid(*q.Sid), []string{"ann", "ben"}},
			{"queue name, available", (&trv1.ListWorkerParams{}).SetTaskQueueName("Billing").SetAvailable("true"), []string{"ann"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, err := tw.ListWorker(fx.sid, tc.p)
				if err != nil || !slices.Equal(workerNames(got), tc.want) {
					t.Fatalf("workers = %v, %v; want %v", workerNames(got), err, tc.want)
				}
			})
		}
		page, err := tw.PageWorker(fx.sid, (&trv1.ListWorkerParams{}).SetTargetWorkersExpression("1==1").SetPageSize(2), "", "")
		if err != nil || len(page.Workers) != 2 || page.Meta.NextPageUrl == nil ||
			!strings.Contains(*page.Meta.NextPageUrl, "TargetWorkersExpression=1%3D%3D1") {
			t.Fatalf("filtered page = %+v, %v", page, err)
		}
	})
}

func TestWorkerErrorsWriteNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		w, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("alice"))
		if err != nil {
			t.Fatal(err)
		}
		before := trRows(t, s)
		_, err = tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("ALICE"))
		wantMessage(t, err, 20001, 409, "ALICE")
		_, err = tw.CreateWorker(fx.sid, &trv1.CreateWorkerParams{})
		wantMessage(t, err, 20001, 400, "FriendlyName")
		_, err = tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("bob").SetAttributes("not json"))
		wantMessage(t, err, 20001, 400, "Attributes")
		_, err = tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("bob").
			SetAttributes(`{"bio":"`+strings.Repeat("x", 4100)+`"}`))
		wantMessage(t, err, 20001, 413, "4096")
		_, err = tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("bob").SetActivitySid("WA00000000000000000000000000000000"))
		wantMessage(t, err, 20001, 400, "ActivitySid")
		_, err = tw.UpdateWorker(fx.sid, *w.Sid, (&trv1.UpdateWorkerParams{}).SetActivitySid("busy"))
		wantMessage(t, err, 20001, 400, "ActivitySid")
		_, err = tw.ListWorker(fx.sid, (&trv1.ListWorkerParams{}).SetTargetWorkersExpression("skills HAS 'a' AND"))
		wantMessage(t, err, 20001, 400, "position 19")
		_, err = tw.ListWorker(fx.sid, (&trv1.ListWorkerParams{}).SetTaskQueueName("Nowhere"))
		wantMessage(t, err, 20001, 400, "Nowhere")
		_, err = tw.FetchWorker(fx.sid, "WK00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.CreateWorker("WS00000000000000000000000000000000", (&trv1.CreateWorkerParams{}).SetFriendlyName("bob"))
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)
	})
}

func TestWorkerChannelsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		w, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("alice"))
		if err != nil {
			t.Fatal(err)
		}
		all, err := tw.ListWorkerChannel(fx.sid, *w.Sid, (&trv1.ListWorkerChannelParams{}).SetPageSize(2))
		if err != nil || len(all) != 5 {
			t.Fatalf("listed %d channels over pages, %v; want 5", len(all), err)
		}
		names := map[string]bool{}
		for _, wc := range all {
			names[*wc.TaskChannelUniqueName] = true
			if wc.ConfiguredCapacity != 1 || !*wc.Available || wc.AvailableCapacityPercentage != 100 || wc.AssignedTasks != 0 ||
				*wc.WorkerSid != *w.Sid || *wc.Url != s.URL+"/v1/Workspaces/"+fx.sid+"/Workers/"+*w.Sid+"/Channels/"+*wc.Sid {
				t.Fatalf("channel = %+v", wc)
			}
		}
		if len(names) != 5 || !names["chat"] || !names["voice"] {
			t.Fatalf("channels = %v", names)
		}
		chat, err := tw.FetchWorkerChannel(fx.sid, *w.Sid, "chat")
		if err != nil || *chat.TaskChannelUniqueName != "chat" {
			t.Fatalf("fetch by unique name = %+v, %v", chat, err)
		}
		up, err := tw.UpdateWorkerChannel(fx.sid, *w.Sid, *chat.Sid, (&trv1.UpdateWorkerChannelParams{}).SetCapacity(3).SetAvailable(false))
		if err != nil || up.ConfiguredCapacity != 3 || *up.Available || up.AvailableCapacityPercentage != 100 {
			t.Fatalf("update = %+v, %v", up, err)
		}
		zero, err := tw.UpdateWorkerChannel(fx.sid, *w.Sid, "sms", (&trv1.UpdateWorkerChannelParams{}).SetCapacity(0))
		if err != nil || zero.ConfiguredCapacity != 0 || zero.AvailableCapacityPercentage != 0 {
			t.Fatalf("capacity 0 = %+v, %v", zero, err)
		}

		before := trRows(t, s)
		_, err = tw.UpdateWorkerChannel(fx.sid, *w.Sid, "chat", (&trv1.UpdateWorkerChannelParams{}).SetCapacity(51))
		wantMessage(t, err, 20001, 400, "Capacity")
		_, err = tw.FetchWorkerChannel(fx.sid, *w.Sid, "fax")
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.ListWorkerChannel(fx.sid, "WK00000000000000000000000000000000", nil)
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)
		if got, _ := tw.FetchWorkerChannel(fx.sid, *w.Sid, "chat"); got.ConfiguredCapacity != 3 {
			t.Fatalf("a rejected update changed capacity to %d", got.ConfiguredCapacity)
		}
	})
}

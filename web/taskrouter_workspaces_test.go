package web_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	trv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// flex is the bootstrapped workspace, with its activities by name.
type flex struct {
	sid        string
	activities map[string]string
}

func flexWorkspace(t *testing.T, s *webtest.Server) flex {
	t.Helper()
	tw := s.Twilio.TaskrouterV1
	wss, err := tw.ListWorkspace((&trv1.ListWorkspaceParams{}).SetFriendlyName(taskrouter.DefaultWorkspaceName))
	if err != nil || len(wss) != 1 {
		t.Fatalf("bootstrapped workspace: %v, %v", wss, err)
	}
	f := flex{sid: *wss[0].Sid, activities: map[string]string{}}
	acts, err := tw.ListActivity(f.sid, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range acts {
		f.activities[*a.FriendlyName] = *a.Sid
	}
	return f
}

// route runs one routing pass over the workspace, as the leader's router would.
func route(t *testing.T, s *webtest.Server, workspaceSid string) int {
	t.Helper()
	n, err := taskrouter.NewRouter(s.TaskRouter, slog.New(slog.DiscardHandler)).RouteWorkspace(context.Background(), workspaceSid)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

var trTables = []string{"workspaces", "activities", "task_channels", "workers", "worker_channels", "task_queues",
	"workflows", "tasks", "reservations", "taskrouter_events"}

// trRows counts the rows of every TaskRouter table.
func trRows(t *testing.T, s *webtest.Server) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, table := range trTables {
		var n int64
		if err := s.DB.Gorm.Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// wantNothingWritten asserts that no TaskRouter table changed size.
func wantNothingWritten(t *testing.T, s *webtest.Server, before map[string]int64) {
	t.Helper()
	for table, n := range trRows(t, s) {
		if n != before[table] {
			t.Fatalf("%s has %d rows, had %d: a rejected request wrote", table, n, before[table])
		}
	}
}

// wantMessage asserts a Twilio error whose message names want.
func wantMessage(t *testing.T, err error, code, status int, want string) {
	t.Helper()
	wantTwilioError(t, err, code, status)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}
}

func TestWorkspacesThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		ws, err := tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("Support").
			SetEventCallbackUrl("https://example.com/events").SetEventsFilter("task.created,task.canceled").
			SetMultiTaskEnabled(false).SetPrioritizeQueueOrder("LIFO").SetTemplate("FIFO"))
		if err != nil {
			t.Fatal(err)
		}
		u := s.URL + "/v1/Workspaces/" + *ws.Sid
		if *ws.FriendlyName != "Support" || *ws.EventCallbackUrl != "https://example.com/events" || *ws.EventsFilter != "task.created,task.canceled" ||
			*ws.MultiTaskEnabled || *ws.PrioritizeQueueOrder != "LIFO" || *ws.DefaultActivityName != "Offline" ||
			*ws.TimeoutActivityName != "Offline" || *ws.AccountSid != s.AccountSid || *ws.Url != u ||
			(*ws.Links)["activities"] != u+"/Activities" || (*ws.Links)["task_queues"] != u+"/TaskQueues" || ws.DateCreated == nil {
			t.Fatalf("created = %+v", ws)
		}
		qs, err := tw.ListTaskQueue(*ws.Sid, nil)
		if err != nil || len(qs) != 1 || *qs[0].FriendlyName != "Everyone" {
			t.Fatalf("the FIFO template's queues = %v, %v", qs, err)
		}

		got, err := tw.FetchWorkspace(*ws.Sid)
		if err != nil || *got.FriendlyName != "Support" || *got.DefaultActivitySid != *ws.DefaultActivitySid {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		acts, err := tw.ListActivity(*ws.Sid, (&trv1.ListActivityParams{}).SetFriendlyName("Available"))
		if err != nil || len(acts) != 1 {
			t.Fatalf("activities = %v, %v", acts, err)
		}
		up, err := tw.UpdateWorkspace(*ws.Sid, (&trv1.UpdateWorkspaceParams{}).SetDefaultActivitySid(*acts[0].Sid).
			SetFriendlyName("Support 2").SetMultiTaskEnabled(true))
		if err != nil || *up.DefaultActivityName != "Available" || *up.FriendlyName != "Support 2" || !*up.MultiTaskEnabled ||
			*up.TimeoutActivityName != "Offline" {
			t.Fatalf("update = %+v, %v", up, err)
		}

		byName, err := tw.ListWorkspace((&trv1.ListWorkspaceParams{}).SetFriendlyName("Support 2"))
		if err != nil || len(byName) != 1 || *byName[0].Sid != *ws.Sid {
			t.Fatalf("by name = %v, %v", byName, err)
		}

		if err := tw.DeleteWorkspace(*ws.Sid); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchWorkspace(*ws.Sid)
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.ListWorker(*ws.Sid, nil)
		wantTwilioError(t, err, 20404, 404)
		wantTwilioError(t, tw.DeleteWorkspace(*ws.Sid), 20404, 404)
	})
}

func TestWorkspacesPageAcrossPages(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		for _, name := range []string{"a", "b", "c", "d"} {
			if _, err := tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName(name)); err != nil {
				t.Fatal(err)
			}
		}
		all, err := tw.ListWorkspace((&trv1.ListWorkspaceParams{}).SetPageSize(2))
		if err != nil || len(all) != 5 {
			t.Fatalf("listed %d workspaces over pages, %v; want 5", len(all), err)
		}
		seen := map[string]bool{}
		for _, ws := range all {
			seen[*ws.Sid] = true
		}
		if len(seen) != 5 {
			t.Fatalf("pages repeated workspaces: %v", seen)
		}
		page, err := tw.PageWorkspace((&trv1.ListWorkspaceParams{}).SetPageSize(2), "", "")
		if err != nil || len(page.Workspaces) != 2 || page.Meta.Key != "workspaces" || page.Meta.PageSize != 2 ||
			page.Meta.NextPageUrl == nil || page.Meta.PreviousPageUrl != nil || !strings.HasPrefix(page.Meta.Url, s.URL+"/v1/Workspaces?") {
			t.Fatalf("first page = %+v, %v", page, err)
		}
	})
}

func TestWorkspaceErrorsWriteNothing(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		before := trRows(t, s)
		_, err := tw.CreateWorkspace(&trv1.CreateWorkspaceParams{})
		wantMessage(t, err, 20001, 400, "FriendlyName")
		_, err = tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName(strings.Repeat("w", 65)))
		wantMessage(t, err, 20001, 400, "FriendlyName")
		_, err = tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("w").SetTemplate("LIFO"))
		wantMessage(t, err, 20001, 400, "Template")
		_, err = tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("w").SetEventCallbackUrl("not a url"))
		wantMessage(t, err, 20001, 400, "EventCallbackUrl")
		_, err = tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("w").SetEventsFilter("task.eaten"))
		wantMessage(t, err, 20001, 400, "task.eaten")
		_, err = tw.CreateWorkspace((&trv1.CreateWorkspaceParams{}).SetFriendlyName("w").SetPrioritizeQueueOrder("SOMETIMES"))
		wantMessage(t, err, 20001, 400, "PrioritizeQueueOrder")
		_, err = tw.UpdateWorkspace(fx.sid, (&trv1.UpdateWorkspaceParams{}).SetTimeoutActivitySid("WA00000000000000000000000000000000"))
		wantMessage(t, err, 20001, 400, "TimeoutActivitySid")
		_, err = tw.UpdateWorkspace("WS00000000000000000000000000000000", (&trv1.UpdateWorkspaceParams{}).SetFriendlyName("x"))
		wantTwilioError(t, err, 20404, 404)
		_, err = tw.FetchWorkspace("nonsense")
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)
	})
}

func TestActivitiesThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		a, err := tw.CreateActivity(fx.sid, (&trv1.CreateActivityParams{}).SetFriendlyName("Lunch").SetAvailable(false))
		if err != nil {
			t.Fatal(err)
		}
		if *a.FriendlyName != "Lunch" || *a.Available || *a.WorkspaceSid != fx.sid || *a.AccountSid != s.AccountSid ||
			*a.Url != s.URL+"/v1/Workspaces/"+fx.sid+"/Activities/"+*a.Sid || (*a.Links)["workspace"] != s.URL+"/v1/Workspaces/"+fx.sid {
			t.Fatalf("created = %+v", a)
		}
		got, err := tw.FetchActivity(fx.sid, *a.Sid)
		if err != nil || *got.FriendlyName != "Lunch" {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		up, err := tw.UpdateActivity(fx.sid, *a.Sid, (&trv1.UpdateActivityParams{}).SetFriendlyName("Long lunch"))
		if err != nil || *up.FriendlyName != "Long lunch" || *up.Available {
			t.Fatalf("update = %+v, %v", up, err)
		}
		avail, err := tw.ListActivity(fx.sid, (&trv1.ListActivityParams{}).SetAvailable("true"))
		if err != nil || len(avail) != 1 || *avail[0].FriendlyName != "Available" {
			t.Fatalf("available = %v, %v", avail, err)
		}
		all, err := tw.ListActivity(fx.sid, (&trv1.ListActivityParams{}).SetPageSize(2))
		if err != nil || len(all) != 5 {
			t.Fatalf("listed %d over pages, %v; want 5", len(all), err)
		}
		page, err := tw.PageActivity(fx.sid, (&trv1.ListActivityParams{}).SetPageSize(3), "", "1")
		if err != nil || len(page.Activities) != 2 || page.Meta.Key != "activities" || page.Meta.NextPageUrl != nil || page.Meta.PreviousPageUrl == nil {
			t.Fatalf("second page = %+v, %v", page, err)
		}

		before := trRows(t, s)
		_, err = tw.CreateActivity(fx.sid, (&trv1.CreateActivityParams{}).SetFriendlyName("Long lunch"))
		wantMessage(t, err, 20001, 409, "Long lunch")
		_, err = tw.CreateActivity(fx.sid, &trv1.CreateActivityParams{})
		wantMessage(t, err, 20001, 400, "FriendlyName")
		_, err = tw.ListActivity(fx.sid, (&trv1.ListActivityParams{}).SetAvailable("perhaps"))
		wantMessage(t, err, 20001, 400, "Available")
		wantMessage(t, tw.DeleteActivity(fx.sid, fx.activities["Offline"]), 20001, 400, "default activity")
		if _, err := tw.CreateWorker(fx.sid, (&trv1.CreateWorkerParams{}).SetFriendlyName("w").SetActivitySid(*a.Sid)); err != nil {
			t.Fatal(err)
		}
		before = trRows(t, s)
		wantMessage(t, tw.DeleteActivity(fx.sid, *a.Sid), 20001, 409, "workers")
		_, err = tw.FetchActivity(fx.sid, "WA00000000000000000000000000000000")
		wantTwilioError(t, err, 20404, 404)
		wantNothingWritten(t, s, before)

		if err := tw.DeleteActivity(fx.sid, fx.activities["Break"]); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchActivity(fx.sid, fx.activities["Break"])
		wantTwilioError(t, err, 20404, 404)
	})
}

func TestTaskChannelsThroughTwilioGo(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		tw := s.Twilio.TaskrouterV1
		fx := flexWorkspace(t, s)
		tc, err := tw.CreateTaskChannel(fx.sid, (&trv1.CreateTaskChannelParams{}).SetFriendlyName("Email").SetUniqueName("email").
			SetChannelOptimizedRouting(true))
		if err != nil {
			t.Fatal(err)
		}
		if *tc.UniqueName != "email" || !*tc.ChannelOptimizedRouting || *tc.Url != s.URL+"/v1/Workspaces/"+fx.sid+"/TaskChannels/"+*tc.Sid {
			t.Fatalf("created = %+v", tc)
		}
		for _, key := range []string{"email", *tc.Sid} {
			got, err := tw.FetchTaskChannel(fx.sid, key)
			if err != nil || *got.Sid != *tc.Sid {
				t.Fatalf("fetch %s = %+v, %v", key, got, err)
			}
		}
		up, err := tw.UpdateTaskChannel(fx.sid, "email", (&trv1.UpdateTaskChannelParams{}).SetFriendlyName("E-mail").SetChannelOptimizedRouting(false))
		if err != nil || *up.FriendlyName != "E-mail" || *up.ChannelOptimizedRouting {
			t.Fatalf("update = %+v, %v", up, err)
		}
		page, err := tw.PageTaskChannel(fx.sid, (&trv1.ListTaskChannelParams{}).SetPageSize(4), "", "")
		if err != nil || len(page.Channels) != 4 || page.Meta.Key != "channels" || page.Meta.NextPageUrl == nil {
			t.Fatalf("first page = %+v, %v", page, err)
		}
		all, err := tw.ListTaskChannel(fx.sid, (&trv1.ListTaskChannelParams{}).SetPageSize(4))
		if err != nil || len(all) != 6 {
			t.Fatalf("listed %d over pages, %v; want 6", len(all), err)
		}

		before := trRows(t, s)
		_, err = tw.CreateTaskChannel(fx.sid, (&trv1.CreateTaskChannelParams{}).SetFriendlyName("Voice 2").SetUniqueName("voice"))
		wantMessage(t, err, 20001, 409, "voice")
		_, err = tw.CreateTaskChannel(fx.sid, (&trv1.CreateTaskChannelParams{}).SetFriendlyName("Nameless"))
		wantMessage(t, err, 20001, 400, "UniqueName")
		_, err = tw.FetchTaskChannel(fx.sid, "fax")
		wantTwilioError(t, err, 20404, 404)
		if _, err := tw.CreateTask(fx.sid, (&trv1.CreateTaskParams{}).SetTaskChannel("email")); err != nil {
			t.Fatal(err)
		}
		before = trRows(t, s)
		wantMessage(t, tw.DeleteTaskChannel(fx.sid, "email"), 20001, 409, "tasks")
		wantNothingWritten(t, s, before)

		if err := tw.DeleteTaskChannel(fx.sid, "whatsapp"); err != nil {
			t.Fatal(err)
		}
		_, err = tw.FetchTaskChannel(fx.sid, "whatsapp")
		wantTwilioError(t, err, 20404, 404)
	})
}

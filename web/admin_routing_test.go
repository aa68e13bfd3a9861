package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// signInAs signs a member of staff in with roles, for the console's pages.
func adminSignIn(t *testing.T, s *webtest.Server, email, name string, roles ...string) deskAgent {
	t.Helper()
	cookie, csrf, staff := s.SignIn(t, email, name, roles...)
	return deskAgent{t: t, s: s, cookie: cookie, csrf: csrf, staff: staff}
}

func adminPost(path string, form url.Values) request {
	return request{method: http.MethodPost, path: path, form: form}
}

func adminGet(path string) request { return request{method: http.MethodGet, path: path, plain: true} }

func TestAdminRoutingPagesAndActionsAreForAdminsOnly(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		routes := []request{
			adminGet("/admin/workspace"), adminPost("/admin/workspace", url.Values{"friendly_name": {"Hacked"}}),
			adminPost("/admin/workspace/activities", url.Values{"friendly_name": {"Hacked"}}),
			adminPost("/admin/workspace/activities/WA00000000000000000000000000000000", nil),
			adminPost("/admin/workspace/activities/WA00000000000000000000000000000000/delete", nil),
			adminGet("/admin/channels"), adminPost("/admin/channels", nil), adminPost("/admin/channels/chat", nil), adminPost("/admin/channels/chat/delete", nil),
			adminGet("/admin/queues"), adminPost("/admin/queues/validate", url.Values{"target_workers": {"1==1"}}), adminPost("/admin/queues", nil),
			adminPost("/admin/queues/WQ00000000000000000000000000000000", nil), adminPost("/admin/queues/WQ00000000000000000000000000000000/delete", nil),
			adminGet("/admin/workflows"), adminPost("/admin/workflows/validate", nil), adminPost("/admin/workflows/preview", nil),
			adminPost("/admin/workflows", nil), adminPost("/admin/workflows/WW00000000000000000000000000000000", nil),
			adminPost("/admin/workflows/WW00000000000000000000000000000000/delete", nil),
			adminGet("/admin/users"), adminPost("/admin/users/"+ada.staff.Sid, url.Values{"roles": {"agent"}}),
		}
		for _, who := range []deskAgent{
			adminSignIn(t, s, "anna@example.com", "Anna", auth.RoleAgent),
			adminSignIn(t, s, "sue@example.com", "Sue", auth.RoleSupervisor),
		} {
			for _, r := range routes {
				who.want(http.StatusForbidden, r)
			}
		}
		// An admin without the page's CSRF token changes nothing either.
		ada.want(http.StatusForbidden, request{method: http.MethodPost, path: "/admin/workspace", form: url.Values{"friendly_name": {"x"}}, noCSRF: true})
		ws, err := s.TaskRouter.Workspace(context.Background(), ada.staff.WorkspaceSid)
		if err != nil || ws.FriendlyName != taskrouter.DefaultWorkspaceName {
			t.Fatalf("workspace = %+v, %v", ws, err)
		}
		for _, path := range []string{"/admin/workspace", "/admin/channels", "/admin/queues", "/admin/workflows", "/admin/users"} {
			wantIn(t, path, ada.want(http.StatusOK, adminGet(path)), `aria-current="page"`, "admin-content")
		}
	})
}

func TestAdminWorkspaceSettingsAndActivities(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		tr, wsSid := s.TaskRouter, ada.staff.WorkspaceSid
		ws, _ := tr.Workspace(ctx, wsSid)
		page := ada.want(http.StatusOK, adminGet("/admin/workspace"))
		wantIn(t, "the workspace page", page, ws.FriendlyName, "Offline", "Available", "Reservation timeout", "Assign to Anyone", "120 s",
			"Service levels", "60 s", "10 s")

		form := url.Values{"friendly_name": {"Support desk"}, "event_callback_url": {"ftp://nope"},
			"default_activity_sid": {ws.DefaultActivitySid}, "timeout_activity_sid": {ws.TimeoutActivitySid}}
		wantIn(t, "a bad callback URL", ada.want(http.StatusBadRequest, adminPost("/admin/workspace", form)), "EventCallbackUrl")
		if got, _ := tr.Workspace(ctx, wsSid); got.FriendlyName != ws.FriendlyName {
			t.Fatalf("a refused save renamed the workspace to %q", got.FriendlyName)
		}
		form.Set("event_callback_url", "https://example.com/events")
		wantIn(t, "the saved settings", ada.want(http.StatusOK, adminPost("/admin/workspace", form)), "Workspace settings saved", "Support desk")
		if got, _ := tr.Workspace(ctx, wsSid); got.FriendlyName != "Support desk" || got.EventCallbackURL != "https://example.com/events" {
			t.Fatalf("workspace = %+v", got)
		}

		wantIn(t, "an activity without a name", ada.want(http.StatusBadRequest, adminPost("/admin/workspace/activities", url.Values{"friendly_name": {" "}})), "FriendlyName")
		wantIn(t, "a new activity", ada.want(http.StatusOK, adminPost("/admin/workspace/activities",
			url.Values{"friendly_name": {"Lunch"}, "available": {"true"}})), "Activity Lunch added", `value="Lunch"`)
		acts, _, _ := tr.Activities(ctx, wsSid, taskrouter.ActivityFilter{FriendlyName: "Lunch"}, taskrouter.Page{Limit: 1})
		if len(acts) != 1 || !acts[0].Available {
			t.Fatalf("Lunch = %+v", acts)
		}
		wantIn(t, "a duplicate name", ada.want(http.StatusConflict, adminPost("/admin/workspace/activities/"+acts[0].Sid,
			url.Values{"friendly_name": {"Offline"}})), "already exists")
		ada.want(http.StatusOK, adminPost("/admin/workspace/activities/"+acts[0].Sid, url.Values{"friendly_name": {"Long lunch"}}))
		wantIn(t, "deleting the default activity", ada.want(http.StatusBadRequest,
			adminPost("/admin/workspace/activities/"+ws.DefaultActivitySid+"/delete", nil)), "default activity")
		ada.want(http.StatusOK, adminPost("/admin/workspace/activities/"+acts[0].Sid+"/delete", nil))
		if _, err := tr.Activity(ctx, wsSid, acts[0].Sid); err == nil {
			t.Fatal("the activity is still there")
		}
	})
}

func TestAdminTaskChannelSettings(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		tr, wsSid := s.TaskRouter, ada.staff.WorkspaceSid
		chat, _ := tr.TaskChannel(ctx, wsSid, "chat")
		wantIn(t, "the channels page", ada.want(http.StatusOK, adminGet("/admin/channels")), "Programmable Chat", "whatsapp", "Service level")
		form := url.Values{"friendly_name": {"Web chat"}, "default_capacity": {"3"}, "service_level_seconds": {"30"}, "short_abandon_seconds": {"30"}}
		wantIn(t, "short abandon as long as the service level", ada.want(http.StatusBadRequest, adminPost("/admin/channels/"+chat.Sid, form)), "shorter than")
		form.Set("short_abandon_seconds", "soon")
		wantIn(t, "a word for a number", ada.want(http.StatusBadRequest, adminPost("/admin/channels/"+chat.Sid, form)), "whole number")
		if got, _ := tr.TaskChannel(ctx, wsSid, "chat"); got != chat {
			t.Fatalf("a refused save changed the channel: %+v", got)
		}
		form.Set("short_abandon_seconds", "5")
		wantIn(t, "saved", ada.want(http.StatusOK, adminPost("/admin/channels/"+chat.Sid, form)), "Task channel chat saved", `value="Web chat"`)
		got, _ := tr.TaskChannel(ctx, wsSid, "chat")
		if got.FriendlyName != "Web chat" || got.DefaultCapacity != 3 || got.ServiceLevelSeconds != 30 || got.ShortAbandonSeconds != 5 {
			t.Fatalf("chat = %+v", got)
		}
		// A worker made afterwards, as staff sign-in makes them, starts with it.
		anna := adminSignIn(t, s, "anna@example.com", "Anna")
		if wc, _ := tr.WorkerChannel(ctx, wsSid, anna.staff.WorkerSid, "chat"); wc.Capacity != 3 {
			t.Fatalf("a new worker's chat capacity = %d, want 3", wc.Capacity)
		}
		wantIn(t, "a SID-shaped unique name", ada.want(http.StatusBadRequest, adminPost("/admin/channels",
			url.Values{"friendly_name": {"Email"}, "unique_name": {"TC00000000000000000000000000000000"}})), "SID")
		wantIn(t, "a new channel", ada.want(http.StatusOK, adminPost("/admin/channels",
			url.Values{"friendly_name": {"Email"}, "unique_name": {"email"}})), "Task channel email added")
		ada.want(http.StatusOK, adminPost("/admin/channels/email/delete", nil))
		if _, err := tr.TaskChannel(ctx, wsSid, "email"); err == nil {
			t.Fatal("the email channel is still there")
		}
	})
}

func TestAdminQueuesValidateTheTargetAsYouType(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		anna := adminSignIn(t, s, "anna@example.com", "Anna")
		tr, wsSid := s.TaskRouter, ada.staff.WorkspaceSid
		_, err := tr.UpdateWorkerProfile(ctx, wsSid, anna.staff.WorkerSid, taskrouter.WorkerProfile{Skills: []string{"billing"}})
		if err != nil {
			t.Fatal(err)
		}
		wantIn(t, "a mistake", ada.want(http.StatusOK, adminPost("/admin/queues/validate", url.Values{"target_workers": {"routing.skills HAS"}})),
			"field-error", "position")
		wantIn(t, "a selection", ada.want(http.StatusOK, adminPost("/admin/queues/validate",
			url.Values{"target_workers": {"routing.skills HAS 'billing'"}})), "field-ok", "Selects 1 of 2 workers now: Anna")

		form := url.Values{"friendly_name": {"Billing"}, "target_workers": {"routing.skills HAS"}, "task_order": {"FIFO"}, "max_reserved_workers": {"1"}}
		wantIn(t, "a queue with a bad target", ada.want(http.StatusBadRequest, adminPost("/admin/queues", form)), "TargetWorkers")
		form.Set("target_workers", "routing.skills HAS 'billing'")
		form.Set("max_reserved_workers", "0")
		wantIn(t, "a queue ringing nobody", ada.want(http.StatusBadRequest, adminPost("/admin/queues", form)), "MaxReservedWorkers")
		if qs, _, _ := tr.TaskQueues(ctx, wsSid, taskrouter.TaskQueueFilter{FriendlyName: "Billing"}, taskrouter.Page{Limit: 1}); len(qs) != 0 {
			t.Fatal("a refused queue was created")
		}
		form.Set("max_reserved_workers", "2")
		wantIn(t, "the new queue", ada.want(http.StatusOK, adminPost("/admin/queues", form)), "Queue Billing saved", "Selects 1 of 2")
		qs, _, _ := tr.TaskQueues(ctx, wsSid, taskrouter.TaskQueueFilter{FriendlyName: "Billing"}, taskrouter.Page{Limit: 1})
		if len(qs) != 1 || qs[0].MaxReservedWorkers != 2 {
			t.Fatalf("Billing = %+v", qs)
		}
		wantIn(t, "the edit form", ada.want(http.StatusOK, adminGet("/admin/queues?edit="+qs[0].Sid)), "Edit Billing", "Save queue")
		form.Set("task_order", "LIFO")
		ada.want(http.StatusOK, adminPost("/admin/queues/"+qs[0].Sid, form))
		if q, _ := tr.TaskQueue(ctx, wsSid, qs[0].Sid); q.TaskOrder != "LIFO" {
			t.Fatalf("task order = %s", q.TaskOrder)
		}
		// The default workflow routes to Everyone: the engine refuses to delete it.
		everyone, _, _ := tr.TaskQueues(ctx, wsSid, taskrouter.TaskQueueFilter{FriendlyName: "Everyone"}, taskrouter.Page{Limit: 1})
		wantIn(t, "deleting a queue in use", ada.want(http.StatusConflict, adminPost("/admin/queues/"+everyone[0].Sid+"/delete", nil)), "routes to it")
		ada.want(http.StatusOK, adminPost("/admin/queues/"+qs[0].Sid+"/delete", nil))
	})
}

func TestAdminWorkflowsValidateAndPreviewUnsavedConfigurations(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		anna := adminSignIn(t, s, "anna@example.com", "Anna")
		anna.available()
		tr, wsSid := s.TaskRouter, ada.staff.WorkspaceSid
		everyone, _, _ := tr.TaskQueues(ctx, wsSid, taskrouter.TaskQueueFilter{FriendlyName: "Everyone"}, taskrouter.Page{Limit: 1})
		wfs, _, _ := tr.Workflows(ctx, wsSid, "", taskrouter.Page{Limit: 10})
		page := ada.want(http.StatusOK, adminGet("/admin/workflows?edit="+wfs[0].Sid))
		wantIn(t, "the editor", page, "Edit Assign to Anyone", "textarea", everyone[0].Sid, "Valid configuration", "Preview")

		wantIn(t, "broken JSON", ada.want(http.StatusOK, adminPost("/admin/workflows/validate",
			url.Values{"configuration": {"{\n  \"task_routing\": {,\n}"}})), "field-error", "line 2, column")
		cfg := `{"task_routing":{"filters":[{"filter_friendly_name":"Billing","expression":"type == 'billing'",` +
			`"targets":[{"queue":"` + everyone[0].Sid + `","priority":7}]}]}}`
		wantIn(t, "a good configuration", ada.want(http.StatusOK, adminPost("/admin/workflows/validate", url.Values{"configuration": {cfg}})),
			"Valid configuration")

		preview := ada.want(http.StatusOK, adminPost("/admin/workflows/preview", url.Values{"configuration": {cfg},
			"attributes": {`{"type":"billing"}`}, "task_channel": {"chat"}, "task_reservation_timeout": {"45"}}))
		wantIn(t, "the preview", preview, "Billing", "Everyone", "anna@example.com", "offered first", "45 s")
		wantIn(t, "no match", ada.want(http.StatusOK, adminPost("/admin/workflows/preview", url.Values{"configuration": {cfg},
			"attributes": {`{"type":"sales"}`}, "task_channel": {"chat"}})), "No filter matches")
		wantIn(t, "bad attributes", ada.want(http.StatusOK, adminPost("/admin/workflows/preview", url.Values{"configuration": {cfg},
			"attributes": {`[1]`}, "task_channel": {"chat"}})), "preview-error", "JSON object")

		form := url.Values{"friendly_name": {"Billing first"}, "configuration": {`{"task_routing":{}}`}, "task_reservation_timeout": {"45"}}
		wantIn(t, "saving a bad configuration", ada.want(http.StatusBadRequest, adminPost("/admin/workflows", form)), "default_filter")
		form.Set("configuration", cfg)
		form.Set("task_reservation_timeout", "0")
		wantIn(t, "a zero reservation timeout", ada.want(http.StatusBadRequest, adminPost("/admin/workflows", form)), "TaskReservationTimeout")
		if all, _, _ := tr.Workflows(ctx, wsSid, "", taskrouter.Page{Limit: 10}); len(all) != 1 {
			t.Fatalf("refused saves made workflows: %d", len(all))
		}
		form.Set("task_reservation_timeout", "45")
		wantIn(t, "saved", ada.want(http.StatusOK, adminPost("/admin/workflows", form)), "Workflow Billing first saved", "Edit Billing first")
		made, _, _ := tr.Workflows(ctx, wsSid, "Billing first", taskrouter.Page{Limit: 1})
		if len(made) != 1 || made[0].TaskReservationTimeout != 45 {
			t.Fatalf("workflow = %+v", made)
		}
		form.Set("task_reservation_timeout", "90")
		ada.want(http.StatusOK, adminPost("/admin/workflows/"+made[0].Sid, form))
		if wf, _ := tr.Workflow(ctx, wsSid, made[0].Sid); wf.TaskReservationTimeout != 90 {
			t.Fatalf("reservation timeout = %d", wf.TaskReservationTimeout)
		}
		ada.want(http.StatusOK, adminPost("/admin/workflows/"+made[0].Sid+"/delete", nil))
	})
}

func TestAdminUsersEditRoutingAndLocalRoles(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ctx := context.Background()
		ada := adminSignIn(t, s, "ada@example.com", "Ada", auth.RoleAdmin)
		anna := adminSignIn(t, s, "anna@example.com", "Anna")
		tr, wsSid := s.TaskRouter, ada.staff.WorkspaceSid
		wantIn(t, "the users page", ada.want(http.StatusOK, adminGet("/admin/users")), "Anna", "anna@example.com", "set here", "Offline")
		wantIn(t, "the edit form", ada.want(http.StatusOK, adminGet("/admin/users?edit="+anna.staff.Sid)), "Edit Anna", `name="capacity_chat"`)
		ada.want(http.StatusNotFound, adminGet("/admin/users?edit=SU00000000000000000000000000000000"))

		before, _ := tr.Worker(ctx, wsSid, anna.staff.WorkerSid)
		form := url.Values{"roles": {"agent", "supervisor"}, "skills": {"support, sales"}, "levels": {"sales=4, support=high"},
			"team": {"Blue"}, "capacity_chat": {"3"}, "capacity_sms": {"0"}}
		wantIn(t, "a level that is no number", ada.want(http.StatusBadRequest, adminPost("/admin/users/"+anna.staff.Sid, form)), "skill=level")
		form.Set("levels", "sales=4, billing=2")
		wantIn(t, "a level without the skill", ada.want(http.StatusBadRequest, adminPost("/admin/users/"+anna.staff.Sid, form)), "billing")
		form.Set("levels", "sales=4")
		form.Set("capacity_chat", "99")
		ada.want(http.StatusBadRequest, adminPost("/admin/users/"+anna.staff.Sid, form))
		if w, _ := tr.Worker(ctx, wsSid, anna.staff.WorkerSid); w.Attributes != before.Attributes {
			t.Fatalf("refused saves changed the worker: %s", w.Attributes)
		}
		if m, _ := s.Staff.Member(ctx, anna.staff.Sid); len(m.Roles) != 1 {
			t.Fatalf("refused saves changed the roles: %v", m.Roles)
		}

		form.Set("capacity_chat", "3")
		wantIn(t, "saved", ada.want(http.StatusOK, adminPost("/admin/users/"+anna.staff.Sid, form)), "Anna saved", "support, sales", "sales=4", "Blue")
		w, _ := tr.Worker(ctx, wsSid, anna.staff.WorkerSid)
		p := taskrouter.ProfileOf(w.Attributes)
		if strings.Join(p.Skills, ",") != "support,sales" || p.Levels["sales"] != 4 || p.Team != "Blue" ||
			!strings.Contains(w.Attributes, `"supervisor"`) {
			t.Fatalf("worker attributes = %s", w.Attributes)
		}
		if wc, _ := tr.WorkerChannel(ctx, wsSid, w.Sid, "chat"); wc.Capacity != 3 {
			t.Fatalf("chat capacity = %d", wc.Capacity)
		}
		// Anna's new role holds on her next request.
		if _, st, err := s.Sessions.Check(ctx, anna.cookie.Value); err != nil || !st.Has(auth.RoleSupervisor) {
			t.Fatalf("Anna's session: %+v, %v", st, err)
		}

		wantIn(t, "an admin demoting themselves", ada.want(http.StatusBadRequest, adminPost("/admin/users/"+ada.staff.Sid,
			url.Values{"roles": {"agent"}})), "yourself")
		sso, err := s.Staff.SignIn(ctx, auth.Profile{Issuer: "https://idp.example.com", Subject: "7", Email: "sam@example.com",
			Name: "Sam", Roles: []string{auth.RoleAgent}})
		if err != nil {
			t.Fatal(err)
		}
		wantIn(t, "an SSO member", ada.want(http.StatusOK, adminGet("/admin/users?edit="+sso.Sid)), "idp.example.com", "from SSO", "disabled")
		// Their role boxes are disabled, so the browser sends none: their roles stay the provider's.
		ada.want(http.StatusOK, adminPost("/admin/users/"+sso.Sid, url.Values{"skills": {"sales"}}))
		if m, _ := s.Staff.Member(ctx, sso.Sid); strings.Join(m.Roles, " ") != "agent" {
			t.Fatalf("SSO roles = %v", m.Roles)
		}
	})
}

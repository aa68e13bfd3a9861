package main

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// Dev mode's demo contact centre: queues, routing, staff, canned responses,
// dispositions and WhatsApp templates, in the workspace staff are
// provisioned into (the oldest one).
const (
	devWorkflowName = "Demo routing (dev mode)"
	// bootstrapWorkflowName is the workflow a new installation's workspace
	// starts with; the demo takes it over, since tasks of a workspace with
	// more than one workflow cannot be routed without naming one.
	bootstrapWorkflowName = "Assign to Anyone"
)

// seedDevDesk makes sure, on every dev start, that the demo contact centre
// is there: the demo staff provisioned for /auth/dev (their workspace is
// the demo's); in it the Available, Unavailable, Offline and Break
// activities and the chat, sms and whatsapp task channels; queues Sales and
// Support by skill; a workflow sending SMS to Sales and everything else
// (webchat, WhatsApp) to Support; agents with skills and capacity; the
// workspace's dispositions and canned responses; and, given the channel
// layer, WhatsApp templates on the simulator account (seedDevPhone's).
// What exists is kept, so it runs on every start and a developer's
// changes survive restarts.
func seedDevDesk(ctx context.Context, tr *taskrouter.Engine, dk *desk.Service, staff *auth.Directory, ch *channels.Service) error {
	placed, err := provisionDevStaff(ctx, staff)
	if err != nil {
		return fmt.Errorf("dev seed: staff: %w", err)
	}
	ws := placed[0].staff.WorkspaceSid
	steps := []struct {
		what string
		run  func() error
	}{
		{"activities", func() error { return seedDevActivities(ctx, tr, ws) }},
		{"task channels", func() error { return seedDevTaskChannels(ctx, tr, ws) }},
		{"queues and routing", func() error { return seedDevRouting(ctx, tr, ws) }},
		{"skills and capacity", func() error { return seedDevSkills(ctx, tr, placed) }},
		{"dispositions", func() error { return seedDevDispositions(ctx, dk, ws) }},
		{"canned responses", func() error { return seedDevCanned(ctx, dk, ws) }},
		{"whatsapp templates", func() error { return seedDevTemplates(ctx, ch) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("dev seed: %s: %w", s.what, err)
		}
	}
	return nil
}

func seedDevActivities(ctx context.Context, tr *taskrouter.Engine, workspaceSid string) error {
	for _, a := range []struct {
		name      string
		available bool
	}{{"Available", true}, {"Unavailable", false}, {"Offline", false}, {"Break", false}} {
		found, _, err := tr.Activities(ctx, workspaceSid, taskrouter.ActivityFilter{FriendlyName: a.name}, taskrouter.Page{Limit: 1})
		if err != nil || len(found) > 0 {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := tr.CreateActivity(ctx, workspaceSid, taskrouter.ActivityParams{FriendlyName: &a.name, Available: &a.available}); err != nil {
			return err
		}
	}
	return nil
}

func seedDevTaskChannels(ctx context.Context, tr *taskrouter.Engine, workspaceSid string) error {
	for _, c := range []struct{ unique, friendly string }{{"chat", "Programmable Chat"}, {"sms", "SMS"}, {"whatsapp", "WhatsApp"}} {
		_, err := tr.TaskChannel(ctx, workspaceSid, c.unique)
		if errs.KindOf(err) != errs.NotFound {
			if err != nil {
				return err
			}
			continue
		}
		if _, err := tr.CreateTaskChannel(ctx, workspaceSid, taskrouter.TaskChannelParams{UniqueName: &c.unique, FriendlyName: &c.friendly}); err != nil {
			return err
		}
	}
	return nil
}

// seedDevRouting makes the Sales and Support queues and the workflow that
// routes to them by the task's channelType (interactions sets it: sms,
// whatsapp, web).
func seedDevRouting(ctx context.Context, tr *taskrouter.Engine, workspaceSid string) error {
	// devQueues are the demo's queues and the workers they target.
	devQueues := []struct{ name, target string }{
		{"Sales", `routing.skills HAS 'sales'`},
		{"Support", `routing.skills HAS 'support'`},
	}
	queues := map[string]string{}
	for _, q := range devQueues {
		found, _, err := tr.TaskQueues(ctx, workspaceSid, taskrouter.TaskQueueFilter{FriendlyName: q.name}, taskrouter.Page{Limit: 1})
		if err != nil {
			return err
		}
		if len(found) > 0 {
			queues[q.name] = found[0].Sid
			continue
		}
		created, err := tr.CreateTaskQueue(ctx, workspaceSid, taskrouter.TaskQueueParams{FriendlyName: &q.name, TargetWorkers: &q.target})
		if err != nil {
			return err
		}
		queues[q.name] = created.Sid
	}
	var cfg taskrouter.WorkflowConfig
	cfg.TaskRouting.Filters = []taskrouter.FilterConfig{
		{FilterFriendlyName: "SMS to Sales", Expression: `channelType == 'sms'`, Targets: []taskrouter.TargetConfig{{Queue: queues["Sales"]}}},
		{FilterFriendlyName: "Webchat to Support", Expression: `channelType IN ['web', 'chat']`,
			Targets: []taskrouter.TargetConfig{{Queue: queues["Support"]}}},
	}
	cfg.TaskRouting.DefaultFilter = &taskrouter.TargetConfig{Queue: queues["Support"]}
	encoded, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	config, name := string(encoded), devWorkflowName
	workflows, _, err := tr.Workflows(ctx, workspaceSid, "", taskrouter.Page{Limit: 100})
	if err != nil {
		return err
	}
	i := slices.IndexFunc(workflows, func(w taskrouter.Workflow) bool { return w.FriendlyName == devWorkflowName })
	switch {
	case i >= 0:
		return nil // seeded before: a developer may have changed it since
	case len(workflows) == 1 && workflows[0].FriendlyName == bootstrapWorkflowName:
		_, err = tr.UpdateWorkflow(ctx, workspaceSid, workflows[0].Sid, taskrouter.WorkflowParams{FriendlyName: &name, Configuration: &config})
	case len(workflows) == 0:
		_, err = tr.CreateWorkflow(ctx, workspaceSid, taskrouter.WorkflowParams{FriendlyName: &name, Configuration: &config})
	}
	// Otherwise the workspace routes as its owner set it up: left alone.
	return err
}

// devMember is a demo member of staff as provisioned, with their skills.
type devMember struct {
	staff  auth.Staff
	skills []string
}

// provisionDevStaff provisions the demo staff as their first sign-in would.
func provisionDevStaff(ctx context.Context, staff *auth.Directory) ([]devMember, error) {
	// The demo sign-ins /auth/dev lists, with their routing skills.
	demo := []struct {
		email, name string
		roles       []string
		skills      []string
	}{
		{"anna@example.com", "Anna", []string{auth.RoleAgent}, []string{"support"}},
		{"ben@example.com", "Ben", []string{auth.RoleAgent}, []string{"sales", "support"}},
		{"sue@example.com", "Sue", []string{auth.RoleSupervisor}, []string{"support"}},
		{"ada@example.com", "Ada", []string{auth.RoleAdmin}, nil},
	}
	var out []devMember
	for _, p := range demo {
		s, err := staff.Provision(ctx, p.email, p.name, p.roles...)
		if err != nil {
			return nil, err
		}
		if s.WorkerSid == "" {
			return nil, fmt.Errorf("%s was provisioned without a worker", p.email)
		}
		out = append(out, devMember{staff: s, skills: p.skills})
	}
	return out, nil
}

// seedDevSkills gives each demo worker the demo's skills (routing.skills)
// and capacity, the first time only: when its attributes have no routing
// yet.
func seedDevSkills(ctx context.Context, tr *taskrouter.Engine, members []devMember) error {
	capacity := map[string]int{"chat": 3, "sms": 2, "whatsapp": 2}
	for _, m := range members {
		s := m.staff
		w, err := tr.Worker(ctx, s.WorkspaceSid, s.WorkerSid)
		if err != nil {
			return err
		}
		attrs := map[string]any{}
		_ = json.Unmarshal([]byte(w.Attributes), &attrs) // provisioning wrote them: an object
		if _, seeded := attrs["routing"]; seeded {
			continue
		}
		skills := make([]any, len(m.skills))
		for i, sk := range m.skills {
			skills[i] = sk
		}
		attrs["routing"] = map[string]any{"skills": skills}
		encoded, err := json.Marshal(attrs)
		if err != nil {
			return err
		}
		withSkills := string(encoded)
		if _, err := tr.UpdateWorker(ctx, s.WorkspaceSid, s.WorkerSid, taskrouter.WorkerParams{Attributes: &withSkills}); err != nil {
			return err
		}
		for channel, n := range capacity {
			if _, err := tr.UpdateWorkerChannel(ctx, s.WorkspaceSid, s.WorkerSid, channel,
				taskrouter.WorkerChannelParams{Capacity: &n}); err != nil {
				return err
			}
		}
	}
	return nil
}

func seedDevDispositions(ctx context.Context, dk *desk.Service, workspaceSid string) error {
	// devDispositions are the demo workspace's outcomes.
	devDispositions := []struct{ code, label string }{
		{"resolved", "Resolved"},
		{"follow_up", "Follow-up needed"},
		{"escalated", "Escalated"},
		{"no_response", "No response from customer"},
	}
	existing, _, err := dk.Dispositions(ctx, desk.DispositionFilter{WorkspaceSid: workspaceSid}, 0, 1000)
	if err != nil {
		return err
	}
	for _, d := range devDispositions {
		if slices.ContainsFunc(existing, func(e desk.Disposition) bool { return e.Code == d.code }) {
			continue
		}
		if _, err := dk.CreateDisposition(ctx, desk.DispositionParams{WorkspaceSid: &workspaceSid, Code: &d.code, Label: &d.label}); err != nil {
			return err
		}
	}
	return nil
}

func seedDevCanned(ctx context.Context, dk *desk.Service, workspaceSid string) error {
	// devCanned are the demo's canned responses; global ones have no workspace.
	devCanned := []struct {
		global      bool
		title, body string
		tags        []string
	}{
		{true, "Greeting", "Hi, thanks for getting in touch! How can I help you today?", []string{"greeting"}},
		{true, "Closing", "Is there anything else I can help you with? Have a great day!", []string{"closing"}},
		{false, "Refund policy", "Refunds go back to the original payment method within 5 business days of us receiving the item.", []string{"billing", "refunds"}},
		{false, "Opening hours", "Our team is here Monday to Friday, 9:00 to 17:00.", []string{"info"}},
		{false, "Order status", "Let me look up your order. Could you share your order number, please?", []string{"orders"}},
	}
	existing, _, err := dk.CannedResponses(ctx, desk.CannedFilter{WorkspaceSid: workspaceSid}, 0, 1000)
	if err != nil {
		return err
	}
	for _, c := range devCanned {
		scope := workspaceSid
		if c.global {
			scope = ""
		}
		if slices.ContainsFunc(existing, func(e desk.CannedResponse) bool { return e.Title == c.title && e.WorkspaceSid == scope }) {
			continue
		}
		if _, err := dk.CreateCannedResponse(ctx, desk.CannedParams{WorkspaceSid: &scope, Title: &c.title, Body: &c.body, Tags: &c.tags}); err != nil {
			return err
		}
	}
	return nil
}

// seedDevTemplates gives the simulator account the demo's WhatsApp
// templates when it has none.
func seedDevTemplates(ctx context.Context, ch *channels.Service) error {
	// devTemplates are WhatsApp templates of the simulator account, for the
	// template picker once a customer's 24-hour window has closed.
	devTemplates := map[string]channels.Template{
		"HX0000000000000000000000000000d001": {Name: "order_update", Language: "en"},
		"HX0000000000000000000000000000d002": {Name: "follow_up", Language: "en"},
	}
	if ch == nil {
		return nil
	}
	providers, err := ch.Providers(ctx)
	if err != nil {
		return err
	}
	for _, p := range providers {
		if p.Kind != channels.KindSimulator || p.FriendlyName != devSimulatorName || (p.Templates != "{}" && p.Templates != "") {
			continue
		}
		encoded, err := json.Marshal(devTemplates)
		if err != nil {
			return err
		}
		templates := string(encoded)
		if _, err := ch.UpdateProvider(ctx, p.Sid, channels.ProviderParams{Templates: &templates}); err != nil {
			return err
		}
	}
	return nil
}

// devHistoryDays is how many past days of demo history insights show.
const devHistoryDays = 28

// seedDevHistory gives the demo workspace four weeks of past tasks, so
// the insights dashboards have something to show from the first start;
// days already seeded are kept, a later start adds the days since.
func seedDevHistory(ctx context.Context, d *db.DB, tr *taskrouter.Engine) error {
	ws, err := tr.DefaultWorkspace(ctx)
	if err != nil {
		return fmt.Errorf("dev seed: history: %w", err)
	}
	if err := insights.SeedDemo(ctx, d, ws.Sid, devHistoryDays, time.Now()); err != nil {
		return fmt.Errorf("dev seed: history: %w", err)
	}
	return nil
}

package web

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/views/admin"
	"github.com/switchboardhq/switchboard/views/console"
)

// adminRouting serves the admin's routing pages. Every change goes through
// the TaskRouter engine (or the staff directory for roles), the same calls
// the REST API makes, so the API, the desktops and the router see it with
// its events. Pages work on the signed-in admin's workspace.
type adminRouting struct {
	d Deps
}

// addAdminRoutingRoutes mounts workspace, task channels, queues, workflows and users.
func addAdminRoutingRoutes(g fiber.Router, d Deps) {
	h := adminRouting{d: d}
	g.Get("/workspace", h.workspacePage)
	g.Post("/workspace", h.saveWorkspace)
	g.Post("/workspace/activities", h.createActivity)
	g.Post("/workspace/activities/:Sid", h.renameActivity)
	g.Post("/workspace/activities/:Sid/delete", h.deleteActivity)

	g.Get("/channels", h.channelsPage)
	g.Post("/channels", h.createChannel)
	g.Post("/channels/:Sid", h.saveChannel)
	g.Post("/channels/:Sid/delete", h.deleteChannel)

	g.Get("/queues", h.queuesPage)
	g.Post("/queues/validate", h.validateTarget)
	g.Post("/queues", h.saveQueue)
	g.Post("/queues/:Sid", h.saveQueue)
	g.Post("/queues/:Sid/delete", h.deleteQueue)

	g.Get("/workflows", h.workflowsPage)
	g.Post("/workflows/validate", h.validateWorkflow)
	g.Post("/workflows/preview", h.previewWorkflow)
	g.Post("/workflows", h.saveWorkflow)
	g.Post("/workflows/:Sid", h.saveWorkflow)
	g.Post("/workflows/:Sid/delete", h.deleteWorkflow)

	g.Get("/users", h.usersPage)
	g.Post("/users/:Sid", h.saveUser)
}

// workspace is the workspace the pages administer: the admin's own
// worker's, or the installation's first.
func (h adminRouting) workspace(c *fiber.Ctx) (string, error) {
	if ws := staffOf(c).WorkspaceSid; ws != "" {
		return ws, nil
	}
	ws, err := h.d.TaskRouter.DefaultWorkspace(c.UserContext())
	return ws.Sid, err
}

// channels are the workspace's task channels by unique name: the defaults
// are created in one instant, so the API's order (by creation) is no order.
func (h adminRouting) channels(c *fiber.Ctx, wsSid string) ([]taskrouter.TaskChannel, error) {
	tcs, _, err := h.d.TaskRouter.TaskChannels(c.UserContext(), wsSid, taskrouter.Page{Limit: routingPageRows})
	slices.SortFunc(tcs, func(a, b taskrouter.TaskChannel) int { return strings.Compare(a.UniqueName, b.UniqueName) })
	return tcs, err
}

func (h adminRouting) fail(c *fiber.Ctx, err error) error { return consoleFail(c, h.d.Log, err) }

// done answers a change: the page's content as it is now, and a notice.
func (h adminRouting) done(c *fiber.Ctx, content templ.Component, msg string) error {
	return render(c, templ.Join(content, console.Done(msg)))
}

// routingStr and routingBool are parameters, set.
func routingStr(s string) *string { return &s }

func routingBool(b bool) *bool { return &b }

// formInt reads a whole-number form field.
func (h adminRouting) formInt(c *fiber.Ctx, field, label string) (int, error) {
	v := strings.TrimSpace(c.FormValue(field))
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errs.Invalidf("%s must be a whole number, not %q", label, v)
	}
	return n, nil
}

const routingPageRows = 10000 // pages list a workspace's resources whole

// --- workspace ---

func (h adminRouting) workspaceView(c *fiber.Ctx) (admin.WorkspaceView, error) {
	ctx, tr := c.UserContext(), h.d.TaskRouter
	wsSid, err := h.workspace(c)
	if err != nil {
		return admin.WorkspaceView{}, err
	}
	var v admin.WorkspaceView
	if v.Workspace, err = tr.Workspace(ctx, wsSid); err != nil {
		return v, err
	}
	if v.Activities, _, err = tr.Activities(ctx, wsSid, taskrouter.ActivityFilter{}, taskrouter.Page{Limit: routingPageRows}); err != nil {
		return v, err
	}
	if v.Workflows, _, err = tr.Workflows(ctx, wsSid, "", taskrouter.Page{Limit: routingPageRows}); err != nil {
		return v, err
	}
	v.Channels, err = h.channels(c, wsSid)
	return v, err
}

func (h adminRouting) workspacePage(c *fiber.Ctx) error {
	v, err := h.workspaceView(c)
	if err != nil {
		return err
	}
	return render(c, admin.WorkspacePage(consoleNav(c, "/admin/workspace"), v))
}

// workspaceChanged answers a change on the workspace page.
func (h adminRouting) workspaceChanged(c *fiber.Ctx, err error, msg string) error {
	if err != nil {
		return h.fail(c, err)
	}
	v, err := h.workspaceView(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.WorkspaceContent(v), msg)
}

func (h adminRouting) saveWorkspace(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	p := taskrouter.WorkspaceParams{FriendlyName: routingStr(c.FormValue("friendly_name")),
		EventCallbackURL:   routingStr(strings.TrimSpace(c.FormValue("event_callback_url"))),
		DefaultActivitySid: routingStr(c.FormValue("default_activity_sid")), TimeoutActivitySid: routingStr(c.FormValue("timeout_activity_sid"))}
	_, err = h.d.TaskRouter.UpdateWorkspace(c.UserContext(), wsSid, p)
	return h.workspaceChanged(c, err, "Workspace settings saved.")
}

func (h adminRouting) createActivity(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	name := strings.TrimSpace(c.FormValue("friendly_name"))
	_, err = h.d.TaskRouter.CreateActivity(c.UserContext(), wsSid,
		taskrouter.ActivityParams{FriendlyName: &name, Available: routingBool(c.FormValue("available") == "true")})
	return h.workspaceChanged(c, err, "Activity "+name+" added.")
}

func (h adminRouting) renameActivity(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	name := strings.TrimSpace(c.FormValue("friendly_name"))
	_, err = h.d.TaskRouter.UpdateActivity(c.UserContext(), wsSid, c.Params("Sid"), taskrouter.ActivityParams{FriendlyName: &name})
	return h.workspaceChanged(c, err, "Activity renamed to "+name+".")
}

func (h adminRouting) deleteActivity(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	err = h.d.TaskRouter.DeleteActivity(c.UserContext(), wsSid, c.Params("Sid"))
	return h.workspaceChanged(c, err, "Activity deleted.")
}

// --- task channels ---

func (h adminRouting) channelsView(c *fiber.Ctx) (admin.ChannelsView, error) {
	wsSid, err := h.workspace(c)
	if err != nil {
		return admin.ChannelsView{}, err
	}
	tcs, err := h.channels(c, wsSid)
	return admin.ChannelsView{Channels: tcs}, err
}

func (h adminRouting) channelsPage(c *fiber.Ctx) error {
	v, err := h.channelsView(c)
	if err != nil {
		return err
	}
	return render(c, admin.ChannelsPage(consoleNav(c, "/admin/channels"), v))
}

func (h adminRouting) channelsChanged(c *fiber.Ctx, err error, msg string) error {
	if err != nil {
		return h.fail(c, err)
	}
	v, err := h.channelsView(c)
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.ChannelsContent(v), msg)
}

func (h adminRouting) createChannel(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	unique := strings.TrimSpace(c.FormValue("unique_name"))
	_, err = h.d.TaskRouter.CreateTaskChannel(c.UserContext(), wsSid, taskrouter.TaskChannelParams{
		FriendlyName: routingStr(strings.TrimSpace(c.FormValue("friendly_name"))), UniqueName: &unique})
	return h.channelsChanged(c, err, "Task channel "+unique+" added.")
}

func (h adminRouting) saveChannel(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	s := taskrouter.TaskChannelSettings{FriendlyName: routingStr(strings.TrimSpace(c.FormValue("friendly_name")))}
	for _, f := range []struct {
		dst          *int
		field, label string
	}{
		{&s.DefaultCapacity, "default_capacity", "Default capacity"},
		{&s.ServiceLevelSeconds, "service_level_seconds", "Service level"},
		{&s.ShortAbandonSeconds, "short_abandon_seconds", "Short abandon"},
	} {
		if *f.dst, err = h.formInt(c, f.field, f.label); err != nil {
			return h.fail(c, err)
		}
	}
	tc, err := h.d.TaskRouter.UpdateTaskChannelSettings(c.UserContext(), wsSid, c.Params("Sid"), s)
	return h.channelsChanged(c, err, "Task channel "+tc.UniqueName+" saved.")
}

func (h adminRouting) deleteChannel(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	err = h.d.TaskRouter.DeleteTaskChannel(c.UserContext(), wsSid, c.Params("Sid"))
	return h.channelsChanged(c, err, "Task channel deleted.")
}

// --- queues ---

func (h adminRouting) queuesView(c *fiber.Ctx, form admin.QueueForm) (admin.QueuesView, error) {
	wsSid, err := h.workspace(c)
	if err != nil {
		return admin.QueuesView{}, err
	}
	qs, _, err := h.d.TaskRouter.TaskQueues(c.UserContext(), wsSid, taskrouter.TaskQueueFilter{}, taskrouter.Page{Limit: routingPageRows})
	if err != nil {
		return admin.QueuesView{}, err
	}
	check, err := h.targetCheck(c, wsSid, form.TargetWorkers)
	return admin.QueuesView{Queues: qs, Form: form, Check: check}, err
}

// newRoutingQueueForm is the form for a new queue: everyone, FIFO, one offer at a time.
func newRoutingQueueForm() admin.QueueForm {
	return admin.QueueForm{TargetWorkers: taskrouter.DefaultTargetWorkers, TaskOrder: "FIFO", MaxReservedWorkers: 1}
}

func (h adminRouting) queuesPage(c *fiber.Ctx) error {
	form := newRoutingQueueForm()
	if sid := c.Query("edit"); sid != "" {
		wsSid, err := h.workspace(c)
		if err != nil {
			return err
		}
		q, err := h.d.TaskRouter.TaskQueue(c.UserContext(), wsSid, sid)
		if err != nil {
			return err
		}
		form = admin.QueueForm{Sid: q.Sid, FriendlyName: q.FriendlyName, TargetWorkers: q.TargetWorkers, TaskOrder: q.TaskOrder,
			MaxReservedWorkers: q.MaxReservedWorkers}
	}
	v, err := h.queuesView(c, form)
	if err != nil {
		return err
	}
	return render(c, admin.QueuesPage(consoleNav(c, "/admin/queues"), v))
}

// targetCheck is what an expression selects now, or its mistake.
func (h adminRouting) targetCheck(c *fiber.Ctx, wsSid, expression string) (admin.TargetCheck, error) {
	tp, err := h.d.TaskRouter.PreviewTargetWorkers(c.UserContext(), wsSid, expression)
	if errs.KindOf(err) == errs.Invalid {
		return admin.TargetCheck{Error: errs.As(err).Message}, nil
	}
	if err != nil {
		return admin.TargetCheck{}, err
	}
	out := admin.TargetCheck{Total: tp.Total}
	for _, w := range tp.Workers {
		out.Selected = append(out.Selected, admin.WorkerName(w))
	}
	return out, nil
}

func (h adminRouting) validateTarget(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	check, err := h.targetCheck(c, wsSid, c.FormValue("target_workers"))
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, admin.TargetCheckView(check))
}

func (h adminRouting) saveQueue(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	maxReserved, err := h.formInt(c, "max_reserved_workers", "Max reserved workers")
	if err != nil {
		return h.fail(c, err)
	}
	name := strings.TrimSpace(c.FormValue("friendly_name"))
	p := taskrouter.TaskQueueParams{FriendlyName: &name, TargetWorkers: routingStr(strings.TrimSpace(c.FormValue("target_workers"))),
		MaxReservedWorkers: &maxReserved, TaskOrder: routingStr(c.FormValue("task_order"))}
	var q taskrouter.TaskQueue
	if sid := c.Params("Sid"); sid != "" {
		q, err = h.d.TaskRouter.UpdateTaskQueue(c.UserContext(), wsSid, sid, p)
	} else {
		q, err = h.d.TaskRouter.CreateTaskQueue(c.UserContext(), wsSid, p)
	}
	if err != nil {
		return h.fail(c, err)
	}
	v, err := h.queuesView(c, admin.QueueForm{Sid: q.Sid, FriendlyName: q.FriendlyName, TargetWorkers: q.TargetWorkers,
		TaskOrder: q.TaskOrder, MaxReservedWorkers: q.MaxReservedWorkers})
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.QueuesContent(v), "Queue "+q.FriendlyName+" saved.")
}

func (h adminRouting) deleteQueue(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.TaskRouter.DeleteTaskQueue(c.UserContext(), wsSid, c.Params("Sid")); err != nil {
		return h.fail(c, err)
	}
	v, err := h.queuesView(c, newRoutingQueueForm())
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.QueuesContent(v), "Queue deleted.")
}

// --- workflows ---

func (h adminRouting) workflowsView(c *fiber.Ctx, form admin.WorkflowForm) (admin.WorkflowsView, error) {
	ctx, tr := c.UserContext(), h.d.TaskRouter
	wsSid, err := h.workspace(c)
	if err != nil {
		return admin.WorkflowsView{}, err
	}
	v := admin.WorkflowsView{Form: form}
	if v.Workflows, _, err = tr.Workflows(ctx, wsSid, "", taskrouter.Page{Limit: routingPageRows}); err != nil {
		return v, err
	}
	if v.Queues, _, err = tr.TaskQueues(ctx, wsSid, taskrouter.TaskQueueFilter{}, taskrouter.Page{Limit: routingPageRows}); err != nil {
		return v, err
	}
	if v.Channels, err = h.channels(c, wsSid); err != nil {
		return v, err
	}
	if v.Form.Configuration == "" && len(v.Queues) > 0 {
		v.Form.Configuration = indentWorkflowJSON(`{"task_routing":{"filters":[],"default_filter":{"queue":"` + v.Queues[0].Sid + `"}}}`)
	}
	v.ConfigError, err = h.configProblem(c, wsSid, v.Form.Configuration)
	return v, err
}

// indentWorkflowJSON lays a document out for the editor; one that does not parse
// is left as it is.
func indentWorkflowJSON(doc string) string {
	var b bytes.Buffer
	if json.Indent(&b, []byte(doc), "", "  ") != nil {
		return doc
	}
	return b.String()
}

// configProblem is why a configuration does not compile, "" when it does.
func (h adminRouting) configProblem(c *fiber.Ctx, wsSid, configuration string) (string, error) {
	err := h.d.TaskRouter.CheckWorkflowConfiguration(c.UserContext(), wsSid, configuration)
	if errs.KindOf(err) == errs.Invalid {
		return errs.As(err).Message, nil
	}
	return "", err
}

func workflowFormOf(wf taskrouter.Workflow) admin.WorkflowForm {
	return admin.WorkflowForm{Sid: wf.Sid, FriendlyName: wf.FriendlyName, Configuration: indentWorkflowJSON(wf.Configuration),
		TaskReservationTimeout: wf.TaskReservationTimeout}
}

func (h adminRouting) workflowsPage(c *fiber.Ctx) error {
	form := admin.WorkflowForm{TaskReservationTimeout: taskrouter.DefaultTaskReservationTimeout}
	if sid := c.Query("edit"); sid != "" {
		wsSid, err := h.workspace(c)
		if err != nil {
			return err
		}
		wf, err := h.d.TaskRouter.Workflow(c.UserContext(), wsSid, sid)
		if err != nil {
			return err
		}
		form = workflowFormOf(wf)
	}
	v, err := h.workflowsView(c, form)
	if err != nil {
		return err
	}
	return render(c, admin.WorkflowsPage(consoleNav(c, "/admin/workflows"), v))
}

func (h adminRouting) validateWorkflow(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	problem, err := h.configProblem(c, wsSid, c.FormValue("configuration"))
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, admin.ConfigCheck(problem))
}

func (h adminRouting) previewWorkflow(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	timeout, _ := strconv.Atoi(strings.TrimSpace(c.FormValue("task_reservation_timeout"))) // 0: the default
	pv, err := h.d.TaskRouter.PreviewWorkflow(c.UserContext(), wsSid, c.FormValue("configuration"), c.FormValue("attributes"),
		c.FormValue("task_channel"), timeout)
	if errs.KindOf(err) == errs.Invalid {
		return render(c, admin.Preview(admin.PreviewView{Error: errs.As(err).Message}))
	}
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, admin.Preview(admin.PreviewView{Preview: pv}))
}

func (h adminRouting) saveWorkflow(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	timeout, err := h.formInt(c, "task_reservation_timeout", "Reservation timeout")
	if err != nil {
		return h.fail(c, err)
	}
	name := strings.TrimSpace(c.FormValue("friendly_name"))
	p := taskrouter.WorkflowParams{FriendlyName: &name, Configuration: routingStr(c.FormValue("configuration")), TaskReservationTimeout: &timeout}
	var wf taskrouter.Workflow
	if sid := c.Params("Sid"); sid != "" {
		wf, err = h.d.TaskRouter.UpdateWorkflow(c.UserContext(), wsSid, sid, p)
	} else {
		wf, err = h.d.TaskRouter.CreateWorkflow(c.UserContext(), wsSid, p)
	}
	if err != nil {
		return h.fail(c, err)
	}
	v, err := h.workflowsView(c, workflowFormOf(wf))
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.WorkflowsContent(v), "Workflow "+wf.FriendlyName+" saved.")
}

func (h adminRouting) deleteWorkflow(c *fiber.Ctx) error {
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	if err := h.d.TaskRouter.DeleteWorkflow(c.UserContext(), wsSid, c.Params("Sid")); err != nil {
		return h.fail(c, err)
	}
	v, err := h.workflowsView(c, admin.WorkflowForm{TaskReservationTimeout: taskrouter.DefaultTaskReservationTimeout})
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.WorkflowsContent(v), "Workflow deleted.")
}

// --- users ---

func (h adminRouting) usersView(c *fiber.Ctx, edit string) (admin.UsersView, error) {
	ctx, tr := c.UserContext(), h.d.TaskRouter
	wsSid, err := h.workspace(c)
	if err != nil {
		return admin.UsersView{}, err
	}
	v := admin.UsersView{Self: staffOf(c).Sid}
	members, err := h.d.Staff.Members(ctx)
	if err != nil {
		return v, err
	}
	if v.Channels, err = h.channels(c, wsSid); err != nil {
		return v, err
	}
	channelName := map[string]string{}
	for _, tc := range v.Channels {
		channelName[tc.Sid] = tc.UniqueName
	}
	acts, _, err := tr.Activities(ctx, wsSid, taskrouter.ActivityFilter{}, taskrouter.Page{Limit: routingPageRows})
	if err != nil {
		return v, err
	}
	for _, m := range members {
		row := admin.UserRow{Member: m}
		if m.WorkerSid != "" && m.WorkspaceSid == wsSid {
			w, err := tr.Worker(ctx, wsSid, m.WorkerSid)
			if err != nil && errs.KindOf(err) != errs.NotFound {
				return v, err
			}
			if err == nil {
				row.Worker = &w
				row.Profile = taskrouter.ProfileOf(w.Attributes)
				row.Profile.Capacity = map[string]int{}
				wcs, _, err := tr.WorkerChannels(ctx, wsSid, w.Sid, taskrouter.Page{Limit: routingPageRows})
				if err != nil {
					return v, err
				}
				for _, wc := range wcs {
					row.Profile.Capacity[channelName[wc.TaskChannelSid]] = wc.Capacity
				}
				if i := slices.IndexFunc(acts, func(a taskrouter.Activity) bool { return a.Sid == w.ActivitySid }); i >= 0 {
					row.Activity = acts[i].FriendlyName
				}
			}
		}
		v.Users = append(v.Users, row)
		if m.Sid == edit {
			v.Edit = &v.Users[len(v.Users)-1]
		}
	}
	if edit != "" && v.Edit == nil {
		return v, errs.NotFoundf("There is no member of staff %s", edit)
	}
	if v.Edit != nil { // the slice may have moved since
		i := slices.IndexFunc(v.Users, func(u admin.UserRow) bool { return u.Member.Sid == edit })
		v.Edit = &v.Users[i]
	}
	return v, nil
}

func (h adminRouting) usersPage(c *fiber.Ctx) error {
	v, err := h.usersView(c, c.Query("edit"))
	if err != nil {
		return err
	}
	return render(c, admin.UsersPage(consoleNav(c, "/admin/users"), v))
}

// parseSkillLevels reads "sales=3, support=5".
func parseSkillLevels(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		skill, level, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(level))
		if !ok || err != nil || strings.TrimSpace(skill) == "" {
			return nil, errs.Invalidf("Levels: write skill=level, such as sales=3, not %q", part)
		}
		out[strings.TrimSpace(skill)] = n
	}
	return out, nil
}

// saveUser saves a member of staff's roles (local users only) and their
// worker's routing profile. Everything is checked before anything is
// saved, so bad input changes nothing.
func (h adminRouting) saveUser(c *fiber.Ctx) error {
	ctx := c.UserContext()
	wsSid, err := h.workspace(c)
	if err != nil {
		return h.fail(c, err)
	}
	m, err := h.d.Staff.Member(ctx, c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	hasWorker := m.WorkerSid != "" && m.WorkspaceSid == wsSid
	var profile taskrouter.WorkerProfile
	if hasWorker {
		levels, err := parseSkillLevels(c.FormValue("levels"))
		if err != nil {
			return h.fail(c, err)
		}
		profile = taskrouter.WorkerProfile{Skills: strings.Split(c.FormValue("skills"), ","), Levels: levels,
			Team: c.FormValue("team"), Capacity: map[string]int{}}
		tcs, err := h.channels(c, wsSid)
		if err != nil {
			return h.fail(c, err)
		}
		for _, tc := range tcs {
			field := "capacity_" + tc.UniqueName
			if strings.TrimSpace(c.FormValue(field)) == "" {
				continue
			}
			if profile.Capacity[tc.UniqueName], err = h.formInt(c, field, "Capacity on "+tc.UniqueName); err != nil {
				return h.fail(c, err)
			}
		}
		if err := profile.Normalize(); err != nil {
			return h.fail(c, err)
		}
	}
	if m.RolesEditable() {
		var roles []string
		for _, r := range c.Request().PostArgs().PeekMulti("roles") {
			roles = append(roles, string(r))
		}
		if !slices.Equal(roles, m.Roles) {
			if _, err := h.d.Staff.SetRoles(ctx, staffOf(c), m.Sid, roles); err != nil {
				return h.fail(c, err)
			}
		}
	}
	if hasWorker {
		if _, err := h.d.TaskRouter.UpdateWorkerProfile(ctx, wsSid, m.WorkerSid, profile); err != nil {
			return h.fail(c, err)
		}
	}
	v, err := h.usersView(c, m.Sid)
	if err != nil {
		return h.fail(c, err)
	}
	return h.done(c, admin.UsersContent(v), m.Name+" saved.")
}

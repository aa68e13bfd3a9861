package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
)

// TaskRouter lists page 50 rows by default and up to 1000.
const (
	trPageSize    = 50
	trMaxPageSize = 1000
)

// localWorkspace is the Locals key of the path's workspace SID.
const localWorkspace = "workspace"

// inWorkspace registers routes under /v1/Workspaces/{WS}, each behind
// withWorkspace.
type inWorkspace struct {
	g fiber.Router
	a *restAPI
}

func (w inWorkspace) get(path string, h fiber.Handler)  { w.g.Get(path, w.a.withWorkspace, h) }
func (w inWorkspace) post(path string, h fiber.Handler) { w.g.Post(path, w.a.withWorkspace, h) }
func (w inWorkspace) del(path string, h fiber.Handler)  { w.g.Delete(path, w.a.withWorkspace, h) }

// addTaskRouterRoutes mounts TaskRouter v1 under /v1/Workspaces.
func (a *restAPI) addTaskRouterRoutes(v1 fiber.Router) {
	v1.Post("/Workspaces", a.createWorkspace)
	v1.Get("/Workspaces", a.listWorkspaces)
	w := inWorkspace{g: v1.Group("/Workspaces/:Workspace"), a: a}
	w.get("", a.fetchWorkspace)
	w.post("", a.updateWorkspace)
	w.del("", a.deleteWorkspace)

	w.post("/Activities", a.createActivity)
	w.get("/Activities", a.listActivities)
	w.get("/Activities/:Sid", a.fetchActivity)
	w.post("/Activities/:Sid", a.updateActivity)
	w.del("/Activities/:Sid", a.deleteActivity)

	w.post("/TaskChannels", a.createTaskChannel)
	w.get("/TaskChannels", a.listTaskChannels)
	w.get("/TaskChannels/:Sid", a.fetchTaskChannel)
	w.post("/TaskChannels/:Sid", a.updateTaskChannel)
	w.del("/TaskChannels/:Sid", a.deleteTaskChannel)

	w.post("/Workers", a.createWorker)
	w.get("/Workers", a.listWorkers)
	w.get("/Workers/:Worker", a.fetchWorker)
	w.post("/Workers/:Worker", a.updateWorker)
	w.del("/Workers/:Worker", a.deleteWorker)
	w.get("/Workers/:Worker/Channels", a.listWorkerChannels)
	w.get("/Workers/:Worker/Channels/:Sid", a.fetchWorkerChannel)
	w.post("/Workers/:Worker/Channels/:Sid", a.updateWorkerChannel)
	w.get("/Workers/:Worker/Reservations", a.listReservations)
	w.get("/Workers/:Worker/Reservations/:Sid", a.fetchReservation)
	w.post("/Workers/:Worker/Reservations/:Sid", a.updateReservation)

	w.post("/TaskQueues", a.createTaskQueue)
	w.get("/TaskQueues", a.listTaskQueues)
	w.get("/TaskQueues/:Sid", a.fetchTaskQueue)
	w.post("/TaskQueues/:Sid", a.updateTaskQueue)
	w.del("/TaskQueues/:Sid", a.deleteTaskQueue)

	w.post("/Workflows", a.createWorkflow)
	w.get("/Workflows", a.listWorkflows)
	w.get("/Workflows/:Sid", a.fetchWorkflow)
	w.post("/Workflows/:Sid", a.updateWorkflow)
	w.del("/Workflows/:Sid", a.deleteWorkflow)

	w.post("/Tasks", a.createTask)
	w.get("/Tasks", a.listTasks)
	w.get("/Tasks/:Task", a.fetchTask)
	w.post("/Tasks/:Task", a.updateTask)
	w.del("/Tasks/:Task", a.deleteTask)
	w.get("/Tasks/:Task/Reservations", a.listReservations)
	w.get("/Tasks/:Task/Reservations/:Sid", a.fetchReservation)
	w.post("/Tasks/:Task/Reservations/:Sid", a.updateReservation)
}

// withWorkspace resolves the path's workspace, so that everything under an
// unknown one is not found.
func (a *restAPI) withWorkspace(c *fiber.Ctx) error {
	ws, err := a.tr.Workspace(c.UserContext(), param(c, "Workspace"))
	if err != nil {
		return err
	}
	c.Locals(localWorkspace, ws.Sid)
	return c.Next()
}

func workspaceOf(c *fiber.Ctx) string { return c.Locals(localWorkspace).(string) }

// workspaceURL is the absolute URL of a workspace, or of a path inside it.
func (a *restAPI) workspaceURL(c *fiber.Ctx, workspaceSid, path string) string {
	return a.base(c) + "/v1/Workspaces/" + workspaceSid + path
}

// trURL is the absolute URL of a path inside the request's workspace.
func (a *restAPI) trURL(c *fiber.Ctx, path string) string {
	return a.workspaceURL(c, workspaceOf(c), path)
}

// trPage reads TaskRouter's paging parameters.
func trPage(c *fiber.Ctx) (pageRequest, taskrouter.Page, error) {
	pg, err := pageParams(c, trPageSize, trMaxPageSize)
	return pg, taskrouter.Page{Offset: pg.Offset, Limit: pg.Limit}, err
}

// renderer turns rows into their JSON, loading what they show beside them
// (names of related resources) in one go.
type renderer[T, J any] func(c *fiber.Ctx, rows []T) ([]J, error)

// renderOne writes one resource with the given status.
func renderOne[T, J any](c *fiber.Ctx, status int, v T, render renderer[T, J]) error {
	out, err := render(c, []T{v})
	if err != nil {
		return err
	}
	return c.Status(status).JSON(out[0])
}

// renderPage writes a page of resources under key, with its paging envelope.
func renderPage[T, J any](c *fiber.Ctx, listURL, key string, pg pageRequest, rows []T, more bool, render renderer[T, J]) error {
	out, err := render(c, rows)
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{key: out, "meta": meta(c, listURL, key, pg, more)})
}

// mapRows is a renderer for resources that show nothing beside their own fields.
func mapRows[T, J any](one func(*fiber.Ctx, T) J) renderer[T, J] {
	return func(c *fiber.Ctx, rows []T) ([]J, error) {
		out := make([]J, len(rows))
		for i, v := range rows {
			out[i] = one(c, v)
		}
		return out, nil
	}
}

// labeled is a renderer for resources that show the names of related
// resources: sids lists the SIDs a row needs named.
func labeled[T, J any](a *restAPI, sids func(T) []string, one func(*fiber.Ctx, T, taskrouter.Labels) J) renderer[T, J] {
	return func(c *fiber.Ctx, rows []T) ([]J, error) {
		var all []string
		for _, v := range rows {
			all = append(all, sids(v)...)
		}
		out := make([]J, len(rows))
		if len(rows) == 0 {
			return out, nil
		}
		labels, err := a.tr.Labels(c.UserContext(), all...)
		if err != nil {
			return nil, err
		}
		for i, v := range rows {
			out[i] = one(c, v, labels)
		}
		return out, nil
	}
}

// labelOf is the name of a SID, or null when there is none to show.
func labelOf(labels taskrouter.Labels, sid string) *string {
	if name, ok := labels[sid]; ok {
		return &name
	}
	return nil
}

// optional reads a parameter whose absence and emptiness mean the same: "".
func optional(f form, name string) string {
	if s := f.str(name); s != nil {
		return *s
	}
	return ""
}

// intParam reads an integer parameter that fits an int.
func intParam(f form, name string) (*int, error) {
	n, err := f.integer(name)
	if n == nil || err != nil {
		return nil, err
	}
	v := int(*n)
	return &v, nil
}

func noContent(c *fiber.Ctx, err error) error {
	if err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

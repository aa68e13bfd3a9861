package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/url"
	"strconv"
	"time"

	"github.com/fasthttp/websocket"
	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/supervise"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/views/console"
	"github.com/switchboardhq/switchboard/views/supervisor"
)

// supervisorViews serves the supervisor's live views, Real-Time Queues and
// Teams, their actions and their socket.
// Everything is of the signed-in supervisor's own workspace.
type supervisorViews struct {
	sup  *supervise.Service
	hub  *realtime.Hub
	log  *slog.Logger
	done <-chan struct{}
}

// addSupervisorRoutes mounts the real-time queues and teams views and their socket.
func addSupervisorRoutes(g fiber.Router, d Deps) {
	if d.Supervise == nil || d.Hub == nil {
		return
	}
	h := &supervisorViews{sup: d.Supervise, hub: d.Hub, log: d.Log, done: d.Done}
	g.Get("/", func(c *fiber.Ctx) error { return c.Redirect("/supervisor/queues", fiber.StatusFound) })
	g.Get("/queues", h.queues)
	g.Get("/teams", h.teams)
	g.Post("/teams/:Worker/activity", h.setActivity)
	g.Post("/teams/:Worker/channels/:Channel", h.setCapacity)
	g.Use("/ws", h.upgrade)
	g.Get("/ws", fiberws.New(h.socket, fiberws.Config{ReadBufferSize: 1024, WriteBufferSize: 16384}))
}

// queueFilter reads the queues view's filter and sort from a query.
func queueFilter(q func(string, ...string) string) supervise.QueueFilter {
	return supervise.QueueFilter{Channel: q("channel"), Queue: q("queue"), Sort: q("sort"), Desc: q("dir") == "desc"}
}

// teamFilter reads the teams view's filter from a query.
func teamFilter(q func(string, ...string) string) supervise.TeamFilter {
	return supervise.TeamFilter{Activity: q("activity"), Team: q("team"), Skill: q("skill")}
}

// queues is the Real-Time Queues page. A filter the workspace cannot
// answer (a channel it lacks, an unknown column) shows every queue, with
// why, and status 400.
func (h *supervisorViews) queues(c *fiber.Ctx) error {
	ctx, ws := c.UserContext(), staffOf(c).WorkspaceSid
	v, err := h.sup.Queues(ctx, ws, queueFilter(c.Query))
	notice := ""
	if errs.KindOf(err) == errs.Invalid {
		notice = errs.As(err).Message
		c.Status(fiber.StatusBadRequest)
		v, err = h.sup.Queues(ctx, ws, supervise.QueueFilter{})
	}
	if err != nil {
		return err
	}
	return render(c, supervisor.QueuesPage(consoleNav(c, "/supervisor/queues"), v, notice))
}

// teams is the Teams page; a filter naming an activity the workspace lacks
// shows everyone, with why, and status 400.
func (h *supervisorViews) teams(c *fiber.Ctx) error {
	ctx, ws := c.UserContext(), staffOf(c).WorkspaceSid
	v, err := h.sup.Team(ctx, ws, teamFilter(c.Query))
	notice := ""
	if errs.KindOf(err) == errs.Invalid {
		notice = errs.As(err).Message
		c.Status(fiber.StatusBadRequest)
		v, err = h.sup.Team(ctx, ws, supervise.TeamFilter{})
	}
	if err != nil {
		return err
	}
	return render(c, supervisor.TeamsPage(consoleNav(c, "/supervisor/teams"), v, notice))
}

// setActivity moves an agent to another activity and answers with their
// line; the agent's desktop hears of it live, as from their own selector.
func (h *supervisorViews) setActivity(c *fiber.Ctx) error {
	ctx, ws, wk := c.UserContext(), staffOf(c).WorkspaceSid, c.Params("Worker")
	if err := h.sup.SetAgentActivity(ctx, ws, wk, c.FormValue("activity")); err != nil {
		return consoleFail(c, h.log, err)
	}
	return h.memberRow(c, wk, func(m supervise.Member) string { return m.Name + " is now " + m.Activity.Name + "." })
}

// setCapacity sets an agent's capacity on a task channel and answers with
// their line.
func (h *supervisorViews) setCapacity(c *fiber.Ctx) error {
	ctx, ws, wk := c.UserContext(), staffOf(c).WorkspaceSid, c.Params("Worker")
	channel, err := url.PathUnescape(c.Params("Channel"))
	if err != nil {
		return consoleFail(c, h.log, errs.Invalidf("That task channel name is not valid"))
	}
	if err := h.sup.SetAgentCapacity(ctx, ws, wk, channel, c.FormValue("capacity")); err != nil {
		return consoleFail(c, h.log, err)
	}
	return h.memberRow(c, wk, func(m supervise.Member) string {
		for _, l := range m.Capacity {
			if l.Channel == channel {
				return m.Name + " can now take " + strconv.Itoa(l.Of) + " " + l.Label + " at once."
			}
		}
		return m.Name + "'s capacity was changed."
	})
}

// memberRow answers an action with the agent's line and a notice of what
// happened.
func (h *supervisorViews) memberRow(c *fiber.Ctx, workerSid string, done func(supervise.Member) string) error {
	v, err := h.sup.Member(c.UserContext(), staffOf(c).WorkspaceSid, workerSid)
	if err != nil {
		return consoleFail(c, h.log, err)
	}
	if err := render(c, supervisor.MemberRow(v.Member, v.Activities, v.Now)); err != nil {
		return err
	}
	return console.Done(done(v.Member)).Render(c.UserContext(), c.Response().BodyWriter())
}

// keySupWorkspace carries the supervisor's workspace into the socket
// (string keys are what the socket's Locals copy).
const keySupWorkspace = "supervisor.workspace"

// upgrade admits the view's WebSocket; requireStaff checked the session,
// the role and that the page is ours.
func (h *supervisorViews) upgrade(c *fiber.Ctx) error {
	if !fiberws.IsWebSocketUpgrade(c) {
		return errs.E(errs.Invalid, errs.CodeInvalidParam, "/supervisor/ws is the live views' WebSocket")
	}
	c.Locals(keySupWorkspace, staffOf(c).WorkspaceSid)
	return c.Next()
}

// The live views' socket timings: a push at most every supCoalesce however
// many events arrive, and at least every supRefresh, so that the figures
// of a moving window (the last 30 minutes) stay true when nothing happens.
const (
	supCoalesce = 300 * time.Millisecond
	supRefresh  = 30 * time.Second
)

// supConn is one open live view. Two goroutines serve it, as the
// desktop's: the handler's, which renders and writes, and a reader that
// only decodes the page's frames.
type supConn struct {
	h      *supervisorViews
	ws     *fiberws.Conn
	ctx    context.Context
	hub    *realtime.Conn
	render func(ctx context.Context) ([]byte, error)
	in     chan string
	window *readWindow
}

// socket pushes the view's board out of band: whole on every (re)connect,
// then after TaskRouter events of the workspace (bursts coalesced) and
// every supRefresh. The page's query (view=queues|teams and its filter
// and sort) says which board.
func (h *supervisorViews) socket(ws *fiberws.Conn) {
	workspace, _ := ws.Locals(keySupWorkspace).(string)
	if workspace == "" {
		_ = ws.Close()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sc := &supConn{h: h, ws: ws, ctx: ctx, in: make(chan string, 4)}
	query := func(key string, _ ...string) string { return ws.Query(key) }
	switch ws.Query("view") {
	case "queues":
		f := queueFilter(query)
		sc.render = func(ctx context.Context) ([]byte, error) {
			v, err := h.sup.Queues(ctx, workspace, f)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			err = supervisor.QueuesBoard(v, true).Render(ctx, &buf)
			return buf.Bytes(), err
		}
	case "teams":
		f := teamFilter(query)
		sc.render = func(ctx context.Context) ([]byte, error) {
			v, err := h.sup.Team(ctx, workspace, f)
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			err = supervisor.TeamsBoard(v, true).Render(ctx, &buf)
			return buf.Bytes(), err
		}
	default:
		_ = sc.close(websocket.ClosePolicyViolation, "view must be queues or teams")
		return
	}
	ws.SetReadLimit(deskMaxFrame)
	sc.window = newReadWindow(ws, deskSilenceLimit)
	go sc.read()
	defer func() {
		// Unblock and end the reader: it may wait on a silent page.
		sc.window.end()
		for range sc.in {
		}
	}()
	sc.hub = h.hub.Connect()
	defer sc.hub.Close()
	// Events first, so none falls between the first board and them.
	sc.hub.Subscribe(realtime.WorkspaceTopic(workspace))
	if err := sc.push(); err != nil {
		return
	}
	_ = sc.loop()
}

// read forwards the page's frames until the socket fails or closes. The
// page sends one kind: "refresh", when it skipped a push while the
// supervisor was editing.
func (sc *supConn) read() {
	defer close(sc.in)
	for {
		kind, data, err := sc.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = sc.window.extend()
		var f struct {
			Type string `json:"type"`
		}
		if kind != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Type != "refresh" {
			continue
		}
		select {
		case sc.in <- f.Type:
		case <-sc.ctx.Done():
			return
		}
	}
}

// loop serves the socket until it ends: events (coalesced), the refresh
// tick, the page's frames, pings and shutdown, one at a time.
func (sc *supConn) loop() error {
	ping := time.NewTicker(deskPingEvery)
	defer ping.Stop()
	refresh := time.NewTicker(supRefresh)
	defer refresh.Stop()
	// due fires once after the first event of a burst; nil while none waits.
	var due <-chan time.Time
	lastPush := time.Now()
	for {
		var err error
		select {
		case _, ok := <-sc.in:
			if !ok {
				return errClosed
			}
			err = sc.push()
		case <-sc.hub.Events():
			if due == nil {
				due = time.After(max(0, supCoalesce-time.Since(lastPush)))
			}
		case <-due:
			due, lastPush = nil, time.Now()
			err = sc.push()
		case <-refresh.C:
			err = sc.push()
		case <-sc.hub.CutOff():
			// 1013 is a code htmx-ext-ws reconnects on; the new socket
			// sends everything again.
			return sc.close(websocket.CloseTryAgainLater, "too far behind: reconnect")
		case <-ping.C:
			err = sc.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(deskWriteWait))
		case <-sc.h.done:
			// 1012 (service restart) too: the page reconnects to the next server.
			return sc.close(websocket.CloseServiceRestart, "the server is restarting")
		}
		if err != nil {
			return err
		}
	}
}

// push renders the board and sends it. A board that cannot be computed
// is logged; the socket stays and tries again on the next event.
func (sc *supConn) push() error {
	b, err := sc.render(sc.ctx)
	if err != nil {
		if errs.KindOf(err) == errs.Invalid {
			return sc.close(websocket.ClosePolicyViolation, errs.As(err).Message)
		}
		sc.h.log.Error("supervisor view", "err", err)
		return nil
	}
	_ = sc.ws.SetWriteDeadline(time.Now().Add(deskWriteWait))
	return sc.ws.WriteMessage(websocket.TextMessage, b)
}

// close sends a closing frame and reports errClosed.
func (sc *supConn) close(code int, reason string) error {
	_ = sc.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(deskWriteWait))
	return errClosed
}

package web

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/fasthttp/websocket"
	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/supervise"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/views/console"
	"github.com/switchboardhq/switchboard/views/desktop"
	"github.com/switchboardhq/switchboard/views/monitor"
)

// monitorPages serves live monitoring under /supervisor/monitor: the list
// of live conversations, one conversation watched read-only and live over
// its socket, joining it, writing, leaving, and reassigning its task. The
// service answers not found for a conversation without a task in the
// supervisor's workspace.
type monitorPages struct {
	sup  *supervise.Service
	hub  *realtime.Hub
	log  *slog.Logger
	done <-chan struct{}
}

// addMonitorRoutes mounts live monitoring, join and reassign.
func addMonitorRoutes(g fiber.Router, d Deps) {
	if d.Supervise == nil || d.Hub == nil {
		return
	}
	h := &monitorPages{sup: d.Supervise, hub: d.Hub, log: d.Log, done: d.Done}
	m := g.Group("/monitor", h.supervisorOnly)
	m.Get("/", h.list)
	m.Use("/ws", h.upgrade)
	m.Get("/ws", fiberws.New(h.listSocket, fiberws.Config{ReadBufferSize: 1024, WriteBufferSize: 16384}))
	m.Get("/:Sid", h.page)
	m.Get("/:Sid/older", h.older)
	m.Post("/:Sid/join", h.join)
	m.Post("/:Sid/leave", h.leave)
	m.Post("/:Sid/messages", h.send)
	m.Post("/:Sid/reassign", h.reassign)
	m.Use("/:Sid/ws", h.upgrade)
	m.Get("/:Sid/ws", fiberws.New(h.socket, fiberws.Config{ReadBufferSize: 4096, WriteBufferSize: 16384}))
}

// keyMonSupervisor carries the signed-in supervisor into handlers and sockets.
const keyMonSupervisor = "monitor.supervisor"

// supervisorOnly resolves the member of staff to their workspace: without
// one there is nothing to monitor.
func (h *monitorPages) supervisorOnly(c *fiber.Ctx) error {
	s := staffOf(c)
	if s.WorkspaceSid == "" {
		return staffDenied(c, "Your account has no workspace to monitor. Sign out and in again, or ask an administrator.")
	}
	c.Locals(keyMonSupervisor, supervise.Supervisor{WorkspaceSid: s.WorkspaceSid, WorkerSid: s.WorkerSid, Identity: s.Identity, Name: s.Name})
	return c.Next()
}

func monSupervisorOf(c *fiber.Ctx) supervise.Supervisor {
	s, _ := c.Locals(keyMonSupervisor).(supervise.Supervisor)
	return s
}

func monSocketSupervisor(ws *fiberws.Conn) supervise.Supervisor {
	s, _ := ws.Locals(keyMonSupervisor).(supervise.Supervisor)
	return s
}

// monFail answers a failed HTMX request; a conversation not found says so
// without telling whether it exists.
func (h *monitorPages) fail(c *fiber.Ctx, err error) error {
	if errs.KindOf(err) == errs.NotFound {
		err = errs.NotFoundf("That conversation was not found, or has no task in your workspace.")
	}
	return consoleFail(c, h.log, err)
}

func (h *monitorPages) list(c *fiber.Ctx) error {
	rows, err := h.sup.LiveConversations(c.UserContext(), monSupervisorOf(c))
	if err != nil {
		return err
	}
	return render(c, monitor.List(consoleNav(c, monitor.ListPath), rows))
}

func (h *monitorPages) page(c *fiber.Ctx) error {
	ctx, sup, sid := c.UserContext(), monSupervisorOf(c), c.Params("Sid")
	m, err := h.sup.Monitor(ctx, sup, sid)
	if errs.KindOf(err) == errs.NotFound {
		c.Status(fiber.StatusNotFound)
		return render(c, monitor.NotFound(consoleNav(c, monitor.ListPath)))
	}
	if err != nil {
		return err
	}
	choices, err := h.sup.ReassignChoices(ctx, sup, sid)
	if err != nil {
		return err
	}
	return render(c, monitor.Page(monitor.PageProps{Nav: consoleNav(c, monitor.ListPath), Monitor: m, Choices: choices}))
}

func (h *monitorPages) older(c *fiber.Ctx) error {
	before, err := strconv.ParseInt(c.Query("before"), 10, 64)
	if err != nil || before < 0 {
		return h.fail(c, errs.Invalidf("before must be a message index"))
	}
	sid := c.Params("Sid")
	th, err := h.sup.MonitorOlder(c.UserContext(), monSupervisorOf(c), sid, before)
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, monitor.Older(sid, th))
}

// controls answers a join, leave or send with the page's controls as they
// now are, and a notice.
func (h *monitorPages) controls(c *fiber.Ctx, st monitor.ComposerState, done string) error {
	m, err := h.sup.MonitorPanel(c.UserContext(), monSupervisorOf(c), c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	parts := []templ.Component{monitor.Controls(m, st, false)}
	if done != "" {
		parts = append(parts, console.Done(done))
	}
	return renderAll(c, parts...)
}

func (h *monitorPages) join(c *fiber.Ctx) error {
	if err := h.sup.Join(c.UserContext(), monSupervisorOf(c), c.Params("Sid")); err != nil {
		return h.fail(c, err)
	}
	return h.controls(c, monitor.ComposerState{}, "You joined: the customer sees your messages under your name.")
}

func (h *monitorPages) leave(c *fiber.Ctx) error {
	if err := h.sup.Leave(c.UserContext(), monSupervisorOf(c), c.Params("Sid")); err != nil {
		return h.fail(c, err)
	}
	return h.controls(c, monitor.ComposerState{}, "You left the conversation; you are still watching it.")
}

// send writes the supervisor's message; the thread gets it over the socket.
// A refused message keeps its draft in the composer.
func (h *monitorPages) send(c *fiber.Ctx) error {
	body := c.FormValue("body")
	err := h.sup.Send(c.UserContext(), monSupervisorOf(c), c.Params("Sid"), body)
	if k := errs.KindOf(err); err != nil && (k == errs.Invalid || k == errs.Conflict) {
		c.Status(statusOf(k))
		return h.controls(c, monitor.ComposerState{Body: body, Error: errs.As(err).Message}, "")
	}
	if err != nil {
		return h.fail(c, err)
	}
	return h.controls(c, monitor.ComposerState{}, "")
}

// reassign moves the task; the picker comes back with the task's new
// state, or with why it was refused and nothing changed.
func (h *monitorPages) reassign(c *fiber.Ctx) error {
	ctx, sup, sid := c.UserContext(), monSupervisorOf(c), c.Params("Sid")
	f := monitor.ReassignForm{To: strings.TrimSpace(c.FormValue("to")), Note: c.FormValue("note")}
	err := h.sup.Reassign(ctx, sup, sid, f.To, f.Note)
	k := errs.KindOf(err)
	if err != nil && k != errs.Invalid && k != errs.Conflict {
		return h.fail(c, err)
	}
	m, merr := h.sup.MonitorPanel(ctx, sup, sid)
	if merr != nil {
		return h.fail(c, merr)
	}
	choices, cerr := h.sup.ReassignChoices(ctx, sup, sid)
	if cerr != nil {
		return h.fail(c, cerr)
	}
	if err != nil {
		f.Error = errs.As(err).Message
		c.Status(statusOf(k))
		return render(c, monitor.Reassign(m, choices, f))
	}
	return renderAll(c, monitor.Reassign(m, choices, monitor.ReassignForm{}), monitor.Panel(m, true),
		console.Done("Reassigned: "+monTargetName(choices, f.To)+" has it now."))
}

// monTargetName names a reassignment's target from the picker's choices.
func monTargetName(c supervise.ReassignChoices, to string) string {
	for _, a := range c.Agents {
		if a.WorkerSid == to {
			return a.Name
		}
	}
	for _, q := range c.Queues {
		if q.QueueSid == to {
			return "the " + q.Name + " queue"
		}
	}
	return to
}

func renderAll(c *fiber.Ctx, parts ...templ.Component) error {
	for _, p := range parts {
		if err := render(c, p); err != nil {
			return err
		}
	}
	return nil
}

// upgrade admits the pages' WebSockets; requireStaff checked the session
// and that the page is ours.
func (h *monitorPages) upgrade(c *fiber.Ctx) error {
	if !fiberws.IsWebSocketUpgrade(c) {
		return errs.E(errs.Invalid, errs.CodeInvalidParam, "%s is a WebSocket", c.Path())
	}
	return c.Next()
}

// monFrame is what a monitor page sends: "hello" on every (re)connect with
// the last message index it shows.
type monFrame struct {
	Type  string `json:"type"`
	After *int64 `json:"after"`
}

// monConn is one open monitor socket. As the desktop's, two goroutines
// serve it: the handler's, which does the work and every write, and a
// reader that only decodes frames.
type monConn struct {
	h      *monitorPages
	ws     *fiberws.Conn
	ctx    context.Context
	hub    *realtime.Conn
	in     chan monFrame
	window *readWindow
	// on answers a frame or an event with what to write ("" for nothing).
	onFrame func(monFrame) ([]byte, error)
	onEvent func(events.Event) ([]byte, error)
	// refresh, when set, renders the whole view again: an event that sets
	// stale has it pushed at most every supCoalesce, a burst in one push.
	refresh func() ([]byte, error)
	stale   bool
}

// serve runs a socket until it ends; start writes what a new socket gets
// first (nil: nothing).
func (h *monitorPages) serve(ws *fiberws.Conn, mc *monConn, topics []string, start func() ([]byte, error)) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	mc.h, mc.ws, mc.ctx, mc.in = h, ws, ctx, make(chan monFrame, 8)
	ws.SetReadLimit(deskMaxFrame)
	mc.window = newReadWindow(ws, deskSilenceLimit)
	go mc.read()
	defer func() {
		mc.window.end()
		for range mc.in {
		}
	}()
	mc.hub = h.hub.Connect()
	defer mc.hub.Close()
	// Live events first, so none falls between the first render and them.
	for _, t := range topics {
		mc.hub.Subscribe(t)
	}
	if b, err := start(); err != nil {
		h.log.Error("monitor socket", "err", err)
		_ = mc.close(websocket.CloseTryAgainLater, "the monitor could not be loaded")
		return
	} else if mc.write(b) != nil {
		return
	}
	_ = mc.loop()
}

func (mc *monConn) read() {
	defer close(mc.in)
	for {
		kind, data, err := mc.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = mc.window.extend()
		var f monFrame
		if kind != websocket.TextMessage || json.Unmarshal(data, &f) != nil {
			continue // not ours to answer: the page only sends hello
		}
		select {
		case mc.in <- f:
		case <-mc.ctx.Done():
			return
		}
	}
}

func (mc *monConn) loop() error {
	ping := time.NewTicker(deskPingEvery)
	defer ping.Stop()
	var due <-chan time.Time // fires once after the first stale event of a burst
	var lastPush time.Time
	for {
		var b []byte
		var err error
		select {
		case f, ok := <-mc.in:
			if !ok {
				return errClosed
			}
			if mc.onFrame != nil {
				b, err = mc.onFrame(f)
			}
		case ev := <-mc.hub.Events():
			b, err = mc.onEvent(*ev)
			if err != nil {
				// The page catches up on its next reconnect; the socket stays.
				mc.h.log.Error("monitor event", "type", ev.Type, "conversation", ev.ConversationSid, "err", err)
				b, err = nil, nil
			}
			if mc.stale && due == nil {
				due = time.After(max(0, supCoalesce-time.Since(lastPush)))
			}
		case <-due:
			due, lastPush, mc.stale = nil, time.Now(), false
			b, err = mc.refresh()
		case <-mc.hub.CutOff():
			return mc.close(websocket.CloseTryAgainLater, "too far behind: reconnect")
		case <-ping.C:
			err = mc.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(deskWriteWait))
		case <-mc.h.done:
			return mc.close(websocket.CloseServiceRestart, "the server is restarting")
		}
		if err == nil {
			err = mc.write(b)
		}
		if err != nil {
			return err
		}
	}
}

func (mc *monConn) write(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	_ = mc.ws.SetWriteDeadline(time.Now().Add(deskWriteWait))
	return mc.ws.WriteMessage(websocket.TextMessage, b)
}

func (mc *monConn) close(code int, reason string) error {
	_ = mc.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(deskWriteWait))
	return errClosed
}

// socket pushes a watched conversation's changes as out-of-band swaps: its
// messages by index (the page's hello says up to where it has them), who
// joins and leaves, typing, and its task's changes. Nothing it does is
// seen by the conversation's participants.
func (h *monitorPages) socket(ws *fiberws.Conn) {
	sup, sid := monSocketSupervisor(ws), ws.Params("Sid")
	w, err := h.sup.Watch(context.Background(), sup, sid)
	if err != nil {
		if errs.KindOf(err) != errs.NotFound {
			h.log.Error("monitor socket", "conversation", sid, "err", err)
		}
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation,
			"conversation not found"), time.Now().Add(deskWriteWait))
		_ = ws.Close()
		return
	}
	mc := &monConn{}
	mc.onFrame = func(f monFrame) ([]byte, error) {
		if f.Type != "hello" {
			return nil, nil
		}
		after := int64(-1)
		if f.After != nil {
			after = *f.After
		}
		u, err := w.Hello(mc.ctx, after)
		if err != nil {
			return nil, err
		}
		return monRenderUpdate(mc.ctx, sid, u)
	}
	mc.onEvent = func(ev events.Event) ([]byte, error) {
		u, err := w.Event(mc.ctx, ev)
		if err != nil {
			return nil, err
		}
		return monRenderUpdate(mc.ctx, sid, u)
	}
	h.serve(ws, mc, []string{sid, realtime.WorkspaceTopic(sup.WorkspaceSid)}, func() ([]byte, error) { return nil, nil })
}

// monRenderUpdate writes what changed in a watched conversation as
// out-of-band swaps.
func monRenderUpdate(ctx context.Context, sid string, u supervise.WatchUpdate) ([]byte, error) {
	if u.Empty() {
		return nil, nil
	}
	var parts []templ.Component
	if u.Thread != nil {
		parts = append(parts, monitor.Thread(sid, *u.Thread, true))
	}
	if len(u.Append) > 0 {
		parts = append(parts, desktop.Appended(sid, u.Append))
	}
	for _, m := range u.Replace {
		parts = append(parts, desktop.Bubble(sid, m, true))
	}
	for _, i := range u.Removed {
		parts = append(parts, desktop.Removed(sid, i))
	}
	if u.Typing != nil {
		parts = append(parts, desktop.TypingLine(sid, *u.Typing, true))
	}
	if u.Panel != nil {
		parts = append(parts, monitor.Panel(*u.Panel, true))
		if u.Controls {
			parts = append(parts, monitor.Controls(*u.Panel, monitor.ComposerState{}, true))
		}
	}
	var buf bytes.Buffer
	for _, p := range parts {
		if err := p.Render(ctx, &buf); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// listSocket re-renders the list of live conversations after a task or
// reservation of the workspace changes (a burst of changes, once).
func (h *monitorPages) listSocket(ws *fiberws.Conn) {
	sup := monSocketSupervisor(ws)
	mc := &monConn{}
	rows := func() ([]byte, error) {
		rs, err := h.sup.LiveConversations(mc.ctx, sup)
		if err != nil {
			return nil, err
		}
		var buf bytes.Buffer
		err = monitor.Rows(rs, true).Render(mc.ctx, &buf)
		return buf.Bytes(), err
	}
	mc.refresh = rows
	mc.onEvent = func(ev events.Event) ([]byte, error) {
		// A worker's activity changes no row.
		mc.stale = mc.stale || ev.TaskSid != ""
		return nil, nil
	}
	h.serve(ws, mc, []string{realtime.WorkspaceTopic(sup.WorkspaceSid)}, rows)
}

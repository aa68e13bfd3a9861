package web

import (
	"bytes"
	"context"
	"encoding/json"
	"time"

	"github.com/a-h/templ"
	"github.com/fasthttp/websocket"
	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/views/desktop"
)

// The desktop socket's timings and limits.
const (
	deskMaxFrame     = 4 << 10
	deskPingEvery    = 25 * time.Second
	deskSilenceLimit = 60 * time.Second
	deskWriteWait    = 10 * time.Second
)

// upgrade admits the page's WebSocket; requireStaff checked the session
// and that the page is ours.
func (h *agentDesktop) upgrade(c *fiber.Ctx) error {
	if !fiberws.IsWebSocketUpgrade(c) {
		return errs.E(errs.Invalid, errs.CodeInvalidParam, "/desktop/ws is the desktop's WebSocket")
	}
	return c.Next()
}

// deskFrame is what the page sends: "hello" on every (re)connect and
// whenever it opens a canvas (the conversation and the last index it
// shows), "typing" while the agent types, "read" when the agent has seen
// the thread to an index.
type deskFrame struct {
	Type         string `json:"type"`
	Conversation string `json:"conversation"`
	After        *int64 `json:"after"`
	Typing       bool   `json:"typing"`
	Index        *int64 `json:"index"`
}

// deskConn is one open desktop. Two goroutines serve it, as the chat
// socket's: the handler's, which does the work and every write, and a
// reader that only decodes frames.
type deskConn struct {
	h    *agentDesktop
	ws   *fiberws.Conn
	ctx  context.Context
	hub  *realtime.Conn
	live *desk.Live
	in   chan deskFrame
	// window is the read deadline: ended for good when the handler ends.
	window *readWindow
}

// socket pushes the desktop's changes as out-of-band swaps. On every new
// socket it first sends the header and the task list whole (anything may
// have changed while the page was away), and the page's hello brings its
// open canvas up to date by message index.
func (h *agentDesktop) socket(ws *fiberws.Conn) {
	a, ok := ws.Locals(keyDeskAgent).(desk.Agent)
	if !ok {
		_ = ws.Close()
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dc := &deskConn{h: h, ws: ws, ctx: ctx, live: h.desk.NewLive(a), in: make(chan deskFrame, 8)}
	ws.SetReadLimit(deskMaxFrame)
	dc.window = newReadWindow(ws, deskSilenceLimit)
	go dc.read()
	defer func() {
		// Unblock and end the reader: it may wait on a silent page.
		dc.window.end()
		for range dc.in {
		}
	}()
	dc.hub = h.hub.Connect()
	defer dc.hub.Close()
	// Live events first, so none falls between the snapshot and them.
	dc.hub.Subscribe(realtime.WorkerTopic(a.WorkerSid))
	u, err := dc.live.Snapshot(ctx)
	if err != nil {
		h.log.Error("desktop snapshot", "worker", a.WorkerSid, "err", err)
		_ = dc.close(websocket.CloseTryAgainLater, "the desktop could not be loaded")
		return
	}
	if dc.push(u) != nil {
		return
	}
	_ = dc.loop()
}

// read forwards the page's frames until the socket fails or closes.
func (dc *deskConn) read() {
	defer close(dc.in)
	for {
		kind, data, err := dc.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = dc.window.extend()
		var f deskFrame
		if kind != websocket.TextMessage || json.Unmarshal(data, &f) != nil {
			continue // not ours to answer: the page only sends these frames
		}
		select {
		case dc.in <- f:
		case <-dc.ctx.Done():
			return
		}
	}
}

// loop serves the socket until it ends: the page's frames, the events of
// the topics it follows, pings and shutdown, one at a time.
func (dc *deskConn) loop() error {
	ping := time.NewTicker(deskPingEvery)
	defer ping.Stop()
	for {
		var err error
		select {
		case f, ok := <-dc.in:
			if !ok {
				return errClosed
			}
			err = dc.handle(f)
		case ev := <-dc.hub.Events():
			u, evErr := dc.live.Event(dc.ctx, *ev)
			if evErr != nil {
				// The page catches up on its next reconnect; the socket stays.
				dc.h.log.Error("desktop event", "type", ev.Type, "conversation", ev.ConversationSid, "err", evErr)
			}
			err = dc.push(u)
		case <-dc.hub.CutOff():
			// 1013 is a code htmx-ext-ws reconnects on; the new socket
			// sends everything again.
			return dc.close(websocket.CloseTryAgainLater, "too far behind: reconnect")
		case <-ping.C:
			err = dc.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(deskWriteWait))
		case <-dc.h.done:
			// 1012 (service restart) too: the page reconnects to the next server.
			return dc.close(websocket.CloseServiceRestart, "the server is restarting")
		}
		if err != nil {
			return err
		}
	}
}

// handle answers one frame of the page.
func (dc *deskConn) handle(f deskFrame) error {
	ctx, live := dc.ctx, dc.live
	switch f.Type {
	case "hello":
		if f.Conversation == "" {
			return nil
		}
		after := int64(-1)
		if f.After != nil {
			after = *f.After
		}
		dc.hub.Subscribe(f.Conversation)
		u, err := live.Open(ctx, f.Conversation, after)
		if err != nil {
			if !live.Follows(f.Conversation) {
				dc.hub.Unsubscribe(f.Conversation)
			}
			return dc.notice(err)
		}
		return dc.push(u)
	case "typing":
		return dc.report(live.Typing(ctx, f.Typing))
	case "read":
		if f.Index == nil {
			return nil
		}
		return dc.report(live.Read(ctx, *f.Index))
	}
	return nil
}

// report logs what went wrong inside on a frame that answers nothing.
func (dc *deskConn) report(err error) error {
	if err != nil && errs.KindOf(err) == errs.Internal {
		dc.h.log.Error("desktop frame", "err", err)
	}
	return nil
}

// notice tells the page why a frame did nothing.
func (dc *deskConn) notice(err error) error {
	e := errs.As(err)
	msg := e.Message
	switch e.Kind {
	case errs.Internal:
		dc.h.log.Error("desktop", "err", err)
		msg = "Something went wrong on the server; reload the page."
	case errs.NotFound:
		msg = "That conversation was not found, or is not one of yours."
	}
	var buf bytes.Buffer
	buf.WriteString(`<div id="notice" class="desk-notice" role="status" aria-live="polite" hx-swap-oob="true">`)
	if err := desktop.Notice(msg).Render(dc.ctx, &buf); err != nil {
		return err
	}
	buf.WriteString(`</div>`)
	return dc.write(buf.Bytes())
}

// push renders an update as out-of-band swaps and follows the topics it names.
func (dc *deskConn) push(u desk.Update) error {
	for _, sid := range u.Follow {
		dc.hub.Subscribe(sid)
	}
	for _, sid := range u.Unfollow {
		dc.hub.Unsubscribe(sid)
	}
	if u.Empty() {
		return nil
	}
	var buf bytes.Buffer
	if err := renderUpdate(dc.ctx, &buf, u, dc.live.OpenSid()); err != nil {
		return err
	}
	if buf.Len() == 0 {
		return nil
	}
	return dc.write(buf.Bytes())
}

// renderUpdate writes what changed as out-of-band swaps; open is the
// conversation the page's canvas shows.
func renderUpdate(ctx context.Context, buf *bytes.Buffer, u desk.Update, open string) error {
	var parts []templ.Component
	if u.Header != nil {
		parts = append(parts, desktop.Header(*u.Header, true))
	}
	if u.TasksChanged {
		parts = append(parts, desktop.TaskList(u.Tasks, open, true))
	}
	if u.Canvas != nil {
		parts = append(parts, desktop.CanvasOOB(*u.Canvas))
	}
	if u.Chrome != nil {
		parts = append(parts, desktop.CanvasHead(*u.Chrome, true), desktop.Composer(*u.Chrome, desktop.ComposerState{}, true))
	}
	if len(u.Append) > 0 {
		parts = append(parts, desktop.Appended(open, u.Append))
	}
	for _, m := range u.Replace {
		parts = append(parts, desktop.Bubble(open, m, true))
	}
	for _, i := range u.Removed {
		parts = append(parts, desktop.Removed(open, i))
	}
	if u.Typing != nil {
		parts = append(parts, desktop.TypingLine(open, *u.Typing, true))
	}
	for _, p := range parts {
		if err := p.Render(ctx, buf); err != nil {
			return err
		}
	}
	return nil
}

func (dc *deskConn) write(b []byte) error {
	_ = dc.ws.SetWriteDeadline(time.Now().Add(deskWriteWait))
	return dc.ws.WriteMessage(websocket.TextMessage, b)
}

// close sends a closing frame and reports errClosed.
func (dc *deskConn) close(code int, reason string) error {
	_ = dc.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(deskWriteWait))
	return errClosed
}

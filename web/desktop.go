package web

import (
	"bytes"
	"encoding/binary"
	"log/slog"
	"math"
	"strconv"
	"strings"

	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/views/desktop"
)

// agentDesktop serves /desktop: the agent's page, its HTMX endpoints and
// its WebSocket (desktop_ws.go). Every conversation endpoint goes through
// the desk, which answers not found for a conversation the agent never
// held a task on.
type agentDesktop struct {
	desk *desk.Service
	hub  *realtime.Hub
	log  *slog.Logger
	done <-chan struct{}
	ring []byte
}

// addDesktopRoutes mounts the desktop behind the staff guard (agents; a
// supervisor or admin holds the agent role too).
func addDesktopRoutes(app *fiber.App, d Deps) {
	if d.Desk == nil || d.Sessions == nil || d.Hub == nil {
		return
	}
	h := &agentDesktop{desk: d.Desk, hub: d.Hub, log: d.Log, done: d.Done, ring: ringWAV()}
	g := app.Group("/desktop", requireStaff(d, "agent"), h.agentOnly)
	g.Get("/", h.page)
	g.Get("/ring.wav", h.ringSound)
	g.Post("/activity", h.setActivity)
	g.Post("/reservations/:Sid/accept", h.accept)
	g.Post("/reservations/:Sid/reject", h.reject)
	g.Get("/c/:Sid", h.canvas)
	g.Get("/c/:Sid/older", h.older)
	g.Post("/c/:Sid/messages", h.send)
	g.Post("/c/:Sid/media", h.upload)
	addDesktopActionRoutes(g, h)
	g.Use("/ws", h.upgrade)
	g.Get("/ws", fiberws.New(h.socket, fiberws.Config{ReadBufferSize: 4096, WriteBufferSize: 16384}))
}

// keyDeskAgent carries the signed-in agent into handlers and the socket.
const keyDeskAgent = "desktop.agent"

// agentOnly resolves the member of staff to their worker: without one
// there is no desk to show.
func (h *agentDesktop) agentOnly(c *fiber.Ctx) error {
	s := staffOf(c)
	if s.WorkerSid == "" || s.WorkspaceSid == "" {
		return staffDenied(c, "Your account has no worker to take tasks with. Sign out and in again, or ask an administrator.")
	}
	c.Locals(keyDeskAgent, desk.Agent{WorkspaceSid: s.WorkspaceSid, WorkerSid: s.WorkerSid, Identity: s.Identity, Name: s.Name})
	return c.Next()
}

func agentOf(c *fiber.Ctx) desk.Agent {
	a, _ := c.Locals(keyDeskAgent).(desk.Agent)
	return a
}

// fail answers an HTMX request that did not happen: the status of what
// went wrong, and a notice the page shows at its foot.
func (h *agentDesktop) fail(c *fiber.Ctx, err error) error {
	e := errs.As(err)
	msg := e.Message
	if e.Kind == errs.Internal {
		h.log.Error("desktop", "method", c.Method(), "path", c.Path(), "err", err)
		msg = "Something went wrong on the server; try again."
	}
	if e.Kind == errs.NotFound {
		msg = "That conversation or offer was not found, or is not one of yours."
	}
	c.Status(statusOf(e.Kind))
	c.Set("HX-Retarget", "#notice")
	c.Set("HX-Reswap", "innerHTML")
	return render(c, desktop.Notice(msg))
}

// page is the desktop, with the conversation ?c= open when given.
func (h *agentDesktop) page(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), agentOf(c)
	p := desktop.Props{CSRF: csrfToken(ctx), Console: staffOf(c).Has("supervisor")}
	var err error
	if p.Header, err = h.desk.Header(ctx, a); err != nil {
		return err
	}
	if p.Tasks, err = h.desk.Tasks(ctx, a); err != nil {
		return err
	}
	if sid := c.Query("c"); sid != "" {
		cv, err := h.desk.Canvas(ctx, a, sid)
		switch {
		case errs.KindOf(err) == errs.NotFound:
			c.Status(fiber.StatusNotFound)
			p.Notice = "That conversation was not found, or is not one of yours."
		case err != nil:
			return err
		default:
			p.Canvas = &cv
			h.markShown(c, a, cv)
		}
	}
	return render(c, desktop.Page(p))
}

// markShown moves the agent's read horizon to the last message the canvas
// shows them.
func (h *agentDesktop) markShown(c *fiber.Ctx, a desk.Agent, cv desk.Canvas) {
	if cv.Thread.Last < 0 || !cv.Writable {
		return
	}
	if err := h.desk.MarkRead(c.UserContext(), a, cv.ConversationSid, cv.Thread.Last); err != nil {
		h.log.Warn("desktop: read horizon", "conversation", cv.ConversationSid, "err", err)
	}
}

func (h *agentDesktop) ringSound(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, "audio/wav")
	c.Set(fiber.HeaderCacheControl, "private, max-age=86400")
	return c.Send(h.ring)
}

func (h *agentDesktop) setActivity(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), agentOf(c)
	if err := h.desk.SetActivity(ctx, a, c.FormValue("activity")); err != nil {
		return h.fail(c, err)
	}
	hd, err := h.desk.Header(ctx, a)
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.Header(hd, false))
}

// accept takes an offer and opens its conversation on the canvas; the
// cards follow out of band.
func (h *agentDesktop) accept(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), agentOf(c)
	sid, err := h.desk.Accept(ctx, a, c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	cards, err := h.desk.Tasks(ctx, a)
	if err != nil {
		return h.fail(c, err)
	}
	if sid == "" {
		c.Set("HX-Reswap", "none")
		return render(c, desktop.TaskList(cards, "", true))
	}
	cv, err := h.desk.Canvas(ctx, a, sid)
	if err != nil {
		return h.fail(c, err)
	}
	h.markShown(c, a, cv)
	c.Set("HX-Push-Url", desktop.ConversationURL(sid))
	if err := render(c, desktop.Canvas(cv)); err != nil {
		return err
	}
	return render(c, desktop.TaskList(cards, sid, true))
}

func (h *agentDesktop) reject(c *fiber.Ctx) error {
	ctx, a := c.UserContext(), agentOf(c)
	if err := h.desk.Reject(ctx, a, c.Params("Sid")); err != nil {
		return h.fail(c, err)
	}
	cards, err := h.desk.Tasks(ctx, a)
	if err != nil {
		return h.fail(c, err)
	}
	// The page marks the open card itself.
	return render(c, desktop.TaskList(cards, "", false))
}

// canvas answers a conversation's canvas to the page; a plain GET (a
// bookmarked or reloaded link) gets the desktop with it open.
func (h *agentDesktop) canvas(c *fiber.Ctx) error {
	if c.Get("HX-Request") != "true" {
		return c.Redirect(desktop.ConversationURL(c.Params("Sid")), fiber.StatusFound)
	}
	ctx, a := c.UserContext(), agentOf(c)
	cv, err := h.desk.Canvas(ctx, a, c.Params("Sid"))
	if err != nil {
		return h.fail(c, err)
	}
	h.markShown(c, a, cv)
	return render(c, desktop.Canvas(cv))
}

// older answers the page of the thread before index `before`.
func (h *agentDesktop) older(c *fiber.Ctx) error {
	before, err := strconv.ParseInt(c.Query("before"), 10, 64)
	if err != nil || before < 0 {
		return h.fail(c, errs.Invalidf("before must be a message index"))
	}
	sid := c.Params("Sid")
	th, err := h.desk.Older(c.UserContext(), agentOf(c), sid, before)
	if err != nil {
		return h.fail(c, err)
	}
	return render(c, desktop.Older(sid, th))
}

// send writes the agent's reply and answers an empty composer; the message
// itself reaches the thread over the socket, like everyone else's. A reply
// that cannot go keeps its draft and says why.
func (h *agentDesktop) send(c *fiber.Ctx) error {
	ctx, a, sid := c.UserContext(), agentOf(c), c.Params("Sid")
	var mediaSids, names []string
	args := c.Request().PostArgs()
	for _, v := range args.PeekMulti("media") {
		mediaSids = append(mediaSids, string(v))
	}
	for _, v := range args.PeekMulti("media_name") {
		names = append(names, string(v))
	}
	body := c.FormValue("body")
	sendErr := h.desk.Send(ctx, a, sid, body, mediaSids)
	if errs.KindOf(sendErr) == errs.NotFound {
		return h.fail(c, sendErr)
	}
	cv, err := h.desk.Chrome(ctx, a, sid)
	if err != nil {
		return h.fail(c, err)
	}
	st := desktop.ComposerState{}
	if sendErr != nil {
		e := errs.As(sendErr)
		if e.Kind == errs.Internal {
			h.log.Error("desktop: send", "conversation", sid, "err", sendErr)
			e = errs.E(errs.Internal, errs.CodeInternal, "Something went wrong on the server; the message was not sent.")
		}
		st = desktop.ComposerState{Body: body, Error: e.Message}
		for i, m := range mediaSids {
			att := desk.Attachment{Sid: m, Name: m}
			if i < len(names) && names[i] != "" {
				att.Name = names[i]
			}
			st.Media = append(st.Media, att)
		}
		c.Status(statusOf(e.Kind))
	}
	return render(c, desktop.Composer(cv, st, false))
}

// desktopUpload is the JSON an upload answers: the attachment for the
// composer's next message.
type desktopUpload struct {
	Sid         string `json:"sid"`
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Size        int64  `json:"size"`
}

// upload stores the raw body as an attachment of the conversation, within
// its channel's limits; the file name comes from ?filename=.
func (h *agentDesktop) upload(c *fiber.Ctx) error {
	body := c.Request().BodyStream()
	if !c.Request().IsBodyStream() {
		body = bytes.NewReader(c.Body())
	}
	length := int64(c.Request().Header.ContentLength())
	if length < 0 {
		length = -1
	}
	att, err := h.desk.Upload(c.UserContext(), agentOf(c), c.Params("Sid"), c.Get(fiber.HeaderContentType), c.Query("filename"), length, body)
	if err != nil {
		e := errs.As(err)
		if e.Kind == errs.Internal {
			h.log.Error("desktop: upload", "err", err)
		}
		return c.Status(statusOf(e.Kind)).JSON(fiber.Map{"message": e.Message})
	}
	return c.Status(fiber.StatusCreated).JSON(desktopUpload{Sid: att.Sid, Name: att.Name, ContentType: att.ContentType, Size: att.Size})
}

// isDesktopUpload reports a POST /desktop/c/<sid>/media (routes match
// case-insensitively and with a trailing slash, so this does too).
func isDesktopUpload(method, path string) bool {
	if method != fiber.MethodPost {
		return false
	}
	p := strings.ToLower(strings.TrimRight(path, "/"))
	rest, ok := strings.CutPrefix(p, "/desktop/c/")
	if !ok {
		return false
	}
	sid, tail, ok := strings.Cut(rest, "/")
	return ok && sid != "" && tail == "media"
}

// exceptDesktopUploads runs limit on every request but the desktop's
// uploads, which stream into the media store up to what the
// conversation's channel carries (the desk checks; the cap here is any
// media's). Their connections close after the answer, so bytes of a body
// refused before it was read are never taken for a next request.
func exceptDesktopUploads(limit fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !isDesktopUpload(c.Method(), c.Path()) {
			return limit(c)
		}
		c.Context().SetConnectionClose()
		if c.Request().Header.ContentLength() > media.MaxSize {
			return media.TooLarge(media.MaxSize)
		}
		return c.Next()
	}
}

// desktopUploadTimeouts gives desktop uploads the media transfer timeout
// and leaves the rest to next.
func desktopUploadTimeouts(next func(*fasthttp.RequestHeader) fasthttp.RequestConfig) func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		path, _, _ := strings.Cut(string(h.RequestURI()), "?")
		if isDesktopUpload(string(h.Method()), path) {
			return fasthttp.RequestConfig{ReadTimeout: mediaTransferTimeout}
		}
		return next(h)
	}
}

// ringWAV synthesises the offer ring: two falling chime notes, 8 kHz
// 8-bit mono PCM, about 4 KB.
func ringWAV() []byte {
	const rate = 8000
	notes := []struct {
		hz, seconds float64
	}{{880, 0.18}, {659.25, 0.32}}
	var pcm []byte
	for _, n := range notes {
		samples := int(n.seconds * rate)
		for i := range samples {
			t := float64(i) / rate
			env := math.Exp(-6*t/n.seconds) * math.Min(1, float64(i)/40) // quick attack, chime-like decay
			v := 0.6*math.Sin(2*math.Pi*n.hz*t) + 0.25*math.Sin(4*math.Pi*n.hz*t)
			pcm = append(pcm, byte(128+int(100*env*v)))
		}
	}
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + len(pcm)))
	b.WriteString("WAVEfmt ")
	le(uint32(16))   // fmt chunk size
	le(uint16(1))    // PCM
	le(uint16(1))    // mono
	le(uint32(rate)) // sample rate
	le(uint32(rate)) // bytes per second
	le(uint16(1))    // block align
	le(uint16(8))    // bits per sample
	b.WriteString("data")
	le(uint32(len(pcm)))
	b.Write(pcm)
	return b.Bytes()
}

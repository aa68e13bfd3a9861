package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/fasthttp/websocket"
	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/views/devphone"
)

// devPhone serves /dev/phone: a developer plays an SMS or WhatsApp customer
// on the simulated carrier. Only dev mode mounts it.
type devPhone struct {
	ch  *channels.Service
	net *simulator.Network
}

// keyLocal carries a socket's thread from its upgrade check to its handler.
const keyLocal = "devphone.key"

func addDevPhoneRoutes(app *fiber.App, ch *channels.Service, net *simulator.Network) {
	p := &devPhone{ch: ch, net: net}
	app.Get("/dev/phone", p.page)
	app.Post("/dev/phone/messages", p.send)
	app.Get("/dev/phone/media/:ID", p.media)
	app.Use("/dev/phone/ws", p.upgrade)
	app.Get("/dev/phone/ws", fiberws.New(p.socket))
}

// simSender is one of our addresses on a simulator account.
type simSender struct {
	address, providerSid string
}

// senders lists the addresses the phones can text: those of simulator
// accounts.
func (p *devPhone) senders(ctx context.Context) ([]simSender, error) {
	all, err := p.ch.Senders(ctx)
	if err != nil {
		return nil, err
	}
	kinds := map[string]string{}
	var out []simSender
	for _, s := range all {
		kind, ok := kinds[s.ProviderSid]
		if !ok {
			a, err := p.ch.Provider(ctx, s.ProviderSid)
			if err != nil {
				return nil, err
			}
			kind, kinds[s.ProviderSid] = a.Kind, a.Kind
		}
		if kind == channels.KindSimulator {
			out = append(out, simSender{address: s.Address, providerSid: s.ProviderSid})
		}
	}
	return out, nil
}

// thread resolves a phone number and a sender address into a thread and the
// account the sender belongs to.
func (p *devPhone) thread(ctx context.Context, phone, sender string) (simulator.Key, string, error) {
	k, err := simulator.NewKey(phone, sender)
	if err != nil {
		return k, "", err
	}
	senders, err := p.senders(ctx)
	if err != nil {
		return k, "", err
	}
	for _, s := range senders {
		if s.address == k.Sender {
			return k, s.providerSid, nil
		}
	}
	return k, "", errs.NotFoundf("%s is not a sender of a simulator account", sender)
}

const (
	recentThreads = 8              // bounds the page's list of threads to reopen
	examplePhone  = "+15551230001" // the picker's first suggestion
)

func (p *devPhone) page(c *fiber.Ctx) error {
	ctx := c.UserContext()
	senders, err := p.senders(ctx)
	if err != nil {
		return err
	}
	props := devphone.Props{Phone: c.Query("phone"), Sender: c.Query("sender"), ProfileName: c.Query("name"), Recent: p.net.Threads()}
	if len(props.Recent) > recentThreads {
		props.Recent = props.Recent[:recentThreads]
	}
	for _, s := range senders {
		props.Senders = append(props.Senders, devphone.Sender{Address: s.address})
	}
	if props.Phone == "" && props.Sender == "" {
		props.Phone = examplePhone
		return render(c, devphone.Page(props))
	}
	k, _, err := p.thread(ctx, props.Phone, props.Sender)
	if err != nil {
		props.Error = pageError(err)
		return render(c, devphone.Page(props))
	}
	props.Thread, props.Messages = &k, p.net.Thread(k)
	return render(c, devphone.Page(props))
}

// pageError is an error as the page shows it: what the service said, or
// that something went wrong inside.
func pageError(err error) string {
	var e *errs.Error
	if errors.As(err, &e) && e.Kind != errs.Internal {
		return e.Message
	}
	return "Something went wrong on the server: " + err.Error()
}

// sameOrigin refuses requests another site's page makes in the developer's
// browser (a form post, a WebSocket): browsers say where they come from,
// and our own pages come from here. htmx requests carry HX-Request, which a
// cross-site form cannot set.
func sameOrigin(c *fiber.Ctx) error {
	if o := c.Get(fiber.HeaderOrigin); o != "" && o != c.BaseURL() {
		return errs.E(errs.Forbidden, errs.CodeForbidden, "the phone simulator only answers its own page, not %s", o)
	}
	return nil
}

// maxAttachment bounds what the phone attaches; the server's body limit
// may be lower.
const maxAttachment = 5 << 20

// send takes the composer's message: the phone texts it through the
// simulator account's webhook, and the page sees it on its socket.
func (p *devPhone) send(c *fiber.Ctx) error {
	if err := sameOrigin(c); err != nil {
		return err
	}
	if c.Get("HX-Request") != "true" {
		return errs.E(errs.Forbidden, errs.CodeForbidden, "the phone simulator takes messages from its page only")
	}
	ctx := c.UserContext()
	k, providerSid, err := p.thread(ctx, c.FormValue("phone"), c.FormValue("sender"))
	if err != nil {
		return err
	}
	composer := devphone.Composer{Key: k, ProfileName: c.FormValue("name")}
	text := simulator.Text{Key: k, ProfileName: composer.ProfileName, Body: c.FormValue("body")}
	a, err := attachment(c)
	if err == nil && a != nil {
		text.Attachments = []simulator.Attachment{*a}
	}
	if err == nil {
		_, err = p.net.Text(ctx, providerSid, text)
	}
	if err != nil {
		composer.Error, composer.Body = pageError(err), text.Body
	}
	return render(c, devphone.ComposerForm(composer))
}

// attachment reads the composer's file, if any: an image or a PDF.
func attachment(c *fiber.Ctx) (*simulator.Attachment, error) {
	if !strings.HasPrefix(string(c.Request().Header.ContentType()), fiber.MIMEMultipartForm) {
		return nil, nil
	}
	form, err := c.MultipartForm()
	if err != nil {
		return nil, errs.Invalidf("the attachment could not be read: %v", err)
	}
	files := form.File["attachment"]
	if len(files) == 0 || files[0].Size == 0 {
		return nil, nil
	}
	fh := files[0]
	if fh.Size > maxAttachment {
		return nil, errs.E(errs.TooLarge, errs.CodeInvalidParam, "attachments are at most %d MB", maxAttachment>>20)
	}
	f, err := fh.Open()
	if err != nil {
		return nil, errs.Invalidf("the attachment could not be read: %v", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxAttachment))
	if err != nil {
		return nil, errs.Invalidf("the attachment could not be read: %v", err)
	}
	ct, _, _ := mime.ParseMediaType(fh.Header.Get(fiber.HeaderContentType))
	if ct == "" || ct == "application/octet-stream" {
		ct, _, _ = mime.ParseMediaType(http.DetectContentType(data))
	}
	// SVG is left out: the page serves attachments from this origin, and an
	// SVG can carry script.
	if !(strings.HasPrefix(ct, "image/") && ct != "image/svg+xml") && ct != "application/pdf" {
		return nil, errs.Invalidf("attach an image or a PDF, not %s", ct)
	}
	return &simulator.Attachment{ContentType: ct, Filename: fh.Filename, Data: data}, nil
}

// media serves a phone's own attachment to the page.
func (p *devPhone) media(c *fiber.Ctx) error {
	a, ok := p.net.Attachment(c.Params("ID"))
	if !ok {
		return errs.NotFoundf("the simulator no longer has media %s", c.Params("ID"))
	}
	c.Set(fiber.HeaderContentType, a.ContentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderCacheControl, "private, max-age=3600")
	return c.Send(a.Data)
}

// upgrade admits the page's WebSocket for a thread of a simulator sender.
func (p *devPhone) upgrade(c *fiber.Ctx) error {
	if !fiberws.IsWebSocketUpgrade(c) {
		return fiber.ErrUpgradeRequired
	}
	if err := sameOrigin(c); err != nil {
		return err
	}
	k, _, err := p.thread(c.UserContext(), c.Query("phone"), c.Query("sender"))
	if err != nil {
		return err
	}
	c.Locals(keyLocal, k)
	return c.Next()
}

// Socket timings: a write that takes longer means the page is gone; pings
// keep idle sockets open through proxies and find dead ones.
const (
	socketWriteWait = 10 * time.Second
	socketPing      = 30 * time.Second
)

// socket pushes a thread to the page: all of it on connect (so a page that
// reconnects catches up), then each new message appended and each changed
// one replaced, as out-of-band swaps. The page sends back which of the
// server's messages it showed, for read receipts.
func (p *devPhone) socket(conn *fiberws.Conn) {
	k := conn.Locals(keyLocal).(simulator.Key)
	ws := conn.Conn // conn itself goes back to a pool when this returns
	ws.SetReadLimit(4 << 10)
	sub := p.net.Subscribe(k)
	defer sub.Close()

	read := make(chan struct{})
	go func() {
		defer close(read)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			var in struct {
				Read string `json:"read"`
			}
			if json.Unmarshal(msg, &in) == nil && in.Read != "" {
				p.net.Read(k, in.Read)
			}
		}
	}()
	defer func() {
		_ = ws.Close()
		<-read
	}()

	ping := time.NewTicker(socketPing)
	defer ping.Stop()
	shown := map[string]bool{}
	for {
		select {
		case <-read:
			return
		case <-p.net.Done():
			// 1012 (service restart) is a code htmx-ext-ws reconnects on:
			// the page catches up with the next server by itself.
			_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseServiceRestart, "the server is restarting"),
				time.Now().Add(time.Second))
			return
		case <-ping.C:
			if ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(socketWriteWait)) != nil {
				return
			}
		case <-sub.C:
			msgs, all := sub.Changes()
			if len(msgs) == 0 && !all {
				continue
			}
			var buf bytes.Buffer
			if err := threadUpdate(&buf, k, msgs, all, shown); err != nil {
				return
			}
			_ = ws.SetWriteDeadline(time.Now().Add(socketWriteWait))
			if ws.WriteMessage(websocket.TextMessage, buf.Bytes()) != nil {
				return
			}
		}
	}
}

// threadUpdate renders what changed as out-of-band swaps: the whole thread,
// or new messages appended and known ones replaced. shown tracks what the
// page has.
func threadUpdate(w io.Writer, k simulator.Key, msgs []simulator.Message, all bool, shown map[string]bool) error {
	ctx := context.Background()
	if all {
		clear(shown)
		for _, m := range msgs {
			shown[m.ID] = true
		}
		return devphone.Thread(k, msgs, "true").Render(ctx, w)
	}
	var added []simulator.Message
	for _, m := range msgs {
		if !shown[m.ID] {
			added = append(added, m)
			shown[m.ID] = true
			continue
		}
		if err := devphone.Bubble(k, m, "true").Render(ctx, w); err != nil {
			return err
		}
	}
	if len(added) == 0 {
		return nil
	}
	return devphone.Appended(k, added).Render(ctx, w)
}

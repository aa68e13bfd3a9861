package web

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/chat"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// The chat protocol's timings and limits (docs/chat-protocol.md).
const (
	chatMaxFrame      = 64 << 10
	chatAuthWait      = 10 * time.Second
	chatPingEvery     = 25 * time.Second
	chatSilenceLimit  = 60 * time.Second
	chatWriteWait     = 10 * time.Second
	chatExpiryWarning = time.Minute
	chatMaxSubscribed = chat.MaxConversations
	// chatSocketsPerIdentity bounds one identity's open sockets (tabs,
	// devices), so a token cannot hold unbounded server memory.
	chatSocketsPerIdentity = 20
)

// Closing codes of the chat protocol.
const (
	closeProtocol  = 4400
	closeToken     = 4401
	closeTooSlow   = 4408
	closeTooMany   = 4429
	closeGoingAway = websocket.CloseGoingAway
)

// ChatLimiter bounds how fast one chat identity sends messages.
type ChatLimiter interface {
	AllowMessage(identity string) bool
}

// guestMedia applies a channel's attachment rules to what a chat identity
// sends (webchat guests may attach one file).
type guestMedia interface {
	CheckMessageMedia(ctx context.Context, identity, serviceSid string, mediaSids []string) error
}

// chatSocket serves the chat protocol on /v1/chat/ws.
type chatSocket struct {
	chat      *chat.Service
	hub       *realtime.Hub
	limits    ChatLimiter
	media     guestMedia // nil: no rules beyond the engine's
	log       *slog.Logger
	publicURL string
	done      <-chan struct{}

	mu   sync.Mutex
	open map[string]int // open sockets per identity

	stopOnce sync.Once
	stopCtx  context.Context
}

// stopping is a context cancelled once done is closed. Sockets hang their
// closing frame on it with context.AfterFunc, which costs no goroutine per
// socket; one goroutine per server waits on done.
func (cs *chatSocket) stopping() context.Context {
	cs.stopOnce.Do(func() {
		if cs.done == nil {
			cs.stopCtx = context.Background() // never stops
			return
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-cs.done
			cancel()
		}()
		cs.stopCtx = ctx
	})
	return cs.stopCtx
}

// admit counts a socket for an identity, refusing one past
// chatSocketsPerIdentity; release gives the place back.
func (cs *chatSocket) admit(identity string) bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.open[identity] >= chatSocketsPerIdentity {
		return false
	}
	if cs.open == nil {
		cs.open = map[string]int{}
	}
	cs.open[identity]++
	return true
}

func (cs *chatSocket) release(identity string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.open[identity]--; cs.open[identity] <= 0 {
		delete(cs.open, identity)
	}
}

// Locals set by the upgrade check for the socket handler.
const (
	keyChatToken = "chat.token"
	keyChatBase  = "chat.base"
)

// Socket buffers. Most chat sockets sit idle, so what each holds while
// idle is the price of every customer online: the read buffer can be small
// (fasthttp already buffers the hijacked connection, and larger frames are
// read through it piecewise), and write buffers are taken from a pool only
// while a frame is written.
const (
	chatReadBuffer  = 1024
	chatWriteBuffer = 4096
)

func addChatRoutes(app *fiber.App, cs *chatSocket) {
	app.Use("/v1/chat/ws", cs.upgrade)
	app.Get("/v1/chat/ws", fiberws.New(cs.serve, fiberws.Config{
		ReadBufferSize:  chatReadBuffer,
		WriteBufferSize: chatWriteBuffer,
		WriteBufferPool: &sync.Pool{},
	}))
}

// upgrade refuses plain HTTP and, for clients that send their token as a
// header, a bad token — before the socket opens, with Twilio's error body.
func (cs *chatSocket) upgrade(c *fiber.Ctx) error {
	if !fiberws.IsWebSocketUpgrade(c) {
		return errs.E(errs.Invalid, errs.CodeInvalidParam, "/v1/chat/ws is a WebSocket endpoint: connect with a WebSocket client")
	}
	if h := c.Get(fiber.HeaderAuthorization); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return errs.E(errs.Unauthorized, auth.CodeInvalidToken, "The Authorization header must be Bearer <access token>")
		}
		tok, err := cs.chat.Authenticate(c.UserContext(), token)
		if err != nil {
			return err
		}
		c.Locals(keyChatToken, tok)
	}
	base := cs.publicURL
	if base == "" {
		base = c.Protocol() + "://" + string(c.Request().Host())
	}
	c.Locals(keyChatBase, strings.TrimRight(base, "/"))
	return c.Next()
}

// clientFrame is any frame a client sends; each type reads its own fields.
type clientFrame struct {
	Type            string   `json:"type"`
	ID              string   `json:"id"`
	Token           string   `json:"token"`
	ConversationSid string   `json:"conversation_sid"`
	AfterIndex      *int64   `json:"after_index"`
	Body            *string  `json:"body"`
	MediaSids       []string `json:"media_sids"`
	Attributes      *string  `json:"attributes"`
	Typing          bool     `json:"typing"`
	Index           *int64   `json:"index"`
}

// chatConn is one open socket. While idle it costs one goroutine, the
// handler's, blocked reading the client: frames are read and handled there,
// and everything else comes from callbacks — pings, the token's expiry and
// the server's shutdown from timers and the shutdown context, events from a
// pump goroutine started at the first subscription. mu serialises them: the
// session, the hub connection's subscriptions and every frame written.
type chatConn struct {
	cs     *chatSocket
	ws     *fiberws.Conn
	ctx    context.Context
	window *readWindow

	mu     sync.Mutex
	ending bool // a closing frame was sent or a write failed: write nothing more
	sess   *chat.Session
	hub    *realtime.Conn
	ping   *time.Timer
	warn   *time.Timer
	expire *time.Timer
	term   uint64        // the token's term, counted per refresh: stale expiry timers do nothing
	pumped chan struct{} // closed when the event pump ends; nil until it starts
}

// errClosed ends the handler after a closing frame was sent.
var errClosed = errors.New("connection closed")

func (cs *chatSocket) serve(ws *fiberws.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	cc := &chatConn{cs: cs, ws: ws, ctx: ctx}
	ws.SetReadLimit(chatMaxFrame)
	cc.window = newReadWindow(ws, chatSilenceLimit)
	stopShutdown := context.AfterFunc(cs.stopping(), func() {
		cc.closeFrom(closeGoingAway, "server shutting down")
	})
	defer func() {
		stopShutdown()
		cc.finish(cancel)
	}()

	tok, ok := ws.Locals(keyChatToken).(auth.AccessToken)
	if !ok {
		var err error
		if tok, err = cc.awaitAuth(); err != nil {
			return
		}
	}
	if !cs.admit(tok.Identity) {
		cc.mu.Lock()
		_ = cc.close(closeTooMany, "too many connections for this identity")
		cc.mu.Unlock()
		return
	}
	defer cs.release(tok.Identity)
	base, _ := ws.Locals(keyChatBase).(string)
	cc.mu.Lock()
	cc.sess = cs.chat.NewSession(tok, base)
	cc.hub = cs.hub.Connect()
	cc.mu.Unlock()
	defer cc.hub.Close()
	if err := cc.offStack(cc.ready); err != nil {
		return
	}
	cc.mu.Lock()
	if !cc.ending {
		cc.ping = time.AfterFunc(chatPingEvery, cc.pingNow)
		cc.setExpiry()
	}
	cc.mu.Unlock()
	for {
		f, ok := cc.next()
		if !ok {
			return // a frame over the limit was answered with 1009 by the library
		}
		if err := cc.offStack(func() error { return cc.handleLocked(f) }); err != nil {
			return
		}
	}
}

// finish ends the connection's callbacks and pump, and waits until none of
// them can touch the socket any more: the library reuses it once serve
// returns.
func (cc *chatConn) finish(cancel context.CancelFunc) {
	cancel() // ends the session's queries, and the pump
	cc.mu.Lock()
	cc.ending = true
	for _, t := range []*time.Timer{cc.ping, cc.warn, cc.expire} {
		if t != nil {
			t.Stop()
		}
	}
	pumped := cc.pumped
	cc.mu.Unlock()
	if pumped != nil {
		<-pumped
	}
}

// offStack runs fn on a short-lived goroutine and waits for it. The
// session's queries run deep (gorm, pgx): there they leave the handler's
// goroutine, which lives as long as the socket, with a small stack.
func (cc *chatConn) offStack(fn func() error) error {
	done := make(chan error, 1)
	go func() { done <- fn() }()
	return <-done
}

// next reads the client's next frame; false when the socket failed or was
// closed.
func (cc *chatConn) next() (clientFrame, bool) {
	kind, data, err := cc.ws.ReadMessage()
	if err != nil {
		return clientFrame{}, false
	}
	_ = cc.window.extend()
	var f clientFrame
	if kind != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Type == "" {
		f = clientFrame{Type: "\x00malformed"}
	}
	return f, true
}

// awaitAuth waits for the first frame, which must be an auth frame.
func (cc *chatConn) awaitAuth() (auth.AccessToken, error) {
	timer := time.AfterFunc(chatAuthWait, func() {
		cc.closeFrom(closeToken, "no auth frame within 10 seconds")
	})
	f, ok := cc.next()
	// A timer that fired already has closed the socket, or will once the
	// mutex is free: then the frame came too late, and ready is not sent.
	timer.Stop()
	if !ok {
		return auth.AccessToken{}, errClosed
	}
	var tok auth.AccessToken
	err := cc.offStack(func() error {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if cc.ending {
			return errClosed
		}
		if f.Type != "auth" {
			return cc.close(closeToken, "the first frame must be an auth frame")
		}
		var err error
		if tok, err = cc.cs.chat.Authenticate(cc.ctx, f.Token); err != nil {
			_ = cc.writeError(f.ID, err)
			return cc.close(closeToken, "invalid access token")
		}
		return nil
	})
	return tok, err
}

// ready sends the ready frame.
func (cc *chatConn) ready() error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ending {
		return errClosed
	}
	f, err := cc.sess.Ready(cc.ctx)
	if err != nil {
		return cc.writeError("", err)
	}
	return cc.write(f)
}

// pump delivers the events of the followed conversations until the socket
// ends or the hub cuts it off.
func (cc *chatConn) pump(evs <-chan *events.Event, cutOff <-chan struct{}) {
	defer close(cc.pumped)
	for {
		select {
		case ev := <-evs:
			if cc.event(ev) != nil {
				return
			}
		case <-cutOff:
			cc.closeFrom(closeTooSlow, "too far behind: reconnect and resync")
			return
		case <-cc.ctx.Done():
			return
		}
	}
}

// event passes one event on to the client.
func (cc *chatConn) event(ev *events.Event) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ending {
		return errClosed
	}
	frames, leave, err := cc.sess.Event(cc.ctx, *ev)
	if leave {
		cc.hub.Unsubscribe(ev.ConversationSid)
	}
	for _, f := range frames {
		if err := cc.write(f); err != nil {
			return err
		}
	}
	if err != nil {
		// The client resyncs on its next subscribe; the socket stays.
		cc.cs.log.Error("chat event", "type", ev.Type, "conversation", ev.ConversationSid, "err", err)
	}
	return nil
}

// pingNow pings the client, and again chatPingEvery later.
func (cc *chatConn) pingNow() {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ending {
		return
	}
	if err := cc.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(chatWriteWait)); err != nil {
		cc.fail()
		return
	}
	cc.ping.Reset(chatPingEvery)
}

// setExpiry warns the client a minute before its token expires and closes
// the socket when it does. Caller holds cc.mu.
func (cc *chatConn) setExpiry() {
	if cc.warn != nil {
		cc.warn.Stop()
		cc.expire.Stop()
	}
	cc.term++
	term := cc.term
	exp := cc.sess.Token().ExpiresAt
	cc.warn = time.AfterFunc(time.Until(exp.Add(-chatExpiryWarning)), func() {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if cc.ending || cc.term != term {
			return
		}
		_ = cc.write(chat.Frame{"type": "token_expiring", "expires_at": cc.sess.Token().ExpiresAt})
	})
	cc.expire = time.AfterFunc(time.Until(exp), func() {
		cc.mu.Lock()
		defer cc.mu.Unlock()
		if cc.ending || cc.term != term {
			return
		}
		_ = cc.close(closeToken, "the access token expired")
		cc.window.end()
	})
}

// handleLocked answers one client frame under cc.mu.
func (cc *chatConn) handleLocked(f clientFrame) error {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ending {
		return errClosed
	}
	if err := cc.handle(f); err != nil {
		return err
	}
	if f.Type == "auth" {
		cc.setExpiry()
	}
	return nil
}

// handle answers one client frame. Errors the client caused are answered
// with an error frame and keep the connection; the returned error ends it.
func (cc *chatConn) handle(f clientFrame) error {
	if len(f.ID) > 64 {
		return cc.close(closeProtocol, "a frame id is at most 64 characters")
	}
	ctx, sess := cc.ctx, cc.sess
	var reply chat.Frame
	var frames []chat.Frame
	var err error
	switch f.Type {
	case "auth":
		if err = sess.Refresh(ctx, f.Token); err != nil {
			_ = cc.writeError(f.ID, err)
			return cc.close(closeToken, "invalid access token")
		}
		reply, err = sess.Ready(ctx)
	case "subscribe":
		if err = needConversation(f); err != nil {
			break
		}
		if !sid.Is(f.ConversationSid, sid.Conversation) {
			// Pushes go to the SID's subscribers: under a unique name the
			// conversation would never be pushed.
			err = errs.Invalidf("A subscribe frame's conversation_sid must be a conversation SID (CH…), not %q", f.ConversationSid)
			break
		}
		if !sess.Subscribed(f.ConversationSid) && sess.Subscriptions() >= chatMaxSubscribed {
			err = errs.E(errs.Invalid, errs.CodeInvalidParam, "A connection follows at most %d conversations", chatMaxSubscribed)
			break
		}
		// Live events first, so none falls between the history and them.
		cc.hub.Subscribe(f.ConversationSid)
		if evs := cc.hub.Events(); evs != nil && cc.pumped == nil {
			cc.pumped = make(chan struct{})
			go cc.pump(evs, cc.hub.CutOff())
		}
		if frames, err = sess.Subscribe(ctx, f.ConversationSid, f.AfterIndex); err != nil && !sess.Subscribed(f.ConversationSid) {
			cc.hub.Unsubscribe(f.ConversationSid)
		}
	case "unsubscribe":
		sess.Unsubscribe(f.ConversationSid)
		cc.hub.Unsubscribe(f.ConversationSid)
		reply = chat.Frame{"type": "ack"}
	case "resync":
		if err = needConversation(f); err == nil {
			after := int64(-1)
			if f.AfterIndex != nil {
				after = *f.AfterIndex
			}
			reply, err = sess.Resync(ctx, f.ConversationSid, after)
		}
	case "send":
		if err = needConversation(f); err != nil {
			break
		}
		if cc.cs.limits != nil && !cc.cs.limits.AllowMessage(sess.Token().Identity) {
			err = errs.E(errs.RateLimited, errs.CodeRateLimit, "Too many messages: at most 5 per second")
			break
		}
		if cc.cs.media != nil {
			tok := sess.Token()
			if err = cc.cs.media.CheckMessageMedia(ctx, tok.Identity, tok.ChatServiceSid, f.MediaSids); err != nil {
				break
			}
		}
		reply, err = sess.Send(ctx, f.ConversationSid, f.Body, f.MediaSids, f.Attributes)
	case "typing":
		if err = needConversation(f); err == nil {
			err = sess.Typing(ctx, f.ConversationSid, f.Typing)
		}
	case "read":
		if err = needConversation(f); err != nil {
			break
		}
		if f.Index == nil {
			err = errs.Invalidf("A read frame needs an index")
			break
		}
		if err = sess.Read(ctx, f.ConversationSid, *f.Index); err == nil {
			reply = chat.Frame{"type": "ack"}
		}
	case "ping":
		reply = chat.Frame{"type": "pong"}
	default:
		return cc.close(closeProtocol, "unknown or malformed frame")
	}
	if err != nil {
		return cc.writeError(f.ID, err)
	}
	if reply != nil {
		frames = append(frames, reply)
	}
	if f.ID != "" && len(frames) > 0 {
		frames[len(frames)-1]["id"] = f.ID // the frame that completes the answer
	}
	for _, fr := range frames {
		if err := cc.write(fr); err != nil {
			return err
		}
	}
	return nil
}

func needConversation(f clientFrame) error {
	if f.ConversationSid == "" {
		return errs.Invalidf("A %s frame needs a conversation_sid", f.Type)
	}
	return nil
}

// write sends a data frame; a failed write ends the connection. Caller
// holds cc.mu.
func (cc *chatConn) write(f chat.Frame) error {
	_ = cc.ws.SetWriteDeadline(time.Now().Add(chatWriteWait))
	if err := cc.ws.WriteJSON(f); err != nil {
		cc.fail()
		return err
	}
	return nil
}

// writeError answers a frame with an error frame in the REST API's terms.
// Caller holds cc.mu.
func (cc *chatConn) writeError(id string, err error) error {
	e := errs.As(err)
	if e.Kind == errs.Internal {
		cc.cs.log.Error("chat", "err", err)
	}
	f := chat.Frame{"type": "error", "code": errs.CodeOf(err), "message": e.Message, "status": statusOf(e.Kind)}
	if id != "" {
		f["id"] = id
	}
	return cc.write(f)
}

// close sends a closing frame and reports errClosed; nothing is written
// after it. Caller holds cc.mu.
func (cc *chatConn) close(code int, reason string) error {
	cc.ending = true
	_ = cc.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(chatWriteWait))
	return errClosed
}

// fail ends a connection whose writes fail. Caller holds cc.mu.
func (cc *chatConn) fail() {
	cc.ending = true
	cc.window.end()
}

// closeFrom closes the connection from outside the handler's goroutine,
// ending its blocking read.
func (cc *chatConn) closeFrom(code int, reason string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.ending {
		return
	}
	_ = cc.close(code, reason)
	cc.window.end()
}

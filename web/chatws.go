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

// chatConn is one open socket. Two goroutines serve it: the handler's,
// which does all the work and every write, and a reader that only turns
// incoming frames into clientFrames.
type chatConn struct {
	cs   *chatSocket
	ws   *fiberws.Conn
	ctx  context.Context
	hub  *realtime.Conn
	sess *chat.Session
	in   chan clientFrame

	window *readWindow
}

// errClosed ends the handler after a closing frame was sent.
var errClosed = errors.New("connection closed")

func (cs *chatSocket) serve(ws *fiberws.Conn) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One frame of read-ahead: the reader waits while the handler works,
	// and an idle socket holds one frame's slot, not several.
	cc := &chatConn{cs: cs, ws: ws, ctx: ctx, in: make(chan clientFrame, 1)}
	ws.SetReadLimit(chatMaxFrame)
	cc.window = newReadWindow(ws, chatSilenceLimit)
	go cc.read()
	defer func() {
		// Unblock and end the reader: it may wait on a silent client.
		cc.window.end()
		for range cc.in {
		}
	}()

	tok, ok := ws.Locals(keyChatToken).(auth.AccessToken)
	if !ok {
		var err error
		if tok, err = cc.awaitAuth(); err != nil {
			return
		}
	}
	if !cs.admit(tok.Identity) {
		_ = cc.close(closeTooMany, "too many connections for this identity")
		return
	}
	defer cs.release(tok.Identity)
	base, _ := ws.Locals(keyChatBase).(string)
	cc.sess = cs.chat.NewSession(tok, base)
	cc.hub = cs.hub.Connect()
	defer cc.hub.Close()
	// The ready frame's queries run deep (gorm, pgx): on a goroutine of
	// their own they leave this one, which lives as long as the socket,
	// with a small stack.
	readied := make(chan error, 1)
	go func() { readied <- cc.ready() }()
	if err := <-readied; err != nil {
		return
	}
	_ = cc.loop()
}

// read forwards the client's frames until the socket fails or closes.
func (cc *chatConn) read() {
	defer close(cc.in)
	for {
		kind, data, err := cc.ws.ReadMessage()
		if err != nil {
			return
		}
		_ = cc.window.extend()
		var f clientFrame
		if kind != websocket.TextMessage || json.Unmarshal(data, &f) != nil || f.Type == "" {
			f = clientFrame{Type: "\x00malformed"}
		}
		select {
		case cc.in <- f:
		case <-cc.ctx.Done():
			return
		}
	}
}

// awaitAuth waits for the first frame, which must be an auth frame.
func (cc *chatConn) awaitAuth() (auth.AccessToken, error) {
	timer := time.NewTimer(chatAuthWait)
	defer timer.Stop()
	select {
	case f, ok := <-cc.in:
		if !ok {
			return auth.AccessToken{}, errClosed
		}
		if f.Type != "auth" {
			return auth.AccessToken{}, cc.close(closeToken, "the first frame must be an auth frame")
		}
		tok, err := cc.cs.chat.Authenticate(cc.ctx, f.Token)
		if err != nil {
			_ = cc.writeError(f.ID, err)
			return tok, cc.close(closeToken, "invalid access token")
		}
		return tok, nil
	case <-timer.C:
		return auth.AccessToken{}, cc.close(closeToken, "no auth frame within 10 seconds")
	case <-cc.cs.done:
		return auth.AccessToken{}, cc.close(closeGoingAway, "server shutting down")
	}
}

func (cc *chatConn) ready() error {
	f, err := cc.sess.Ready(cc.ctx)
	if err != nil {
		return cc.writeError("", err)
	}
	return cc.write(f)
}

// loop serves the connection until it ends: client frames, events of the
// subscribed conversations, pings and the token's expiry, one at a time.
func (cc *chatConn) loop() error {
	ping := time.NewTicker(chatPingEvery)
	defer ping.Stop()
	warn, expire := cc.expiryTimers()
	defer func() { warn.Stop(); expire.Stop() }()
	for {
		var err error
		select {
		case f, ok := <-cc.in:
			if !ok {
				return errClosed // a frame over the limit was answered with 1009 by the library
			}
			refreshed := f.Type == "auth"
			err = cc.handle(f)
			if refreshed && err == nil {
				warn.Stop()
				expire.Stop()
				warn, expire = cc.expiryTimers()
			}
		case ev := <-cc.hub.Events():
			var frames []chat.Frame
			var leave bool
			frames, leave, err = cc.sess.Event(cc.ctx, *ev)
			if leave {
				cc.hub.Unsubscribe(ev.ConversationSid)
			}
			for _, f := range frames {
				if err := cc.write(f); err != nil {
					return err
				}
			}
			if err != nil {
				cc.cs.log.Error("chat event", "type", ev.Type, "conversation", ev.ConversationSid, "err", err)
				err = nil // the client resyncs on its next subscribe; the socket stays
			}
		case <-cc.hub.CutOff():
			return cc.close(closeTooSlow, "too far behind: reconnect and resync")
		case <-ping.C:
			err = cc.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(chatWriteWait))
		case <-warn.C:
			err = cc.write(chat.Frame{"type": "token_expiring", "expires_at": cc.sess.Token().ExpiresAt})
		case <-expire.C:
			return cc.close(closeToken, "the access token expired")
		case <-cc.cs.done:
			return cc.close(closeGoingAway, "server shutting down")
		}
		if err != nil {
			return err
		}
	}
}

// expiryTimers fire a minute before the token expires and when it does.
func (cc *chatConn) expiryTimers() (warn, expire *time.Timer) {
	exp := cc.sess.Token().ExpiresAt
	return time.NewTimer(time.Until(exp.Add(-chatExpiryWarning))), time.NewTimer(time.Until(exp))
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

func (cc *chatConn) write(f chat.Frame) error {
	_ = cc.ws.SetWriteDeadline(time.Now().Add(chatWriteWait))
	return cc.ws.WriteJSON(f)
}

// writeError answers a frame with an error frame in the REST API's terms.
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

// close sends a closing frame and reports errClosed.
func (cc *chatConn) close(code int, reason string) error {
	_ = cc.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(chatWriteWait))
	return errClosed
}

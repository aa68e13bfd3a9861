package switchboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/twilio/twilio-go/client/jwt"

	"github.com/switchboardhq/switchboard/internal/twiliosig"
)

// SMS customers text a number through a Twilio-kind carrier webhook,
// signed as Twilio signs it. Customer c writes from SMSAddress(c).
type SMS struct {
	URL       string // the carrier account's webhook URL
	AuthToken string // the carrier account's secret
	To        string // our number
	N         int
	HTTP      *http.Client
}

// SMSAddress is customer c's phone number.
func SMSAddress(c int) string { return fmt.Sprintf("+1555%07d", c) }

// Name implements loadgen.Customer.
func (s *SMS) Name() string { return "sms webhook" }

// Customers implements loadgen.Customer.
func (s *SMS) Customers() int { return s.N }

// Send posts customer c's message as the carrier would, and succeeds on
// the carrier's 200.
func (s *SMS) Send(ctx context.Context, c int, body string) error {
	var id [16]byte
	_, _ = rand.Read(id[:])
	form := url.Values{"MessageSid": {"SM" + hex.EncodeToString(id[:])}, "AccountSid": {"AC" + strings.Repeat("0", 32)},
		"From": {SMSAddress(c)}, "To": {s.To}, "Body": {body}, "NumMedia": {"0"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twiliosig.Header, twiliosig.Sign(s.AuthToken, s.URL, form))
	resp, err := s.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("webhook: %d %.200s", resp.StatusCode, b)
	}
	return nil
}

// Key is an API key that signs chat access tokens.
type Key struct {
	AccountSid string `json:"account_sid"`
	Sid        string `json:"sid"`
	Secret     string `json:"secret"`
}

// Token mints an access token for a chat identity in service, as a back
// end does with Twilio's helper library.
func (k Key) Token(identity, service string, ttl time.Duration) (string, error) {
	t := jwt.CreateAccessToken(jwt.AccessTokenParams{AccountSid: k.AccountSid, SigningKeySid: k.Sid, Secret: k.Secret,
		Identity: identity, Ttl: ttl.Seconds()})
	t.AddGrant(&jwt.ChatGrant{ServiceSid: service})
	return t.ToJwt()
}

// ChatHeader is the upgrade request's header authenticating identity.
func (k Key) ChatHeader(identity, service string) (http.Header, error) {
	tok, err := k.Token(identity, service, 6*time.Hour)
	if err != nil {
		return nil, err
	}
	return http.Header{"Authorization": {"Bearer " + tok}}, nil
}

// ChatURL is the chat protocol's WebSocket URL on a server.
func ChatURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/v1/chat/ws" }

// Chat is one chat client on the chat protocol: a website visitor.
type Chat struct {
	ws      *websocket.Conn
	observe Frames
	wmu     sync.Mutex
	ids     atomic.Int64
	mu      sync.Mutex
	waiting map[string]chan error
	ready   chan struct{}
}

// DialChat connects identity's chat socket and waits for ready.
func DialChat(ctx context.Context, base string, header http.Header, observe Frames) (*Chat, error) {
	ws, _, err := websocket.DefaultDialer.DialContext(ctx, ChatURL(base), header)
	if err != nil {
		return nil, err
	}
	c := &Chat{ws: ws, observe: observe, waiting: map[string]chan error{}, ready: make(chan struct{})}
	go c.read()
	select {
	case <-c.ready:
		return c, nil
	case <-time.After(10 * time.Second):
		_ = ws.Close()
		return nil, fmt.Errorf("chat socket: no ready frame")
	}
}

type serverFrame struct {
	Type    string `json:"type"`
	ID      string `json:"id"`
	Code    int    `json:"code"`
	Message any    `json:"message"`
}

func (c *Chat) read() {
	readied := false
	for {
		_, frame, err := c.ws.ReadMessage()
		if err != nil {
			c.mu.Lock()
			for id, ch := range c.waiting {
				ch <- err
				delete(c.waiting, id)
			}
			c.mu.Unlock()
			return
		}
		at := time.Now()
		if c.observe != nil {
			c.observe(frame, at)
		}
		var f serverFrame
		if json.Unmarshal(frame, &f) != nil {
			continue
		}
		switch {
		case f.Type == "ready" && !readied:
			readied = true
			close(c.ready)
		case (f.Type == "ack" || f.Type == "error" || f.Type == "history") && f.ID != "":
			c.mu.Lock()
			ch := c.waiting[f.ID]
			delete(c.waiting, f.ID)
			c.mu.Unlock()
			if ch != nil {
				if f.Type == "error" {
					ch <- fmt.Errorf("chat: error %d: %v", f.Code, f.Message)
				} else {
					ch <- nil
				}
			}
		}
	}
}

// request sends a frame with a fresh id and waits for its answer.
func (c *Chat) request(ctx context.Context, frame map[string]any) error {
	id := strconv.FormatInt(c.ids.Add(1), 10)
	frame["id"] = id
	ch := make(chan error, 1)
	c.mu.Lock()
	c.waiting[id] = ch
	c.mu.Unlock()
	b, _ := json.Marshal(frame)
	c.wmu.Lock()
	err := c.ws.WriteMessage(websocket.TextMessage, b)
	c.wmu.Unlock()
	if err != nil {
		return err
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Subscribe follows a conversation: its new messages are pushed. It
// returns once the history, the last frame of the answer, has come.
func (c *Chat) Subscribe(ctx context.Context, conversationSid string) error {
	return c.request(ctx, map[string]any{"type": "subscribe", "conversation_sid": conversationSid})
}

// Send writes a message and waits for its ack.
func (c *Chat) Send(ctx context.Context, conversationSid, body string) error {
	return c.request(ctx, map[string]any{"type": "send", "conversation_sid": conversationSid, "body": body})
}

// Close closes the socket.
func (c *Chat) Close() { _ = c.ws.Close() }

// ChatCustomers are website visitors writing over the chat protocol, one
// socket and conversation each.
type ChatCustomers struct {
	Clients       []*Chat
	Conversations []string
}

// Name implements loadgen.Customer.
func (cc *ChatCustomers) Name() string { return "chat protocol" }

// Customers implements loadgen.Customer.
func (cc *ChatCustomers) Customers() int { return len(cc.Clients) }

// Send implements loadgen.Customer: customer c writes in its conversation.
func (cc *ChatCustomers) Send(ctx context.Context, c int, body string) error {
	return cc.Clients[c].Send(ctx, cc.Conversations[c], body)
}

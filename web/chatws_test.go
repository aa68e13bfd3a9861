package web_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	twjwt "github.com/twilio/twilio-go/client/jwt"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// chatClient is a test's chat protocol client: it reads every frame into a
// queue that the test awaits frames from.
type chatClient struct {
	t      *testing.T
	ws     *websocket.Conn
	mu     sync.Mutex
	frames []map[string]any
	wake   chan struct{}
	closed chan struct{}
	// closeCode is the code the server closed with (valid once closed is).
	closeCode int
}

func chatURL(s *webtest.Server) string {
	return "ws" + strings.TrimPrefix(s.URL, "http") + "/v1/chat/ws"
}

// dialChat connects without authenticating.
func dialChat(t *testing.T, s *webtest.Server, header http.Header) *chatClient {
	t.Helper()
	ws, res, err := websocket.DefaultDialer.Dial(chatURL(s), header)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial: %v (HTTP %d)", err, status)
	}
	c := &chatClient{t: t, ws: ws, wake: make(chan struct{}, 1), closed: make(chan struct{})}
	t.Cleanup(func() { _ = ws.Close() })
	go c.read()
	return c
}

// connectChat connects and authenticates with token, returning once ready.
func connectChat(t *testing.T, s *webtest.Server, token string) *chatClient {
	t.Helper()
	c := dialChat(t, s, nil)
	c.send(map[string]any{"type": "auth", "token": token})
	c.await("ready", nil)
	return c
}

func (c *chatClient) read() {
	defer close(c.closed)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if ok := asCloseError(err, &ce); ok {
				c.closeCode = ce.Code
			}
			return
		}
		var f map[string]any
		if err := json.Unmarshal(data, &f); err != nil {
			c.t.Errorf("the server sent a frame that is not JSON: %s", data)
			return
		}
		c.mu.Lock()
		c.frames = append(c.frames, f)
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func asCloseError(err error, ce **websocket.CloseError) bool {
	e, ok := err.(*websocket.CloseError)
	if ok {
		*ce = e
	}
	return ok
}

func (c *chatClient) send(f map[string]any) {
	c.t.Helper()
	if err := c.ws.WriteJSON(f); err != nil {
		c.t.Fatalf("send %v: %v", f["type"], err)
	}
}

// await removes and returns the first queued frame of type typ that match
// accepts (nil accepts any), waiting for it up to 20 s.
func (c *chatClient) await(typ string, match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		c.mu.Lock()
		for i, f := range c.frames {
			if f["type"] == typ && (match == nil || match(f)) {
				c.frames = append(c.frames[:i:i], c.frames[i+1:]...)
				c.mu.Unlock()
				return f
			}
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.closed:
			c.mu.Lock()
			n := len(c.frames)
			c.mu.Unlock()
			if n == 0 {
				c.t.Fatalf("the server closed the connection (code %d) while a %s frame was awaited", c.closeCode, typ)
			}
			select {
			case <-c.wake:
			case <-time.After(50 * time.Millisecond):
				c.t.Fatalf("no %s frame before the connection closed (code %d); queued: %v", typ, c.closeCode, c.queued())
			}
		case <-deadline:
			c.t.Fatalf("no %s frame within 20 s; queued: %v", typ, c.queued())
		}
	}
}

func (c *chatClient) queued() []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]any, len(c.frames))
	for i, f := range c.frames {
		out[i] = f["type"]
	}
	return out
}

// awaitClose waits for the server to close the connection and returns its code.
func (c *chatClient) awaitClose() int {
	c.t.Helper()
	select {
	case <-c.closed:
		return c.closeCode
	case <-time.After(20 * time.Second):
		c.t.Fatal("the server did not close the connection")
		return 0
	}
}

// take removes every queued frame of type typ.
func (c *chatClient) take(typ string) []map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out, rest []map[string]any
	for _, f := range c.frames {
		if f["type"] == typ {
			out = append(out, f)
		} else {
			rest = append(rest, f)
		}
	}
	c.frames = rest
	return out
}

func forConversation(sid string) func(map[string]any) bool {
	return func(f map[string]any) bool { return f["conversation_sid"] == sid }
}

// index reads a message frame's index.
func index(f map[string]any) int64 {
	return int64(f["message"].(map[string]any)["index"].(float64))
}

// chatFixture is a conversation with a customer (alice) and an agent (Anna).
type chatFixture struct {
	s            *webtest.Server
	service      string
	conversation string
	agent        string // Anna's participant SID
}

func newChatFixture(t *testing.T, s *webtest.Server) chatFixture {
	t.Helper()
	cv, err := s.Twilio.ConversationsV1.CreateConversation(&conv.CreateConversationParams{})
	if err != nil {
		t.Fatal(err)
	}
	f := chatFixture{s: s, service: *cv.ChatServiceSid, conversation: *cv.Sid}
	f.join(t, f.conversation, "alice", `{"friendlyName":"Alice"}`)
	f.agent = f.join(t, f.conversation, "anna", `{"friendlyName":"Anna","worker_sid":"WK00000000000000000000000000000001"}`)
	return f
}

func (f chatFixture) join(t *testing.T, conversationSid, identity, attributes string) string {
	t.Helper()
	p, err := f.s.Twilio.ConversationsV1.CreateConversationParticipant(conversationSid,
		(&conv.CreateConversationParticipantParams{}).SetIdentity(identity).SetAttributes(attributes))
	if err != nil {
		t.Fatal(err)
	}
	return *p.Sid
}

func (f chatFixture) token(t *testing.T, identity string) string {
	t.Helper()
	tok, _, err := f.s.Tokens.Mint(t.Context(), identity, f.service, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// post sends a message through the REST API as author.
func (f chatFixture) post(t *testing.T, conversationSid, author, body string) int64 {
	t.Helper()
	m, err := f.s.Twilio.ConversationsV1.CreateConversationMessage(conversationSid,
		(&conv.CreateConversationMessageParams{}).SetAuthor(author).SetBody(body))
	if err != nil {
		t.Fatal(err)
	}
	return int64(m.Index)
}

func TestChatClientSeesItsConversationLive(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		f := newChatFixture(t, s)
		alice := connectChat(t, s, f.token(t, "alice"))
		alice.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation, "id": "s1"})
		sub := alice.await("subscribed", nil)
		names := map[string]string{}
		for _, p := range sub["participants"].([]any) {
			p := p.(map[string]any)
			names[p["display_name"].(string)] = p["role"].(string)
		}
		if names["Alice"] != "customer" || names["Anna"] != "agent" {
			t.Fatalf("participants %v, want Alice the customer and Anna the agent", names)
		}
		if h := alice.await("history", nil); len(h["messages"].([]any)) != 0 || h["complete"] != true || h["id"] != "s1" {
			t.Fatalf("history of a new conversation: %v", h)
		}

		f.post(t, f.conversation, "anna", "Hi, I am Anna")
		m := alice.await("message_added", nil)["message"].(map[string]any)
		if m["author_name"] != "Anna" || m["body"] != "Hi, I am Anna" || m["index"] != 0.0 {
			t.Fatalf("message_added %v", m)
		}

		alice.send(map[string]any{"type": "send", "id": "m1", "conversation_sid": f.conversation, "body": "Hello Anna"})
		ack := alice.await("ack", func(a map[string]any) bool { return a["id"] == "m1" })
		if ack["message"].(map[string]any)["index"] != 1.0 {
			t.Fatalf("ack %v, want the message at index 1", ack)
		}
		msgs, err := s.Twilio.ConversationsV1.ListConversationMessage(f.conversation, &conv.ListConversationMessageParams{})
		if err != nil || len(msgs) != 2 || *msgs[1].Author != "alice" || *msgs[1].Body != "Hello Anna" {
			t.Fatalf("stored messages %d (%v), want alice's as the second", len(msgs), err)
		}

		// The agent types and reads; alice sees both, named.
		anna := connectChat(t, s, f.token(t, "anna"))
		anna.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation, "after_index": 1})
		anna.await("subscribed", nil)
		anna.send(map[string]any{"type": "typing", "conversation_sid": f.conversation, "typing": true})
		if ty := alice.await("typing", nil); ty["display_name"] != "Anna" || ty["typing"] != true {
			t.Fatalf("typing %v", ty)
		}
		anna.send(map[string]any{"type": "read", "id": "r1", "conversation_sid": f.conversation, "index": 1})
		anna.await("ack", func(a map[string]any) bool { return a["id"] == "r1" })
		alice.await("participant_updated", func(u map[string]any) bool {
			p := u["participant"].(map[string]any)
			return p["sid"] == f.agent && p["last_read_message_index"] == 1.0
		})
		if own := anna.take("typing"); len(own) != 0 {
			t.Fatalf("anna was told of her own typing: %v", own)
		}

		// The agent leaves: alice is told who left.
		if err := s.Twilio.ConversationsV1.DeleteConversationParticipant(f.conversation, f.agent, nil); err != nil {
			t.Fatal(err)
		}
		left := alice.await("participant_left", nil)
		if left["participant"].(map[string]any)["display_name"] != "Anna" {
			t.Fatalf("participant_left %v", left)
		}
		anna.await("participant_left", nil)
		anna.send(map[string]any{"type": "send", "id": "m2", "conversation_sid": f.conversation, "body": "still here?"})
		if e := anna.await("error", nil); e["code"] != 20404.0 || e["id"] != "m2" {
			t.Fatalf("a participant who left sent into the conversation: %v", e)
		}
	})
}

func TestConcurrentClientsGetEveryMessageOnceInOrder(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		f := newChatFixture(t, s)
		const (
			conversations = 3
			clients       = 8 // per conversation, each its own identity
			perSender     = 10
		)
		type follower struct {
			c            *chatClient
			conversation string
		}
		var followers []follower
		var senders []follower
		for range conversations {
			cv, err := s.Twilio.ConversationsV1.CreateConversation(&conv.CreateConversationParams{})
			if err != nil {
				t.Fatal(err)
			}
			for j := range clients {
				id := fmt.Sprintf("u%d-%s", j, (*cv.Sid)[2:8])
				f.join(t, *cv.Sid, id, "{}")
				c := connectChat(t, s, f.token(t, id))
				c.send(map[string]any{"type": "subscribe", "conversation_sid": *cv.Sid})
				c.await("subscribed", nil)
				c.await("history", nil)
				followers = append(followers, follower{c, *cv.Sid})
				if j < 2 {
					senders = append(senders, follower{c, *cv.Sid})
				}
			}
		}
		// Two protocol senders and one REST sender per conversation, all at once.
		var wg sync.WaitGroup
		for i, sd := range senders {
			wg.Go(func() {
				for k := range perSender {
					sd.c.send(map[string]any{"type": "send", "conversation_sid": sd.conversation, "body": fmt.Sprintf("s%d-%d", i, k)})
					time.Sleep(time.Duration(k%3) * time.Millisecond) // stay under the rate limit's burst
				}
			})
		}
		for i := 0; i < len(followers); i += clients {
			cs := followers[i].conversation
			wg.Go(func() {
				for k := range perSender {
					f.post(t, cs, "system", fmt.Sprintf("rest-%d", k))
				}
			})
		}
		wg.Wait()
		const total = 3 * perSender // two protocol senders and the REST sender
		for _, fl := range followers {
			for want := int64(0); want < total; want++ {
				got := index(fl.c.await("message_added", forConversation(fl.conversation)))
				if got != want {
					t.Fatalf("a client of %s got index %d, want %d: every index once, in order", fl.conversation, got, want)
				}
			}
			if extra := fl.c.take("message_added"); len(extra) != 0 {
				t.Fatalf("a client got %d messages beyond the %d sent", len(extra), total)
			}
		}
	})
}

func TestReconnectingClientGetsExactlyWhatItMissed(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		f := newChatFixture(t, s)
		token := f.token(t, "alice")
		alice := connectChat(t, s, token)
		alice.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
		alice.await("history", nil)
		for i := range 3 {
			f.post(t, f.conversation, "anna", fmt.Sprintf("before %d", i))
		}
		var last int64
		for range 3 {
			last = index(alice.await("message_added", nil))
		}
		_ = alice.ws.Close() // the network drops

		for i := range 4 {
			f.post(t, f.conversation, "anna", fmt.Sprintf("missed %d", i))
		}
		back := connectChat(t, s, token)
		back.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation, "after_index": last})
		h := back.await("history", nil)
		msgs := h["messages"].([]any)
		if len(msgs) != 4 || h["complete"] != true {
			t.Fatalf("history after index %d has %d messages (complete %v), want exactly the 4 missed", last, len(msgs), h["complete"])
		}
		for i, m := range msgs {
			m := m.(map[string]any)
			if m["index"] != float64(last+1+int64(i)) || m["body"] != fmt.Sprintf("missed %d", i) {
				t.Fatalf("missed message %d is %v", i, m)
			}
		}
		f.post(t, f.conversation, "anna", "after")
		if got := index(back.await("message_added", nil)); got != last+5 {
			t.Fatalf("the next live message has index %d, want %d", got, last+5)
		}
		if extra := back.take("message_added"); len(extra) != 0 {
			t.Fatalf("the reconnected client got %d duplicates", len(extra))
		}
	})
}

func TestASlowClientIsCutOffWithoutHoldingUpOthers(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite), webtest.WithHubBuffer(16))
	f := newChatFixture(t, s)
	slow := connectQuiet(t, s, f.token(t, "alice"), f.conversation)
	fast := connectChat(t, s, f.token(t, "anna"))
	fast.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
	fast.await("history", nil)

	// The slow client never reads again: the server's socket buffer fills,
	// then the connection's queue in the hub.
	body := strings.Repeat("x", 30000)
	const n = 400
	for i := range n {
		f.post(t, f.conversation, "system", fmt.Sprintf("%d %s", i, body))
	}
	for want := range int64(n) {
		if got := index(fast.await("message_added", nil)); got != want {
			t.Fatalf("the fast client got index %d, want %d", got, want)
		}
	}
	if s.Hub.Stats().CutOff == 0 {
		t.Fatal("the hub never cut the slow client off")
	}
	_ = slow.Close()
}

// connectQuiet authenticates and subscribes, reading only until the
// history, with a small receive buffer so that not reading fills it fast.
func connectQuiet(t *testing.T, s *webtest.Server, token, conversationSid string) *websocket.Conn {
	t.Helper()
	dialer := websocket.Dialer{NetDial: func(network, addr string) (net.Conn, error) {
		c, err := net.Dial(network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(4096)
		}
		return c, err
	}}
	ws, _, err := dialer.Dial(chatURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []map[string]any{{"type": "auth", "token": token}, {"type": "subscribe", "conversation_sid": conversationSid}} {
		if err := ws.WriteJSON(f); err != nil {
			t.Fatal(err)
		}
	}
	for {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatal(err)
		}
		if f["type"] == "history" {
			return ws
		}
	}
}

func TestChatTokens(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		f := newChatFixture(t, s)
		key, secret, err := s.Accounts.CreateAPIKey(t.Context(), "chat test")
		if err != nil {
			t.Fatal(err)
		}
		twilioToken := func(identity string, ttl float64) string {
			tok := twjwt.CreateAccessToken(twjwt.AccessTokenParams{AccountSid: s.AccountSid, SigningKeySid: key.Sid, Secret: secret,
				Identity: identity, Ttl: ttl})
			tok.AddGrant(&twjwt.ChatGrant{ServiceSid: f.service})
			jwt, err := tok.ToJwt()
			if err != nil {
				t.Fatal(err)
			}
			return jwt
		}

		t.Run("a token minted by twilio-go works as the first frame", func(t *testing.T) {
			c := connectChat(t, s, twilioToken("alice", 3600))
			c.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
			c.await("subscribed", nil)
		})
		t.Run("and as a header", func(t *testing.T) {
			c := dialChat(t, s, http.Header{"Authorization": {"Bearer " + twilioToken("alice", 3600)}})
			if r := c.await("ready", nil); r["identity"] != "alice" {
				t.Fatalf("ready %v", r)
			}
		})
		t.Run("a bad header token is refused before the upgrade", func(t *testing.T) {
			_, res, err := websocket.DefaultDialer.Dial(chatURL(s), http.Header{"Authorization": {"Bearer nonsense"}})
			if err == nil || res == nil || res.StatusCode != http.StatusUnauthorized {
				t.Fatalf("dial with a bad token: %v, %v", err, res)
			}
		})
		for _, tc := range []struct {
			name  string
			token string
			code  float64
		}{
			{"an expired token", expiredToken(t, s, key.Sid, secret, f.service), 20104},
			{"a token signed with another secret", twilioTokenSignedWith(t, s.AccountSid, key.Sid, "not-the-secret-at-all-000000000000", f.service), 20107},
			{"garbage", "not.a.jwt", 20101},
		} {
			t.Run(tc.name+" is refused", func(t *testing.T) {
				c := dialChat(t, s, nil)
				c.send(map[string]any{"type": "auth", "token": tc.token})
				if e := c.await("error", nil); e["code"] != tc.code {
					t.Fatalf("error %v, want code %v", e, tc.code)
				}
				if code := c.awaitClose(); code != 4401 {
					t.Fatalf("closed with %d, want 4401", code)
				}
			})
		}
		t.Run("another identity's conversation does not exist for a token", func(t *testing.T) {
			c := connectChat(t, s, twilioToken("mallory", 3600))
			c.send(map[string]any{"type": "subscribe", "id": "x", "conversation_sid": f.conversation})
			if e := c.await("error", nil); e["code"] != 20404.0 || e["id"] != "x" {
				t.Fatalf("error %v, want 20404", e)
			}
			c.send(map[string]any{"type": "send", "id": "y", "conversation_sid": f.conversation, "body": "let me in"})
			if e := c.await("error", nil); e["code"] != 20404.0 {
				t.Fatalf("error %v, want 20404", e)
			}
		})
		t.Run("a silent client is closed", func(t *testing.T) {
			c := dialChat(t, s, nil)
			c.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
			if code := c.awaitClose(); code != 4401 {
				t.Fatalf("a client whose first frame is not auth was closed with %d, want 4401", code)
			}
		})
	})
}

func expiredToken(t *testing.T, s *webtest.Server, keySid, secret, service string) string {
	t.Helper()
	tok := twjwt.CreateAccessToken(twjwt.AccessTokenParams{AccountSid: s.AccountSid, SigningKeySid: keySid, Secret: secret,
		Identity: "alice", ValidUntil: float64(time.Now().Add(-time.Hour).Unix())})
	tok.AddGrant(&twjwt.ChatGrant{ServiceSid: service})
	jwt, err := tok.ToJwt()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func twilioTokenSignedWith(t *testing.T, accountSid, keySid, secret, service string) string {
	t.Helper()
	tok := twjwt.CreateAccessToken(twjwt.AccessTokenParams{AccountSid: accountSid, SigningKeySid: keySid, Secret: secret,
		Identity: "alice", Ttl: 3600})
	tok.AddGrant(&twjwt.ChatGrant{ServiceSid: service})
	jwt, err := tok.ToJwt()
	if err != nil {
		t.Fatal(err)
	}
	return jwt
}

func TestChatProtocolErrors(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	for _, tc := range []struct {
		name  string
		frame string
		code  int
	}{
		{"malformed JSON closes with 4400", `{"type":`, 4400},
		{"an unknown frame type closes with 4400", `{"type":"teleport"}`, 4400},
		{"a frame over 64 KiB closes with 1009", `{"type":"ping","id":"` + strings.Repeat("x", 70000) + `"}`, websocket.CloseMessageTooBig},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := connectChat(t, s, f.token(t, "alice"))
			// The server may close before an oversized frame is all written,
			// resetting the write; its closing frame has arrived by then.
			_ = c.ws.WriteMessage(websocket.TextMessage, []byte(tc.frame))
			if code := c.awaitClose(); code != tc.code {
				t.Fatalf("closed with %d, want %d", code, tc.code)
			}
		})
	}
	t.Run("an empty message is refused and nothing is stored", func(t *testing.T) {
		c := connectChat(t, s, f.token(t, "alice"))
		c.send(map[string]any{"type": "send", "id": "e", "conversation_sid": f.conversation, "body": ""})
		if e := c.await("error", nil); e["code"] != 21602.0 {
			t.Fatalf("error %v, want 21602", e)
		}
		if ms, _ := s.Twilio.ConversationsV1.ListConversationMessage(f.conversation, nil); len(ms) != 0 {
			t.Fatalf("%d messages stored", len(ms))
		}
	})
	t.Run("a flood of messages is refused beyond the rate limit", func(t *testing.T) {
		c := connectChat(t, s, f.token(t, "alice"))
		for i := range 30 {
			c.send(map[string]any{"type": "send", "id": fmt.Sprint(i), "conversation_sid": f.conversation, "body": "spam"})
		}
		c.await("error", func(e map[string]any) bool { return e["code"] == 20429.0 })
	})
}

func TestAClientThatMissedNothingGetsOnlyNewMessagesAfterReconnecting(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		f := newChatFixture(t, s)
		var last int64
		for i := range 3 {
			last = f.post(t, f.conversation, "anna", fmt.Sprintf("seen %d", i))
		}
		c := connectChat(t, s, f.token(t, "alice"))
		c.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation, "after_index": last})
		if h := c.await("history", nil); len(h["messages"].([]any)) != 0 {
			t.Fatalf("history after the last index: %v, want none", h["messages"])
		}
		f.post(t, f.conversation, "anna", "new")
		if got := index(c.await("message_added", nil)); got != last+1 {
			t.Fatalf("the first push has index %d, want %d: the messages up to after_index were sent again", got, last+1)
		}
		if extra := c.take("message_added"); len(extra) != 0 {
			t.Fatalf("%d more pushes after the new message", len(extra))
		}
	})
}

func TestAnIdentityThatLooksLikeAParticipantSidReachesNoOneElsesConversation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		f := newChatFixture(t, s)
		// A back end that mints tokens for user-chosen names lets a user be
		// called after anna's participant SID.
		c := connectChat(t, s, f.token(t, f.agent))
		c.send(map[string]any{"type": "subscribe", "id": "s", "conversation_sid": f.conversation})
		if e := c.await("error", nil); e["code"] != 20404.0 {
			t.Fatalf("error %v, want 20404: the token reached anna's conversation", e)
		}
		c.send(map[string]any{"type": "send", "id": "m", "conversation_sid": f.conversation, "body": "as anna"})
		if e := c.await("error", nil); e["code"] != 20404.0 {
			t.Fatalf("error %v, want 20404", e)
		}
		if ms, _ := s.Twilio.ConversationsV1.ListConversationMessage(f.conversation, nil); len(ms) != 0 {
			t.Fatalf("%d messages stored", len(ms))
		}
	})
}

func TestAConnectionTheServerClosedEndsEvenIfTheClientKeepsTalking(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	ws, _, err := websocket.DefaultDialer.Dial(chatURL(s), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ws.Close() })
	// The client never reads, so it never answers the server's close, and
	// it sends faster than the server answers: frames wait in the server's
	// queue when the protocol error closes the connection.
	if err := ws.WriteJSON(map[string]any{"type": "auth", "token": f.token(t, "alice")}); err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if err := ws.WriteJSON(map[string]any{"type": "ping"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"teleport"}`)); err != nil {
		t.Fatal(err)
	}
	for range 20 {
		if err := ws.WriteJSON(map[string]any{"type": "ping"}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := ws.WriteJSON(map[string]any{"type": "ping"}); err != nil {
			return // the server hung up
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("the server still reads a connection it closed for breaking the protocol, 5 s later")
}

func TestSubscribeTakesAConversationSidNotAUniqueName(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	unique := "worker:WK00000000000000000000000000000001" // a name that is also another topic of the hub
	if _, err := s.Twilio.ConversationsV1.UpdateConversation(f.conversation, (&conv.UpdateConversationParams{}).SetUniqueName(unique)); err != nil {
		t.Fatal(err)
	}
	c := connectChat(t, s, f.token(t, "alice"))
	// Followed under its unique name, the conversation would never be
	// pushed: pushes go to the SID's subscribers.
	c.send(map[string]any{"type": "subscribe", "id": "s", "conversation_sid": unique})
	if e := c.await("error", nil); e["code"] != 20001.0 || e["id"] != "s" {
		t.Fatalf("error %v, want 20001", e)
	}
	if st := s.Hub.Stats(); st.Topics != 0 {
		t.Fatalf("the hub follows %d topics for the refused subscribe", st.Topics)
	}
}

func TestTypingStopsArePassedOnOnlyAfterAStart(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	anna := connectChat(t, s, f.token(t, "anna"))
	anna.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
	anna.await("history", nil)
	alice := connectChat(t, s, f.token(t, "alice"))
	alice.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
	alice.await("history", nil)
	// Stops, and starts between stops, must not get round the limit on
	// starts: each would be a notification to every node.
	for range 10 {
		alice.send(map[string]any{"type": "typing", "conversation_sid": f.conversation, "typing": false})
		alice.send(map[string]any{"type": "typing", "conversation_sid": f.conversation, "typing": true})
	}
	alice.send(map[string]any{"type": "typing", "conversation_sid": f.conversation, "typing": false})
	alice.send(map[string]any{"type": "ping", "id": "p"})
	alice.await("pong", nil)
	time.Sleep(200 * time.Millisecond) // the signals reach anna
	if got := anna.take("typing"); len(got) != 2 || got[0]["typing"] != true || got[1]["typing"] != false {
		t.Fatalf("anna was told of typing %d times, want one start and one stop", len(got))
	}
}

func TestAWebchatGuestAttachesOneFilePerMessage(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newWebchat(t, s)
	sess := f.session(t)
	upload := func(name string) string {
		t.Helper()
		res, raw := bearer(t, s, "POST", "/webchat/v1/media?filename="+name, sess.Token, []byte("%PDF-1.4 x"), map[string]string{"Content-Type": "application/pdf"})
		var m struct{ Sid string }
		if res.StatusCode != http.StatusCreated || json.Unmarshal(raw, &m) != nil {
			t.Fatalf("upload answered %d %s", res.StatusCode, raw)
		}
		return m.Sid
	}
	a, b := upload("a.pdf"), upload("b.pdf")
	c := connectChat(t, s, sess.Token)
	c.send(map[string]any{"type": "send", "id": "two", "conversation_sid": sess.ConversationSid, "media_sids": []string{a, b}})
	if e := c.await("error", nil); e["code"] != 21623.0 || e["id"] != "two" {
		t.Fatalf("error %v, want 21623 for two attachments", e)
	}
	c.send(map[string]any{"type": "send", "id": "one", "conversation_sid": sess.ConversationSid, "media_sids": []string{a}})
	ack := c.await("ack", func(f map[string]any) bool { return f["id"] == "one" })
	if media := ack["message"].(map[string]any)["media"].([]any); len(media) != 1 {
		t.Fatalf("the message carries %d media, want 1", len(media))
	}
}

func TestOneIdentityHoldsAtMostTwentySockets(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	token := f.token(t, "alice")
	var open []*chatClient
	for range 20 {
		open = append(open, connectChat(t, s, token))
	}
	extra := dialChat(t, s, nil)
	extra.send(map[string]any{"type": "auth", "token": token})
	if code := extra.awaitClose(); code != 4429 {
		t.Fatalf("the 21st socket closed with %d, want 4429", code)
	}
	_ = open[0].ws.Close()
	<-open[0].closed
	waitUntil(t, func() bool {
		c := dialChat(t, s, nil)
		c.send(map[string]any{"type": "auth", "token": token})
		select {
		case <-c.closed:
			return false // the server had not seen the first close yet
		case <-time.After(200 * time.Millisecond):
		}
		return len(c.take("ready")) == 1
	})
}

// waitUntil polls cond for up to 10 s.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("the condition never held")
}

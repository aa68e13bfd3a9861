package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// deskAgent is a signed-in agent's browser, without a browser: the session
// cookie, the CSRF token, and requests as the page makes them.
type deskAgent struct {
	t      *testing.T
	s      *webtest.Server
	cookie *http.Cookie
	csrf   string
	staff  auth.Staff
}

func signInAgent(t *testing.T, s *webtest.Server, email, name string) deskAgent {
	t.Helper()
	cookie, csrf, staff := s.SignIn(t, email, name)
	return deskAgent{t: t, s: s, cookie: cookie, csrf: csrf, staff: staff}
}

// request is one request of the page: htmx-style (HX-Request) unless
// plain, with the session cookie and (for a state change) the CSRF token
// unless told otherwise.
type request struct {
	method, path string
	form         url.Values
	body         io.Reader
	contentType  string
	plain        bool
	noCSRF       bool   // send no CSRF token
	csrf         string // send this token instead of the session's
	noCookie     bool
}

func (a deskAgent) do(r request) (*http.Response, string) {
	a.t.Helper()
	body := r.body
	if r.form != nil {
		body = strings.NewReader(r.form.Encode())
		r.contentType = "application/x-www-form-urlencoded"
	}
	req, err := http.NewRequest(r.method, a.s.URL+r.path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if !r.plain {
		req.Header.Set("HX-Request", "true")
	}
	if !r.noCookie {
		req.AddCookie(a.cookie)
	}
	if !r.noCSRF && r.method != http.MethodGet {
		token := a.csrf
		if r.csrf != "" {
			token = r.csrf
		}
		req.Header.Set("X-CSRF-Token", token)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// want asserts a request's status and returns its body.
func (a deskAgent) want(status int, r request) string {
	a.t.Helper()
	res, body := a.do(r)
	if res.StatusCode != status {
		a.t.Fatalf("%s %s: %d, want %d\n%s", r.method, r.path, res.StatusCode, status, body)
	}
	return body
}

// available moves the agent to the workspace's Available activity through the desktop.
func (a deskAgent) available() {
	a.t.Helper()
	acts, _, err := a.s.TaskRouter.Activities(context.Background(), a.staff.WorkspaceSid,
		taskrouter.ActivityFilter{FriendlyName: "Available"}, taskrouter.Page{Limit: 1})
	if err != nil || len(acts) != 1 {
		a.t.Fatalf("Available: %v %v", acts, err)
	}
	body := a.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/activity", form: url.Values{"activity": {acts[0].Sid}}})
	if !strings.Contains(body, `selected`) || !strings.Contains(body, "presence available") {
		a.t.Fatalf("the header after going available:\n%s", body)
	}
}

// offer is the agent's one pending reservation.
func (a deskAgent) offer() taskrouter.Reservation {
	a.t.Helper()
	rs, _, err := a.s.TaskRouter.Reservations(context.Background(), a.staff.WorkspaceSid,
		taskrouter.ReservationFilter{WorkerSid: a.staff.WorkerSid, ReservationStatus: "pending"}, taskrouter.Page{Limit: 5})
	if err != nil || len(rs) != 1 {
		a.t.Fatalf("offers of %s: %v %v", a.staff.Name, rs, err)
	}
	return rs[0]
}

// smsCustomerWrites opens a conversation with a customer on SMS who writes body.
func smsCustomerWrites(t *testing.T, s *webtest.Server, phone, body string) string {
	t.Helper()
	cv := s.Twilio.ConversationsV1
	c, err := cv.CreateConversation(nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cv.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).
		SetMessagingBindingAddress(phone).SetMessagingBindingProxyAddress("+15550001000")); err != nil {
		t.Fatal(err)
	}
	if _, err := cv.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).SetAuthor(phone).SetBody(body)); err != nil {
		t.Fatal(err)
	}
	return *c.Sid
}

// holds has the agent go available, be offered the customer's
// conversation and accept it through the desktop.
func (a deskAgent) holds(conversationSid string) string {
	a.t.Helper()
	a.available()
	settle(a.t, a.s, a.staff.WorkspaceSid)
	r := a.offer()
	body := a.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/reservations/" + r.Sid + "/accept"})
	if !strings.Contains(body, `data-conversation="`+conversationSid+`"`) {
		a.t.Fatalf("accepting did not open %s:\n%s", conversationSid, body)
	}
	return r.Sid
}

func TestTheDesktopNeedsASignedInAgent(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		a := signInAgent(t, s, "ana@example.com", "Ana")
		res, _ := a.do(request{method: http.MethodGet, path: "/desktop?c=CH00000000000000000000000000000000", plain: true, noCookie: true})
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), "/auth/login?next=") {
			t.Fatalf("the page without a session: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		for _, r := range []request{
			{method: http.MethodGet, path: "/desktop/c/CH00000000000000000000000000000000"},
			{method: http.MethodPost, path: "/desktop/activity", form: url.Values{"activity": {"WA0"}}},
			{method: http.MethodPost, path: "/desktop/reservations/WR00000000000000000000000000000000/accept"},
			{method: http.MethodPost, path: "/desktop/c/CH00000000000000000000000000000000/messages", form: url.Values{"body": {"hi"}}},
		} {
			r.noCookie = true
			res, _ := a.do(r)
			if res.StatusCode != http.StatusUnauthorized || res.Header.Get("HX-Redirect") == "" {
				t.Fatalf("%s %s without a session: %d, HX-Redirect %q", r.method, r.path, res.StatusCode, res.Header.Get("HX-Redirect"))
			}
		}
		// Signed in, the page is the desktop.
		body := a.want(http.StatusOK, request{method: http.MethodGet, path: "/desktop", plain: true})
		for _, want := range []string{`data-testid="desktop"`, `ws-connect="/desktop/ws"`, `data-csrf="` + a.csrf + `"`, `hx-headers="{&#34;X-CSRF-Token&#34;:&#34;` + a.csrf + `&#34;}"`, ">Ana<", "accept the oldest offer"} {
			if !strings.Contains(body, want) {
				t.Fatalf("the desktop lacks %s:\n%s", want, body)
			}
		}
		// Another site's page cannot open the agent's socket.
		h := http.Header{}
		h.Set("Origin", "http://evil.example")
		h.Set("Cookie", a.cookie.Name+"="+a.cookie.Value)
		if _, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/desktop/ws", h); err == nil || res == nil ||
			res.StatusCode != http.StatusForbidden {
			t.Fatalf("a socket from another origin: %v", err)
		}
		res, ring := a.do(request{method: http.MethodGet, path: "/desktop/ring.wav", plain: true})
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(ring, "RIFF") || res.Header.Get("Content-Type") != "audio/wav" {
			t.Fatalf("the ring: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
}

func TestDesktopChangesNeedThePagesCSRFToken(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		a := signInAgent(t, s, "ana@example.com", "Ana")
		c := smsCustomerWrites(t, s, "+34600111222", "Hello?")
		a.available()
		settle(t, s, a.staff.WorkspaceSid)
		r := a.offer()
		for _, req := range []request{
			{method: http.MethodPost, path: "/desktop/activity", form: url.Values{"activity": {a.staff.WorkspaceSid}}},
			{method: http.MethodPost, path: "/desktop/reservations/" + r.Sid + "/reject"},
			{method: http.MethodPost, path: "/desktop/reservations/" + r.Sid + "/accept"},
			{method: http.MethodPost, path: "/desktop/c/" + c + "/messages", form: url.Values{"body": {"hi"}}},
			{method: http.MethodPost, path: "/desktop/c/" + c + "/media?filename=a.png", body: strings.NewReader("png"), contentType: "image/png"},
		} {
			req.noCSRF = true
			a.want(http.StatusForbidden, req)
			req.noCSRF, req.csrf = false, "not-the-token"
			a.want(http.StatusForbidden, req)
		}
		if got := a.offer(); got.Sid != r.Sid {
			t.Fatalf("the offer changed: %s", got.Sid)
		}
		// The page's own token goes through.
		a.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/reservations/" + r.Sid + "/reject"})
	})
}

func TestEveryDesktopEndpointAnswersNotFoundForAGuessedOrForeignConversation(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		mine := smsCustomerWrites(t, s, "+34600111222", "Hello?")
		ana.holds(mine)
		ben := signInAgent(t, s, "ben@example.com", "Ben")
		theirs := smsCustomerWrites(t, s, "+34600333444", "Hi there")
		bensOffer := ben.holds(theirs)

		for _, sid := range []string{theirs, "CH00000000000000000000000000000000"} {
			for _, r := range []request{
				{method: http.MethodGet, path: "/desktop?c=" + sid, plain: true},
				{method: http.MethodGet, path: "/desktop/c/" + sid},
				{method: http.MethodGet, path: "/desktop/c/" + sid + "/older?before=5"},
				{method: http.MethodPost, path: "/desktop/c/" + sid + "/messages", form: url.Values{"body": {"let me in"}}},
				{method: http.MethodPost, path: "/desktop/c/" + sid + "/media?filename=a.png", body: strings.NewReader("png"), contentType: "image/png"},
			} {
				body := ana.want(http.StatusNotFound, r)
				if strings.Contains(body, "Hi there") {
					t.Fatalf("%s %s leaked the conversation:\n%s", r.method, r.path, body)
				}
			}
		}
		ana.want(http.StatusNotFound, request{method: http.MethodPost, path: "/desktop/reservations/" + bensOffer + "/accept"})
		ana.want(http.StatusNotFound, request{method: http.MethodPost, path: "/desktop/reservations/WR00000000000000000000000000000000/reject"})

		// Nor over the socket: a hello for their conversation gets a notice, not the thread.
		ws := dialDesk(t, ana)
		ws.await("the snapshot", `id="tasks"`)
		ws.send(map[string]any{"type": "hello", "conversation": theirs, "after": -1})
		got := ws.await("the refusal", `id="notice"`)
		if strings.Contains(got, "Hi there") || !strings.Contains(got, "not found") {
			t.Fatalf("hello for a foreign conversation: %s", got)
		}
		ms, err := s.Twilio.ConversationsV1.ListConversationMessage(theirs, nil)
		if err != nil || len(ms) != 1 {
			t.Fatalf("their conversation has %d messages (%v)", len(ms), err)
		}
	})
}

// deskSocket is a desktop WebSocket read by a test.
type deskSocket struct {
	t    *testing.T
	ws   *websocket.Conn
	mu   sync.Mutex
	msgs []string
	wake chan struct{}
}

func dialDesk(t *testing.T, a deskAgent) *deskSocket {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", a.s.URL)
	h.Set("Cookie", a.cookie.Name+"="+a.cookie.Value)
	ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.s.URL, "http")+"/desktop/ws", h)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial the desktop: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	d := &deskSocket{t: t, ws: ws, wake: make(chan struct{}, 1)}
	go func() {
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			d.mu.Lock()
			d.msgs = append(d.msgs, string(b))
			d.mu.Unlock()
			select {
			case d.wake <- struct{}{}:
			default:
			}
		}
	}()
	return d
}

func (d *deskSocket) send(f map[string]any) {
	d.t.Helper()
	if err := d.ws.WriteJSON(f); err != nil {
		d.t.Fatal(err)
	}
}

// await removes and returns the first message containing every one of
// wants, waiting up to 15 s.
func (d *deskSocket) await(what string, wants ...string) string {
	d.t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		d.mu.Lock()
		for i, m := range d.msgs {
			ok := true
			for _, w := range wants {
				ok = ok && strings.Contains(m, w)
			}
			if ok {
				d.msgs = append(d.msgs[:i:i], d.msgs[i+1:]...)
				d.mu.Unlock()
				return m
			}
		}
		n := len(d.msgs)
		d.mu.Unlock()
		select {
		case <-d.wake:
		case <-deadline:
			d.t.Fatalf("no socket message with %s within 15 s (%d others)", what, n)
		}
	}
}

func TestTheDesktopSocketSendsTheDeskAndTheOpenThreadLive(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		ana.available()
		ws := dialDesk(t, ana)
		ws.await("the header and the task list", `id="desk-header"`, `hx-swap-oob="true"`, "presence available", `id="tasks"`, "No tasks")

		c := smsCustomerWrites(t, s, "+34600111222", "Where is my order?")
		settle(t, s, ana.staff.WorkspaceSid)
		r := ana.offer()
		ws.await("the offer", `data-reservation="`+r.Sid+`"`, "Where is my order?", `data-until=`)

		ana.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/reservations/" + r.Sid + "/accept"})
		ws.await("the assigned card", `data-conversation="`+c+`"`, "Assigned")
		ws.send(map[string]any{"type": "hello", "conversation": c, "after": 0})
		ws.await("the canvas's chrome", `id="head-`+c+`"`)

		// The agent replies; the message comes back on the socket, authored by Ana.
		composer := ana.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/c/" + c + "/messages",
			form: url.Values{"body": {"It left today <b>"}}})
		if !strings.Contains(composer, `id="composer-`+c+`"`) || strings.Contains(composer, "It left today") {
			t.Fatalf("the composer after sending:\n%s", composer)
		}
		got := ws.await("the reply", `beforeend:#thread-`+c, `id="m-`+c+`-1"`)
		if !strings.Contains(got, "It left today &lt;b&gt;") || !strings.Contains(got, `class="msg mine"`) {
			t.Fatalf("the reply as pushed: %s", got)
		}
		ms, err := s.Twilio.ConversationsV1.ListConversationMessage(c, nil)
		if err != nil || len(ms) != 2 || *ms[1].Author != ana.staff.Identity {
			t.Fatalf("messages %v (%v), want the reply authored by %s", ms, err, ana.staff.Identity)
		}
		// An empty reply keeps the composer and says why.
		body := ana.want(http.StatusBadRequest, request{method: http.MethodPost, path: "/desktop/c/" + c + "/messages", form: url.Values{"body": {"  "}}})
		if !strings.Contains(body, "composer-error") {
			t.Fatalf("an empty reply:\n%s", body)
		}

		// The customer answers twice; the socket sends both, in order, once.
		for _, text := range []string{"Thanks!", "Bye"} {
			if _, err := s.Twilio.ConversationsV1.CreateConversationMessage(c, (&conv.CreateConversationMessageParams{}).
				SetAuthor("+34600111222").SetBody(text)); err != nil {
				t.Fatal(err)
			}
		}
		ws.await("Thanks", `id="m-`+c+`-2"`, "Thanks!")
		ws.await("Bye", `id="m-`+c+`-3"`, "Bye")
		ws.send(map[string]any{"type": "read", "index": 3})
		ws.await("no unread left", `id="tasks"`, `data-conversation="`+c+`"`)

		// A new socket with the page at index 1 gets 2 and 3 again, and the desk whole.
		again := dialDesk(t, ana)
		again.await("the snapshot", `id="desk-header"`)
		again.send(map[string]any{"type": "hello", "conversation": c, "after": 1})
		resync := again.await("the resync", `beforeend:#thread-`+c)
		if !strings.Contains(resync, "Thanks!") || !strings.Contains(resync, "Bye") || strings.Contains(resync, "It left today") {
			t.Fatalf("resync after 1: %s", resync)
		}
	})
}

func TestDesktopUploadsStayWithinTheChannelsLimits(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		c := smsCustomerWrites(t, s, "+34600111222", "Send me the invoice")
		ana.holds(c)
		up := func(status int, name, contentType string, body []byte) string {
			return ana.want(status, request{method: http.MethodPost, path: "/desktop/c/" + c + "/media?filename=" + name,
				body: strings.NewReader(string(body)), contentType: contentType})
		}
		up(http.StatusBadRequest, "a.zip", "application/zip", []byte("zip"))
		// 2 MB: over the server's 1 MB body limit, within SMS's 5 MB.
		got := up(http.StatusCreated, "invoice.pdf", "application/pdf", make([]byte, 2<<20))
		if !strings.Contains(got, `"name":"invoice.pdf"`) || !strings.Contains(got, `"sid":"ME`) {
			t.Fatalf("upload: %s", got)
		}
		// Declared over 5 MB: refused before the body is read.
		res, raw := rawRequest(t, s, "POST", "/desktop/c/"+c+"/media?filename=huge.pdf", fmt.Sprintf(
			"Content-Type: application/pdf\r\nContent-Length: %d\r\nCookie: %s=%s\r\nX-CSRF-Token: %s\r\n", 5<<20+1,
			ana.cookie.Name, ana.cookie.Value, ana.csrf), make([]byte, 9000))
		if res.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), "at most 5 MB") {
			t.Fatalf("a 5 MB + 1 upload over SMS: %d %s", res.StatusCode, raw)
		}
	})
}

func TestTheCanvasLoadsOlderPagesByIndex(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		c := smsCustomerWrites(t, s, "+34600111222", "message 0")
		ana.holds(c)
		for i := 1; i < 60; i++ {
			if _, err := s.Twilio.ConversationsV1.CreateConversationMessage(c, (&conv.CreateConversationMessageParams{}).
				SetAuthor("+34600111222").SetBody(fmt.Sprint("message ", i))); err != nil {
				t.Fatal(err)
			}
		}
		canvas := ana.want(http.StatusOK, request{method: http.MethodGet, path: "/desktop/c/" + c})
		if !strings.Contains(canvas, `hx-get="/desktop/c/`+c+`/older?before=10"`) || strings.Contains(canvas, `id="m-`+c+`-9"`) ||
			!strings.Contains(canvas, `id="m-`+c+`-59"`) {
			t.Fatalf("the canvas's first page is not 10..59 with a marker for the rest:\n%s", canvas)
		}
		older := ana.want(http.StatusOK, request{method: http.MethodGet, path: "/desktop/c/" + c + "/older?before=10"})
		if !strings.Contains(older, `id="m-`+c+`-0"`) || !strings.Contains(older, `id="m-`+c+`-9"`) || strings.Contains(older, `id="m-`+c+`-10"`) ||
			strings.Contains(older, "older?before") || !strings.Contains(older, "Ana joined") {
			t.Fatalf("the page before 10:\n%s", older)
		}
		ana.want(http.StatusBadRequest, request{method: http.MethodGet, path: "/desktop/c/" + c + "/older?before=x"})
	})
}

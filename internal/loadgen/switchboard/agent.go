package switchboard

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/fasthttp/websocket"
)

// Frames is what an observer does with each frame a socket receives: the
// time it arrived is taken before anything else.
type Frames func(frame []byte, at time.Time)

// Agent is a simulated agent: signed in through the demo sign-in, with
// the desktop's WebSocket open. It accepts every offer it is made, as a
// person clicking Accept would, and replies through the desktop's
// composer endpoint.
type Agent struct {
	s          *Server
	StaffSid   string
	http       *http.Client
	csrf       string
	ws         *websocket.Conn
	observe    Frames
	mu         sync.Mutex
	accepted   map[string]bool // reservations answered
	open       string          // the conversation on the canvas
	closing    bool
	reconnects int
	convs      []string // conversations taken, in order
	offers     chan string
	done       chan struct{}
	err        error
	onAccept   func(ctx context.Context, reservationSid, conversationSid string)
}

// OnAccepted has fn told of each offer taken from now on: its reservation
// and conversation ("" for a task without one).
func (a *Agent) OnAccepted(fn func(ctx context.Context, reservationSid, conversationSid string)) {
	a.mu.Lock()
	a.onAccept = fn
	a.mu.Unlock()
}

var (
	csrfMeta  = regexp.MustCompile(`data-csrf="([^"]+)"`)
	acceptURL = regexp.MustCompile(`/desktop/reservations/(WR[0-9a-f]{32})/accept`)
)

// SignIn signs in as the local member of staff staffSid (the server must
// run in dev mode) and reads the desktop's CSRF token.
func SignIn(ctx context.Context, s *Server, staffSid string, observe Frames) (*Agent, error) {
	jar, _ := cookiejar.New(nil)
	a := &Agent{s: s, StaffSid: staffSid, observe: observe, accepted: map[string]bool{}, offers: make(chan string, 64), done: make(chan struct{}),
		http: &http.Client{Jar: jar, Timeout: 30 * time.Second, Transport: s.HTTP.Transport}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.Base+"/auth/dev", strings.NewReader(url.Values{"staff_sid": {staffSid}, "next": {"/desktop"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	page, err := a.do(req)
	if err != nil {
		return nil, fmt.Errorf("sign in %s: %w", staffSid, err)
	}
	m := csrfMeta.FindSubmatch(page)
	if m == nil {
		return nil, fmt.Errorf("sign in %s: the desktop page carries no CSRF token", staffSid)
	}
	a.csrf = string(m[1])
	return a, nil
}

func (a *Agent) do(req *http.Request) ([]byte, error) {
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return b, fmt.Errorf("%s %s: %d %.300s", req.Method, req.URL.Path, resp.StatusCode, b)
	}
	return b, nil
}

// post sends a form as the desktop's htmx does.
func (a *Agent) post(ctx context.Context, path string, form url.Values) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.s.Base+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	req.Header.Set("X-CSRF-Token", a.csrf)
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode >= 300 {
		err = fmt.Errorf("POST %s: %d %.300s", path, resp.StatusCode, b)
	}
	return resp, b, err
}

// Connect opens the desktop's WebSocket; from then on offers are accepted
// as they come, until Close. Like the desktop page, the agent reconnects
// when the server closes the socket (a socket too far behind is cut off)
// and shows its open conversation again.
func (a *Agent) Connect(ctx context.Context) error {
	ws, err := a.dial(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.ws = ws
	a.mu.Unlock()
	go a.read(ws)
	// Offers are answered for as long as the agent lives, past the dial's context.
	go a.answer(context.WithoutCancel(ctx))
	return a.hello("", nil)
}

func (a *Agent) dial(ctx context.Context) (*websocket.Conn, error) {
	u, _ := url.Parse(a.s.Base)
	h := http.Header{"Origin": {a.s.Base}}
	var cookies []string
	for _, c := range a.http.Jar.Cookies(u) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	h.Set("Cookie", strings.Join(cookies, "; "))
	ws, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws"+strings.TrimPrefix(a.s.Base, "http")+"/desktop/ws", h)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("desktop socket of %s: %w (%d)", a.StaffSid, err, resp.StatusCode)
		}
		return nil, fmt.Errorf("desktop socket of %s: %w", a.StaffSid, err)
	}
	return ws, nil
}

// reconnect replaces a socket the server closed, as the page's WebSocket
// extension does, and says hello with the open conversation again. It
// reports false once the agent is closing or the server stays away.
func (a *Agent) reconnect() (*websocket.Conn, bool) {
	for wait := 100 * time.Millisecond; wait < 30*time.Second; wait *= 2 {
		a.mu.Lock()
		closing := a.closing
		a.mu.Unlock()
		if closing {
			return nil, false
		}
		time.Sleep(wait)
		ws, err := a.dial(context.Background())
		if err != nil {
			continue
		}
		a.mu.Lock()
		a.ws, a.reconnects = ws, a.reconnects+1
		open := a.open
		a.mu.Unlock()
		if err := a.hello(open, nil); err != nil {
			continue
		}
		return ws, true
	}
	return nil, false
}

// Reconnects is how often the server closed the agent's socket.
func (a *Agent) Reconnects() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reconnects
}

// read hands every frame to the observer, then looks for offers.
func (a *Agent) read(ws *websocket.Conn) {
	defer close(a.offers)
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			var ok bool
			if ws, ok = a.reconnect(); !ok {
				return
			}
			continue
		}
		if a.observe != nil {
			a.observe(frame, time.Now())
		}
		for _, m := range acceptURL.FindAllSubmatch(frame, -1) {
			sid := string(m[1])
			a.mu.Lock()
			fresh := !a.accepted[sid]
			a.accepted[sid] = true
			a.mu.Unlock()
			if fresh {
				a.offers <- sid
			}
		}
	}
}

// answer accepts offers one at a time, as one person does.
func (a *Agent) answer(ctx context.Context) {
	defer close(a.done)
	for sid := range a.offers {
		resp, _, err := a.post(ctx, "/desktop/reservations/"+sid+"/accept", url.Values{})
		if err != nil {
			a.mu.Lock()
			a.err = err
			a.mu.Unlock()
			continue
		}
		conv, ok := strings.CutPrefix(resp.Header.Get("HX-Push-Url"), "/desktop?c=")
		a.mu.Lock()
		if ok {
			a.convs = append(a.convs, conv)
		}
		fn := a.onAccept
		a.mu.Unlock()
		if fn != nil {
			fn(ctx, sid, conv)
		}
	}
}

// Conversations are those the agent accepted, in order, and the last
// error accepting an offer.
func (a *Agent) Conversations() ([]string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.convs...), a.err
}

// Open shows a conversation on the agent's canvas, as the desktop's hello
// frame does: from then on its new messages are pushed to the socket.
func (a *Agent) Open(conversationSid string, after int64) error {
	a.mu.Lock()
	a.open = conversationSid
	a.mu.Unlock()
	return a.hello(conversationSid, &after)
}

func (a *Agent) hello(conversationSid string, after *int64) error {
	b, _ := json.Marshal(map[string]any{"type": "hello", "conversation": conversationSid, "after": after})
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ws.WriteMessage(websocket.TextMessage, b)
}

// Reply writes body into a conversation through the desktop's composer.
func (a *Agent) Reply(ctx context.Context, conversationSid, body string) error {
	_, _, err := a.post(ctx, "/desktop/c/"+conversationSid+"/messages", url.Values{"body": {body}})
	return err
}

// Close closes the desktop socket for good.
func (a *Agent) Close() {
	a.mu.Lock()
	a.closing = true
	ws := a.ws
	a.mu.Unlock()
	if ws != nil {
		_ = ws.Close()
		<-a.done
	}
}

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
	s        *Server
	StaffSid string
	http     *http.Client
	csrf     string
	ws       *websocket.Conn
	observe  Frames
	mu       sync.Mutex
	accepted map[string]bool // reservations answered
	convs    []string        // conversations taken, in order
	offers   chan string
	done     chan struct{}
	err      error
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
// as they come, until Close.
func (a *Agent) Connect(ctx context.Context) error {
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
			return fmt.Errorf("desktop socket of %s: %w (%d)", a.StaffSid, err, resp.StatusCode)
		}
		return fmt.Errorf("desktop socket of %s: %w", a.StaffSid, err)
	}
	a.ws = ws
	go a.read()
	// Offers are answered for as long as the socket lives, past the dial's context.
	go a.answer(context.WithoutCancel(ctx))
	return a.hello("", nil)
}

// read hands every frame to the observer, then looks for offers.
func (a *Agent) read() {
	defer close(a.offers)
	for {
		_, frame, err := a.ws.ReadMessage()
		if err != nil {
			return
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
		if conv, ok := strings.CutPrefix(resp.Header.Get("HX-Push-Url"), "/desktop?c="); ok {
			a.mu.Lock()
			a.convs = append(a.convs, conv)
			a.mu.Unlock()
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

// Close closes the desktop socket.
func (a *Agent) Close() {
	if a.ws != nil {
		_ = a.ws.Close()
		<-a.done
	}
}

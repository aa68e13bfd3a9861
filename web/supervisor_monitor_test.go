package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/fasthttp/websocket"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// signInMonSupervisor signs in a supervisor's browser, without a browser.
func signInMonSupervisor(t *testing.T, s *webtest.Server, email, name string) deskAgent {
	t.Helper()
	cookie, csrf, staff := s.SignIn(t, email, name, auth.RoleSupervisor)
	return deskAgent{t: t, s: s, cookie: cookie, csrf: csrf, staff: staff}
}

// dialMon opens a monitor socket at path as a's page would.
func dialMon(t *testing.T, a deskAgent, path string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", a.s.URL)
	h.Set("Cookie", a.cookie.Name+"="+a.cookie.Value)
	ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.s.URL, "http")+path, h)
	if err == nil {
		t.Cleanup(func() { _ = ws.Close() })
	}
	return ws, res, err
}

// monSocket reads a monitor socket's messages for await.
func monSocket(t *testing.T, ws *websocket.Conn) *deskSocket {
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

// monRoutes are every monitor route for conversation sid.
func monRoutes(sid string) []request {
	p := "/supervisor/monitor/" + sid
	return []request{
		{method: http.MethodGet, path: p, plain: true},
		{method: http.MethodGet, path: p + "/older?before=5"},
		{method: http.MethodPost, path: p + "/join"},
		{method: http.MethodPost, path: p + "/leave"},
		{method: http.MethodPost, path: p + "/messages", form: url.Values{"body": {"let me in"}}},
		{method: http.MethodPost, path: p + "/reassign", form: url.Values{"to": {"WK00000000000000000000000000000000"}}},
	}
}

func TestAgentsAreForbiddenEveryMonitorRoute(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		c := smsCustomerWrites(t, s, "+34600111222", "Hello?")
		ana.holds(c)
		for _, r := range append(monRoutes(c), request{method: http.MethodGet, path: "/supervisor/monitor", plain: true}) {
			body := ana.want(http.StatusForbidden, r)
			if strings.Contains(body, "Hello?") {
				t.Fatalf("%s %s showed an agent the conversation:\n%s", r.method, r.path, body)
			}
		}
		for _, path := range []string{"/supervisor/monitor/ws", "/supervisor/monitor/" + c + "/ws"} {
			if _, res, err := dialMon(t, ana, path); err == nil || res == nil || res.StatusCode != http.StatusForbidden {
				t.Fatalf("an agent's socket at %s: %v", path, err)
			}
		}
	})
}

func TestEveryMonitorRouteAnswersNotFoundOutsideTheSupervisorsWorkspace(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		sue := signInMonSupervisor(t, s, "sue@example.com", "Sue")
		bare, err := s.Twilio.ConversationsV1.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, sid := range []string{*bare.Sid, "CH00000000000000000000000000000000"} {
			for _, r := range monRoutes(sid) {
				sue.want(http.StatusNotFound, r)
			}
			ws, _, err := dialMon(t, sue, "/supervisor/monitor/"+sid+"/ws")
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.ClosePolicyViolation) {
				t.Fatalf("the socket of %s: %v, want a policy-violation close", sid, err)
			}
		}
	})
}

func TestASupervisorWatchesUnseenJoinsWritesLeavesAndReassignsThroughThePages(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		c := smsCustomerWrites(t, s, "+34600111222", "Hello?")
		ana.holds(c)
		sue := signInMonSupervisor(t, s, "sue@example.com", "Sue Supervisor")
		cv := s.Twilio.ConversationsV1
		before, err := cv.ListConversationParticipant(c, nil)
		if err != nil {
			t.Fatal(err)
		}

		list := sue.want(http.StatusOK, request{method: http.MethodGet, path: "/supervisor/monitor", plain: true})
		for _, want := range []string{`href="/supervisor/monitor/` + c + `"`, "Ana", "Assigned", `ws-connect="/supervisor/monitor/ws"`} {
			if !strings.Contains(list, want) {
				t.Fatalf("the list lacks %s:\n%s", want, list)
			}
		}
		lc, _, err := dialMon(t, sue, "/supervisor/monitor/ws")
		if err != nil {
			t.Fatal(err)
		}
		listWS := monSocket(t, lc)
		listWS.await("the list", `id="mon-rows"`, c)
		page := sue.want(http.StatusOK, request{method: http.MethodGet, path: "/supervisor/monitor/" + c, plain: true})
		for _, want := range []string{"Hello?", "Ana joined", `id="thread-` + c + `"`, `data-testid="mon-join"`,
			`ws-connect="/supervisor/monitor/` + c + `/ws"`} {
			if !strings.Contains(page, want) {
				t.Fatalf("the monitor page lacks %s:\n%s", want, page)
			}
		}
		// Live: the socket answers hello with what the page missed, then pushes.
		conn, _, err := dialMon(t, sue, "/supervisor/monitor/"+c+"/ws")
		if err != nil {
			t.Fatal(err)
		}
		ws := monSocket(t, conn)
		ws.send(map[string]any{"type": "hello", "after": 0})
		ws.await("the panel", `id="mon-panel"`)
		smsWrites(t, s, c, "+34600111222", "Anyone there?")
		ws.await("the customer's message", "Anyone there?", `hx-swap-oob="beforeend:#thread-`+c+`"`)
		after, err := cv.ListConversationParticipant(c, nil)
		if err != nil || len(after) != len(before) {
			t.Fatalf("watching changed the participants: %d, was %d (%v)", len(after), len(before), err)
		}

		// Leaving before joining is refused; joining twice is harmless.
		res, body := sue.do(request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/leave"})
		if res.StatusCode != http.StatusConflict || !strings.Contains(body, "not joined") {
			t.Fatalf("leaving before joining: %d %s", res.StatusCode, body)
		}
		sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/join"})
		joined := sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/join"})
		if !strings.Contains(joined, `data-testid="mon-composer"`) || !strings.Contains(joined, `data-testid="mon-leave"`) {
			t.Fatalf("after joining:\n%s", joined)
		}
		ws.await("the join line", "Sue Supervisor joined")
		sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/messages",
			form: url.Values{"body": {"A supervisor here: I will sort it out"}}})
		ws.await("the supervisor's message", "I will sort it out", "msg mine")
		// A page reconnecting with the first message gets exactly what it missed, by index.
		again, _, err := dialMon(t, sue, "/supervisor/monitor/"+c+"/ws")
		if err != nil {
			t.Fatal(err)
		}
		resync := monSocket(t, again)
		resync.send(map[string]any{"type": "hello", "after": 0})
		missed := resync.await("the resync", "Anyone there?", "I will sort it out")
		if strings.Contains(missed, `data-index="0"`) || !strings.Contains(missed, `data-index="1"`) {
			t.Fatalf("the resync after index 0:\n%s", missed)
		}
		p, err := cv.FetchConversationParticipant(c, sue.staff.Identity)
		if err != nil || p.Attributes == nil || !strings.Contains(*p.Attributes, `"friendlyName":"Sue Supervisor"`) {
			t.Fatalf("the supervisor as the customer sees them: %+v (%v)", p, err)
		}
		ms, err := cv.ListConversationMessage(c, nil)
		if err != nil || *ms[len(ms)-1].Author != sue.staff.Identity {
			t.Fatalf("the last message is not the supervisor's (%v)", err)
		}
		sue.want(http.StatusBadRequest, request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/messages",
			form: url.Values{"body": {"  "}}})
		left := sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/leave"})
		if !strings.Contains(left, `data-testid="mon-join"`) {
			t.Fatalf("after leaving:\n%s", left)
		}

		// Reassign: refused targets change nothing; Ben, available, is offered it.
		ben := signInAgent(t, s, "ben@example.com", "Ben")
		anasDesk := dialDesk(t, ana)
		anasDesk.await("Ana's cards", `id="tasks"`, c)
		for _, to := range []string{"", "nobody", ana.staff.WorkerSid, ben.staff.WorkerSid} {
			body := sue.want(map[bool]int{true: http.StatusConflict, false: http.StatusBadRequest}[to == ben.staff.WorkerSid],
				request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/reassign", form: url.Values{"to": {to}}})
			if !strings.Contains(body, `data-testid="mon-reassign-error"`) {
				t.Fatalf("reassigning to %q:\n%s", to, body)
			}
		}
		ben.available()
		body = sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/monitor/" + c + "/reassign",
			form: url.Values{"to": {ben.staff.WorkerSid}, "note": {"VIP"}}})
		if !strings.Contains(body, "Reassigned: Ben has it now.") {
			t.Fatalf("after reassigning:\n%s", body)
		}
		// Ana's desktop hears at once that the conversation is no longer hers.
		for cards := ""; cards == "" || strings.Contains(cards, `data-conversation="`+c+`"`); {
			cards = anasDesk.await("Ana's cards without the conversation", `id="tasks"`)
		}
		settle(t, s, ben.staff.WorkspaceSid)
		ben.offer()
		listWS.await("the list after reassigning", `id="mon-rows"`, "Ben (offered)")
		if rs, _, err := s.TaskRouter.Reservations(context.Background(), ana.staff.WorkspaceSid,
			taskrouter.ReservationFilter{WorkerSid: ana.staff.WorkerSid, ReservationStatus: "accepted"}, taskrouter.Page{Limit: 5}); err != nil || len(rs) != 0 {
			t.Fatalf("Ana still holds %d reservations (%v)", len(rs), err)
		}
	})
}

// smsWrites has an SMS customer write in their conversation over the REST API.
func smsWrites(t *testing.T, s *webtest.Server, conversationSid, phone, body string) {
	t.Helper()
	p := url.Values{"Author": {phone}, "Body": {body}}
	req, err := http.NewRequest(http.MethodPost, s.URL+"/v1/Conversations/"+conversationSid+"/Messages", strings.NewReader(p.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(s.AccountSid, s.AuthToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("the customer's message: %d", res.StatusCode)
	}
}

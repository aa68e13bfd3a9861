package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// signInSupervisor signs in a member of staff with the supervisor role.
func signInSupervisor(t *testing.T, s *webtest.Server) deskAgent {
	t.Helper()
	cookie, csrf, staff := s.SignIn(t, "sue@example.com", "Sue", "supervisor")
	return deskAgent{t: t, s: s, cookie: cookie, csrf: csrf, staff: staff}
}

// supActivity is the SID of an activity of the workspace, by name.
func supActivity(t *testing.T, s *webtest.Server, workspaceSid, name string) string {
	t.Helper()
	acts, _, err := s.TaskRouter.Activities(context.Background(), workspaceSid, taskrouter.ActivityFilter{FriendlyName: name},
		taskrouter.Page{Limit: 1})
	if err != nil || len(acts) != 1 {
		t.Fatalf("activity %s: %v %v", name, acts, err)
	}
	return acts[0].Sid
}

// supCell is the text of a queue row's cell (data-col) on a page.
func supCell(t *testing.T, page, queue, col string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr data-queue="` + regexp.QuoteMeta(queue) + `".*?</tr>`).FindString(page)
	if row == "" {
		t.Fatalf("no row for queue %s in:\n%s", queue, page)
	}
	m := regexp.MustCompile(`(?s)data-col="` + col + `"[^>]*>(.*?)</td>`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("no %s cell in %s", col, row)
	}
	return strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
}

// supTile is the value of a summary tile.
func supTile(t *testing.T, page, tile string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)data-testid="tile-` + tile + `".*?<div class="value">(.*?)</div>`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s tile in:\n%s", tile, page)
	}
	return strings.TrimSpace(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[1], ""))
}

// supQueueOrder lists the queues of a page in their order.
func supQueueOrder(page string) []string {
	var out []string
	for _, m := range regexp.MustCompile(`<tr data-queue="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func TestSupervisorQueuesPageShowsWaitingWorkFiltersAndSorts(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		sue := signInSupervisor(t, s)
		ws := sue.staff.WorkspaceSid
		ctx := context.Background()
		name, target := "Billing", "1==2"
		if _, err := s.TaskRouter.CreateTaskQueue(ctx, ws, taskrouter.TaskQueueParams{FriendlyName: &name, TargetWorkers: &target}); err != nil {
			t.Fatal(err)
		}
		// Two customers write in: their tasks wait in Everyone, the
		// default workflow's queue (Sue is Offline).
		smsCustomerWrites(t, s, "+34600111001", "Hello?")
		smsCustomerWrites(t, s, "+34600111002", "Anyone there?")
		settle(t, s, ws)

		res, _ := sue.do(request{method: http.MethodGet, path: "/supervisor", plain: true})
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/supervisor/queues" {
			t.Fatalf("/supervisor: %d to %q", res.StatusCode, res.Header.Get("Location"))
		}
		page := sue.want(http.StatusOK, request{method: http.MethodGet, path: "/supervisor/queues", plain: true})
		for col, want := range map[string]string{"waiting": "2", "active": "0", "available": "0", "offline": "1", "handled": "0",
			"abandoned": "0", "sla_today": "—", "sla_recent": "—"} {
			if got := supCell(t, page, "Everyone", col); got != want {
				t.Errorf("Everyone %s = %q, want %q", col, got, want)
			}
		}
		if !strings.Contains(supCellHTML(t, page, "Everyone"), `data-since="`) {
			t.Errorf("Everyone's longest wait has no live timer")
		}
		if got := supTile(t, page, "waiting"); got != "2" {
			t.Errorf("waiting tile = %q", got)
		}
		if !strings.Contains(page, `ws-connect="/supervisor/ws?view=queues"`) || !strings.Contains(page, "short abandons") {
			t.Errorf("the page lacks its socket or its help text")
		}
		supWantOrder := func(path string, want ...string) string {
			t.Helper()
			p := sue.want(http.StatusOK, request{method: http.MethodGet, path: path, plain: true})
			if got := supQueueOrder(p); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s: queues %v, want %v", path, got, want)
			}
			return p
		}
		supWantOrder("/supervisor/queues", "Billing", "Everyone")
		sorted := supWantOrder("/supervisor/queues?sort=waiting&dir=desc", "Everyone", "Billing")
		if !regexp.MustCompile(`aria-sort="descending"[^>]*>\s*<a href="/supervisor/queues\?dir=asc&amp;sort=waiting"`).MatchString(sorted) {
			t.Errorf("the waiting header is not marked sorted, or does not turn the order round:\n%s", sorted)
		}
		if !strings.Contains(sorted, `ws-connect="/supervisor/ws?dir=desc&amp;sort=waiting&amp;view=queues"`) {
			t.Errorf("the socket does not keep the sort")
		}
		supWantOrder("/supervisor/queues?sort=waiting&dir=asc", "Billing", "Everyone")
		filtered := supWantOrder("/supervisor/queues?queue=Billing", "Billing")
		if got := supTile(t, filtered, "waiting"); got != "0" {
			t.Errorf("the tiles of Billing alone: waiting %q", got)
		}
		supWantOrder("/supervisor/queues?channel=sms", "Billing", "Everyone")
		if got := supCell(t, sue.want(http.StatusOK, request{method: http.MethodGet, path: "/supervisor/queues?channel=chat", plain: true}),
			"Everyone", "waiting"); got != "0" {
			t.Errorf("chat tasks waiting = %s, want 0 (the customers wrote by SMS)", got)
		}
		for _, bad := range []string{"?channel=fax", "?sort=color"} {
			p := sue.want(http.StatusBadRequest, request{method: http.MethodGet, path: "/supervisor/queues" + bad, plain: true})
			if !strings.Contains(p, `data-testid="page-error"`) || len(supQueueOrder(p)) != 2 {
				t.Errorf("%s: no notice, or not every queue:\n%s", bad, p)
			}
		}
	})
}

// supCellHTML is a queue row's HTML.
func supCellHTML(t *testing.T, page, queue string) string {
	t.Helper()
	return regexp.MustCompile(`(?s)<tr data-queue="` + regexp.QuoteMeta(queue) + `".*?</tr>`).FindString(page)
}

func TestSupervisorTeamsPageChangesActivityAndCapacityAndRefusesBadInput(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		sue := signInSupervisor(t, s)
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		ws := sue.staff.WorkspaceSid
		ctx := context.Background()
		attrs := `{"full_name":"Ana","team_name":"Blue","routing":{"skills":["support"]}}`
		if _, err := s.TaskRouter.UpdateWorker(ctx, ws, ana.staff.WorkerSid, taskrouter.WorkerParams{Attributes: &attrs}); err != nil {
			t.Fatal(err)
		}
		// Ana takes a customer's conversation: it shows on her line.
		conversation := smsCustomerWrites(t, s, "+34600111003", "Hi, my order?")
		ana.holds(conversation)

		page := sue.want(http.StatusOK, request{method: http.MethodGet, path: "/supervisor/teams", plain: true})
		anaRow := supMemberRow(t, page, ana.staff.WorkerSid)
		for _, want := range []string{"Ana", "Blue", "support", `href="/supervisor/monitor/` + conversation + `"`, "assigned",
			`class="chan chan-sms"`, `data-channel="sms"`, `1/1`} {
			if !strings.Contains(anaRow, want) {
				t.Errorf("Ana's line lacks %q:\n%s", want, anaRow)
			}
		}
		if !strings.Contains(page, `id="member-`+sue.staff.WorkerSid+`"`) {
			t.Errorf("Sue is not on the page")
		}
		for path, want := range map[string][2]bool{ // Ana shown, Sue shown
			"/supervisor/teams?team=Blue":                                      {true, false},
			"/supervisor/teams?skill=support":                                  {true, false},
			"/supervisor/teams?activity=" + supActivity(t, s, ws, "Offline"):   {false, true},
			"/supervisor/teams?activity=" + supActivity(t, s, ws, "Available"): {true, false},
		} {
			p := sue.want(http.StatusOK, request{method: http.MethodGet, path: path, plain: true})
			got := [2]bool{strings.Contains(p, `id="member-`+ana.staff.WorkerSid+`"`), strings.Contains(p, `id="member-`+sue.staff.WorkerSid+`"`)}
			if got != want {
				t.Errorf("%s: Ana, Sue shown = %v, want %v", path, got, want)
			}
		}
		sue.want(http.StatusBadRequest, request{method: http.MethodGet, path: "/supervisor/teams?activity=WA00000000000000000000000000000000", plain: true})

		// Sue sends Ana on a break and gives her room for two SMS.
		brk := supActivity(t, s, ws, "Break")
		body := sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/teams/" + ana.staff.WorkerSid + "/activity",
			form: url.Values{"activity": {brk}}})
		if !strings.Contains(body, `<option value="`+brk+`" selected>`) || !strings.Contains(body, "Ana is now Break.") {
			t.Errorf("the answer to the activity change:\n%s", body)
		}
		body = sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/teams/" + ana.staff.WorkerSid + "/channels/sms",
			form: url.Values{"capacity": {"2"}}})
		if !strings.Contains(body, "1/2") || !strings.Contains(body, "Ana can now take 2 SMS at once.") {
			t.Errorf("the answer to the capacity change:\n%s", body)
		}
		w, err := s.TaskRouter.Worker(ctx, ws, ana.staff.WorkerSid)
		if err != nil || w.ActivitySid != brk {
			t.Fatalf("Ana's activity: %v %v", w.ActivitySid, err)
		}

		// Refusals: a notice, a status, and nothing changed.
		other, err := s.TaskRouter.CreateWorkspace(ctx, taskrouter.WorkspaceParams{FriendlyName: tmStr("Elsewhere")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		stranger, err := s.TaskRouter.CreateWorker(ctx, other.Sid, taskrouter.WorkerParams{FriendlyName: tmStr("stranger")})
		if err != nil {
			t.Fatal(err)
		}
		anaPath := "/supervisor/teams/" + ana.staff.WorkerSid
		for _, c := range []struct {
			r      request
			status int
			says   string
		}{
			{request{method: http.MethodPost, path: anaPath + "/activity", form: url.Values{"activity": {"WA00000000000000000000000000000000"}}},
				http.StatusBadRequest, "no such activity"},
			{request{method: http.MethodPost, path: anaPath + "/activity", form: url.Values{}}, http.StatusBadRequest, "Pick an activity"},
			{request{method: http.MethodPost, path: anaPath + "/channels/sms", form: url.Values{"capacity": {"-1"}}},
				http.StatusBadRequest, "between 0 and"},
			{request{method: http.MethodPost, path: anaPath + "/channels/sms", form: url.Values{"capacity": {"lots"}}},
				http.StatusBadRequest, "whole number"},
			{request{method: http.MethodPost, path: anaPath + "/channels/fax", form: url.Values{"capacity": {"1"}}},
				http.StatusNotFound, "no task channel"},
			{request{method: http.MethodPost, path: "/supervisor/teams/" + stranger.Sid + "/activity", form: url.Values{"activity": {brk}}},
				http.StatusNotFound, "not found"},
			{request{method: http.MethodPost, path: "/supervisor/teams/" + stranger.Sid + "/channels/sms", form: url.Values{"capacity": {"1"}}},
				http.StatusNotFound, "not found"},
			{request{method: http.MethodPost, path: anaPath + "/channels/sms", form: url.Values{"capacity": {"5"}}, noCSRF: true},
				http.StatusForbidden, "security token"},
		} {
			res, body := sue.do(c.r)
			if res.StatusCode != c.status || !strings.Contains(strings.ToLower(body), strings.ToLower(c.says)) {
				t.Errorf("%s %v: %d %q, want %d saying %q", c.r.path, c.r.form, res.StatusCode, body, c.status, c.says)
			}
		}
		w, _ = s.TaskRouter.Worker(ctx, ws, ana.staff.WorkerSid)
		wc, _ := s.TaskRouter.WorkerChannel(ctx, ws, ana.staff.WorkerSid, "sms")
		if w.ActivitySid != brk || wc.Capacity != 2 {
			t.Errorf("after the refusals Ana is %s with SMS capacity %d", w.ActivitySid, wc.Capacity)
		}
		sw, _ := s.TaskRouter.Worker(ctx, other.Sid, stranger.Sid)
		if sw.ActivitySid != stranger.ActivitySid {
			t.Errorf("the stranger's activity changed")
		}
	})
}

func tmStr(s string) *string { return &s }

// supMemberRow is an agent's line on the teams page.
func supMemberRow(t *testing.T, page, workerSid string) string {
	t.Helper()
	row := regexp.MustCompile(`(?s)<tr id="member-` + workerSid + `".*?</tr>`).FindString(page)
	if row == "" {
		t.Fatalf("no line for %s in:\n%s", workerSid, page)
	}
	return row
}

func TestSupervisorViewsRefuseAgents(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		wk := "/supervisor/teams/" + ana.staff.WorkerSid
		for _, r := range []request{
			{method: http.MethodGet, path: "/supervisor", plain: true},
			{method: http.MethodGet, path: "/supervisor/queues", plain: true},
			{method: http.MethodGet, path: "/supervisor/teams", plain: true},
			{method: http.MethodGet, path: "/supervisor/ws?view=queues", plain: true},
			{method: http.MethodPost, path: wk + "/activity", form: url.Values{"activity": {supActivity(t, s, ana.staff.WorkspaceSid, "Available")}}},
			{method: http.MethodPost, path: wk + "/channels/chat", form: url.Values{"capacity": {"9"}}},
		} {
			if res, _ := ana.do(r); res.StatusCode != http.StatusForbidden {
				t.Errorf("an agent's %s %s: %d, want 403", r.method, r.path, res.StatusCode)
			}
		}
		h := http.Header{}
		h.Set("Origin", s.URL)
		h.Set("Cookie", ana.cookie.Name+"="+ana.cookie.Value)
		if _, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/supervisor/ws?view=queues", h); err == nil ||
			res == nil || res.StatusCode != http.StatusForbidden {
			t.Errorf("an agent's socket: %v", err)
		}
		wc, _ := s.TaskRouter.WorkerChannel(context.Background(), ana.staff.WorkspaceSid, ana.staff.WorkerSid, "chat")
		if wc.Capacity == 9 {
			t.Errorf("an agent changed their own capacity through the supervisor's route")
		}
	})
}

// supSocket is a live view's socket, its messages read in the background.
type supSocket struct {
	t    *testing.T
	msgs chan string
	ws   *websocket.Conn
}

func dialSupervisor(t *testing.T, a deskAgent, query string) *supSocket {
	t.Helper()
	h := http.Header{}
	h.Set("Origin", a.s.URL)
	h.Set("Cookie", a.cookie.Name+"="+a.cookie.Value)
	ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(a.s.URL, "http")+"/supervisor/ws?"+query, h)
	if err != nil {
		status := 0
		if res != nil {
			status = res.StatusCode
		}
		t.Fatalf("dial the live view: %v (HTTP %d)", err, status)
	}
	t.Cleanup(func() { _ = ws.Close() })
	s := &supSocket{t: t, ws: ws, msgs: make(chan string, 64)}
	go func() {
		defer close(s.msgs)
		for {
			_, b, err := ws.ReadMessage()
			if err != nil {
				return
			}
			s.msgs <- string(b)
		}
	}()
	return s
}

// await reads pushes until one satisfies ok, for up to 10 s.
func (s *supSocket) await(what string, ok func(string) bool) string {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case m, open := <-s.msgs:
			if !open {
				s.t.Fatalf("the socket closed before %s", what)
			}
			if ok(m) {
				return m
			}
		case <-deadline:
			s.t.Fatalf("no push with %s", what)
		}
	}
}

func TestSupervisorSocketPushesTheBoardWholeThenOnEveryChange(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		sue := signInSupervisor(t, s)
		ws := sue.staff.WorkspaceSid
		q := dialSupervisor(t, sue, "view=queues&sort=waiting&dir=desc")
		first := q.await("the board", func(m string) bool { return strings.Contains(m, `id="queues-board"`) })
		if !strings.Contains(first, `hx-swap-oob="true"`) || !strings.Contains(first, `data-live="true"`) ||
			supCell(t, first, "Everyone", "waiting") != "0" {
			t.Fatalf("the first push:\n%s", first)
		}
		if !strings.Contains(first, `aria-sort="descending"`) {
			t.Errorf("the push lost the page's sort")
		}
		smsCustomerWrites(t, s, "+34600111004", "Hello?")
		settle(t, s, ws)
		q.await("a waiting task", func(m string) bool { return supCell(t, m, "Everyone", "waiting") == "1" })

		team := dialSupervisor(t, sue, "view=teams")
		team.await("the teams board", func(m string) bool { return strings.Contains(m, `id="teams-board"`) })
		brk := supActivity(t, s, ws, "Break")
		sue.want(http.StatusOK, request{method: http.MethodPost, path: "/supervisor/teams/" + sue.staff.WorkerSid + "/activity",
			form: url.Values{"activity": {brk}}})
		team.await("Sue on a break", func(m string) bool {
			return strings.Contains(supMemberRow(t, m, sue.staff.WorkerSid), `<option value="`+brk+`" selected>`)
		})

		bad := dialSupervisor(t, sue, "view=calendar")
		if _, open := <-bad.msgs; open {
			t.Errorf("a socket for an unknown view stayed open")
		}
	})
}

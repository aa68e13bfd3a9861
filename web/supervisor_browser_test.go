package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// supTab is a supervisor's browser tab on a live view.
type supTab struct{ deskTab }

// openSupervisor signs the supervisor's browser in and opens a live view
// at path, waiting for its socket's first push.
func openSupervisor(t *testing.T, browserCtx context.Context, s *webtest.Server, a deskAgent, path, board string) supTab {
	t.Helper()
	return supTab{openStaffTab(t, browserCtx, s, a, tabSetup{width: 1360, height: 760}, path, liveBoard(board))}
}

// liveBoard is true once the board's socket has pushed it.
func liveBoard(board string) string {
	return `document.querySelector("#` + board + `")?.dataset.live === "true"`
}

// open loads a live view and waits for its socket's first push.
func (st supTab) open(u, board string) {
	st.t.Helper()
	st.do("opening "+u, chromedp.Navigate(u))
	st.wait("the live board", liveBoard(board))
}

// screenshot saves the tab as docs/screenshots/supervisor-<name>.png when
// UPDATE_SCREENSHOTS=1, once its timers have ticked.
func (st supTab) screenshot(name string) {
	st.t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") == "1" {
		time.Sleep(1200 * time.Millisecond) // this is a picture, not an assertion
	}
	st.deskTab.screenshot("supervisor-" + name)
}

// supWaiting is the Waiting cell of a queue's row, as a JS expression.
func supWaiting(queue string) string {
	return `document.querySelector('tr[data-queue=` + jsString(queue) + `] td[data-col="waiting"]')?.textContent.trim()`
}

func TestBrowserSupervisorSeesQueuesAndTeamsChangeLive(t *testing.T) {
	ctx := browser(t)
	first := true
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		shots := first // one set of screenshots is enough
		first = false
		supWatchesLive(t, ctx, webtest.Start(t, d), shots)
	})
}

// supWatchesLive is the supervisor's session of the browser test.
func supWatchesLive(t *testing.T, ctx context.Context, s *webtest.Server, shots bool) {
	sue := signInSupervisor(t, s)
	ws := sue.staff.WorkspaceSid
	ana := signInAgent(t, s, "ana@example.com", "Ana")
	ben := signInAgent(t, s, "ben@example.com", "Ben")
	bg := context.Background()
	sales, target := "Sales", "routing.skills HAS 'sales'"
	if _, err := s.TaskRouter.CreateTaskQueue(bg, ws, taskrouter.TaskQueueParams{FriendlyName: &sales, TargetWorkers: &target}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []deskAgent{ana, ben} {
		attrs := `{"full_name":"` + a.staff.Name + `","team_name":"Blue","routing":{"skills":["support"]}}`
		if a.staff.Name == "Ben" {
			attrs = `{"full_name":"Ben","team_name":"Red","routing":{"skills":["sales","support"]}}`
		}
		if _, err := s.TaskRouter.UpdateWorker(bg, ws, a.staff.WorkerSid, taskrouter.WorkerParams{Attributes: &attrs}); err != nil {
			t.Fatal(err)
		}
	}
	// Ana works one customer's conversation.
	ana.holds(smsCustomerWrites(t, s, "+34600222001", "Where is my parcel?"))
	routeInBackground(t, s, ws)

	tab := openSupervisor(t, ctx, s, sue, "/supervisor/queues", "queues-board")
	tab.wait("nothing waits yet", supWaiting("Everyone")+` === "0"`)
	tab.eval("marking the page", `window.notReloaded = true`)

	// Customers write in while nobody is free: Waiting rises without a reload.
	smsCustomerWrites(t, s, "+34600222002", "Hello?")
	tab.wait("one task waiting", supWaiting("Everyone")+` === "1" && window.notReloaded === true`)
	smsCustomerWrites(t, s, "+34600222003", "Is anyone there?")
	tab.wait("two tasks waiting", supWaiting("Everyone")+` === "2" && window.notReloaded === true`)
	tab.wait("the tiles follow", `document.querySelector('[data-testid="tile-waiting"] .value').textContent.trim() === "2"`)
	tab.wait("the longest wait ticks", `/^\d+:\d\d$/.test(document.querySelector('tr[data-queue="Everyone"] td[data-col="longest"] .timer')?.textContent ?? "")`)
	if shots {
		tab.screenshot("queues")
	}

	// Sorting keeps the live view: the new page's socket follows the order.
	tab.do("sorting by waiting", chromedp.Click(chromedp.CSS(`th a[data-sort="waiting"]`)),
		untilAfterNavigation(`document.querySelector('th[aria-sort] a[data-sort="waiting"]') !== null && document.querySelector("#queues-board")?.dataset.live === "true"`))

	// Teams: Ana goes on a break from her own desktop; the supervisor sees it live.
	tab.open(s.URL+"/supervisor/teams", "teams-board")
	row := `document.querySelector("#member-` + ana.staff.WorkerSid + `")`
	tab.wait("Ana's live task", row+`?.querySelector('.sup-tasks li[data-status="assigned"]') !== null`)
	tab.eval("marking the page", `window.notReloaded = true`)
	brk := supActivity(t, s, ws, "Break")
	ana.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/activity", form: url.Values{"activity": {brk}}})
	tab.wait("Ana on a break", row+`?.querySelector("select").value === `+jsString(brk)+` && window.notReloaded === true`)

	// A push never overwrites a capacity being typed: it waits until the
	// field is left.
	capField := row + `.querySelector('li[data-channel="sms"] input')`
	tab.eval("typing a capacity", `(() => { const f = `+capField+`; f.focus(); f.value = "7"; })()`)
	ana.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/activity", form: url.Values{"activity": {supActivity(t, s, ws, "Offline")}}})
	tab.wait("the push held back", `document.querySelector("#teams-board").dataset.held === "true" && `+capField+`.value === "7"`)
	tab.eval("leaving the field", `document.activeElement.blur()`)
	tab.wait("the held push caught up", `document.querySelector("#teams-board").dataset.held === undefined && `+
		row+`.querySelector("select").value === `+jsString(supActivity(t, s, ws, "Offline")))

	// The supervisor puts Ben back to work from the page.
	avail := supActivity(t, s, ws, "Available")
	benRow := `document.querySelector("#member-` + ben.staff.WorkerSid + `")`
	tab.eval("Ben to Available", `(() => {
		const s = `+benRow+`.querySelector("select");
		s.value = `+jsString(avail)+`;
		s.dispatchEvent(new Event("change", {bubbles: true}));
	})()`)
	tab.wait("the notice", `document.querySelector("#notice")?.textContent.includes("Ben is now Available")`)
	tab.wait("Ben available", benRow+`?.querySelector(".sup-dot.available") !== null`)
	if w, err := s.TaskRouter.Worker(bg, ws, ben.staff.WorkerSid); err != nil || w.ActivitySid != avail {
		t.Fatalf("Ben's activity: %v %v", w.ActivitySid, err)
	}
	// Ben takes the waiting customers (routed in the background).
	tab.wait("Ben's offers", benRow+`?.querySelectorAll('.sup-tasks li').length > 0`)
	if shots {
		tab.screenshot("teams")
	}
}

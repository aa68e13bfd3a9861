package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// deskTab is an agent's desktop in a browser tab.
type deskTab struct {
	t   *testing.T
	ctx context.Context
}

// recordSockets keeps every WebSocket the page opens in window.testSockets.
const recordSockets = `(() => {
	const Native = window.WebSocket;
	window.testSockets = [];
	window.WebSocket = class extends Native {
		constructor(...args) { super(...args); window.testSockets.push(this); }
	};
})()`

// tabSetup is how a member of staff's tab opens: its size, the browser
// permissions the server's origin gets, and anything else the page needs
// before it loads.
type tabSetup struct {
	width, height int64
	permissions   []string
	before        func(ctx context.Context) error
}

// openStaffTab signs a browser tab in as a (their session cookie, HttpOnly
// as a real sign-in sets it) and opens path, waiting until ready holds.
// Each tab gets a browser context of its own (cookies included), as two
// people on two machines would.
func openStaffTab(t *testing.T, browserCtx context.Context, s *webtest.Server, a deskAgent, setup tabSetup, path, ready string) deskTab {
	t.Helper()
	tab, cancel := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	d := deskTab{t: t, ctx: tab}
	httpOnly := true
	d.do("signing the tab in",
		chromedp.EmulateViewport(setup.width, setup.height),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
				return err
			}
			if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: a.cookie.Name, Value: a.cookie.Value,
				URL: s.URL, HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteLax}); err != nil {
				return err
			}
			for _, p := range setup.permissions {
				if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
					Permission: &cdpbrowser.PermissionDescriptor{Name: p}, Setting: cdpbrowser.PermissionSettingGranted, Origin: s.URL,
					BrowserContextID: chromedp.FromContext(ctx).BrowserContextID}); err != nil {
					return err
				}
			}
			if setup.before != nil {
				return setup.before(ctx)
			}
			return nil
		}),
		chromedp.Navigate(s.URL+path),
		until(ready))
	return d
}

// openDesk signs the agent's browser in, lets the page notify, and opens
// the desktop.
func openDesk(t *testing.T, browserCtx context.Context, s *webtest.Server, a deskAgent) deskTab {
	t.Helper()
	return openStaffTab(t, browserCtx, s, a, tabSetup{width: 1280, height: 820, permissions: []string{"notifications"},
		before: func(ctx context.Context) error {
			// Headless tabs are never focused; the desktop reads only what is looked at.
			if _, err := chromedp.Call(ctx, emulation.SetFocusEmulationEnabled, emulation.SetFocusEmulationEnabledParams{Enabled: true}); err != nil {
				return err
			}
			// The test's handle on the page's sockets, to drop one.
			_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: recordSockets})
			return err
		}}, "/desktop", `document.getElementById("desk")?.dataset.synced === "true"`)
}

func (d deskTab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	d.t.Helper()
	if err := chromedp.Do(d.ctx, actions...); err != nil {
		// Evaluated, not queried: a query would wait for an element the page may not have.
		page, _ := chromedp.Run(d.ctx, chromedp.Evaluate[string](`location.href + "\n" + document.documentElement.outerHTML`))
		d.t.Fatalf("%s: %v\npage: %s", what, err, page)
	}
}

// wait polls a condition on the page, for up to 20 s.
func (d deskTab) wait(what, js string) {
	d.t.Helper()
	// Until content htmx swapped in has settled: htmx wires a new form or
	// button up only then (dropping its htmx-added class), and a click
	// before that is the browser's own (a form's native submit).
	settled := "(" + js + `) && !document.querySelector(".htmx-added")`
	d.do(what, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Poll[bool](settled, chromedp.WithPollingTimeout(20*time.Second))(ctx, t)
		return chromedp.Void{}, err
	})
}

// goAvailable turns on the ring and notifications (a click: the page may
// then play sound) and picks the Available activity.
func (d deskTab) goAvailable() {
	d.t.Helper()
	d.do("turning on the ring and notifications", chromedp.Click(chromedp.CSS("#alerts")))
	d.wait("alerts on", `document.getElementById("alerts").classList.contains("on") && Notification.permission === "granted"`)
	d.eval("going Available", `(() => {
		const s = document.querySelector("[data-testid=activity]");
		s.value = [...s.options].find(o => o.textContent.includes("Available")).value;
		s.dispatchEvent(new Event("change", {bubbles: true}));
	})()`)
	d.wait("the header says available", `document.querySelector("#desk-header .presence.available") !== null`)
}

func (d deskTab) eval(what, js string) {
	d.t.Helper()
	d.do(what, chromedp.Evaluate[chromedp.Void](js))
}

// screenshot saves the tab as docs/screenshots/<name>.png when
// UPDATE_SCREENSHOTS=1.
func (d deskTab) screenshot(name string) {
	d.t.Helper()
	saveScreenshot(d.t, d.ctx, name)
}

// saveScreenshot saves a tab as docs/screenshots/<name>.png when
// UPDATE_SCREENSHOTS=1: the committed pictures; an ordinary test run
// leaves the checkout alone.
func saveScreenshot(t *testing.T, tab context.Context, name string) {
	t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	time.Sleep(300 * time.Millisecond) // let scrolling, images and notices settle: this is a picture, not an assertion
	png, err := chromedp.Run(tab, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// altKey presses Alt with a letter, as the shortcuts want it.
func altKey(letter string) chromedp.Action[chromedp.Void] {
	return chromedp.KeyEvent(letter, chromedp.KeyModifiers(chromedp.ModifierAlt))
}

// routeInBackground runs due jobs and routing every 100 ms until the test
// ends, as the server's own loops would.
func routeInBackground(t *testing.T, s *webtest.Server, workspaceSid string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if _, err := s.Jobs.RunDue(ctx); err != nil && ctx.Err() == nil {
					t.Logf("jobs: %v", err)
				}
				if _, err := s.Router.RouteWorkspace(ctx, workspaceSid); err != nil && ctx.Err() == nil {
					t.Logf("routing: %v", err)
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// htmxIdle holds once htmx has swapped and settled what it fetched: only
// then does new content (a dialog's form) answer clicks as htmx's.
const htmxIdle = `document.querySelector(".htmx-request, .htmx-swapping, .htmx-settling, .htmx-added") === null`

// threadTexts is the open canvas's bubbles with exactly this text.
func threadTexts(text string) string {
	return `[...document.querySelectorAll("#canvas .msg .text")].filter(p => p.textContent === ` + jsString(text) + `)`
}

func TestBrowserAgentsTakeAnOfferReplyTransferAndCompleteAndADropLosesNothing(t *testing.T) {
	ctx := browser(t)
	first := true
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		shots := first // one set of screenshots is enough
		first = false
		s := webtest.Start(t, d)
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		routeInBackground(t, s, ana.staff.WorkspaceSid)
		tab := openDesk(t, ctx, s, ana)

		tab.goAvailable()

		// A customer on webchat writes: the offer rings, notifies and counts down.
		cv, err := s.Twilio.ConversationsV1.CreateConversation(&conv.CreateConversationParams{})
		if err != nil {
			t.Fatal(err)
		}
		f := chatFixture{s: s, service: *cv.ChatServiceSid, conversation: *cv.Sid}
		f.join(t, f.conversation, "guest-ada", `{"friendlyName":"Ada"}`)
		customer := connectChat(t, s, f.token(t, "guest-ada"))
		customer.send(map[string]any{"type": "subscribe", "conversation_sid": f.conversation})
		customer.await("history", nil)
		customer.send(map[string]any{"type": "send", "conversation_sid": f.conversation, "body": "Hi, my parcel is late", "id": "m1"})
		customer.await("ack", nil)

		offer := `document.querySelector("#tasks .offer")`
		tab.wait("the offer rings and notifies", offer+` && `+offer+`.dataset.rang === "true" && `+offer+`.dataset.notified === "true"
			&& `+offer+`.querySelector(".customer").textContent === "Ada"
			&& `+offer+`.querySelector(".preview").textContent === "Hi, my parcel is late"`)
		tab.wait("the countdown runs", `/^[0-9]+:[0-5][0-9]$/.test(`+offer+`.querySelector("[data-testid=countdown]").textContent)
			&& `+offer+`.querySelector("[data-testid=countdown]").textContent !== "0:00"`)
		if shots {
			tab.screenshot("desktop-offer")
		}

		// Alt+A accepts: the canvas opens on the customer's message, and the agent joined.
		tab.do("accepting with Alt+A", altKey("a"))
		tab.wait("the thread shows the customer", threadTexts("Hi, my parcel is late")+`.length === 1
			&& document.querySelector("#canvas .customer").textContent === "Ada"
			&& [...document.querySelectorAll("#canvas .sys")].some(li => li.textContent === "Ana joined")
			&& document.querySelector("#tasks [data-testid=task].open") !== null`)
		customer.await("participant_joined", nil)

		// Typing both ways.
		// The customer types (a client repeats the start while typing).
		typing := `document.querySelector("#canvas .typing").textContent.trim() === "Ada is typing…"`
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(1100 * time.Millisecond) {
			customer.send(map[string]any{"type": "typing", "conversation_sid": f.conversation, "typing": true})
			if seen, _ := chromedp.Run(tab.ctx, chromedp.Evaluate[bool](typing)); seen {
				break
			}
			if time.Now().After(deadline) {
				tab.wait("the customer's typing", typing)
			}
		}
		composer := `#canvas .composer textarea`
		tab.do("typing a reply", chromedp.Click(chromedp.CSS(composer)), chromedp.SendKeys(chromedp.CSS(composer), "Sorry to hear that,"),
			enter(chromedp.ModifierShift), chromedp.SendKeys(chromedp.CSS(composer), "let me check."))
		customer.await("typing", func(fr map[string]any) bool { return fr["typing"] == true })
		tab.wait("Shift+Enter made a new line", `document.querySelector("`+composer+`").value === "Sorry to hear that,\nlet me check."`)
		tab.do("sending with Enter", enter())
		reply := "Sorry to hear that,\nlet me check."
		got := customer.await("message_added", func(fr map[string]any) bool {
			return fr["message"].(map[string]any)["body"] == reply
		})["message"].(map[string]any)
		if got["author"] != ana.staff.Identity {
			t.Fatalf("the reply reached the customer as %v, want %s", got["author"], ana.staff.Identity)
		}
		tab.wait("the reply shows, and the composer is empty", threadTexts(reply)+`.length === 1
			&& `+threadTexts(reply)+`[0].closest(".msg").classList.contains("mine")
			&& `+threadTexts(reply)+`[0].closest(".msg").querySelector(".who").textContent === "Ana"
			&& document.querySelector("`+composer+`").value === ""`)

		// The customer reads it: the tick turns read.
		customer.send(map[string]any{"type": "read", "conversation_sid": f.conversation, "index": int(got["index"].(float64))})
		tab.wait("read ticks", threadTexts(reply)+`[0].closest(".msg").querySelector(".ticks.read") !== null`)

		// A picture goes out as an attachment and shows inline.
		tab.eval("attaching a picture", `(() => {
			const dt = new DataTransfer();
			dt.items.add(new File([Uint8Array.from(atob(`+jsString(receiptPNG(t))+`), c => c.charCodeAt(0))], "receipt.png", {type: "image/png"}));
			const input = document.querySelector("#canvas .composer input[type=file]");
			input.files = dt.files;
			input.dispatchEvent(new Event("change", {bubbles: true}));
		})()`)
		tab.wait("the attachment is ready", `[...document.querySelectorAll("#canvas .composer .chip span")].some(s => s.textContent === "receipt.png")`)
		tab.do("sending it with Enter", chromedp.Click(chromedp.CSS(composer)), enter())
		picture := customer.await("message_added", func(fr map[string]any) bool {
			media, _ := fr["message"].(map[string]any)["media"].([]any)
			return len(media) == 1 && media[0].(map[string]any)["filename"] == "receipt.png"
		})
		tab.wait("the picture shows in the thread", `[...document.querySelectorAll("#canvas .msg.mine .media img")].some(img =>
			img.alt === "receipt.png" && img.complete && img.naturalWidth === 160)
			&& document.querySelector("#canvas .composer .chip") === null`)
		customer.send(map[string]any{"type": "read", "conversation_sid": f.conversation, "index": int(index(picture))})
		if shots {
			tab.screenshot("desktop-canvas")
		}

		// The connection drops mid-conversation (the network goes, and the
		// socket with it); what the customer writes meanwhile arrives once
		// the page is back, once each, in order.
		tab.eval("watching the connection banner", `new MutationObserver(() => {
			if (!document.getElementById("connection").hidden) window.testSawBanner = true;
		}).observe(document.getElementById("connection"), {attributes: true})`)
		// The socket closes first (offline, its closing handshake could hang),
		// and the network goes before the page's first retry (at least 250 ms).
		tab.eval("dropping the socket", `window.testSockets.at(-1).close(4000, "dropped by the test")`)
		tab.do("going offline", offline(true))
		tab.wait("the page said it was reconnecting", `window.testSawBanner === true`)
		for _, text := range []string{"Are you there?", "Order 42 <b>please</b>"} {
			customer.send(map[string]any{"type": "send", "conversation_sid": f.conversation, "body": text})
			customer.await("ack", nil)
		}
		time.Sleep(300 * time.Millisecond)
		away, err := chromedp.Run(tab.ctx, chromedp.Evaluate[bool](`document.getElementById("desk").dataset.socket === "closed"
			&& `+threadTexts("Are you there?")+`.length === 0`))
		if err != nil || !away {
			t.Fatalf("the page was not cut off while the customer wrote (%v)", err)
		}
		tab.do("coming back online", offline(false))
		tab.wait("both missed messages, once each", `document.getElementById("connection").hidden
			&& `+threadTexts("Are you there?")+`.length === 1 && `+threadTexts("Order 42 <b>please</b>")+`.length === 1`)
		indexes, err := chromedp.Run(tab.ctx, chromedp.Evaluate[[]int](
			`[...document.querySelectorAll("#canvas .msg")].map(li => Number(li.dataset.index))`))
		if err != nil {
			t.Fatal(err)
		}
		for i, idx := range indexes {
			if idx != i {
				t.Fatalf("the thread's indexes after the drop are %v, want 0..%d in order", indexes, len(indexes)-1)
			}
		}
		if len(indexes) != 5 {
			t.Fatalf("the thread has %d messages, want 5: %v", len(indexes), indexes)
		}
		tab.wait("the card counts nothing unread while the agent looks", `document.querySelector("#tasks [data-testid=task] [data-testid=unread]") === null`)

		// Ana hands the conversation to Ben, cold, with a note.
		if _, err := s.Desk.CreateDisposition(t.Context(), desk.DispositionParams{WorkspaceSid: &ana.staff.WorkspaceSid,
			Code: ptrTo("resolved"), Label: ptrTo("Resolved")}); err != nil {
			t.Fatal(err)
		}
		ben := signInAgent(t, s, "ben@example.com", "Ben")
		benTab := openDesk(t, ctx, s, ben)
		benTab.goAvailable()
		tab.do("opening the transfer dialog", chromedp.Click(chromedp.CSS("#canvas .desk-actions-bar button")))
		tab.wait("Ben can take it", `document.querySelector("#canvas .desk-transfer-form input[name=to][value=`+ben.staff.WorkerSid+`]:not([disabled])") !== null
			&& `+htmxIdle)
		tab.do("transferring to Ben", chromedp.Click(chromedp.CSS(`#canvas input[name=to][value=`+ben.staff.WorkerSid+`]`)),
			chromedp.SendKeys(chromedp.CSS("#canvas .desk-transfer-form textarea[name=note]"), "Order 42, parcel late"),
			chromedp.Click(chromedp.CSS("#canvas .desk-transfer-form button[type=submit]")))
		tab.wait("the transfer waits for Ben", `document.querySelector("#canvas .desk-transfer-pending") !== null`)

		benOffer := `document.querySelector("#tasks .offer")`
		benTab.wait("Ben's offer rings", benOffer+` && `+benOffer+`.dataset.rang === "true" && `+benOffer+`.querySelector(".customer").textContent === "Ada"`)
		benTab.do("Ben accepts", chromedp.Click(chromedp.CSS("#tasks .offer .accept")))
		benTab.wait("Ben sees the whole thread, the hand-over and the note", threadTexts("Hi, my parcel is late")+`.length === 1
			&& `+threadTexts("Order 42 <b>please</b>")+`.length === 1
			&& [...document.querySelectorAll("#canvas .sys")].some(li => li.textContent === "Ana transferred the conversation to Ben (cold): Order 42, parcel late")
			&& [...document.querySelectorAll("#canvas .sys")].some(li => li.textContent === "Ben joined")
			&& document.querySelector("#canvas").textContent.includes("Order 42, parcel late")`)
		tab.wait("Ana is out: her canvas is read-only and her card gone", `document.querySelector("#canvas .composer.readonly") !== null
			&& document.querySelector("#tasks [data-testid=task]") === null
			&& [...document.querySelectorAll("#canvas .sys")].some(li => li.textContent === "Ana left")`)
		customer.await("participant_left", nil)

		benComposer := `#canvas .composer textarea`
		benTab.do("Ben replies", chromedp.Click(chromedp.CSS(benComposer)), chromedp.SendKeys(chromedp.CSS(benComposer), "Hi Ada, Ben here."), enter())
		customer.await("message_added", func(fr map[string]any) bool {
			m := fr["message"].(map[string]any)
			return m["body"] == "Hi Ada, Ben here." && m["author"] == ben.staff.Identity
		})

		// Ben ends the chat (wrap-up) and completes with a disposition.
		benTab.eval("confirming without a dialog", `window.confirm = () => true`)
		benTab.do("ending the chat", chromedp.Click(chromedp.CSS(`#canvas .desk-actions-bar button[hx-post$="/end"]`)))
		benTab.wait("Ben wraps up", `document.querySelector("#tasks [data-testid=task].wrapping") !== null
			&& document.querySelector("#canvas .composer.readonly") !== null
			&& document.querySelector("#canvas [data-testid=canvas-state]").textContent === "Wrapping up"`)
		customer.await("participant_left", nil)
		benTab.do("opening Complete", chromedp.Click(chromedp.CSS(`#canvas .desk-actions-bar button[hx-get$="/complete"]`)))
		benTab.wait("the Complete form", `document.querySelector("#canvas .desk-complete-form select[name=disposition]") !== null && `+htmxIdle)
		benTab.do("completing as resolved", chromedp.SetValue(chromedp.CSS("#canvas .desk-complete-form select[name=disposition]"), "resolved"),
			chromedp.Click(chromedp.CSS("#canvas .desk-complete-form button[type=submit]")))
		benTab.wait("the task is done and off the list", `document.querySelector("#tasks [data-testid=task]") === null
			&& document.querySelector("#canvas [data-testid=canvas-state]").textContent === "Completed"`)
		done, _, err := s.TaskRouter.Tasks(t.Context(), ben.staff.WorkspaceSid, taskrouter.TaskFilter{AssignmentStatus: []string{"completed"}},
			taskrouter.Page{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		resolved := 0
		for _, task := range done {
			if task.WorkerSid == ben.staff.WorkerSid && strings.Contains(task.Attributes, `"disposition":"resolved"`) {
				resolved++
			}
		}
		if resolved != 1 {
			t.Fatalf("Ben's completed tasks with the disposition: %d of %d", resolved, len(done))
		}
		benTab.wait("Ben's capacity is free again", `document.querySelector("#desk-header .cap[data-channel=chat]").textContent.trim().endsWith("0/1")`)
	})
}

func ptrTo[T any](v T) *T { return &v }

func TestBrowserADesktopWhoseSessionEndedGoesToSignInInsteadOfRetryingForever(t *testing.T) {
	ctx := browser(t)
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	ana := signInAgent(t, s, "ana@example.com", "Ana")
	tab := openDesk(t, ctx, s, ana)
	if _, err := s.Sessions.End(t.Context(), ana.cookie.Value); err != nil {
		t.Fatal(err)
	}
	tab.eval("dropping the socket", `window.testSockets.at(-1).close(4000, "dropped by the test")`)
	// The page navigates away, which ends any poll on it: ask again until it has.
	var at string
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if at, _ = chromedp.Run(tab.ctx, chromedp.Evaluate[string](`location.pathname + location.search`)); at == "/auth/login?next=%2Fdesktop" {
			return
		}
	}
	t.Fatalf("the page is at %q, not at the sign-in coming back to the desktop", at)
}

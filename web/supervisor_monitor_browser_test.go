package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	conv "github.com/twilio/twilio-go/rest/conversations/v1"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// openMonTab signs a browser tab in as the member of staff a and opens
// path.
func openMonTab(t *testing.T, browserCtx context.Context, s *webtest.Server, a deskAgent, path, ready string) deskTab {
	t.Helper()
	return openStaffTab(t, browserCtx, s, a, tabSetup{width: 1280, height: 860}, path, ready)
}

// monTexts is the monitored thread's bubbles with exactly this text.
func monTexts(text string) string {
	return `[...document.querySelectorAll("#mon .msg .text")].filter(p => p.textContent === ` + jsString(text) + `)`
}

func TestBrowserASupervisorWatchesAChatLiveJoinsWritesAndReassignsIt(t *testing.T) {
	ctx := browser(t)
	first := true
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		shots := first // one screenshot is enough
		first = false
		s := webtest.Start(t, d)

		// A webchat customer writes and Ana takes the chat.
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
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		ana.holds(f.conversation)
		ben := signInAgent(t, s, "ben@example.com", "Ben")
		ben.available()

		// The supervisor opens the list and the conversation from it.
		sue := signInMonSupervisor(t, s, "sue@example.com", "Sue Supervisor")
		row := `document.querySelector("#mon-rows tr[data-conversation='` + f.conversation + `']")`
		tab := openMonTab(t, ctx, s, sue, "/supervisor/monitor", row+` !== null && `+row+`.textContent.includes("Ada") && `+row+`.textContent.includes("Ana")`)
		href, err := chromedp.Run(tab.ctx, chromedp.Evaluate[string](row+`.querySelector("a").href`))
		if err != nil || href != s.URL+"/supervisor/monitor/"+f.conversation {
			t.Fatalf("the row links to %q (%v)", href, err)
		}
		tab.do("opening the conversation", chromedp.Navigate(href))
		tab.wait("the monitor, in sync with its socket", `document.getElementById("mon")?.dataset.synced === "true"
			&& `+monTexts("Hi, my parcel is late")+`.length === 1
			&& document.querySelector("[data-testid=mon-task-agent]").textContent === "Ana"`)

		// A customer message appears without a reload.
		customer.send(map[string]any{"type": "send", "conversation_sid": f.conversation, "body": "Is anyone there?", "id": "m2"})
		customer.await("ack", nil)
		tab.wait("the customer's new message, live", monTexts("Is anyone there?")+`.length === 1`)

		// Join and write: the customer gets it as the supervisor, named.
		tab.do("joining", chromedp.Click(chromedp.CSS("[data-testid=mon-join]")))
		tab.wait("the composer", `document.querySelector("[data-testid=mon-composer]") !== null && `+htmxIdle)
		customer.await("participant_joined", nil)
		composer := "[data-testid=mon-composer]"
		tab.do("writing to the customer", chromedp.Click(chromedp.CSS(composer)), chromedp.SendKeys(chromedp.CSS(composer), "Sue here, I am on it"), enter())
		got := customer.await("message_added", func(fr map[string]any) bool {
			return fr["message"].(map[string]any)["body"] == "Sue here, I am on it"
		})["message"].(map[string]any)
		if got["author"] != sue.staff.Identity {
			t.Fatalf("the supervisor's message reached the customer as %v, want %s", got["author"], sue.staff.Identity)
		}
		tab.wait("the supervisor's message, theirs", monTexts("Sue here, I am on it")+`.length === 1
			&& `+monTexts("Sue here, I am on it")+`[0].closest(".msg").classList.contains("mine")
			&& [...document.querySelectorAll("#mon .sys")].some(li => li.textContent === "Sue Supervisor joined")
			&& [...document.querySelectorAll("[data-testid=mon-people] li")].some(li => li.dataset.role === "supervisor")`)
		if shots {
			tab.screenshot("supervisor-monitor")
		}

		// Reassign to Ben: Ana loses it at once, Ben is offered it.
		tab.eval("choosing Ben", `(() => {
			const s = document.querySelector("[data-testid=mon-to]");
			s.value = `+jsString(ben.staff.WorkerSid)+`;
		})()`)
		tab.do("reassigning", chromedp.Click(chromedp.CSS("[data-testid=mon-reassign-submit]")))
		tab.wait("the notice", `document.querySelector("#notice").textContent.includes("Reassigned: Ben has it now.")`)
		settle(t, s, ben.staff.WorkspaceSid)
		tab.wait("the panel follows the offer", `document.querySelector("[data-testid=mon-task-agent]").textContent === "Ben (offered)"
			&& [...document.querySelectorAll("#mon .sys")].some(li => li.textContent === "Ana left")
			&& [...document.querySelectorAll("#mon .sys")].some(li => li.textContent.startsWith("Ana transferred the conversation to Ben (cold): Reassigned by Sue Supervisor"))`)
		ben.offer()
	})
}

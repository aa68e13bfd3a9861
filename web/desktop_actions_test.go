package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// action is a request to one of the desk's actions on a conversation.
func action(method, conversationSid, name string, form url.Values) request {
	return request{method: method, path: "/desktop/c/" + conversationSid + "/" + name, form: form}
}

// taskOf is the agent's task on a conversation, through TaskRouter.
func (a deskAgent) taskOf(conversationSid string) taskrouter.Task {
	a.t.Helper()
	ts, _, err := a.s.TaskRouter.Tasks(context.Background(), a.staff.WorkspaceSid, taskrouter.TaskFilter{}, taskrouter.Page{Limit: 100})
	if err != nil {
		a.t.Fatal(err)
	}
	for i := len(ts) - 1; i >= 0; i-- {
		var attrs struct {
			ConversationSid string `json:"conversationSid"`
		}
		_ = json.Unmarshal([]byte(ts[i].Attributes), &attrs)
		if attrs.ConversationSid == conversationSid && ts[i].WorkerSid == a.staff.WorkerSid {
			return ts[i]
		}
	}
	a.t.Fatalf("%s has no task on %s", a.staff.Name, conversationSid)
	return taskrouter.Task{}
}

func (a deskAgent) inConversation(conversationSid string) bool {
	a.t.Helper()
	ps, err := a.s.Twilio.ConversationsV1.ListConversationParticipant(conversationSid, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for _, p := range ps {
		if p.Identity != nil && *p.Identity == a.staff.Identity {
			return true
		}
	}
	return false
}

func wantIn(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Fatalf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

func TestAnAgentTransfersAConversationFromTheDesktopWithANote(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		conv := smsCustomerWrites(t, s, "+34600111222", "My parcel is lost")
		ana.holds(conv)
		ben := signInAgent(t, s, "ben@example.com", "Ben")
		ben.available()

		dialog := ana.want(http.StatusOK, action(http.MethodGet, conv, "transfer", nil))
		wantIn(t, "the transfer dialog", dialog, `<dialog open`, `value="`+ben.staff.WorkerSid+`"`, "Ben", "Everyone", `name="note"`)
		if strings.Contains(dialog, `value="`+ana.staff.WorkerSid+`"`) {
			t.Fatal("the dialog offers Ana her own conversation")
		}

		// A refusal comes back in the dialog, with what she typed.
		refusal := ana.want(http.StatusBadRequest, action(http.MethodPost, conv, "transfer",
			url.Values{"to": {ben.staff.WorkerSid}, "type": {"tepid"}, "note": {"keep me"}}))
		wantIn(t, "the refused transfer", refusal, `role="alert"`, "cold or warm", ">keep me</textarea>")

		pending := ana.want(http.StatusOK, action(http.MethodPost, conv, "transfer",
			url.Values{"to": {ben.staff.WorkerSid}, "type": {"cold"}, "note": {"lost parcel <b>urgent</b>"}}))
		wantIn(t, "the dialog after transferring", pending, "Waiting for", "Ben", "Cancel transfer")

		settle(t, s, ben.staff.WorkspaceSid)
		r := ben.offer()
		ben.want(http.StatusOK, request{method: http.MethodPost, path: "/desktop/reservations/" + r.Sid + "/accept"})
		if ana.inConversation(conv) || !ben.inConversation(conv) {
			t.Fatal("after the cold transfer Ana is still in, or Ben is not")
		}
		panel := ben.want(http.StatusOK, action(http.MethodGet, conv, "context", nil))
		wantIn(t, "Ben's context panel", panel, "Transfer note", "lost parcel &lt;b&gt;urgent&lt;/b&gt;", "+34600111222", "SMS")
		// Ana handed it over: her actions are refused, in the page's notice.
		gone := ana.want(http.StatusConflict, action(http.MethodPost, conv, "end", nil))
		wantIn(t, "End chat after handing over", gone, "no longer in conversation")
	})
}

func TestEndChatThenCompleteWithADispositionFromTheDesktop(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		conv := smsCustomerWrites(t, s, "+34600111333", "Where is my order?")
		ana.holds(conv)
		ctx := context.Background()
		for _, d := range []struct{ code, label string }{{"resolved", "Resolved"}, {"follow_up", "Follow-up needed"}} {
			if _, err := s.Desk.CreateDisposition(ctx, desk.DispositionParams{WorkspaceSid: &ana.staff.WorkspaceSid, Code: &d.code,
				Label: &d.label}); err != nil {
				t.Fatal(err)
			}
		}

		bar := ana.want(http.StatusOK, action(http.MethodPost, conv, "end", nil))
		wantIn(t, "the action bar after End chat", bar, `id="desk-actions-`+conv+`"`, "Complete")
		if strings.Contains(bar, "/end\"") || strings.Contains(bar, "/transfer\"") {
			t.Fatalf("a wrapping task still offers End chat or Transfer:\n%s", bar)
		}
		if st := ana.taskOf(conv).AssignmentStatus; st != taskrouter.TaskWrapping || ana.inConversation(conv) {
			t.Fatalf("after End chat the task is %s (in conversation: %v)", st, ana.inConversation(conv))
		}

		form := ana.want(http.StatusOK, action(http.MethodGet, conv, "complete", nil))
		wantIn(t, "the complete form", form, `<select name="disposition" required`, `value="follow_up"`, "Follow-up needed")
		refused := ana.want(http.StatusBadRequest, action(http.MethodPost, conv, "complete", url.Values{"note": {"gave tracking link"}}))
		wantIn(t, "the refused completion", refused, "Choose a disposition", ">gave tracking link</textarea>")
		if st := ana.taskOf(conv).AssignmentStatus; st != taskrouter.TaskWrapping {
			t.Fatalf("a refused completion moved the task to %s", st)
		}

		done := ana.want(http.StatusOK, action(http.MethodPost, conv, "complete",
			url.Values{"disposition": {"follow_up"}, "note": {"gave tracking link"}}))
		wantIn(t, "the completion", done, "Task completed.")
		task := ana.taskOf(conv)
		var attrs struct {
			Disposition   string `json:"disposition"`
			Conversations struct {
				Outcome string `json:"outcome"`
			} `json:"conversations"`
		}
		_ = json.Unmarshal([]byte(task.Attributes), &attrs)
		if task.AssignmentStatus != taskrouter.TaskCompleted || attrs.Disposition != "follow_up" || attrs.Conversations.Outcome != "Follow-up needed" {
			t.Fatalf("completed task: %s %s", task.AssignmentStatus, task.Attributes)
		}
		panel := ana.want(http.StatusOK, action(http.MethodGet, conv, "context", nil))
		wantIn(t, "the context panel after completing", panel, "gave tracking link", "Ana", "Completed")
	})
}

func TestTheContextPanelTakesNotesAndCannedResponsesAreSearched(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		conv := smsCustomerWrites(t, s, "+34600111444", "Hello")
		ana.holds(conv)
		ctx := context.Background()
		for _, c := range []struct{ title, body string }{
			{"Refund policy", `Refunds take 5 days. <script>alert("x")</script>`}, {"Greeting", "Hi there!"},
		} {
			if _, err := s.Desk.CreateCannedResponse(ctx, desk.CannedParams{Title: &c.title, Body: &c.body}); err != nil {
				t.Fatal(err)
			}
		}

		refused := ana.want(http.StatusBadRequest, action(http.MethodPost, conv, "notes", url.Values{"body": {"   "}}))
		wantIn(t, "an empty note", refused, `id="desk-notes-`+conv+`"`, "needs some text")
		notes := ana.want(http.StatusOK, action(http.MethodPost, conv, "notes", url.Values{"body": {"prefers email"}}))
		wantIn(t, "the notes after adding one", notes, "prefers email", "Ana")

		results := ana.want(http.StatusOK, request{method: http.MethodGet, path: "/desktop/c/" + conv + "/canned?q=REFUND"})
		wantIn(t, "the canned search", results, "Refund policy", `data-insert="Refunds take 5 days. &lt;script&gt;`)
		if strings.Contains(results, "Greeting") || strings.Contains(results, "<script>") {
			t.Fatalf("the search shows too much, or unescaped:\n%s", results)
		}
		none := ana.want(http.StatusOK, request{method: http.MethodGet, path: "/desktop/c/" + conv + "/canned?q=zebra"})
		wantIn(t, "a search finding nothing", none, "Nothing matches")

		// An SMS conversation has no WhatsApp window: the picker stays hidden.
		picker := ana.want(http.StatusOK, action(http.MethodGet, conv, "templates", nil))
		wantIn(t, "the template picker on SMS", picker, `id="desk-templates-`+conv+`"`, "hidden")
	})
}

func TestEveryDeskActionAnswersNotFoundForAForeignConversationAndNeedsCSRF(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		mine := smsCustomerWrites(t, s, "+34600555111", "Hello?")
		ana.holds(mine)
		ben := signInAgent(t, s, "ben@example.com", "Ben")
		theirs := smsCustomerWrites(t, s, "+34600555222", "Secret order 4242")
		ben.holds(theirs)

		for _, sid := range []string{theirs, "CH00000000000000000000000000000000"} {
			for _, r := range []request{
				action(http.MethodGet, sid, "transfer", nil),
				action(http.MethodPost, sid, "transfer", url.Values{"to": {ana.staff.WorkerSid}}),
				action(http.MethodPost, sid, "transfer/cancel", nil),
				action(http.MethodPost, sid, "end", nil),
				action(http.MethodGet, sid, "complete", nil),
				action(http.MethodPost, sid, "complete", nil),
				action(http.MethodGet, sid, "context", nil),
				action(http.MethodPost, sid, "notes", url.Values{"body": {"psst"}}),
				action(http.MethodGet, sid, "canned", nil),
				action(http.MethodGet, sid, "templates", nil),
				action(http.MethodPost, sid, "templates", url.Values{"content_sid": {"HX00000000000000000000000000000000"}}),
			} {
				body := ana.want(http.StatusNotFound, r)
				if strings.Contains(body, "4242") || strings.Contains(body, "+34600555222") {
					t.Fatalf("%s %s leaked their conversation:\n%s", r.method, r.path, body)
				}
			}
		}
		if !ben.inConversation(theirs) || ben.taskOf(theirs).AssignmentStatus != taskrouter.TaskAssigned {
			t.Fatal("Ana's refused actions moved Ben's conversation")
		}

		// Every change needs the page's CSRF token: without it, nothing happens.
		for _, r := range []request{
			action(http.MethodPost, mine, "end", nil),
			action(http.MethodPost, mine, "notes", url.Values{"body": {"forged"}}),
			action(http.MethodPost, mine, "complete", nil),
		} {
			r.noCSRF = true
			ana.want(http.StatusForbidden, r)
		}
		if !ana.inConversation(mine) || ana.taskOf(mine).AssignmentStatus != taskrouter.TaskAssigned {
			t.Fatal("a request without the CSRF token moved Ana's task")
		}
		panel := ana.want(http.StatusOK, action(http.MethodGet, mine, "context", nil))
		if strings.Contains(panel, "forged") {
			t.Fatal("a note without the CSRF token was saved")
		}
	})
}

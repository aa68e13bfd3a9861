package web_test

import (
	"context"
	"encoding/json"
	"testing"

	conv "github.com/twilio/twilio-go/rest/conversations/v1"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	tr "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/switchboardhq/switchboard/web/webtest"
)

// settle runs what the server's background loops would: due jobs, then routing.
func settle(t *testing.T, s *webtest.Server, ws string) {
	t.Helper()
	ctx := context.Background()
	for range 3 {
		if _, err := s.Jobs.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Router.RouteWorkspace(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInboundMessageToCompletedTaskThroughTheRESTAPIAlone is the task
// layer's promise: an inbound message becomes a task that reaches the agent
// with the right skill, and is accepted, transferred, wrapped and completed
// with nothing but twilio-go.
func TestInboundMessageToCompletedTaskThroughTheRESTAPIAlone(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		trc, cv, fx := s.Twilio.TaskrouterV1, s.Twilio.ConversationsV1, s.Twilio.FlexV1
		spaces, err := trc.ListWorkspace(nil)
		if err != nil || len(spaces) != 1 {
			t.Fatalf("workspaces = %d (%v)", len(spaces), err)
		}
		ws := *spaces[0].Sid
		acts, err := trc.ListActivity(ws, (&tr.ListActivityParams{}).SetFriendlyName("Available"))
		if err != nil || len(acts) != 1 {
			t.Fatalf("Available activity: %v %v", acts, err)
		}
		q, err := trc.CreateTaskQueue(ws, (&tr.CreateTaskQueueParams{}).SetFriendlyName("Spanish").SetTargetWorkers("languages HAS 'es'"))
		if err != nil {
			t.Fatal(err)
		}
		wfs, err := trc.ListWorkflow(ws, nil)
		if err != nil || len(wfs) != 1 {
			t.Fatalf("workflows = %v (%v)", wfs, err)
		}
		cfg := `{"task_routing":{"filters":[{"filter_friendly_name":"sms","expression":"channelType == 'sms'","targets":[{"queue":"` + *q.Sid + `"}]}]}}`
		if _, err := trc.UpdateWorkflow(ws, *wfs[0].Sid, (&tr.UpdateWorkflowParams{}).SetConfiguration(cfg)); err != nil {
			t.Fatal(err)
		}
		mkWorker := func(name, attrs string) string {
			w, err := trc.CreateWorker(ws, (&tr.CreateWorkerParams{}).SetFriendlyName(name).SetAttributes(attrs).SetActivitySid(*acts[0].Sid))
			if err != nil {
				t.Fatal(err)
			}
			return *w.Sid
		}
		mkWorker("ana", `{"languages":["en"],"contact_uri":"client:ana"}`)
		lucia := mkWorker("lucia", `{"languages":["es","en"],"contact_uri":"client:lucia"}`)
		marco := mkWorker("marco", `{"languages":["es"],"contact_uri":"client:marco"}`)

		c, err := cv.CreateConversation(nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cv.CreateConversationParticipant(*c.Sid, (&conv.CreateConversationParticipantParams{}).
			SetMessagingBindingAddress("+34600111222").SetMessagingBindingProxyAddress("+15550001000")); err != nil {
			t.Fatal(err)
		}
		if _, err := cv.CreateConversationMessage(*c.Sid, (&conv.CreateConversationMessageParams{}).
			SetAuthor("+34600111222").SetBody("Hola, necesito ayuda")); err != nil {
			t.Fatal(err)
		}
		settle(t, s, ws)

		offers := func(worker string) []tr.TaskrouterV1WorkerReservation {
			t.Helper()
			rs, err := trc.ListWorkerReservation(ws, worker, (&tr.ListWorkerReservationParams{}).SetReservationStatus("pending"))
			if err != nil {
				t.Fatal(err)
			}
			return rs
		}
		// lucia and marco both speak Spanish; lucia was created first, so she has idled longest.
		got := offers(lucia)
		if len(got) != 1 || len(offers(marco)) != 0 {
			t.Fatalf("offers: lucia %d, marco %d; want lucia only", len(got), len(offers(marco)))
		}
		task := *got[0].TaskSid
		if _, err := trc.UpdateTaskReservation(ws, task, *got[0].Sid, (&tr.UpdateTaskReservationParams{}).SetReservationStatus("accepted")); err != nil {
			t.Fatal(err)
		}
		if _, err := cv.FetchConversationParticipant(*c.Sid, "lucia"); err != nil {
			t.Fatalf("lucia did not join the conversation on accepting: %v", err)
		}
		fetched, err := trc.FetchTask(ws, task)
		if err != nil || *fetched.AssignmentStatus != "assigned" {
			t.Fatalf("task = %v (%v)", fetched.AssignmentStatus, err)
		}
		var attrs map[string]any
		_ = json.Unmarshal([]byte(*fetched.Attributes), &attrs)
		interaction, channel := attrs["flexInteractionSid"].(string), attrs["flexInteractionChannelSid"].(string)

		// Lucia transfers to Marco, cold, with a note.
		parts, err := fx.ListInteractionChannelParticipant(interaction, channel, nil)
		if err != nil {
			t.Fatal(err)
		}
		var luciaUT string
		for _, p := range parts {
			if *p.Type == "agent" {
				luciaUT = *p.Sid
			}
		}
		transfer, err := fx.CreateInteractionTransfer(interaction, channel, (&flexv1.CreateInteractionTransferParams{}).
			SetBody(map[string]interface{}{"from": luciaUT, "to": marco, "type": "cold", "note": "wants a refund"}))
		if err != nil {
			t.Fatal(err)
		}
		settle(t, s, ws)
		mo := offers(marco)
		if len(mo) != 1 {
			t.Fatalf("marco has %d offers after the transfer, want 1", len(mo))
		}
		if _, err := trc.UpdateWorkerReservation(ws, marco, *mo[0].Sid, (&tr.UpdateWorkerReservationParams{}).SetReservationStatus("accepted")); err != nil {
			t.Fatal(err)
		}
		if _, err := cv.FetchConversationParticipant(*c.Sid, "lucia"); err == nil {
			t.Fatal("lucia is still in the conversation after a cold transfer")
		}
		if tf, err := fx.FetchInteractionTransfer(interaction, channel, *transfer.Sid); err != nil || *tf.Status != "completed" {
			t.Fatalf("transfer = %v (%v)", tf, err)
		}

		// Marco records a disposition, wraps up and completes.
		if _, err := trc.UpdateTask(ws, *mo[0].TaskSid, (&tr.UpdateTaskParams{}).SetAttributes(`{"disposition":"refund issued"}`)); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.UpdateInteractionChannel(interaction, channel, (&flexv1.UpdateInteractionChannelParams{}).
			SetStatus("closed").SetRouting(map[string]interface{}{"status": "wrapup"})); err != nil {
			t.Fatal(err)
		}
		wrapping, _ := trc.FetchTask(ws, *mo[0].TaskSid)
		if *wrapping.AssignmentStatus != "wrapping" {
			t.Fatalf("after closing the channel the task is %s, want wrapping", *wrapping.AssignmentStatus)
		}
		if _, err := trc.UpdateTask(ws, *mo[0].TaskSid, (&tr.UpdateTaskParams{}).SetAssignmentStatus("completed").SetReason("resolved")); err != nil {
			t.Fatal(err)
		}
		done, _ := trc.FetchTask(ws, *mo[0].TaskSid)
		conversation, _ := cv.FetchConversation(*c.Sid)
		if *done.AssignmentStatus != "completed" || *conversation.State != "inactive" {
			t.Fatalf("end: task %s, conversation %s; want completed and inactive", *done.AssignmentStatus, *conversation.State)
		}
	})
}

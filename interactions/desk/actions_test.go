package desk_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// rig wires the engines, the interactions layer and the desk over one
// database, with jobs and routing driven by hand.
type rig struct {
	t       *testing.T
	ctx     context.Context
	d       *db.DB
	conv    *conversations.Engine
	tr      *taskrouter.Engine
	ix      *interactions.Service
	desk    *desk.Service
	router  *taskrouter.Router
	runner  *jobs.Runner
	ws      taskrouter.Workspace
	service string
}

func newRig(t *testing.T, d *db.DB) *rig {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := conversations.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, acct.Sid); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	r := &rig{t: t, ctx: ctx, d: d, conv: conversations.New(d, acct.Sid), tr: taskrouter.New(d, acct.Sid)}
	r.ix = interactions.New(d, r.conv, r.tr)
	r.desk = desk.New(d, r.conv, r.tr, r.ix)
	r.router = taskrouter.NewRouter(r.tr, log)
	r.runner = jobs.NewRunner(d, log)
	r.conv.RegisterJobs(r.runner)
	r.tr.RegisterJobs(r.runner)
	r.ix.RegisterJobs(r.runner)
	if r.ws, err = r.tr.DefaultWorkspace(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := r.conv.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	r.service = svc.Sid
	return r
}

func (r *rig) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

func strp(s string) *string { return &s }

// agent adds a worker in the given activity with room for two
// conversations on every channel, and returns them as the desk sees them.
func (r *rig) agent(name, activity string) desk.Agent {
	r.t.Helper()
	acts, _, err := r.tr.Activities(r.ctx, r.ws.Sid, taskrouter.ActivityFilter{FriendlyName: activity}, taskrouter.Page{Limit: 1})
	r.must(err)
	identity := strings.ToLower(name)
	w, err := r.tr.CreateWorker(r.ctx, r.ws.Sid, taskrouter.WorkerParams{FriendlyName: &name,
		Attributes: strp(`{"identity":"` + identity + `"}`), ActivitySid: &acts[0].Sid})
	r.must(err)
	two := 2
	for _, ch := range []string{"chat", "sms", "whatsapp"} {
		_, err := r.tr.UpdateWorkerChannel(r.ctx, r.ws.Sid, w.Sid, ch, taskrouter.WorkerChannelParams{Capacity: &two})
		r.must(err)
	}
	return desk.Agent{WorkspaceSid: r.ws.Sid, WorkerSid: w.Sid, Identity: identity, Name: name}
}

// settle runs due jobs and routes until nothing more happens.
func (r *rig) settle() {
	r.t.Helper()
	for range 5 {
		n, err := r.runner.RunDue(r.ctx)
		r.must(err)
		m, err := r.router.RouteWorkspace(r.ctx, r.ws.Sid)
		r.must(err)
		if n == 0 && m == 0 {
			return
		}
	}
}

// customer opens a conversation from a customer at address (an SMS number
// or whatsapp:+…) who writes once.
func (r *rig) customer(address, name string) string {
	r.t.Helper()
	c, err := r.conv.CreateConversation(r.ctx, r.service, conversations.ConversationParams{})
	r.must(err)
	proxy := "+15550100"
	if strings.HasPrefix(address, "whatsapp:") {
		proxy = "whatsapp:+15550100"
	}
	_, err = r.conv.AddParticipant(r.ctx, r.service, c.Sid, conversations.ParticipantParams{Address: &address, ProxyAddress: &proxy,
		Attributes: strp(`{"friendlyName":"` + name + `"}`)})
	r.must(err)
	r.say(c.Sid, address, "hello, my order is late")
	return c.Sid
}

func (r *rig) say(convSid, author, body string) {
	r.t.Helper()
	_, err := r.conv.AddMessage(r.ctx, r.service, convSid, conversations.MessageParams{Author: &author, Body: &body})
	r.must(err)
}

// offer returns the agent's one pending reservation.
func (r *rig) offer(a desk.Agent) taskrouter.Reservation {
	r.t.Helper()
	rs, _, err := r.tr.Reservations(r.ctx, r.ws.Sid, taskrouter.ReservationFilter{WorkerSid: a.WorkerSid,
		ReservationStatus: taskrouter.ReservationPending}, taskrouter.Page{Limit: 10})
	r.must(err)
	if len(rs) != 1 {
		r.t.Fatalf("%s has %d pending offers, want 1", a.Name, len(rs))
	}
	return rs[0]
}

// accept routes and has the agent accept their offer; it returns the task.
func (r *rig) accept(a desk.Agent) taskrouter.Task {
	r.t.Helper()
	r.settle()
	_, t, err := r.tr.AcceptReservation(r.ctx, r.ws.Sid, r.offer(a).Sid)
	r.must(err)
	return t
}

// working has the agent take a new customer conversation and returns it.
func (r *rig) working(a desk.Agent, address string) (string, taskrouter.Task) {
	r.t.Helper()
	c := r.customer(address, "Casey")
	return c, r.accept(a)
}

func (r *rig) task(taskSid string) taskrouter.Task {
	r.t.Helper()
	t, err := r.tr.Task(r.ctx, r.ws.Sid, taskSid)
	r.must(err)
	return t
}

func (r *rig) attrs(taskSid string) map[string]any {
	r.t.Helper()
	var attrs map[string]any
	r.must(json.Unmarshal([]byte(r.task(taskSid).Attributes), &attrs))
	return attrs
}

// inConversation reports which identities are in the conversation.
func (r *rig) inConversation(convSid string) map[string]bool {
	r.t.Helper()
	ps, _, err := r.conv.Participants(r.ctx, r.service, convSid, conversations.Page{Limit: 50})
	r.must(err)
	out := map[string]bool{}
	for _, p := range ps {
		if p.Identity != nil {
			out[*p.Identity] = true
		}
	}
	return out
}

func (r *rig) count(table string) int64 {
	r.t.Helper()
	var n int64
	r.must(r.d.Gorm.Table(table).Count(&n).Error)
	return n
}

func (r *rig) disposition(code, label string, active bool) desk.Disposition {
	r.t.Helper()
	d, err := r.desk.CreateDisposition(r.ctx, desk.DispositionParams{WorkspaceSid: &r.ws.Sid, Code: &code, Label: &label, Active: &active})
	r.must(err)
	return d
}

func wantRefused(t *testing.T, err error, kind errs.Kind, what string) {
	t.Helper()
	if err == nil || errs.KindOf(err) != kind {
		t.Fatalf("%s: err = %v, want kind %d", what, err, kind)
	}
}

func TestAColdTransferHandsTheConversationToTheColleagueWithItsNote(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, annaTask := r.working(anna, "+15551230001")
		ben := r.agent("Ben", "Available")
		olga := r.agent("Olga", "Offline")
		// Staff provisioning names workers by identity and puts the person's
		// name in full_name: people see that.
		_, err := r.tr.UpdateWorker(r.ctx, r.ws.Sid, olga.WorkerSid, taskrouter.WorkerParams{
			Attributes: strp(`{"identity":"olga","full_name":"Olga K."}`)})
		r.must(err)

		choices, err := r.desk.TransferChoices(r.ctx, anna, conv)
		r.must(err)
		if len(choices.Agents) != 2 || choices.Agents[0].Name != "Ben" || !choices.Agents[0].CanTake ||
			choices.Agents[0].Free != 2 || choices.Agents[1].Name != "Olga K." || choices.Agents[1].CanTake ||
			choices.Agents[1].Activity != "Offline" {
			t.Fatalf("agents offered = %+v, want Ben who can take it, then Olga who is offline; never Anna", choices.Agents)
		}
		if len(choices.Queues) != 1 || choices.Queues[0].Name != "Everyone" || choices.Channel != "SMS" || choices.Pending != nil {
			t.Fatalf("choices = %+v", choices)
		}

		x, err := r.desk.Transfer(r.ctx, anna, conv, desk.TransferRequest{To: ben.WorkerSid, Note: "  wants a refund  "})
		r.must(err)
		if x.Type != interactions.TransferCold {
			t.Fatalf("transfer type = %s, want cold by default", x.Type)
		}
		choices, err = r.desk.TransferChoices(r.ctx, anna, conv)
		r.must(err)
		if choices.Pending == nil || choices.Pending.To != "Ben" {
			t.Fatalf("pending transfer = %+v, want one to Ben", choices.Pending)
		}
		benTask := r.accept(ben)
		if got := r.attrs(benTask.Sid)["transferNote"]; got != "wants a refund" {
			t.Fatalf("transferNote = %v", got)
		}
		in := r.inConversation(conv)
		if in["anna"] || !in["ben"] {
			t.Fatalf("after a cold transfer the conversation has %v, want Ben without Anna", in)
		}
		if st := r.task(annaTask.Sid).AssignmentStatus; st != taskrouter.TaskCompleted {
			t.Fatalf("Anna's task is %s, want completed", st)
		}
		panel, err := r.desk.CustomerContext(r.ctx, ben, conv)
		r.must(err)
		if panel.TransferNote != "wants a refund" {
			t.Fatalf("Ben's context panel shows transfer note %q", panel.TransferNote)
		}
		// Anna held it, so she may still look, but no longer act.
		if _, err := r.desk.CustomerContext(r.ctx, anna, conv); err != nil {
			t.Fatalf("Anna's context panel after the transfer: %v", err)
		}
		wantRefused(t, r.desk.EndChat(r.ctx, anna, conv), errs.Conflict, "Anna ends a chat she handed over")
	})
}

func TestAWarmTransferKeepsBothAgentsUntilOneLeaves(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, annaTask := r.working(anna, "+15551230002")
		ben := r.agent("Ben", "Available")

		_, err := r.desk.Transfer(r.ctx, anna, conv, desk.TransferRequest{To: ben.WorkerSid, Type: "WARM"})
		r.must(err)
		r.accept(ben)
		in := r.inConversation(conv)
		if !in["anna"] || !in["ben"] || r.task(annaTask.Sid).AssignmentStatus != taskrouter.TaskAssigned {
			t.Fatalf("after a warm transfer: %v, Anna's task %s; want both in, Anna still assigned", in, r.task(annaTask.Sid).AssignmentStatus)
		}
		r.must(r.desk.EndChat(r.ctx, anna, conv))
		in = r.inConversation(conv)
		if in["anna"] || !in["ben"] {
			t.Fatalf("after Anna ends her part: %v, want Ben alone", in)
		}
	})
}

func TestATransferToAQueuePutsTheWorkInIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, _ := r.working(anna, "+15551230003")
		choices, err := r.desk.TransferChoices(r.ctx, anna, conv)
		r.must(err)
		everyone := choices.Queues[0]
		_, err = r.desk.Transfer(r.ctx, anna, conv, desk.TransferRequest{To: everyone.QueueSid})
		r.must(err)
		var moved []taskrouter.Task
		r.must(d.Gorm.Where("task_queue_sid = ? AND assignment_status IN ?", everyone.QueueSid,
			[]string{taskrouter.TaskPending, taskrouter.TaskReserved}).Find(&moved).Error)
		if len(moved) != 1 {
			t.Fatalf("%d waiting tasks in the queue after the transfer, want 1", len(moved))
		}
		choices, err = r.desk.TransferChoices(r.ctx, anna, conv)
		r.must(err)
		if choices.Queues[0].Waiting != 1 || choices.Pending == nil || choices.Pending.To != "Everyone" {
			t.Fatalf("after the transfer: queues %+v, pending %+v", choices.Queues, choices.Pending)
		}
		r.must(r.desk.CancelTransfer(r.ctx, anna, conv))
		choices, err = r.desk.TransferChoices(r.ctx, anna, conv)
		r.must(err)
		if choices.Pending != nil || choices.Queues[0].Waiting != 0 {
			t.Fatalf("after canceling: pending %+v, queues %+v", choices.Pending, choices.Queues)
		}
		wantRefused(t, r.desk.CancelTransfer(r.ctx, anna, conv), errs.Conflict, "canceling a transfer twice")
	})
}

func TestABadTransferIsRefusedClearlyAndChangesNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, _ := r.working(anna, "+15551230004")
		ben := r.agent("Ben", "Available")
		olga := r.agent("Olga", "Break")
		other, err := r.tr.CreateWorkspace(r.ctx, taskrouter.WorkspaceParams{FriendlyName: strp("Elsewhere")}, strp(taskrouter.TemplateFIFO))
		r.must(err)
		stranger, err := r.tr.CreateWorker(r.ctx, other.Sid, taskrouter.WorkerParams{FriendlyName: strp("Stranger")})
		r.must(err)
		full := r.agent("Fay", "Available")
		zero := 0
		_, err = r.tr.UpdateWorkerChannel(r.ctx, r.ws.Sid, full.WorkerSid, "sms", taskrouter.WorkerChannelParams{Capacity: &zero})
		r.must(err)

		tasks, transfers := r.count("tasks"), r.count("interaction_transfers")
		for _, tc := range []struct {
			name string
			req  desk.TransferRequest
			kind errs.Kind
			says string
		}{
			{"no target", desk.TransferRequest{}, errs.Invalid, "Choose an agent"},
			{"not a SID", desk.TransferRequest{To: "ben"}, errs.Invalid, "Choose an agent"},
			{"herself", desk.TransferRequest{To: anna.WorkerSid}, errs.Invalid, "yourself"},
			{"an unknown agent", desk.TransferRequest{To: sid.New(sid.Worker)}, errs.Invalid, "not an agent of your workspace"},
			{"an agent of another workspace", desk.TransferRequest{To: stranger.Sid}, errs.Invalid, "not an agent of your workspace"},
			{"an unknown queue", desk.TransferRequest{To: sid.New(sid.TaskQueue)}, errs.Invalid, "not a queue of your workspace"},
			{"an agent on a break", desk.TransferRequest{To: olga.WorkerSid}, errs.Conflict, "Olga cannot take this conversation now (Break)"},
			{"an agent with no room", desk.TransferRequest{To: full.WorkerSid}, errs.Conflict, "full capacity"},
			{"a bad type", desk.TransferRequest{To: ben.WorkerSid, Type: "lukewarm"}, errs.Invalid, "cold or warm"},
			{"a note too long", desk.TransferRequest{To: ben.WorkerSid, Note: strings.Repeat("n", desk.MaxTransferNote+1)}, errs.Invalid, "at most 1000"},
		} {
			_, err := r.desk.Transfer(r.ctx, anna, conv, tc.req)
			wantRefused(t, err, tc.kind, tc.name)
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, tc.says)
			}
		}
		if r.count("tasks") != tasks || r.count("interaction_transfers") != transfers {
			t.Fatal("a refused transfer created tasks or transfers")
		}
		_, err = r.desk.Transfer(r.ctx, anna, conv, desk.TransferRequest{To: ben.WorkerSid})
		r.must(err)
		_, err = r.desk.Transfer(r.ctx, anna, conv, desk.TransferRequest{To: ben.WorkerSid})
		wantRefused(t, err, errs.Conflict, "a second transfer while the first waits")
	})
}

func TestEndChatWrapsTheTaskUpAndTakesTheAgentOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, task := r.working(anna, "+15551230005")
		r.must(r.desk.EndChat(r.ctx, anna, conv))
		if st := r.task(task.Sid).AssignmentStatus; st != taskrouter.TaskWrapping {
			t.Fatalf("task is %s after End chat, want wrapping", st)
		}
		if r.inConversation(conv)["anna"] {
			t.Fatal("Anna is still in the conversation after End chat")
		}
		if c, _ := r.conv.Conversation(r.ctx, r.service, conv); c.State != conversations.StateInactive {
			t.Fatalf("conversation is %s, want inactive once nobody works it", c.State)
		}
		wantRefused(t, r.desk.EndChat(r.ctx, anna, conv), errs.Conflict, "End chat twice")
		form, err := r.desk.CompleteForm(r.ctx, anna, conv)
		r.must(err)
		if !form.Wrapping || len(form.Dispositions) != 0 {
			t.Fatalf("complete form = %+v", form)
		}
	})
}

func TestCompleteRequiresAnActiveDispositionWhenTheWorkspaceHasThem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, task := r.working(anna, "+15551230006")
		r.disposition("resolved", "Resolved", true)
		r.disposition("callback", "Call back", true)
		r.disposition("spam", "Spam", false)
		r.must(r.desk.EndChat(r.ctx, anna, conv))

		form, err := r.desk.CompleteForm(r.ctx, anna, conv)
		r.must(err)
		if len(form.Dispositions) != 2 || form.Dispositions[0].Label != "Call back" || form.Dispositions[1].Label != "Resolved" {
			t.Fatalf("offered dispositions = %+v, want the active two by label", form.Dispositions)
		}
		before := r.task(task.Sid)
		for _, tc := range []struct {
			name string
			req  desk.CompleteRequest
			says string
		}{
			{"none", desk.CompleteRequest{Note: "done"}, "Choose a disposition"},
			{"unknown", desk.CompleteRequest{Disposition: "nope"}, "not one of this workspace's active dispositions"},
			{"inactive", desk.CompleteRequest{Disposition: "spam"}, "not one of this workspace's active dispositions"},
			{"note too long", desk.CompleteRequest{Disposition: "resolved", Note: strings.Repeat("x", desk.MaxNote+1)}, "at most 4000"},
		} {
			err := r.desk.Complete(r.ctx, anna, conv, tc.req)
			wantRefused(t, err, errs.Invalid, tc.name)
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, tc.says)
			}
		}
		if after := r.task(task.Sid); after.AssignmentStatus != taskrouter.TaskWrapping || after.Attributes != before.Attributes {
			t.Fatalf("a refused completion changed the task: %s %s", after.AssignmentStatus, after.Attributes)
		}
		if r.count("desk_notes") != 0 {
			t.Fatal("a refused completion wrote a note")
		}

		r.must(r.desk.Complete(r.ctx, anna, conv, desk.CompleteRequest{Disposition: "resolved", Note: "refund issued"}))
		done := r.task(task.Sid)
		attrs := r.attrs(task.Sid)
		outcome := attrs["conversations"].(map[string]any)["outcome"]
		if done.AssignmentStatus != taskrouter.TaskCompleted || attrs["disposition"] != "resolved" || outcome != "Resolved" {
			t.Fatalf("completed task: %s, disposition %v, outcome %v", done.AssignmentStatus, attrs["disposition"], outcome)
		}
		if attrs["conversations"].(map[string]any)["conversation_id"] == nil {
			t.Fatal("completing dropped the task's other conversations attributes")
		}
		notes, err := r.desk.Notes(r.ctx, anna, conv)
		r.must(err)
		if len(notes) != 1 || notes[0].Body != "refund issued" || notes[0].AuthorName != "Anna" {
			t.Fatalf("notes = %+v", notes)
		}
		wantRefused(t, r.desk.Complete(r.ctx, anna, conv, desk.CompleteRequest{Disposition: "resolved"}), errs.Conflict, "completing twice")
		var ut interactions.Participant
		r.must(d.Gorm.Where("type = ? AND routing_properties LIKE ?", interactions.TypeAgent, "%"+task.Sid+"%").First(&ut).Error)
		if ut.Status != interactions.ParticipantClosed {
			t.Fatalf("Anna's interaction participant is %s after completion, want closed", ut.Status)
		}
	})
}

func TestCompleteWithoutDispositionsTakesTheAgentOutAndCompletes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, task := r.working(anna, "+15551230007")
		err := r.desk.Complete(r.ctx, anna, conv, desk.CompleteRequest{Disposition: "resolved"})
		wantRefused(t, err, errs.Invalid, "a disposition the workspace does not have")
		if r.task(task.Sid).AssignmentStatus != taskrouter.TaskAssigned || !r.inConversation(conv)["anna"] {
			t.Fatal("a refused completion moved the task or the agent")
		}
		r.must(r.desk.Complete(r.ctx, anna, conv, desk.CompleteRequest{}))
		if st := r.task(task.Sid).AssignmentStatus; st != taskrouter.TaskCompleted {
			t.Fatalf("task is %s, want completed", st)
		}
		if r.inConversation(conv)["anna"] {
			t.Fatal("Anna is still in the conversation after completing from assigned")
		}
		if _, ok := r.attrs(task.Sid)["disposition"]; ok {
			t.Fatal("a completion without a disposition wrote one")
		}
	})
}

func TestEveryActionAnswersNotFoundForAConversationTheAgentNeverHeld(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, _ := r.working(anna, "+15551230008")
		ben := r.agent("Ben", "Available")
		// An offer is not a hold: Ben is offered a second conversation but
		// has not accepted it.
		offered := r.customer("+15551230009", "Dee")
		r.settle()
		for _, target := range []string{conv, offered, sid.New(sid.Conversation), "not-a-sid"} {
			for name, call := range map[string]func() error{
				"TransferChoices": func() error { _, err := r.desk.TransferChoices(r.ctx, ben, target); return err },
				"Transfer": func() error {
					_, err := r.desk.Transfer(r.ctx, ben, target, desk.TransferRequest{To: anna.WorkerSid})
					return err
				},
				"CancelTransfer":  func() error { return r.desk.CancelTransfer(r.ctx, ben, target) },
				"EndChat":         func() error { return r.desk.EndChat(r.ctx, ben, target) },
				"CompleteForm":    func() error { _, err := r.desk.CompleteForm(r.ctx, ben, target); return err },
				"Complete":        func() error { return r.desk.Complete(r.ctx, ben, target, desk.CompleteRequest{}) },
				"CustomerContext": func() error { _, err := r.desk.CustomerContext(r.ctx, ben, target); return err },
				"AddNote":         func() error { _, err := r.desk.AddNote(r.ctx, ben, target, "psst"); return err },
				"Notes":           func() error { _, err := r.desk.Notes(r.ctx, ben, target); return err },
				"TemplatePicker":  func() error { _, err := r.desk.TemplatePicker(r.ctx, ben, target); return err },
				"SendTemplate": func() error {
					return r.desk.SendTemplate(r.ctx, ben, target, "HX0123456789abcdef0123456789abcdef", nil)
				},
			} {
				if err := call(); errs.KindOf(err) != errs.NotFound {
					t.Errorf("%s on %s = %v, want not found", name, target, err)
				}
			}
		}
		if r.count("desk_notes") != 0 || r.count("interaction_transfers") != 0 {
			t.Fatal("a refused action wrote something")
		}
		if !r.inConversation(conv)["anna"] {
			t.Fatal("Ben's refused actions moved Anna")
		}
	})
}

func TestTheContextPanelShowsTheCustomerTheirHistoryAndNotes(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		r.disposition("resolved", "Resolved", true)
		first, _ := r.working(anna, "+15551230010")
		r.must(r.desk.Complete(r.ctx, anna, first, desk.CompleteRequest{Disposition: "resolved"}))
		_, err := r.conv.UpdateConversation(r.ctx, r.service, first, conversations.ConversationParams{State: strp(conversations.StateClosed)})
		r.must(err)
		second, task := r.working(anna, "+15551230010")
		// A back end's own attribute shows too, labelled.
		attrs := r.attrs(task.Sid)
		attrs["orderNumber"], attrs["vip"] = "A-1001", true
		encoded, _ := json.Marshal(attrs)
		_, err = r.tr.UpdateTask(r.ctx, r.ws.Sid, task.Sid, taskrouter.TaskParams{Attributes: strp(string(encoded))})
		r.must(err)
		_, err = r.desk.AddNote(r.ctx, anna, second, "  asked twice about the refund ")
		r.must(err)

		panel, err := r.desk.CustomerContext(r.ctx, anna, second)
		r.must(err)
		if panel.CustomerName != "Casey" || panel.CustomerAddress != "+15551230010" || panel.Channel != "SMS" || panel.TaskState != "Assigned" {
			t.Fatalf("panel head = %+v", panel)
		}
		fields := map[string]string{}
		for _, f := range panel.Fields {
			fields[f.Label] = f.Value
		}
		if fields["Direction"] != "Inbound" || fields["Started by"] != "Customer" || fields["Order number"] != "A-1001" || fields["Vip"] != "Yes" {
			t.Fatalf("fields = %v", fields)
		}
		for _, hidden := range []string{"Flex interaction sid", "Conversation sid", "Conversations › Media"} {
			if _, ok := fields[hidden]; ok {
				t.Errorf("bookkeeping field %q is shown", hidden)
			}
		}
		if len(panel.Previous) != 1 || panel.Previous[0].ConversationSid != first || !panel.Previous[0].Openable ||
			panel.Previous[0].Outcome != "Resolved" || panel.Previous[0].State != "Closed" {
			t.Fatalf("previous conversations = %+v", panel.Previous)
		}
		if len(panel.Notes) != 1 || panel.Notes[0].Body != "asked twice about the refund" || panel.Notes[0].AuthorIdentity != "anna" {
			t.Fatalf("notes = %+v", panel.Notes)
		}
	})
}

func TestAPreviousConversationHeldByAColleagueIsListedButNotOpenable(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		ben := r.agent("Ben", "Available")
		first, _ := r.working(ben, "+15551230011")
		r.must(r.desk.Complete(r.ctx, ben, first, desk.CompleteRequest{}))
		_, err := r.conv.UpdateConversation(r.ctx, r.service, first, conversations.ConversationParams{State: strp(conversations.StateClosed)})
		r.must(err)
		offline := "Offline"
		acts, _, _ := r.tr.Activities(r.ctx, r.ws.Sid, taskrouter.ActivityFilter{FriendlyName: offline}, taskrouter.Page{Limit: 1})
		_, err = r.tr.UpdateWorker(r.ctx, r.ws.Sid, ben.WorkerSid, taskrouter.WorkerParams{ActivitySid: &acts[0].Sid})
		r.must(err)
		anna := r.agent("Anna", "Available")
		second, _ := r.working(anna, "+15551230011")
		panel, err := r.desk.CustomerContext(r.ctx, anna, second)
		r.must(err)
		if len(panel.Previous) != 1 || panel.Previous[0].Openable {
			t.Fatalf("previous = %+v, want Ben's conversation listed, not openable by Anna", panel.Previous)
		}
	})
}

func TestNotesNeedTextAndFit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		anna := r.agent("Anna", "Available")
		conv, _ := r.working(anna, "+15551230012")
		for _, body := range []string{"", "   ", strings.Repeat("é", desk.MaxNote+1)} {
			_, err := r.desk.AddNote(r.ctx, anna, conv, body)
			wantRefused(t, err, errs.Invalid, "note "+body[:min(len(body), 5)])
		}
		_, err := r.desk.AddNote(r.ctx, anna, conv, strings.Repeat("é", desk.MaxNote))
		r.must(err)
		if r.count("desk_notes") != 1 {
			t.Fatal("want exactly the one note that fits")
		}
	})
}

// whatsappSender configures our WhatsApp sender on a provider account with
// two templates, as the channel layer stores them.
func (r *rig) whatsappSender() {
	r.t.Helper()
	now := time.Now().UTC()
	r.must(r.d.Gorm.Exec(`INSERT INTO channel_providers (sid, kind, friendly_name, account_id, secret, app_secret, verify_token,
		base_url, templates, date_created, date_updated) VALUES (?, 'simulator', 'sim', '', '', '', '', '', ?, ?, ?)`,
		"PA0123456789abcdef0123456789abcdef", `{"HX0123456789abcdef0123456789abcdef":{"name":"order_update","language":"en"},`+
			`"HXfedcba9876543210fedcba9876543210":{"name":"appointment","language":"de"}}`, now, now).Error)
	r.must(r.d.Gorm.Exec(`INSERT INTO channel_senders (address, provider_sid, sender_id, rate_limit, date_created, date_updated)
		VALUES ('whatsapp:+15550100', 'PA0123456789abcdef0123456789abcdef', '', 0, ?, ?)`, now, now).Error)
}

func (r *rig) lastInbound(address string, at time.Time) {
	r.t.Helper()
	r.must(r.d.Gorm.Exec(`INSERT INTO channel_contacts (address, proxy_address, last_inbound_at) VALUES (?, 'whatsapp:+15550100', ?)
		ON CONFLICT (address, proxy_address) DO UPDATE SET last_inbound_at = excluded.last_inbound_at`, address, at).Error)
}

func TestTheTemplatePickerOpensWhenTheWhatsAppWindowCloses(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		r.whatsappSender()
		anna := r.agent("Anna", "Available")
		conv, _ := r.working(anna, "whatsapp:+15551230013")

		r.lastInbound("whatsapp:+15551230013", time.Now().UTC().Add(-time.Hour))
		picker, err := r.desk.TemplatePicker(r.ctx, anna, conv)
		r.must(err)
		if picker.WindowClosed || len(picker.Templates) != 2 || picker.Templates[0].Name != "appointment" {
			t.Fatalf("inside the window: %+v", picker)
		}
		r.lastInbound("whatsapp:+15551230013", time.Now().UTC().Add(-25*time.Hour))
		picker, err = r.desk.TemplatePicker(r.ctx, anna, conv)
		r.must(err)
		if !picker.WindowClosed {
			t.Fatal("25 hours after the customer wrote, the window is not closed")
		}

		messages := r.count("messages")
		for _, tc := range []struct {
			name, content string
			vars          []string
			says          string
		}{
			{"a template of no sender", "HX00000000000000000000000000000000", nil, "not one of this WhatsApp sender's templates"},
			{"a gap in the variables", "HX0123456789abcdef0123456789abcdef", []string{"", "x"}, "{{1}} is empty"},
			{"too many variables", "HX0123456789abcdef0123456789abcdef", strings.Split(strings.Repeat("v,", 11)+"v", ","), "at most 10"},
		} {
			err := r.desk.SendTemplate(r.ctx, anna, conv, tc.content, tc.vars)
			wantRefused(t, err, errs.Invalid, tc.name)
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, tc.says)
			}
		}
		if r.count("messages") != messages {
			t.Fatal("a refused template was sent")
		}
		r.must(r.desk.SendTemplate(r.ctx, anna, conv, "HX0123456789abcdef0123456789abcdef", []string{"A-1001", "Friday", ""}))
		var m conversations.Message
		r.must(d.Gorm.Where("conversation_sid = ?", conv).Order("idx DESC").First(&m).Error)
		if m.Author != "anna" || m.ContentSid == nil || *m.ContentSid != "HX0123456789abcdef0123456789abcdef" ||
			m.ContentVariables == nil || *m.ContentVariables != `{"1":"A-1001","2":"Friday"}` {
			t.Fatalf("sent message = author %s, content %v, variables %v", m.Author, m.ContentSid, m.ContentVariables)
		}
	})
}

func TestAnSMSConversationHasNoTemplatePicker(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		r := newRig(t, d)
		r.whatsappSender()
		anna := r.agent("Anna", "Available")
		conv, _ := r.working(anna, "+15551230014")
		picker, err := r.desk.TemplatePicker(r.ctx, anna, conv)
		r.must(err)
		if picker.WindowClosed || len(picker.Templates) != 0 {
			t.Fatalf("SMS picker = %+v, want none", picker)
		}
		err = r.desk.SendTemplate(r.ctx, anna, conv, "HX0123456789abcdef0123456789abcdef", nil)
		wantRefused(t, err, errs.Invalid, "a template into an SMS conversation")
	})
}

package interactions_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// fixture wires both engines and the interactions layer over one database,
// with the job runner and router driven by hand.
type fixture struct {
	t       *testing.T
	ctx     context.Context
	d       *db.DB
	conv    *conversations.Engine
	tr      *taskrouter.Engine
	svc     *interactions.Service
	router  *taskrouter.Router
	runner  *jobs.Runner
	ws      taskrouter.Workspace
	service string
}

func newFixture(t *testing.T, d *db.DB) *fixture {
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
	f := &fixture{t: t, ctx: ctx, d: d, conv: conversations.New(d, acct.Sid), tr: taskrouter.New(d, acct.Sid)}
	f.svc = interactions.New(d, f.conv, f.tr)
	f.router = taskrouter.NewRouter(f.tr, log)
	f.runner = jobs.NewRunner(d, log)
	f.conv.RegisterJobs(f.runner)
	f.tr.RegisterJobs(f.runner)
	f.svc.RegisterJobs(f.runner)
	if f.ws, err = f.tr.DefaultWorkspace(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := f.conv.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	f.service = svc.Sid
	return f
}

func (f *fixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

// worker adds an available worker with room for two conversations on every channel.
func (f *fixture) worker(name string) taskrouter.Worker {
	f.t.Helper()
	var avail taskrouter.Activity
	f.must(f.d.Gorm.Where("workspace_sid = ? AND friendly_name = ?", f.ws.Sid, "Available").First(&avail).Error)
	now := time.Now().UTC()
	w := taskrouter.Worker{Sid: sid.New(sid.Worker), WorkspaceSid: f.ws.Sid, FriendlyName: name,
		Attributes: `{"contact_uri":"client:` + name + `"}`, ActivitySid: avail.Sid, Available: true,
		DateStatusChanged: now, DateCreated: now, DateUpdated: now}
	f.must(f.d.Gorm.Create(&w).Error)
	var tcs []taskrouter.TaskChannel
	f.must(f.d.Gorm.Where("workspace_sid = ?", f.ws.Sid).Find(&tcs).Error)
	for _, tc := range tcs {
		f.must(f.d.Gorm.Create(&taskrouter.WorkerChannel{Sid: sid.New(sid.WorkerChannel), WorkspaceSid: f.ws.Sid, WorkerSid: w.Sid,
			TaskChannelSid: tc.Sid, Capacity: 2, Available: true, DateCreated: now, DateUpdated: now}).Error)
	}
	return w
}

// settle runs due jobs and routes until nothing more happens.
func (f *fixture) settle() {
	f.t.Helper()
	for range 5 {
		n, err := f.runner.RunDue(f.ctx)
		f.must(err)
		m, err := f.router.RouteWorkspace(f.ctx, f.ws.Sid)
		f.must(err)
		if n == 0 && m == 0 {
			return
		}
	}
}

func (f *fixture) say(convSid, author, body string) {
	f.t.Helper()
	_, err := f.conv.AddMessage(f.ctx, f.service, convSid, conversations.MessageParams{Author: &author, Body: &body})
	f.must(err)
}

// pendingOffer returns the pending reservation of the worker, failing if none.
func (f *fixture) pendingOffer(w taskrouter.Worker) taskrouter.Reservation {
	f.t.Helper()
	rs, _, err := f.tr.Reservations(f.ctx, f.ws.Sid, taskrouter.ReservationFilter{WorkerSid: w.Sid, ReservationStatus: "pending"},
		taskrouter.Page{Limit: 10})
	f.must(err)
	if len(rs) != 1 {
		f.t.Fatalf("worker %s has %d pending offers, want 1", w.FriendlyName, len(rs))
	}
	return rs[0]
}

func (f *fixture) identities(convSid string) map[string]bool {
	f.t.Helper()
	ps, _, err := f.conv.Participants(f.ctx, f.service, convSid, conversations.Page{Limit: 50})
	f.must(err)
	out := map[string]bool{}
	for _, p := range ps {
		if p.Identity != nil {
			out[*p.Identity] = true
		}
	}
	return out
}

func (f *fixture) taskAttrs(taskSid string) map[string]any {
	f.t.Helper()
	task, err := f.tr.Task(f.ctx, f.ws.Sid, taskSid)
	f.must(err)
	var attrs map[string]any
	f.must(json.Unmarshal([]byte(task.Attributes), &attrs))
	return attrs
}

func TestACustomerMessageBecomesWorkThatFlowsToCompletion(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana, bo := f.worker("ana"), f.worker("bo")
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{
			Address: ptr("+15551230000"), ProxyAddress: ptr("+15559870000"), Attributes: ptr(`{"friendlyName":"Casey"}`)})
		f.must(err)

		f.say(c.Sid, "+15551230000", "my order is late")
		f.say(c.Sid, "+15551230000", "hello?") // still one piece of work
		f.settle()
		offer := f.pendingOffer(ana)
		attrs := f.taskAttrs(offer.TaskSid)
		if attrs["conversationSid"] != c.Sid || attrs["channelType"] != "sms" || attrs["customerName"] != "Casey" ||
			attrs["customerAddress"] != "+15551230000" || attrs["flexInteractionSid"] == nil {
			t.Fatalf("task attributes = %v", attrs)
		}
		interaction := attrs["flexInteractionSid"].(string)
		channel := attrs["flexInteractionChannelSid"].(string)
		var tasks int64
		f.must(d.Gorm.Model(&taskrouter.Task{}).Count(&tasks).Error)
		if tasks != 1 {
			t.Fatalf("%d tasks for one conversation, want 1", tasks)
		}

		// Accepting joins the agent to the conversation.
		_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, offer.Sid)
		f.must(err)
		if !f.identities(c.Sid)["ana"] {
			t.Fatal("the accepting agent did not join the conversation")
		}
		f.say(c.Sid, "ana", "let me check") // an agent's reply makes no work
		f.settle()
		f.must(d.Gorm.Model(&taskrouter.Task{}).Count(&tasks).Error)
		if tasks != 1 {
			t.Fatalf("an agent reply made a task: %d tasks", tasks)
		}

		// Cold transfer to bo: ana leaves when bo accepts.
		parts, _, err := f.svc.Participants(f.ctx, interaction, channel, 0, 50)
		f.must(err)
		var anaUT string
		for _, p := range parts {
			if p.Type == interactions.TypeAgent {
				anaUT = p.Sid
			}
		}
		tr, err := f.svc.CreateTransfer(f.ctx, interaction, channel, interactions.TransferSpec{From: anaUT, To: bo.Sid, Note: "billing question"})
		f.must(err)
		f.settle()
		boOffer := f.pendingOffer(bo)
		if f.taskAttrs(boOffer.TaskSid)["transferNote"] != "billing question" {
			t.Fatalf("transfer task attributes = %v", f.taskAttrs(boOffer.TaskSid))
		}
		_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, boOffer.Sid)
		f.must(err)
		ids := f.identities(c.Sid)
		if ids["ana"] || !ids["bo"] {
			t.Fatalf("after the cold transfer the conversation has %v, want bo without ana", ids)
		}
		if got, _ := f.svc.Transfer(f.ctx, interaction, channel, tr.Sid); got.Status != "completed" {
			t.Fatalf("transfer status = %s", got.Status)
		}
		anaTask, _ := f.tr.Task(f.ctx, f.ws.Sid, offer.TaskSid)
		if anaTask.AssignmentStatus != taskrouter.TaskCompleted {
			t.Fatalf("ana's task is %s after the transfer, want completed", anaTask.AssignmentStatus)
		}

		// Wrap-up then complete; the conversation is parked.
		parts, _, _ = f.svc.Participants(f.ctx, interaction, channel, 0, 50)
		var boUT string
		for _, p := range parts {
			if p.Type == interactions.TypeAgent && p.Status == interactions.ParticipantActive {
				boUT = p.Sid
			}
		}
		_, err = f.svc.UpdateParticipant(f.ctx, interaction, channel, boUT, interactions.ParticipantWrapup)
		f.must(err)
		boTask, _ := f.tr.Task(f.ctx, f.ws.Sid, boOffer.TaskSid)
		if boTask.AssignmentStatus != taskrouter.TaskWrapping || f.identities(c.Sid)["bo"] {
			t.Fatalf("after wrap-up the task is %s and participants %v", boTask.AssignmentStatus, f.identities(c.Sid))
		}
		_, err = f.svc.UpdateParticipant(f.ctx, interaction, channel, boUT, interactions.ParticipantClosed)
		f.must(err)
		boTask, _ = f.tr.Task(f.ctx, f.ws.Sid, boOffer.TaskSid)
		conv, _ := f.conv.Conversation(f.ctx, f.service, c.Sid)
		if boTask.AssignmentStatus != taskrouter.TaskCompleted || conv.State != conversations.StateInactive {
			t.Fatalf("after completion: task %s, conversation %s", boTask.AssignmentStatus, conv.State)
		}

		// The customer writes again: new work on the same interaction.
		f.say(c.Sid, "+15551230000", "one more thing")
		f.settle()
		again := f.pendingOffer(ana)
		if f.taskAttrs(again.TaskSid)["flexInteractionSid"] != interaction {
			t.Fatalf("the follow-up task belongs to %v, want the same interaction %s", f.taskAttrs(again.TaskSid)["flexInteractionSid"], interaction)
		}

		// After the conversation closes, the customer's next conversation is a new interaction.
		_, err = f.svc.UpdateChannel(f.ctx, interaction, channel, interactions.ChannelClosed, `{"status":"closed"}`)
		f.must(err)
		_, err = f.conv.UpdateConversation(f.ctx, f.service, c.Sid, conversations.ConversationParams{State: ptr("closed")})
		f.must(err)
		next, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, next.Sid, conversations.ParticipantParams{
			Address: ptr("+15551230000"), ProxyAddress: ptr("+15559870000")})
		f.must(err)
		f.say(next.Sid, "+15551230000", "hi again")
		f.settle()
		fresh := f.pendingOffer(bo)
		if got := f.taskAttrs(fresh.TaskSid)["flexInteractionSid"]; got == interaction || got == nil {
			t.Fatalf("a new conversation reused interaction %v", got)
		}
	})
}

func TestAcceptingIsAllOrNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana := f.worker("ana")
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: ptr("guest-1")})
		f.must(err)
		f.say(c.Sid, "guest-1", "hello")
		f.settle()
		offer := f.pendingOffer(ana)
		// The agent's identity cannot join the conversation (it is over the
		// 256-character limit): joining fails, so the acceptance must not
		// happen either.
		long := strings.Repeat("x", 300)
		f.must(d.Gorm.Model(&taskrouter.Worker{}).Where("sid = ?", ana.Sid).Update("attributes", `{"identity":"`+long+`"}`).Error)
		if _, _, err := f.tr.AcceptReservation(f.ctx, f.ws.Sid, offer.Sid); err == nil {
			t.Fatal("accepted a reservation whose agent could not join the conversation")
		}
		r, _ := f.tr.Reservation(f.ctx, f.ws.Sid, offer.Sid)
		task, _ := f.tr.Task(f.ctx, f.ws.Sid, offer.TaskSid)
		if r.ReservationStatus != taskrouter.ReservationPending || task.AssignmentStatus != taskrouter.TaskReserved {
			t.Fatalf("after the failed accept: reservation %s, task %s; want both untouched", r.ReservationStatus, task.AssignmentStatus)
		}
	})
}

func TestFlexCompletesAClosedChannelWithASecondClose(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		ana := f.worker("ana")
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: ptr("guest-2")})
		f.must(err)
		f.say(c.Sid, "guest-2", "hi")
		f.settle()
		offer := f.pendingOffer(ana)
		_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, offer.Sid)
		f.must(err)
		attrs := f.taskAttrs(offer.TaskSid)
		ix, ch := attrs["flexInteractionSid"].(string), attrs["flexInteractionChannelSid"].(string)
		// Flex UI: status=close with routing wrapup, then again with routing close.
		_, err = f.svc.UpdateChannel(f.ctx, ix, ch, "close", `{"status":"wrapup"}`)
		f.must(err)
		if task, _ := f.tr.Task(f.ctx, f.ws.Sid, offer.TaskSid); task.AssignmentStatus != taskrouter.TaskWrapping {
			t.Fatalf("after wrap-up the task is %s", task.AssignmentStatus)
		}
		_, err = f.svc.UpdateChannel(f.ctx, ix, ch, "close", `{"status":"close"}`)
		f.must(err)
		if task, _ := f.tr.Task(f.ctx, f.ws.Sid, offer.TaskSid); task.AssignmentStatus != taskrouter.TaskCompleted {
			t.Fatalf("after the second close the task is %s, want completed", task.AssignmentStatus)
		}
	})
}

func TestCustomersSeeAnAgentByTheirFullNameNotTheirIdentity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w := f.worker("ana@example.com")
		f.must(d.Gorm.Model(&w).Update("attributes", `{"identity":"ana@example.com","full_name":"Ana Lima"}`).Error)
		c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{
			Address: ptr("+15551230001"), ProxyAddress: ptr("+15559870000")})
		f.must(err)
		f.say(c.Sid, "+15551230001", "hi")
		f.settle()
		_, _, err = f.tr.AcceptReservation(f.ctx, f.ws.Sid, f.pendingOffer(w).Sid)
		f.must(err)
		p, err := f.conv.Participant(f.ctx, f.service, c.Sid, "ana@example.com")
		f.must(err)
		var attrs map[string]any
		f.must(json.Unmarshal([]byte(p.Attributes), &attrs))
		if attrs["friendlyName"] != "Ana Lima" {
			t.Fatalf("the agent joined as %v, want her full name", attrs["friendlyName"])
		}
	})
}

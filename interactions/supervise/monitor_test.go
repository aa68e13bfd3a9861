package supervise_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/supervise"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// monFixture is a workspace with the interactions layer, its jobs and
// router driven by hand, the desk and the supervisor's service over them,
// and a supervisor (Sue) whose worker takes no tasks.
type monFixture struct {
	t       *testing.T
	ctx     context.Context
	d       *db.DB
	conv    *conversations.Engine
	tr      *taskrouter.Engine
	desk    *desk.Service
	sup     *supervise.Service
	runner  *jobs.Runner
	router  *taskrouter.Router
	ws      taskrouter.Workspace
	service string
	sue     supervise.Supervisor
}

func newMonFixture(t *testing.T, d *db.DB) *monFixture {
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
	f := &monFixture{t: t, ctx: ctx, d: d, conv: conversations.New(d, acct.Sid), tr: taskrouter.New(d, acct.Sid)}
	ix := interactions.New(d, f.conv, f.tr)
	f.desk = desk.New(d, f.conv, f.tr, ix)
	f.sup = supervise.New(d, f.conv, f.tr, ix, f.desk)
	f.runner = jobs.NewRunner(d, log)
	f.router = taskrouter.NewRouter(f.tr, log)
	f.conv.RegisterJobs(f.runner)
	f.tr.RegisterJobs(f.runner)
	ix.RegisterJobs(f.runner)
	if f.ws, err = f.tr.DefaultWorkspace(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := f.conv.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	f.service = svc.Sid
	s := f.worker("sue@example.com", `{"identity":"sue","full_name":"Sue Supervisor"}`, "Offline")
	f.sue = supervise.Supervisor{WorkspaceSid: f.ws.Sid, WorkerSid: s.Sid, Identity: "sue", Name: "Sue S."}
	return f
}

func (f *monFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *monFixture) worker(name, attrs, activity string) taskrouter.Worker {
	f.t.Helper()
	acts, _, err := f.tr.Activities(f.ctx, f.ws.Sid, taskrouter.ActivityFilter{FriendlyName: activity}, taskrouter.Page{Limit: 1})
	f.must(err)
	w, err := f.tr.CreateWorker(f.ctx, f.ws.Sid, taskrouter.WorkerParams{FriendlyName: &name, Attributes: &attrs, ActivitySid: &acts[0].Sid})
	f.must(err)
	return w
}

// agent adds an available worker whose conversations identity is identity.
func (f *monFixture) agent(name, identity string) desk.Agent {
	f.t.Helper()
	w := f.worker(name, `{"identity":"`+identity+`"}`, "Available")
	return desk.Agent{WorkspaceSid: f.ws.Sid, WorkerSid: w.Sid, Identity: identity, Name: name}
}

// settle runs due jobs and routes until nothing more happens.
func (f *monFixture) settle() {
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

// chat opens a conversation with a webchat guest who writes "Hello?", held
// by a (who accepts the offer).
func (f *monFixture) chat(a desk.Agent) string {
	f.t.Helper()
	c, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
	f.must(err)
	_, err = f.conv.AddParticipant(f.ctx, f.service, c.Sid, conversations.ParticipantParams{Identity: ptr("guest-1"),
		Attributes: ptr(`{"friendlyName":"Lucía"}`)})
	f.must(err)
	f.say(c.Sid, "guest-1", "Hello?")
	f.settle()
	cards, err := f.desk.Tasks(f.ctx, a)
	f.must(err)
	if len(cards) != 1 || cards[0].State != desk.StateOffered {
		f.t.Fatalf("cards %+v, want one offer", cards)
	}
	_, err = f.desk.Accept(f.ctx, a, cards[0].ReservationSid)
	f.must(err)
	return c.Sid
}

func (f *monFixture) say(conversationSid, author, body string) int64 {
	f.t.Helper()
	m, err := f.conv.AddMessage(f.ctx, f.service, conversationSid, conversations.MessageParams{Author: &author, Body: &body})
	f.must(err)
	return m.Index
}

// members are the conversation's participants as identity=last read index.
func (f *monFixture) members(conversationSid string) []string {
	f.t.Helper()
	var ps []conversations.Participant
	f.must(f.d.Gorm.Where("conversation_sid = ?", conversationSid).Order("sid").Find(&ps).Error)
	var out []string
	for _, p := range ps {
		read := "-"
		if p.LastReadMessageIndex != nil {
			read = strings.Repeat("i", int(*p.LastReadMessageIndex)+1)
		}
		out = append(out, *p.Identity+"="+read)
	}
	return out
}

func texts(th desk.Thread) []string {
	var out []string
	for _, it := range th.Items {
		if it.Message != nil {
			out = append(out, it.Message.Author+": "+it.Message.Body)
		} else {
			out = append(out, "· "+it.Event.Text)
		}
	}
	return out
}

func wantKind(t *testing.T, what string, err error, kind errs.Kind) {
	t.Helper()
	if errs.KindOf(err) != kind {
		t.Fatalf("%s: error %v (kind %d), want kind %d", what, err, errs.KindOf(err), kind)
	}
}

func ptr[T any](v T) *T { return &v }

func TestMonitoringListsLiveConversationsAndAddsNobodyAndMovesNoReadHorizon(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		f.must(f.desk.MarkRead(f.ctx, ana, c, 0))
		before := f.members(c)

		live, err := f.sup.LiveConversations(f.ctx, f.sue)
		f.must(err)
		if len(live) != 1 || live[0].ConversationSid != c || live[0].Agent != "Ana" || live[0].Status != taskrouter.TaskAssigned ||
			live[0].CustomerName == "" || live[0].Since.IsZero() {
			t.Fatalf("live conversations %+v", live)
		}
		m, err := f.sup.Monitor(f.ctx, f.sue, c)
		f.must(err)
		if m.Joined || m.Task.Agent != "Ana" || m.Task.Status != taskrouter.TaskAssigned || !m.Task.Live() {
			t.Fatalf("monitor %+v", m)
		}
		if got, want := texts(m.Thread), []string{"Lucía: Hello?", "· Ana joined"}; !slices.Equal(got, want) {
			t.Fatalf("thread %q, want %q", got, want)
		}
		var roles []string
		for _, p := range m.People {
			roles = append(roles, p.Name+"/"+p.Role)
		}
		if want := []string{"Lucía/customer", "Ana/agent"}; !slices.Equal(roles, want) {
			t.Fatalf("people %q, want %q", roles, want)
		}
		w, err := f.sup.Watch(f.ctx, f.sue, c)
		f.must(err)
		_, err = w.Hello(f.ctx, -1)
		f.must(err)
		i := f.say(c, "guest-1", "Anyone there?")
		u, err := w.Event(f.ctx, events.Event{Type: events.MessageAdded, ConversationSid: c, Index: &i})
		f.must(err)
		// System lines may come again (the page keeps one per ID); messages never do.
		var appended []string
		for _, it := range u.Append {
			if it.Message != nil {
				appended = append(appended, it.Message.Body)
			}
		}
		if !slices.Equal(appended, []string{"Anyone there?"}) {
			t.Fatalf("live append %q", appended)
		}
		if u, err = w.Event(f.ctx, events.Event{Type: events.MessageAdded, ConversationSid: c, Index: &i}); err != nil || !u.Empty() {
			t.Fatalf("a message sent already came again: %+v, %v", u, err)
		}
		if after := f.members(c); !slices.Equal(after, before) {
			t.Fatalf("participants after monitoring %q, before %q", after, before)
		}
	})
}

func TestJoinShowsTheSupervisorByNameTheirMessageReachesTheConversationAndLeaveTakesThemOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)

		err := f.sup.Send(f.ctx, f.sue, c, "Hi")
		wantKind(t, "writing before joining", err, errs.Conflict)
		err = f.sup.Leave(f.ctx, f.sue, c)
		wantKind(t, "leaving before joining", err, errs.Conflict)

		f.must(f.sup.Join(f.ctx, f.sue, c))
		f.must(f.sup.Join(f.ctx, f.sue, c)) // twice: harmless
		p, err := f.conv.Participant(f.ctx, f.service, c, "sue")
		f.must(err)
		if !strings.Contains(p.Attributes, `"friendlyName":"Sue Supervisor"`) {
			t.Fatalf("the customer sees the supervisor as %s, want their full name", p.Attributes)
		}
		f.must(f.sup.Send(f.ctx, f.sue, c, "I can help with that"))
		m, err := f.sup.Monitor(f.ctx, f.sue, c)
		f.must(err)
		got := texts(m.Thread)
		if !m.Joined || got[len(got)-1] != "Sue Supervisor: I can help with that" || !slices.Contains(got, "· Sue Supervisor joined") {
			t.Fatalf("after joining: joined %v, thread %q", m.Joined, got)
		}
		last := m.Thread.Items[len(m.Thread.Items)-1].Message
		if !last.Mine || last.AuthorKey != "sue" {
			t.Fatalf("the supervisor's message %+v", last)
		}
		if !slices.Contains(m.People, supervise.Person{Name: "Sue Supervisor", Role: interactions.TypeSupervisor}) {
			t.Fatalf("people %+v", m.People)
		}
		// The agent keeps the conversation.
		cards, err := f.desk.Tasks(f.ctx, ana)
		f.must(err)
		if len(cards) != 1 || cards[0].State != desk.StateAssigned {
			t.Fatalf("the agent's cards after the supervisor joined: %+v", cards)
		}

		f.must(f.sup.Leave(f.ctx, f.sue, c))
		_, err = f.conv.Participant(f.ctx, f.service, c, "sue")
		wantKind(t, "the supervisor after leaving", err, errs.NotFound)
		err = f.sup.Leave(f.ctx, f.sue, c)
		wantKind(t, "leaving twice", err, errs.Conflict)
		if m, err = f.sup.Monitor(f.ctx, f.sue, c); err != nil || m.Joined {
			t.Fatalf("after leaving: joined %v, %v", m.Joined, err)
		}
	})
}

// task is the conversation's newest task.
func (f *monFixture) task(conversationSid string) taskrouter.Task {
	f.t.Helper()
	var t taskrouter.Task
	f.must(f.d.Gorm.Raw(`SELECT t.* FROM tasks t JOIN interaction_invites i ON i.task_sid = t.sid
		JOIN interaction_channels c ON c.sid = i.channel_sid WHERE c.media_channel_sid = ?
		ORDER BY t.date_created DESC, t.sid DESC LIMIT 1`, conversationSid).Scan(&t).Error)
	return t
}

func TestReassigningToAnAgentOffersThemTheTaskAndEndsTheOldAgentsAtOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		old := f.task(c)
		ben := f.agent("Ben", "ben")

		choices, err := f.sup.ReassignChoices(f.ctx, f.sue, c)
		f.must(err)
		if len(choices.Agents) == 0 || choices.Agents[0].Name != "Ben" || !choices.Agents[0].CanTake || len(choices.Queues) == 0 {
			t.Fatalf("choices %+v", choices)
		}
		for _, a := range choices.Agents {
			if a.WorkerSid == ana.WorkerSid {
				t.Fatalf("the agent holding it is offered as a target: %+v", choices.Agents)
			}
		}
		f.must(f.sup.Reassign(f.ctx, f.sue, c, ben.WorkerSid, "VIP"))
		if got, err := f.tr.Task(f.ctx, f.ws.Sid, old.Sid); err != nil || got.AssignmentStatus != taskrouter.TaskCompleted {
			t.Fatalf("the old task is %s (%v), want completed", got.AssignmentStatus, err)
		}
		_, err = f.conv.Participant(f.ctx, f.service, c, "ana")
		wantKind(t, "the old agent in the conversation", err, errs.NotFound)
		f.settle()
		cards, err := f.desk.Tasks(f.ctx, ben)
		f.must(err)
		if len(cards) != 1 || cards[0].State != desk.StateOffered || cards[0].ConversationSid != c {
			t.Fatalf("Ben's cards %+v, want the offer", cards)
		}
		if _, err := f.desk.Accept(f.ctx, ben, cards[0].ReservationSid); err != nil {
			t.Fatal(err)
		}
		m, err := f.sup.Monitor(f.ctx, f.sue, c)
		f.must(err)
		if m.Task.Agent != "Ben" || m.Task.Status != taskrouter.TaskAssigned {
			t.Fatalf("after the reassignment the task is %+v", m.Task)
		}
		if got := texts(m.Thread); !slices.Contains(got, "· Ana transferred the conversation to Ben (cold): Reassigned by Sue S.: VIP") {
			t.Fatalf("thread %q lacks the hand-over", got)
		}
	})
}

func TestReassigningToAQueueLeavesTheTaskWaitingThere(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		q, err := f.tr.CreateTaskQueue(f.ctx, f.ws.Sid, taskrouter.TaskQueueParams{FriendlyName: ptr("Billing"),
			TargetWorkers: ptr(`skills HAS "billing"`)})
		f.must(err)

		f.must(f.sup.Reassign(f.ctx, f.sue, c, q.Sid, ""))
		f.settle()
		nt := f.task(c)
		if nt.AssignmentStatus != taskrouter.TaskPending || nt.TaskQueueSid != q.Sid {
			t.Fatalf("the new task is %s in %s, want pending in Billing", nt.AssignmentStatus, nt.TaskQueueSid)
		}
		live, err := f.sup.LiveConversations(f.ctx, f.sue)
		f.must(err)
		if len(live) != 1 || live[0].Queue != "Billing" || live[0].Agent != "" || live[0].Status != taskrouter.TaskPending {
			t.Fatalf("live %+v", live)
		}
		// A waiting task moves on again: to an agent who can take it.
		ben := f.agent("Ben", "ben")
		f.must(f.sup.Reassign(f.ctx, f.sue, c, ben.WorkerSid, ""))
		if got, _ := f.tr.Task(f.ctx, f.ws.Sid, nt.Sid); got.AssignmentStatus != taskrouter.TaskCanceled {
			t.Fatalf("the waiting task is %s, want canceled", got.AssignmentStatus)
		}
		f.settle()
		if cards, _ := f.desk.Tasks(f.ctx, ben); len(cards) != 1 || cards[0].State != desk.StateOffered {
			t.Fatalf("Ben's cards %+v", cards)
		}
	})
}

func TestBadReassignTargetsAreRefusedAndChangeNothing(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		away := f.worker("Al", `{"identity":"al"}`, "Offline")
		other, err := f.tr.CreateWorkspace(f.ctx, taskrouter.WorkspaceParams{FriendlyName: ptr("Elsewhere")}, nil)
		f.must(err)
		foreignQ, err := f.tr.CreateTaskQueue(f.ctx, other.Sid, taskrouter.TaskQueueParams{FriendlyName: ptr("Theirs")})
		f.must(err)
		old := f.task(c)
		for _, tc := range []struct {
			name, to string
			kind     errs.Kind
		}{
			{"nothing", "", errs.Invalid},
			{"not a SID", "Ben", errs.Invalid},
			{"an unknown worker", "WK" + strings.Repeat("0", 32), errs.Invalid},
			{"the agent who holds it", ana.WorkerSid, errs.Invalid},
			{"an offline agent", away.Sid, errs.Conflict},
			{"another workspace's queue", foreignQ.Sid, errs.Invalid},
		} {
			err := f.sup.Reassign(f.ctx, f.sue, c, tc.to, "")
			wantKind(t, tc.name, err, tc.kind)
		}
		if got := f.task(c); got.Sid != old.Sid || got.AssignmentStatus != taskrouter.TaskAssigned {
			t.Fatalf("after refused reassignments the task is %s %s", got.Sid, got.AssignmentStatus)
		}
	})
}

func TestAConversationWithoutATaskInTheSupervisorsWorkspaceIsNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		bare, err := f.conv.CreateConversation(f.ctx, f.service, conversations.ConversationParams{})
		f.must(err)
		other, err := f.tr.CreateWorkspace(f.ctx, taskrouter.WorkspaceParams{FriendlyName: ptr("Elsewhere")}, nil)
		f.must(err)
		stranger := f.sue
		stranger.WorkspaceSid = other.Sid
		for _, tc := range []struct {
			name string
			sup  supervise.Supervisor
			sid  string
		}{
			{"a conversation without tasks", f.sue, bare.Sid},
			{"a guessed SID", f.sue, "CH" + strings.Repeat("0", 32)},
			{"another workspace's supervisor", stranger, c},
		} {
			_, err := f.sup.Monitor(f.ctx, tc.sup, tc.sid)
			wantKind(t, tc.name+": monitor", err, errs.NotFound)
			_, err = f.sup.Watch(f.ctx, tc.sup, tc.sid)
			wantKind(t, tc.name+": watch", err, errs.NotFound)
			wantKind(t, tc.name+": join", f.sup.Join(f.ctx, tc.sup, tc.sid), errs.NotFound)
			wantKind(t, tc.name+": leave", f.sup.Leave(f.ctx, tc.sup, tc.sid), errs.NotFound)
			wantKind(t, tc.name+": send", f.sup.Send(f.ctx, tc.sup, tc.sid, "hi"), errs.NotFound)
			wantKind(t, tc.name+": reassign", f.sup.Reassign(f.ctx, tc.sup, tc.sid, ana.WorkerSid, ""), errs.NotFound)
			_, err = f.sup.ReassignChoices(f.ctx, tc.sup, tc.sid)
			wantKind(t, tc.name+": choices", err, errs.NotFound)
		}
	})
}

func TestTheMonitoredThreadPagesBackAndShowsTheCustomerTyping(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		for i := range desk.PageSize + 5 {
			f.say(c, "guest-1", "line "+strings.Repeat("x", i%3))
		}
		m, err := f.sup.Monitor(f.ctx, f.sue, c)
		f.must(err)
		if !m.Thread.More || m.Thread.Last != desk.PageSize+5 || m.Thread.Last-m.Thread.First+1 != desk.PageSize {
			t.Fatalf("latest page: more %v, %d..%d", m.Thread.More, m.Thread.First, m.Thread.Last)
		}
		older, err := f.sup.MonitorOlder(f.ctx, f.sue, c, m.Thread.First)
		f.must(err)
		if older.More || older.First != 0 || older.Last != m.Thread.First-1 {
			t.Fatalf("older page: more %v, %d..%d", older.More, older.First, older.Last)
		}

		w, err := f.sup.Watch(f.ctx, f.sue, c)
		f.must(err)
		_, err = w.Hello(f.ctx, m.Thread.Last)
		f.must(err)
		guest, err := f.conv.Participant(f.ctx, f.service, c, "guest-1")
		f.must(err)
		u, err := w.Event(f.ctx, events.Event{Type: events.TypingStarted, ConversationSid: c, Sid: guest.Sid})
		f.must(err)
		if u.Typing == nil || !u.Typing.On || u.Typing.Name != "Lucía" {
			t.Fatalf("typing %+v", u.Typing)
		}
	})
}

// A waiting task a supervisor reassigns moved on: neither the queues view
// nor insights count it as abandoned, however long it waited.
func TestAReassignedWaitingTaskIsNotAnAbandon(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		facts := insights.New(d, f.tr)
		_, err := f.tr.UpdateTaskChannelSettings(f.ctx, f.ws.Sid, "chat", taskrouter.TaskChannelSettings{DefaultCapacity: 1,
			ServiceLevelSeconds: 2, ShortAbandonSeconds: 1})
		f.must(err)
		ana := f.agent("Ana", "ana")
		c := f.chat(ana)
		q, err := f.tr.CreateTaskQueue(f.ctx, f.ws.Sid, taskrouter.TaskQueueParams{FriendlyName: ptr("Billing"),
			TargetWorkers: ptr(`skills HAS "billing"`)})
		f.must(err)
		f.must(f.sup.Reassign(f.ctx, f.sue, c, q.Sid, ""))
		f.settle()
		time.Sleep(1100 * time.Millisecond) // past the short-abandon threshold: a cancel now would be an abandon
		ben := f.agent("Ben", "ben")
		f.must(f.sup.Reassign(f.ctx, f.sue, c, ben.WorkerSid, ""))
		f.settle()

		view, err := f.sup.Queues(f.ctx, f.ws.Sid, supervise.QueueFilter{Queue: "Billing"})
		f.must(err)
		if len(view.Queues) != 1 || view.Queues[0].Abandoned != 0 || view.Summary.AbandonedToday != 0 {
			t.Fatalf("the queues view counts abandons: %+v", view.Queues)
		}
		now := time.Now()
		dash, err := facts.Dashboard(f.ctx, f.ws.Sid, insights.Filter{From: now, To: now})
		f.must(err)
		if dash.Totals.Abandoned != 0 || dash.Totals.ShortAbandons != 0 {
			t.Fatalf("insights count the reassigned task as abandoned: %+v", dash.Totals)
		}
	})
}

// A conversation deleted over the REST API while its task lives on is
// not found, not a server fault.
func TestADeletedConversationWithALiveTaskIsNotFound(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newMonFixture(t, d)
		c := f.chat(f.agent("Ana", "ana"))
		f.must(f.conv.DeleteConversation(f.ctx, f.service, c, ""))
		_, err := f.sup.Monitor(f.ctx, f.sue, c)
		wantKind(t, "monitor", err, errs.NotFound)
		wantKind(t, "join", f.sup.Join(f.ctx, f.sue, c), errs.NotFound)
	})
}

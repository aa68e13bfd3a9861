package insights

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"
	_ "time/tzdata" // the daylight-saving test's zone, wherever it runs

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
)

// day drives a contact centre through a scripted day on a clock the test
// moves: the real TaskRouter, interactions layer and desk, with jobs and
// routing run by hand.
type day struct {
	t       *testing.T
	ctx     context.Context
	conv    *conversations.Engine
	tr      *taskrouter.Engine
	desk    *desk.Service
	ins     *Service
	router  *taskrouter.Router
	runner  *jobs.Runner
	ws      taskrouter.Workspace
	service string
	now     time.Time
}

func newDay(t *testing.T, d *db.DB, start time.Time) *day {
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
	s := &day{t: t, ctx: ctx, conv: conversations.New(d, acct.Sid), tr: taskrouter.New(d, acct.Sid), now: start}
	clock := func() time.Time { return s.now }
	s.tr.SetClock(clock)
	s.conv.SetClock(clock)
	ix := interactions.New(d, s.conv, s.tr)
	s.desk = desk.New(d, s.conv, s.tr, ix)
	s.ins = New(d, s.tr)
	s.ins.loc = time.UTC
	s.router = taskrouter.NewRouter(s.tr, log)
	s.runner = jobs.NewRunner(d, log)
	s.conv.RegisterJobs(s.runner)
	s.tr.RegisterJobs(s.runner)
	ix.RegisterJobs(s.runner)
	if s.ws, err = s.tr.DefaultWorkspace(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := s.conv.ResolveService(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	s.service = svc.Sid
	for _, code := range []string{"resolved", "sale"} {
		_, err := s.desk.CreateDisposition(ctx, desk.DispositionParams{WorkspaceSid: &s.ws.Sid, Code: ptr(code), Label: ptr("Label " + code)})
		s.must(err)
	}
	return s
}

func ptr[T any](v T) *T { return &v }

func (s *day) must(err error) {
	s.t.Helper()
	if err != nil {
		s.t.Fatal(err)
	}
}

// at moves the clock to hh:mm:ss of the day.
func (s *day) at(clock string) {
	s.t.Helper()
	c, err := time.Parse(time.TimeOnly, clock)
	s.must(err)
	y, m, d := s.now.Date()
	s.now = time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), 0, time.UTC)
}

func (s *day) activity(name string) string {
	s.t.Helper()
	acts, _, err := s.tr.Activities(s.ctx, s.ws.Sid, taskrouter.ActivityFilter{FriendlyName: name}, taskrouter.Page{Limit: 1})
	s.must(err)
	return acts[0].Sid
}

func (s *day) agent(name string) desk.Agent {
	s.t.Helper()
	act := s.activity("Offline")
	w, err := s.tr.CreateWorker(s.ctx, s.ws.Sid, taskrouter.WorkerParams{FriendlyName: &name,
		Attributes: ptr(`{"identity":"` + name + `","full_name":"` + name + ` Agent"}`), ActivitySid: &act})
	s.must(err)
	return desk.Agent{WorkspaceSid: s.ws.Sid, WorkerSid: w.Sid, Identity: name, Name: name}
}

func (s *day) set(a desk.Agent, activity string) {
	s.t.Helper()
	act := s.activity(activity)
	_, err := s.tr.UpdateWorker(s.ctx, s.ws.Sid, a.WorkerSid, taskrouter.WorkerParams{ActivitySid: &act})
	s.must(err)
}

func (s *day) settle() {
	s.t.Helper()
	for range 5 {
		n, err := s.runner.RunDue(s.ctx)
		s.must(err)
		m, err := s.router.RouteWorkspace(s.ctx, s.ws.Sid)
		s.must(err)
		if n == 0 && m == 0 {
			return
		}
	}
}

// customer opens a conversation with an SMS customer (phone) or a webchat
// guest (identity) who writes; the task comes from their message.
func (s *day) customer(sms bool, who string) string {
	s.t.Helper()
	c, err := s.conv.CreateConversation(s.ctx, s.service, conversations.ConversationParams{})
	s.must(err)
	p := conversations.ParticipantParams{Identity: &who}
	if sms {
		p = conversations.ParticipantParams{Address: &who, ProxyAddress: ptr("+15550001000")}
	}
	_, err = s.conv.AddParticipant(s.ctx, s.service, c.Sid, p)
	s.must(err)
	_, err = s.conv.AddMessage(s.ctx, s.service, c.Sid, conversations.MessageParams{Author: &who, Body: ptr("Hello?")})
	s.must(err)
	s.settle()
	return c.Sid
}

// accept has the agent accept their one offer.
func (s *day) accept(a desk.Agent) {
	s.t.Helper()
	cards, err := s.desk.Tasks(s.ctx, a)
	s.must(err)
	for _, c := range cards {
		if c.State == desk.StateOffered {
			_, err := s.desk.Accept(s.ctx, a, c.ReservationSid)
			s.must(err)
			return
		}
	}
	s.t.Fatalf("%s has no offer: %+v", a.Name, cards)
}

func (s *day) reply(a desk.Agent, conversationSid string) {
	s.t.Helper()
	s.must(s.desk.Send(s.ctx, a, conversationSid, "Hi, how can I help?", nil))
}

// waiting creates a task straight in the TaskRouter, as an API client would.
func (s *day) waiting(channel string) string {
	s.t.Helper()
	t, err := s.tr.CreateTask(s.ctx, s.ws.Sid, taskrouter.TaskParams{TaskChannel: &channel, Attributes: ptr(`{}`)})
	s.must(err)
	return t.Sid
}

func (s *day) cancel(taskSid string) {
	s.t.Helper()
	_, err := s.tr.UpdateTask(s.ctx, s.ws.Sid, taskSid, taskrouter.TaskParams{AssignmentStatus: ptr(taskrouter.TaskCanceled),
		Reason: ptr("customer left")})
	s.must(err)
}

// script plays the day; the comments give each task's figures. Channels
// keep their defaults: service level 60 s, short abandon 10 s.
func script(s *day) (ana, ben desk.Agent) {
	ana, ben = s.agent("ana"), s.agent("ben")

	// T1 (sms): waits 20 s for Ana, first reply after 30 s, End chat after
	// 5 min, completed a minute later as resolved: handle 360 s, wrap 60 s.
	s.at("09:00:00")
	s.set(ana, "Available")
	c1 := s.customer(true, "+34600000001")
	s.at("09:00:20")
	s.accept(ana)
	s.at("09:00:50")
	s.reply(ana, c1)
	s.at("09:05:20")
	s.must(s.desk.EndChat(s.ctx, ana, c1))
	s.at("09:06:20")
	s.must(s.desk.Complete(s.ctx, ana, c1, desk.CompleteRequest{Disposition: "resolved"}))

	// T2 (chat): Ben answers after 90 s (outside the service level),
	// replies 30 s later and transfers cold to Ana at 10:03; her accepting
	// at 10:03:10 completes his task: handle 100 s, no wrap-up, 1 transfer.
	// T3 (chat, the transfer): waits 10 s, Ana replies after 60 s, End chat
	// at 10:08:10, completed as a sale at 10:09:10: handle 360 s, wrap 60 s.
	s.at("10:00:00")
	s.set(ana, "Offline")
	s.set(ben, "Available")
	c2 := s.customer(false, "guest-2")
	s.at("10:01:30")
	s.accept(ben)
	s.at("10:02:00")
	s.reply(ben, c2)
	s.at("10:03:00")
	s.set(ana, "Available")
	_, err := s.desk.Transfer(s.ctx, ben, c2, desk.TransferRequest{To: ana.WorkerSid})
	s.must(err)
	s.settle()
	s.at("10:03:10")
	s.accept(ana)
	s.at("10:04:10")
	s.reply(ana, c2)
	s.at("10:08:10")
	s.must(s.desk.EndChat(s.ctx, ana, c2))
	s.at("10:09:10")
	s.must(s.desk.Complete(s.ctx, ana, c2, desk.CompleteRequest{Disposition: "sale"}))
	s.set(ana, "Offline")
	s.set(ben, "Offline")

	// T4 (sms) leaves after 5 s and T6 (chat) after exactly 10 s: short
	// abandons. T5 (sms) leaves after 2 min: abandoned.
	s.at("11:00:00")
	t4 := s.waiting("sms")
	s.at("11:00:05")
	s.cancel(t4)
	s.at("12:00:00")
	t5 := s.waiting("sms")
	s.at("12:02:00")
	s.cancel(t5)
	s.at("13:00:00")
	t6 := s.waiting("chat")
	s.at("13:00:10")
	s.cancel(t6)

	// T7 (sms): answered after exactly 60 s (within the service level),
	// never replied to, completed 10 min later as resolved (End chat and
	// completion at once): handle 600 s, wrap 0 s, no transfer.
	s.at("14:00:00")
	s.set(ana, "Available")
	c7 := s.customer(true, "+34600000007")
	s.at("14:01:00")
	s.accept(ana)
	// She starts a transfer to Ben and withdraws it before he takes it:
	// neither a task nor a transfer.
	s.at("14:05:00")
	s.set(ben, "Available")
	_, err = s.desk.Transfer(s.ctx, ana, c7, desk.TransferRequest{To: ben.WorkerSid})
	s.must(err)
	s.settle()
	s.at("14:06:00")
	s.must(s.desk.CancelTransfer(s.ctx, ana, c7))
	s.set(ben, "Offline")
	s.at("14:11:00")
	s.must(s.desk.Complete(s.ctx, ana, c7, desk.CompleteRequest{Disposition: "resolved"}))
	return ana, ben
}

// scriptDate is a day ahead of the real clock, so no job the script
// schedules (reservation and task timeouts) comes due while it plays.
func scriptDate() time.Time {
	y, m, d := time.Now().UTC().AddDate(0, 1, 0).Date()
	return time.Date(y, m, d, 8, 0, 0, 0, time.UTC)
}

func TestAScriptedDayGivesEveryFigureExactly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newDay(t, d, scriptDate())
		ana, ben := script(s)
		dash, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: s.now, To: s.now})
		s.must(err)

		want := Figures{Tasks: 7, Handled: 4, Abandoned: 1, ShortAbandons: 2, InServiceLevel: 3, Transfers: 1, CompletedTasks: 4,
			ASA: 45 * time.Second, AHT: 355 * time.Second, AvgWrap: 40 * time.Second, FirstResponse: 40 * time.Second}
		if dash.Totals != want {
			t.Fatalf("totals\n got %+v\nwant %+v", dash.Totals, want)
		}
		if sl, ok := dash.Totals.ServiceLevel(); !ok || sl != 60 {
			t.Fatalf("service level %v %v, want 60%%", sl, ok)
		}
		if ab, ok := dash.Totals.Abandonment(); !ok || ab != 20 {
			t.Fatalf("abandonment %v %v, want 20%%", ab, ok)
		}

		if len(dash.ByDay) != 1 || dash.ByDay[0].Figures != want {
			t.Fatalf("by day %+v", dash.ByDay)
		}
		hours := map[string]int{}
		for _, h := range dash.ByHour {
			if h.Tasks > 0 {
				hours[h.Key] = h.Tasks
			}
		}
		if len(dash.ByHour) != 24 || len(hours) != 6 || hours["09"] != 1 || hours["10"] != 2 || hours["14"] != 1 {
			t.Fatalf("by hour %v", hours)
		}

		agents := map[string]Figures{}
		for _, r := range dash.Agents {
			agents[r.Label] = r.Figures
		}
		if a := agents["ana Agent"]; a.Handled != 3 || a.ASA != 30*time.Second || a.AHT != 440*time.Second ||
			a.FirstResponse != 45*time.Second || a.InServiceLevel != 3 {
			t.Fatalf("Ana %+v", a)
		}
		if b := agents["ben Agent"]; b.Handled != 1 || b.ASA != 90*time.Second || b.AHT != 100*time.Second || b.Transfers != 1 {
			t.Fatalf("Ben %+v", b)
		}
		if len(agents) != 2 {
			t.Fatalf("agents %+v", dash.Agents)
		}

		channels := map[string]Figures{}
		for _, r := range dash.Channels {
			channels[r.Label] = r.Figures
		}
		if c := channels["SMS"]; c.Tasks != 4 || c.Handled != 2 || c.Abandoned != 1 || c.ShortAbandons != 1 || c.ASA != 40*time.Second {
			t.Fatalf("sms %+v", c)
		}
		if c := channels["Programmable Chat"]; c.Tasks != 3 || c.Handled != 2 || c.ShortAbandons != 1 || c.Abandoned != 0 {
			t.Fatalf("chat %+v", c)
		}
		if len(dash.Queues) != 1 || dash.Queues[0].Label != "Everyone" || dash.Queues[0].Tasks != 7 {
			t.Fatalf("queues %+v", dash.Queues)
		}
		if len(dash.ByDayQueue) != 1 || dash.ByDayQueue[0].Figures != want {
			t.Fatalf("day × queue %+v", dash.ByDayQueue)
		}
		wantDisp := []DispositionCount{{"resolved", "Label resolved", 2}, {"sale", "Label sale", 1}}
		if len(dash.Dispositions) != 2 || dash.Dispositions[0] != wantDisp[0] || dash.Dispositions[1] != wantDisp[1] {
			t.Fatalf("dispositions %+v", dash.Dispositions)
		}

		// Filters: one agent's tasks, one channel's, and a day without any.
		byBen, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: s.now, To: s.now, WorkerSid: ben.WorkerSid})
		s.must(err)
		if byBen.Totals.Tasks != 1 || byBen.Totals.Handled != 1 || len(byBen.Dispositions) != 0 {
			t.Fatalf("Ben's dashboard %+v", byBen.Totals)
		}
		sms := ""
		for sid, name := range dash.ChannelNames {
			if name == "SMS" {
				sms = sid
			}
		}
		bySMS, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: s.now, To: s.now, TaskChannel: sms})
		s.must(err)
		if bySMS.Totals.Tasks != 4 || len(bySMS.Dispositions) != 1 || bySMS.Dispositions[0].Count != 2 {
			t.Fatalf("SMS dashboard %+v %+v", bySMS.Totals, bySMS.Dispositions)
		}
		next := s.now.AddDate(0, 0, 1)
		empty, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: next, To: next.AddDate(0, 0, 2), QueueSid: dash.Queues[0].Key})
		s.must(err)
		if empty.Totals != (Figures{}) || len(empty.ByDay) != 3 || len(empty.Agents) != 0 {
			t.Fatalf("a day later %+v", empty)
		}
		_ = ana
	})
}

func TestTheDemoHistoryFillsPastDaysOnceHoweverOftenItRuns(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newDay(t, d, scriptDate())
		s.agent("ana")
		s.agent("ben")
		s.ins.loc = time.Local
		now := time.Date(2026, 3, 12, 15, 0, 0, 0, time.Local)
		s.must(SeedDemo(s.ctx, d, s.ws.Sid, 7, now))
		var first int64
		s.must(d.Gorm.Model(&Fact{}).Count(&first).Error)
		s.must(SeedDemo(s.ctx, d, s.ws.Sid, 7, now))
		var again int64
		s.must(d.Gorm.Model(&Fact{}).Count(&again).Error)
		if first < 7*20 || again != first {
			t.Fatalf("%d tasks seeded, %d after seeding again", first, again)
		}
		// A day later only the day between is added.
		s.must(SeedDemo(s.ctx, d, s.ws.Sid, 7, now.AddDate(0, 0, 1)))
		var later int64
		s.must(d.Gorm.Model(&Fact{}).Count(&later).Error)
		dash, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: now.AddDate(0, 0, -7), To: now})
		s.must(err)
		if len(dash.ByDay) != 8 || later == first || int64(dash.ByDay[7].Tasks) != later-first || dash.Totals.Tasks != int(later) {
			t.Fatalf("a day later %d tasks (%d on the new day), dashboard %+v", later, dash.ByDay[7].Tasks, dash.Totals)
		}
		if dash.Totals.Handled == 0 || dash.Totals.AHT == 0 || len(dash.Agents) != 2 || len(dash.Channels) != 3 {
			t.Fatalf("demo dashboard %+v", dash)
		}
	})
}

func TestDaysAndHoursAreLocalAcrossADaylightSavingChange(t *testing.T) {
	madrid, err := time.LoadLocation("Europe/Madrid")
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newDay(t, d, scriptDate())
		s.ins.loc = madrid
		tc, err := s.tr.TaskChannel(s.ctx, s.ws.Sid, "chat")
		s.must(err)
		// Madrid moves from UTC+1 to UTC+2 at 01:00 UTC on 29 March 2026.
		for i, at := range []string{"2026-03-28T23:30:00Z", "2026-03-29T21:30:00Z", "2026-03-29T22:30:00Z"} {
			created, err := time.Parse(time.RFC3339, at)
			s.must(err)
			s.must(d.Gorm.Create(&Fact{TaskSid: fmt.Sprintf("WT%032d", i), WorkspaceSid: s.ws.Sid, TaskChannelSid: tc.Sid,
				CreatedAt: created}).Error)
		}
		dash, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: time.Date(2026, 3, 28, 0, 0, 0, 0, madrid),
			To: time.Date(2026, 3, 30, 0, 0, 0, 0, madrid)})
		s.must(err)
		var days []string
		for _, r := range dash.ByDay {
			days = append(days, fmt.Sprintf("%s:%d", r.Key, r.Tasks))
		}
		if want := []string{"2026-03-28:0", "2026-03-29:2", "2026-03-30:1"}; !slices.Equal(days, want) {
			t.Fatalf("days %v, want %v", days, want)
		}
		if dash.ByHour[0].Tasks != 2 || dash.ByHour[23].Tasks != 1 || dash.Totals.Tasks != 3 {
			t.Fatalf("hours 00: %d, 23: %d", dash.ByHour[0].Tasks, dash.ByHour[23].Tasks)
		}
	})
}

func TestABadDateRangeIsRefusedWithAReadableMessage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := newDay(t, d, scriptDate())
		day := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
		for _, c := range []struct {
			name string
			f    Filter
			want string
		}{
			{"no dates", Filter{}, "Choose both a start and an end date"},
			{"end before start", Filter{From: day, To: day.AddDate(0, 0, -1)}, "The end date 2026-03-09 is before the start date 2026-03-10"},
			{"over a year", Filter{From: day, To: day.AddDate(0, 0, MaxDays)}, "Choose at most 366 days"},
		} {
			_, err := s.ins.Dashboard(s.ctx, s.ws.Sid, c.f)
			if errs.KindOf(err) != errs.Invalid || err.Error() != c.want {
				t.Errorf("%s: %v, want %q", c.name, err, c.want)
			}
		}
		if _, err := s.ins.Dashboard(s.ctx, s.ws.Sid, Filter{From: day, To: day.AddDate(0, 0, MaxDays-1)}); err != nil {
			t.Fatalf("a range of %d days: %v", MaxDays, err)
		}
	})
}

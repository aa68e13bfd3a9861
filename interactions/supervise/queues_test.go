package supervise

import (
	"context"
	"encoding/json"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// qFixture is a workspace of its own with two queues, four agents and a
// clock the test moves, driven through the TaskRouter engine and its
// router as the server would.
type qFixture struct {
	t       *testing.T
	ctx     context.Context
	d       *db.DB
	tr      *taskrouter.Engine
	router  *taskrouter.Router
	s       *Service
	now     time.Time
	ws      taskrouter.Workspace
	act     map[string]string // activity name → SID
	queue   map[string]string // queue name → SID
	worker  map[string]string // worker name → SID
	workflw string
}

// qZone is the server's time zone in these tests: two hours east of UTC,
// so that local midnight is not UTC's.
var qZone = time.FixedZone("UTC+2", 2*3600)

func qNewFixture(t *testing.T, d *db.DB, start time.Time) *qFixture {
	t.Helper()
	ctx := context.Background()
	acct, err := auth.NewStore(d).EnsureAccount(ctx)
	if err != nil {
		t.Fatal(err)
	}
	f := &qFixture{t: t, ctx: ctx, d: d, tr: taskrouter.New(d, acct.Sid), now: start, act: map[string]string{},
		queue: map[string]string{}, worker: map[string]string{}}
	clock := func() time.Time { return f.now }
	f.tr.SetClock(func() time.Time { return f.now.UTC() })
	f.router = taskrouter.NewRouter(f.tr, slog.New(slog.DiscardHandler))
	f.s = New(d, nil, f.tr, nil, nil)
	f.s.SetClock(clock)
	name := "Supervised"
	f.ws, err = f.tr.CreateWorkspace(ctx, taskrouter.WorkspaceParams{FriendlyName: &name}, nil)
	f.must(err)
	acts, _, err := f.tr.Activities(ctx, f.ws.Sid, taskrouter.ActivityFilter{}, taskrouter.Page{Limit: 50})
	f.must(err)
	for _, a := range acts {
		f.act[a.FriendlyName] = a.Sid
	}
	for _, q := range [][2]string{{"Support", "routing.skills HAS 'support'"}, {"Sales", "routing.skills HAS 'sales'"}} {
		tq, err := f.tr.CreateTaskQueue(ctx, f.ws.Sid, taskrouter.TaskQueueParams{FriendlyName: &q[0], TargetWorkers: &q[1]})
		f.must(err)
		f.queue[q[0]] = tq.Sid
	}
	cfg := qJSON(map[string]any{"task_routing": map[string]any{
		"filters": []any{map[string]any{"filter_friendly_name": "sales", "expression": "q == 'sales'",
			"targets": []any{map[string]any{"queue": f.queue["Sales"]}}}},
		"default_filter": map[string]any{"queue": f.queue["Support"]}}})
	wfName, timeout := "Route", 3600
	wf, err := f.tr.CreateWorkflow(ctx, f.ws.Sid, taskrouter.WorkflowParams{FriendlyName: &wfName, Configuration: &cfg,
		TaskReservationTimeout: &timeout})
	f.must(err)
	f.workflw = wf.Sid
	return f
}

func qJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (f *qFixture) must(err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
}

// at moves the clock to t.
func (f *qFixture) at(t time.Time) { f.now = t }

// agent adds a worker in an activity with attributes and per-channel capacity.
func (f *qFixture) agent(name, activity string, attrs map[string]any, capacity map[string]int) {
	f.t.Helper()
	a, act := qJSON(attrs), f.act[activity]
	w, err := f.tr.CreateWorker(f.ctx, f.ws.Sid, taskrouter.WorkerParams{FriendlyName: &name, Attributes: &a, ActivitySid: &act})
	f.must(err)
	f.worker[name] = w.Sid
	for ch, n := range capacity {
		_, err := f.tr.UpdateWorkerChannel(f.ctx, f.ws.Sid, w.Sid, ch, taskrouter.WorkerChannelParams{Capacity: &n})
		f.must(err)
	}
}

// task creates a task on a channel and routes the workspace at once.
func (f *qFixture) task(channel string, attrs map[string]any) taskrouter.Task {
	f.t.Helper()
	a := qJSON(attrs)
	t, err := f.tr.CreateTask(f.ctx, f.ws.Sid, taskrouter.TaskParams{Attributes: &a, TaskChannel: &channel, WorkflowSid: &f.workflw})
	f.must(err)
	f.route()
	return t
}

func (f *qFixture) route() {
	f.t.Helper()
	_, err := f.router.RouteWorkspace(f.ctx, f.ws.Sid)
	f.must(err)
}

// accept accepts the task's one pending reservation.
func (f *qFixture) accept(t taskrouter.Task) {
	f.t.Helper()
	rs, _, err := f.tr.Reservations(f.ctx, f.ws.Sid, taskrouter.ReservationFilter{TaskSid: t.Sid, ReservationStatus: "pending"},
		taskrouter.Page{Limit: 5})
	f.must(err)
	if len(rs) != 1 {
		f.t.Fatalf("task %s has %d offers, want 1", t.Sid, len(rs))
	}
	accepted := taskrouter.ReservationAccepted
	_, err = f.tr.UpdateReservation(f.ctx, f.ws.Sid, rs[0].Sid, taskrouter.ReservationParams{ReservationStatus: &accepted})
	f.must(err)
}

// move cancels, wraps or completes a task.
func (f *qFixture) move(t taskrouter.Task, status string) {
	f.t.Helper()
	reason := "test"
	_, err := f.tr.UpdateTask(f.ctx, f.ws.Sid, t.Sid, taskrouter.TaskParams{AssignmentStatus: &status, Reason: &reason})
	f.must(err)
}

// thresholds sets a task channel's service level and short-abandon threshold.
func (f *qFixture) thresholds(channel string, level, short int) {
	f.t.Helper()
	f.must(f.d.Gorm.Model(&taskrouter.TaskChannel{}).Where("workspace_sid = ? AND unique_name = ?", f.ws.Sid, channel).
		Updates(map[string]any{"service_level_seconds": level, "short_abandon_seconds": short}).Error)
}

// qDay scripts a day of two queues. The server's zone is UTC+2 and the
// clock ends at 10:00 local (08:00 UTC); midnight was 22:00 UTC the day
// before, and the last 30 minutes began at 07:30 UTC. Chat's service level
// is 60 s with 10 s short abandons; SMS's 30 s with 20 s.
func qDay(t *testing.T, d *db.DB) (*qFixture, map[string]taskrouter.Task) {
	utc := func(day, h, m, s int) time.Time { return time.Date(2026, 3, day, h, m, s, 0, time.UTC).In(qZone) }
	f := qNewFixture(t, d, utc(9, 20, 0, 0))
	f.thresholds("chat", 60, 10)
	f.thresholds("sms", 30, 20)
	big := map[string]int{"chat": 10, "sms": 10}
	f.agent("ann", "Available", map[string]any{"full_name": "Ann Lee", "team_name": "Blue", "routing": map[string]any{"skills": []string{"support"}}}, big)
	f.agent("bob", "Available", map[string]any{"full_name": "Bob Ray", "team_name": "Red", "routing": map[string]any{"skills": []string{"support", "sales"}}}, big)
	f.agent("cat", "Offline", map[string]any{"full_name": "Cat Dunn", "team_name": "Blue", "routing": map[string]any{"skills": []string{"support"}}}, map[string]int{"sms": 0})
	f.agent("dan", "Break", map[string]any{"full_name": "Dan Oak", "team_name": "Red", "routing": map[string]any{"skills": []string{"sales"}}}, nil)

	tasks := map[string]taskrouter.Task{}
	// enter creates a task at a time; then, after wait seconds, what
	// happens to it (accepted, canceled, or nothing yet).
	type step struct {
		name, channel string
		day, h, m     int
		wait          int
		then          string // accept, cancel, ""
		attrs         map[string]any
	}
	script := []step{
		{"s1", "chat", 9, 21, 50, 30, "accept", nil}, // yesterday (local 23:50): not today's
		{"s2", "chat", 9, 22, 10, 30, "accept", nil}, // today 00:10 local: met
		{"s3", "chat", 10, 6, 0, 90, "accept", nil},  // not met
		{"s4", "chat", 10, 6, 10, 5, "cancel", nil},  // short abandon
		{"s5", "chat", 10, 6, 20, 40, "cancel", nil}, // abandoned
		{"m2", "sms", 10, 7, 0, 15, "cancel", nil},   // short abandon on SMS (it would count on chat)
		{"x1", "chat", 10, 7, 0, 70, "accept", map[string]any{"q": "sales", "customerName": "Xena", "conversationSid": "CH00000000000000000000000000000001"}},
		{"s10", "chat", 10, 7, 32, 10, "accept", nil}, // recent, met
		{"m1", "sms", 10, 7, 35, 45, "accept", nil},   // recent, not met on SMS (met on chat)
		{"s6", "chat", 10, 7, 40, 20, "accept", nil},  // recent, met
		{"s7", "chat", 10, 7, 45, 15, "cancel", nil},  // recent, abandoned
		{"s8", "chat", 10, 7, 50, 0, "", nil},         // waits
		{"s9", "chat", 10, 7, 55, 0, "", nil},         // waits
	}
	for _, s := range script {
		f.at(utc(s.day, s.h, s.m, 0))
		attrs := s.attrs
		if attrs == nil {
			attrs = map[string]any{"n": s.name}
		}
		tk := f.task(s.channel, attrs)
		tasks[s.name] = tk
		if s.then == "" {
			continue
		}
		f.at(utc(s.day, s.h, s.m, s.wait))
		if s.then == "accept" {
			f.accept(tk)
		} else {
			f.move(tk, taskrouter.TaskCanceled)
		}
	}
	f.at(utc(10, 7, 59, 0))
	f.move(tasks["s1"], taskrouter.TaskCompleted)
	f.move(tasks["s2"], taskrouter.TaskCompleted)
	f.move(tasks["s3"], taskrouter.TaskWrapping)
	f.at(utc(10, 8, 0, 0))
	return f, tasks
}

func TestQueuesCountEveryColumnOfAScriptedDay(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f, tasks := qDay(t, d)
		s8, err := f.tr.Task(f.ctx, f.ws.Sid, tasks["s8"].Sid)
		f.must(err)
		if s8.TaskQueueEnteredDate == nil {
			t.Fatal("s8 never entered a queue")
		}

		v, err := f.s.Queues(f.ctx, f.ws.Sid, QueueFilter{})
		f.must(err)
		rows := map[string]QueueRow{}
		for _, r := range v.Queues {
			rows[r.Name] = r
		}
		support, sales := rows["Support"], rows["Sales"]
		if support.LongestSince == nil || v.Summary.LongestSince == nil {
			t.Fatalf("nothing waits in Support: %+v, %+v", support, v.Summary)
		}
		qWant(t, "queues in name order", []string{v.Queues[0].Name, v.Queues[1].Name}, []string{"Sales", "Support"})

		// Support: s2 completed; s3 wrapping; s6, s10, m1 assigned; s8, s9 waiting.
		qWant(t, "Support active, waiting", [2]int{support.Active, support.Waiting}, [2]int{4, 2})
		qWant(t, "Support longest wait since", support.LongestSince.UTC(), s8.TaskQueueEnteredDate.UTC())
		qWant(t, "Support agents available/unavailable/offline", [3]int{support.Available, support.Unavailable, support.Offline}, [3]int{2, 0, 1})
		// Today: handled s2 s3 s10 m1 s6, of which s2 s10 s6 met; abandoned s5 s7 (s4 and m2 were short).
		qWant(t, "Support handled, abandoned", [2]int{support.Handled, support.Abandoned}, [2]int{5, 2})
		qWant(t, "Support SLA today", support.SLAToday, Ratio{Met: 3, Of: 7})
		// Last 30 minutes: s10 and s6 met, m1 not, s7 abandoned.
		qWant(t, "Support SLA last 30 minutes", support.SLARecent, Ratio{Met: 2, Of: 4})

		qWant(t, "Sales active, waiting, longest", [2]int{sales.Active, sales.Waiting}, [2]int{1, 0})
		if sales.LongestSince != nil {
			t.Errorf("Sales longest wait = %v, want none", sales.LongestSince)
		}
		qWant(t, "Sales agents", [3]int{sales.Available, sales.Unavailable, sales.Offline}, [3]int{1, 1, 0})
		qWant(t, "Sales handled, abandoned", [2]int{sales.Handled, sales.Abandoned}, [2]int{1, 0})
		qWant(t, "Sales SLA today", sales.SLAToday, Ratio{Met: 0, Of: 1})
		if _, ok := sales.SLARecent.Percent(); ok {
			t.Errorf("Sales SLA last 30 minutes = %+v, want nothing to measure", sales.SLARecent)
		}

		qWant(t, "summary", QueueSummary{Waiting: v.Summary.Waiting, Active: v.Summary.Active, AgentsAvailable: v.Summary.AgentsAvailable,
			SLAToday: v.Summary.SLAToday, AbandonedToday: v.Summary.AbandonedToday},
			QueueSummary{Waiting: 2, Active: 5, AgentsAvailable: 2, SLAToday: Ratio{Met: 3, Of: 8}, AbandonedToday: 2})
		qWant(t, "summary longest wait", v.Summary.LongestSince.UTC(), s8.TaskQueueEnteredDate.UTC())
		if p, _ := v.Summary.SLAToday.Percent(); p != 38 {
			t.Errorf("summary SLA = %d%%, want 38%% (3 of 8)", p)
		}

		// SMS only: m1 handled late, m2 a short abandon; cat has no SMS capacity.
		sms, err := f.s.Queues(f.ctx, f.ws.Sid, QueueFilter{Channel: "sms", Queue: "Support"})
		f.must(err)
		if len(sms.Queues) != 1 {
			t.Fatalf("SMS Support rows = %+v", sms.Queues)
		}
		r := sms.Queues[0]
		qWant(t, "SMS Support active, waiting", [2]int{r.Active, r.Waiting}, [2]int{1, 0})
		qWant(t, "SMS Support agents", [3]int{r.Available, r.Unavailable, r.Offline}, [3]int{2, 0, 0})
		qWant(t, "SMS Support handled, abandoned", [2]int{r.Handled, r.Abandoned}, [2]int{1, 0})
		qWant(t, "SMS Support SLA", [2]Ratio{r.SLAToday, r.SLARecent}, [2]Ratio{{0, 1}, {0, 1}})

		// Half an hour later nothing new happened: the recent window is empty.
		f.at(f.now.Add(40 * time.Minute))
		later, err := f.s.Queues(f.ctx, f.ws.Sid, QueueFilter{Queue: "Support"})
		f.must(err)
		qWant(t, "Support SLA 40 minutes later", [2]Ratio{later.Queues[0].SLAToday, later.Queues[0].SLARecent}, [2]Ratio{{3, 7}, {0, 0}})
	})
}

func TestQueuesSortByAnyColumnAndRefuseUnknownFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f, _ := qDay(t, d)
		names := func(fl QueueFilter) []string {
			t.Helper()
			v, err := f.s.Queues(f.ctx, f.ws.Sid, fl)
			f.must(err)
			var out []string
			for _, r := range v.Queues {
				out = append(out, r.Name)
			}
			return out
		}
		for _, c := range []struct {
			col  string
			desc bool
			want []string
		}{
			{"", false, []string{"Sales", "Support"}},
			{QueueColName, true, []string{"Support", "Sales"}},
			{QueueColWaiting, true, []string{"Support", "Sales"}},
			{QueueColWaiting, false, []string{"Sales", "Support"}},
			{QueueColActive, false, []string{"Sales", "Support"}},
			{QueueColLongest, true, []string{"Support", "Sales"}},
			{QueueColUnavailable, true, []string{"Sales", "Support"}},
			{QueueColOffline, true, []string{"Support", "Sales"}},
			{QueueColAvailable, true, []string{"Support", "Sales"}},
			{QueueColSLAToday, true, []string{"Support", "Sales"}},
			{QueueColSLARecent, false, []string{"Sales", "Support"}}, // nothing to measure sorts lowest
			{QueueColHandled, true, []string{"Support", "Sales"}},
			{QueueColAbandoned, false, []string{"Sales", "Support"}},
		} {
			qWant(t, "sorted by "+c.col, names(QueueFilter{Sort: c.col, Desc: c.desc}), c.want)
		}
		for _, bad := range []QueueFilter{{Sort: "color"}, {Channel: "fax"}} {
			if _, err := f.s.Queues(f.ctx, f.ws.Sid, bad); errs.KindOf(err) != errs.Invalid {
				t.Errorf("Queues(%+v) = %v, want invalid", bad, err)
			}
		}
	})
}

func qWant[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %+v, want %+v", what, got, want)
	}
}

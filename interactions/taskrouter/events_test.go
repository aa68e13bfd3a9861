package taskrouter

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// events lists the fixture's events matching f, every page.
func (f *fixture) events(filter EventFilter) []Event {
	f.t.Helper()
	rows, more, err := f.e.Events(f.ctx, f.ws.Sid, filter, Page{Limit: 1000})
	f.must(err)
	if more {
		f.t.Fatal("more than a thousand events")
	}
	return rows
}

// typesOf lists the types of events, sorted: events of one routing pass
// share a timestamp, so their order is the order of their SIDs.
func typesOf(evs []Event) []string {
	out := make([]string, len(evs))
	for i, ev := range evs {
		out[i] = ev.EventType
	}
	slices.Sort(out)
	return out
}

// belongsTo tells, as the statistics see it, whether ev belongs to the
// queue, workflow and channel (empty: any): by its own columns, else by
// its reservation's creation, else by its task's creation.
func belongsTo(all []Event, ev Event, queue, workflow, channel string) bool {
	var created, reserved Event
	for _, o := range all {
		switch {
		case o.EventType == "task.created" && o.TaskSid == ev.TaskSid:
			created = o
		case o.EventType == "reservation.created" && ev.ReservationSid != "" && o.ReservationSid == ev.ReservationSid:
			reserved = o
		}
	}
	pick := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	return (queue == "" || pick(ev.TaskQueueSid, reserved.TaskQueueSid) == queue) &&
		(workflow == "" || pick(ev.WorkflowSid, reserved.WorkflowSid, created.WorkflowSid) == workflow) &&
		(channel == "" || pick(ev.TaskChannel, reserved.TaskChannel, created.TaskChannel) == channel)
}

func TestEventHistoryFilters(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("Support", "1==1", 1, "FIFO")
		wf := f.workflow(map[string]any{"task_routing": map[string]any{"default_filter": map[string]any{"queue": q.Sid}}}, 120)
		f.worker("ana", nil, true, nil)
		old := f.task(nil, 0)
		f.advance(20 * time.Minute) // old's creation leaves the default window
		task := f.task(nil, 0)
		f.advance(time.Second)
		f.route() // old is offered first (FIFO)
		offer := f.offers(old.Sid)["ana"]
		f.advance(time.Second)
		f.answer(offer, ReservationRejected)

		hour := 60
		everything := f.events(EventFilter{Window: Window{Minutes: &hour}})
		if !slices.IsSortedFunc(everything, func(a, b Event) int { return a.EventDate.Compare(b.EventDate) }) {
			t.Error("events are not oldest first")
		}
		// want lists the events of the default window that match.
		want := func(match func(Event) bool) []string {
			var out []Event
			for _, ev := range everything {
				if !ev.EventDate.Before(f.now.Add(-15*time.Minute)) && match(ev) {
					out = append(out, ev)
				}
			}
			return typesOf(out)
		}
		all := f.events(EventFilter{})
		wantEqual(t, "the last 15 minutes", typesOf(all), want(func(Event) bool { return true }))
		if len(all) == len(everything) || !slices.Contains(typesOf(all), "reservation.rejected") || all[0].EventDate.Before(f.now.Add(-15*time.Minute)) {
			t.Errorf("the default window is not the last fifteen minutes: %v of %v", typesOf(all), typesOf(everything))
		}

		for name, c := range map[string]struct {
			filter EventFilter
			match  func(Event) bool
		}{
			"task":        {EventFilter{TaskSid: old.Sid}, func(ev Event) bool { return ev.TaskSid == old.Sid }},
			"type":        {EventFilter{EventType: "reservation.created"}, func(ev Event) bool { return ev.EventType == "reservation.created" }},
			"reservation": {EventFilter{ReservationSid: offer.Sid}, func(ev Event) bool { return ev.ReservationSid == offer.Sid }},
			"worker":      {EventFilter{WorkerSid: offer.WorkerSid}, func(ev Event) bool { return ev.WorkerSid == offer.WorkerSid }},
			"sid":         {EventFilter{Sid: all[1].Sid}, func(ev Event) bool { return ev.Sid == all[1].Sid }},
			"queue":       {EventFilter{TaskQueueSid: q.Sid}, func(ev Event) bool { return belongsTo(everything, ev, q.Sid, "", "") }},
			"workflow":    {EventFilter{WorkflowSid: wf.Sid}, func(ev Event) bool { return belongsTo(everything, ev, "", wf.Sid, "") }},
			"channel":     {EventFilter{TaskChannel: "chat"}, func(ev Event) bool { return belongsTo(everything, ev, "", "", "chat") }},
			"channel SID": {EventFilter{TaskChannel: f.channel["chat"]}, func(ev Event) bool { return belongsTo(everything, ev, "", "", "chat") }},
			"sms":         {EventFilter{TaskChannel: "sms"}, func(Event) bool { return false }},
			"two filters": {EventFilter{TaskSid: task.Sid, EventType: "reservation.created"}, func(Event) bool { return false }},
		} {
			wantEqual(t, "by "+name, typesOf(f.events(c.filter)), want(c.match))
		}
		// The rejection names neither queue, workflow nor channel; its
		// reservation's creation does.
		for _, filter := range []EventFilter{{TaskQueueSid: q.Sid}, {WorkflowSid: wf.Sid}, {TaskChannel: "chat"}} {
			if !slices.Contains(typesOf(f.events(filter)), "reservation.rejected") {
				t.Errorf("%+v misses the rejection", filter)
			}
		}

		page, more, err := f.e.Events(f.ctx, f.ws.Sid, EventFilter{}, Page{Offset: 1, Limit: 2})
		f.must(err)
		wantEqual(t, "second page", page, all[1:3])
		wantEqual(t, "more after the second page", more, len(all) > 3)

		ev, err := f.e.Event(f.ctx, f.ws.Sid, all[0].Sid)
		f.must(err)
		wantEqual(t, "fetched event", ev.Sid, all[0].Sid)
		if _, err := f.e.Event(f.ctx, f.ws.Sid, "EV00000000000000000000000000000000"); errs.KindOf(err) != errs.NotFound {
			t.Errorf("fetching an unknown event: %v", err)
		}
		if _, _, err := f.e.Events(f.ctx, f.ws.Sid, EventFilter{Window: Window{Minutes: &hour, StartDate: &f.now}},
			Page{Limit: 10}); errs.KindOf(err) != errs.Invalid {
			t.Errorf("Minutes with StartDate: %v", err)
		}
		if _, _, err := f.e.Events(f.ctx, "WS00000000000000000000000000000000", EventFilter{}, Page{Limit: 10}); errs.KindOf(err) != errs.NotFound {
			t.Errorf("events of an unknown workspace: %v", err)
		}
	})
}

func TestEventPurgeKeepsThirtyDays(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		at := func(age time.Duration) Event {
			ev := Event{Sid: sid.New(sid.Event), WorkspaceSid: f.ws.Sid, EventType: "task.created", EventDate: f.now.Add(-age), EventData: "{}"}
			f.must(d.Gorm.Create(&ev).Error)
			return ev
		}
		expired, kept := at(EventRetention+time.Minute), at(EventRetention-time.Minute)
		f.must(f.e.RegisterEventPurge(f.ctx, f.jobs))
		f.must(f.e.RegisterEventPurge(f.ctx, f.jobs)) // every node registers; one job
		f.advance(0)
		if _, err := f.e.Event(f.ctx, f.ws.Sid, expired.Sid); errs.KindOf(err) != errs.NotFound {
			t.Errorf("an event older than thirty days survived the purge: %v", err)
		}
		if _, err := f.e.Event(f.ctx, f.ws.Sid, kept.Sid); err != nil {
			t.Errorf("a younger event was purged: %v", err)
		}
		var pending []jobs.Job
		f.must(d.Gorm.Where("kind = ? AND status = ?", jobEventPurge, jobs.StatusPending).Find(&pending).Error)
		if len(pending) != 1 || !pending[0].RunAt.Equal(f.now.Add(eventPurgeEvery)) {
			t.Fatalf("pending purge jobs = %+v, want one due in an hour", pending)
		}
		f.advance(2 * time.Minute) // kept is now too old, but the purge waits for its hour
		if _, err := f.e.Event(f.ctx, f.ws.Sid, kept.Sid); err != nil {
			t.Errorf("purged before the hour: %v", err)
		}
		f.advance(time.Hour)
		if _, err := f.e.Event(f.ctx, f.ws.Sid, kept.Sid); errs.KindOf(err) != errs.NotFound {
			t.Errorf("the hourly purge did not run: %v", err)
		}
	})
}

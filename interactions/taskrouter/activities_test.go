package taskrouter

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestActivitiesCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.tick()
		lunch, err := f.e.CreateActivity(f.ctx, f.ws.Sid, ActivityParams{FriendlyName: ptr("Lunch")})
		f.must(err)
		if lunch.Available || lunch.WorkspaceSid != f.ws.Sid || len(lunch.Sid) != 34 {
			t.Fatalf("created = %+v", lunch)
		}
		hasEvent(t, f, f.ws.Sid, lunch.Sid, "activity.created")
		f.tick()
		chat, err := f.e.CreateActivity(f.ctx, f.ws.Sid, ActivityParams{FriendlyName: ptr("Chatting"), Available: ptr(true)})
		f.must(err)

		before := rowCounts(t, d, "")
		_, err = f.e.CreateActivity(f.ctx, f.ws.Sid, ActivityParams{FriendlyName: ptr("Lunch"), Available: ptr(true)})
		wantError(t, err, errs.Conflict, "Lunch")
		_, err = f.e.CreateActivity(f.ctx, f.ws.Sid, ActivityParams{})
		wantError(t, err, errs.Invalid, "FriendlyName")
		_, err = f.e.CreateActivity(f.ctx, "WS00000000000000000000000000000000", ActivityParams{FriendlyName: ptr("x")})
		wantError(t, err, errs.NotFound, "WS00000000000000000000000000000000")
		_, err = f.e.UpdateActivity(f.ctx, f.ws.Sid, lunch.Sid, ActivityParams{Available: ptr(true)})
		wantError(t, err, errs.Invalid, "Available")
		_, err = f.e.UpdateActivity(f.ctx, f.ws.Sid, lunch.Sid, ActivityParams{FriendlyName: ptr("Break")})
		wantError(t, err, errs.Conflict, "Break")
		wantUnchanged(t, d, before)

		all, more, err := f.e.Activities(f.ctx, f.ws.Sid, ActivityFilter{}, Page{Limit: 5})
		if err != nil || len(all) != 5 || !more {
			t.Fatalf("page = %d more=%v, %v", len(all), more, err)
		}
		rest, more, err := f.e.Activities(f.ctx, f.ws.Sid, ActivityFilter{}, Page{Offset: 5, Limit: 5})
		if err != nil || len(rest) != 1 || more || rest[0].Sid != chat.Sid {
			t.Fatalf("second page = %+v more=%v, %v", rest, more, err)
		}
		avail, _, err := f.e.Activities(f.ctx, f.ws.Sid, ActivityFilter{Available: ptr(true)}, Page{Limit: 50})
		if err != nil || len(avail) != 2 {
			t.Fatalf("available = %+v, %v", avail, err)
		}
		byName, _, err := f.e.Activities(f.ctx, f.ws.Sid, ActivityFilter{FriendlyName: "Lunch"}, Page{Limit: 50})
		if err != nil || len(byName) != 1 || byName[0].Sid != lunch.Sid {
			t.Fatalf("by name = %+v, %v", byName, err)
		}

		up, err := f.e.UpdateActivity(f.ctx, f.ws.Sid, lunch.Sid, ActivityParams{FriendlyName: ptr("Long lunch")})
		if err != nil || up.FriendlyName != "Long lunch" || up.Available {
			t.Fatalf("update = %+v, %v", up, err)
		}
		hasEvent(t, f, f.ws.Sid, lunch.Sid, "activity.updated")
		got, err := f.e.Activity(f.ctx, f.ws.Sid, lunch.Sid)
		if err != nil || got.FriendlyName != "Long lunch" {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		_, err = f.e.Activity(f.ctx, f.ws.Sid, "WA00000000000000000000000000000000")
		wantError(t, err, errs.NotFound, "WA00000000000000000000000000000000")

		f.must(f.e.DeleteActivity(f.ctx, f.ws.Sid, chat.Sid))
		_, err = f.e.Activity(f.ctx, f.ws.Sid, chat.Sid)
		wantError(t, err, errs.NotFound, chat.Sid)
		hasEvent(t, f, f.ws.Sid, chat.Sid, "activity.deleted")
	})
}

func TestAnActivityInUseCannotBeDeleted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		wantError(t, f.e.DeleteActivity(f.ctx, f.ws.Sid, f.activity["Offline"]), errs.Invalid, "default activity")
		_, err := f.e.UpdateWorkspace(f.ctx, f.ws.Sid, WorkspaceParams{DefaultActivitySid: ptr(f.activity["Available"])})
		f.must(err)
		wantError(t, f.e.DeleteActivity(f.ctx, f.ws.Sid, f.activity["Offline"]), errs.Invalid, "timeout activity")

		w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("alice"), ActivitySid: ptr(f.activity["Break"])})
		f.must(err)
		wantError(t, f.e.DeleteActivity(f.ctx, f.ws.Sid, f.activity["Break"]), errs.Conflict, "workers")
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, w.Sid, WorkerParams{ActivitySid: ptr(f.activity["Offline"])})
		f.must(err)

		_, err = f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Q"), AssignmentActivitySid: ptr(f.activity["Break"])})
		f.must(err)
		wantError(t, f.e.DeleteActivity(f.ctx, f.ws.Sid, f.activity["Break"]), errs.Conflict, "task queues")
		if _, err := f.e.Activity(f.ctx, f.ws.Sid, f.activity["Break"]); err != nil {
			t.Fatalf("a refused delete removed the activity: %v", err)
		}
		f.must(f.e.DeleteActivity(f.ctx, f.ws.Sid, f.activity["Unavailable"]))
		wantError(t, f.e.DeleteActivity(f.ctx, f.ws.Sid, f.activity["Unavailable"]), errs.NotFound, f.activity["Unavailable"])
	})
}

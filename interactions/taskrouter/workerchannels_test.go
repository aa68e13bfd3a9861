package taskrouter

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestWorkerChannels(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("alice")})
		f.must(err)
		other, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("bob")})
		f.must(err)

		page, more, err := f.e.WorkerChannels(f.ctx, f.ws.Sid, w.Sid, Page{Limit: 3})
		if err != nil || len(page) != 3 || !more {
			t.Fatalf("first page = %d more=%v, %v", len(page), more, err)
		}
		rest, more, err := f.e.WorkerChannels(f.ctx, f.ws.Sid, w.Sid, Page{Offset: 3, Limit: 3})
		if err != nil || len(rest) != 2 || more {
			t.Fatalf("second page = %d more=%v, %v", len(rest), more, err)
		}
		_, _, err = f.e.WorkerChannels(f.ctx, f.ws.Sid, "WK00000000000000000000000000000000", Page{Limit: 3})
		wantError(t, err, errs.NotFound, "WK00000000000000000000000000000000")

		chat, err := f.e.WorkerChannel(f.ctx, f.ws.Sid, w.Sid, "chat")
		f.must(err)
		for _, key := range []string{chat.Sid, f.channel["chat"]} {
			got, err := f.e.WorkerChannel(f.ctx, f.ws.Sid, w.Sid, key)
			if err != nil || got.Sid != chat.Sid {
				t.Fatalf("by %s = %+v, %v", key, got, err)
			}
		}
		for _, key := range []string{"fax", "WC00000000000000000000000000000000"} {
			_, err := f.e.WorkerChannel(f.ctx, f.ws.Sid, w.Sid, key)
			wantError(t, err, errs.NotFound, key)
		}
		_, err = f.e.WorkerChannel(f.ctx, f.ws.Sid, other.Sid, chat.Sid)
		wantError(t, err, errs.NotFound, chat.Sid)

		before := rowCounts(t, d, "")
		for _, c := range []int{-1, MaxChannelCapacity + 1} {
			_, err := f.e.UpdateWorkerChannel(f.ctx, f.ws.Sid, w.Sid, "chat", WorkerChannelParams{Capacity: &c})
			wantError(t, err, errs.Invalid, "Capacity")
		}
		_, err = f.e.UpdateWorkerChannel(f.ctx, f.ws.Sid, w.Sid, "fax", WorkerChannelParams{Capacity: ptr(2)})
		wantError(t, err, errs.NotFound, "fax")
		wantUnchanged(t, d, before)

		f.tick()
		up, err := f.e.UpdateWorkerChannel(f.ctx, f.ws.Sid, w.Sid, "chat", WorkerChannelParams{Capacity: ptr(4)})
		if err != nil || up.Capacity != 4 || !up.Available {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if ev := events(t, f, f.ws.Sid, w.Sid); ev[len(ev)-1] != "worker.capacity.update" {
			t.Fatalf("events = %v", ev)
		}
		f.tick()
		up, err = f.e.UpdateWorkerChannel(f.ctx, f.ws.Sid, w.Sid, chat.Sid, WorkerChannelParams{Available: ptr(false), Capacity: ptr(4)})
		if err != nil || up.Capacity != 4 || up.Available {
			t.Fatalf("update = %+v, %v", up, err)
		}
		if ev := events(t, f, f.ws.Sid, w.Sid); ev[len(ev)-1] != "worker.channel.availability.update" || ev[len(ev)-2] != "worker.capacity.update" {
			t.Fatalf("an unchanged capacity was recorded again, or the availability change was not: %v", ev)
		}
		got, _ := f.e.WorkerChannel(f.ctx, f.ws.Sid, w.Sid, "chat")
		if got.Capacity != 4 || got.Available {
			t.Fatalf("stored = %+v", got)
		}
	})
}

func TestAvailableCapacityPercentage(t *testing.T) {
	for _, tc := range []struct{ capacity, used, want int }{
		{1, 0, 100}, {4, 1, 75}, {3, 1, 66}, {2, 2, 0}, {0, 0, 0}, {1, 3, 0},
	} {
		if got := (WorkerChannel{Capacity: tc.capacity, Used: tc.used}).AvailableCapacityPercentage(); got != tc.want {
			t.Errorf("capacity %d used %d: %d%%, want %d%%", tc.capacity, tc.used, got, tc.want)
		}
	}
}

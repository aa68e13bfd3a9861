package taskrouter

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func namesOf(ws []Worker) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.FriendlyName
	}
	return out
}

func TestCreatingAWorker(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		other, err := f.e.CreateWorkspace(f.ctx, WorkspaceParams{FriendlyName: ptr("Other")}, nil)
		f.must(err)
		before := rowCounts(t, d, "")
		for _, tc := range []struct {
			name string
			p    WorkerParams
			kind errs.Kind
			want string
		}{
			{"no name", WorkerParams{}, errs.Invalid, "FriendlyName"},
			{"name over 64", WorkerParams{FriendlyName: ptr(strings.Repeat("w", 65))}, errs.Invalid, "FriendlyName"},
			{"attributes not an object", WorkerParams{FriendlyName: ptr("w"), Attributes: ptr(`["a"]`)}, errs.Invalid, "Attributes"},
			{"attributes not JSON", WorkerParams{FriendlyName: ptr("w"), Attributes: ptr(`{nope`)}, errs.Invalid, "Attributes"},
			{"attributes too large", WorkerParams{FriendlyName: ptr("w"),
				Attributes: ptr(`{"a":"` + strings.Repeat("x", MaxWorkerAttributes) + `"}`)}, errs.TooLarge, "4096"},
			{"activity of another workspace", WorkerParams{FriendlyName: ptr("w"), ActivitySid: &other.DefaultActivitySid}, errs.Invalid, "ActivitySid"},
			{"empty activity", WorkerParams{FriendlyName: ptr("w"), ActivitySid: ptr("")}, errs.Invalid, "ActivitySid"},
			{"reject on create", WorkerParams{FriendlyName: ptr("w"), RejectPendingReservations: ptr(true)}, errs.Invalid, "RejectPendingReservations"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.CreateWorker(f.ctx, f.ws.Sid, tc.p)
				wantError(t, err, tc.kind, tc.want)
			})
		}
		wantUnchanged(t, d, before)

		alice, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("Alice")})
		f.must(err)
		if alice.ActivitySid != f.activity["Offline"] || alice.Available || alice.Attributes != "{}" {
			t.Fatalf("created = %+v", alice)
		}
		hasEvent(t, f, f.ws.Sid, alice.Sid, "worker.created")
		wcs, _, err := f.e.WorkerChannels(f.ctx, f.ws.Sid, alice.Sid, Page{Limit: 50})
		if err != nil || len(wcs) != 5 {
			t.Fatalf("channels = %+v, %v", wcs, err)
		}
		for _, wc := range wcs {
			if wc.Capacity != 1 || !wc.Available || wc.Used != 0 || wc.Assigned != 0 {
				t.Fatalf("channel = %+v", wc)
			}
		}
		_, err = f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("ALICE")})
		wantError(t, err, errs.Conflict, "ALICE")

		bob, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("bob"), ActivitySid: ptr(f.activity["Available"]),
			Attributes: ptr(`{"routing":{"skills":["billing"]}}`)})
		f.must(err)
		if !bob.Available || bob.Attributes != `{"routing":{"skills":["billing"]}}` {
			t.Fatalf("created = %+v", bob)
		}
		got, err := f.e.Worker(f.ctx, f.ws.Sid, bob.Sid)
		if err != nil || got.FriendlyName != "bob" {
			t.Fatalf("fetch = %+v, %v", got, err)
		}
		_, err = f.e.Worker(f.ctx, other.Sid, bob.Sid)
		wantError(t, err, errs.NotFound, bob.Sid)
	})
}

func TestListingWorkersByActivityNameAndExpression(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		mk := func(name, activity, attrs string) Worker {
			f.tick()
			w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: &name, ActivitySid: ptr(f.activity[activity]), Attributes: &attrs})
			f.must(err)
			return w
		}
		mk("ann", "Available", `{"routing":{"skills":["billing","sales"]},"level":3}`)
		mk("ben", "Offline", `{"routing":{"skills":["billing"]},"level":1}`)
		carl := mk("carl", "Available", `{"routing":{"skills":["support"]}}`)
		mk("dora", "Break", `{}`)
		billing, err := f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Billing"), TargetWorkers: ptr("routing.skills HAS 'billing'")})
		f.must(err)
		_, err = f.e.CreateTaskQueue(f.ctx, f.ws.Sid, TaskQueueParams{FriendlyName: ptr("Parked"), TargetWorkers: ptr("")})
		f.must(err)
		_, err = f.e.UpdateWorkerChannel(f.ctx, f.ws.Sid, carl.Sid, "voice", WorkerChannelParams{Capacity: ptr(0)})
		f.must(err)

		for _, tc := range []struct {
			name string
			f    WorkerFilter
			want []string
		}{
			{"all", WorkerFilter{}, []string{"ann", "ben", "carl", "dora"}},
			{"activity name", WorkerFilter{ActivityName: "Available"}, []string{"ann", "carl"}},
			{"activity sid", WorkerFilter{ActivitySid: f.activity["Break"]}, []string{"dora"}},
			{"unavailable", WorkerFilter{Available: ptr(false)}, []string{"ben", "dora"}},
			{"name, any case", WorkerFilter{FriendlyName: "BEN"}, []string{"ben"}},
			{"expression", WorkerFilter{TargetWorkersExpression: "routing.skills HAS 'billing' AND level > 2"}, []string{"ann"}},
			{"expression on state", WorkerFilter{TargetWorkersExpression: "worker.activity_name == 'Available' AND worker.channel.voice.configured_capacity == 0"}, []string{"carl"}},
			{"queue by sid", WorkerFilter{TaskQueueSid: billing.Sid}, []string{"ann", "ben"}},
			{"queue by name and available", WorkerFilter{TaskQueueName: "Billing", Available: ptr(true)}, []string{"ann"}},
			{"queue and expression", WorkerFilter{TaskQueueSid: billing.Sid, TargetWorkersExpression: "level == 1"}, []string{"ben"}},
			{"queue without target", WorkerFilter{TaskQueueName: "Parked"}, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				got, more, err := f.e.Workers(f.ctx, f.ws.Sid, tc.f, Page{Limit: 50})
				if err != nil || more || !slices.Equal(namesOf(got), tc.want) {
					t.Fatalf("workers = %v more=%v, %v; want %v", namesOf(got), more, err, tc.want)
				}
			})
		}
		// Paging through a filtered list.
		got, more, err := f.e.Workers(f.ctx, f.ws.Sid, WorkerFilter{TargetWorkersExpression: "1==1"}, Page{Offset: 1, Limit: 2})
		if err != nil || !more || !slices.Equal(namesOf(got), []string{"ben", "carl"}) {
			t.Fatalf("page = %v more=%v, %v", namesOf(got), more, err)
		}
		got, more, err = f.e.Workers(f.ctx, f.ws.Sid, WorkerFilter{}, Page{Offset: 2, Limit: 2})
		if err != nil || more || !slices.Equal(namesOf(got), []string{"carl", "dora"}) {
			t.Fatalf("last page = %v more=%v, %v", namesOf(got), more, err)
		}

		_, _, err = f.e.Workers(f.ctx, f.ws.Sid, WorkerFilter{TargetWorkersExpression: "routing.skills HAS"}, Page{Limit: 50})
		wantError(t, err, errs.Invalid, "position 19")
		_, _, err = f.e.Workers(f.ctx, f.ws.Sid, WorkerFilter{TaskQueueName: "Nope"}, Page{Limit: 50})
		wantError(t, err, errs.Invalid, "Nope")
	})
}

func TestUpdatingAWorker(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("alice")})
		f.must(err)
		_, err = f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("bob")})
		f.must(err)

		before := rowCounts(t, d, "")
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, w.Sid, WorkerParams{FriendlyName: ptr("Bob")})
		wantError(t, err, errs.Conflict, "Bob")
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, w.Sid, WorkerParams{Attributes: ptr("[]")})
		wantError(t, err, errs.Invalid, "Attributes")
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, w.Sid, WorkerParams{ActivitySid: ptr("WA00000000000000000000000000000000"),
			Attributes: ptr(`{"a":1}`)})
		wantError(t, err, errs.Invalid, "ActivitySid")
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, "WK00000000000000000000000000000000", WorkerParams{Attributes: ptr(`{}`)})
		wantError(t, err, errs.NotFound, "WK00000000000000000000000000000000")
		wantUnchanged(t, d, before)

		f.tick()
		up, err := f.e.UpdateWorker(f.ctx, f.ws.Sid, w.Sid, WorkerParams{FriendlyName: ptr("Alice"), Attributes: ptr(`{"level":2}`),
			ActivitySid: ptr(f.activity["Available"])})
		if err != nil || up.FriendlyName != "Alice" || up.Attributes != `{"level":2}` || up.ActivitySid != f.activity["Available"] ||
			!up.Available || !up.DateStatusChanged.Equal(f.now) {
			t.Fatalf("update = %+v, %v", up, err)
		}
		got, _ := f.e.Worker(f.ctx, f.ws.Sid, w.Sid)
		if got.FriendlyName != "Alice" || got.Attributes != `{"level":2}` || !got.Available {
			t.Fatalf("stored = %+v", got)
		}
		hasEvent(t, f, f.ws.Sid, w.Sid, "worker.attributes.update")
		hasEvent(t, f, f.ws.Sid, w.Sid, "worker.activity.update")
	})
}

func TestMovingToAnUnavailableActivityCanRejectPendingOffers(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		keep := f.worker("keep", nil, true, nil)
		drop := f.worker("drop", nil, true, nil)
		t1, t2 := f.task(nil, 0), f.task(nil, 0)
		if f.route() != 2 {
			t.Fatal("want one offer each")
		}
		// Without RejectPendingReservations the offer stays.
		_, err := f.e.UpdateWorker(f.ctx, f.ws.Sid, keep.Sid, WorkerParams{ActivitySid: ptr(f.activity["Break"])})
		f.must(err)
		// A move to an available activity leaves offers alone even when asked.
		_, err = f.e.UpdateWorker(f.ctx, f.ws.Sid, drop.Sid, WorkerParams{ActivitySid: ptr(f.activity["Available"]),
			RejectPendingReservations: ptr(true)})
		f.must(err)
		pending, _, err := f.e.Reservations(f.ctx, f.ws.Sid, ReservationFilter{ReservationStatus: ReservationPending}, Page{Limit: 10})
		if err != nil || len(pending) != 2 {
			t.Fatalf("pending = %+v, %v", pending, err)
		}
		up, err := f.e.UpdateWorker(f.ctx, f.ws.Sid, drop.Sid, WorkerParams{ActivitySid: ptr(f.activity["Offline"]),
			RejectPendingReservations: ptr(true)})
		if err != nil || up.Available {
			t.Fatalf("update = %+v, %v", up, err)
		}
		rs, _, err := f.e.Reservations(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: drop.Sid}, Page{Limit: 10})
		if err != nil || len(rs) != 1 || rs[0].ReservationStatus != ReservationRejected {
			t.Fatalf("drop's reservations = %+v, %v", rs, err)
		}
		rejected := rs[0].TaskSid
		if got := f.reload(Task{Sid: rejected}); got.AssignmentStatus != TaskPending {
			t.Fatalf("the rejected offer's task is %s, want pending again", got.AssignmentStatus)
		}
		other := t1.Sid
		if rejected == t1.Sid {
			other = t2.Sid
		}
		if got := f.reload(Task{Sid: other}); got.AssignmentStatus != TaskReserved {
			t.Fatalf("keep's task is %s, want still reserved", got.AssignmentStatus)
		}
		wc, _ := f.e.WorkerChannel(f.ctx, f.ws.Sid, drop.Sid, "chat")
		if wc.Used != 0 {
			t.Fatalf("drop's chat channel still uses %d", wc.Used)
		}
	})
}

func TestDeletingAWorker(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		busy := f.worker("busy", nil, true, nil)
		f.task(nil, 0)
		f.route()
		rs, _, _ := f.e.Reservations(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: busy.Sid}, Page{Limit: 10})
		_, err := f.e.UpdateReservation(f.ctx, f.ws.Sid, rs[0].Sid, ReservationParams{ReservationStatus: ptr(ReservationAccepted)})
		f.must(err)
		before := rowCounts(t, d, "")
		wantError(t, f.e.DeleteWorker(f.ctx, f.ws.Sid, busy.Sid), errs.Conflict, "assigned or wrapping")
		wantUnchanged(t, d, before)

		f.task(nil, 0)
		idle := f.worker("idle", nil, true, nil)
		f.route() // busy is full: the second task is offered to idle
		var waiting Task
		f.must(d.Gorm.Where("workspace_sid = ? AND assignment_status = ?", f.ws.Sid, TaskReserved).First(&waiting).Error)
		f.must(f.e.DeleteWorker(f.ctx, f.ws.Sid, idle.Sid))
		if got := f.reload(waiting); got.AssignmentStatus != TaskPending {
			t.Fatalf("the deleted worker's offered task is %s, want pending", got.AssignmentStatus)
		}
		_, err = f.e.Worker(f.ctx, f.ws.Sid, idle.Sid)
		wantError(t, err, errs.NotFound, idle.Sid)
		hasEvent(t, f, f.ws.Sid, idle.Sid, "worker.deleted")
		var left int64
		f.must(d.Gorm.Model(&WorkerChannel{}).Where("worker_sid = ?", idle.Sid).Count(&left).Error)
		if left != 0 {
			t.Fatalf("%d worker channels outlive their worker", left)
		}
		wantError(t, f.e.DeleteWorker(f.ctx, f.ws.Sid, idle.Sid), errs.NotFound, idle.Sid)
	})
}

func TestReservationsThroughTheirTaskOrWorker(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w := f.worker("w", nil, true, nil)
		other := f.worker("other", nil, false, nil)
		task := f.task(nil, 0)
		f.route()
		rs, _, err := f.e.ReservationsOf(f.ctx, f.ws.Sid, ReservationFilter{TaskSid: task.Sid}, Page{Limit: 10})
		if err != nil || len(rs) != 1 || rs[0].WorkerSid != w.Sid {
			t.Fatalf("task's reservations = %+v, %v", rs, err)
		}
		r := rs[0]
		for _, scope := range []ReservationFilter{{TaskSid: task.Sid}, {WorkerSid: w.Sid}} {
			got, err := f.e.ReservationOf(f.ctx, f.ws.Sid, scope, r.Sid)
			if err != nil || got.Sid != r.Sid {
				t.Fatalf("through %+v = %+v, %v", scope, got, err)
			}
		}
		_, err = f.e.ReservationOf(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: other.Sid}, r.Sid)
		wantError(t, err, errs.NotFound, r.Sid)
		_, err = f.e.UpdateReservationOf(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: other.Sid}, r.Sid,
			ReservationParams{ReservationStatus: ptr(ReservationAccepted)})
		wantError(t, err, errs.NotFound, r.Sid)
		_, _, err = f.e.ReservationsOf(f.ctx, f.ws.Sid, ReservationFilter{TaskSid: "WT00000000000000000000000000000000"}, Page{Limit: 10})
		wantError(t, err, errs.NotFound, "WT00000000000000000000000000000000")
		_, _, err = f.e.ReservationsOf(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: w.Sid, ReservationStatus: "maybe"}, Page{Limit: 10})
		wantError(t, err, errs.Invalid, "maybe")
		none, _, err := f.e.ReservationsOf(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: w.Sid, ReservationStatus: ReservationAccepted}, Page{Limit: 10})
		if err != nil || len(none) != 0 {
			t.Fatalf("accepted = %+v, %v", none, err)
		}
		acc, err := f.e.UpdateReservationOf(f.ctx, f.ws.Sid, ReservationFilter{WorkerSid: w.Sid}, r.Sid,
			ReservationParams{ReservationStatus: ptr(ReservationAccepted)})
		if err != nil || acc.ReservationStatus != ReservationAccepted {
			t.Fatalf("accept = %+v, %v", acc, err)
		}
	})
}

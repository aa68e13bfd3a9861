package taskrouter

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestTaskChannelsCRUD(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		alice, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("alice")})
		f.must(err)
		f.tick()

		before := rowCounts(t, d, "")
		for _, tc := range []struct {
			name string
			p    TaskChannelParams
			want string
		}{
			{"no name", TaskChannelParams{UniqueName: ptr("email")}, "FriendlyName"},
			{"no unique name", TaskChannelParams{FriendlyName: ptr("Email")}, "UniqueName"},
			{"long unique name", TaskChannelParams{FriendlyName: ptr("Email"), UniqueName: ptr(strings.Repeat("e", 65))}, "UniqueName"},
			{"SID-shaped", TaskChannelParams{FriendlyName: ptr("Email"), UniqueName: ptr("TC00000000000000000000000000000000")}, "SID"},
		} {
			_, err := f.e.CreateTaskChannel(f.ctx, f.ws.Sid, tc.p)
			wantError(t, err, errs.Invalid, tc.want)
		}
		_, err = f.e.CreateTaskChannel(f.ctx, f.ws.Sid, TaskChannelParams{FriendlyName: ptr("Chat again"), UniqueName: ptr("chat")})
		wantError(t, err, errs.Conflict, "chat")
		wantUnchanged(t, d, before)

		email, err := f.e.CreateTaskChannel(f.ctx, f.ws.Sid, TaskChannelParams{FriendlyName: ptr("Email"), UniqueName: ptr("email"),
			ChannelOptimizedRouting: ptr(true)})
		f.must(err)
		if email.UniqueName != "email" || !email.ChannelOptimizedRouting {
			t.Fatalf("created = %+v", email)
		}
		hasEvent(t, f, f.ws.Sid, email.Sid, "task-channel.created")
		wc, err := f.e.WorkerChannel(f.ctx, f.ws.Sid, alice.Sid, "email")
		if err != nil || wc.Capacity != 1 || !wc.Available || wc.TaskChannelSid != email.Sid {
			t.Fatalf("alice's capacity on the new channel = %+v, %v", wc, err)
		}

		for _, key := range []string{"email", email.Sid} {
			got, err := f.e.TaskChannel(f.ctx, f.ws.Sid, key)
			if err != nil || got.Sid != email.Sid {
				t.Fatalf("fetch %s = %+v, %v", key, got, err)
			}
		}
		_, err = f.e.TaskChannel(f.ctx, f.ws.Sid, "fax")
		wantError(t, err, errs.NotFound, "fax")

		page, more, err := f.e.TaskChannels(f.ctx, f.ws.Sid, Page{Limit: 5})
		if err != nil || len(page) != 5 || !more {
			t.Fatalf("first page = %d more=%v, %v", len(page), more, err)
		}
		page, more, err = f.e.TaskChannels(f.ctx, f.ws.Sid, Page{Offset: 5, Limit: 5})
		if err != nil || len(page) != 1 || more || page[0].Sid != email.Sid {
			t.Fatalf("second page = %+v more=%v, %v", page, more, err)
		}

		_, err = f.e.UpdateTaskChannel(f.ctx, f.ws.Sid, "email", TaskChannelParams{UniqueName: ptr("mail")})
		wantError(t, err, errs.Invalid, "UniqueName")
		up, err := f.e.UpdateTaskChannel(f.ctx, f.ws.Sid, "email", TaskChannelParams{FriendlyName: ptr("E-mail"), ChannelOptimizedRouting: ptr(false)})
		if err != nil || up.FriendlyName != "E-mail" || up.ChannelOptimizedRouting || up.UniqueName != "email" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		hasEvent(t, f, f.ws.Sid, email.Sid, "task-channel.updated")

		// A live task of the channel keeps it.
		task, err := f.e.CreateTask(f.ctx, f.ws.Sid, TaskParams{TaskChannel: ptr("email")})
		f.must(err)
		wantError(t, f.e.DeleteTaskChannel(f.ctx, f.ws.Sid, "email"), errs.Conflict, "tasks")
		_, err = f.e.UpdateTask(f.ctx, f.ws.Sid, task.Sid, TaskParams{AssignmentStatus: ptr(TaskCanceled), Reason: ptr("test")})
		f.must(err)
		f.must(f.e.DeleteTaskChannel(f.ctx, f.ws.Sid, email.Sid))
		hasEvent(t, f, f.ws.Sid, email.Sid, "task-channel.deleted")
		_, err = f.e.WorkerChannel(f.ctx, f.ws.Sid, alice.Sid, "email")
		wantError(t, err, errs.NotFound, "email")
		if n := rowCounts(t, d, f.ws.Sid)["worker_channels"]; n != 5 {
			t.Fatalf("worker channels left = %d, want alice's 5", n)
		}
	})
}

// TestWorkersAndChannelsCreatedTogetherAllMeet races worker and task channel
// creation: every worker must end up with capacity on every channel.
func TestWorkersAndChannelsCreatedTogetherAllMeet(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		var wg sync.WaitGroup
		errc := make(chan error, 16)
		for i := range 8 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr(fmt.Sprintf("w%d", i))})
				errc <- err
			}()
			go func() {
				defer wg.Done()
				_, err := f.e.CreateTaskChannel(f.ctx, f.ws.Sid, TaskChannelParams{FriendlyName: ptr("c"), UniqueName: ptr(fmt.Sprintf("c%d", i))})
				errc <- err
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			f.must(err)
		}
		if n := rowCounts(t, d, f.ws.Sid)["worker_channels"]; n != 8*(5+8) {
			t.Fatalf("%d worker channels, want 8 workers × 13 channels", n)
		}
	})
}

package taskrouter

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestTaskChannelSettingsAreValidatedAndNewWorkersGetTheDefaultCapacity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		for _, tc := range []struct {
			name string
			s    TaskChannelSettings
			want string
		}{
			{"negative capacity", TaskChannelSettings{-1, 60, 10, nil}, "DefaultCapacity"},
			{"capacity over the maximum", TaskChannelSettings{51, 60, 10, nil}, "DefaultCapacity"},
			{"no service level", TaskChannelSettings{2, 0, 10, nil}, "ServiceLevelSeconds"},
			{"no short abandon", TaskChannelSettings{2, 60, 0, nil}, "ShortAbandonSeconds"},
			{"short abandon as long as the service level", TaskChannelSettings{2, 30, 30, nil}, "shorter than"},
			{"an empty name", TaskChannelSettings{2, 60, 10, ptr(" ")}, "FriendlyName"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.UpdateTaskChannelSettings(f.ctx, f.ws.Sid, "chat", tc.s)
				wantError(t, err, errs.Invalid, tc.want)
				got, err := f.e.TaskChannel(f.ctx, f.ws.Sid, "chat")
				f.must(err)
				if got.FriendlyName != "Programmable Chat" || got.DefaultCapacity != 1 || got.ServiceLevelSeconds != DefaultServiceLevelSeconds || got.ShortAbandonSeconds != DefaultShortAbandonSeconds {
					t.Fatalf("a refused update changed the channel: %+v", got)
				}
			})
		}
		_, err := f.e.UpdateTaskChannelSettings(f.ctx, f.ws.Sid, "TC00000000000000000000000000000000", TaskChannelSettings{2, 60, 10, nil})
		wantError(t, err, errs.NotFound, "TaskChannels")

		chat, err := f.e.UpdateTaskChannelSettings(f.ctx, f.ws.Sid, "chat", TaskChannelSettings{3, 45, 5, ptr("Web chat")})
		f.must(err)
		if chat.FriendlyName != "Web chat" || chat.DefaultCapacity != 3 || chat.ServiceLevelSeconds != 45 || chat.ShortAbandonSeconds != 5 {
			t.Fatalf("saved settings = %+v", chat)
		}
		_, err = f.e.UpdateTaskChannelSettings(f.ctx, f.ws.Sid, "sms", TaskChannelSettings{0, 60, 10, nil})
		f.must(err)

		w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("newcomer")})
		f.must(err)
		for channel, want := range map[string]int{"chat": 3, "sms": 0, "whatsapp": 1} {
			wc, err := f.e.WorkerChannel(f.ctx, f.ws.Sid, w.Sid, channel)
			f.must(err)
			if wc.Capacity != want {
				t.Errorf("new worker's capacity on %s = %d, want the channel's default %d", channel, wc.Capacity, want)
			}
		}
		var evs []Event
		f.must(d.Gorm.Where("workspace_sid = ? AND event_type = ?", f.ws.Sid, "task-channel.updated").Find(&evs).Error)
		if len(evs) != 2 {
			t.Fatalf("task-channel.updated events = %d, want 2", len(evs))
		}
	})
}

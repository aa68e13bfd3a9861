package taskrouter

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestWorkerProfileUpdatesAttributesAndCapacityThroughTheEngine(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		w, err := f.e.CreateWorker(f.ctx, f.ws.Sid, WorkerParams{FriendlyName: ptr("ana"),
			Attributes: ptr(`{"identity":"ana@example.com","routing":{"skills":["support"],"extra":1}}`)})
		f.must(err)
		for _, tc := range []struct {
			name string
			p    WorkerProfile
			want string
		}{
			{"a level without the skill", WorkerProfile{Skills: []string{"sales"}, Levels: map[string]int{"billing": 3}}, "does not have"},
			{"a level out of range", WorkerProfile{Skills: []string{"sales"}, Levels: map[string]int{"sales": 101}}, "between 0 and 100"},
			{"a quoted skill", WorkerProfile{Skills: []string{"it's"}}, "quotes"},
			{"capacity out of range", WorkerProfile{Capacity: map[string]int{"chat": 51}}, "between 0 and 50"},
			{"an unknown channel", WorkerProfile{Capacity: map[string]int{"pigeon": 1}}, "pigeon"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.UpdateWorkerProfile(f.ctx, f.ws.Sid, w.Sid, tc.p)
				wantError(t, err, errs.Invalid, tc.want)
				got, err := f.e.Worker(f.ctx, f.ws.Sid, w.Sid)
				f.must(err)
				if got.Attributes != w.Attributes {
					t.Fatalf("a refused update changed the attributes: %s", got.Attributes)
				}
			})
		}
		got, err := f.e.UpdateWorkerProfile(f.ctx, f.ws.Sid, w.Sid, WorkerProfile{Skills: []string{"sales", " support ", "sales", ""},
			Levels: map[string]int{"sales": 4}, Team: " Blue ", Capacity: map[string]int{"chat": 3, "sms": 0}})
		f.must(err)
		p := ProfileOf(got.Attributes)
		if !slices.Equal(p.Skills, []string{"sales", "support"}) || p.Levels["sales"] != 4 || p.Team != "Blue" {
			t.Fatalf("profile = %+v from %s", p, got.Attributes)
		}
		if wantIn := `"identity":"ana@example.com"`; !strings.Contains(got.Attributes, wantIn) || !strings.Contains(got.Attributes, `"extra":1`) {
			t.Fatalf("other attributes lost: %s", got.Attributes)
		}
		for ch, want := range map[string]int{"chat": 3, "sms": 0} {
			wc, err := f.e.WorkerChannel(f.ctx, f.ws.Sid, w.Sid, ch)
			f.must(err)
			if wc.Capacity != want {
				t.Fatalf("capacity on %s = %d, want %d", ch, wc.Capacity, want)
			}
		}
		var n int64
		f.must(d.Gorm.Model(&Event{}).Where("worker_sid = ? AND event_type IN ?", w.Sid,
			[]string{"worker.attributes.update", "worker.capacity.update"}).Count(&n).Error)
		if n != 3 {
			t.Fatalf("attribute and capacity events = %d, want 3", n)
		}
		// Routing sees the new skill at once.
		tp, err := f.e.PreviewTargetWorkers(f.ctx, f.ws.Sid, "routing.skills HAS 'sales' AND routing.levels.sales >= 4 AND team_name == 'Blue'")
		f.must(err)
		if len(tp.Workers) != 1 || tp.Workers[0].Sid != w.Sid {
			t.Fatalf("selected %v", names(tp.Workers))
		}
	})
}

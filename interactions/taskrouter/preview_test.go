package taskrouter

import (
	"slices"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func names(ws []Worker) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.FriendlyName
	}
	return out
}

// TestPreviewPicksWhatTheRouterOffers previews tasks, then creates them with
// the same attributes under the saved workflow and checks the router offers
// each to the first worker the preview listed.
func TestPreviewPicksWhatTheRouterOffers(t *testing.T) {
	levels := func(skill string, level int) map[string]any {
		return map[string]any{"routing": map[string]any{"skills": []any{skill}, "levels": map[string]any{skill: level}}}
	}
	cases := []struct {
		name        string
		attrs       map[string]any
		wantFilter  int
		wantQueue   string
		wantSkipped int
		wantWorkers []string
	}{
		{"the default filter, longest idle first", map[string]any{"type": "support"}, -1, "support", 0, []string{"ana", "bo"}},
		{"a filter ordering by level", map[string]any{"type": "sales"}, 0, "sales", 0, []string{"fay", "eve"}},
		{"a target skipped when nobody is there", map[string]any{"type": "vip"}, 1, "support", 1, []string{"ana", "bo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dbtest.Each(t, func(t *testing.T, d *db.DB) {
				f := newFixture(t, d)
				support := f.queue("support", "routing.skills HAS 'support'", 1, "FIFO")
				sales := f.queue("sales", "routing.skills HAS 'sales'", 1, "FIFO")
				vip := f.queue("vip", "routing.skills HAS 'vip'", 1, "FIFO")
				wf := f.workflow(map[string]any{"task_routing": map[string]any{
					"filters": []any{
						map[string]any{"filter_friendly_name": "Sales", "expression": "type == 'sales'",
							"targets": []any{map[string]any{"queue": sales.Sid, "order_by": "worker.routing.levels.sales DESC"}}},
						map[string]any{"filter_friendly_name": "VIP", "expression": "type == 'vip'",
							"targets": []any{map[string]any{"queue": vip.Sid, "skip_if": "workers.available == 0"},
								map[string]any{"queue": support.Sid, "priority": 5}}},
					},
					"default_filter": map[string]any{"queue": support.Sid}}}, 30)
				earlier := f.now.Add(-time.Hour)
				f.worker("bo", skills("support"), true, nil)
				f.must(d.Gorm.Model(&Worker{}).Where("friendly_name = ?", "bo").Update("last_reserved_at", earlier).Error)
				f.worker("ana", skills("support"), true, nil)
				f.worker("cy", skills("support"), false, nil)                       // offline
				f.worker("dan", skills("support"), true, map[string]int{"chat": 0}) // no room on chat
				f.worker("eve", levels("sales", 2), true, nil)
				f.worker("fay", levels("sales", 5), true, nil)
				f.worker("gus", skills("vip"), false, nil)

				pv, err := f.e.PreviewWorkflow(f.ctx, f.ws.Sid, wf.Configuration, jsonOf(tc.attrs), "chat", wf.TaskReservationTimeout)
				f.must(err)
				if !pv.Matched || pv.FilterIndex != tc.wantFilter || pv.Queue.FriendlyName != tc.wantQueue || pv.Skipped != tc.wantSkipped {
					t.Fatalf("preview = filter %d queue %q skipped %d, want %d %q %d", pv.FilterIndex, pv.Queue.FriendlyName,
						pv.Skipped, tc.wantFilter, tc.wantQueue, tc.wantSkipped)
				}
				if got := names(pv.Workers); !slices.Equal(got, tc.wantWorkers) {
					t.Fatalf("previewed workers = %v, want %v", got, tc.wantWorkers)
				}
				if pv.ReservationTimeout != 30 || pv.TaskChannel.UniqueName != "chat" {
					t.Fatalf("preview reservation timeout %d channel %q", pv.ReservationTimeout, pv.TaskChannel.UniqueName)
				}

				task := f.task(tc.attrs, 0)
				if n := f.route(); n != 1 {
					t.Fatalf("the router made %d offers, want 1", n)
				}
				offers := f.offers(task.Sid)
				if _, ok := offers[pv.Workers[0].FriendlyName]; !ok || len(offers) != 1 {
					t.Fatalf("the router offered the task to %v; the preview's first worker is %s", offers, pv.Workers[0].FriendlyName)
				}
				if got := f.reload(task); got.TaskQueueSid != pv.Queue.Sid {
					t.Fatalf("the task is in queue %s, the preview said %s", got.TaskQueueSid, pv.Queue.Sid)
				}
			})
		})
	}
}

func TestPreviewRefusesBadInputAndShowsUnsavedConfigurations(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("support", "1==1", 1, "FIFO")
		cfg := `{"task_routing":{"filters":[{"filter_friendly_name":"Urgent","expression":"urgent == true","targets":[{"queue":"` + q.Sid + `","priority":10,"timeout":60}]}]}}`
		for _, tc := range []struct {
			name, cfg, attrs, channel string
			want                      string
		}{
			{"attributes that are not an object", cfg, `[1]`, "chat", "attributes"},
			{"attributes that are not JSON", cfg, `{"a":`, "chat", "attributes"},
			{"a channel of no workspace", cfg, `{}`, "pigeon", "pigeon"},
			{"broken JSON, with its place", "{\n  \"task_routing\": {,\n}", `{}`, "chat", "line 2, column"},
			{"JSON that ends too soon, placed at its end", "{\"task_routing\": {", `{}`, "chat", "line 1, column 18"},
			{"a queue of no workspace", `{"task_routing":{"default_filter":{"queue":"WQ00000000000000000000000000000000"}}}`, `{}`, "chat", "task_routing.default_filter.queue"},
			{"a bad filter expression", `{"task_routing":{"filters":[{"expression":"a ==","targets":[{"queue":"` + q.Sid + `"}]}]}}`, `{}`, "chat", "filters[0].expression"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.e.PreviewWorkflow(f.ctx, f.ws.Sid, tc.cfg, tc.attrs, tc.channel, 0)
				wantError(t, err, errs.Invalid, tc.want)
			})
		}
		f.worker("ana", nil, true, nil)
		pv, err := f.e.PreviewWorkflow(f.ctx, f.ws.Sid, cfg, `{"urgent":true}`, "", 0)
		f.must(err)
		if !pv.Matched || pv.Filter != "Urgent" || pv.Priority == nil || *pv.Priority != 10 || pv.Timeout != 60 ||
			pv.TaskChannel.UniqueName != "default" || pv.ReservationTimeout != DefaultTaskReservationTimeout {
			t.Fatalf("preview = %+v", pv)
		}
		pv, err = f.e.PreviewWorkflow(f.ctx, f.ws.Sid, cfg, `{"urgent":false}`, "chat", 0)
		f.must(err)
		if pv.Matched || len(pv.Workers) != 0 {
			t.Fatalf("a task no filter matches, without a default filter: %+v", pv)
		}
		f.must(f.e.CheckWorkflowConfiguration(f.ctx, f.ws.Sid, cfg))
		wantError(t, f.e.CheckWorkflowConfiguration(f.ctx, f.ws.Sid, `{"task_routing":{}}`), errs.Invalid, "default_filter")
	})
}

func TestTargetWorkersPreviewNamesWhoIsSelectedOrTheMistake(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.worker("ana", skills("support"), true, nil)
		f.worker("bo", skills("sales"), false, nil)
		f.worker("cy", skills("support", "sales"), false, nil)
		tp, err := f.e.PreviewTargetWorkers(f.ctx, f.ws.Sid, "routing.skills HAS 'sales'")
		f.must(err)
		if got := names(tp.Workers); tp.Total != 3 || !slices.Equal(got, []string{"bo", "cy"}) && !slices.Equal(got, []string{"cy", "bo"}) {
			t.Fatalf("selected %v of %d", got, tp.Total)
		}
		tp, err = f.e.PreviewTargetWorkers(f.ctx, f.ws.Sid, "")
		f.must(err)
		if len(tp.Workers) != 0 || tp.Total != 3 {
			t.Fatalf("an empty target selects %v of %d", names(tp.Workers), tp.Total)
		}
		_, err = f.e.PreviewTargetWorkers(f.ctx, f.ws.Sid, "routing.skills HAS")
		wantError(t, err, errs.Invalid, "position")
	})
}

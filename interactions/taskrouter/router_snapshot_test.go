package taskrouter

import (
	"testing"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// The router keeps workers' roots between passes; a pass must still see
// every change made since the last one, even within the same clock tick.
func TestRoutingPassSeesWorkerChangesSinceTheLastPass(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		q := f.queue("Support", "routing.skills HAS 'support'", 1, "FIFO")
		f.workflow(map[string]any{"task_routing": map[string]any{"filters": []any{},
			"default_filter": map[string]any{"queue": q.Sid}}}, 120)
		sales := f.worker("sales", map[string]any{"routing": map[string]any{"skills": []string{"sales"}}}, true, nil)
		task := f.task(nil, 0)
		if n := f.route(); n != 0 {
			t.Fatalf("offers to a worker the queue does not select: %d", n)
		}

		attrs := jsonOf(map[string]any{"routing": map[string]any{"skills": []string{"sales", "support"}}})
		_, err := f.e.UpdateWorker(f.ctx, f.ws.Sid, sales.Sid, WorkerParams{Attributes: &attrs})
		f.must(err)
		if n := f.route(); n != 1 {
			t.Fatalf("offers after the worker gained the skill = %d, want 1", n)
		}
		if _, ok := f.offers(task.Sid)["sales"]; !ok {
			t.Fatalf("offers = %v, want one to sales", f.offers(task.Sid))
		}

		// Full on chat now: the next task waits, whatever the last pass saw.
		next := f.task(nil, 0)
		if n := f.route(); n != 0 {
			t.Fatalf("offers to a worker without room = %d", n)
		}
		f.must(d.Gorm.Model(&WorkerChannel{}).Where("worker_sid = ?", sales.Sid).Update("capacity", 2).Error)
		if n := f.route(); n != 1 {
			t.Fatalf("offers after the worker's capacity grew = %d, want 1", n)
		}
		if _, ok := f.offers(next.Sid)["sales"]; !ok {
			t.Fatalf("offers = %v, want one to sales", f.offers(next.Sid))
		}

		f.must(d.Gorm.Delete(&Worker{}, "sid = ?", sales.Sid).Error)
		f.task(nil, 0)
		if n := f.route(); n != 0 {
			t.Fatalf("offers to a deleted worker = %d", n)
		}
	})
}

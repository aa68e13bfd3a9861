package insights

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
)

// benchTasks is the size of the benchmark's history: a million tasks over
// the year before benchEnd.
const benchTasks = 1_000_000

var benchEnd = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// BenchmarkDashboardMillionTasks times the dashboard over a week, a month
// and a year of a million tasks on Postgres (TEST_DATABASE_URL). The
// history lives in its own schema, insights_bench, seeded the first time
// and kept for later runs (drop the schema to start again).
func BenchmarkDashboardMillionTasks(b *testing.B) {
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		b.Skip("set TEST_DATABASE_URL=postgres://… to run the insights benchmark")
	}
	ctx := context.Background()
	d, ws := benchDatabase(ctx, b, base)
	s := New(d, taskrouter.New(d, "AC00000000000000000000000000000000"))
	s.loc = time.UTC
	for _, c := range []struct {
		name string
		days int
	}{{"week", 7}, {"month", 30}, {"year", 365}} {
		b.Run(c.name, func(b *testing.B) {
			f := Filter{From: benchEnd.AddDate(0, 0, -c.days), To: benchEnd.AddDate(0, 0, -1)}
			var tasks int
			for b.Loop() {
				dash, err := s.Dashboard(ctx, ws, f)
				if err != nil {
					b.Fatal(err)
				}
				tasks = dash.Totals.Tasks
			}
			b.ReportMetric(float64(tasks), "tasks")
		})
	}
}

// benchDatabase opens the benchmark's schema, migrated, with its workspace
// and the million tasks, seeding them in one INSERT … SELECT when missing.
func benchDatabase(ctx context.Context, b testing.TB, base string) (*db.DB, string) {
	b.Helper()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS insights_bench")
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", "insights_bench")
	u.RawQuery = q.Encode()
	d, err := db.Open(ctx, db.Options{URL: u.String()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = d.Close() })
	if err := d.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if err := taskrouter.Bootstrap(ctx, d, "AC00000000000000000000000000000000"); err != nil {
		b.Fatal(err)
	}
	var ws string
	if err := d.Gorm.Raw("SELECT sid FROM workspaces ORDER BY date_created LIMIT 1").Scan(&ws).Error; err != nil {
		b.Fatal(err)
	}
	var n int64
	if err := d.Gorm.Raw("SELECT COUNT(*) FROM insights_tasks WHERE workspace_sid = ?", ws).Scan(&n).Error; err != nil {
		b.Fatal(err)
	}
	if n >= benchTasks {
		return d, ws
	}
	b.Logf("seeding %d tasks into insights_bench (once)", benchTasks)
	// Tasks evenly over the year, 5 channels, 8 queues, 50 agents; one in
	// twelve abandoned, the rest answered, handled and wrapped.
	err = d.Gorm.Exec(`WITH ch AS (SELECT array_agg(sid ORDER BY sid) AS sids FROM task_channels WHERE workspace_sid = @ws)
INSERT INTO insights_tasks (task_sid, workspace_sid, task_channel_sid, task_queue_sid, workflow_sid, created_at, entered_at,
  accepted_at, worker_sid, first_response_at, wrapup_at, completed_at, canceled_at, abandoned, transfers, disposition,
  final_worker_sid, wait_ms, handle_ms, wrap_ms, first_response_ms)
SELECT 'WT' || lpad(to_hex(i), 32, '0'), @ws, ch.sids[1 + i % 5], 'WQ' || lpad(to_hex(i % 8), 32, '0'), '',
  t.c, t.c,
  CASE WHEN ab THEN NULL ELSE t.c + w * INTERVAL '1 millisecond' END,
  CASE WHEN ab THEN '' ELSE 'WK' || lpad(to_hex(i % 50), 32, '0') END,
  CASE WHEN ab THEN NULL ELSE t.c + (w + 30000) * INTERVAL '1 millisecond' END,
  CASE WHEN ab THEN NULL ELSE t.c + (w + 300000) * INTERVAL '1 millisecond' END,
  CASE WHEN ab THEN NULL ELSE t.c + (w + 360000) * INTERVAL '1 millisecond' END,
  CASE WHEN ab THEN t.c + w * INTERVAL '1 millisecond' END,
  ab, CASE WHEN i % 20 = 0 THEN 1 ELSE 0 END,
  CASE WHEN ab THEN '' ELSE (ARRAY['resolved', 'sale', 'follow_up', 'spam'])[1 + i % 4] END,
  CASE WHEN ab THEN '' ELSE 'WK' || lpad(to_hex(i % 50), 32, '0') END,
  w, CASE WHEN ab THEN NULL ELSE 360000 END, CASE WHEN ab THEN NULL ELSE 60000 END, CASE WHEN ab THEN NULL ELSE 30000 END
FROM generate_series(CAST(1 AS BIGINT), @n) AS i, ch,
  LATERAL (SELECT CAST(@end AS timestamptz) - (i * (31536000000 / @n)) * INTERVAL '1 millisecond' AS c,
    (i * 7919) % 120000 AS w, i % 12 = 0 AS ab) AS t
ON CONFLICT (task_sid) DO NOTHING`, map[string]any{"ws": ws, "n": benchTasks, "end": benchEnd}).Error
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Gorm.Exec("ANALYZE insights_tasks").Error; err != nil {
		b.Fatal(err)
	}
	return d, ws
}

package web_test

import (
	"context"
	"encoding/csv"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// insDay is the day the insights tests' tasks happened, in the server's zone.
var insDay = time.Date(2026, 3, 10, 0, 0, 0, 0, time.Local)

// insFacts writes two tasks of insDay straight into the fact table, chat
// in the Everyone queue: one answered by worker in 30 s (first reply 20 s
// later, handled 5 min with 1 min of wrap-up, resolved), one abandoned
// after 40 s. It returns the queue.
func insFacts(t *testing.T, s *webtest.Server, workspaceSid, workerSid string) taskrouter.TaskQueue {
	t.Helper()
	ctx := context.Background()
	queues, _, err := s.TaskRouter.TaskQueues(ctx, workspaceSid, taskrouter.TaskQueueFilter{FriendlyName: "Everyone"}, taskrouter.Page{Limit: 1})
	if err != nil || len(queues) != 1 {
		t.Fatalf("queue Everyone: %v %v", queues, err)
	}
	chat, err := s.TaskRouter.TaskChannel(ctx, workspaceSid, "chat")
	if err != nil {
		t.Fatal(err)
	}
	code, label := "resolved", "Resolved"
	if _, err := s.Desk.CreateDisposition(ctx, desk.DispositionParams{WorkspaceSid: &workspaceSid, Code: &code, Label: &label}); err != nil {
		t.Fatal(err)
	}
	at := func(h, m, sec int) *time.Time {
		v := insDay.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second).UTC()
		return &v
	}
	ms := func(v int64) *int64 { return &v }
	facts := []insights.Fact{
		{TaskSid: "WT00000000000000000000000000000001", WorkspaceSid: workspaceSid, TaskChannelSid: chat.Sid,
			TaskQueueSid: queues[0].Sid, CreatedAt: *at(10, 0, 0), AcceptedAt: at(10, 0, 30), WorkerSid: workerSid,
			FirstResponseAt: at(10, 0, 50), WrapupAt: at(10, 4, 30), CompletedAt: at(10, 5, 30), Disposition: code,
			FinalWorkerSid: workerSid, WaitMs: ms(30000), HandleMs: ms(300000), WrapMs: ms(60000), FirstResponseMs: ms(20000)},
		{TaskSid: "WT00000000000000000000000000000002", WorkspaceSid: workspaceSid, TaskChannelSid: chat.Sid,
			TaskQueueSid: queues[0].Sid, CreatedAt: *at(15, 0, 0), CanceledAt: at(15, 0, 40), Abandoned: true, WaitMs: ms(40000)},
	}
	if err := s.DB.Gorm.Create(&facts).Error; err != nil {
		t.Fatal(err)
	}
	return queues[0]
}

func TestInsightsPageShowsTheRangesFiguresChartsAndTables(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		sue := signInSupervisor(t, s)
		insFacts(t, s, sue.staff.WorkspaceSid, sue.staff.WorkerSid)

		page := sue.page(http.StatusOK, "/insights?from=2026-03-10&to=2026-03-10")
		for tile, want := range map[string]string{"tasks": "2", "handled": "1", "abandoned": "1", "short": "0",
			"sl": "50.0%", "abandonment": "50.0%", "asa": "30s", "aht": "5m 00s", "wrap": "1m 00s", "frt": "20s", "transfers": "0"} {
			if got := supTile(t, page, tile); got != want {
				t.Errorf("tile %s = %q, want %q", tile, got, want)
			}
		}
		for _, want := range []string{`role="img"`, `<title id="chart-day-title">Tasks by day</title>`, `<title id="chart-hour-title">`,
			`<title id="chart-sl-title">`, `<title id="chart-asa-title">`, `<title id="chart-dispositions-title">`,
			`<th scope="row">Resolved</th><td class="num">1</td>`, `data-testid="table-queues"`, `<th scope="row">Everyone</th>`,
			`<th scope="row">Sue</th>`, `<th scope="row">Programmable Chat</th>`, `href="/insights/export.csv?from=2026-03-10&amp;to=2026-03-10"`,
			`value="2026-03-10"`} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		// The hour chart's table: one task at 10:00, one at 15:00.
		if !regexp.MustCompile(`<th scope="row">10</th><td class="num">1</td>`).MatchString(page) {
			t.Errorf("hour 10 not counted")
		}

		// Another agent's tasks: none.
		_, _, ben := s.SignIn(t, "ben@example.com", "Ben")
		page = sue.page(http.StatusOK, "/insights?from=2026-03-10&to=2026-03-10&agent="+ben.WorkerSid)
		if got := supTile(t, page, "tasks"); got != "0" {
			t.Errorf("Ben's tasks = %s, want 0", got)
		}
		if !strings.Contains(page, `<option value="`+ben.WorkerSid+`" selected>Ben</option>`) {
			t.Errorf("the agent filter does not keep Ben selected")
		}
		// No dates: the last week, today included.
		page = sue.page(http.StatusOK, "/insights")
		today := time.Now().Format(time.DateOnly)
		if !strings.Contains(page, `name="to" value="`+today+`"`) || supTile(t, page, "tasks") != "0" {
			t.Errorf("the default range does not end today (%s)", today)
		}
	})
}

func TestInsightsExportIsOneCSVRowPerDayAndQueue(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		sue := signInSupervisor(t, s)
		q := insFacts(t, s, sue.staff.WorkspaceSid, sue.staff.WorkerSid)
		res, body := sue.do(request{method: http.MethodGet, path: "/insights/export.csv?from=2026-03-09&to=2026-03-11", plain: true})
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
			res.Header.Get("Content-Disposition") != `attachment; filename="insights-2026-03-09-to-2026-03-11.csv"` {
			t.Fatalf("export: %d %v", res.StatusCode, res.Header)
		}
		rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{
			{"date", "queue_sid", "queue", "tasks", "handled", "abandoned", "short_abandons", "service_level_pct", "abandonment_pct",
				"avg_speed_of_answer_s", "avg_handle_time_s", "avg_wrap_s", "avg_first_response_s", "transfers"},
			{"2026-03-10", q.Sid, "Everyone", "2", "1", "1", "0", "50.0", "50.0", "30", "300", "60", "20", "0"},
		}
		if len(rows) != len(want) || strings.Join(rows[0], ",") != strings.Join(want[0], ",") || strings.Join(rows[1], ",") != strings.Join(want[1], ",") {
			t.Fatalf("csv\n%q\nwant\n%q", rows, want)
		}
		// The queue filter applies: another queue has no rows.
		res, body = sue.do(request{method: http.MethodGet, path: "/insights/export.csv?from=2026-03-10&to=2026-03-10&queue=WQ0", plain: true})
		if res.StatusCode != http.StatusOK || strings.Count(body, "\n") != 1 {
			t.Fatalf("another queue's export: %d\n%s", res.StatusCode, body)
		}
	})
}

func TestInsightsRefuseAgentsAndExplainBadDates(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		ana := signInAgent(t, s, "ana@example.com", "Ana")
		for _, path := range []string{"/insights", "/insights/export.csv"} {
			if res, _ := ana.do(request{method: http.MethodGet, path: path, plain: true}); res.StatusCode != http.StatusForbidden {
				t.Errorf("an agent's GET %s: %d, want 403", path, res.StatusCode)
			}
		}
		sue := signInSupervisor(t, s)
		for _, c := range []struct{ query, want string }{
			{"from=10/03/2026&to=2026-03-11", `Write dates as YYYY-MM-DD: &#34;10/03/2026&#34; is not a date`},
			{"from=2026-03-11&to=2026-03-10", "The end date 2026-03-10 is before the start date 2026-03-11"},
			{"from=2024-01-01&to=2026-03-10", "Choose at most 366 days"},
		} {
			page := sue.page(http.StatusBadRequest, "/insights?"+c.query)
			if !strings.Contains(page, `data-testid="page-error">`+c.want+`</p>`) || !strings.Contains(page, `data-testid="tile-tasks"`) {
				t.Errorf("%s: the page does not say %q", c.query, c.want)
			}
			res, body := sue.do(request{method: http.MethodGet, path: "/insights/export.csv?" + c.query, plain: true})
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, strings.ReplaceAll(c.want, "&#34;", `"`)) {
				t.Errorf("%s: export %d %q", c.query, res.StatusCode, body)
			}
		}
	})
}

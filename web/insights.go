package web

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/internal/errs"
	insightsview "github.com/switchboardhq/switchboard/views/insights"
)

// addInsightsRoutes mounts the insights dashboards and CSV export.
func addInsightsRoutes(g fiber.Router, d Deps) {
	if d.Insights == nil {
		return
	}
	h := insightsPages{ins: d.Insights}
	g.Get("/", h.page)
	g.Get("/export.csv", h.export)
}

// insightsPages serve the dashboard of the signed-in supervisor's workspace.
type insightsPages struct{ ins *insights.Service }

// filter reads the dashboard's filter from the query string.
func (h insightsPages) filter(c *fiber.Ctx) (insights.Filter, error) {
	return h.ins.ParseFilter(c.Query("from"), c.Query("to"), c.Query("queue"), c.Query("agent"), c.Query("channel"))
}

// page is the dashboard. Dates it cannot use show the last week instead,
// with why, and status 400.
func (h insightsPages) page(c *fiber.Ctx) error {
	ctx, ws := c.UserContext(), staffOf(c).WorkspaceSid
	f, err := h.filter(c)
	notice := ""
	if errs.KindOf(err) == errs.Invalid {
		notice = errs.As(err).Message
		c.Status(fiber.StatusBadRequest)
		f, err = h.ins.DefaultFilter(), nil
	}
	if err != nil {
		return err
	}
	dash, err := h.ins.Dashboard(ctx, ws, f)
	if err != nil {
		return err
	}
	return render(c, insightsview.Page(consoleNav(c, "/insights"), dash, insightsview.FormOf(dash.Filter, dash), notice))
}

// csvHeader is the export's header row: one row follows per day and queue
// with tasks (durations in whole seconds, percentages to one decimal,
// empty where there was nothing to measure).
var csvHeader = []string{"date", "queue_sid", "queue", "tasks", "handled", "abandoned", "short_abandons",
	"service_level_pct", "abandonment_pct", "avg_speed_of_answer_s", "avg_handle_time_s", "avg_wrap_s",
	"avg_first_response_s", "transfers"}

// export is the dashboard's figures per day and queue as CSV, over the
// same filter as the page. Bad dates answer 400 with why, as plain text.
func (h insightsPages) export(c *fiber.Ctx) error {
	f, err := h.filter(c)
	if errs.KindOf(err) == errs.Invalid {
		return c.Status(fiber.StatusBadRequest).SendString(errs.As(err).Message)
	}
	if err != nil {
		return err
	}
	dash, err := h.ins.Dashboard(c.UserContext(), staffOf(c).WorkspaceSid, f)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(csvHeader)
	for _, r := range dash.ByDayQueue {
		sl, slOK := r.ServiceLevel()
		ab, abOK := r.Abandonment()
		_ = w.Write([]string{r.Day, r.Key, r.Label, strconv.Itoa(r.Tasks), strconv.Itoa(r.Handled), strconv.Itoa(r.Abandoned),
			strconv.Itoa(r.ShortAbandons), pctCell(sl, slOK), pctCell(ab, abOK), secondsCell(r.ASA.Seconds(), r.Handled),
			secondsCell(r.AHT.Seconds(), r.CompletedTasks), secondsCell(r.AvgWrap.Seconds(), r.CompletedTasks),
			secondsCell(r.FirstResponse.Seconds(), r.Handled), strconv.Itoa(r.Transfers)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return errs.Wrap(err, "insights csv")
	}
	name := fmt.Sprintf("insights-%s-to-%s.csv", dash.Filter.From.Format("2006-01-02"), dash.Filter.To.Format("2006-01-02"))
	c.Set(fiber.HeaderContentType, "text/csv; charset=utf-8")
	c.Set(fiber.HeaderContentDisposition, `attachment; filename="`+name+`"`)
	return c.Send(buf.Bytes())
}

func pctCell(v float64, ok bool) string {
	if !ok {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func secondsCell(v float64, n int) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

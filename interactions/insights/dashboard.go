package insights

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// MaxDays bounds a dashboard's date range: a year, with a leap day to spare.
const MaxDays = 366

// Filter selects the tasks a dashboard describes: those created on the
// days From to To (both inclusive, in the server's local time zone; only
// the dates count), optionally of one queue, one answering agent (worker)
// and one task channel (SID).
type Filter struct {
	From, To    time.Time
	QueueSid    string
	WorkerSid   string
	TaskChannel string
}

// Figures are the headline metrics of a set of tasks.
//
//   - Tasks: tasks created. Handled: tasks an agent accepted.
//   - Abandoned: tasks canceled while waiting, after more than their
//     channel's ShortAbandonSeconds; ShortAbandons: those canceled within
//     it, counted in neither handled nor abandoned.
//   - InServiceLevel: handled tasks accepted within their channel's
//     ServiceLevelSeconds of creation.
//   - ASA (speed of answer): creation → acceptance, over handled tasks.
//   - AHT (handle time): acceptance → completion, wrap-up included, over
//     completed tasks; AvgWrap: wrap-up → completion, over tasks wrapped.
//   - FirstResponse: acceptance → the agent's first message, over tasks
//     the agent wrote in.
//   - Transfers: transfers made from the tasks (withdrawn ones excluded).
//     CompletedTasks: tasks completed.
type Figures struct {
	Tasks, Handled, Abandoned, ShortAbandons, InServiceLevel, Transfers int
	CompletedTasks                                                      int
	ASA, AHT, AvgWrap, FirstResponse                                    time.Duration
}

// Offered is the denominator of the service level and the abandonment
// rate: tasks handled or abandoned.
func (f Figures) Offered() int { return f.Handled + f.Abandoned }

// ServiceLevel is the percentage of offered tasks answered within the
// service level; ok is false when no task was offered.
func (f Figures) ServiceLevel() (pct float64, ok bool) { return percent(f.InServiceLevel, f.Offered()) }

// Abandonment is the percentage of offered tasks abandoned; ok is false
// when no task was offered.
func (f Figures) Abandonment() (pct float64, ok bool) { return percent(f.Abandoned, f.Offered()) }

func percent(n, of int) (float64, bool) {
	if of == 0 {
		return 0, false
	}
	return 100 * float64(n) / float64(of), true
}

// Row is the figures of one group: a day, an hour, a queue, an agent, a
// channel or a day in a queue.
type Row struct {
	Key   string // the day (YYYY-MM-DD), the hour (00–23) or the SID
	Label string // what a person reads: the date, the hour, a name
	Day   string // the day of a ByDayQueue row
	Figures
}

// Volume is how many tasks were created in a group (an hour of the day).
type Volume struct {
	Key   string // the hour, 00–23
	Label string
	Tasks int
}

// DispositionCount is how many completed tasks carried one disposition.
type DispositionCount struct {
	Code, Label string
	Count       int
}

// Dashboard is the insights of a workspace over a filter.
type Dashboard struct {
	Filter Filter // as applied: From and To are local midnights, To the last day
	Totals Figures
	// ByDay has every day of the range and ByHour every hour of the day
	// (local time; volume only), zeros included; the others only groups
	// with tasks.
	ByDay                    []Row
	ByHour                   []Volume
	Queues, Agents, Channels []Row
	ByDayQueue               []Row
	Dispositions             []DispositionCount
	QueueNames, AgentNames   map[string]string
	ChannelNames             map[string]string
}

// Dashboard computes the insights of a workspace's tasks over f.
func (s *Service) Dashboard(ctx context.Context, workspaceSid string, f Filter) (Dashboard, error) {
	f, from, to, err := normalize(f, s.loc)
	if err != nil {
		return Dashboard{}, err
	}
	out := Dashboard{Filter: f}
	if out.QueueNames, out.AgentNames, out.ChannelNames, err = names(ctx, s.db, workspaceSid); err != nil {
		return out, err
	}
	err = s.read(ctx, func(q *gorm.DB) error { return s.aggregate(q, workspaceSid, from, to, &out) })
	return out, err
}

// read runs fn's queries. On Postgres they share a read-only transaction
// tuned for one scan of many rows into a few small groups: hashing every
// grouping set (the planner cannot tell how few days a range has and would
// sort a year of rows instead) and no JIT compilation, which costs more
// than it saves on these few expressions.
func (s *Service) read(ctx context.Context, fn func(q *gorm.DB) error) error {
	q := s.db.Gorm.WithContext(ctx)
	if s.db.Dialect != db.Postgres {
		return fn(q)
	}
	return q.Transaction(func(tx *gorm.DB) error {
		for _, set := range []string{"SET TRANSACTION READ ONLY", "SET LOCAL work_mem = '32MB'", "SET LOCAL enable_sort = off",
			"SET LOCAL jit = off"} {
			if err := tx.Exec(set).Error; err != nil {
				return err
			}
		}
		return fn(tx)
	})
}

// rollups are the groups the dashboard adds up from base (the tasks
// grouped by day, queue, agent and channel): each names the columns it
// groups by ("" for none).
var rollups = []struct{ dim, k1, k2 string }{
	{"total", "", ""}, {"day", "day", ""}, {"queue", "queue", ""}, {"agent", "agent", ""},
	{"channel", "channel", ""}, {"dayqueue", "day", "queue"},
}

// aggregate fills out's figures from the fact rows of the range. The
// range is scanned three times, whatever its length: once grouping tasks
// by day, queue, agent and channel (all the tables and the daily charts
// add those groups up), once counting them by hour of the day and once by
// disposition.
func (s *Service) aggregate(q *gorm.DB, workspaceSid string, from, to time.Time, out *Dashboard) error {
	local := localTime(s.db.Dialect, from, to)
	where, args := filterSQL(workspaceSid, out.Filter, from, to)
	for k, v := range local.args {
		args[k] = v
	}
	thresholds, err := channelThresholds(q, workspaceSid, args)
	if err != nil {
		return err
	}
	agg := strings.NewReplacer("@sl", thresholds.sl, "@short", thresholds.short).Replace(rowSums)
	facts := "\nFROM insights_tasks f" + where

	var parts []string
	for _, r := range rollups {
		k1, k2, group := "''", "''", ""
		if r.k1 != "" {
			k1, group = r.k1, " GROUP BY "+r.k1
		}
		if r.k1 == "day" {
			k1 = local.dayText("day")
		}
		if r.k2 != "" {
			k2, group = r.k2, group+", "+r.k2
		}
		parts = append(parts, "SELECT '"+r.dim+"' AS dim, "+k1+" AS k1, "+k2+" AS k2, "+outerSums+" FROM base"+group)
	}
	query := "WITH base AS MATERIALIZED (SELECT " + local.day + " AS day, f.task_queue_sid AS queue, f.worker_sid AS agent, " +
		"f.task_channel_sid AS channel, " + agg + facts + " GROUP BY 1, 2, 3, 4)\n" + strings.Join(parts, "\nUNION ALL\n")
	var groups []struct {
		Dim, K1, K2 string
		Sums        sums `gorm:"embedded"`
	}
	if err := q.Raw(query, args).Scan(&groups).Error; err != nil {
		return errs.Wrap(err, "insights")
	}
	byDay := map[string]Figures{}
	for _, g := range groups {
		fig := g.Sums.figures()
		switch g.Dim {
		case "total":
			out.Totals = fig
		case "day":
			byDay[g.K1] = fig
		case "queue":
			out.Queues = append(out.Queues, Row{Key: g.K1, Label: nameOr(out.QueueNames, g.K1, "No queue"), Figures: fig})
		case "agent":
			if g.K1 != "" { // tasks nobody accepted
				out.Agents = append(out.Agents, Row{Key: g.K1, Label: nameOr(out.AgentNames, g.K1, g.K1), Figures: fig})
			}
		case "channel":
			out.Channels = append(out.Channels, Row{Key: g.K1, Label: nameOr(out.ChannelNames, g.K1, g.K1), Figures: fig})
		case "dayqueue":
			out.ByDayQueue = append(out.ByDayQueue, Row{Key: g.K2, Day: g.K1, Label: nameOr(out.QueueNames, g.K2, "No queue"), Figures: fig})
		}
	}
	for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
		key := d.Format(time.DateOnly)
		out.ByDay = append(out.ByDay, Row{Key: key, Label: d.Format("Mon 2 Jan"), Figures: byDay[key]})
	}
	for _, rows := range [][]Row{out.Queues, out.Agents, out.Channels} {
		sort.Slice(rows, func(i, j int) bool {
			if rows[i].Tasks != rows[j].Tasks {
				return rows[i].Tasks > rows[j].Tasks
			}
			return rows[i].Label < rows[j].Label
		})
	}
	sort.Slice(out.ByDayQueue, func(i, j int) bool {
		a, b := out.ByDayQueue[i], out.ByDayQueue[j]
		return a.Day < b.Day || a.Day == b.Day && a.Label < b.Label
	})

	// The hour of the day chart shows volume only: counting is all this
	// second scan does.
	var hours []struct{ Hour, N int }
	if err := q.Raw("SELECT "+local.hour+" AS hour, COUNT(*) AS n"+facts+" GROUP BY 1", args).Scan(&hours).Error; err != nil {
		return errs.Wrap(err, "insights by hour")
	}
	byHour := map[int]int{}
	for _, h := range hours {
		byHour[h.Hour] = h.N
	}
	for h := range 24 {
		out.ByHour = append(out.ByHour, Volume{Key: fmt.Sprintf("%02d", h), Label: fmt.Sprintf("%02d:00", h), Tasks: byHour[h]})
	}

	if err := q.Raw("SELECT f.disposition AS code, COUNT(*) AS count"+facts+
		" AND f.completed_at IS NOT NULL AND f.disposition <> '' GROUP BY f.disposition", args).Scan(&out.Dispositions).Error; err != nil {
		return errs.Wrap(err, "insights dispositions")
	}
	return dispositionLabels(q, workspaceSid, out.Dispositions)
}

// dispositionLabels names dispositions by their labels, most used first.
func dispositionLabels(q *gorm.DB, workspaceSid string, ds []DispositionCount) error {
	var rows []struct{ Code, Label string }
	if err := q.Raw("SELECT code, label FROM desk_dispositions WHERE workspace_sid = ?", workspaceSid).Scan(&rows).Error; err != nil {
		return errs.Wrap(err, "insights: dispositions")
	}
	for i := range ds {
		ds[i].Label = ds[i].Code // one deleted since
		for _, r := range rows {
			if r.Code == ds[i].Code {
				ds[i].Label = r.Label
			}
		}
	}
	sort.Slice(ds, func(i, j int) bool {
		return ds[i].Count > ds[j].Count || ds[i].Count == ds[j].Count && ds[i].Code < ds[j].Code
	})
	return nil
}

// thresholdSQL are the service level and short abandon thresholds of a
// task's channel, in milliseconds, as SQL over f.task_channel_sid.
type thresholdSQL struct{ sl, short string }

// channelThresholds reads the workspace's channels' thresholds into CASE
// expressions (a handful of channels), so the scan joins nothing.
func channelThresholds(q *gorm.DB, workspaceSid string, args map[string]any) (thresholdSQL, error) {
	var chans []struct {
		Sid                                      string
		ServiceLevelSeconds, ShortAbandonSeconds int
	}
	if err := q.Raw("SELECT sid, service_level_seconds, short_abandon_seconds FROM task_channels WHERE workspace_sid = ? ORDER BY sid",
		workspaceSid).Scan(&chans).Error; err != nil {
		return thresholdSQL{}, errs.Wrap(err, "insights: task channels")
	}
	sl, short := "CASE f.task_channel_sid", "CASE f.task_channel_sid"
	for i, c := range chans {
		name := fmt.Sprintf("tc%d", i)
		args[name] = c.Sid
		sl += fmt.Sprintf(" WHEN @%s THEN %d", name, c.ServiceLevelSeconds*1000)
		short += fmt.Sprintf(" WHEN @%s THEN %d", name, c.ShortAbandonSeconds*1000)
	}
	return thresholdSQL{sl: sl + fmt.Sprintf(" ELSE %d END", taskrouter.DefaultServiceLevelSeconds*1000),
		short: short + fmt.Sprintf(" ELSE %d END", taskrouter.DefaultShortAbandonSeconds*1000)}, nil
}

// normalize checks a filter's dates and resolves them to the local
// midnights that begin the first day and end the last.
func normalize(f Filter, loc *time.Location) (Filter, time.Time, time.Time, error) {
	if f.From.IsZero() || f.To.IsZero() {
		return f, time.Time{}, time.Time{}, errs.Invalidf("Choose both a start and an end date")
	}
	day := func(t time.Time) time.Time {
		y, m, d := t.Date()
		return time.Date(y, m, d, 0, 0, 0, 0, loc)
	}
	f.From, f.To = day(f.From), day(f.To)
	if f.To.Before(f.From) {
		return f, f.From, f.To, errs.Invalidf("The end date %s is before the start date %s",
			f.To.Format(time.DateOnly), f.From.Format(time.DateOnly))
	}
	to := f.To.AddDate(0, 0, 1)
	if f.From.AddDate(0, 0, MaxDays).Before(to) {
		return f, f.From, to, errs.Invalidf("Choose at most %d days", MaxDays)
	}
	return f, f.From, to, nil
}

// filterSQL is the WHERE clause of a filter and its arguments.
func filterSQL(workspaceSid string, f Filter, from, to time.Time) (string, map[string]any) {
	args := map[string]any{"ws": workspaceSid, "from": from.UTC(), "to": to.UTC()}
	where := "\nWHERE f.workspace_sid = @ws AND f.created_at >= @from AND f.created_at < @to"
	for _, c := range []struct{ col, name, v string }{
		{"f.task_queue_sid", "queue", f.QueueSid}, {"f.worker_sid", "worker", f.WorkerSid}, {"f.task_channel_sid", "channel", f.TaskChannel},
	} {
		if c.v != "" {
			where += " AND " + c.col + " = @" + c.name
			args[c.name] = c.v
		}
	}
	return where, args
}

// rowSums are the additive aggregates of a group of fact rows f; @sl and
// @short stand for the task's channel's thresholds in milliseconds.
const rowSums = `COUNT(*) AS n, COUNT(f.accepted_at) AS handled,
SUM(CASE WHEN f.abandoned AND f.wait_ms > @short THEN 1 ELSE 0 END) AS abandoned,
SUM(CASE WHEN f.abandoned AND f.wait_ms <= @short THEN 1 ELSE 0 END) AS short,
SUM(CASE WHEN f.accepted_at IS NOT NULL AND f.wait_ms <= @sl THEN 1 ELSE 0 END) AS in_sl,
SUM(CASE WHEN f.accepted_at IS NOT NULL THEN f.wait_ms END) AS wait_sum,
COUNT(f.completed_at) AS completed, COUNT(f.handle_ms) AS handle_n, SUM(f.handle_ms) AS handle_sum,
COUNT(f.wrap_ms) AS wrap_n, SUM(f.wrap_ms) AS wrap_sum,
COUNT(f.first_response_ms) AS frt_n, SUM(f.first_response_ms) AS frt_sum, SUM(f.transfers) AS transfers`

// outerSums add the rowSums of base's groups up.
var outerSums = func() string {
	var cols []string
	for _, c := range []string{"n", "handled", "abandoned", "short", "in_sl", "wait_sum", "completed", "handle_n", "handle_sum",
		"wrap_n", "wrap_sum", "frt_n", "frt_sum", "transfers"} {
		cols = append(cols, "CAST(COALESCE(SUM("+c+"), 0) AS BIGINT) AS "+c)
	}
	return strings.Join(cols, ", ")
}()

// sums are the additive aggregates of a group of tasks; figures turns
// them into averages.
type sums struct {
	N, Handled, Abandoned, Short, InSl, WaitSum      *float64
	HandleN, HandleSum, WrapN, WrapSum, FrtN, FrtSum *float64
	Transfers, Completed                             *float64
}

func (s sums) figures() Figures {
	v := func(p *float64) float64 {
		if p == nil {
			return 0
		}
		return *p
	}
	avg := func(sum, n *float64) time.Duration {
		if v(n) == 0 {
			return 0
		}
		return time.Duration(v(sum)/v(n)+0.5) * time.Millisecond
	}
	return Figures{Tasks: int(v(s.N)), Handled: int(v(s.Handled)), Abandoned: int(v(s.Abandoned)), ShortAbandons: int(v(s.Short)),
		InServiceLevel: int(v(s.InSl)), Transfers: int(v(s.Transfers)), CompletedTasks: int(v(s.Completed)), ASA: avg(s.WaitSum, s.Handled),
		AHT: avg(s.HandleSum, s.HandleN), AvgWrap: avg(s.WrapSum, s.WrapN), FirstResponse: avg(s.FrtSum, s.FrtN)}
}

// localSQL turns f.created_at into the server's local day and hour.
type localSQL struct {
	day, hour string
	// dayText writes a day as YYYY-MM-DD (on Postgres, day is a date: it
	// groups faster than text).
	dayText func(day string) string
	args    map[string]any
}

// localTime writes the local day and hour of f.created_at for a range: the
// range splits where the local zone changes its offset (daylight saving),
// and each part shifts UTC by its own offset, so no database needs to know
// the zone.
func localTime(d db.Dialect, from, to time.Time) localSQL {
	args := map[string]any{}
	offset := ""
	var cases []string
	t := from
	for i := 0; ; i++ {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		if end.IsZero() || !end.Before(to) {
			if len(cases) == 0 {
				offset = fmt.Sprint(off)
			} else {
				offset = "CASE " + strings.Join(cases, " ") + fmt.Sprintf(" ELSE %d END", off)
			}
			break
		}
		name := fmt.Sprintf("zb%d", i)
		args[name] = end.UTC()
		cases = append(cases, fmt.Sprintf("WHEN f.created_at < @%s THEN %d", name, off))
		t = end
	}
	if d == db.Postgres {
		shifted := "((f.created_at AT TIME ZONE 'UTC') + (" + offset + ") * INTERVAL '1 second')"
		return localSQL{day: "CAST(" + shifted + " AS date)", hour: "CAST(EXTRACT(HOUR FROM " + shifted + ") AS INTEGER)",
			dayText: func(day string) string { return "to_char(" + day + ", 'YYYY-MM-DD')" }, args: args}
	}
	mod := "(" + offset + ") || ' seconds'"
	return localSQL{day: "strftime('%Y-%m-%d', f.created_at, " + mod + ")",
		hour: "CAST(strftime('%H', f.created_at, " + mod + ") AS INTEGER)", dayText: func(day string) string { return day }, args: args}
}

// names maps the workspace's queue, worker and channel SIDs to what people
// call them: a worker by their full_name attribute where staff
// provisioning set one.
func names(ctx context.Context, d *db.DB, workspaceSid string) (queues, agents, channels map[string]string, err error) {
	q := d.Gorm.WithContext(ctx)
	var rows []struct{ Sid, FriendlyName, Attributes string }
	queues, agents, channels = map[string]string{}, map[string]string{}, map[string]string{}
	for _, t := range []struct {
		table, cols string
		into        map[string]string
	}{{"task_queues", "sid, friendly_name, '' AS attributes", queues}, {"workers", "sid, friendly_name, attributes", agents},
		{"task_channels", "sid, friendly_name, '' AS attributes", channels}} {
		rows = rows[:0]
		if err := q.Table(t.table).Select(t.cols).Where("workspace_sid = ?", workspaceSid).Scan(&rows).Error; err != nil {
			return nil, nil, nil, errs.Wrap(err, "insights: "+t.table)
		}
		for _, r := range rows {
			t.into[r.Sid] = r.FriendlyName
			var attrs struct {
				FullName string `json:"full_name"`
			}
			if r.Attributes != "" && json.Unmarshal([]byte(r.Attributes), &attrs) == nil && attrs.FullName != "" {
				t.into[r.Sid] = attrs.FullName
			}
		}
	}
	return queues, agents, channels, nil
}

func nameOr(names map[string]string, sid, fallback string) string {
	if n, ok := names[sid]; ok {
		return n
	}
	return fallback
}

// DefaultDays is the range a dashboard shows unless asked otherwise: the
// last week, today included.
const DefaultDays = 7

// ParseFilter reads a filter as a form gives it: dates as YYYY-MM-DD in
// the server's time zone (a missing one defaults to the last DefaultDays
// days, ending today), and SIDs. The dates must make a range Dashboard
// accepts.
func (s *Service) ParseFilter(from, to, queueSid, workerSid, taskChannel string) (Filter, error) {
	f := s.DefaultFilter()
	f.QueueSid, f.WorkerSid, f.TaskChannel = queueSid, workerSid, taskChannel
	for _, d := range []struct {
		v   string
		dst *time.Time
	}{{from, &f.From}, {to, &f.To}} {
		if d.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d.v, s.loc)
		if err != nil {
			return f, errs.Invalidf("Write dates as YYYY-MM-DD: %q is not a date", d.v)
		}
		*d.dst = t
	}
	if from == "" && to != "" {
		f.From = f.To.AddDate(0, 0, 1-DefaultDays)
	}
	nf, _, _, err := normalize(f, s.loc)
	return nf, err
}

// DefaultFilter is the last DefaultDays days, today included.
func (s *Service) DefaultFilter() Filter {
	y, m, d := s.now().In(s.loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, s.loc)
	return Filter{From: today.AddDate(0, 0, 1-DefaultDays), To: today}
}

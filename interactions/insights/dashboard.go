package insights

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

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
//   - Transfers: transfers made from the tasks.
type Figures struct {
	Tasks, Handled, Abandoned, ShortAbandons, InServiceLevel, Transfers int
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
	// (local time), zeros included; the others only groups with tasks.
	ByDay, ByHour            []Row
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
	q := s.db.Gorm.WithContext(ctx)
	out := Dashboard{Filter: f}
	if out.QueueNames, out.AgentNames, out.ChannelNames, err = names(ctx, s.db, workspaceSid); err != nil {
		return out, err
	}
	local := localTime(s.db.Dialect, from, to)
	where, args := filterSQL(workspaceSid, f, from, to)
	for k, v := range local.args {
		args[k] = v
	}

	// One pass groups the tasks by day, queue, agent and channel; the
	// rollups sum those groups, so the range is read once for all of them.
	var groups []struct {
		Dim, K1, K2 string
		Sums        sums `gorm:"embedded"`
	}
	rollups := []struct{ dim, k1, k2 string }{
		{"total", "''", "''"}, {"day", "day", "''"}, {"queue", "queue", "''"}, {"agent", "agent", "''"},
		{"channel", "channel", "''"}, {"dayqueue", "day", "queue"},
	}
	var parts []string
	for _, r := range rollups {
		group := ""
		if r.k1 != "''" {
			group = " GROUP BY " + r.k1
			if r.k2 != "''" {
				group += ", " + r.k2
			}
		}
		parts = append(parts, "SELECT '"+r.dim+"' AS dim, "+r.k1+" AS k1, "+r.k2+" AS k2, "+outerSums+" FROM base"+group)
	}
	query := "WITH base AS MATERIALIZED (SELECT " + local.day + " AS day, f.task_queue_sid AS queue, f.worker_sid AS agent, " +
		"f.task_channel_sid AS channel, " + innerSums + factsFrom + where + " GROUP BY 1, 2, 3, 4)\n" + strings.Join(parts, "\nUNION ALL\n")
	if err := q.Raw(query, args).Scan(&groups).Error; err != nil {
		return out, errs.Wrap(err, "insights")
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

	var hours []struct {
		Hour int
		Sums sums `gorm:"embedded"`
	}
	if err := q.Raw("SELECT "+local.hour+" AS hour, "+innerSums+factsFrom+where+" GROUP BY 1", args).Scan(&hours).Error; err != nil {
		return out, errs.Wrap(err, "insights by hour")
	}
	byHour := map[int]Figures{}
	for _, h := range hours {
		byHour[h.Hour] = h.Sums.figures()
	}
	for h := range 24 {
		out.ByHour = append(out.ByHour, Row{Key: fmt.Sprintf("%02d", h), Label: fmt.Sprintf("%02d:00", h), Figures: byHour[h]})
	}

	var disp []struct {
		Code  string
		Label *string
		Count int
	}
	if err := q.Raw(`SELECT f.disposition AS code, MAX(d.label) AS label, COUNT(*) AS count`+factsFrom+`
LEFT JOIN desk_dispositions d ON d.workspace_sid = f.workspace_sid AND d.code = f.disposition`+
		where+` AND f.disposition <> '' GROUP BY f.disposition ORDER BY count DESC, code`, args).Scan(&disp).Error; err != nil {
		return out, errs.Wrap(err, "insights dispositions")
	}
	for _, d := range disp {
		label := d.Code
		if d.Label != nil {
			label = *d.Label
		}
		out.Dispositions = append(out.Dispositions, DispositionCount{Code: d.Code, Label: label, Count: d.Count})
	}
	return out, nil
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

// factsFrom reads the fact table with each task's channel thresholds.
const factsFrom = "\nFROM insights_tasks f JOIN task_channels c ON c.sid = f.task_channel_sid"

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

// innerSums are the additive aggregates of a group of fact rows f (with
// their channel c); outerSums add those of groups up.
const (
	innerSums = `COUNT(*) AS n, COUNT(f.accepted_at) AS handled,
SUM(CASE WHEN f.abandoned AND f.wait_ms > c.short_abandon_seconds * 1000 THEN 1 ELSE 0 END) AS abandoned,
SUM(CASE WHEN f.abandoned AND f.wait_ms <= c.short_abandon_seconds * 1000 THEN 1 ELSE 0 END) AS short,
SUM(CASE WHEN f.accepted_at IS NOT NULL AND f.wait_ms <= c.service_level_seconds * 1000 THEN 1 ELSE 0 END) AS in_sl,
SUM(CASE WHEN f.accepted_at IS NOT NULL THEN f.wait_ms END) AS wait_sum,
COUNT(f.handle_ms) AS handle_n, SUM(f.handle_ms) AS handle_sum, COUNT(f.wrap_ms) AS wrap_n, SUM(f.wrap_ms) AS wrap_sum,
COUNT(f.first_response_ms) AS frt_n, SUM(f.first_response_ms) AS frt_sum, SUM(f.transfers) AS transfers`
	outerSums = `CAST(COALESCE(SUM(n), 0) AS BIGINT) AS n, CAST(COALESCE(SUM(handled), 0) AS BIGINT) AS handled,
CAST(COALESCE(SUM(abandoned), 0) AS BIGINT) AS abandoned, CAST(COALESCE(SUM(short), 0) AS BIGINT) AS short,
CAST(COALESCE(SUM(in_sl), 0) AS BIGINT) AS in_sl, CAST(COALESCE(SUM(wait_sum), 0) AS BIGINT) AS wait_sum,
CAST(COALESCE(SUM(handle_n), 0) AS BIGINT) AS handle_n, CAST(COALESCE(SUM(handle_sum), 0) AS BIGINT) AS handle_sum,
CAST(COALESCE(SUM(wrap_n), 0) AS BIGINT) AS wrap_n, CAST(COALESCE(SUM(wrap_sum), 0) AS BIGINT) AS wrap_sum,
CAST(COALESCE(SUM(frt_n), 0) AS BIGINT) AS frt_n, CAST(COALESCE(SUM(frt_sum), 0) AS BIGINT) AS frt_sum,
CAST(COALESCE(SUM(transfers), 0) AS BIGINT) AS transfers`
)

// sums are the additive aggregates of a group of tasks; figures turns
// them into averages.
type sums struct {
	N, Handled, Abandoned, Short, InSl, WaitSum      *float64
	HandleN, HandleSum, WrapN, WrapSum, FrtN, FrtSum *float64
	Transfers                                        *float64
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
		InServiceLevel: int(v(s.InSl)), Transfers: int(v(s.Transfers)), ASA: avg(s.WaitSum, s.Handled),
		AHT: avg(s.HandleSum, s.HandleN), AvgWrap: avg(s.WrapSum, s.WrapN), FirstResponse: avg(s.FrtSum, s.FrtN)}
}

// localSQL turns f.created_at into the server's local day and hour.
type localSQL struct {
	day, hour string
	args      map[string]any
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
		return localSQL{day: "to_char(" + shifted + ", 'YYYY-MM-DD')",
			hour: "CAST(EXTRACT(HOUR FROM " + shifted + ") AS INTEGER)", args: args}
	}
	mod := "(" + offset + ") || ' seconds'"
	return localSQL{day: "strftime('%Y-%m-%d', f.created_at, " + mod + ")",
		hour: "CAST(strftime('%H', f.created_at, " + mod + ") AS INTEGER)", args: args}
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

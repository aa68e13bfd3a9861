// Package insights renders the historical dashboards: headline tiles,
// charts drawn as SVG on the server (each with its numbers in a table
// too), the breakdown tables and the filter form.
package insights

import (
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions/insights"
)

// Chart is an SVG chart with its geometry worked out: bars, an optional
// line, gridlines and axis labels, and the same numbers for a table.
type Chart struct {
	ID, Title, Desc string
	Width, Height   float64
	Bars            []Bar
	Line            string // the line's SVG path, when the chart is a line
	Dots            []Dot
	Grid            []Tick
	XLabels         []Tick
	Rows            []Datum // what the chart shows, for its table
	Horizontal      bool
	Empty           bool // nothing to draw
}

// Bar is one bar: its box, its label and value (for a tooltip).
type Bar struct {
	X, Y, W, H float64
	Label      string
	Value      string
}

// Dot marks a point of a line.
type Dot struct {
	X, Y         float64
	Label, Value string
}

// Tick is a gridline or axis label at a position.
type Tick struct {
	X, Y  float64
	Label string
}

// Datum is one label and its formatted value.
type Datum struct{ Label, Value string }

// Chart plot area margins.
const (
	chartW, chartH = 640.0, 220.0
	padLeft        = 56.0
	padRight       = 12.0
	padTop         = 12.0
	padBottom      = 30.0
)

// point is a value to chart; ok false leaves a gap (no data).
type point struct {
	label string
	value float64
	ok    bool
}

// niceMax rounds a chart's top up so that its four gridlines fall on
// round numbers: four steps of 1, 2 or 5 times a power of ten.
func niceMax(v float64) float64 {
	if v <= 0 {
		return 4
	}
	step := v / 4
	mag := math.Pow(10, math.Floor(math.Log10(step)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step <= m*mag {
			return 4 * m * mag
		}
	}
	return 40 * mag
}

// grid returns four gridlines over the plot up to top.
func grid(top float64, format func(float64) string) []Tick {
	var ticks []Tick
	plot := chartH - padTop - padBottom
	for i := 0; i <= 4; i++ {
		v := top * float64(i) / 4
		ticks = append(ticks, Tick{X: padLeft, Y: padTop + plot - plot*float64(i)/4, Label: format(v)})
	}
	return ticks
}

// xLabels puts at most about twelve labels under the points.
func xLabels(points []point, x func(i int) float64) []Tick {
	every := max(1, (len(points)+11)/12)
	var out []Tick
	for i, p := range points {
		if i%every == 0 {
			out = append(out, Tick{X: x(i), Y: chartH - 6, Label: p.label})
		}
	}
	return out
}

// columns draws points as vertical bars.
func columns(id, title, desc string, points []point, format func(float64) string, top float64) Chart {
	c := Chart{ID: id, Title: title, Desc: desc, Width: chartW, Height: chartH}
	peak := 0.0
	for _, p := range points {
		peak = max(peak, p.value)
		c.Rows = append(c.Rows, Datum{p.label, valueOr(p, format)})
	}
	if top == 0 {
		top = niceMax(max(peak, 4))
	}
	c.Empty = peak == 0
	c.Grid = grid(top, format)
	plotW, plotH := chartW-padLeft-padRight, chartH-padTop-padBottom
	slot := plotW / float64(max(1, len(points)))
	x := func(i int) float64 { return padLeft + slot*float64(i) + slot/2 }
	for i, p := range points {
		h := plotH * p.value / top
		c.Bars = append(c.Bars, Bar{X: padLeft + slot*float64(i) + slot*0.15, Y: padTop + plotH - h, W: slot * 0.7, H: h,
			Label: p.label, Value: valueOr(p, format)})
	}
	c.XLabels = xLabels(points, x)
	return c
}

// line draws points as a line with dots; points without data break it.
func line(id, title, desc string, points []point, format func(float64) string, top float64) Chart {
	c := Chart{ID: id, Title: title, Desc: desc, Width: chartW, Height: chartH}
	peak := 0.0
	for _, p := range points {
		if p.ok {
			peak = max(peak, p.value)
		}
		c.Rows = append(c.Rows, Datum{p.label, valueOr(p, format)})
	}
	if top == 0 {
		top = niceMax(max(peak, 4))
	}
	c.Grid = grid(top, format)
	plotW, plotH := chartW-padLeft-padRight, chartH-padTop-padBottom
	slot := plotW / float64(max(1, len(points)))
	x := func(i int) float64 { return padLeft + slot*float64(i) + slot/2 }
	// A path, not a polyline: a day with nothing to measure breaks it.
	var path strings.Builder
	any, pen := false, "M"
	for i, p := range points {
		if !p.ok {
			pen = "M"
			continue
		}
		any = true
		y := padTop + plotH - plotH*p.value/top
		fmt.Fprintf(&path, "%s%.1f,%.1f ", pen, x(i), y)
		pen = "L"
		c.Dots = append(c.Dots, Dot{X: x(i), Y: y, Label: p.label, Value: format(p.value)})
	}
	c.Empty = !any
	c.Line = strings.TrimSpace(path.String())
	c.XLabels = xLabels(points, x)
	return c
}

// bars draws points as horizontal bars, one row each, labels on the left.
func bars(id, title, desc string, points []point, format func(float64) string) Chart {
	const rowH, labelW = 26.0, 210.0
	c := Chart{ID: id, Title: title, Desc: desc, Width: chartW, Height: math.Max(rowH*float64(len(points))+8, 40), Horizontal: true}
	peak := 0.0
	for _, p := range points {
		peak = max(peak, p.value)
		c.Rows = append(c.Rows, Datum{p.label, valueOr(p, format)})
	}
	c.Empty = peak == 0
	plotW := chartW - labelW - 60
	for i, p := range points {
		w := 0.0
		if peak > 0 {
			w = plotW * p.value / peak
		}
		c.Bars = append(c.Bars, Bar{X: labelW, Y: 4 + rowH*float64(i), W: w, H: rowH - 8, Label: p.label, Value: format(p.value)})
	}
	return c
}

func valueOr(p point, format func(float64) string) string {
	if !p.ok {
		return "—"
	}
	return format(p.value)
}

func count(v float64) string { return fmt.Sprintf("%.0f", v) }

func pct(v float64) string { return fmt.Sprintf("%.0f%%", v) }

func secs(v float64) string { return Duration(time.Duration(v * float64(time.Second))) }

// Duration writes a duration as people read wait and handle times: 45s,
// 3m 05s, 1h 02m.
func Duration(d time.Duration) string {
	s := int(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
}

// Percent writes a percentage, or — when there is nothing to measure.
func Percent(v float64, ok bool) string {
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f%%", v)
}

// avg writes an average duration, or — when nothing was measured.
func avg(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return Duration(d)
}

// Charts are the dashboard's charts.
type Charts struct {
	ByDay, ByHour, ServiceLevel, ASA, Dispositions Chart
}

// ChartsOf draws the dashboard's charts.
func ChartsOf(d insights.Dashboard) Charts {
	var daily, hourly, sl, asa, disp []point
	for _, r := range d.ByDay {
		day, _ := time.Parse(time.DateOnly, r.Key)
		label := day.Format("2 Jan")
		daily = append(daily, point{label, float64(r.Tasks), true})
		v, ok := r.ServiceLevel()
		sl = append(sl, point{label, v, ok})
		asa = append(asa, point{label, r.ASA.Seconds(), r.Handled > 0})
	}
	for _, r := range d.ByHour {
		hourly = append(hourly, point{r.Key, float64(r.Tasks), true})
	}
	for _, c := range d.Dispositions {
		disp = append(disp, point{c.Label, float64(c.Count), true})
	}
	return Charts{
		ByDay:        columns("chart-day", "Tasks by day", "Tasks created on each day of the range.", daily, count, 0),
		ByHour:       columns("chart-hour", "Tasks by hour of the day", "Tasks created in each hour of the day, over the whole range.", hourly, count, 0),
		ServiceLevel: line("chart-sl", "Service level by day", "Tasks answered within their channel's service level, of those handled or abandoned, each day.", sl, pct, 100),
		ASA:          line("chart-asa", "Average speed of answer by day", "Average time from a task's creation to its acceptance, each day.", asa, secs, 0),
		Dispositions: bars("chart-dispositions", "Dispositions", "Completed tasks by the disposition the agent chose.", disp, count),
	}
}

// FilterForm is the filter form's state: the dates as typed and the
// choices of each select.
type FilterForm struct {
	From, To                 string
	Queue, Agent, Channel    string
	Queues, Agents, Channels []Option
}

// Option is one choice of a select.
type Option struct{ Value, Label string }

// FormOf fills the filter form from the filter in force and the names the
// dashboard knows.
func FormOf(f insights.Filter, d insights.Dashboard) FilterForm {
	return FilterForm{From: f.From.Format(time.DateOnly), To: f.To.Format(time.DateOnly), Queue: f.QueueSid,
		Agent: f.WorkerSid, Channel: f.TaskChannel, Queues: options(d.QueueNames), Agents: options(d.AgentNames),
		Channels: options(d.ChannelNames)}
}

func options(names map[string]string) []Option {
	out := make([]Option, 0, len(names))
	for v, l := range names {
		out = append(out, Option{v, l})
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Label < out[j].Label || out[i].Label == out[j].Label && out[i].Value < out[j].Value
	})
	return out
}

// Query is the form's state as a query string (the CSV link carries it).
func (f FilterForm) Query() string {
	v := url.Values{}
	for k, s := range map[string]string{"from": f.From, "to": f.To, "queue": f.Queue, "agent": f.Agent, "channel": f.Channel} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

func viewBox(c Chart) string { return fmt.Sprintf("0 0 %.0f %.0f", c.Width, c.Height) }

func fx(v float64) string { return fmt.Sprintf("%.1f", v) }

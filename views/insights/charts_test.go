package insights

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/interactions/insights"
)

func TestChartTopsPutFourGridlinesOnRoundNumbers(t *testing.T) {
	for _, c := range []struct{ peak, want float64 }{
		{0, 4}, {3, 4}, {4, 4}, {5, 8}, {9, 20}, {57, 80}, {126, 200}, {199, 200}, {201, 400}, {2100, 4000},
	} {
		if got := niceMax(max(c.peak, 4)); got != c.want {
			t.Errorf("niceMax(%v) = %v, want %v", c.peak, got, c.want)
		}
	}
}

func TestDurationsReadAsPeopleWriteThem(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{{0, "0s"}, {45 * time.Second, "45s"}, {185 * time.Second, "3m 05s"}, {3720 * time.Second, "1h 02m"}, {1499 * time.Millisecond, "1s"}} {
		if got := Duration(c.d); got != c.want {
			t.Errorf("Duration(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

func TestADayWithNothingOfferedBreaksTheServiceLevelLineAndSaysSoInItsTable(t *testing.T) {
	d := insights.Dashboard{ByDay: []insights.Row{
		{Key: "2026-03-09", Figures: insights.Figures{Tasks: 2, Handled: 2, InServiceLevel: 1, ASA: 30 * time.Second}},
		{Key: "2026-03-10"},
		{Key: "2026-03-11", Figures: insights.Figures{Tasks: 1, Handled: 1, InServiceLevel: 1, ASA: 10 * time.Second}},
	}}
	c := ChartsOf(d).ServiceLevel
	if len(c.Dots) != 2 || strings.Count(c.Line, "M") != 2 || strings.Contains(c.Line, "L") || c.Empty {
		t.Fatalf("line %q with %d dots", c.Line, len(c.Dots))
	}
	if c.Rows[0].Value != "50%" || c.Rows[1].Value != "—" || c.Rows[2].Value != "100%" {
		t.Fatalf("table %+v", c.Rows)
	}
	if empty := ChartsOf(insights.Dashboard{ByDay: []insights.Row{{Key: "2026-03-10"}}}); !empty.ServiceLevel.Empty || !empty.ByDay.Empty {
		t.Fatalf("a range without tasks draws something")
	}
}

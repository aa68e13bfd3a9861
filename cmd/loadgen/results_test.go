package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/loadgen"
)

func TestAStepIsSustainedOnlyAtItsRateWithNothingLostAndP99Within50ms(t *testing.T) {
	good := Step{Rate: 1000, Achieved: 990, Latency: loadgen.Latency{P99: 12}}
	for _, tc := range []struct {
		name string
		edit func(*Step)
		want bool
	}{
		{"at rate, p99 12 ms", func(*Step) {}, true},
		{"p99 exactly 50 ms", func(s *Step) { s.Latency.P99 = 50 }, true},
		{"p99 over 50 ms", func(s *Step) { s.Latency.P99 = 50.1 }, false},
		{"achieved under 97%", func(s *Step) { s.Achieved = 960 }, false},
		{"an error", func(s *Step) { s.Latency.Errors = 1 }, false},
		{"a shed send", func(s *Step) { s.Latency.Shed = 1 }, false},
		{"a message never seen", func(s *Step) { s.Latency.Lost = 1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			tc.edit(&s)
			if got := s.sustained(); got != tc.want {
				t.Fatalf("sustained() = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTheTablePrintsEveryRowWithItsRatioAndMarksDisturbedSteps(t *testing.T) {
	var r Results
	r.Machine = Machine{CPUs: 2, Go: "go1.26.8", Postgres: "15.20"}
	r.Plan = fullPlan
	r.Floors.Pg.MsgTx, r.Floors.Pg.Route, r.Floors.Idle.KBPerSocket = 5000, 2000, 15
	r.MaxRate = 2500
	r.Assign.PerSecond = 1000
	r.Idle = Idle{Sockets: 10000, KBPerSocket: 18, GoroutinesPer: 2}
	r.Inbound = Step{Rate: 1000, Disturbed: true}
	var out bytes.Buffer
	printTable(&out, r)
	for _, want := range []string{
		"bench 2cpu 1.26.8 pg15.20 seed=1M msgs  idle=10000  other-cpu>0.3 on steps marked !",
		"= 0.50 * pg.msgtx.c8",
		"= 0.50 * pg.route.c8",
		"18.0 KB/sock = 1.20 * idle.fiber ; goroutines/sock 2.00",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "inbound  e2e") && !strings.HasSuffix(l, " !") {
			t.Errorf("the disturbed inbound row is not marked: %q", l)
		}
	}
}

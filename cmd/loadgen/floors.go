package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/switchboardhq/switchboard/internal/loadgen"
	"github.com/switchboardhq/switchboard/internal/loadgen/floor"
	"github.com/switchboardhq/switchboard/internal/loadgen/switchboard"
)

var (
	listeningRe = regexp.MustCompile(`listening on (http://\S+)`)
	connectedRe = regexp.MustCompile(`connected (\d+) failed (\d+)`)
)

// socketFloors measures the raw fiber server: idle memory per socket, the
// WebSocket echo, and the load generator against a no-op webhook.
func (b *run) socketFloors(ctx context.Context) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	fl, err := start(b.logDir, "floor-server", nil, self, "floor-server")
	if err != nil {
		return err
	}
	b.srv = fl
	defer func() { fl.stop(); b.srv = nil }()
	m, err := fl.await(listeningRe, 10*time.Second)
	if err != nil {
		return err
	}
	base := m[1]
	goroutines := func() (float64, error) {
		var st struct {
			Goroutines int `json:"goroutines"`
		}
		err := getJSON(ctx, base+"/stats", &st)
		return float64(st.Goroutines), err
	}
	b.logf("floors: %d idle sockets on raw fiber", b.plan.Idle)
	idle, h, err := b.idle(ctx, fl.pid(), goroutines, "hold-floor", nil, "--url", "ws"+base[4:]+"/idle")
	if err != nil {
		return err
	}
	h.stop()
	b.res.Floors.Idle = idle
	b.logf("floors: idle %.1f KB and %.2f goroutines per socket", idle.KBPerSocket, idle.GoroutinesPer)
	echo, lag, err := floor.Echo(ctx, "ws"+base[4:]+"/echo", 100, 1000, b.plan.Step, b.plan.Warmup)
	if err != nil {
		return err
	}
	b.res.Floors.Echo, b.res.Floors.Lag = echo, lag
	b.logf("floors: ws echo @1000/s p50 %.2f ms p99 %.2f ms, pacer lag p99 %.2f ms", echo.P50, echo.P99, lag.P99)
	noop := &switchboard.SMS{URL: base + "/noop", AuthToken: "noop", To: "+15550000000", N: 1, HTTP: switchboard.NewHTTPClient(512)}
	b.res.Floors.Noop = b.step(ctx, paced{name: "harness->noop", target: noop.Name(), rate: b.plan.Rate,
		send: func(ctx context.Context, i int, body string) error { return noop.Send(ctx, 0, body) }})
	return nil
}

// idle connects the plan's idle sockets from a holder process of their own
// and reads the server's memory and goroutines before and after. The
// holder keeps them open until the caller stops it.
func (b *run) idle(ctx context.Context, pid int, goroutines func() (float64, error), name string, env []string, args ...string) (Idle, *child, error) {
	self, err := os.Executable()
	if err != nil {
		return Idle{}, nil, err
	}
	time.Sleep(time.Second)
	rss0, err := loadgen.RSS(pid)
	if err != nil {
		return Idle{}, nil, err
	}
	g0, err := goroutines()
	if err != nil {
		return Idle{}, nil, err
	}
	h, err := start(b.logDir, name, env, self, append([]string{"hold", "--n", strconv.Itoa(b.plan.Idle)}, args...)...)
	if err != nil {
		return Idle{}, nil, err
	}
	m, err := h.await(connectedRe, 3*time.Minute)
	if err != nil {
		h.stop()
		return Idle{}, nil, err
	}
	connected, _ := strconv.Atoi(m[1])
	failed, _ := strconv.Atoi(m[2])
	if connected == 0 {
		h.stop()
		return Idle{}, nil, fmt.Errorf("%s connected no socket", name)
	}
	time.Sleep(b.plan.Hold)
	rss1, err := loadgen.RSS(pid)
	if err != nil {
		h.stop()
		return Idle{}, nil, err
	}
	g1, err := goroutines()
	if err != nil {
		h.stop()
		return Idle{}, nil, err
	}
	return Idle{Sockets: connected, Failed: failed, KBPerSocket: float64(rss1-rss0) / 1024 / float64(connected),
		GoroutinesPer: (g1 - g0) / float64(connected)}, h, nil
}

func getJSON(ctx context.Context, url string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %d", url, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// metric reads one unlabelled value from a Prometheus text exposition.
func metric(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(body)
	if m == nil {
		return 0, fmt.Errorf("%s has no %s", url, name)
	}
	return strconv.ParseFloat(string(m[1]), 64)
}

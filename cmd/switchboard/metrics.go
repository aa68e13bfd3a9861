package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboardhq/switchboard/internal/realtime"
)

// startMetrics serves Prometheus metrics, and Go's profiles under
// /debug/pprof/, on their own listener: the Go
// runtime's (goroutines, heap, GC), the process's (CPU, resident memory,
// open files) and the live hub's. A separate address keeps them off the
// public port, where they would tell anyone the load of the node.
func startMetrics(ctx context.Context, addr string, hub *realtime.Hub, log *slog.Logger) (string, error) {
	reg := prometheus.NewRegistry()
	stat := func(name, help string, v func(realtime.Stats) float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "switchboard", Subsystem: "hub", Name: name, Help: help},
			func() float64 { return v(hub.Stats()) })
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		stat("connections", "Live connections (desktops, consoles, chat sockets) on the hub.", func(s realtime.Stats) float64 { return float64(s.Conns) }),
		stat("topics", "Topics with at least one subscriber.", func(s realtime.Stats) float64 { return float64(s.Topics) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "switchboard", Subsystem: "hub", Name: "cut_off_total",
			Help: "Connections cut off as too slow to follow their events."}, func() float64 { return float64(hub.Stats().CutOff) }),
	)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	// Profiles too: where a node spends its CPU is the first question when
	// it falls short of the benchmark.
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	return ln.Addr().String(), nil
}

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"sync"
	"time"

	"github.com/switchboardhq/switchboard/internal/loadgen"
	"github.com/switchboardhq/switchboard/internal/loadgen/pgfloor"
	"github.com/switchboardhq/switchboard/internal/loadgen/seed"
)

// plan is the size and length of a bench run.
type plan struct {
	Quick      bool
	Dataset    seed.Dataset
	DBName     string
	Agents     int
	Idle       int
	Step       time.Duration // one measured step, warm-up included
	Warmup     time.Duration
	PgDuration time.Duration
	PgRuns     int
	Rate       float64 // the inbound rate of the e2e row
	ReplyRate  float64
	RouteRate  float64
	MaxSteps   int
	Flood      time.Duration
	// Hold is how long idle sockets are held before memory is read, so
	// that what connecting allocated has been collected or reused.
	Hold time.Duration
}

var (
	fullPlan = plan{Dataset: seed.Fixed, DBName: "switchboard_bench", Agents: 500, Idle: 10_000,
		Step: 6 * time.Second, Warmup: 2 * time.Second, PgDuration: 4 * time.Second, PgRuns: 2,
		Rate: 1000, ReplyRate: 500, RouteRate: 200, MaxSteps: 6, Flood: 4 * time.Second, Hold: 8 * time.Second}
	quickPlan = plan{Quick: true, Dataset: seed.Dataset{Conversations: 1_000, Messages: 10_000}, DBName: "switchboard_bench_quick",
		Agents: 50, Idle: 1_000, Step: 2500 * time.Millisecond, Warmup: time.Second, PgDuration: time.Second, PgRuns: 1,
		Rate: 500, ReplyRate: 200, RouteRate: 100, MaxSteps: 1, Flood: 1500 * time.Millisecond, Hold: 3 * time.Second}
)

// bench runs the whole benchmark.
func bench(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	quick := fs.Bool("quick", false, "a smoke run of under a minute: small data set, short steps")
	dsn := fs.String("database-url", envOr("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"),
		"a Postgres role that may create databases (env BENCH_DATABASE_URL)")
	server := fs.String("server", "bin/switchboard", "the switchboard binary to measure")
	out := fs.String("json", "bench.json", "where to write the results")
	dbName := fs.String("db-name", "", "the database each run recreates (default switchboard_bench, or switchboard_bench_quick with --quick)")
	profile := fs.String("profile", "", "write the server's CPU profile of one step to this file")
	profileStep := fs.String("profile-step", "inbound", "the step --profile covers: inbound (the first), reply or offer")
	if err := fs.Parse(args); err != nil {
		return err
	}
	p := fullPlan
	if *quick {
		p = quickPlan
	}
	if *dbName != "" {
		p.DBName = *dbName
	}
	logDir, err := os.MkdirTemp("", "loadgen-")
	if err != nil {
		return err
	}
	b := &run{plan: p, adminDSN: *dsn, serverBin: *server, logDir: logDir, started: time.Now(), profile: *profile, profileStep: *profileStep}
	b.res.Machine = machine()
	b.res.Plan = p
	if err := b.all(ctx); err != nil {
		b.cleanup()
		return fmt.Errorf("%w (logs in %s)", err, logDir)
	}
	b.cleanup()
	b.res.Seconds = time.Since(b.started).Seconds()
	printTable(os.Stdout, b.res)
	raw, err := json.MarshalIndent(b.res, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	_ = os.RemoveAll(logDir)
	return nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// run is one bench run in progress.
type run struct {
	plan      plan
	adminDSN  string
	serverBin string
	logDir    string
	started   time.Time
	res       Results
	closers   []func()
	srv       *child
	profile   string
	// profileStep names the step profiled.
	profileStep string
	errMu       sync.Mutex
	errSeen     map[string]bool
}

// server is the pid of the process under test: the floor server, then
// Switchboard.
func (b *run) server() int {
	if b.srv == nil {
		return os.Getpid()
	}
	return b.srv.pid()
}

func (b *run) defer_(f func()) { b.closers = append(b.closers, f) }

func (b *run) cleanup() {
	for i := len(b.closers) - 1; i >= 0; i-- {
		b.closers[i]()
	}
	b.closers = nil
}

func (b *run) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%5.1fs  %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func (b *run) all(ctx context.Context) error {
	if err := b.floors(ctx); err != nil {
		return fmt.Errorf("floors: %w", err)
	}
	return b.product(ctx)
}

// floors measures what the hardware and Postgres can do, in this run.
func (b *run) floors(ctx context.Context) error {
	b.logf("floors: pgbench at 8 clients, best of %d × %s each", b.plan.PgRuns, b.plan.PgDuration)
	var pgbench []int
	m, err := loadgen.StartMeter(os.Getpid(), b.plan.DBName+"_floor")
	if err != nil {
		return err
	}
	pg, err := pgfloor.Measure(ctx, b.adminDSN, pgfloor.Options{Clients: 8, Duration: b.plan.PgDuration, Runs: b.plan.PgRuns, Scratch: b.plan.DBName + "_floor",
		Started: func(pid int) { pgbench = append(pgbench, pid) }})
	if err != nil {
		return err
	}
	b.res.Floors.Pg = pg
	b.res.Floors.PgCPU = m.Stop()
	_ = pgbench // pgbench's CPU shows under machine and database; the step is not flagged on other-CPU
	return b.socketFloors(ctx)
}

// machine describes where the run happened.
func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if mm := regexp.MustCompile(`model name\s*:\s*(.+)`).FindSubmatch(b); mm != nil {
			m.CPU = string(mm[1])
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if mm := regexp.MustCompile(`MemTotal:\s*(\d+)`).FindSubmatch(b); mm != nil {
			fmt.Sscan(string(mm[1]), &kb)
			m.MemoryGB = float64(kb) / (1 << 20)
		}
	}
	if out, err := exec.Command("psql", "--version").Output(); err == nil {
		m.Postgres = string(regexp.MustCompile(`\d+(\.\d+)?`).Find(out))
	}
	return m
}

// secretHex is a fresh random server secret for the run.
func secretHex() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// overloaded says whether another process disturbed a step.
func overloaded(c loadgen.CPU) bool { return c.Other > 0.3 }

// waitFor polls cond every 50 ms until it holds or timeout passes.
func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

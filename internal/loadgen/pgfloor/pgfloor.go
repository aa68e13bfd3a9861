// Package pgfloor measures this machine's Postgres floors with pgbench: the
// 1-row insert, the message transaction and the routing cycle of
// perf.md §2, at a fixed client count, best of a few runs. The bench
// reports the project's numbers as ratios to these floors, measured in the
// same run, because absolute numbers on a shared 2-core box swing 2–3×.
package pgfloor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options of a floor measurement. Zero fields take the defaults of
// perf.md §3: 8 clients, 5 s, best of 3.
type Options struct {
	Clients  int           // pgbench -c; 8
	Duration time.Duration // per run (pgbench -T, whole seconds, at least 1)
	Runs     int           // best of Runs
	Pgbench  string        // path of pgbench; empty: look in PATH, then /usr/lib/postgresql/*/bin/pgbench
	Started  func(pid int) // optional: called with each pgbench process's pid (the caller counts its CPU)
	Scratch  string        // the scratch database; empty: dsn's database plus "_floor"
}

// Result holds transactions per second of each workload, best of the runs, and every run.
type Result struct {
	Insert1 float64              `json:"insert1_tps"`
	MsgTx   float64              `json:"msgtx_tps"`
	Route   float64              `json:"route_per_s"` // routing cycles (assign + release) per second
	Runs    map[string][]float64 `json:"runs"`
}

// Measure creates (dropping any earlier one) a scratch database (Options.Scratch)
// on the same server, creates and fills the tables the workloads touch (10k conversations, 500 workers),
// runs each workload Runs times with pgbench -n -M prepared -c Clients -j 2 -T, parses
// "tps = … (without initial connection time)", drops the scratch database and returns the best of each.
//
// dsn is a postgres:// URL. The runs are interleaved (every workload once,
// then again), so a burst of load from elsewhere hurts one run of each
// rather than every run of one.
func Measure(ctx context.Context, dsn string, o Options) (Result, error) {
	o = o.withDefaults()
	bin, err := findPgbench(o.Pgbench)
	if err != nil {
		return Result{}, err
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return Result{}, fmt.Errorf("pgfloor: dsn must be a postgres:// URL")
	}
	base := strings.TrimPrefix(u.Path, "/")
	if base == "" {
		return Result{}, fmt.Errorf("pgfloor: dsn names no database")
	}
	scratch := o.Scratch
	if scratch == "" {
		scratch = base + "_floor"
	}

	if err := recreate(ctx, dsn, scratch); err != nil {
		return Result{}, err
	}
	defer func() {
		// The scratch database goes even when ctx is what ended the run.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		_ = drop(dctx, dsn, scratch)
	}()

	su := *u
	su.Path = "/" + scratch
	conn, err := pgx.Connect(ctx, su.String())
	if err != nil {
		return Result{}, fmt.Errorf("pgfloor: connect %s: %w", scratch, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, schema); err != nil {
		return Result{}, fmt.Errorf("pgfloor: create tables: %w", err)
	}

	dir, err := os.MkdirTemp("", "pgfloor")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	wls := workloads()
	scripts := make([]string, len(wls))
	for i, w := range wls {
		scripts[i] = filepath.Join(dir, w.name+".sql")
		if err := os.WriteFile(scripts[i], []byte(w.script), 0o600); err != nil {
			return Result{}, err
		}
	}

	res := Result{Runs: map[string][]float64{}}
	for range o.Runs {
		for i, w := range wls {
			if err := prepare(ctx, conn); err != nil {
				return Result{}, err
			}
			tps, err := runPgbench(ctx, bin, su, scripts[i], o)
			if err != nil {
				return Result{}, fmt.Errorf("pgfloor: %s: %w", w.name, err)
			}
			res.Runs[w.name] = append(res.Runs[w.name], tps)
		}
	}
	res.Insert1 = best(res.Runs[Insert1Name])
	res.MsgTx = best(res.Runs[MsgTxName])
	res.Route = best(res.Runs[RouteName])
	return res, nil
}

func (o Options) withDefaults() Options {
	if o.Clients <= 0 {
		o.Clients = 8
	}
	if o.Duration <= 0 {
		o.Duration = 5 * time.Second
	}
	if o.Runs <= 0 {
		o.Runs = 3
	}
	return o
}

// seconds is the run length pgbench takes: whole seconds, at least one.
func (o Options) seconds() int {
	return max(1, int(o.Duration.Round(time.Second)/time.Second))
}

func best(runs []float64) float64 {
	var b float64
	for _, v := range runs {
		b = max(b, v)
	}
	return b
}

// recreate drops any scratch database an interrupted run left behind and
// creates it afresh, connected to dsn's own database (a database cannot
// be created or dropped from inside itself).
func recreate(ctx context.Context, dsn, name string) error {
	if err := drop(ctx, dsn, name); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("pgfloor: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("pgfloor: create database %s: %w", name, err)
	}
	return nil
}

func drop(ctx context.Context, dsn, name string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("pgfloor: connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgfloor: drop database %s: %w", name, err)
	}
	return nil
}

// prepare resets the tables and vacuums away the previous run's dead rows,
// so each run starts from the seeded sizes.
func prepare(ctx context.Context, conn *pgx.Conn) error {
	if _, err := conn.Exec(ctx, reset); err != nil {
		return fmt.Errorf("pgfloor: reset tables: %w", err)
	}
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE conversations, workers"); err != nil {
		return fmt.Errorf("pgfloor: vacuum: %w", err)
	}
	return nil
}

// runPgbench runs one script against the scratch database at target and
// returns its tps. The password travels in PGPASSWORD rather than on the
// command line, where any process on the box could read it.
func runPgbench(ctx context.Context, bin string, target url.URL, script string, o Options) (float64, error) {
	env := os.Environ()
	if p, ok := target.User.Password(); ok {
		env = append(env, "PGPASSWORD="+p)
		target.User = url.User(target.User.Username())
	}
	cmd := exec.CommandContext(ctx, bin,
		"-n", "-M", "prepared",
		"-c", strconv.Itoa(o.Clients), "-j", strconv.Itoa(min(2, o.Clients)),
		"-T", strconv.Itoa(o.seconds()),
		"-f", script,
		target.String())
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	if o.Started != nil {
		o.Started(cmd.Process.Pid)
	}
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: %s", err, lastLines(stderr.String(), 5))
	}
	return parseTPS(stdout.String())
}

// parseTPS reads the throughput from pgbench's report. Only the figure
// without connection time counts: with 8 clients and short runs, the
// connection setup would otherwise show up as a lower floor. pgbench
// before 14 words that line "excluding connections establishing".
func parseTPS(out string) (float64, error) {
	tpsLine := regexp.MustCompile(`(?m)^tps = ([0-9.]+) \((?:without initial connection time|excluding connections establishing)\)`)
	m := tpsLine.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no \"tps = … (without initial connection time)\" in pgbench output: %s", lastLines(out, 5))
	}
	return strconv.ParseFloat(m[1], 64)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// findPgbench returns path when given, else pgbench from PATH, else the
// newest /usr/lib/postgresql/<version>/bin/pgbench, where Debian's
// packages keep it when no wrapper in PATH points at it.
func findPgbench(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p, nil
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	if len(found) == 0 {
		return "", errors.New("pgfloor: pgbench not found in PATH or /usr/lib/postgresql/*/bin")
	}
	version := func(p string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(p))))
		return v
	}
	sort.Slice(found, func(i, j int) bool { return version(found[i]) > version(found[j]) })
	return found[0], nil
}

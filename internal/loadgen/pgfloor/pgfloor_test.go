package pgfloor

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// need skips t when a dependency of the Postgres test is missing, except
// under CI, where a silently skipped floor test would hide a broken bench.
func need(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(why + ", and CI must run the pgbench floor test")
	}
	t.Skip("pgbench floor test skipped: " + why)
}

func TestMeasureGivesEveryFloorAndLeavesNoScratchDatabase(t *testing.T) {
	dsn := os.Getenv("TEST_DATABASE_URL")
	need(t, dsn != "", "TEST_DATABASE_URL is not set (postgres://…)")
	_, err := findPgbench("")
	need(t, err == nil, "pgbench is not installed (Debian: postgresql-15 or postgresql-contrib)")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var started int
	res, err := Measure(ctx, dsn, Options{Clients: 2, Duration: time.Second, Runs: 1,
		Started: func(pid int) {
			if pid > 0 {
				started++
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]float64{"insert1": res.Insert1, "msgtx": res.MsgTx, "route": res.Route} {
		if v <= 0 {
			t.Errorf("%s = %v per second, want > 0", name, v)
		}
		if len(res.Runs[name]) != 1 {
			t.Errorf("runs of %s = %v, want one", name, res.Runs[name])
		}
	}
	if started != 3 {
		t.Errorf("Started was called for %d pgbench processes, want 3", started)
	}

	if scratchLeft(t, dsn) {
		t.Error("the scratch database is still there after Measure")
	}
}

// scratchLeft says whether Measure's scratch database exists.
func scratchLeft(t *testing.T, dsn string) bool {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var left bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_database WHERE datname = current_database() || '_floor')").Scan(&left); err != nil {
		t.Fatal(err)
	}
	return left
}

func TestCancellingTheContextKillsPgbenchAndDropsTheScratchDatabase(t *testing.T) {
	dsn := os.Getenv("TEST_DATABASE_URL")
	need(t, dsn != "", "TEST_DATABASE_URL is not set (postgres://…)")
	_, err := findPgbench("")
	need(t, err == nil, "pgbench is not installed (Debian: postgresql-15 or postgresql-contrib)")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pids := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		_, err := Measure(ctx, dsn, Options{Clients: 2, Duration: time.Minute, Runs: 1,
			Started: func(pid int) { pids <- pid }})
		done <- err
	}()
	var pid int
	select {
	case pid = <-pids:
	case err := <-done:
		t.Fatalf("Measure ended before pgbench started: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("pgbench did not start within a minute")
	}
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Measure returned no error after its context was cancelled")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Measure still runs 20 s after its context was cancelled")
	}
	if _, err := os.Stat("/proc/" + strconv.Itoa(pid)); err == nil {
		t.Errorf("pgbench (pid %d) still runs after cancel", pid)
	}
	if scratchLeft(t, dsn) {
		t.Error("the scratch database is still there after a cancelled Measure")
	}
}

func TestParseTPSReadsTheFigureWithoutConnectionTime(t *testing.T) {
	const sample = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: /tmp/pgfloor123/msgtx.sql
scaling factor: 1
query mode: prepared
number of clients: 8
number of threads: 2
maximum number of tries: 1
duration: 5 s
number of transactions actually processed: 27531
number of failed transactions: 0 (0.000%)
latency average = 1.452 ms
initial connection time = 21.337 ms
tps = 5506.212345 (without initial connection time)
`
	tests := []struct {
		name    string
		out     string
		want    float64
		wantErr bool
	}{
		{"pgbench 15 report", sample, 5506.212345, false},
		{"pgbench 13 report, whose line says excluding connections",
			"tps = 4000.1 (including connections establishing)\ntps = 4100.5 (excluding connections establishing)\n", 4100.5, false},
		{"aborted run without a report", "pgbench: error: client 0 aborted in command 1\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseTPS(tt.out)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("parseTPS = %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

package loadgen

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on every
// Linux this runs on).
const clockTicks = 100

// Machine reads the machine's CPU time: busy and total ticks over all CPUs.
func Machine() (busy, total uint64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat: %q", line)
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		total += n
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, total, nil
}

// ProcTicks is the CPU time (user+system) process pid has used; 0 when it
// has gone.
func ProcTicks(pid int) uint64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from its closing parenthesis.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseUint(f[11], 10, 64)
	s, _ := strconv.ParseUint(f[12], 10, 64)
	return u + s
}

// RSS is process pid's resident set in bytes.
func RSS(pid int) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for process %d", pid)
}

// PIDsNamed lists the processes whose command name is name (such as
// "postgres": the server and every backend).
func PIDsNamed(name string) []int {
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var pids []int
	for _, d := range dirs {
		comm, err := os.ReadFile(d + "/comm")
		if err != nil || strings.TrimSpace(string(comm)) != name {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(d)); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// PostgresPIDs lists the Postgres processes working for database: its
// backends and autovacuum workers, and the server's own background
// processes (writer, checkpointer, WAL) that every database shares. The
// backends of other databases — another tenant's tests — are left out.
func PostgresPIDs(database string) []int {
	var pids []int
	for _, pid := range PIDsNamed("postgres") {
		raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			continue
		}
		title := strings.ReplaceAll(string(raw), "\x00", " ")
		backend := strings.Contains(title, "(") || strings.Contains(title, "[local]") || strings.Contains(title, "autovacuum worker")
		if !backend || database == "" || strings.Contains(title, " "+database+" ") || strings.HasSuffix(strings.TrimSpace(title), " "+database) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// CPU is the CPU used over a step, in cores (CPU-seconds per second).
type CPU struct {
	Seconds float64 `json:"seconds"`
	Machine float64 `json:"machine_cores"`
	// Ours are the processes of the bench: server, load generator, socket
	// holder, the database and its clients.
	Ours float64 `json:"ours_cores"`
	// Other is everything else running on the machine meanwhile.
	Other float64 `json:"other_cores"`
	// Server is the server under test alone.
	Server float64 `json:"server_cores"`
	// Database is the Postgres processes working for the bench's database.
	Database float64 `json:"database_cores"`
}

// Meter measures the CPU of a step.
type Meter struct {
	server   int
	database string
	ours     []int
	start    time.Time
	busy     uint64
	per      map[int]uint64
	db       map[int]uint64
}

// StartMeter begins measuring. server is the process under test, database
// the one it uses ("": count every Postgres process), ours the other
// processes of the bench (this one included).
func StartMeter(server int, database string, ours ...int) (*Meter, error) {
	m := &Meter{server: server, database: database, ours: append([]int{server}, ours...), per: map[int]uint64{}, db: map[int]uint64{}}
	busy, _, err := Machine()
	if err != nil {
		return nil, err
	}
	m.start, m.busy = time.Now(), busy
	for _, p := range m.ours {
		m.per[p] = ProcTicks(p)
	}
	for _, p := range PostgresPIDs(database) {
		m.db[p] = ProcTicks(p)
	}
	return m, nil
}

// Stop ends the measurement. Postgres backends that started and ended
// within the step are not seen (the server keeps its connections pooled);
// one that started within it counts from zero.
func (m *Meter) Stop() CPU {
	busy, _, _ := Machine()
	secs := time.Since(m.start).Seconds()
	cores := func(ticks uint64) float64 { return float64(ticks) / clockTicks / secs }
	c := CPU{Seconds: secs, Machine: cores(busy - m.busy)}
	var ours uint64
	for _, p := range m.ours {
		if d := ProcTicks(p); d >= m.per[p] {
			ours += d - m.per[p]
			if p == m.server {
				c.Server = cores(d - m.per[p])
			}
		}
	}
	var db uint64
	for _, p := range PostgresPIDs(m.database) {
		if t := ProcTicks(p); t >= m.db[p] {
			db += t - m.db[p]
		}
	}
	c.Database = cores(db)
	ours += db
	c.Ours = cores(ours)
	c.Other = max(0, c.Machine-c.Ours)
	return c
}

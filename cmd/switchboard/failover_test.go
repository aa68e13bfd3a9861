package main

import (
	"bufio"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/db/dbtest"
)

// node is a switchboard process whose log the test watches.
type node struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	logs strings.Builder
}

func (n *node) saw(s string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return strings.Contains(n.logs.String(), s)
}

func startNode(t *testing.T, bin, dbURL string) *node {
	t.Helper()
	n := &node{cmd: exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--database-url", dbURL, "--data-dir", t.TempDir())}
	out, w := io.Pipe()
	n.cmd.Stdout, n.cmd.Stderr = w, w
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			n.mu.Lock()
			n.logs.WriteString(sc.Text() + "\n")
			n.mu.Unlock()
		}
	}()
	t.Cleanup(func() { _ = n.cmd.Process.Kill(); _ = n.cmd.Wait(); _ = w.Close() })
	return n
}

func waitFor(t *testing.T, what string, d time.Duration, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestOneNodeRoutesAndAnotherTakesOverWhenItDies runs two server processes
// on one Postgres: exactly one leads the router; when it is killed (no clean
// shutdown), the other takes over.
func TestOneNodeRoutesAndAnotherTakesOverWhenItDies(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	bin := filepath.Join(t.TempDir(), "switchboard")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	const leading = "this node routes tasks"
	a := startNode(t, bin, dbURL)
	waitFor(t, "the first node to lead", 20*time.Second, func() bool { return a.saw(leading) })
	b := startNode(t, bin, dbURL)
	waitFor(t, "the second node to start", 20*time.Second, func() bool { return b.saw("listening on") })
	time.Sleep(3 * time.Second) // several of the follower's attempts to lead
	if b.saw(leading) {
		t.Fatal("two nodes route at once")
	}
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second node to take over", 20*time.Second, func() bool { return b.saw(leading) })
}

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboardhq/switchboard/internal/loadgen/floor"
	"github.com/switchboardhq/switchboard/internal/loadgen/hold"
	"github.com/switchboardhq/switchboard/internal/loadgen/switchboard"
)

// child is a process the bench started: the server, the socket holder or
// the floor server. Its stdout is read line by line; its stderr goes to a
// log file kept for a failed run.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser
	mu    sync.Mutex
	lines []string
	more  chan struct{}
	exit  chan error
	log   string
}

// start runs a child process with env added to the bench's environment.
func start(logDir, name string, env []string, bin string, args ...string) (*child, error) {
	c := &child{name: name, cmd: exec.Command(bin, args...), more: make(chan struct{}, 1), exit: make(chan error, 1)}
	c.cmd.Env = append(os.Environ(), env...)
	logf, err := os.Create(logDir + "/" + name + ".log")
	if err != nil {
		return nil, err
	}
	c.log = logf.Name()
	c.cmd.Stderr = logf
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if c.stdin, err = c.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			select {
			case c.more <- struct{}{}:
			default:
			}
		}
		c.exit <- c.cmd.Wait()
		logf.Close()
		close(c.more)
	}()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// await waits for a line of output matching re and returns its submatches.
func (c *child) await(re *regexp.Regexp, timeout time.Duration) ([]string, error) {
	deadline := time.After(timeout)
	for {
		c.mu.Lock()
		for _, l := range c.lines {
			if m := re.FindStringSubmatch(l); m != nil {
				c.mu.Unlock()
				return m, nil
			}
		}
		c.mu.Unlock()
		select {
		case _, ok := <-c.more:
			if !ok {
				return nil, fmt.Errorf("%s exited before printing %q; see %s", c.name, re, c.log)
			}
		case <-deadline:
			return nil, fmt.Errorf("%s did not print %q within %s; see %s", c.name, re, timeout, c.log)
		}
	}
}

// stop ends the child: closing its stdin asks the bench's own commands to
// end, SIGTERM the server; a child that lingers is killed.
func (c *child) stop() {
	_ = c.stdin.Close()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exit:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.exit
	}
}

// untilStdinCloses blocks until the parent closes our stdin or ctx ends.
func untilStdinCloses(ctx context.Context) {
	closed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(closed)
	}()
	select {
	case <-closed:
	case <-ctx.Done():
	}
}

// floorServer serves the raw fiber floor until stdin closes.
func floorServer(ctx context.Context, args []string) error {
	addr := "127.0.0.1:0"
	if len(args) == 2 && args[0] == "--addr" {
		addr = args[1]
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	app := floor.App()
	go func() { _ = app.Listener(ln) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())
	untilStdinCloses(ctx)
	return app.ShutdownWithTimeout(5 * time.Second)
}

// holdCmd holds idle sockets until stdin closes: raw ones on the floor
// server, or chat-protocol ones, each as its own identity, authenticated
// by a token the key in LOADGEN_KEY (JSON) signs.
func holdCmd(ctx context.Context, args []string) error {
	var url, service string
	n := 0
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--url":
			url = args[i+1]
		case "--n":
			if _, err := fmt.Sscan(args[i+1], &n); err != nil {
				return fmt.Errorf("--n: %w", err)
			}
		case "--chat-service":
			service = args[i+1]
		default:
			return fmt.Errorf("hold: unknown flag %s", args[i])
		}
	}
	cfg := hold.Config{URL: url, N: n, Concurrency: 64}
	if service != "" {
		key, err := keyFromEnv()
		if err != nil {
			return err
		}
		cfg.Header = func(i int) http.Header {
			h, _ := key.ChatHeader(fmt.Sprintf("idle-%d", i), service)
			return h
		}
		cfg.Ready = func(frame []byte) bool { return strings.Contains(string(frame), `"type":"ready"`) }
	}
	set, st := hold.Open(ctx, cfg)
	fmt.Printf("connected %d failed %d %s\n", st.Connected, st.Failed, st.FirstError)
	untilStdinCloses(ctx)
	set.Close()
	return nil
}

// keyFromEnv reads the API key the bench passes to the holder.
func keyFromEnv() (switchboard.Key, error) {
	var k switchboard.Key
	raw := os.Getenv("LOADGEN_KEY")
	if raw == "" {
		return k, fmt.Errorf("LOADGEN_KEY is not set")
	}
	return k, json.Unmarshal([]byte(raw), &k)
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer lets the test read what the running server prints.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func noEnv(string) string { return "" }

func TestServeAnswersHealthServesMetricsAndShutsDownOnCancel(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--dev", "--metrics-addr", "127.0.0.1:0"}, noEnv, out, io.Discard)
	}()
	urlRe := regexp.MustCompile(`listening on (http://\S+)`)
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); {
		if m := urlRe.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		time.Sleep(20 * time.Millisecond)
	}
	if base == "" {
		t.Fatalf("server never printed its URL; output: %s", out.String())
	}
	for _, path := range []string{"/healthz", "/readyz", "/"} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
	}
	if !strings.Contains(out.String(), "HTTP Basic AC") {
		t.Fatalf("dev mode should print the demo credentials; got %s", out.String())
	}
	m := regexp.MustCompile(`Metrics: (http://\S+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("--metrics-addr should print the metrics URL; got %s", out.String())
	}
	resp, err := http.Get(m[1])
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, name := range []string{"go_goroutines ", "process_resident_memory_bytes ", "switchboard_hub_connections "} {
		if !strings.Contains(string(metrics), name) {
			t.Errorf("metrics lack %q:\n%.2000s", name, metrics)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after shutdown", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestDevModeIsRefusedOffLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:8080", ":8080", "10.1.2.3:80"} {
		err := run(context.Background(), []string{"serve", "--dev", "--addr", addr, "--data-dir", t.TempDir()}, noEnv, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("serve --dev --addr %s = %v, want a loopback refusal", addr, err)
		}
	}
	err := run(context.Background(), []string{"serve", "--addr", "0.0.0.0:8080"}, func(k string) string {
		if k == "SWITCHBOARD_DEV" {
			return "1"
		}
		return ""
	}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("SWITCHBOARD_DEV=1 off loopback = %v, want a refusal", err)
	}
}

func TestAPIKeyCreatePrintsOneJSONLine(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"apikey", "create", "--friendly-name", "backend", "--data-dir", dir}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 1 {
		t.Fatalf("printed %d lines, want 1: %q", len(lines), out.String())
	}
	var key map[string]string
	if err := json.Unmarshal([]byte(lines[0]), &key); err != nil {
		t.Fatal(err)
	}
	if len(key) != 3 || !regexp.MustCompile(`^AC[0-9a-f]{32}$`).MatchString(key["account_sid"]) ||
		!regexp.MustCompile(`^SK[0-9a-f]{32}$`).MatchString(key["sid"]) ||
		!regexp.MustCompile(`^[A-Za-z0-9]{32}$`).MatchString(key["secret"]) {
		t.Fatalf("key = %v", key)
	}
	// The same account on the second run: the first run created it.
	out.Reset()
	if err := run(context.Background(), []string{"apikey", "create", "--friendly-name", "second", "--data-dir", dir}, noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var second map[string]string
	_ = json.Unmarshal(out.Bytes(), &second)
	if second["account_sid"] != key["account_sid"] || second["sid"] == key["sid"] {
		t.Fatalf("second key = %v, first %v", second, key)
	}
	if err := run(context.Background(), []string{"apikey", "create", "--data-dir", dir}, noEnv, io.Discard, io.Discard); err == nil {
		t.Fatal("apikey create without --friendly-name succeeded")
	}
}

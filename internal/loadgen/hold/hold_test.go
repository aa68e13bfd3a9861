package hold_test

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/loadgen/floor"
	"github.com/switchboardhq/switchboard/internal/loadgen/hold"
)

// serve runs app on a loopback port for the test; it gives the host:port.
func serve(t *testing.T, app *fiber.App) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(time.Second) })
	return ln.Addr().String()
}

func TestOpenConnectsAllAndCloseEndsThem(t *testing.T) {
	addr := serve(t, floor.App())
	set, stats := hold.Open(t.Context(), hold.Config{URL: "ws://" + addr + "/idle", N: 200, Concurrency: 16})
	if stats.Connected != 200 || stats.Failed != 0 {
		t.Fatalf("want 200 connected: %+v", stats)
	}
	if set.Alive() != 200 {
		t.Errorf("alive %d, want 200", set.Alive())
	}
	set.Close()
	if set.Alive() != 0 {
		t.Errorf("alive %d after Close, want 0", set.Alive())
	}
}

// readyServer says ready only to clients presenting the bearer token
// "good", after a frame that is not ready, and closes on the others.
func readyServer() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/ws", fiberws.New(func(c *fiberws.Conn) {
		if c.Headers("Authorization") != "Bearer good" {
			return
		}
		_ = c.WriteMessage(fiberws.TextMessage, []byte(`{"type":"hello"}`))
		_ = c.WriteMessage(fiberws.TextMessage, []byte(`{"type":"ready"}`))
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	return app
}

func TestOpenCountsAConnectionOnlyOnceItSaysReady(t *testing.T) {
	addr := serve(t, readyServer())
	header := func(i int) http.Header {
		token := "good"
		if i%2 == 1 {
			token = "bad" + strconv.Itoa(i)
		}
		return http.Header{"Authorization": {"Bearer " + token}}
	}
	ready := func(frame []byte) bool { return bytes.Contains(frame, []byte(`"ready"`)) }
	set, stats := hold.Open(t.Context(), hold.Config{URL: "ws://" + addr + "/ws", N: 20, Header: header, Ready: ready})
	defer set.Close()
	if stats.Connected != 10 || stats.Failed != 10 || stats.FirstError == "" {
		t.Fatalf("want the 10 good tokens connected and the 10 bad failed with an error: %+v", stats)
	}
}

func TestOpenCountsFailuresAgainstAClosedPort(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	set, stats := hold.Open(t.Context(), hold.Config{URL: "ws://" + addr + "/idle", N: 5})
	defer set.Close()
	if stats.Connected != 0 || stats.Failed != 5 || stats.FirstError == "" {
		t.Fatalf("want 5 failed with an error: %+v", stats)
	}
}

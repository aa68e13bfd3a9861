package web

import (
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v2"
)

// A socket hangs its closing frame on the server's shutdown rather than on
// a goroutine of its own: closing done must still reach every socket.
func TestAChatSocketIsClosedWith1001WhenTheServerStops(t *testing.T) {
	done := make(chan struct{})
	// No chat service: a socket that has not authenticated never uses it.
	cs := &chatSocket{log: slog.New(slog.DiscardHandler), done: done}
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	addChatRoutes(app, cs)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.Shutdown() })

	var socks []*websocket.Conn
	for range 3 {
		ws, _, err := websocket.DefaultDialer.Dial("ws://"+ln.Addr().String()+"/v1/chat/ws", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		socks = append(socks, ws)
	}
	close(done)
	for i, ws := range socks {
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := ws.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Fatalf("socket %d ended with %v, want close 1001", i, err)
		}
	}
}

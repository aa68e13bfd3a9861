package web

import (
	"sync"
	"time"

	fiberws "github.com/gofiber/contrib/websocket"
)

// readWindow is a socket's read deadline, pushed back while the client
// talks and closed for good when the handler ends the connection: once
// ended nothing extends it again, so a client that keeps sending (or
// answering pings) cannot hold a closed connection open.
type readWindow struct {
	ws     *fiberws.Conn
	limit  time.Duration
	mu     sync.Mutex
	ending bool
}

// newReadWindow gives the client limit to say something, and every pong
// another limit.
func newReadWindow(ws *fiberws.Conn, limit time.Duration) *readWindow {
	w := &readWindow{ws: ws, limit: limit}
	_ = w.extend()
	ws.SetPongHandler(func(string) error { return w.extend() })
	return w
}

// extend gives the client another limit, unless the connection is ending.
func (w *readWindow) extend() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ending {
		return nil
	}
	return w.ws.SetReadDeadline(time.Now().Add(w.limit))
}

// end makes the reader's next read fail, for good.
func (w *readWindow) end() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ending = true
	_ = w.ws.SetReadDeadline(time.Now())
}

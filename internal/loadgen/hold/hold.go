// Package hold holds many idle WebSocket connections open, as the bench's
// idle customers and agents. It runs in a process of its own: the
// per-process limit of open files (20,000 here) would otherwise be shared
// with the server under test.
package hold

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"
)

const (
	// attempts is how often one connection is tried before it counts as
	// failed: a server accepting thousands of sockets at once may drop a
	// few from a full backlog.
	attempts = 4
	// firstBackoff is the wait after the first failure, doubled after each.
	firstBackoff = 50 * time.Millisecond
	// readyWait bounds how long a connection may take to say it is ready.
	readyWait = 10 * time.Second
	// defaultConcurrency is used when Config.Concurrency is not set.
	defaultConcurrency = 64
	// bufferSize is each connection's read and write buffer: idle sockets
	// carry little, and thousands of them are held at once.
	bufferSize = 512
)

// Config says what to connect.
type Config struct {
	// URL is the WebSocket endpoint (ws://…).
	URL string
	// N is how many connections to open.
	N int
	// Concurrency is how many dials are in flight at once (64 when 0).
	Concurrency int
	// Header, when set, gives the request headers of connection i, such as
	// its bearer token.
	Header func(i int) http.Header
	// Ready, when set, must accept a frame the server sends before the
	// connection counts as connected (such as the chat protocol's
	// {"type":"ready"…}); frames before it are discarded.
	Ready func(frame []byte) bool
}

// Stats says how a hold went.
type Stats struct {
	Connected, Failed int
	// FirstError is the last error of the first connection that failed.
	FirstError string
}

// Set is the connections of a hold.
type Set struct {
	conns   []*websocket.Conn
	readers sync.WaitGroup
	alive   atomic.Int64
}

// Open dials c.N connections, each tried a few times with backoff, and
// returns once every dial has finished. Each connection open has a reader
// that discards what arrives; reading is also what answers the server's
// pings.
func Open(ctx context.Context, c Config) (*Set, Stats) {
	workers := c.Concurrency
	if workers <= 0 {
		workers = defaultConcurrency
	}
	dialer := &websocket.Dialer{
		HandshakeTimeout: readyWait,
		ReadBufferSize:   bufferSize,
		WriteBufferSize:  bufferSize,
	}
	s := &Set{}
	var (
		mu    sync.Mutex
		stats Stats
		next  atomic.Int64
		dials sync.WaitGroup
	)
	for range min(workers, c.N) {
		dials.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= c.N {
					return
				}
				ws, err := connect(ctx, dialer, c, i)
				mu.Lock()
				if err != nil {
					if stats.Failed == 0 {
						stats.FirstError = err.Error()
					}
					stats.Failed++
				} else {
					stats.Connected++
					s.conns = append(s.conns, ws)
				}
				mu.Unlock()
				if err == nil {
					s.read(ws)
				}
			}
		})
	}
	dials.Wait()
	return s, stats
}

// connect tries connection i until it is ready, it has had its attempts,
// or ctx ends.
func connect(ctx context.Context, dialer *websocket.Dialer, c Config, i int) (*websocket.Conn, error) {
	var header http.Header
	if c.Header != nil {
		header = c.Header(i)
	}
	backoff := firstBackoff
	var err error
	for attempt := range attempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return nil, errors.Join(err, ctx.Err())
			case <-time.After(backoff):
			}
			backoff *= 2
		}
		var ws *websocket.Conn
		if ws, err = dial(ctx, dialer, c, header); err == nil {
			return ws, nil
		}
	}
	return nil, err
}

// dial makes one attempt at a connection, waiting for its ready frame when
// the config asks for one.
func dial(ctx context.Context, dialer *websocket.Dialer, c Config, header http.Header) (*websocket.Conn, error) {
	ws, resp, err := dialer.DialContext(ctx, c.URL, header)
	if err != nil {
		if resp != nil {
			// The status (401, 429, 503…) says more than "bad handshake".
			return nil, fmt.Errorf("dial %s: %w (%s)", c.URL, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", c.URL, err)
	}
	if c.Ready == nil {
		return ws, nil
	}
	if err := ws.SetReadDeadline(time.Now().Add(readyWait)); err != nil {
		ws.Close()
		return nil, err
	}
	for {
		_, frame, err := ws.ReadMessage()
		if err != nil {
			ws.Close()
			return nil, fmt.Errorf("waiting for ready on %s: %w", c.URL, err)
		}
		if c.Ready(frame) {
			break
		}
	}
	if err := ws.SetReadDeadline(time.Time{}); err != nil {
		ws.Close()
		return nil, err
	}
	return ws, nil
}

// read discards what ws receives until it closes.
func (s *Set) read(ws *websocket.Conn) {
	s.alive.Add(1)
	s.readers.Go(func() {
		defer s.alive.Add(-1)
		for {
			_, r, err := ws.NextReader()
			if err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, r); err != nil {
				return
			}
		}
	})
}

// Alive is how many connections are still open: those the server has
// closed since Open are not.
func (s *Set) Alive() int { return int(s.alive.Load()) }

// Close ends every connection, saying so to the server first so that it
// sees a normal closure rather than a dropped client.
func (s *Set) Close() {
	bye := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "")
	for _, ws := range s.conns {
		_ = ws.WriteControl(websocket.CloseMessage, bye, time.Now().Add(time.Second))
		ws.Close()
	}
	s.readers.Wait()
}

package floor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboardhq/switchboard/internal/loadgen"
)

const (
	// messageSize is the size of each echoed message, about that of a short
	// chat message in its JSON envelope.
	messageSize = 128
	// maxInFlight bounds the writes outstanding at once: far above what a
	// healthy loopback socket needs, so sheds mean the server has stalled.
	maxInFlight = 4096
	// echoWait is how long echoes of the last sends may take before they
	// count as lost.
	echoWait = 2 * time.Second
)

// echoSocket is one client connection; gorilla-style connections allow one
// writer at a time, while the pacer sends from many goroutines.
type echoSocket struct {
	ws *websocket.Conn
	mu sync.Mutex
}

func (s *echoSocket) write(msg []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ws.WriteMessage(websocket.TextMessage, msg)
}

// Echo measures the WebSocket round trip against url (ws://…/echo): conns
// connections carry messageSize-byte messages, each with a loadgen.Token,
// sent open-loop at rate for d, spread round-robin over the connections.
// Latency runs from each message's intended send time to its echo's
// arrival; messages intended before warmup has passed are not counted. It
// returns the latency summary and the pacer's own lag.
func Echo(ctx context.Context, url string, conns int, rate float64, d, warmup time.Duration) (lat, lag loadgen.Latency, err error) {
	if conns < 1 {
		return lat, lag, errors.New("echo: needs at least one connection")
	}
	sockets, err := dialEcho(ctx, url, conns)
	if err != nil {
		return lat, lag, err
	}

	rec := loadgen.NewRecorder(time.Now().Add(warmup))
	track := loadgen.NewTracker(rec)
	var sent, echoed atomic.Int64
	var readers sync.WaitGroup
	for _, s := range sockets {
		readers.Go(func() {
			for {
				_, msg, err := s.ws.ReadMessage()
				if err != nil {
					return
				}
				track.Scan(msg, time.Now())
				echoed.Add(1)
			}
		})
	}

	_, lag = loadgen.Pace(ctx, rate, d, maxInFlight, rec, func(_ context.Context, i int, intended time.Time) {
		// One tracker per run, so tokens need only be unique within it.
		tok := loadgen.Token(0, i)
		track.Expect(tok, intended)
		if err := sockets[i%conns].write(message(tok)); err != nil {
			track.Forget(tok)
			rec.Error(intended)
			return
		}
		sent.Add(1)
	})

	deadline := time.Now().Add(echoWait)
	for echoed.Load() < sent.Load() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	track.Drain()
	for _, s := range sockets {
		s.ws.Close()
	}
	readers.Wait()
	return rec.Summary(), lag, ctx.Err()
}

// dialEcho opens n connections to url, all or none.
func dialEcho(ctx context.Context, url string, n int) ([]*echoSocket, error) {
	dialer := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	sockets := make([]*echoSocket, 0, n)
	for range n {
		ws, _, err := dialer.DialContext(ctx, url, nil)
		if err != nil {
			for _, s := range sockets {
				s.ws.Close()
			}
			return nil, fmt.Errorf("echo: dial %s: %w", url, err)
		}
		sockets = append(sockets, &echoSocket{ws: ws})
	}
	return sockets, nil
}

// message pads tok to messageSize with bytes that cannot be mistaken for
// another token.
func message(tok string) []byte {
	msg := make([]byte, max(messageSize, len(tok)))
	n := copy(msg, tok)
	for i := n; i < len(msg); i++ {
		msg[i] = '.'
	}
	return msg
}

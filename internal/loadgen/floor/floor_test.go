package floor_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboardhq/switchboard/internal/loadgen/floor"
)

// serve runs App on a loopback port for the test; it gives the host:port.
func serve(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	app := floor.App()
	go func() { _ = app.Listener(ln) }()
	t.Cleanup(func() { _ = app.ShutdownWithTimeout(time.Second) })
	return ln.Addr().String()
}

func TestEchoMeasuresEveryMessageRoundTrip(t *testing.T) {
	addr := serve(t)
	lat, lag, err := floor.Echo(t.Context(), "ws://"+addr+"/echo", 4, 200, time.Second, 0)
	if err != nil {
		t.Fatal(err)
	}
	if lat.Count < 190 || lat.Errors != 0 || lat.Lost != 0 || lat.Shed != 0 {
		t.Fatalf("want ~200 round trips, none failed: %+v", lat)
	}
	if lat.P50 <= 0 || lat.Max < lat.P50 {
		t.Errorf("latencies not measured: %+v", lat)
	}
	if lag.Count == 0 {
		t.Errorf("pacer lag not measured: %+v", lag)
	}
}

func TestEchoDropsWarmUpSamples(t *testing.T) {
	addr := serve(t)
	lat, _, err := floor.Echo(t.Context(), "ws://"+addr+"/echo", 2, 200, time.Second, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if lat.Count < 80 || lat.Count > 110 {
		t.Fatalf("want the second half-second only (~100): %+v", lat)
	}
}

func TestEchoFailsWhenTheServerCannotBeReached(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, _, err := floor.Echo(t.Context(), "ws://"+addr+"/echo", 1, 10, 100*time.Millisecond, 0); err == nil {
		t.Fatal("want a dial error")
	}
}

func TestNoopAnswersAnEmptyTwiMLResponse(t *testing.T) {
	addr := serve(t)
	resp, err := http.Post("http://"+addr+"/noop", "application/x-www-form-urlencoded", strings.NewReader("Body=hi"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(body) != floor.NoopReply {
		t.Fatalf("got %d %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
		t.Errorf("content type %q, want text/xml", ct)
	}
}

func TestIdleHoldsTheSocketAndAnswersPingsWithoutEchoing(t *testing.T) {
	addr := serve(t)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/idle", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pong := make(chan struct{}, 1)
	ws.SetPongHandler(func(string) error { pong <- struct{}{}; return nil })
	frames := make(chan []byte, 1)
	go func() {
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			frames <- msg
		}
	}()

	time.Sleep(200 * time.Millisecond)
	if err := ws.WriteMessage(websocket.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-pong:
	case <-time.After(2 * time.Second):
		t.Fatal("no pong: the idle socket is not held")
	}
	select {
	case msg := <-frames:
		t.Fatalf("idle echoed %q", msg)
	case <-time.After(100 * time.Millisecond):
	}
}

func TestStatsReportsTheServerProcess(t *testing.T) {
	addr := serve(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	s, err := floor.FetchStats(ctx, "http://"+addr)
	if err != nil {
		t.Fatal(err)
	}
	if s.Goroutines < 1 || s.RSSBytes < 1<<20 {
		t.Fatalf("implausible stats: %+v", s)
	}
}

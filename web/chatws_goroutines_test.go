package web_test

import (
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/fasthttp/websocket"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// Most chat sockets sit idle, so their goroutines are the price of every
// customer online: one for an idle socket, a second (the event pump) only
// once it follows a conversation, and none left once it is gone.
func TestAnIdleChatSocketHoldsOneGoroutineAndAFollowingOneTwo(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	header := http.Header{"Authorization": {"Bearer " + f.token(t, "alice")}}
	const n = 20    // chatSocketsPerIdentity
	const slack = 5 // the server's own goroutines come and go (workers, jobs)
	base := runtime.NumGoroutine()

	// Raw clients read only when told: they hold no goroutine of their own.
	socks := make([]*websocket.Conn, n)
	for i := range socks {
		ws, _, err := websocket.DefaultDialer.Dial(chatURL(s), header)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = ws.Close() })
		socks[i] = ws
		awaitFrame(t, ws, "ready")
	}
	settles(t, "idle sockets", base, n, slack)

	for _, ws := range socks {
		if err := ws.WriteJSON(map[string]any{"type": "subscribe", "conversation_sid": f.conversation}); err != nil {
			t.Fatal(err)
		}
		awaitFrame(t, ws, "history")
	}
	settles(t, "sockets following a conversation", base, 2*n, slack)

	for _, ws := range socks {
		_ = ws.Close()
	}
	settles(t, "closed sockets", base, 0, slack)
}

// awaitFrame reads ws until a frame of type typ.
func awaitFrame(t *testing.T, ws *websocket.Conn, typ string) {
	t.Helper()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var f map[string]any
		if err := ws.ReadJSON(&f); err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		if f["type"] == typ {
			return
		}
	}
}

// settles waits until the process holds at most want goroutines more than
// base (plus slack), since short-lived ones take a moment to end.
func settles(t *testing.T, what string, base, want, slack int) {
	t.Helper()
	var got int
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got = runtime.NumGoroutine() - base; got <= want+slack {
			return
		}
	}
	t.Fatalf("%s: %d goroutines more than before, want at most %d (+%d)", what, got, want, slack)
}

// Expiry runs on timers, not on the socket's goroutine: they must still
// warn, close, and forget a token that was refreshed in time.
func TestAChatTokenIsWarnedOfAndClosesItsSocketWith4401UnlessRefreshed(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	f := newChatFixture(t, s)
	short := func() string {
		tok, _, err := s.Tokens.Mint(t.Context(), "alice", f.service, 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	expiring := connectChat(t, s, short())
	refreshed := connectChat(t, s, short())
	for _, c := range []*chatClient{expiring, refreshed} {
		c.await("token_expiring", nil) // under a minute left: at once
	}
	refreshed.send(map[string]any{"type": "auth", "id": "r", "token": f.token(t, "alice")})
	if r := refreshed.await("ready", nil); r["id"] != "r" {
		t.Fatalf("ready %v, want the refresh's id", r)
	}
	if code := expiring.awaitClose(); code != 4401 {
		t.Fatalf("the expired token's socket closed with %d, want 4401", code)
	}
	time.Sleep(time.Second) // past the first token's expiry
	refreshed.send(map[string]any{"type": "ping", "id": "p"})
	if p := refreshed.await("pong", nil); p["id"] != "p" {
		t.Fatalf("pong %v", p)
	}
}

// Package floor is what `make bench` measures Switchboard against: a raw
// fiber server doing the least a WebSocket or webhook endpoint can do, and
// the clients that measure it. Run in a process of its own, it gives the
// floors of the bench: the memory an idle socket costs, the WebSocket
// round trip, and the harness against a webhook that does nothing.
package floor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"runtime"

	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/loadgen"
)

// NoopReply is what /noop answers: the empty TwiML a carrier webhook gets.
const NoopReply = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// Stats is what /stats reports of the server process.
type Stats struct {
	Goroutines int   `json:"goroutines"`
	RSSBytes   int64 `json:"rss_bytes"`
}

// App is the raw fiber server the floors are measured against:
//
//	GET  /echo   WebSocket echoing each frame back
//	GET  /idle   WebSocket with a read loop only: what an idle socket costs at the least
//	POST /noop   200 with NoopReply (text/xml), as a carrier webhook's reply
//	GET  /stats  Stats of the process, read without forcing a GC
//
// The WebSockets use contrib/websocket's default Config, and the server
// fiber's defaults (no read or idle timeout, so idle sockets are never cut),
// so that the floor is what the framework costs untuned.
func App() *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/echo", fiberws.New(func(c *fiberws.Conn) {
		for {
			mt, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, msg); err != nil {
				return
			}
		}
	}))
	app.Get("/idle", fiberws.New(func(c *fiberws.Conn) {
		// Reading is what lets the default handlers answer pings and closes.
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	app.Post("/noop", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderContentType, fiber.MIMETextXML)
		return c.SendString(NoopReply)
	})
	app.Get("/stats", func(c *fiber.Ctx) error {
		rss, err := loadgen.RSS(os.Getpid())
		if err != nil {
			return err
		}
		return c.JSON(Stats{Goroutines: runtime.NumGoroutine(), RSSBytes: rss})
	})
	return app
}

// FetchStats reads the Stats of the server at base (http://host:port).
func FetchStats(ctx context.Context, base string) (Stats, error) {
	var s Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stats", nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("stats: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

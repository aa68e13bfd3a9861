// Package web is Switchboard's HTTP surface on Fiber: the Twilio-compatible
// REST API, and (in later work) the agent desktop, admin pages, webchat and
// WebSocket endpoints. Handlers parse, call one service and render; every
// error leaves through one ErrorHandler.
package web

import (
	"context"
	"log/slog"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/conversations"
)

// Authenticator checks REST API credentials and returns the account SID.
type Authenticator interface {
	Authenticate(ctx context.Context, username, password string) (string, error)
}

// Deps are the services the web layer calls.
type Deps struct {
	Log           *slog.Logger
	Accounts      Authenticator
	Conversations *conversations.Engine
	TaskRouter    *taskrouter.Engine
	Interactions  *interactions.Service
	// Ready reports whether the server can do useful work (readiness probe).
	Ready func(ctx context.Context) error
	// PublicURL, when set, is the base of every absolute URL in responses;
	// otherwise each request's own scheme and host are used.
	PublicURL string
	// Dev is demo mode (make run): pages may point at demo credentials.
	Dev bool
}

// New builds the Fiber app with every route.
func New(d Deps) *fiber.App {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	app := fiber.New(fiber.Config{
		DisableStartupMessage: true,
		ErrorHandler:          errorHandler(d.Log),
		// Largest legitimate body: a 32 KB message body, form-encoded (up to ×3).
		BodyLimit:    1 << 20,
		ReadTimeout:  30 * time.Second,
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  120 * time.Second,
	})
	addRoutes(app, d)
	return app
}

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
	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/insights"
	"github.com/switchboardhq/switchboard/interactions/supervise"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/simulator"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/jobs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/realtime"
	"github.com/switchboardhq/switchboard/internal/webchat"
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
	// Channels carries SMS and WhatsApp; nil serves no carrier webhooks.
	Channels *channels.Service
	// Media is the Media Content Service; nil serves no media routes.
	Media *media.Service
	// Ready reports whether the server can do useful work (readiness probe).
	Ready func(ctx context.Context) error
	// PublicURL, when set, is the base of every absolute URL in responses;
	// otherwise each request's own scheme and host are used.
	PublicURL string
	// Dev is demo mode (make run): pages may point at demo credentials.
	Dev bool
	// Simulator is the dev-mode carrier whose phones /dev/phone plays;
	// served only with Dev and Channels.
	Simulator *simulator.Network
	// Hub fans events out to WebSocket clients and Tokens verifies chat
	// access tokens; with both, the chat protocol is served on /v1/chat/ws.
	Hub    *realtime.Hub
	Tokens *auth.Tokens
	// ChatLimits bounds how fast one chat identity sends; nil, no limit.
	ChatLimits ChatLimiter
	// Done is closed when the server starts shutting down: long-lived
	// sockets then close (1001) instead of holding the shutdown up.
	Done <-chan struct{}
	// Webchat runs webchat deployments and customer sessions; nil serves
	// no webchat routes.
	Webchat *webchat.Service
	// WebchatDemoKey is the deployment key /webchat/demo embeds (dev mode).
	WebchatDemoKey string
	// Staff are the members of staff and Sessions their signed-in
	// sessions; with both, sign-in (/auth/…) and staff pages are served.
	Staff    *auth.Directory
	Sessions *auth.Sessions
	// SSO signs staff in with the company's OpenID provider; nil when
	// single sign-on is not configured (dev mode then offers the demo
	// sign-in, /auth/dev).
	SSO *auth.SSO
	// SSORedirectURL is the callback registered with the provider; ""
	// means the public URL (or the request's own) + /auth/callback.
	SSORedirectURL string
	// PlainHTTPCookies leaves Secure off staff cookies: only for a server
	// on plain http at a loopback address (make run, tests).
	PlainHTTPCookies bool
	// Desk serves the agent desktop (/desktop, with Sessions and Hub).
	Desk *desk.Service
	// Supervise serves the supervisor's live views and actions, Insights
	// the historical dashboards (both under the supervisor role).
	Supervise *supervise.Service
	Insights  *insights.Service
	// Keys manages the account's API keys and Jobs the durable jobs
	// (admin pages).
	Keys *auth.Store
	Jobs *jobs.Runner
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
		BodyLimit: 1 << 20,
		// Bodies stream so a media upload (up to 150 MB) goes to the store
		// without sitting in memory; limitBody keeps the 1 MB limit elsewhere.
		// Streaming would pre-read multipart forms of any size, hence off.
		StreamRequestBody:            true,
		DisablePreParseMultipartForm: true,
		ReadTimeout:                  30 * time.Second,
		WriteTimeout:                 30 * time.Second,
		IdleTimeout:                  120 * time.Second,
	})
	app.Server().HeaderReceived = desktopUploadTimeouts(webchatUploadTimeouts(mediaTimeouts))
	app.Use(exceptDesktopUploads(exceptWebchatUploads(limitBody(1 << 20))))
	addRoutes(app, d)
	return app
}

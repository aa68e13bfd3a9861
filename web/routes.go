package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/chat"
)

// addRoutes lists every route and its guard.
func addRoutes(app *fiber.App, d Deps) {
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.SendString("ok") })
	app.Get("/readyz", handleReady(d))

	api := &restAPI{conv: d.Conversations, tr: d.TaskRouter, ix: d.Interactions, ch: d.Channels, publicURL: d.PublicURL}
	app.Get("/", api.handleHome(d.Dev))
	app.Use("/static", staticFiles())
	// Staff sign-in: SSO, logout and, in dev mode, the demo sign-in.
	addSignInRoutes(app, d)
	// The agent desktop: staff with the agent role (requireStaff).
	addDesktopRoutes(app, d)
	// Supervisor and admin pages (requireStaff with their roles).
	addConsoleRoutes(app, d)

	if d.Channels != nil {
		// Carriers authenticate by signature, not Basic auth.
		app.Get("/channels/:ProviderSid", api.channelWebhook)
		app.Post("/channels/:ProviderSid", api.channelWebhook)
	}
	if d.Dev && d.Channels != nil && d.Simulator != nil {
		// The pretend phone: no auth, so never outside dev mode (loopback only).
		addDevPhoneRoutes(app, d.Channels, d.Simulator)
	}

	if d.Hub != nil && d.Tokens != nil {
		// Chat clients authenticate with access tokens, not Basic auth:
		// mounted before the /v1 group's guard.
		cs := &chatSocket{chat: chat.New(d.Conversations, d.Tokens, d.Hub, d.Media), hub: d.Hub,
			limits: d.ChatLimits, log: d.Log, publicURL: d.PublicURL, done: d.Done}
		if d.Webchat != nil {
			cs.media = d.Webchat
		}
		addChatRoutes(app, cs)
	}

	v1 := app.Group("/v1", basicAuth(d.Accounts))
	api.addAccountRoutes(v1)
	api.addAddressConfigurationRoutes(v1)
	api.addConversationRoutes(v1)
	// Statistics first: /TaskQueues/Statistics must not be taken for a queue SID.
	api.addTaskRouterStatisticsRoutes(v1)
	api.addTaskRouterRoutes(v1)
	api.addInteractionRoutes(v1)
	addMediaRoutes(app, v1, api, d.Media)
	addWebchatRoutes(app, v1, api, d.Webchat)
	if d.Webchat != nil {
		// The widget's frame (public: customers' sites embed it) and, in
		// dev mode, the demo site.
		addWebchatPages(app, api, d.Webchat, d.Dev, d.WebchatDemoKey)
	}
	if d.Channels != nil {
		api.addChannelRoutes(v1)
	}
	if d.Desk != nil {
		// The desk's data for admin tools: canned responses, dispositions.
		api.addDeskDataRoutes(v1, d.Desk)
	}
}

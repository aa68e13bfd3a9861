package web

import "github.com/gofiber/fiber/v2"

// addConversationWebhookRoutes mounts /Conversations/{CH}/Webhooks.
func (a *restAPI) addConversationWebhookRoutes(g fiber.Router) {}

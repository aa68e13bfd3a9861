package web

import "github.com/gofiber/fiber/v2"

// addAdminIntegrationRoutes mounts webchat, numbers, canned responses, dispositions, API keys, webhooks and failed jobs.
func addAdminIntegrationRoutes(g fiber.Router, d Deps) {}

package web

import "github.com/gofiber/fiber/v2"

// addAdminRoutingRoutes mounts workspace, task channels, queues, workflows and users.
func addAdminRoutingRoutes(g fiber.Router, d Deps) {}

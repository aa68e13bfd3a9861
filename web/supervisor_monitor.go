package web

import "github.com/gofiber/fiber/v2"

// addMonitorRoutes mounts live monitoring, join and reassign.
func addMonitorRoutes(g fiber.Router, d Deps) {}

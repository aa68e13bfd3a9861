package web

import "github.com/gofiber/fiber/v2"

// addSupervisorRoutes mounts the real-time queues and teams views and their socket.
func addSupervisorRoutes(g fiber.Router, d Deps) {}

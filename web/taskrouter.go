package web

import "github.com/gofiber/fiber/v2"

// addTaskRouterRoutes mounts TaskRouter v1 under /v1/Workspaces.
func (a *restAPI) addTaskRouterRoutes(v1 fiber.Router) {}

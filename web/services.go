package web

import "github.com/gofiber/fiber/v2"

// addAccountRoutes mounts the account-level resources: /v1/Services,
// /v1/Configuration, /v1/Configuration/Webhooks.
func (a *restAPI) addAccountRoutes(v1 fiber.Router) {}

// addServiceAdminRoutes mounts the per-service Users, Roles and UserConversations
// (and, under /v1/Services/{IS}, the service's Configuration).
func (a *restAPI) addServiceAdminRoutes(s scoped) {}

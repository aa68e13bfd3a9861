package web

import "github.com/gofiber/fiber/v2"

// addAddressConfigurationRoutes mounts /v1/Configuration/Addresses.
func (a *restAPI) addAddressConfigurationRoutes(v1 fiber.Router) {}

package web

import "github.com/gofiber/fiber/v2"

// addParticipantConversationRoutes mounts /ParticipantConversations.
func (a *restAPI) addParticipantConversationRoutes(g fiber.Router) {}

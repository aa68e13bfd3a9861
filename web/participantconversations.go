package web

// addParticipantConversationRoutes mounts /ParticipantConversations.
func (a *restAPI) addParticipantConversationRoutes(s scoped) {}

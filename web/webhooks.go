package web

// addConversationWebhookRoutes mounts /Conversations/{CH}/Webhooks.
func (a *restAPI) addConversationWebhookRoutes(s scoped) {}

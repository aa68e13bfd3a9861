package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// addConversationWebhookRoutes mounts /Conversations/{CH}/Webhooks.
func (a *restAPI) addConversationWebhookRoutes(s scoped) {
	s.post("/Conversations/:Sid/Webhooks", a.createConversationWebhook)
	s.get("/Conversations/:Sid/Webhooks", a.listConversationWebhooks)
	s.get("/Conversations/:Sid/Webhooks/:Webhook", a.fetchConversationWebhook)
	s.post("/Conversations/:Sid/Webhooks/:Webhook", a.updateConversationWebhook)
	s.del("/Conversations/:Sid/Webhooks/:Webhook", a.deleteConversationWebhook)
}

// scopedWebhookConfigJSON shows, as Twilio's examples do, only the settings
// that are set: a studio hook has no url, a plain webhook no triggers.
type scopedWebhookConfigJSON struct {
	URL         string   `json:"url,omitempty"`
	Method      string   `json:"method,omitempty"`
	Filters     []string `json:"filters,omitempty"`
	Triggers    []string `json:"triggers,omitempty"`
	FlowSid     string   `json:"flow_sid,omitempty"`
	ReplayAfter *int     `json:"replay_after,omitempty"`
}

type conversationWebhookJSON struct {
	AccountSid      string                  `json:"account_sid"`
	ChatServiceSid  string                  `json:"chat_service_sid"`
	ConversationSid string                  `json:"conversation_sid"`
	Sid             string                  `json:"sid"`
	Target          string                  `json:"target"`
	URL             string                  `json:"url"`
	Configuration   scopedWebhookConfigJSON `json:"configuration"`
	DateCreated     string                  `json:"date_created"`
	DateUpdated     string                  `json:"date_updated"`
}

func (a *restAPI) conversationWebhookJSON(c *fiber.Ctx, w conversations.ConversationWebhook) conversationWebhookJSON {
	cfg := scopedWebhookConfigJSON{URL: w.URL, Filters: w.FilterList(), Triggers: w.TriggerList(),
		FlowSid: w.FlowSid, ReplayAfter: w.ReplayAfter}
	if w.URL != "" {
		cfg.Method = w.Method
	}
	return conversationWebhookJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: w.ServiceSid, ConversationSid: w.ConversationSid, Sid: w.Sid,
		Target: w.Target, URL: a.scopeURL(c, "/Conversations/"+w.ConversationSid+"/Webhooks/"+w.Sid),
		Configuration: cfg, DateCreated: isoTime(w.DateCreated), DateUpdated: isoTime(w.DateUpdated),
	}
}

func conversationWebhookParams(c *fiber.Ctx) (conversations.ConversationWebhookParams, error) {
	f := form{c}
	p := conversations.ConversationWebhookParams{
		Target: f.str("Target"), URL: f.str("Configuration.Url"), Method: f.str("Configuration.Method"),
		FlowSid: f.str("Configuration.FlowSid"),
	}
	p.Filters, _ = f.strs("Configuration.Filters")
	p.Triggers, _ = f.strs("Configuration.Triggers")
	var err error
	p.ReplayAfter, err = f.integer("Configuration.ReplayAfter")
	return p, err
}

func (a *restAPI) createConversationWebhook(c *fiber.Ctx) error {
	p, err := conversationWebhookParams(c)
	if err != nil {
		return err
	}
	w, err := a.conv.CreateConversationWebhook(c.UserContext(), serviceOf(c), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return created(c, a.conversationWebhookJSON(c, w))
}

func (a *restAPI) fetchConversationWebhook(c *fiber.Ctx) error {
	w, err := a.conv.ConversationWebhook(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Webhook"))
	if err != nil {
		return err
	}
	return c.JSON(a.conversationWebhookJSON(c, w))
}

func (a *restAPI) updateConversationWebhook(c *fiber.Ctx) error {
	p, err := conversationWebhookParams(c)
	if err != nil {
		return err
	}
	w, err := a.conv.UpdateConversationWebhook(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Webhook"), p)
	if err != nil {
		return err
	}
	return c.JSON(a.conversationWebhookJSON(c, w))
}

func (a *restAPI) deleteConversationWebhook(c *fiber.Ctx) error {
	if err := a.conv.DeleteConversationWebhook(c.UserContext(), serviceOf(c), param(c, "Sid"), param(c, "Webhook")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listConversationWebhooks(c *fiber.Ctx) error {
	pg, err := pageParams(c, 5, 5)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.ConversationWebhooks(c.UserContext(), serviceOf(c), param(c, "Sid"), pg.Page)
	if err != nil {
		return err
	}
	out := make([]conversationWebhookJSON, len(rows))
	for i, w := range rows {
		out[i] = a.conversationWebhookJSON(c, w)
	}
	list := a.scopeURL(c, "/Conversations/"+param(c, "Sid")+"/Webhooks")
	return c.JSON(fiber.Map{"webhooks": out, "meta": meta(c, list, "webhooks", pg, more)})
}

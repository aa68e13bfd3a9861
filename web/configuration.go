package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

type configurationJSON struct {
	AccountSid                 string            `json:"account_sid"`
	DefaultChatServiceSid      string            `json:"default_chat_service_sid"`
	DefaultMessagingServiceSid *string           `json:"default_messaging_service_sid"`
	DefaultInactiveTimer       *string           `json:"default_inactive_timer"`
	DefaultClosedTimer         *string           `json:"default_closed_timer"`
	URL                        string            `json:"url"`
	Links                      map[string]string `json:"links"`
}

func (a *restAPI) configurationJSON(c *fiber.Ctx, cfg conversations.Configuration) configurationJSON {
	u := a.base(c) + "/v1/Configuration"
	return configurationJSON{
		AccountSid: cfg.AccountSid, DefaultChatServiceSid: cfg.DefaultChatServiceSid,
		DefaultMessagingServiceSid: nullable(cfg.DefaultMessagingServiceSid),
		DefaultInactiveTimer:       nullable(cfg.DefaultInactiveTimer), DefaultClosedTimer: nullable(cfg.DefaultClosedTimer),
		URL:   u,
		Links: map[string]string{"service": a.serviceURL(c, cfg.DefaultChatServiceSid), "webhooks": u + "/Webhooks"},
	}
}

func (a *restAPI) fetchConfiguration(c *fiber.Ctx) error {
	cfg, err := a.conv.Configuration(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(a.configurationJSON(c, cfg))
}

func (a *restAPI) updateConfiguration(c *fiber.Ctx) error {
	f := form{c}
	cfg, err := a.conv.UpdateConfiguration(c.UserContext(), conversations.ConfigurationParams{
		DefaultChatServiceSid: f.str("DefaultChatServiceSid"), DefaultMessagingServiceSid: f.str("DefaultMessagingServiceSid"),
		DefaultInactiveTimer: f.str("DefaultInactiveTimer"), DefaultClosedTimer: f.str("DefaultClosedTimer"),
	})
	if err != nil {
		return err
	}
	return c.JSON(a.configurationJSON(c, cfg))
}

// webhookConfigJSON renders both webhook configurations: the global one has
// a target, a service's has its chat_service_sid.
type webhookConfigJSON struct {
	AccountSid     string   `json:"account_sid"`
	ChatServiceSid string   `json:"chat_service_sid,omitempty"`
	Method         string   `json:"method"`
	Filters        []string `json:"filters"`
	PreWebhookURL  *string  `json:"pre_webhook_url"`
	PostWebhookURL *string  `json:"post_webhook_url"`
	Target         string   `json:"target,omitempty"`
	URL            string   `json:"url"`
}

func (a *restAPI) webhookConfigJSON(c *fiber.Ctx, w conversations.WebhookConfig) webhookConfigJSON {
	out := webhookConfigJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: w.Scope, Method: w.Method, Filters: w.FilterList(),
		PreWebhookURL: nullable(w.PreWebhookURL), PostWebhookURL: nullable(w.PostWebhookURL),
		URL: a.base(c) + "/v1/Configuration/Webhooks",
	}
	if w.Scope == "" {
		out.Target = w.Target
	} else {
		out.URL = a.serviceURL(c, w.Scope) + "/Configuration/Webhooks"
	}
	return out
}

// fetchWebhookConfig serves the global configuration, or a service's when the
// path names one.
func (a *restAPI) fetchWebhookConfig(c *fiber.Ctx) error {
	w, err := a.conv.WebhookConfig(c.UserContext(), param(c, "ServiceSid"))
	if err != nil {
		return err
	}
	return c.JSON(a.webhookConfigJSON(c, w))
}

func (a *restAPI) updateWebhookConfig(c *fiber.Ctx) error {
	f := form{c}
	p := conversations.WebhookConfigParams{Method: f.str("Method"), PreWebhookURL: f.str("PreWebhookUrl"),
		PostWebhookURL: f.str("PostWebhookUrl"), Target: f.str("Target")}
	p.Filters, _ = f.strs("Filters")
	w, err := a.conv.UpdateWebhookConfig(c.UserContext(), param(c, "ServiceSid"), p)
	if err != nil {
		return err
	}
	return c.JSON(a.webhookConfigJSON(c, w))
}

type serviceConfigurationJSON struct {
	ChatServiceSid                    string            `json:"chat_service_sid"`
	DefaultConversationCreatorRoleSid string            `json:"default_conversation_creator_role_sid"`
	DefaultConversationRoleSid        string            `json:"default_conversation_role_sid"`
	DefaultChatServiceRoleSid         string            `json:"default_chat_service_role_sid"`
	ReachabilityEnabled               bool              `json:"reachability_enabled"`
	URL                               string            `json:"url"`
	Links                             map[string]string `json:"links"`
}

func (a *restAPI) serviceConfigurationJSON(c *fiber.Ctx, s conversations.Service) serviceConfigurationJSON {
	u := a.serviceURL(c, s.Sid) + "/Configuration"
	return serviceConfigurationJSON{
		ChatServiceSid: s.Sid, DefaultConversationCreatorRoleSid: s.DefaultConversationCreatorRoleSid,
		DefaultConversationRoleSid: s.DefaultConversationRoleSid, DefaultChatServiceRoleSid: s.DefaultChatServiceRoleSid,
		ReachabilityEnabled: s.ReachabilityEnabled, URL: u,
		Links: map[string]string{"notifications": u + "/Notifications", "webhooks": u + "/Webhooks"},
	}
}

func (a *restAPI) fetchServiceConfiguration(c *fiber.Ctx) error {
	s, err := a.conv.ResolveService(c.UserContext(), serviceOf(c))
	if err != nil {
		return err
	}
	return c.JSON(a.serviceConfigurationJSON(c, s))
}

func (a *restAPI) updateServiceConfiguration(c *fiber.Ctx) error {
	f := form{c}
	reach, err := f.boolean("ReachabilityEnabled")
	if err != nil {
		return err
	}
	s, err := a.conv.UpdateServiceConfiguration(c.UserContext(), serviceOf(c), conversations.ServiceConfigParams{
		DefaultConversationCreatorRoleSid: f.str("DefaultConversationCreatorRoleSid"),
		DefaultConversationRoleSid:        f.str("DefaultConversationRoleSid"),
		DefaultChatServiceRoleSid:         f.str("DefaultChatServiceRoleSid"),
		ReachabilityEnabled:               reach,
	})
	if err != nil {
		return err
	}
	return c.JSON(a.serviceConfigurationJSON(c, s))
}

type notificationsJSON struct {
	AccountSid     string `json:"account_sid"`
	ChatServiceSid string `json:"chat_service_sid"`
	conversations.Notifications
	URL string `json:"url"`
}

func (a *restAPI) renderNotifications(c *fiber.Ctx, n conversations.Notifications) error {
	return c.JSON(notificationsJSON{AccountSid: a.conv.AccountSid(), ChatServiceSid: serviceOf(c), Notifications: n,
		URL: a.scopeURL(c, "/Configuration/Notifications")})
}

func (a *restAPI) fetchNotifications(c *fiber.Ctx) error {
	n, err := a.conv.ServiceNotifications(c.UserContext(), serviceOf(c))
	if err != nil {
		return err
	}
	return a.renderNotifications(c, n)
}

func (a *restAPI) updateNotifications(c *fiber.Ctx) error {
	f := form{c}
	p := conversations.NotificationParams{
		NewMessageTemplate: f.str("NewMessage.Template"), NewMessageSound: f.str("NewMessage.Sound"),
		NewMessageWithMediaTemplate: f.str("NewMessage.WithMedia.Template"),
		AddedToConversationTemplate: f.str("AddedToConversation.Template"), AddedToConversationSound: f.str("AddedToConversation.Sound"),
		RemovedFromConversationTemplate: f.str("RemovedFromConversation.Template"),
		RemovedFromConversationSound:    f.str("RemovedFromConversation.Sound"),
	}
	for _, b := range []struct {
		name string
		dst  **bool
	}{
		{"LogEnabled", &p.LogEnabled}, {"NewMessage.Enabled", &p.NewMessageEnabled},
		{"NewMessage.BadgeCountEnabled", &p.NewMessageBadgeCountEnabled}, {"NewMessage.WithMedia.Enabled", &p.NewMessageWithMediaEnabled},
		{"AddedToConversation.Enabled", &p.AddedToConversationEnabled}, {"RemovedFromConversation.Enabled", &p.RemovedFromConversationEnabled},
	} {
		v, err := f.boolean(b.name)
		if err != nil {
			return err
		}
		*b.dst = v
	}
	n, err := a.conv.UpdateServiceNotifications(c.UserContext(), serviceOf(c), p)
	if err != nil {
		return err
	}
	return a.renderNotifications(c, n)
}

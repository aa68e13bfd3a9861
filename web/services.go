package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// addAccountRoutes mounts the account-level resources: /v1/Services,
// /v1/Configuration, /v1/Configuration/Webhooks, and each service's own
// configuration. The latter lives here rather than in addServiceAdminRoutes
// because under the default scope /v1/Configuration is the account's.
func (a *restAPI) addAccountRoutes(v1 fiber.Router) {
	v1.Post("/Services", a.createService)
	v1.Get("/Services", a.listServices)
	v1.Get("/Services/:ServiceSid", a.fetchService)
	v1.Delete("/Services/:ServiceSid", a.deleteService)

	v1.Get("/Configuration", a.fetchConfiguration)
	v1.Post("/Configuration", a.updateConfiguration)
	v1.Get("/Configuration/Webhooks", a.fetchWebhookConfig)
	v1.Post("/Configuration/Webhooks", a.updateWebhookConfig)

	s := scoped{g: v1.Group("/Services/:ServiceSid"), a: a}
	s.get("/Configuration", a.fetchServiceConfiguration)
	s.post("/Configuration", a.updateServiceConfiguration)
	s.get("/Configuration/Notifications", a.fetchNotifications)
	s.post("/Configuration/Notifications", a.updateNotifications)
	s.get("/Configuration/Webhooks", a.fetchWebhookConfig)
	s.post("/Configuration/Webhooks", a.updateWebhookConfig)
}

// addServiceAdminRoutes mounts the per-service Users, Roles and
// UserConversations, once per scope.
func (a *restAPI) addServiceAdminRoutes(s scoped) {
	s.post("/Users", a.createUser)
	s.get("/Users", a.listUsers)
	s.get("/Users/:User", a.fetchUser)
	s.post("/Users/:User", a.updateUser)
	s.del("/Users/:User", a.deleteUser)
	s.get("/Users/:User/Conversations", a.listUserConversations)
	s.get("/Users/:User/Conversations/:Conversation", a.fetchUserConversation)
	s.post("/Users/:User/Conversations/:Conversation", a.updateUserConversation)
	s.del("/Users/:User/Conversations/:Conversation", a.deleteUserConversation)

	s.post("/Roles", a.createRole)
	s.get("/Roles", a.listRoles)
	s.get("/Roles/:Role", a.fetchRole)
	s.post("/Roles/:Role", a.updateRole)
	s.del("/Roles/:Role", a.deleteRole)
}

type serviceJSON struct {
	AccountSid   string            `json:"account_sid"`
	Sid          string            `json:"sid"`
	FriendlyName string            `json:"friendly_name"`
	DateCreated  string            `json:"date_created"`
	DateUpdated  string            `json:"date_updated"`
	URL          string            `json:"url"`
	Links        map[string]string `json:"links"`
}

// serviceURL is the absolute URL of a service.
func (a *restAPI) serviceURL(c *fiber.Ctx, serviceSid string) string {
	return a.base(c) + "/v1/Services/" + serviceSid
}

func (a *restAPI) serviceJSON(c *fiber.Ctx, s conversations.Service) serviceJSON {
	u := a.serviceURL(c, s.Sid)
	return serviceJSON{
		AccountSid: a.conv.AccountSid(), Sid: s.Sid, FriendlyName: s.FriendlyName,
		DateCreated: isoTime(s.DateCreated), DateUpdated: isoTime(s.DateUpdated), URL: u,
		Links: map[string]string{
			"conversations": u + "/Conversations", "users": u + "/Users", "roles": u + "/Roles",
			"bindings": u + "/Bindings", "configuration": u + "/Configuration",
			"participant_conversations": u + "/ParticipantConversations",
		},
	}
}

func (a *restAPI) createService(c *fiber.Ctx) error {
	s, err := a.conv.CreateService(c.UserContext(), form{c}.str("FriendlyName"))
	if err != nil {
		return err
	}
	return created(c, a.serviceJSON(c, s))
}

func (a *restAPI) fetchService(c *fiber.Ctx) error {
	s, err := a.conv.ResolveService(c.UserContext(), param(c, "ServiceSid"))
	if err != nil {
		return err
	}
	return c.JSON(a.serviceJSON(c, s))
}

func (a *restAPI) deleteService(c *fiber.Ctx) error {
	if err := a.conv.DeleteService(c.UserContext(), param(c, "ServiceSid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listServices(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.Services(c.UserContext(), pg.Page)
	if err != nil {
		return err
	}
	out := make([]serviceJSON, len(rows))
	for i, s := range rows {
		out[i] = a.serviceJSON(c, s)
	}
	return c.JSON(fiber.Map{"services": out, "meta": meta(c, a.base(c)+"/v1/Services", "services", pg, more)})
}

package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

// addAddressConfigurationRoutes mounts /v1/Configuration/Addresses. A
// configuration is addressed by its IG SID or by the address itself.
func (a *restAPI) addAddressConfigurationRoutes(v1 fiber.Router) {
	v1.Post("/Configuration/Addresses", a.createAddressConfiguration)
	v1.Get("/Configuration/Addresses", a.listAddressConfigurations)
	v1.Get("/Configuration/Addresses/:Sid", a.fetchAddressConfiguration)
	v1.Post("/Configuration/Addresses/:Sid", a.updateAddressConfiguration)
	v1.Delete("/Configuration/Addresses/:Sid", a.deleteAddressConfiguration)
}

// autoCreationJSON shows, as Twilio's examples do, the settings of the
// configured kind of auto-creation and leaves out what is unset.
type autoCreationJSON struct {
	Enabled                bool     `json:"enabled"`
	Type                   string   `json:"type"`
	ConversationServiceSid string   `json:"conversation_service_sid,omitempty"`
	WebhookURL             string   `json:"webhook_url,omitempty"`
	WebhookMethod          string   `json:"webhook_method,omitempty"`
	WebhookFilters         []string `json:"webhook_filters,omitempty"`
	StudioFlowSid          string   `json:"studio_flow_sid,omitempty"`
	StudioRetryCount       *int     `json:"studio_retry_count,omitempty"`
}

type addressConfigurationJSON struct {
	AccountSid     string           `json:"account_sid"`
	Sid            string           `json:"sid"`
	Type           string           `json:"type"`
	Address        string           `json:"address"`
	FriendlyName   *string          `json:"friendly_name"`
	AddressCountry *string          `json:"address_country"`
	AutoCreation   autoCreationJSON `json:"auto_creation"`
	DateCreated    string           `json:"date_created"`
	DateUpdated    string           `json:"date_updated"`
	URL            string           `json:"url"`
}

func (a *restAPI) addressConfigurationJSON(c *fiber.Ctx, v conversations.AddressConfiguration) addressConfigurationJSON {
	auto := autoCreationJSON{
		Enabled: v.AutoCreationEnabled, Type: v.AutoCreationType, ConversationServiceSid: v.AutoCreationServiceSid,
		WebhookURL: v.AutoCreationWebhookURL, WebhookFilters: v.WebhookFilterList(), StudioFlowSid: v.AutoCreationStudioFlowSid,
	}
	if v.AutoCreationWebhookURL != "" {
		auto.WebhookMethod = v.AutoCreationWebhookMethod
	}
	if v.AutoCreationStudioFlowSid != "" {
		auto.StudioRetryCount = &v.AutoCreationStudioRetryCount
	}
	return addressConfigurationJSON{
		AccountSid: a.conv.AccountSid(), Sid: v.Sid, Type: v.Type, Address: v.Address,
		FriendlyName: nullable(v.FriendlyName), AddressCountry: nullable(v.AddressCountry), AutoCreation: auto,
		DateCreated: isoTime(v.DateCreated), DateUpdated: isoTime(v.DateUpdated),
		URL: a.base(c) + "/v1/Configuration/Addresses/" + v.Sid,
	}
}

func addressConfigurationParams(c *fiber.Ctx) (conversations.AddressConfigurationParams, error) {
	f := form{c}
	p := conversations.AddressConfigurationParams{
		Type: f.str("Type"), Address: f.str("Address"), FriendlyName: f.str("FriendlyName"),
		AddressCountry: f.str("AddressCountry"), AutoCreationType: f.str("AutoCreation.Type"),
		AutoCreationServiceSid: f.str("AutoCreation.ConversationServiceSid"), AutoCreationWebhookURL: f.str("AutoCreation.WebhookUrl"),
		AutoCreationWebhookMethod: f.str("AutoCreation.WebhookMethod"), AutoCreationStudioFlowSid: f.str("AutoCreation.StudioFlowSid"),
	}
	p.AutoCreationWebhookFilters, _ = f.strs("AutoCreation.WebhookFilters")
	var err error
	if p.AutoCreationEnabled, err = f.boolean("AutoCreation.Enabled"); err != nil {
		return p, err
	}
	p.AutoCreationStudioRetryCount, err = f.integer("AutoCreation.StudioRetryCount")
	return p, err
}

func (a *restAPI) createAddressConfiguration(c *fiber.Ctx) error {
	p, err := addressConfigurationParams(c)
	if err != nil {
		return err
	}
	v, err := a.conv.CreateAddressConfiguration(c.UserContext(), p)
	if err != nil {
		return err
	}
	return created(c, a.addressConfigurationJSON(c, v))
}

func (a *restAPI) fetchAddressConfiguration(c *fiber.Ctx) error {
	v, err := a.conv.AddressConfiguration(c.UserContext(), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(a.addressConfigurationJSON(c, v))
}

func (a *restAPI) updateAddressConfiguration(c *fiber.Ctx) error {
	p, err := addressConfigurationParams(c)
	if err != nil {
		return err
	}
	v, err := a.conv.UpdateAddressConfiguration(c.UserContext(), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return c.JSON(a.addressConfigurationJSON(c, v))
}

func (a *restAPI) deleteAddressConfiguration(c *fiber.Ctx) error {
	if err := a.conv.DeleteAddressConfiguration(c.UserContext(), param(c, "Sid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listAddressConfigurations(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	var typ string
	if t := (form{c}).str("Type"); t != nil {
		typ = *t
	}
	rows, more, err := a.conv.AddressConfigurations(c.UserContext(), typ, pg.Page)
	if err != nil {
		return err
	}
	out := make([]addressConfigurationJSON, len(rows))
	for i, v := range rows {
		out[i] = a.addressConfigurationJSON(c, v)
	}
	list := a.base(c) + "/v1/Configuration/Addresses"
	return c.JSON(fiber.Map{"address_configurations": out, "meta": meta(c, list, "address_configurations", pg, more)})
}

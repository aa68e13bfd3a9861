package web

import (
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// channelWebhook takes a carrier's request (inbound messages, status
// callbacks, Meta's verification handshake) for one provider account. The
// carrier signed the public URL it called, so that is what is checked.
func (a *restAPI) channelWebhook(c *fiber.Ctx) error {
	r := channels.Request{Method: c.Method(), URL: a.base(c) + c.OriginalURL(), Header: c.GetReqHeaders(), Body: c.Body()}
	reply, err := a.ch.Webhook(c.UserContext(), param(c, "ProviderSid"), r)
	if err != nil {
		return err
	}
	if reply == nil {
		return c.SendStatus(fiber.StatusOK)
	}
	c.Set(fiber.HeaderContentType, reply.ContentType)
	return c.Send(reply.Body)
}

// addChannelRoutes mounts the carrier configuration: provider accounts and
// our senders (numbers, WhatsApp senders). These are Switchboard's own
// resources; Twilio keeps the equivalent in its console.
func (a *restAPI) addChannelRoutes(v1 fiber.Router) {
	v1.Post("/Channels/Providers", a.createProvider)
	v1.Get("/Channels/Providers", a.listProviders)
	v1.Get("/Channels/Providers/:Sid", a.fetchProvider)
	v1.Post("/Channels/Providers/:Sid", a.updateProvider)
	v1.Delete("/Channels/Providers/:Sid", a.deleteProvider)
	v1.Post("/Channels/Senders", a.putSender)
	v1.Get("/Channels/Senders", a.listSenders)
	v1.Delete("/Channels/Senders/:Address", a.deleteSender)
}

// providerJSON shows a provider account. Secrets are write-only: only
// whether each is set shows.
type providerJSON struct {
	AccountSid        string `json:"account_sid"`
	Sid               string `json:"sid"`
	Kind              string `json:"kind"`
	FriendlyName      string `json:"friendly_name"`
	ProviderAccountID string `json:"provider_account_id"`
	SecretSet         bool   `json:"secret_set"`
	AppSecretSet      bool   `json:"app_secret_set"`
	VerifyTokenSet    bool   `json:"verify_token_set"`
	BaseURL           string `json:"base_url"`
	Templates         string `json:"templates"`
	WebhookURL        string `json:"webhook_url"`
	DateCreated       string `json:"date_created"`
	DateUpdated       string `json:"date_updated"`
	URL               string `json:"url"`
}

func (a *restAPI) providerJSON(c *fiber.Ctx, p channels.ProviderAccount) providerJSON {
	return providerJSON{AccountSid: a.conv.AccountSid(), Sid: p.Sid, Kind: p.Kind, FriendlyName: p.FriendlyName,
		ProviderAccountID: p.AccountID, SecretSet: p.Secret != "", AppSecretSet: p.AppSecret != "", VerifyTokenSet: p.VerifyToken != "",
		BaseURL: p.BaseURL, Templates: p.Templates, WebhookURL: a.ch.WebhookURL(p.Sid),
		DateCreated: isoTime(p.DateCreated), DateUpdated: isoTime(p.DateUpdated), URL: a.base(c) + "/v1/Channels/Providers/" + p.Sid}
}

func providerParams(c *fiber.Ctx) channels.ProviderParams {
	f := form{c}
	return channels.ProviderParams{Kind: f.str("Kind"), FriendlyName: f.str("FriendlyName"), AccountID: f.str("AccountId"),
		Secret: f.str("Secret"), AppSecret: f.str("AppSecret"), VerifyToken: f.str("VerifyToken"), BaseURL: f.str("BaseUrl"),
		Templates: f.str("Templates")}
}

func (a *restAPI) createProvider(c *fiber.Ctx) error {
	p, err := a.ch.CreateProvider(c.UserContext(), providerParams(c))
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(a.providerJSON(c, p))
}

func (a *restAPI) fetchProvider(c *fiber.Ctx) error {
	p, err := a.ch.Provider(c.UserContext(), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(a.providerJSON(c, p))
}

func (a *restAPI) updateProvider(c *fiber.Ctx) error {
	p, err := a.ch.UpdateProvider(c.UserContext(), param(c, "Sid"), providerParams(c))
	if err != nil {
		return err
	}
	return c.JSON(a.providerJSON(c, p))
}

func (a *restAPI) deleteProvider(c *fiber.Ctx) error {
	if err := a.ch.DeleteProvider(c.UserContext(), param(c, "Sid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listProviders(c *fiber.Ctx) error {
	all, err := a.ch.Providers(c.UserContext())
	if err != nil {
		return err
	}
	return listAll(c, a.base(c)+"/v1/Channels/Providers", "providers", all, func(p channels.ProviderAccount) any { return a.providerJSON(c, p) })
}

type senderJSON struct {
	AccountSid  string  `json:"account_sid"`
	Address     string  `json:"address"`
	Channel     string  `json:"channel"`
	ProviderSid string  `json:"provider_sid"`
	SenderID    string  `json:"sender_id"`
	RateLimit   float64 `json:"rate_limit"`
	DateCreated string  `json:"date_created"`
	DateUpdated string  `json:"date_updated"`
}

func (a *restAPI) senderJSON(s channels.Sender) senderJSON {
	return senderJSON{AccountSid: a.conv.AccountSid(), Address: s.Address, Channel: s.Channel(), ProviderSid: s.ProviderSid,
		SenderID: s.SenderID, RateLimit: s.RateLimit, DateCreated: isoTime(s.DateCreated), DateUpdated: isoTime(s.DateUpdated)}
}

func (a *restAPI) putSender(c *fiber.Ctx) error {
	f := form{c}
	p := channels.SenderParams{}
	for dst, name := range map[*string]string{&p.Address: "Address", &p.ProviderSid: "ProviderSid", &p.SenderID: "SenderId"} {
		if v := f.str(name); v != nil {
			*dst = *v
		}
	}
	if v := f.str("RateLimit"); v != nil {
		r, err := strconv.ParseFloat(*v, 64)
		if err != nil {
			return errs.Invalidf("RateLimit must be a number of messages per second, got %q", *v)
		}
		p.RateLimit = r
	}
	s, err := a.ch.PutSender(c.UserContext(), p)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(a.senderJSON(s))
}

func (a *restAPI) listSenders(c *fiber.Ctx) error {
	all, err := a.ch.Senders(c.UserContext())
	if err != nil {
		return err
	}
	return listAll(c, a.base(c)+"/v1/Channels/Senders", "senders", all, func(s channels.Sender) any { return a.senderJSON(s) })
}

func (a *restAPI) deleteSender(c *fiber.Ctx) error {
	if err := a.ch.DeleteSender(c.UserContext(), param(c, "Address")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// listAll pages a short list held in memory (configuration tables of a few
// rows) in the v1 envelope.
func listAll[T any](c *fiber.Ctx, listURL, key string, all []T, render func(T) any) error {
	pg, err := pageParams(c, 50, 1000)
	if err != nil {
		return err
	}
	out := []any{}
	for i := pg.Offset; i < len(all) && i < pg.Offset+pg.Limit; i++ {
		out = append(out, render(all[i]))
	}
	return c.JSON(fiber.Map{key: out, "meta": meta(c, listURL, key, pg, pg.Offset+pg.Limit < len(all))})
}

package conversations

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// AddressConfiguration (IG…) says what happens to inbound messages on one of
// the account's addresses: whether they open a conversation automatically,
// in which service, and which webhook or Studio flow that conversation gets.
type AddressConfiguration struct {
	Sid                          string `gorm:"primaryKey"`
	Type                         string // sms, whatsapp, … (see AddressTypes)
	Address                      string // as participants see it: +E164, whatsapp:+E164, messenger:…
	FriendlyName                 string
	AddressCountry               string // ISO 3166-1 alpha-2, "" when unset
	AutoCreationEnabled          bool
	AutoCreationType             string // webhook, studio or default
	AutoCreationServiceSid       string `gorm:"column:auto_creation_service_sid"` // "" means the default service
	AutoCreationWebhookURL       string `gorm:"column:auto_creation_webhook_url"`
	AutoCreationWebhookMethod    string // GET or POST
	AutoCreationWebhookFilters   string // JSON array of event names
	AutoCreationStudioFlowSid    string
	AutoCreationStudioRetryCount int
	DateCreated                  time.Time
	DateUpdated                  time.Time
}

// WebhookFilterList returns the events an auto-created conversation's webhook hears.
func (a AddressConfiguration) WebhookFilterList() []string {
	return decodeList(a.AutoCreationWebhookFilters)
}

// AddressTypes are the channels an address configuration may be for.
var AddressTypes = []string{"sms", "whatsapp", "messenger", "gbm", "email", "rcs", "apple", "chat"}

// Kinds of auto-creation: attach a webhook, attach a Studio flow, or only
// create the conversation.
const (
	AutoCreationWebhook = "webhook"
	AutoCreationStudio  = "studio"
	AutoCreationDefault = "default"
)

// MaxStudioRetryCount is the most retries Twilio allows for a Studio hand-off.
const MaxStudioRetryCount = 3

var countryCode = regexp.MustCompile(`^[A-Za-z]{2}$`)

// AddressConfigurationParams are the settable fields; nil leaves a field as
// is. Type, Address and AddressCountry are fixed once created.
type AddressConfigurationParams struct {
	Type                         *string
	Address                      *string
	FriendlyName                 *string
	AddressCountry               *string
	AutoCreationEnabled          *bool
	AutoCreationType             *string
	AutoCreationServiceSid       *string
	AutoCreationWebhookURL       *string
	AutoCreationWebhookMethod    *string
	AutoCreationWebhookFilters   []string // nil leaves the filters as they are
	AutoCreationStudioFlowSid    *string
	AutoCreationStudioRetryCount *int64
}

// addressType normalises a Type given in any case.
func addressType(v string) (string, error) {
	t := strings.ToLower(v)
	if !slices.Contains(AddressTypes, t) {
		return "", errs.Invalidf("Type must be one of %s, got %q", strings.Join(AddressTypes, ", "), v)
	}
	return t, nil
}

// checkConfiguredAddress requires the address in the form inbound messages
// carry it as their proxy address, so that AddressConfigurationFor finds it.
// Chat addresses are opaque.
func checkConfiguredAddress(typ, addr string) error {
	if addr == "" {
		return errs.Invalidf("Address is required")
	}
	if err := checkLength("Address", &addr, MaxAddress); err != nil {
		return err
	}
	if typ == "chat" {
		return nil
	}
	if ch, ok := addressChannel(addr); !ok || ch != typ {
		switch typ {
		case "sms":
			return errs.Invalidf("Address %q is not an E.164 phone number such as +15551234567", addr)
		case "whatsapp":
			return errs.Invalidf("Address %q is not a WhatsApp address such as whatsapp:+15551234567", addr)
		}
		return errs.Invalidf("Address %q is not a %s address such as %s:<id>", addr, typ, typ)
	}
	return nil
}

// countryOf normalises an AddressCountry to upper case.
func countryOf(v string) (string, error) {
	if v != "" && !countryCode.MatchString(v) {
		return "", errs.Invalidf("AddressCountry must be an ISO 3166-1 alpha-2 country code such as US, got %q", v)
	}
	return strings.ToUpper(v), nil
}

// applyAutoCreation validates the FriendlyName and AutoCreation.* params,
// copies them onto a, and checks that the result can work: a webhook needs a
// URL and a Studio hand-off needs a flow.
func (e *Engine) applyAutoCreation(tx *db.Tx, a *AddressConfiguration, p AddressConfigurationParams) error {
	if err := checkLength("FriendlyName", p.FriendlyName, MaxFriendlyName); err != nil {
		return err
	}
	if p.FriendlyName != nil {
		a.FriendlyName = *p.FriendlyName
	}
	if p.AutoCreationEnabled != nil {
		a.AutoCreationEnabled = *p.AutoCreationEnabled
	}
	if p.AutoCreationType != nil {
		switch t := strings.ToLower(*p.AutoCreationType); t {
		case AutoCreationWebhook, AutoCreationStudio, AutoCreationDefault:
			a.AutoCreationType = t
		default:
			return errs.Invalidf("AutoCreation.Type must be webhook, studio or default, got %q", *p.AutoCreationType)
		}
	}
	if p.AutoCreationServiceSid != nil {
		if s := *p.AutoCreationServiceSid; s != "" {
			var svc Service
			res := tx.Locked("SHARE").Where("sid = ?", s).Limit(1).Find(&svc)
			if res.Error != nil {
				return res.Error
			}
			if res.RowsAffected == 0 {
				return errs.Invalidf("AutoCreation.ConversationServiceSid %q is not a conversation service of this account", s)
			}
		}
		a.AutoCreationServiceSid = *p.AutoCreationServiceSid
	}
	if p.AutoCreationWebhookURL != nil {
		if *p.AutoCreationWebhookURL != "" {
			if err := checkCallbackURL("AutoCreation.WebhookUrl", *p.AutoCreationWebhookURL); err != nil {
				return err
			}
		}
		a.AutoCreationWebhookURL = *p.AutoCreationWebhookURL
	}
	if p.AutoCreationWebhookMethod != nil {
		m, err := httpMethod("AutoCreation.WebhookMethod", *p.AutoCreationWebhookMethod)
		if err != nil {
			return err
		}
		a.AutoCreationWebhookMethod = m
	}
	if p.AutoCreationWebhookFilters != nil {
		f, err := scopedWebhookFilters("AutoCreation.WebhookFilters", p.AutoCreationWebhookFilters)
		if err != nil {
			return err
		}
		a.AutoCreationWebhookFilters = f
	}
	if p.AutoCreationStudioFlowSid != nil {
		if *p.AutoCreationStudioFlowSid != "" {
			if err := checkFlowSid("AutoCreation.StudioFlowSid", *p.AutoCreationStudioFlowSid); err != nil {
				return err
			}
		}
		a.AutoCreationStudioFlowSid = *p.AutoCreationStudioFlowSid
	}
	if n := p.AutoCreationStudioRetryCount; n != nil {
		if *n < 0 || *n > MaxStudioRetryCount {
			return errs.Invalidf("AutoCreation.StudioRetryCount must be between 0 and %d", MaxStudioRetryCount)
		}
		a.AutoCreationStudioRetryCount = int(*n)
	}
	switch a.AutoCreationType {
	case AutoCreationWebhook:
		if a.AutoCreationWebhookURL == "" {
			return errs.Invalidf("AutoCreation.WebhookUrl is required when AutoCreation.Type is webhook")
		}
		if a.AutoCreationWebhookMethod == "" {
			a.AutoCreationWebhookMethod = "POST"
		}
	case AutoCreationStudio:
		if a.AutoCreationStudioFlowSid == "" {
			return errs.Invalidf("AutoCreation.StudioFlowSid is required when AutoCreation.Type is studio")
		}
	}
	return nil
}

// CreateAddressConfiguration configures an address; each address has at
// most one configuration.
func (e *Engine) CreateAddressConfiguration(ctx context.Context, p AddressConfigurationParams) (AddressConfiguration, error) {
	now := e.now()
	a := AddressConfiguration{Sid: sid.New(sid.AddressConfig), AutoCreationType: AutoCreationDefault,
		AutoCreationWebhookFilters: "[]", DateCreated: now, DateUpdated: now}
	if p.Type == nil || *p.Type == "" {
		return a, errs.Invalidf("Type is required: one of %s", strings.Join(AddressTypes, ", "))
	}
	var err error
	if a.Type, err = addressType(*p.Type); err != nil {
		return a, err
	}
	if p.Address == nil {
		return a, errs.Invalidf("Address is required")
	}
	if err := checkConfiguredAddress(a.Type, *p.Address); err != nil {
		return a, err
	}
	a.Address = *p.Address
	if p.AddressCountry != nil {
		if a.AddressCountry, err = countryOf(*p.AddressCountry); err != nil {
			return a, err
		}
	}
	err = e.write(ctx, func(tx *db.Tx) error {
		if err := e.applyAutoCreation(tx, &a, p); err != nil {
			return err
		}
		if err := tx.Create(&a).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.AddressConfigurationAdded, Sid: a.Sid})
	})
	if db.IsUniqueViolation(err) {
		return a, errs.E(errs.Conflict, errs.CodeInvalidParam, "An address configuration for %s already exists; update or delete it instead", a.Address)
	}
	return a, errs.Wrap(err, "address configuration")
}

// findAddressConfiguration loads a configuration by SID or by its address.
func (e *Engine) findAddressConfiguration(q *gorm.DB, key string) (AddressConfiguration, error) {
	var a AddressConfiguration
	col := "address"
	if sid.Is(key, sid.AddressConfig) {
		col = "sid"
	}
	res := q.Where(col+" = ?", key).Limit(1).Find(&a)
	if res.Error != nil {
		return a, errs.Wrap(res.Error, "address configuration")
	}
	if res.RowsAffected == 0 {
		return a, notFound("Configuration/Addresses", key)
	}
	return a, nil
}

// AddressConfiguration fetches a configuration by SID or address.
func (e *Engine) AddressConfiguration(ctx context.Context, key string) (AddressConfiguration, error) {
	return e.findAddressConfiguration(e.read(ctx), key)
}

// AddressConfigurationFor returns the configuration of an inbound message's
// proxy address (+E164, whatsapp:+E164, …), and false when it has none.
func (e *Engine) AddressConfigurationFor(ctx context.Context, address string) (AddressConfiguration, bool, error) {
	var a AddressConfiguration
	res := e.read(ctx).Where("address = ?", address).Limit(1).Find(&a)
	if res.Error != nil {
		return a, false, errs.Wrap(res.Error, "address configuration")
	}
	return a, res.RowsAffected > 0, nil
}

// AddressConfigurations lists configurations, oldest first, optionally only
// those of one type.
func (e *Engine) AddressConfigurations(ctx context.Context, typ string, p Page) ([]AddressConfiguration, bool, error) {
	q := e.read(ctx)
	if typ != "" {
		t, err := addressType(typ)
		if err != nil {
			return nil, false, err
		}
		q = q.Where("type = ?", t)
	}
	return listPage[AddressConfiguration](q.Order("date_created, sid"), p, "address configurations")
}

// UpdateAddressConfiguration changes a configuration's name and
// auto-creation settings; its type, address and country are fixed.
func (e *Engine) UpdateAddressConfiguration(ctx context.Context, key string, p AddressConfigurationParams) (AddressConfiguration, error) {
	var a AddressConfiguration
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if a, err = e.findAddressConfiguration(tx.DB, key); err != nil {
			return err
		}
		if p.Type != nil && !strings.EqualFold(*p.Type, a.Type) {
			return errs.Invalidf("Type cannot be changed (it is %s); delete the configuration and create a new one", a.Type)
		}
		if p.Address != nil && *p.Address != a.Address {
			return errs.Invalidf("Address cannot be changed (it is %s); delete the configuration and create a new one", a.Address)
		}
		if p.AddressCountry != nil && !strings.EqualFold(*p.AddressCountry, a.AddressCountry) {
			return errs.Invalidf("AddressCountry cannot be changed; delete the configuration and create a new one")
		}
		if err := e.applyAutoCreation(tx, &a, p); err != nil {
			return err
		}
		a.DateUpdated = e.now()
		if err := tx.Model(&a).Select("*").Omit("sid", "type", "address", "address_country", "date_created").Updates(&a).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.AddressConfigurationUpdated, Sid: a.Sid})
	})
	return a, errs.Wrap(err, "address configuration")
}

// DeleteAddressConfiguration removes a configuration by SID or address;
// inbound messages to the address then no longer open conversations.
func (e *Engine) DeleteAddressConfiguration(ctx context.Context, key string) error {
	return e.write(ctx, func(tx *db.Tx) error {
		a, err := e.findAddressConfiguration(tx.DB, key)
		if err != nil {
			return err
		}
		if err := tx.Delete(&a).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.AddressConfigurationRemoved, Sid: a.Sid})
	})
}

package channels

import (
	"context"
	"encoding/json"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// ProviderAccount (PA…) is a configured carrier account. Secret, AppSecret
// and VerifyToken hold sealed values; they never leave the service in clear.
type ProviderAccount struct {
	Sid          string `gorm:"primaryKey"`
	Kind         string
	FriendlyName string
	AccountID    string
	Secret       string
	AppSecret    string
	VerifyToken  string
	BaseURL      string `gorm:"column:base_url"`
	Templates    string // JSON object: HX… → Template
	DateCreated  time.Time
	DateUpdated  time.Time
}

// TableName is the provider accounts table.
func (ProviderAccount) TableName() string { return "channel_providers" }

// Sender is one of our addresses (a number, a WhatsApp sender) and the
// carrier account it belongs to.
type Sender struct {
	Address     string `gorm:"primaryKey"`
	ProviderSid string
	SenderID    string  // the carrier's id of the sender, where it has one (Meta's phone number id)
	RateLimit   float64 // messages per second; 0 means the channel's default
	DateCreated time.Time
	DateUpdated time.Time
}

// TableName is the senders table.
func (Sender) TableName() string { return "channel_senders" }

// Channel is the sender's channel: whatsapp for whatsapp:+E164, else sms.
func (s Sender) Channel() string {
	if strings.HasPrefix(s.Address, "whatsapp:") {
		return "whatsapp"
	}
	return "sms"
}

// ProviderParams are the settable fields of a provider account; nil leaves
// a field as is. Secrets are given in clear and sealed before storage.
type ProviderParams struct {
	Kind         *string
	FriendlyName *string
	AccountID    *string
	Secret       *string
	AppSecret    *string
	VerifyToken  *string
	BaseURL      *string
	Templates    *string // JSON object of HX… → {"name","language"}
}

var (
	e164Address = regexp.MustCompile(`^(whatsapp:)?\+[1-9][0-9]{6,14}$`)
	twilioSid   = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
)

func (s *Service) applyProvider(a *ProviderAccount, p ProviderParams) error {
	if p.Kind != nil {
		if _, ok := s.opts.Factories[*p.Kind]; !ok {
			return errs.Invalidf("Kind must be one of the provider kinds this server runs (%s), got %q", strings.Join(s.Kinds(), ", "), *p.Kind)
		}
		a.Kind = *p.Kind
	}
	if p.FriendlyName != nil {
		if len(*p.FriendlyName) > 256 {
			return errs.Invalidf("FriendlyName must be at most 256 characters")
		}
		a.FriendlyName = *p.FriendlyName
	}
	if p.AccountID != nil {
		a.AccountID = *p.AccountID
	}
	if p.BaseURL != nil {
		if *p.BaseURL != "" {
			u, err := url.Parse(*p.BaseURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return errs.Invalidf("BaseUrl must be an http(s) URL, got %q", *p.BaseURL)
			}
		}
		a.BaseURL = strings.TrimRight(*p.BaseURL, "/")
	}
	if p.Templates != nil {
		var t map[string]Template
		if err := json.Unmarshal([]byte(*p.Templates), &t); err != nil {
			return errs.Invalidf("Templates must be a JSON object of content SIDs to {\"name\",\"language\"}")
		}
		for k, v := range t {
			if !sid.Is(k, sid.ContentTemplate) || v.Name == "" || v.Language == "" {
				return errs.Invalidf("Templates entry %q needs an HX… key, a name and a language", k)
			}
		}
		a.Templates = *p.Templates
	}
	for _, f := range []struct {
		dst *string
		v   *string
	}{{&a.Secret, p.Secret}, {&a.AppSecret, p.AppSecret}, {&a.VerifyToken, p.VerifyToken}} {
		if f.v == nil {
			continue
		}
		sealed, err := s.sealer.Seal(*f.v)
		if err != nil {
			return err
		}
		*f.dst = sealed
	}
	if err := s.checkProvider(*a); err != nil {
		return err
	}
	// Built once now, so that settings the carrier's package refuses are
	// refused here rather than failing every webhook and delivery later.
	factory, ok := s.opts.Factories[a.Kind]
	if !ok {
		return nil // a kind this server does not run: it cannot judge
	}
	cfg, err := s.config(*a)
	if err != nil {
		return err
	}
	if _, err := factory(cfg); err != nil {
		return errs.Invalidf("The provider's settings do not work: %v", err)
	}
	return nil
}

// checkProvider enforces what each kind needs to work at all.
func (s *Service) checkProvider(a ProviderAccount) error {
	switch a.Kind {
	case KindTwilio:
		if !twilioSid.MatchString(a.AccountID) || a.Secret == "" {
			return errs.Invalidf("A Twilio provider needs AccountId (AC…) and Secret (the auth token)")
		}
	case KindWhatsApp:
		if a.Secret == "" || a.AppSecret == "" || a.VerifyToken == "" {
			return errs.Invalidf("A WhatsApp Cloud provider needs Secret (the access token), AppSecret and VerifyToken")
		}
	}
	return nil
}

// Kinds lists the provider kinds this server can run.
func (s *Service) Kinds() []string {
	var out []string
	for _, k := range []string{KindTwilio, KindWhatsApp, KindSimulator} {
		if _, ok := s.opts.Factories[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

// CreateProvider configures a carrier account.
func (s *Service) CreateProvider(ctx context.Context, p ProviderParams) (ProviderAccount, error) {
	now := s.opts.Now()
	a := ProviderAccount{Sid: sid.New(sid.ChannelProvider), Templates: "{}", DateCreated: now, DateUpdated: now}
	if p.Kind == nil {
		return a, errs.Invalidf("Kind is required: one of %s", strings.Join(s.Kinds(), ", "))
	}
	if err := s.applyProvider(&a, p); err != nil {
		return a, err
	}
	return a, errs.Wrap(s.read(ctx).Create(&a).Error, "create provider")
}

// Provider fetches a carrier account.
func (s *Service) Provider(ctx context.Context, providerSid string) (ProviderAccount, error) {
	var a ProviderAccount
	res := s.read(ctx).Where("sid = ?", providerSid).Limit(1).Find(&a)
	if res.Error != nil {
		return a, errs.Wrap(res.Error, "provider")
	}
	if res.RowsAffected == 0 {
		return a, errs.NotFoundf("The requested resource /Channels/Providers/%s was not found", providerSid)
	}
	return a, nil
}

// Providers lists the carrier accounts, oldest first.
func (s *Service) Providers(ctx context.Context) ([]ProviderAccount, error) {
	var out []ProviderAccount
	return out, errs.Wrap(s.read(ctx).Order("date_created, sid").Find(&out).Error, "providers")
}

// UpdateProvider changes a carrier account; the kind is fixed.
func (s *Service) UpdateProvider(ctx context.Context, providerSid string, p ProviderParams) (ProviderAccount, error) {
	if p.Kind != nil {
		return ProviderAccount{}, errs.Invalidf("Kind cannot be changed; create another provider")
	}
	var a ProviderAccount
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		res := tx.Locked("UPDATE").Where("sid = ?", providerSid).Limit(1).Find(&a)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errs.NotFoundf("The requested resource /Channels/Providers/%s was not found", providerSid)
		}
		if err := s.applyProvider(&a, p); err != nil {
			return err
		}
		a.DateUpdated = s.opts.Now()
		return tx.Save(&a).Error
	})
	s.forget(providerSid, "")
	return a, errs.Wrap(err, "update provider")
}

// DeleteProvider removes a carrier account that no sender uses any more.
func (s *Service) DeleteProvider(ctx context.Context, providerSid string) error {
	defer s.forget(providerSid, "")
	return errs.Wrap(s.db.InTx(ctx, func(tx *db.Tx) error {
		var n int64
		if err := tx.Model(&Sender{}).Where("provider_sid = ?", providerSid).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return errs.E(errs.Conflict, errs.CodeInvalidParam, "Provider %s still has %d senders; delete them first", providerSid, n)
		}
		res := tx.Where("sid = ?", providerSid).Delete(&ProviderAccount{})
		if res.Error == nil && res.RowsAffected == 0 {
			return errs.NotFoundf("The requested resource /Channels/Providers/%s was not found", providerSid)
		}
		return res.Error
	}), "delete provider")
}

// SenderParams configure one of our addresses.
type SenderParams struct {
	Address     string
	ProviderSid string
	SenderID    string
	RateLimit   float64
}

// PutSender creates or replaces the configuration of one of our addresses.
func (s *Service) PutSender(ctx context.Context, p SenderParams) (Sender, error) {
	if !e164Address.MatchString(p.Address) {
		return Sender{}, errs.Invalidf("Address must be +E164 (SMS) or whatsapp:+E164, got %q", p.Address)
	}
	if p.RateLimit < 0 || p.RateLimit > 1000 {
		return Sender{}, errs.Invalidf("RateLimit must be between 0 (the channel's default) and 1000 messages per second")
	}
	a, err := s.Provider(ctx, p.ProviderSid)
	if err != nil {
		return Sender{}, err
	}
	if a.Kind == KindWhatsApp && (!strings.HasPrefix(p.Address, "whatsapp:") || p.SenderID == "") {
		return Sender{}, errs.Invalidf("A WhatsApp Cloud sender needs a whatsapp:+E164 Address and SenderId (Meta's phone number id)")
	}
	now := s.opts.Now()
	snd := Sender{Address: p.Address, ProviderSid: a.Sid, SenderID: p.SenderID, RateLimit: p.RateLimit, DateCreated: now, DateUpdated: now}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var old Sender
		if res := tx.Where("address = ?", p.Address).Limit(1).Find(&old); res.Error != nil {
			return res.Error
		} else if res.RowsAffected == 1 {
			snd.DateCreated = old.DateCreated
		}
		return tx.Save(&snd).Error
	})
	s.forget("", snd.Address)
	return snd, errs.Wrap(err, "sender")
}

// Senders lists our configured addresses.
func (s *Service) Senders(ctx context.Context) ([]Sender, error) {
	var out []Sender
	return out, errs.Wrap(s.read(ctx).Order("address").Find(&out).Error, "senders")
}

// DeleteSender removes one of our addresses; messages to it are refused and
// deliveries from it fail from then on.
func (s *Service) DeleteSender(ctx context.Context, address string) error {
	res := s.read(ctx).Where("address = ?", address).Delete(&Sender{})
	s.forget("", address)
	if res.Error == nil && res.RowsAffected == 0 {
		return errs.NotFoundf("The requested resource /Channels/Senders/%s was not found", address)
	}
	return errs.Wrap(res.Error, "delete sender")
}

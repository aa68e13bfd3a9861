package conversations

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Service is an isolated conversation service (IS…): nothing crosses between
// services.
type Service struct {
	Sid                               string `gorm:"primaryKey"`
	FriendlyName                      string
	DefaultConversationCreatorRoleSid string
	DefaultConversationRoleSid        string
	DefaultChatServiceRoleSid         string
	ReachabilityEnabled               bool
	Notifications                     string
	DateCreated                       time.Time
	DateUpdated                       time.Time
}

// Configuration is the account-wide defaults.
type Configuration struct {
	AccountSid                 string `gorm:"primaryKey"`
	DefaultChatServiceSid      string
	DefaultMessagingServiceSid string
	DefaultInactiveTimer       string
	DefaultClosedTimer         string
	DateUpdated                time.Time
}

// Bootstrap makes sure the account's default conversation service and its
// configuration exist. It is idempotent.
func Bootstrap(ctx context.Context, d *db.DB, accountSid string) error {
	e := New(d, accountSid)
	return e.write(ctx, func(tx *db.Tx) error {
		var n int64
		if err := tx.Model(&Configuration{}).Where("account_sid = ?", accountSid).Count(&n).Error; err != nil || n > 0 {
			return err
		}
		svc, err := e.createService(tx, "Default Conversations Service")
		if err != nil {
			return err
		}
		return tx.Create(&Configuration{AccountSid: accountSid, DefaultChatServiceSid: svc.Sid, DateUpdated: e.now()}).Error
	})
}

// createService inserts a service with Twilio's four default roles.
func (e *Engine) createService(tx *db.Tx, friendlyName string) (Service, error) {
	now := e.now()
	svc := Service{Sid: sid.New(sid.Service), FriendlyName: friendlyName, Notifications: "{}", DateCreated: now, DateUpdated: now}
	roles := make(map[string]Role, len(defaultRoles))
	for _, dr := range defaultRoles {
		perms, _ := json.Marshal(dr.permissions)
		r := Role{Sid: sid.New(sid.Role), ServiceSid: svc.Sid, FriendlyName: dr.name, Type: dr.typ,
			Permissions: string(perms), DateCreated: now, DateUpdated: now}
		roles[dr.name] = r
	}
	svc.DefaultConversationCreatorRoleSid = roles["channel admin"].Sid
	svc.DefaultConversationRoleSid = roles["channel user"].Sid
	svc.DefaultChatServiceRoleSid = roles["service user"].Sid
	if err := tx.Create(&svc).Error; err != nil {
		return svc, err
	}
	for _, dr := range defaultRoles {
		r := roles[dr.name]
		if err := tx.Create(&r).Error; err != nil {
			return svc, err
		}
	}
	return svc, nil
}

// Configuration returns the account-wide defaults.
func (e *Engine) Configuration(ctx context.Context) (Configuration, error) {
	var c Configuration
	err := e.read(ctx).Where("account_sid = ?", e.accountSid).First(&c).Error
	if db.IsNotFound(err) {
		return c, errs.E(errs.Internal, errs.CodeInternal, "the account has no configuration; run switchboard migrate")
	}
	return c, errs.Wrap(err, "configuration")
}

// ResolveService returns the service with the given SID, or the default
// service when sidOrEmpty is empty (the short /v1/Conversations paths).
func (e *Engine) ResolveService(ctx context.Context, sidOrEmpty string) (Service, error) {
	if sidOrEmpty == "" {
		cfg, err := e.Configuration(ctx)
		if err != nil {
			return Service{}, err
		}
		sidOrEmpty = cfg.DefaultChatServiceSid
	}
	var svc Service
	res := e.read(ctx).Where("sid = ?", sidOrEmpty).Limit(1).Find(&svc)
	if res.Error != nil {
		return svc, errs.Wrap(res.Error, "service")
	}
	if res.RowsAffected == 0 {
		return svc, notFound("Services", sidOrEmpty)
	}
	return svc, nil
}

// CreateService creates a conversation service with Twilio's default roles.
func (e *Engine) CreateService(ctx context.Context, friendlyName *string) (Service, error) {
	if friendlyName == nil || *friendlyName == "" {
		return Service{}, errs.Invalidf("FriendlyName is required")
	}
	if err := checkLength("FriendlyName", friendlyName, MaxFriendlyName); err != nil {
		return Service{}, err
	}
	var svc Service
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if svc, err = e.createService(tx, *friendlyName); err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ServiceAdded, ServiceSid: svc.Sid, Sid: svc.Sid})
	})
	return svc, errs.Wrap(err, "create service")
}

// Services lists the services, oldest first.
func (e *Engine) Services(ctx context.Context, p Page) ([]Service, bool, error) {
	return listPage[Service](e.read(ctx).Order("date_created, sid"), p, "services")
}

// DeleteService removes a service and everything in it. The account's
// default service cannot go, nor one that an address configuration
// autocreates conversations in: both would leave traffic with nowhere to land.
func (e *Engine) DeleteService(ctx context.Context, serviceSid string) error {
	err := e.write(ctx, func(tx *db.Tx) error {
		var svc Service
		// The exclusive lock waits out address configurations being pointed
		// at this service (they take a share lock), so the check below holds.
		res := tx.Locked("UPDATE").Where("sid = ?", serviceSid).Limit(1).Find(&svc)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return notFound("Services", serviceSid)
		}
		var n int64
		if err := tx.Model(&Configuration{}).Where("default_chat_service_sid = ?", svc.Sid).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return conflictf("Service %s is the account's default conversation service; make another service the default first", svc.Sid)
		}
		var addressSids []string
		if err := tx.Model(&AddressConfiguration{}).Where("auto_creation_service_sid = ?", svc.Sid).
			Pluck("sid", &addressSids).Error; err != nil {
			return err
		}
		if len(addressSids) > 0 {
			return conflictf("Service %s receives conversations autocreated by address configuration %s; change or delete it first",
				svc.Sid, addressSids[0])
		}
		// Children first, one statement per table, as DeleteConversation does.
		inService := "conversation_sid IN (SELECT sid FROM conversations WHERE service_sid = ?)"
		for _, step := range []struct {
			model any
			where string
		}{
			{&binding{}, inService}, {&DeliveryReceipt{}, "service_sid = ?"}, {&Message{}, "service_sid = ?"},
			{&ConversationWebhook{}, "service_sid = ?"}, {&Participant{}, "service_sid = ?"},
			{&Conversation{}, "service_sid = ?"}, {&User{}, "service_sid = ?"}, {&Role{}, "service_sid = ?"},
			{&WebhookConfig{}, "scope = ?"},
		} {
			if err := tx.Where(step.where, svc.Sid).Delete(step.model).Error; err != nil {
				return err
			}
		}
		if err := tx.Delete(&svc).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ServiceRemoved, ServiceSid: svc.Sid, Sid: svc.Sid})
	})
	return errs.Wrap(err, "delete service")
}

// ServiceConfigParams are a service's settable defaults; nil leaves one as is.
type ServiceConfigParams struct {
	DefaultConversationCreatorRoleSid *string
	DefaultConversationRoleSid        *string
	DefaultChatServiceRoleSid         *string
	ReachabilityEnabled               *bool
}

// UpdateServiceConfiguration changes a service's default roles and
// reachability. Conversation defaults must be conversation roles of the
// service, the user default a service role.
func (e *Engine) UpdateServiceConfiguration(ctx context.Context, serviceSid string, p ServiceConfigParams) (Service, error) {
	var svc Service
	err := e.write(ctx, func(tx *db.Tx) error {
		if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
			return err
		}
		for _, r := range []struct {
			param, typ string
			in         *string
			out        *string
		}{
			{"DefaultConversationCreatorRoleSid", RoleTypeConversation, p.DefaultConversationCreatorRoleSid, &svc.DefaultConversationCreatorRoleSid},
			{"DefaultConversationRoleSid", RoleTypeConversation, p.DefaultConversationRoleSid, &svc.DefaultConversationRoleSid},
			{"DefaultChatServiceRoleSid", RoleTypeService, p.DefaultChatServiceRoleSid, &svc.DefaultChatServiceRoleSid},
		} {
			if r.in == nil {
				continue
			}
			role, err := e.roleOfType(tx.DB, serviceSid, r.param, *r.in, r.typ)
			if err != nil {
				return err
			}
			*r.out = role.Sid
		}
		if p.ReachabilityEnabled != nil {
			svc.ReachabilityEnabled = *p.ReachabilityEnabled
		}
		svc.DateUpdated = e.now()
		if err := tx.Model(&svc).Select("default_conversation_creator_role_sid", "default_conversation_role_sid",
			"default_chat_service_role_sid", "reachability_enabled", "date_updated").Updates(&svc).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ServiceUpdated, ServiceSid: svc.Sid, Sid: svc.Sid})
	})
	return svc, errs.Wrap(err, "update service configuration")
}

// Notifications are a service's push notification settings. They are stored
// as this JSON in services.notifications, which is also Twilio's wire shape.
type Notifications struct {
	LogEnabled              bool                `json:"log_enabled"`
	NewMessage              NewMessageSettings  `json:"new_message"`
	AddedToConversation     NotificationSetting `json:"added_to_conversation"`
	RemovedFromConversation NotificationSetting `json:"removed_from_conversation"`
}

// NotificationSetting configures one kind of push notification.
type NotificationSetting struct {
	Enabled  bool    `json:"enabled"`
	Template *string `json:"template"`
	Sound    *string `json:"sound"`
}

// NewMessageSettings configures new-message notifications, which add a badge
// count and a separate template for messages with media.
type NewMessageSettings struct {
	NotificationSetting
	BadgeCountEnabled bool              `json:"badge_count_enabled"`
	WithMedia         WithMediaSettings `json:"with_media"`
}

// WithMediaSettings configures notifications of messages with media.
type WithMediaSettings struct {
	Enabled  bool    `json:"enabled"`
	Template *string `json:"template"`
}

// NotificationParams are the settable notification fields, named after their
// Twilio parameters; nil leaves a field as is and "" clears a text.
type NotificationParams struct {
	LogEnabled                      *bool
	NewMessageEnabled               *bool
	NewMessageTemplate              *string
	NewMessageSound                 *string
	NewMessageBadgeCountEnabled     *bool
	NewMessageWithMediaEnabled      *bool
	NewMessageWithMediaTemplate     *string
	AddedToConversationEnabled      *bool
	AddedToConversationTemplate     *string
	AddedToConversationSound        *string
	RemovedFromConversationEnabled  *bool
	RemovedFromConversationTemplate *string
	RemovedFromConversationSound    *string
}

// ServiceNotifications returns a service's notification settings.
func (e *Engine) ServiceNotifications(ctx context.Context, serviceSid string) (Notifications, error) {
	svc, err := e.ResolveService(ctx, serviceSid)
	if err != nil {
		return Notifications{}, err
	}
	return svc.notifications(), nil
}

func (svc Service) notifications() Notifications {
	var n Notifications
	_ = json.Unmarshal([]byte(svc.Notifications), &n) // written by us; "{}" (the default) reads as all off
	return n
}

// UpdateServiceNotifications changes a service's notification settings.
func (e *Engine) UpdateServiceNotifications(ctx context.Context, serviceSid string, p NotificationParams) (Notifications, error) {
	var n Notifications
	err := e.write(ctx, func(tx *db.Tx) error {
		var svc Service
		if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
			return err
		}
		n = svc.notifications()
		setBool(&n.LogEnabled, p.LogEnabled)
		n.NewMessage.set(p.NewMessageEnabled, p.NewMessageTemplate, p.NewMessageSound)
		setBool(&n.NewMessage.BadgeCountEnabled, p.NewMessageBadgeCountEnabled)
		setBool(&n.NewMessage.WithMedia.Enabled, p.NewMessageWithMediaEnabled)
		setText(&n.NewMessage.WithMedia.Template, p.NewMessageWithMediaTemplate)
		n.AddedToConversation.set(p.AddedToConversationEnabled, p.AddedToConversationTemplate, p.AddedToConversationSound)
		n.RemovedFromConversation.set(p.RemovedFromConversationEnabled, p.RemovedFromConversationTemplate, p.RemovedFromConversationSound)
		raw, err := json.Marshal(n)
		if err != nil {
			return err
		}
		if err := tx.Model(&svc).Updates(map[string]any{"notifications": string(raw), "date_updated": e.now()}).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ServiceUpdated, ServiceSid: svc.Sid, Sid: svc.Sid})
	})
	return n, errs.Wrap(err, "update notifications")
}

func (s *NotificationSetting) set(enabled *bool, template, sound *string) {
	setBool(&s.Enabled, enabled)
	setText(&s.Template, template)
	setText(&s.Sound, sound)
}

func setBool(dst *bool, v *bool) {
	if v != nil {
		*dst = *v
	}
}

// setText sets an optional text: "" clears it.
func setText(dst **string, v *string) {
	switch {
	case v == nil:
	case *v == "":
		*dst = nil
	default:
		s := *v
		*dst = &s
	}
}

// ConfigurationParams are the account's settable defaults; nil leaves one as is.
type ConfigurationParams struct {
	DefaultChatServiceSid      *string
	DefaultMessagingServiceSid *string
	DefaultInactiveTimer       *string
	DefaultClosedTimer         *string
}

func (p ConfigurationParams) validate() error {
	if p.DefaultChatServiceSid != nil && !sid.Is(*p.DefaultChatServiceSid, sid.Service) {
		return errs.Invalidf("DefaultChatServiceSid must be a Conversation Service SID (IS…)")
	}
	if p.DefaultMessagingServiceSid != nil && *p.DefaultMessagingServiceSid != "" && !sid.Is(*p.DefaultMessagingServiceSid, sid.MessagingService) {
		return errs.Invalidf("DefaultMessagingServiceSid must be a Messaging Service SID (MG…)")
	}
	if p.DefaultInactiveTimer != nil {
		if _, err := parseTimer("DefaultInactiveTimer", *p.DefaultInactiveTimer, minInactiveTimer); err != nil {
			return err
		}
	}
	if p.DefaultClosedTimer != nil {
		if _, err := parseTimer("DefaultClosedTimer", *p.DefaultClosedTimer, minClosedTimer); err != nil {
			return err
		}
	}
	return nil
}

// UpdateConfiguration changes the account-wide defaults. They apply to
// conversations created afterwards.
func (e *Engine) UpdateConfiguration(ctx context.Context, p ConfigurationParams) (Configuration, error) {
	if err := p.validate(); err != nil {
		return Configuration{}, err
	}
	var cfg Configuration
	err := e.write(ctx, func(tx *db.Tx) error {
		if err := tx.Where("account_sid = ?", e.accountSid).First(&cfg).Error; err != nil {
			return err
		}
		if p.DefaultChatServiceSid != nil {
			var n int64
			if err := tx.Model(&Service{}).Where("sid = ?", *p.DefaultChatServiceSid).Count(&n).Error; err != nil {
				return err
			}
			if n == 0 {
				return notFound("Services", *p.DefaultChatServiceSid)
			}
			cfg.DefaultChatServiceSid = *p.DefaultChatServiceSid
		}
		for _, f := range []struct{ in, out *string }{
			{p.DefaultMessagingServiceSid, &cfg.DefaultMessagingServiceSid},
			{p.DefaultInactiveTimer, &cfg.DefaultInactiveTimer},
			{p.DefaultClosedTimer, &cfg.DefaultClosedTimer},
		} {
			if f.in != nil {
				*f.out = *f.in
			}
		}
		cfg.DateUpdated = e.now()
		if err := tx.Model(&cfg).Select("default_chat_service_sid", "default_messaging_service_sid", "default_inactive_timer",
			"default_closed_timer", "date_updated").Updates(&cfg).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.ConfigurationUpdated})
	})
	return cfg, errs.Wrap(err, "update configuration")
}

package conversations

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
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

package conversations

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// User (US…) is a chat identity in a service.
type User struct {
	Sid          string `gorm:"primaryKey"`
	ServiceSid   string
	Identity     string
	FriendlyName string
	Attributes   string
	RoleSid      string
	DateCreated  time.Time
	DateUpdated  time.Time
	// IsOnline is nil unless the service tracks reachability; it is filled
	// for single users only, as Twilio does.
	IsOnline *bool `gorm:"-"`
}

// UserParams are the settable fields; nil leaves a field as is. Identity is
// set on create only.
type UserParams struct {
	Identity     *string
	FriendlyName *string
	Attributes   *string
	RoleSid      *string
	Source       string
}

func (p *UserParams) validate() error {
	if err := checkLength("Identity", p.Identity, MaxIdentity); err != nil {
		return err
	}
	if err := checkLength("FriendlyName", p.FriendlyName, MaxFriendlyName); err != nil {
		return err
	}
	return checkAttributes(p.Attributes, MaxUserAttrs)
}

// ensureUser creates the service's user for identity if it does not exist,
// as Twilio does when a chat participant joins.
func (e *Engine) ensureUser(tx *db.Tx, serviceSid, identity string) error {
	var svc Service
	if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
		return err
	}
	now := e.now()
	u := User{Sid: sid.New(sid.User), ServiceSid: serviceSid, Identity: identity, Attributes: "{}",
		RoleSid: svc.DefaultChatServiceRoleSid, DateCreated: now, DateUpdated: now}
	// DO NOTHING: the user may exist already, or be created by a concurrent join.
	res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&u)
	if res.Error != nil || res.RowsAffected == 0 {
		return res.Error
	}
	return e.publish(tx, events.Event{Type: events.UserAdded, ServiceSid: serviceSid, Sid: u.Sid})
}

// CreateUser creates a user. Identities are unique within a service.
func (e *Engine) CreateUser(ctx context.Context, serviceSid string, p UserParams) (User, error) {
	if p.Identity == nil || *p.Identity == "" {
		return User{}, errs.Invalidf("Identity is required")
	}
	if sid.Is(*p.Identity, sid.User) {
		return User{}, errs.Invalidf("Identity must not look like a User SID (US…)")
	}
	if err := p.validate(); err != nil {
		return User{}, err
	}
	now := e.now()
	u := User{Sid: sid.New(sid.User), ServiceSid: serviceSid, Identity: *p.Identity, Attributes: "{}",
		DateCreated: now, DateUpdated: now}
	err := e.write(ctx, func(tx *db.Tx) error {
		if err := e.applyUserParams(tx, &u, p); err != nil {
			return err
		}
		if u.RoleSid == "" {
			var svc Service
			if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
				return err
			}
			u.RoleSid = svc.DefaultChatServiceRoleSid
		}
		if err := tx.Create(&u).Error; err != nil {
			if db.IsUniqueViolation(err) {
				return errs.E(errs.Conflict, CodeUserExists, "A user with identity %q already exists in this service", u.Identity)
			}
			return err
		}
		if err := e.publish(tx, events.Event{Type: events.UserAdded, ServiceSid: serviceSid, Sid: u.Sid, Source: p.Source}); err != nil {
			return err
		}
		return e.setPresence(tx.DB, &u)
	})
	return u, errs.Wrap(err, "create user")
}

// applyUserParams copies the given friendly name, attributes and role onto u;
// the role must be a service role of u's service.
func (e *Engine) applyUserParams(tx *db.Tx, u *User, p UserParams) error {
	if p.RoleSid != nil {
		r, err := e.roleOfType(tx.DB, u.ServiceSid, "RoleSid", *p.RoleSid, RoleTypeService)
		if err != nil {
			return err
		}
		u.RoleSid = r.Sid
	}
	if p.FriendlyName != nil {
		u.FriendlyName = *p.FriendlyName
	}
	if p.Attributes != nil {
		u.Attributes = *p.Attributes
	}
	return nil
}

// findUser loads a user of the service by SID or identity.
func (e *Engine) findUser(q *gorm.DB, serviceSid, key string) (User, error) {
	var u User
	col := "identity"
	if sid.Is(key, sid.User) {
		col = "sid"
	}
	res := q.Where("service_sid = ? AND "+col+" = ?", serviceSid, key).Limit(1).Find(&u)
	if res.Error != nil {
		return u, errs.Wrap(res.Error, "user")
	}
	if res.RowsAffected == 0 {
		return u, notFound("Users", key)
	}
	return u, nil
}

// User fetches a user by SID or identity.
func (e *Engine) User(ctx context.Context, serviceSid, key string) (User, error) {
	q := e.read(ctx)
	u, err := e.findUser(q, serviceSid, key)
	if err != nil {
		return u, err
	}
	return u, e.setPresence(q, &u)
}

// setPresence fills u.IsOnline when its service tracks reachability. Nobody
// reports presence to the engine yet, so a tracked user reads as offline.
func (e *Engine) setPresence(q *gorm.DB, u *User) error {
	var svc Service
	if err := q.Select("reachability_enabled").Where("sid = ?", u.ServiceSid).First(&svc).Error; err != nil {
		return errs.Wrap(err, "service")
	}
	if svc.ReachabilityEnabled {
		online := false
		u.IsOnline = &online
	}
	return nil
}

// Users lists a service's users, oldest first.
func (e *Engine) Users(ctx context.Context, serviceSid string, p Page) ([]User, bool, error) {
	return listPage[User](e.read(ctx).Where("service_sid = ?", serviceSid).Order("date_created, sid"), p, "users")
}

// UpdateUser changes a user's friendly name, attributes or role.
func (e *Engine) UpdateUser(ctx context.Context, serviceSid, key string, p UserParams) (User, error) {
	if err := p.validate(); err != nil {
		return User{}, err
	}
	if _, err := e.ask(ctx, PreUserUpdate, serviceSid, p.Source, func(a *Action) error {
		var err error
		if a.User, err = e.findUser(e.read(ctx), serviceSid, key); err != nil {
			return err
		}
		if p.FriendlyName != nil {
			a.User.FriendlyName = *p.FriendlyName
		}
		if p.Attributes != nil {
			a.User.Attributes = *p.Attributes
		}
		if p.RoleSid != nil {
			a.User.RoleSid = *p.RoleSid
		}
		return nil
	}); err != nil {
		return User{}, err
	}
	var u User
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if u, err = e.findUser(tx.DB, serviceSid, key); err != nil {
			return err
		}
		if p.Identity != nil && *p.Identity != u.Identity {
			return errs.Invalidf("Identity cannot be changed")
		}
		if err := e.applyUserParams(tx, &u, p); err != nil {
			return err
		}
		u.DateUpdated = e.now()
		if err := tx.Model(&u).Select("friendly_name", "attributes", "role_sid", "date_updated").Updates(&u).Error; err != nil {
			return err
		}
		if err := e.publish(tx, events.Event{Type: events.UserUpdated, ServiceSid: serviceSid, Sid: u.Sid, Source: p.Source}); err != nil {
			return err
		}
		return e.setPresence(tx.DB, &u)
	})
	return u, errs.Wrap(err, "update user")
}

// DeleteUser removes a user. Its participants stay: membership belongs to
// the identity, and a chat participant joining again recreates the user.
func (e *Engine) DeleteUser(ctx context.Context, serviceSid, key, source string) error {
	err := e.write(ctx, func(tx *db.Tx) error {
		u, err := e.findUser(tx.DB, serviceSid, key)
		if err != nil {
			return err
		}
		if err := tx.Delete(&u).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.UserRemoved, ServiceSid: serviceSid, Sid: u.Sid, Source: source})
	})
	return errs.Wrap(err, "delete user")
}

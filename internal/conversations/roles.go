package conversations

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/events"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// Role is a named set of permissions (RL…), of type "conversation" (granted
// to participants) or "service" (granted to users).
type Role struct {
	Sid          string `gorm:"primaryKey"`
	ServiceSid   string
	FriendlyName string
	Type         string
	Permissions  string // JSON array of permission names
	DateCreated  time.Time
	DateUpdated  time.Time
}

// PermissionList returns the role's permissions.
func (r Role) PermissionList() []string {
	var out []string
	_ = json.Unmarshal([]byte(r.Permissions), &out) // written by us; a bad row reads as no permissions
	return out
}

// Role types.
const (
	RoleTypeConversation = "conversation"
	RoleTypeService      = "service"
)

// MaxRoleName is the longest role FriendlyName Twilio accepts.
const MaxRoleName = 64

// conversationPermissions are the permissions a conversation role may grant.
var conversationPermissions = []string{
	"sendMessage", "sendMediaMessage", "leaveConversation", "addParticipant", "removeParticipant",
	"editConversationName", "editConversationAttributes", "editOwnMessage", "editOwnMessageAttributes",
	"editAnyMessage", "editAnyMessageAttributes", "deleteOwnMessage", "deleteAnyMessage",
	"editOwnParticipantAttributes", "editAnyParticipantAttributes", "deleteConversation",
}

// servicePermissions are the permissions a service role may grant.
var servicePermissions = []string{
	"createConversation", "joinConversation", "editOwnUserInfo", "editAnyUserInfo",
	"addParticipant", "removeParticipant", "deleteConversation", "editConversationName",
	"editConversationAttributes", "sendMessage", "sendMediaMessage", "leaveConversation",
	"editOwnMessage", "editOwnMessageAttributes", "editAnyMessage", "editAnyMessageAttributes",
	"deleteOwnMessage", "deleteAnyMessage", "editOwnParticipantAttributes", "editAnyParticipantAttributes",
}

// defaultRoles are created with every service, as Twilio does.
var defaultRoles = []struct {
	name, typ   string
	permissions []string
}{
	{"service admin", RoleTypeService, servicePermissions},
	{"service user", RoleTypeService, []string{"createConversation", "joinConversation", "editOwnUserInfo"}},
	{"channel admin", RoleTypeConversation, conversationPermissions},
	{"channel user", RoleTypeConversation, []string{
		"sendMessage", "sendMediaMessage", "leaveConversation", "editOwnMessage", "editOwnMessageAttributes",
		"deleteOwnMessage", "editOwnParticipantAttributes",
	}},
}

// RoleParams are a new role's fields.
type RoleParams struct {
	FriendlyName *string
	Type         *string
	Permissions  []string
}

// permissionsJSON checks perms against what a role of type typ may grant and
// returns them as stored: a JSON array without duplicates, in the given order.
func permissionsJSON(typ string, perms []string) (string, error) {
	allowed := conversationPermissions
	if typ == RoleTypeService {
		allowed = servicePermissions
	}
	if len(perms) == 0 {
		return "", errs.Invalidf("Permission is required")
	}
	var out []string
	for _, p := range perms {
		if !slices.Contains(allowed, p) {
			return "", errs.Invalidf("Permission %q is not a permission of %s roles", p, typ)
		}
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	b, err := json.Marshal(out)
	return string(b), err
}

// CreateRole creates a role in the service.
func (e *Engine) CreateRole(ctx context.Context, serviceSid string, p RoleParams) (Role, error) {
	if p.FriendlyName == nil || *p.FriendlyName == "" {
		return Role{}, errs.Invalidf("FriendlyName is required")
	}
	if err := checkLength("FriendlyName", p.FriendlyName, MaxRoleName); err != nil {
		return Role{}, err
	}
	if p.Type == nil || (*p.Type != RoleTypeConversation && *p.Type != RoleTypeService) {
		return Role{}, errs.Invalidf("Type is required and must be conversation or service")
	}
	perms, err := permissionsJSON(*p.Type, p.Permissions)
	if err != nil {
		return Role{}, err
	}
	now := e.now()
	r := Role{Sid: sid.New(sid.Role), ServiceSid: serviceSid, FriendlyName: *p.FriendlyName, Type: *p.Type,
		Permissions: perms, DateCreated: now, DateUpdated: now}
	err = e.write(ctx, func(tx *db.Tx) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.RoleAdded, ServiceSid: serviceSid, Sid: r.Sid})
	})
	return r, errs.Wrap(err, "create role")
}

// Role fetches a role of the service.
func (e *Engine) Role(ctx context.Context, serviceSid, roleSid string) (Role, error) {
	return e.findRole(e.read(ctx), serviceSid, roleSid)
}

// Roles lists a service's roles, oldest first.
func (e *Engine) Roles(ctx context.Context, serviceSid string, p Page) ([]Role, bool, error) {
	return listPage[Role](e.read(ctx).Where("service_sid = ?", serviceSid).Order("date_created, sid"), p, "roles")
}

// UpdateRole replaces a role's permissions; its name and type are fixed.
func (e *Engine) UpdateRole(ctx context.Context, serviceSid, roleSid string, permissions []string) (Role, error) {
	var r Role
	err := e.write(ctx, func(tx *db.Tx) error {
		var err error
		if r, err = e.findRole(tx.DB, serviceSid, roleSid); err != nil {
			return err
		}
		if r.Permissions, err = permissionsJSON(r.Type, permissions); err != nil {
			return err
		}
		r.DateUpdated = e.now()
		if err := tx.Model(&r).Select("permissions", "date_updated").Updates(&r).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.RoleUpdated, ServiceSid: serviceSid, Sid: r.Sid})
	})
	return r, errs.Wrap(err, "update role")
}

// DeleteRole removes a role nobody holds: it must not be one of the
// service's defaults, nor the role of a user or participant.
func (e *Engine) DeleteRole(ctx context.Context, serviceSid, roleSid string) error {
	err := e.write(ctx, func(tx *db.Tx) error {
		r, err := e.findRole(tx.DB, serviceSid, roleSid)
		if err != nil {
			return err
		}
		var svc Service
		if err := tx.Where("sid = ?", serviceSid).First(&svc).Error; err != nil {
			return err
		}
		if slices.Contains([]string{svc.DefaultConversationCreatorRoleSid, svc.DefaultConversationRoleSid,
			svc.DefaultChatServiceRoleSid}, r.Sid) {
			return conflictf("Role %s is a default role of service %s; set another default first", r.Sid, serviceSid)
		}
		for _, holder := range []struct {
			what  string
			model any
		}{{"users", &User{}}, {"participants", &Participant{}}} {
			var n int64
			if err := tx.Model(holder.model).Where("service_sid = ? AND role_sid = ?", serviceSid, r.Sid).
				Count(&n).Error; err != nil {
				return err
			}
			if n > 0 {
				return conflictf("Role %s is held by %d %s; give them another role first", r.Sid, n, holder.what)
			}
		}
		if err := tx.Delete(&r).Error; err != nil {
			return err
		}
		return e.publish(tx, events.Event{Type: events.RoleRemoved, ServiceSid: serviceSid, Sid: r.Sid})
	})
	return errs.Wrap(err, "delete role")
}

// roleOfType loads the role named by parameter param and checks that it is a
// role of type typ in the service.
func (e *Engine) roleOfType(q *gorm.DB, serviceSid, param, roleSid, typ string) (Role, error) {
	if !sid.Is(roleSid, sid.Role) {
		return Role{}, errs.Invalidf("%s must be a Role SID (RL…), got %q", param, roleSid)
	}
	r, err := e.findRole(q, serviceSid, roleSid)
	if err != nil {
		return r, err
	}
	if r.Type != typ {
		return r, errs.Invalidf("%s %s is a %s role; it must be a %s role", param, r.Sid, r.Type, typ)
	}
	return r, nil
}

// conflictf reports a request that clashes with the current state (HTTP 409).
func conflictf(format string, args ...any) error {
	return errs.E(errs.Conflict, errs.CodeInvalidParam, format, args...)
}

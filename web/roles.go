package web

import (
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/conversations"
)

type roleJSON struct {
	AccountSid     string   `json:"account_sid"`
	ChatServiceSid string   `json:"chat_service_sid"`
	Sid            string   `json:"sid"`
	FriendlyName   string   `json:"friendly_name"`
	Type           string   `json:"type"`
	Permissions    []string `json:"permissions"`
	DateCreated    string   `json:"date_created"`
	DateUpdated    string   `json:"date_updated"`
	URL            string   `json:"url"`
}

func (a *restAPI) roleJSON(c *fiber.Ctx, r conversations.Role) roleJSON {
	return roleJSON{
		AccountSid: a.conv.AccountSid(), ChatServiceSid: r.ServiceSid, Sid: r.Sid, FriendlyName: r.FriendlyName,
		Type: r.Type, Permissions: r.PermissionList(), DateCreated: isoTime(r.DateCreated),
		DateUpdated: isoTime(r.DateUpdated), URL: a.scopeURL(c, "/Roles/"+r.Sid),
	}
}

func (a *restAPI) createRole(c *fiber.Ctx) error {
	f := form{c}
	p := conversations.RoleParams{FriendlyName: f.str("FriendlyName"), Type: f.str("Type")}
	p.Permissions, _ = f.strs("Permission")
	r, err := a.conv.CreateRole(c.UserContext(), serviceOf(c), p)
	if err != nil {
		return err
	}
	return created(c, a.roleJSON(c, r))
}

func (a *restAPI) fetchRole(c *fiber.Ctx) error {
	r, err := a.conv.Role(c.UserContext(), serviceOf(c), param(c, "Role"))
	if err != nil {
		return err
	}
	return c.JSON(a.roleJSON(c, r))
}

func (a *restAPI) updateRole(c *fiber.Ctx) error {
	perms, _ := form{c}.strs("Permission")
	r, err := a.conv.UpdateRole(c.UserContext(), serviceOf(c), param(c, "Role"), perms)
	if err != nil {
		return err
	}
	return c.JSON(a.roleJSON(c, r))
}

func (a *restAPI) deleteRole(c *fiber.Ctx) error {
	if err := a.conv.DeleteRole(c.UserContext(), serviceOf(c), param(c, "Role")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (a *restAPI) listRoles(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 50)
	if err != nil {
		return err
	}
	rows, more, err := a.conv.Roles(c.UserContext(), serviceOf(c), pg.Page)
	if err != nil {
		return err
	}
	out := make([]roleJSON, len(rows))
	for i, r := range rows {
		out[i] = a.roleJSON(c, r)
	}
	return c.JSON(fiber.Map{"roles": out, "meta": meta(c, a.scopeURL(c, "/Roles"), "roles", pg, more)})
}

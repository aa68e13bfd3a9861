package auth

import (
	"context"
	"strings"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// Member is a member of staff as the admin pages list them: who they are,
// where their roles come from, and their worker.
type Member struct {
	Staff
	Issuer string
}

// RolesEditable reports whether an admin may set the member's roles here:
// only for those who sign in without SSO (LocalIssuer), whose roles this
// directory is the source of. An SSO member's roles come from the identity
// provider's claim at every sign-in; an edit here would be undone by the
// next one, so they are changed at the provider.
func (m Member) RolesEditable() bool { return m.Issuer == LocalIssuer }

// Members lists every member of staff, by name.
func (d *Directory) Members(ctx context.Context) ([]Member, error) {
	var rows []staffUser
	if err := d.db.Gorm.WithContext(ctx).Order("name, sid").Find(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "staff")
	}
	out := make([]Member, len(rows))
	for i, u := range rows {
		out[i] = Member{Staff: u.staff(), Issuer: u.Issuer}
	}
	return out, nil
}

// Member fetches one member of staff by SID.
func (d *Directory) Member(ctx context.Context, staffSid string) (Member, error) {
	var u staffUser
	res := d.db.Gorm.WithContext(ctx).Where("sid = ?", staffSid).Limit(1).Find(&u)
	if res.Error != nil {
		return Member{}, errs.Wrap(res.Error, "staff")
	}
	if res.RowsAffected == 0 {
		return Member{}, errs.NotFoundf("There is no member of staff %s", staffSid)
	}
	return Member{Staff: u.staff(), Issuer: u.Issuer}, nil
}

// SetRoles sets the roles of a member of staff who signs in without SSO;
// they hold from their next request on, and their worker's roles
// attribute is brought up to date. An SSO member's roles are refused
// (see RolesEditable), and so is an admin taking the admin role from
// themselves, which would lock them out of the page that gives it back.
func (d *Directory) SetRoles(ctx context.Context, by Staff, staffSid string, roles []string) (Member, error) {
	roles, err := normalRoles(roles)
	if err != nil {
		return Member{}, err
	}
	m, err := d.Member(ctx, staffSid)
	if err != nil {
		return m, err
	}
	if !m.RolesEditable() {
		return m, errs.Invalidf("%s signs in through single sign-on: their roles come from the identity provider at every sign-in; change them there", m.Name)
	}
	after := Staff{Roles: roles}
	if m.Sid == by.Sid && by.Has(RoleAdmin) && !after.Has(RoleAdmin) {
		return m, errs.Invalidf("You cannot take the admin role from yourself; another admin can")
	}
	joined := strings.Join(roles, " ")
	if err := d.db.Gorm.WithContext(ctx).Model(&staffUser{}).Where("sid = ?", m.Sid).
		Updates(map[string]any{"roles": joined, "date_updated": d.now()}).Error; err != nil {
		return m, errs.Wrap(err, "staff roles")
	}
	m.Roles = roles
	// Their worker's roles attribute follows, as a sign-in would bring it.
	if _, err := d.provision.Provision(ctx, m.Staff); err != nil {
		return m, errs.Wrap(err, "provision "+m.Identity)
	}
	return m, nil
}

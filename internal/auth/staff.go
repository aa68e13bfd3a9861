package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// The roles a member of staff may hold. They are cumulative: a supervisor
// may do what an agent may, an admin what a supervisor may.
const (
	RoleAgent      = "agent"
	RoleSupervisor = "supervisor"
	RoleAdmin      = "admin"
)

// roleRank orders the roles: a higher rank includes the lower ones.
var roleRank = map[string]int{RoleAgent: 1, RoleSupervisor: 2, RoleAdmin: 3}

// LocalIssuer is the issuer of staff signed in without SSO: dev mode's demo
// users and tests.
const LocalIssuer = "local"

// Staff is a signed-in member of staff.
type Staff struct {
	Sid         string // our own staff-user SID (SU…)
	Email, Name string
	// Identity is their conversations identity, also their worker's
	// "identity" attribute.
	Identity     string
	Roles        []string // agent, supervisor, admin
	WorkerSid    string
	WorkspaceSid string
}

// Has reports whether s holds role, directly or through a higher one.
func (s Staff) Has(role string) bool {
	want := roleRank[role]
	if want == 0 {
		return false
	}
	for _, r := range s.Roles {
		if roleRank[r] >= want {
			return true
		}
	}
	return false
}

// Profile is what an identity provider (or the dev seed) says about a
// person signing in.
type Profile struct {
	Issuer, Subject string
	Email           string // "" when the provider gave no verified email
	Name            string
	Roles           []string
}

// Placement is where provisioning put a member of staff: their worker.
type Placement struct {
	WorkspaceSid string
	WorkerSid    string
}

// Provisioner gives a member of staff what the desk needs (a conversations
// user and a TaskRouter worker carrying their identity) and brings both up
// to date on later sign-ins. It must be idempotent: a sign-in that fails
// half-way is simply retried by the next one.
type Provisioner interface {
	Provision(ctx context.Context, s Staff) (Placement, error)
}

// staffUser is a staff_users row.
type staffUser struct {
	Sid          string `gorm:"primaryKey"`
	Issuer       string
	Subject      string
	Identity     string
	Email        string
	Name         string
	Roles        string // space-separated
	WorkspaceSid string
	WorkerSid    string
	DateCreated  time.Time
	DateUpdated  time.Time
}

func (staffUser) TableName() string { return "staff_users" }

func (u staffUser) staff() Staff {
	return Staff{Sid: u.Sid, Email: u.Email, Name: u.Name, Identity: u.Identity, Roles: strings.Fields(u.Roles),
		WorkerSid: u.WorkerSid, WorkspaceSid: u.WorkspaceSid}
}

// Directory keeps the members of staff: who they are, their roles, and
// where provisioning put them.
type Directory struct {
	db        *db.DB
	provision Provisioner
	now       func() time.Time
}

// NewDirectory returns the staff directory over d; p provisions each
// member of staff on sign-in.
func NewDirectory(d *db.DB, p Provisioner) *Directory {
	return &Directory{db: d, provision: p, now: func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }}
}

// normalRoles checks roles and returns them deduplicated, lowest first.
func normalRoles(roles []string) ([]string, error) {
	var out []string
	for _, r := range roles {
		if roleRank[r] == 0 {
			return nil, errs.Invalidf("unknown role %q: roles are agent, supervisor and admin", r)
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, errs.Invalidf("a member of staff needs at least one role (agent, supervisor or admin)")
	}
	slices.SortFunc(out, func(a, b string) int { return roleRank[a] - roleRank[b] })
	return out, nil
}

// SignIn records a successful sign-in: it creates the member of staff on
// their first one (their identity is their email, lowercased, or their
// subject when the provider gave no email), refreshes their email, name
// and roles on later ones, and provisions them.
func (d *Directory) SignIn(ctx context.Context, p Profile) (Staff, error) {
	if p.Issuer == "" || p.Subject == "" {
		return Staff{}, errs.Invalidf("a sign-in needs the issuer and subject of the person")
	}
	roles, err := normalRoles(p.Roles)
	if err != nil {
		return Staff{}, err
	}
	p.Email = strings.ToLower(strings.TrimSpace(p.Email))
	p.Name = strings.TrimSpace(p.Name)
	identity := p.Email
	if identity == "" {
		identity = p.Subject
	}
	if len(identity) > maxIdentity {
		return Staff{}, errs.Invalidf("the identity %q is longer than %d characters", identity, maxIdentity)
	}
	if p.Name == "" {
		p.Name = identity
	}
	u, err := d.upsert(ctx, p, identity, strings.Join(roles, " "))
	if err != nil {
		return Staff{}, err
	}
	s := u.staff()
	place, err := d.provision.Provision(ctx, s)
	if err != nil {
		return Staff{}, errs.Wrap(err, "provision "+s.Identity)
	}
	if place.WorkerSid != s.WorkerSid || place.WorkspaceSid != s.WorkspaceSid {
		err := d.db.Gorm.WithContext(ctx).Model(&staffUser{}).Where("sid = ?", s.Sid).
			Updates(map[string]any{"worker_sid": place.WorkerSid, "workspace_sid": place.WorkspaceSid, "date_updated": d.now()}).Error
		if err != nil {
			return Staff{}, errs.Wrap(err, "record worker")
		}
		s.WorkerSid, s.WorkspaceSid = place.WorkerSid, place.WorkspaceSid
	}
	return s, nil
}

// upsert creates or refreshes the staff_users row of the person.
func (d *Directory) upsert(ctx context.Context, p Profile, identity, roles string) (staffUser, error) {
	var u staffUser
	err := d.db.InTx(ctx, func(tx *db.Tx) error {
		now := d.now()
		res := tx.Locked("UPDATE").Where("issuer = ? AND subject = ?", p.Issuer, p.Subject).Limit(1).Find(&u)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			u.Email, u.Name, u.Roles, u.DateUpdated = p.Email, p.Name, roles, now
			return tx.Model(&u).Select("email", "name", "roles", "date_updated").Updates(&u).Error
		}
		u = staffUser{Sid: sid.New(sid.StaffUser), Issuer: p.Issuer, Subject: p.Subject, Identity: identity, Email: p.Email,
			Name: p.Name, Roles: roles, DateCreated: now, DateUpdated: now}
		return tx.Create(&u).Error
	})
	if db.IsUniqueViolation(err) {
		var other staffUser
		res := d.db.Gorm.WithContext(ctx).Where("issuer = ? AND subject = ?", p.Issuer, p.Subject).Limit(1).Find(&other)
		if res.Error == nil && res.RowsAffected == 1 {
			// The same person's other tab signed in first: refresh that row.
			return d.upsert(ctx, p, identity, roles)
		}
		return u, errs.E(errs.Conflict, errs.CodeInvalidParam,
			"another member of staff already has the identity %q (signed in through another provider or the demo sign-in)", identity)
	}
	return u, errs.Wrap(err, "staff user")
}

// Provision signs in a member of staff without SSO, by email: dev mode's
// demo users and tests. Their issuer is LocalIssuer, so only the demo
// sign-in reaches them.
func (d *Directory) Provision(ctx context.Context, email, name string, roles ...string) (Staff, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !strings.Contains(email, "@") {
		return Staff{}, errs.Invalidf("a member of staff needs an email address, not %q", email)
	}
	return d.SignIn(ctx, Profile{Issuer: LocalIssuer, Subject: email, Email: email, Name: name, Roles: roles})
}

// Local lists the members of staff who sign in without SSO, by name.
func (d *Directory) Local(ctx context.Context) ([]Staff, error) {
	var rows []staffUser
	if err := d.db.Gorm.WithContext(ctx).Where("issuer = ?", LocalIssuer).Order("name, sid").Find(&rows).Error; err != nil {
		return nil, errs.Wrap(err, "local staff")
	}
	out := make([]Staff, len(rows))
	for i, u := range rows {
		out[i] = u.staff()
	}
	return out, nil
}

// SignInLocal signs in a member of staff who has no SSO (dev mode's demo
// sign-in) as SignIn would, provisioning included. Anyone else is not
// found, so the demo sign-in never reaches an SSO account.
func (d *Directory) SignInLocal(ctx context.Context, staffSid string) (Staff, error) {
	var u staffUser
	res := d.db.Gorm.WithContext(ctx).Where("sid = ? AND issuer = ?", staffSid, LocalIssuer).Limit(1).Find(&u)
	if res.Error != nil {
		return Staff{}, errs.Wrap(res.Error, "local staff")
	}
	if res.RowsAffected == 0 {
		return Staff{}, errs.NotFoundf("There is no demo user %s", staffSid)
	}
	return d.SignIn(ctx, Profile{Issuer: u.Issuer, Subject: u.Subject, Email: u.Email, Name: u.Name, Roles: strings.Fields(u.Roles)})
}

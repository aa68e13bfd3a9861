package auth_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestAdminsSetRolesOfLocalStaffOnlyAndNeverTheirOwnAdminRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := &placer{}
		dir := auth.NewDirectory(d, p)
		ada, err := dir.Provision(ctx, "ada@example.com", "Ada", auth.RoleAdmin)
		if err != nil {
			t.Fatal(err)
		}
		anna, err := dir.Provision(ctx, "anna@example.com", "Anna", auth.RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		sso, err := dir.SignIn(ctx, auth.Profile{Issuer: "https://idp.example.com", Subject: "42", Email: "sso@example.com",
			Name: "Sam", Roles: []string{auth.RoleAgent}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			who   string
			roles []string
			want  string
		}{
			{"an SSO member", sso.Sid, []string{auth.RoleSupervisor}, "identity provider"},
			{"no roles", anna.Sid, nil, "at least one role"},
			{"an unknown role", anna.Sid, []string{"owner"}, "unknown role"},
			{"the admin demoting themselves", ada.Sid, []string{auth.RoleAgent}, "yourself"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := dir.SetRoles(ctx, ada, tc.who, tc.roles)
				if errs.KindOf(err) != errs.Invalid || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want Invalid naming %q", err, tc.want)
				}
			})
		}
		_, err = dir.SetRoles(ctx, ada, "SU00000000000000000000000000000000", []string{auth.RoleAgent})
		if errs.KindOf(err) != errs.NotFound {
			t.Fatalf("unknown member: %v", err)
		}
		seen := len(p.seen)
		m, err := dir.SetRoles(ctx, ada, anna.Sid, []string{auth.RoleSupervisor, auth.RoleAgent})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Roles, []string{auth.RoleAgent, auth.RoleSupervisor}) || len(p.seen) != seen+1 {
			t.Fatalf("roles %v, provisioned %d times more", m.Roles, len(p.seen)-seen)
		}
		members, err := dir.Members(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range members {
			got = append(got, m.Name)
			if m.Name == "Sam" && m.RolesEditable() || m.Name == "Anna" && (!m.RolesEditable() || !m.Has(auth.RoleSupervisor)) {
				t.Fatalf("member %+v", m)
			}
		}
		if !slices.Equal(got, []string{"Ada", "Anna", "Sam"}) {
			t.Fatalf("members = %v", got)
		}
	})
}

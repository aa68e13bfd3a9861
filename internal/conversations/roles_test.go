package conversations_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func (f fixture) role(t *testing.T, service, typ string, perms ...string) conversations.Role {
	t.Helper()
	r, err := f.e.CreateRole(f.ctx, service, conversations.RoleParams{FriendlyName: ptr("role"), Type: &typ, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRolesGrantOnlyPermissionsOfTheirType(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		before := count(t, d, "roles", "1 = 1")
		for _, tc := range []struct {
			name string
			p    conversations.RoleParams
			want string // in the message
		}{
			{"service permission on a conversation role", conversations.RoleParams{FriendlyName: ptr("r"),
				Type: ptr("conversation"), Permissions: []string{"sendMessage", "createConversation"}}, "createConversation"},
			{"unknown permission", conversations.RoleParams{FriendlyName: ptr("r"), Type: ptr("service"),
				Permissions: []string{"fly"}}, "fly"},
			{"no permissions", conversations.RoleParams{FriendlyName: ptr("r"), Type: ptr("service")}, "Permission"},
			{"no type", conversations.RoleParams{FriendlyName: ptr("r"), Permissions: []string{"sendMessage"}}, "Type"},
			{"unknown type", conversations.RoleParams{FriendlyName: ptr("r"), Type: ptr("channel"),
				Permissions: []string{"sendMessage"}}, "Type"},
			{"no name", conversations.RoleParams{Type: ptr("service"), Permissions: []string{"sendMessage"}}, "FriendlyName"},
			{"name over 64", conversations.RoleParams{FriendlyName: ptr(strings.Repeat("r", 65)), Type: ptr("service"),
				Permissions: []string{"sendMessage"}}, "FriendlyName"},
		} {
			_, err := f.e.CreateRole(f.ctx, f.service, tc.p)
			wantCode(t, err, errs.CodeInvalidParam)
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: message %q does not name %q", tc.name, err, tc.want)
			}
		}
		if n := count(t, d, "roles", "1 = 1"); n != before {
			t.Fatalf("rejected creates wrote %d roles", n-before)
		}
		r := f.role(t, f.service, "conversation", "sendMessage", "leaveConversation", "sendMessage")
		if got := r.PermissionList(); !slices.Equal(got, []string{"sendMessage", "leaveConversation"}) {
			t.Fatalf("permissions = %v, want them once each in the given order", got)
		}
	})
}

func TestUpdatingARoleReplacesItsPermissions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		r := f.role(t, f.service, "service", "createConversation", "joinConversation")
		up, err := f.e.UpdateRole(f.ctx, f.service, r.Sid, []string{"editOwnUserInfo"})
		if err != nil || !slices.Equal(up.PermissionList(), []string{"editOwnUserInfo"}) || up.Type != "service" {
			t.Fatalf("update = %+v, %v", up, err)
		}
		_, err = f.e.UpdateRole(f.ctx, f.service, r.Sid, []string{"editOwnUserInfo", "deleteConversatio"})
		wantCode(t, err, errs.CodeInvalidParam)
		_, err = f.e.UpdateRole(f.ctx, f.service, r.Sid, nil)
		wantCode(t, err, errs.CodeInvalidParam)
		got, _ := f.e.Role(f.ctx, f.service, r.Sid)
		if !slices.Equal(got.PermissionList(), []string{"editOwnUserInfo"}) {
			t.Fatalf("rejected updates changed the permissions to %v", got.PermissionList())
		}
	})
}

func TestARoleSomebodyHoldsCannotBeDeleted(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		svc, _ := f.e.ResolveService(f.ctx, f.service)
		wantKind(t, f.e.DeleteRole(f.ctx, f.service, svc.DefaultConversationRoleSid), errs.Conflict, errs.CodeInvalidParam)

		userRole := f.role(t, f.service, "service", "createConversation")
		if _, err := f.e.CreateUser(f.ctx, f.service, conversations.UserParams{Identity: ptr("alice"), RoleSid: &userRole.Sid}); err != nil {
			t.Fatal(err)
		}
		wantKind(t, f.e.DeleteRole(f.ctx, f.service, userRole.Sid), errs.Conflict, errs.CodeInvalidParam)

		memberRole := f.role(t, f.service, "conversation", "sendMessage")
		c := f.conversation(t, conversations.ConversationParams{})
		p := chat("bob")
		p.RoleSid = &memberRole.Sid
		if _, err := f.e.AddParticipant(f.ctx, f.service, c.Sid, p); err != nil {
			t.Fatal(err)
		}
		err := f.e.DeleteRole(f.ctx, f.service, memberRole.Sid)
		wantKind(t, err, errs.Conflict, errs.CodeInvalidParam)
		if !strings.Contains(err.Error(), "participants") {
			t.Fatalf("the error does not say who holds the role: %v", err)
		}

		if err := f.e.RemoveParticipant(f.ctx, f.service, c.Sid, "bob", "API"); err != nil {
			t.Fatal(err)
		}
		if err := f.e.DeleteRole(f.ctx, f.service, memberRole.Sid); err != nil {
			t.Fatalf("a role nobody holds any more: %v", err)
		}
		_, err = f.e.Role(f.ctx, f.service, memberRole.Sid)
		wantKind(t, err, errs.NotFound, errs.CodeNotFound)
	})
}

func TestRolesAreInvisibleOutsideTheirService(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		other := f.newService(t, "Other")
		r := f.role(t, other.Sid, "service", "createConversation")
		_, err := f.e.Role(f.ctx, f.service, r.Sid)
		wantCode(t, err, errs.CodeNotFound)
		_, err = f.e.UpdateRole(f.ctx, f.service, r.Sid, []string{"joinConversation"})
		wantCode(t, err, errs.CodeNotFound)
		wantCode(t, f.e.DeleteRole(f.ctx, f.service, r.Sid), errs.CodeNotFound)
		_, err = f.e.CreateUser(f.ctx, f.service, conversations.UserParams{Identity: ptr("alice"), RoleSid: &r.Sid})
		wantCode(t, err, errs.CodeNotFound)
		roles, _, _ := f.e.Roles(f.ctx, f.service, conversations.Page{Limit: 50})
		for _, got := range roles {
			if got.Sid == r.Sid {
				t.Fatal("another service's role is listed")
			}
		}
	})
}

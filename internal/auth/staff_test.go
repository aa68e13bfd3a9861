package auth_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// placer is a provisioner that puts everyone on a worker named after their
// identity and remembers whom it saw; fail makes it fail.
type placer struct {
	mu   sync.Mutex
	seen []auth.Staff
	fail error
}

func (p *placer) Provision(_ context.Context, s auth.Staff) (auth.Placement, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = append(p.seen, s)
	if p.fail != nil {
		return auth.Placement{}, p.fail
	}
	return auth.Placement{WorkspaceSid: "WS-of-" + s.Identity, WorkerSid: "WK-of-" + s.Identity}, nil
}

func TestStaffRolesAreCumulative(t *testing.T) {
	cases := []struct {
		roles []string
		role  string
		has   bool
	}{
		{[]string{auth.RoleAgent}, auth.RoleAgent, true},
		{[]string{auth.RoleAgent}, auth.RoleSupervisor, false},
		{[]string{auth.RoleAgent}, auth.RoleAdmin, false},
		{[]string{auth.RoleSupervisor}, auth.RoleAgent, true},
		{[]string{auth.RoleSupervisor}, auth.RoleSupervisor, true},
		{[]string{auth.RoleSupervisor}, auth.RoleAdmin, false},
		{[]string{auth.RoleAdmin}, auth.RoleAgent, true},
		{[]string{auth.RoleAdmin}, auth.RoleSupervisor, true},
		{[]string{auth.RoleAgent, auth.RoleAdmin}, auth.RoleAdmin, true},
		{[]string{auth.RoleAdmin}, "owner", false},
		{nil, auth.RoleAgent, false},
	}
	for _, tc := range cases {
		if got := (auth.Staff{Roles: tc.roles}).Has(tc.role); got != tc.has {
			t.Errorf("Staff{Roles: %v}.Has(%q) = %v, want %v", tc.roles, tc.role, got, tc.has)
		}
	}
}

func TestFirstSignInCreatesTheStaffMemberWithTheirEmailAsIdentityAndProvisionsThem(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := &placer{}
		dir := auth.NewDirectory(d, p)
		s, err := dir.SignIn(context.Background(), auth.Profile{Issuer: "https://idp.example", Subject: "u-1",
			Email: " Ana.Agent@Example.COM ", Name: "Ana Agent", Roles: []string{auth.RoleSupervisor, auth.RoleAgent, auth.RoleAgent}})
		if err != nil {
			t.Fatal(err)
		}
		if !s.Has(auth.RoleSupervisor) || s.Identity != "ana.agent@example.com" || s.Email != "ana.agent@example.com" || s.Name != "Ana Agent" ||
			!slices.Equal(s.Roles, []string{auth.RoleAgent, auth.RoleSupervisor}) || len(s.Sid) != 34 || s.Sid[:2] != "SU" {
			t.Fatalf("staff = %+v", s)
		}
		if s.WorkerSid != "WK-of-ana.agent@example.com" || s.WorkspaceSid != "WS-of-ana.agent@example.com" {
			t.Fatalf("placement = %s in %s; want what the provisioner said", s.WorkerSid, s.WorkspaceSid)
		}
		if len(p.seen) != 1 || p.seen[0].Identity != s.Identity || p.seen[0].WorkerSid != "" {
			t.Fatalf("provisioner saw %+v; want the new member of staff, without a worker yet", p.seen)
		}
	})
}

func TestLaterSignInsRefreshNameEmailAndRolesButKeepTheIdentity(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := &placer{}
		dir := auth.NewDirectory(d, p)
		first, err := dir.SignIn(ctx, auth.Profile{Issuer: "https://idp.example", Subject: "u-1", Email: "ana@example.com", Name: "Ana",
			Roles: []string{auth.RoleAgent}})
		if err != nil {
			t.Fatal(err)
		}
		again, err := dir.SignIn(ctx, auth.Profile{Issuer: "https://idp.example", Subject: "u-1", Email: "ana.lima@example.com",
			Name: "Ana Lima", Roles: []string{auth.RoleAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		if again.Sid != first.Sid || again.Identity != "ana@example.com" || again.Email != "ana.lima@example.com" || again.Name != "Ana Lima" ||
			!slices.Equal(again.Roles, []string{auth.RoleAdmin}) {
			t.Fatalf("after the second sign-in: %+v", again)
		}
		if got := p.seen[1]; got.WorkerSid != first.WorkerSid || got.Email != "ana.lima@example.com" {
			t.Fatalf("provisioner saw %+v; want the worker they have and the new email", got)
		}
	})
}

func TestIdentityIsTheSubjectWhenTheProviderGivesNoEmailAndTheNameFallsBackToIt(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s, err := auth.NewDirectory(d, &placer{}).SignIn(context.Background(),
			auth.Profile{Issuer: "https://idp.example", Subject: "00u1abcd", Roles: []string{auth.RoleAgent}})
		if err != nil {
			t.Fatal(err)
		}
		if s.Identity != "00u1abcd" || s.Name != "00u1abcd" || s.Email != "" {
			t.Fatalf("staff = %+v", s)
		}
	})
}

func TestSignInRefusesBadProfiles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		dir := auth.NewDirectory(d, &placer{})
		long := make([]byte, 257)
		for i := range long {
			long[i] = 'a'
		}
		for name, p := range map[string]auth.Profile{
			"no role":         {Issuer: "i", Subject: "s", Email: "a@example.com"},
			"an unknown role": {Issuer: "i", Subject: "s", Email: "a@example.com", Roles: []string{"owner"}},
			"no subject":      {Issuer: "i", Email: "a@example.com", Roles: []string{auth.RoleAgent}},
			"no issuer":       {Subject: "s", Email: "a@example.com", Roles: []string{auth.RoleAgent}},
			"a huge identity": {Issuer: "i", Subject: string(long), Roles: []string{auth.RoleAgent}},
		} {
			if _, err := dir.SignIn(context.Background(), p); errs.KindOf(err) != errs.Invalid {
				t.Errorf("%s: %v; want Invalid", name, err)
			}
		}
	})
}

func TestAnIdentityAnotherStaffMemberHasIsAConflict(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dir := auth.NewDirectory(d, &placer{})
		if _, err := dir.Provision(ctx, "ana@example.com", "Ana", auth.RoleAgent); err != nil {
			t.Fatal(err)
		}
		_, err := dir.SignIn(ctx, auth.Profile{Issuer: "https://idp.example", Subject: "u-9", Email: "ana@example.com", Roles: []string{auth.RoleAgent}})
		if errs.KindOf(err) != errs.Conflict {
			t.Fatalf("SSO sign-in with a demo user's email: %v; want Conflict", err)
		}
	})
}

func TestAFailedProvisioningIsRetriedByTheNextSignIn(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := &placer{fail: errors.New("taskrouter down")}
		dir := auth.NewDirectory(d, p)
		profile := auth.Profile{Issuer: "https://idp.example", Subject: "u-1", Email: "ana@example.com", Roles: []string{auth.RoleAgent}}
		if _, err := dir.SignIn(ctx, profile); err == nil {
			t.Fatal("sign-in succeeded although provisioning failed")
		}
		p.fail = nil
		s, err := dir.SignIn(ctx, profile)
		if err != nil || s.WorkerSid != "WK-of-ana@example.com" {
			t.Fatalf("second sign-in = %+v, %v; want provisioned", s, err)
		}
	})
}

func TestConcurrentFirstSignInsOfOnePersonMakeOneStaffMember(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		dir := auth.NewDirectory(d, &placer{})
		profile := auth.Profile{Issuer: "https://idp.example", Subject: "u-1", Email: "ana@example.com", Roles: []string{auth.RoleAgent}}
		sids := make([]string, 4)
		var wg sync.WaitGroup
		for i := range sids {
			wg.Go(func() {
				s, err := dir.SignIn(context.Background(), profile)
				if err != nil {
					t.Error(err)
				}
				sids[i] = s.Sid
			})
		}
		wg.Wait()
		if sids[0] == "" || slices.ContainsFunc(sids, func(s string) bool { return s != sids[0] }) {
			t.Fatalf("staff SIDs = %v; want one", sids)
		}
	})
}

func TestTheDemoSignInReachesLocalStaffOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		dir := auth.NewDirectory(d, &placer{})
		bea, err := dir.Provision(ctx, "bea@demo.test", "Bea", auth.RoleSupervisor)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dir.Provision(ctx, "ana@demo.test", "Ana", auth.RoleAgent); err != nil {
			t.Fatal(err)
		}
		sso, err := dir.SignIn(ctx, auth.Profile{Issuer: "https://idp.example", Subject: "u-1", Email: "carl@example.com", Roles: []string{auth.RoleAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		local, err := dir.Local(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range local {
			names = append(names, s.Name)
		}
		if !slices.Equal(names, []string{"Ana", "Bea"}) {
			t.Fatalf("Local = %v; want the demo users by name", names)
		}
		if s, err := dir.SignInLocal(ctx, bea.Sid); err != nil || s.Sid != bea.Sid || !s.Has(auth.RoleSupervisor) {
			t.Fatalf("SignInLocal(Bea) = %+v, %v", s, err)
		}
		if _, err := dir.SignInLocal(ctx, sso.Sid); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("SignInLocal(an SSO account) = %v; want NotFound", err)
		}
		if _, err := dir.Provision(ctx, "not-an-email", "X", auth.RoleAgent); errs.KindOf(err) != errs.Invalid {
			t.Fatalf("Provision without an email: %v; want Invalid", err)
		}
	})
}

package auth_test

import (
	"slices"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestRolesComeFromTheConfiguredClaimWithADefault(t *testing.T) {
	values := map[string][]string{
		auth.RoleAgent:      {"sb-agents", "Support"},
		auth.RoleSupervisor: {"sb-leads"},
		auth.RoleAdmin:      {"sb-admins", "boss@example.com"},
	}
	cases := []struct {
		name        string
		claim       string
		defaultRole string
		claims      map[string]any
		want        []string // nil: refused
	}{
		{"a group grants its role", "groups", "", map[string]any{"groups": []any{"sb-leads"}}, []string{auth.RoleSupervisor}},
		{"several groups grant several roles", "groups", "", map[string]any{"groups": []any{"Support", "sb-admins", "x"}},
			[]string{auth.RoleAgent, auth.RoleAdmin}},
		{"values match exactly", "groups", "", map[string]any{"groups": []any{"SB-LEADS", "sb-leads-old"}}, nil},
		{"no mapped group gets the default role", "groups", auth.RoleAgent, map[string]any{"groups": []any{"engineering"}},
			[]string{auth.RoleAgent}},
		{"no claim at all gets the default role", "groups", auth.RoleAgent, map[string]any{}, []string{auth.RoleAgent}},
		{"without a default, no mapped group is refused", "groups", "", map[string]any{"groups": []any{"engineering"}}, nil},
		{"a one-string claim", "email", "", map[string]any{"email": "boss@example.com"}, []string{auth.RoleAdmin}},
		{"Entra app roles", "roles", "", map[string]any{"roles": []any{"sb-agents"}}, []string{auth.RoleAgent}},
		{"a dotted path into nested claims (Keycloak realm roles)", "realm_access.roles", "",
			map[string]any{"realm_access": map[string]any{"roles": []any{"offline_access", "sb-leads"}}}, []string{auth.RoleSupervisor}},
		{"a claim whose name has dots is read as such first", "https://example.com/roles", "",
			map[string]any{"https://example.com/roles": []any{"sb-admins"}}, []string{auth.RoleAdmin}},
		{"non-string values are ignored", "groups", "", map[string]any{"groups": []any{42, true, map[string]any{}}}, nil},
		{"an object claim grants nothing", "groups", "", map[string]any{"groups": map[string]any{"sb-admins": true}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sso, err := auth.NewSSO(auth.SSOConfig{Issuer: "https://idp.example", ClientID: "switchboard", RolesClaim: tc.claim,
				RoleValues: values, DefaultRole: tc.defaultRole}, newSealer(t))
			if err != nil {
				t.Fatal(err)
			}
			got, err := sso.Roles(tc.claims)
			if tc.want == nil {
				if errs.KindOf(err) != errs.Forbidden {
					t.Fatalf("Roles = %v, %v; want Forbidden", got, err)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("Roles = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestSSOConfigurationIsCheckedAtStart(t *testing.T) {
	ok := auth.SSOConfig{Issuer: "https://idp.example/realms/acme", ClientID: "switchboard"}
	for name, change := range map[string]func(c *auth.SSOConfig){
		"plain http to a remote issuer": func(c *auth.SSOConfig) { c.Issuer = "http://idp.example" },
		"no issuer host":                func(c *auth.SSOConfig) { c.Issuer = "https://" },
		"no client ID":                  func(c *auth.SSOConfig) { c.ClientID = "" },
		"an unknown default role":       func(c *auth.SSOConfig) { c.DefaultRole = "owner" },
		"an unknown mapped role":        func(c *auth.SSOConfig) { c.RoleValues = map[string][]string{"owner": {"x"}} },
	} {
		c := ok
		change(&c)
		if _, err := auth.NewSSO(c, newSealer(t)); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: %v; want Invalid", name, err)
		}
	}
	for _, issuer := range []string{"https://idp.example", "http://127.0.0.1:5556/dex", "http://localhost:8081/realms/acme", "http://[::1]:9000"} {
		c := ok
		c.Issuer = issuer
		if _, err := auth.NewSSO(c, newSealer(t)); err != nil {
			t.Errorf("issuer %s: %v", issuer, err)
		}
	}
	if _, err := auth.NewSSO(ok, nil); errs.KindOf(err) != errs.Invalid {
		t.Errorf("without a sealer: %v; want Invalid", err)
	}
}

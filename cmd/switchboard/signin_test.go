package main

import (
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/auth"
)

func TestStaffSignInFlagsAndTheirEnvironment(t *testing.T) {
	env := map[string]string{
		"SWITCHBOARD_OIDC_ISSUER":            "https://login.example.com/realms/acme",
		"SWITCHBOARD_OIDC_CLIENT_ID":         "switchboard",
		"SWITCHBOARD_OIDC_CLIENT_SECRET":     "s3cret",
		"SWITCHBOARD_OIDC_SUPERVISOR_VALUES": "leads, night-leads",
	}
	cfg, err := parseFlags("serve", []string{"--oidc-roles-claim", "realm_access.roles", "--oidc-scopes", "openid,email groups",
		"--oidc-admin-values", "sb-admins", "--oidc-default-role", "none", "--workspace", "WS0123456789abcdef0123456789abcdef",
		"--session-idle-timeout", "30m"}, func(k string) string { return env[k] }, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.OIDC
	if o.Issuer != env["SWITCHBOARD_OIDC_ISSUER"] || o.ClientID != "switchboard" || o.ClientSecret != "s3cret" || o.RolesClaim != "realm_access.roles" ||
		!slices.Equal(o.Scopes, []string{"openid", "email", "groups"}) || o.DefaultRole != "" ||
		!slices.Equal(o.RoleValues[auth.RoleSupervisor], []string{"leads", "night-leads"}) ||
		!slices.Equal(o.RoleValues[auth.RoleAdmin], []string{"sb-admins"}) || !slices.Equal(o.RoleValues[auth.RoleAgent], []string{"agent"}) {
		t.Fatalf("OIDC config = %+v", o)
	}
	if cfg.Workspace != "WS0123456789abcdef0123456789abcdef" || cfg.SessionIdle != 30*time.Minute || cfg.SessionMaxAge != auth.DefaultSessionMaxAge {
		t.Fatalf("workspace %q, idle %v, max age %v", cfg.Workspace, cfg.SessionIdle, cfg.SessionMaxAge)
	}

	defaults, err := parseFlags("serve", nil, noEnv, io.Discard, true)
	if err != nil {
		t.Fatal(err)
	}
	if defaults.OIDC.Issuer != "" || defaults.OIDC.DefaultRole != auth.RoleAgent || defaults.OIDC.RolesClaim != "groups" ||
		defaults.SessionIdle != auth.DefaultSessionIdle {
		t.Fatalf("defaults = %+v", defaults)
	}

	for _, bad := range [][]string{
		{"--oidc-issuer", "https://idp.example"},
		{"--oidc-default-role", "owner"},
		{"--workspace", "Flex Task Assignment"},
		{"--session-idle-timeout", "forever"},
		{"--session-max-age", "-1h"},
	} {
		if _, err := parseFlags("serve", bad, noEnv, io.Discard, true); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v; want an error naming %s", bad, err, bad[0])
		}
	}
}

func TestSessionCookiesGoWithoutSecureOnlyOnPlainHTTPLoopback(t *testing.T) {
	cases := []struct {
		publicURL, addr string
		plain           bool
	}{
		{"", "127.0.0.1:8080", true},
		{"", "[::1]:8080", true},
		{"", "localhost:8080", true},
		{"", "0.0.0.0:8080", false},
		{"", ":8080", false},
		{"http://localhost:8080", "0.0.0.0:8080", true},
		{"http://127.0.0.1:8080/", "127.0.0.1:8080", true},
		{"https://localhost:8443", "127.0.0.1:8080", false},
		{"https://desk.example.com", "127.0.0.1:8080", false},
		{"http://desk.example.com", "127.0.0.1:8080", false},
	}
	for _, tc := range cases {
		if got := plainLoopback(tc.publicURL, tc.addr); got != tc.plain {
			t.Errorf("plainLoopback(%q, %q) = %v, want %v", tc.publicURL, tc.addr, got, tc.plain)
		}
	}
}

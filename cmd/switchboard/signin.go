package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/interactions/desk"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// ssoFlags are the staff sign-in flags as typed, before apply checks them.
type ssoFlags struct {
	scopes, agent, supervisor, admin, defaultRole, idle, maxAge string
}

// staffFlags declares the staff sign-in flags (docs/sso.md explains them).
func staffFlags(fs *flag.FlagSet, cfg *config, getenv func(string) string, f *ssoFlags) {
	fs.StringVar(&cfg.OIDC.Issuer, "oidc-issuer", getenv("SWITCHBOARD_OIDC_ISSUER"), "staff SSO: the OpenID provider's issuer URL; empty turns SSO off (env SWITCHBOARD_OIDC_ISSUER)")
	fs.StringVar(&cfg.OIDC.ClientID, "oidc-client-id", getenv("SWITCHBOARD_OIDC_CLIENT_ID"), "staff SSO: the client ID registered with the provider; its secret is env SWITCHBOARD_OIDC_CLIENT_SECRET (env SWITCHBOARD_OIDC_CLIENT_ID)")
	cfg.OIDC.ClientSecret = getenv("SWITCHBOARD_OIDC_CLIENT_SECRET")
	fs.StringVar(&f.scopes, "oidc-scopes", envOr(getenv, "SWITCHBOARD_OIDC_SCOPES", "openid profile email"), "staff SSO: scopes to ask for, space- or comma-separated (env SWITCHBOARD_OIDC_SCOPES)")
	fs.StringVar(&cfg.OIDCRedirectURL, "oidc-redirect-url", getenv("SWITCHBOARD_OIDC_REDIRECT_URL"), "staff SSO: the callback registered with the provider; default <public URL>/auth/callback (env SWITCHBOARD_OIDC_REDIRECT_URL)")
	fs.StringVar(&cfg.OIDC.RolesClaim, "oidc-roles-claim", envOr(getenv, "SWITCHBOARD_OIDC_ROLES_CLAIM", "groups"), "staff SSO: the ID-token claim listing a person's groups or roles; a dotted path reaches nested claims, e.g. realm_access.roles (env SWITCHBOARD_OIDC_ROLES_CLAIM)")
	fs.StringVar(&f.agent, "oidc-agent-values", envOr(getenv, "SWITCHBOARD_OIDC_AGENT_VALUES", auth.RoleAgent), "staff SSO: comma-separated claim values that make someone an agent (env SWITCHBOARD_OIDC_AGENT_VALUES)")
	fs.StringVar(&f.supervisor, "oidc-supervisor-values", envOr(getenv, "SWITCHBOARD_OIDC_SUPERVISOR_VALUES", auth.RoleSupervisor), "staff SSO: comma-separated claim values that make someone a supervisor (env SWITCHBOARD_OIDC_SUPERVISOR_VALUES)")
	fs.StringVar(&f.admin, "oidc-admin-values", envOr(getenv, "SWITCHBOARD_OIDC_ADMIN_VALUES", auth.RoleAdmin), "staff SSO: comma-separated claim values that make someone an admin (env SWITCHBOARD_OIDC_ADMIN_VALUES)")
	fs.StringVar(&f.defaultRole, "oidc-default-role", envOr(getenv, "SWITCHBOARD_OIDC_DEFAULT_ROLE", auth.RoleAgent), "staff SSO: the role of someone with none of those values: agent, supervisor, admin, or none to refuse them (env SWITCHBOARD_OIDC_DEFAULT_ROLE)")
	fs.StringVar(&cfg.Workspace, "workspace", getenv("SWITCHBOARD_WORKSPACE"), "the workspace (WS…) staff get their workers in; default: the oldest (env SWITCHBOARD_WORKSPACE)")
	fs.StringVar(&f.idle, "session-idle-timeout", envOr(getenv, "SWITCHBOARD_SESSION_IDLE_TIMEOUT", auth.DefaultSessionIdle.String()), "staff sessions end after this long unused (env SWITCHBOARD_SESSION_IDLE_TIMEOUT)")
	fs.StringVar(&f.maxAge, "session-max-age", envOr(getenv, "SWITCHBOARD_SESSION_MAX_AGE", auth.DefaultSessionMaxAge.String()), "staff sessions end this long after sign-in, used or not (env SWITCHBOARD_SESSION_MAX_AGE)")
}

// apply checks the staff sign-in flags and puts them into cfg.
func (f ssoFlags) apply(cfg *config) error {
	list := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	}
	cfg.OIDC.Scopes = list(f.scopes)
	cfg.OIDC.RoleValues = map[string][]string{auth.RoleAgent: list(f.agent), auth.RoleSupervisor: list(f.supervisor), auth.RoleAdmin: list(f.admin)}
	switch f.defaultRole {
	case "none":
		cfg.OIDC.DefaultRole = ""
	case auth.RoleAgent, auth.RoleSupervisor, auth.RoleAdmin:
		cfg.OIDC.DefaultRole = f.defaultRole
	default:
		return fmt.Errorf("--oidc-default-role must be agent, supervisor, admin or none, not %q", f.defaultRole)
	}
	if cfg.OIDC.Issuer != "" && cfg.OIDC.ClientID == "" {
		return errors.New("--oidc-issuer needs --oidc-client-id (and SWITCHBOARD_OIDC_CLIENT_SECRET for a confidential client)")
	}
	if cfg.Workspace != "" && !sid.Is(cfg.Workspace, sid.Workspace) {
		return fmt.Errorf("--workspace must be a workspace SID (WS…), not %q", cfg.Workspace)
	}
	var err error
	if cfg.SessionIdle, err = time.ParseDuration(f.idle); err != nil || cfg.SessionIdle <= 0 {
		return fmt.Errorf("--session-idle-timeout must be a positive duration such as 8h, not %q", f.idle)
	}
	if cfg.SessionMaxAge, err = time.ParseDuration(f.maxAge); err != nil || cfg.SessionMaxAge <= 0 {
		return fmt.Errorf("--session-max-age must be a positive duration such as 12h, not %q", f.maxAge)
	}
	return nil
}

// plainLoopback reports whether the server is plain http on a loopback
// address (per its public URL, else its listen address): only then may
// the session cookie go without Secure, which browsers would not send back
// over http.
func plainLoopback(publicURL, listenAddr string) bool {
	if publicURL == "" {
		return isLoopback(listenAddr)
	}
	u, err := url.Parse(publicURL)
	if err != nil || u.Scheme != "http" {
		return false
	}
	return isLoopback(net.JoinHostPort(u.Hostname(), "80"))
}

// startStaffSignIn builds staff sign-in: the directory (provisioning
// workers in cfg.Workspace), sessions and, with an issuer, SSO. The
// provider is asked for its discovery document now only to warn early: a
// provider that is down does not stop the server.
func startStaffSignIn(ctx context.Context, cfg config, log *slog.Logger, secret []byte, d *db.DB,
	conv *conversations.Engine, tr *taskrouter.Engine) (*auth.Directory, *auth.Sessions, *auth.SSO, error) {
	if cfg.Workspace != "" {
		if _, err := tr.Workspace(ctx, cfg.Workspace); err != nil {
			return nil, nil, nil, fmt.Errorf("--workspace %s: %w", cfg.Workspace, err)
		}
	}
	staff := auth.NewDirectory(d, desk.NewProvisioner(conv, tr, cfg.Workspace))
	sessions := auth.NewSessions(d, auth.SessionOptions{Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge})
	if cfg.OIDC.Issuer == "" {
		return staff, sessions, nil, nil
	}
	sealer, err := secrets.New(deriveKey(secret, "sso sign-in"))
	if err != nil {
		return nil, nil, nil, err
	}
	sso, err := auth.NewSSO(cfg.OIDC, sealer)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := sso.Discover(ctx); err != nil {
		log.Warn("the identity provider is not reachable yet; sign-ins will try again", "issuer", cfg.OIDC.Issuer, "err", err)
	}
	return staff, sessions, sso, nil
}

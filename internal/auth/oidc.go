package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/secrets"
)

// SSOConfig says how staff sign in with the company's OpenID provider.
type SSOConfig struct {
	// Issuer is the provider's issuer URL; its discovery document lives at
	// Issuer + "/.well-known/openid-configuration". https, or http on a
	// loopback host (tests, a provider on the same machine).
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes are asked for; "openid" is always among them. Empty means
	// openid, profile and email.
	Scopes []string
	// RolesClaim names the ID-token claim holding the person's groups or
	// roles: a top-level claim ("groups", "roles") or a dotted path into
	// nested ones ("realm_access.roles"). Empty means "groups".
	RolesClaim string
	// RoleValues maps each role (RoleAgent, RoleSupervisor, RoleAdmin) to
	// the claim values that grant it.
	RoleValues map[string][]string
	// DefaultRole is given to people with none of the values; "" refuses
	// them.
	DefaultRole string
	// HTTPClient talks to the provider; nil means one with a 10-second
	// timeout.
	HTTPClient *http.Client
}

// flowTTL is how long a person has between leaving for the provider and
// coming back with a code.
const flowTTL = 10 * time.Minute

// SSO signs staff in with OpenID Connect: the authorization-code flow with
// PKCE (S256), state and nonce. The state, nonce and PKCE verifier travel
// in a cookie sealed with the server's key, so any node can finish a
// sign-in another one began and nothing is stored before sign-in.
type SSO struct {
	cfg    SSOConfig
	sealer *secrets.Sealer
	now    func() time.Time

	mu       sync.Mutex
	provider *oidc.Provider // nil until discovery succeeds
	// endSession is the provider's end_session_endpoint ("" when it has
	// none): RP-initiated logout.
	endSession string
}

// NewSSO checks cfg and returns the SSO client. It does not reach the
// provider: discovery happens on the first sign-in (or Discover), so the
// server starts even while the provider is down.
func NewSSO(cfg SSOConfig, sealer *secrets.Sealer) (*SSO, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopbackHost(u.Hostname()))) {
		return nil, errs.Invalidf("the OIDC issuer must be an https URL (or http on a loopback host), not %q", cfg.Issuer)
	}
	if cfg.ClientID == "" {
		return nil, errs.Invalidf("the OIDC client ID is required with an issuer")
	}
	if sealer == nil {
		return nil, errs.Invalidf("SSO needs a sealer for its sign-in cookie")
	}
	if cfg.DefaultRole != "" && roleRank[cfg.DefaultRole] == 0 {
		return nil, errs.Invalidf("the default role must be agent, supervisor, admin or none, not %q", cfg.DefaultRole)
	}
	for role := range cfg.RoleValues {
		if roleRank[role] == 0 {
			return nil, errs.Invalidf("unknown role %q in the role mapping: roles are agent, supervisor and admin", role)
		}
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email"}
	}
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		cfg.Scopes = append([]string{oidc.ScopeOpenID}, cfg.Scopes...)
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = "groups"
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	return &SSO{cfg: cfg, sealer: sealer, now: time.Now}, nil
}

func loopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// SetClock replaces the clock that dates sign-ins and checks ID tokens'
// expiry (tests).
func (s *SSO) SetClock(now func() time.Time) { s.now = now }

// Issuer is the provider's issuer URL.
func (s *SSO) Issuer() string { return s.cfg.Issuer }

func (s *SSO) clientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, s.cfg.HTTPClient)
}

// Discover fetches the provider's discovery document, once: later calls
// return the cached provider.
func (s *SSO) Discover(ctx context.Context) error {
	_, err := s.discover(ctx)
	return err
}

func (s *SSO) discover(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	p, err := oidc.NewProvider(s.clientContext(ctx), s.cfg.Issuer)
	if err != nil {
		return nil, &errs.Error{Kind: errs.Unavailable, Code: errs.CodeUnavailable, Err: err,
			Message: fmt.Sprintf("The identity provider at %s could not be reached or its discovery document was not accepted", s.cfg.Issuer)}
	}
	var extra struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&extra); err != nil {
		return nil, errs.Wrap(err, "provider discovery")
	}
	s.provider, s.endSession = p, extra.EndSession
	return p, nil
}

func (s *SSO) oauth(p *oidc.Provider, redirectURL string) *oauth2.Config {
	return &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirectURL, Scopes: s.cfg.Scopes}
}

// flow is what the sealed sign-in cookie carries between Begin and Finish.
type flow struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Redirect string `json:"r"`
	Next     string `json:"x"`
	Expires  int64  `json:"e"`
}

// FlowTTL is how long the sign-in cookie Begin returns should live.
func (s *SSO) FlowTTL() time.Duration { return flowTTL }

// Begin starts a sign-in: it returns the provider's authorization URL to
// send the browser to, and the sealed value of the cookie that must come
// back with the browser to Finish. redirectURL is our callback, registered
// with the provider; next is where the person goes once signed in.
func (s *SSO) Begin(ctx context.Context, redirectURL, next string) (authURL, cookie string, err error) {
	p, err := s.discover(ctx)
	if err != nil {
		return "", "", err
	}
	f := flow{State: randomToken(), Nonce: randomToken(), Verifier: oauth2.GenerateVerifier(), Redirect: redirectURL,
		Next: next, Expires: s.now().Add(flowTTL).Unix()}
	raw, err := json.Marshal(f)
	if err != nil {
		return "", "", errs.Wrap(err, "sign-in flow")
	}
	if cookie, err = s.sealer.Seal(string(raw)); err != nil {
		return "", "", errs.Wrap(err, "seal sign-in flow")
	}
	authURL = s.oauth(p, redirectURL).AuthCodeURL(f.State, oidc.Nonce(f.Nonce), oauth2.S256ChallengeOption(f.Verifier))
	return authURL, cookie, nil
}

// refused is a sign-in the provider's answer does not allow.
func refused(format string, args ...any) error {
	return errs.E(errs.Unauthorized, errs.CodeAuth, format, args...)
}

// Finish completes a sign-in when the provider sends the browser back:
// cookie is the sealed value Begin returned, state and code the callback's
// parameters. It checks the state, redeems the code with the PKCE
// verifier, verifies the ID token (signature, issuer, audience, expiry)
// and its nonce, and maps the person's roles. It returns their profile, the
// raw ID token (for logout) and where they wanted to go.
func (s *SSO) Finish(ctx context.Context, cookie, state, code string) (p Profile, idToken, next string, err error) {
	if cookie == "" {
		return p, "", "", refused("This browser did not start this sign-in, or it took longer than %d minutes. Sign in again.", int(flowTTL.Minutes()))
	}
	raw, err := s.sealer.Open(cookie)
	var f flow
	if err == nil {
		err = json.Unmarshal([]byte(raw), &f)
	}
	if err != nil {
		return p, "", "", refused("The sign-in cookie was not one this server made. Sign in again.")
	}
	if s.now().Unix() > f.Expires {
		return p, "", "", refused("The sign-in took longer than %d minutes. Sign in again.", int(flowTTL.Minutes()))
	}
	if state == "" || state != f.State {
		return p, "", "", refused("The identity provider's answer does not belong to the sign-in this browser started (state mismatch). Sign in again.")
	}
	if code == "" {
		return p, "", "", refused("The identity provider sent no authorization code.")
	}
	prov, err := s.discover(ctx)
	if err != nil {
		return p, "", "", err
	}
	cctx := s.clientContext(ctx)
	tok, err := s.oauth(prov, f.Redirect).Exchange(cctx, code, oauth2.VerifierOption(f.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			reason := re.ErrorCode
			if re.ErrorDescription != "" {
				reason += ": " + re.ErrorDescription
			}
			return p, "", "", refused("The identity provider refused the sign-in code (%s). It may have expired or been used already. Sign in again.", reason)
		}
		return p, "", "", &errs.Error{Kind: errs.Unavailable, Code: errs.CodeUnavailable, Err: err,
			Message: "The identity provider could not be reached to redeem the sign-in code. Try again."}
	}
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		return p, "", "", refused("The identity provider returned no ID token: is the openid scope allowed for this client?")
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: s.cfg.ClientID, Now: s.now}).Verify(cctx, rawID)
	if err != nil {
		var expired *oidc.TokenExpiredError
		if errors.As(err, &expired) {
			return p, "", "", refused("The identity provider's ID token had already expired. Check this server's clock, then sign in again.")
		}
		if strings.Contains(err.Error(), "expected audience") {
			return p, "", "", refused("The ID token was issued for another application, not this one (client ID %s). Check --oidc-client-id.", s.cfg.ClientID)
		}
		return p, "", "", refused("The identity provider's ID token was not accepted (%s).", strings.TrimPrefix(err.Error(), "oidc: "))
	}
	if idt.Nonce != f.Nonce {
		return p, "", "", refused("The ID token was issued for another sign-in (nonce mismatch). Sign in again.")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return p, "", "", refused("The ID token's claims could not be read.")
	}
	roles, err := s.Roles(claims)
	if err != nil {
		return p, "", "", err
	}
	return Profile{Issuer: idt.Issuer, Subject: idt.Subject, Email: verifiedEmail(claims), Name: displayName(claims), Roles: roles},
		rawID, f.Next, nil
}

// verifiedEmail is the email claim unless the provider says it is not
// verified: an unverified address must not become someone's identity.
func verifiedEmail(claims map[string]any) string {
	email, _ := claims["email"].(string)
	switch v := claims["email_verified"].(type) {
	case bool:
		if !v {
			return ""
		}
	case string: // some providers send "true"/"false"
		if v == "false" {
			return ""
		}
	}
	return email
}

// displayName is the name claim, or given and family names, or the
// preferred username.
func displayName(claims map[string]any) string {
	str := func(k string) string { v, _ := claims[k].(string); return strings.TrimSpace(v) }
	if n := str("name"); n != "" {
		return n
	}
	if n := strings.TrimSpace(str("given_name") + " " + str("family_name")); n != "" {
		return n
	}
	return str("preferred_username")
}

// claimValues reads the roles claim: a list of strings or one string. A
// claim named with dots is looked up as such first, then as a path.
func claimValues(claims map[string]any, name string) []string {
	v, ok := claims[name]
	if !ok {
		var cur any = claims
		for _, part := range strings.Split(name, ".") {
			m, isMap := cur.(map[string]any)
			if !isMap {
				return nil
			}
			cur = m[part]
		}
		v = cur
	}
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// Roles maps an ID token's claims to roles: each role whose values the
// roles claim holds, or the default role when it holds none of them.
// Without a default role, such a person is Forbidden.
func (s *SSO) Roles(claims map[string]any) ([]string, error) {
	values := claimValues(claims, s.cfg.RolesClaim)
	var roles []string
	for _, role := range []string{RoleAgent, RoleSupervisor, RoleAdmin} {
		for _, v := range s.cfg.RoleValues[role] {
			if slices.Contains(values, v) {
				roles = append(roles, role)
				break
			}
		}
	}
	if len(roles) > 0 {
		return roles, nil
	}
	if s.cfg.DefaultRole != "" {
		return []string{s.cfg.DefaultRole}, nil
	}
	return nil, errs.E(errs.Forbidden, errs.CodeForbidden,
		"Your account signed in, but its %q claim grants no Switchboard role (agent, supervisor or admin). Ask an administrator to add you to the right group.",
		s.cfg.RolesClaim)
}

// LogoutURL is where to send a browser whose session just ended, so the
// provider ends its own session too (RP-initiated logout), then sends it to
// postLogoutRedirect. It is "" when the provider offers no
// end_session_endpoint.
func (s *SSO) LogoutURL(ctx context.Context, idTokenHint, postLogoutRedirect string) (string, error) {
	if _, err := s.discover(ctx); err != nil {
		return "", err
	}
	s.mu.Lock()
	end := s.endSession
	s.mu.Unlock()
	if end == "" {
		return "", nil
	}
	u, err := url.Parse(end)
	if err != nil {
		return "", errs.Wrap(err, "end_session_endpoint")
	}
	q := u.Query()
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	q.Set("client_id", s.cfg.ClientID)
	q.Set("post_logout_redirect_uri", postLogoutRedirect)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

package web_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/db"
	"github.com/switchboardhq/switchboard/internal/db/dbtest"
	"github.com/switchboardhq/switchboard/internal/secrets"
	"github.com/switchboardhq/switchboard/web"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// provider is an in-process OpenID provider (mockoidc) that records the
// authorization requests it gets and, with endSession, advertises RP-initiated
// logout. Its handlers run one at a time, under mu, so a test may change it
// (FastForward) between requests.
type provider struct {
	m         *mockoidc.MockOIDC
	mu        sync.Mutex
	authorize []url.Values
	// refuseCodes makes the token endpoint answer invalid_grant, as for an
	// expired code.
	refuseCodes bool
}

func newProvider(t *testing.T, endSession bool) *provider {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &provider{m: m}
	err = m.AddMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch r.URL.Path {
			case mockoidc.AuthorizationEndpoint:
				p.authorize = append(p.authorize, r.URL.Query())
			case mockoidc.TokenEndpoint:
				if p.refuseCodes {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusBadRequest)
					_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"The authorization code has expired"}`)
					return
				}
			case mockoidc.DiscoveryEndpoint:
				if endSession {
					rec := httptest.NewRecorder()
					next.ServeHTTP(rec, r)
					var doc map[string]any
					if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
						http.Error(w, err.Error(), http.StatusInternalServerError)
						return
					}
					doc["end_session_endpoint"] = m.Addr() + "/oidc/logout?tenant=acme"
					w.Header().Set("Content-Type", "application/json")
					_ = json.NewEncoder(w).Encode(doc)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return p
}

// with runs fn while no provider handler runs.
func (p *provider) with(fn func(m *mockoidc.MockOIDC)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(p.m)
}

// sso is Switchboard's SSO client for the provider: groups sb-agents,
// sb-leads and sb-admins grant agent, supervisor and admin; anyone else is
// an agent unless defaultRole says otherwise.
func (p *provider) sso(t *testing.T, defaultRole string) *auth.SSO {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	sealer, err := secrets.New(key)
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.m.Config()
	sso, err := auth.NewSSO(auth.SSOConfig{Issuer: cfg.Issuer, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		Scopes: []string{"openid", "profile", "email", "groups"}, RolesClaim: "groups", DefaultRole: defaultRole,
		RoleValues: map[string][]string{auth.RoleAgent: {"sb-agents"}, auth.RoleSupervisor: {"sb-leads"}, auth.RoleAdmin: {"sb-admins"}}}, sealer)
	if err != nil {
		t.Fatal(err)
	}
	return sso
}

// person is who signs in at the provider. tamper, when set, changes the
// ID token's claims before the provider signs it.
type person struct {
	sub, email, name string
	groups           []string
	tamper           func(c *mockoidc.IDTokenClaims)
}

type personClaims struct {
	*mockoidc.IDTokenClaims
	Email         string   `json:"email,omitempty"`
	EmailVerified bool     `json:"email_verified"`
	Name          string   `json:"name,omitempty"`
	Groups        []string `json:"groups,omitempty"`
}

func (p *person) ID() string { return p.sub }

func (p *person) Userinfo([]string) ([]byte, error) {
	return json.Marshal(map[string]any{"sub": p.sub, "email": p.email, "name": p.name})
}

func (p *person) Claims(_ []string, c *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	if p.tamper != nil {
		p.tamper(c)
	}
	return &personClaims{IDTokenClaims: c, Email: p.email, EmailVerified: true, Name: p.name, Groups: p.groups}, nil
}

var bea = &person{sub: "00u-bea", email: "Bea.Lead@Example.com", name: "Bea Lead", groups: []string{"engineering", "sb-leads"}}

// visitor is a browser: a cookie jar that follows a sign-in's redirects to
// the provider's authorization endpoint and back to our callback (unless
// stopAtCallback), and stops at every other redirect, so a test sees
// where the server sends it.
type visitor struct {
	t      *testing.T
	c      *http.Client
	server *url.URL
}

func newVisitor(t *testing.T, s *webtest.Server, stopAtCallback bool) *visitor {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	base, _ := url.Parse(s.URL)
	v := &visitor{t: t, server: base}
	v.c = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == mockoidc.AuthorizationEndpoint || req.URL.Host == base.Host && req.URL.Path == "/auth/callback" && !stopAtCallback {
			return nil
		}
		return http.ErrUseLastResponse
	}}
	return v
}

// get fetches a URL (relative to the server) and returns the response and
// its body.
func (v *visitor) get(rawURL string) (*http.Response, string) {
	v.t.Helper()
	u, err := v.server.Parse(rawURL)
	if err != nil {
		v.t.Fatal(err)
	}
	resp, err := v.c.Get(u.String())
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// session is the session cookie the jar holds ("" for none).
func (v *visitor) session() string {
	for _, c := range v.c.Jar.Cookies(v.server) {
		if c.Name == web.SessionCookie {
			return c.Value
		}
	}
	return ""
}

// countStaff is how many members of staff the database holds.
func countStaff(t *testing.T, d *db.DB) int64 {
	t.Helper()
	var n int64
	if err := d.Gorm.Raw("SELECT COUNT(*) FROM staff_users").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSSOSignInProvisionsTheStaffMemberAndTheirWorkerAndSetsTheSessionCookie(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newProvider(t, false)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
		p.m.QueueUser(bea)
		v := newVisitor(t, s, false)

		resp, body := v.get("/auth/login?next=" + url.QueryEscape("/desktop/tasks?tab=open"))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desktop/tasks?tab=open" {
			t.Fatalf("sign-in ended with %d → %q: %s", resp.StatusCode, resp.Header.Get("Location"), body)
		}
		var cookie *http.Cookie
		for _, c := range resp.Cookies() {
			if c.Name == web.SessionCookie {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.Path != "/" || cookie.MaxAge <= 0 {
			t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax, Path=/, lasting, and not Secure on plain-http loopback", cookie)
		}
		if len(p.authorize) != 1 {
			t.Fatalf("authorization requests: %v", p.authorize)
		}
		if q := p.authorize[0]; q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" ||
			q.Get("state") == "" || q.Get("redirect_uri") != s.URL+"/auth/callback" || q.Get("scope") != "openid profile email groups" {
			t.Fatalf("authorization request = %v; want PKCE S256, state, nonce, our callback and the scopes", q)
		}

		_, staff, err := s.Sessions.Check(context.Background(), cookie.Value)
		if err != nil {
			t.Fatal(err)
		}
		if staff.Identity != "bea.lead@example.com" || staff.Name != "Bea Lead" || !staff.Has(auth.RoleSupervisor) || staff.Has(auth.RoleAdmin) {
			t.Fatalf("signed in as %+v; want Bea, a supervisor by her group", staff)
		}
		w, err := s.TaskRouter.Worker(context.Background(), staff.WorkspaceSid, staff.WorkerSid)
		if err != nil {
			t.Fatal(err)
		}
		var attrs map[string]any
		_ = json.Unmarshal([]byte(w.Attributes), &attrs)
		if attrs["identity"] != "bea.lead@example.com" || attrs["contact_uri"] != "client:bea.lead@example.com" || attrs["full_name"] != "Bea Lead" {
			t.Fatalf("worker attributes = %v", attrs)
		}
		ws, _, err := s.TaskRouter.Workspaces(context.Background(), "", taskrouter.Page{Limit: 1})
		if err != nil || ws[0].Sid != staff.WorkspaceSid {
			t.Fatalf("worker in %s; want the oldest workspace %v (%v)", staff.WorkspaceSid, ws, err)
		}
		svc, err := s.Engine.ResolveService(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		if u, err := s.Engine.User(context.Background(), svc.Sid, "bea.lead@example.com"); err != nil || u.FriendlyName != "Bea Lead" {
			t.Fatalf("chat user = %+v, %v", u, err)
		}
		for _, c := range v.c.Jar.Cookies(&url.URL{Scheme: "http", Host: v.server.Host, Path: "/auth/callback"}) {
			if c.Name == "sb_sso" {
				t.Fatalf("the sign-in cookie outlived the sign-in: %+v", c)
			}
		}
	})
}

func TestSSORefusesAnswersThatDoNotCheckOutWithAReadablePageAndNoSession(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		cases := []struct {
			name string
			who  *person
			// atCallback changes the provider's redirect back to us, or
			// the provider, before the browser follows it; nil follows it
			// as is.
			atCallback func(p *provider, callback *url.URL)
			status     int
			says       string
		}{
			{name: "a state that is not this browser's", who: &person{sub: "u1", email: "a@example.com"},
				atCallback: func(_ *provider, cb *url.URL) {
					q := cb.Query()
					q.Set("state", "forged")
					cb.RawQuery = q.Encode()
				}, status: http.StatusUnauthorized, says: "state mismatch"},
			{name: "an ID token with another sign-in's nonce", who: &person{sub: "u2", email: "b@example.com",
				tamper: func(c *mockoidc.IDTokenClaims) { c.Nonce = "someone-elses-nonce" }},
				status: http.StatusUnauthorized, says: "nonce mismatch"},
			{name: "an ID token for another client (audience)", who: &person{sub: "u3", email: "c@example.com",
				tamper: func(c *mockoidc.IDTokenClaims) { c.Audience = jwt.ClaimStrings{"another-client"} }},
				status: http.StatusUnauthorized, says: "issued for another application"},
			{name: "a code the provider says has expired", who: &person{sub: "u4", email: "d@example.com"},
				atCallback: func(p *provider, _ *url.URL) {
					p.with(func(*mockoidc.MockOIDC) { p.refuseCodes = true })
				}, status: http.StatusUnauthorized, says: "The authorization code has expired"},
			{name: "a code redeemed after its tokens' time (FastForward)", who: &person{sub: "u5", email: "e@example.com"},
				atCallback: func(p *provider, _ *url.URL) {
					// The provider dates the tokens an hour back, as if the
					// code had waited that long; they lasted ten minutes.
					p.with(func(m *mockoidc.MockOIDC) { m.FastForward(-time.Hour) })
				}, status: http.StatusUnauthorized, says: "expired"},
			{name: "the provider's own refusal", who: &person{sub: "u6", email: "f@example.com"},
				atCallback: func(_ *provider, cb *url.URL) {
					cb.RawQuery = url.Values{"error": {"access_denied"}, "error_description": {"The user cancelled"},
						"state": {cb.Query().Get("state")}}.Encode()
				}, status: http.StatusUnauthorized, says: "access_denied: The user cancelled"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				p := newProvider(t, false)
				s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
				before := countStaff(t, d)
				p.m.QueueUser(tc.who)
				v := newVisitor(t, s, true)
				resp, _ := v.get("/auth/login")
				if resp.StatusCode != http.StatusFound {
					t.Fatalf("stopped at %d; want the provider's redirect to the callback", resp.StatusCode)
				}
				cb, err := url.Parse(resp.Header.Get("Location"))
				if err != nil || cb.Path != "/auth/callback" {
					t.Fatalf("provider sent the browser to %q", resp.Header.Get("Location"))
				}
				if tc.atCallback != nil {
					tc.atCallback(p, cb)
				}
				resp, body := v.get(cb.String())
				if resp.StatusCode != tc.status || !strings.Contains(body, `data-testid="signin-failed"`) || !strings.Contains(body, tc.says) ||
					!strings.Contains(body, "Sign in again") {
					t.Fatalf("callback answered %d: %s\nwant %d, a sign-in failed page saying %q", resp.StatusCode, body, tc.status, tc.says)
				}
				if v.session() != "" || countStaff(t, d) != before {
					t.Fatal("a refused sign-in left a session or a member of staff")
				}
			})
		}
	})
}

func TestACallbackTheBrowserDidNotStartOrReplaysIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newProvider(t, false)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
		p.m.QueueUser(bea)
		victim := newVisitor(t, s, true)
		resp, _ := victim.get("/auth/login")
		callback := resp.Header.Get("Location")

		// Another browser (an attacker's link) brings the code along.
		other := newVisitor(t, s, false)
		resp, body := other.get(callback)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "did not start this sign-in") || other.session() != "" {
			t.Fatalf("a callback in another browser: %d %s", resp.StatusCode, body)
		}

		// The browser that started it signs in, once.
		resp, _ = victim.get(callback)
		if resp.StatusCode != http.StatusSeeOther || victim.session() == "" {
			t.Fatalf("the real callback: %d", resp.StatusCode)
		}
		first := victim.session()
		resp, body = victim.get(callback)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "did not start this sign-in") || victim.session() != first {
			t.Fatalf("the same callback again: %d %s", resp.StatusCode, body)
		}
	})
}

func TestWithoutADefaultRoleSomeoneWithNoMappedGroupIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newProvider(t, false)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, "")))
		p.m.QueueUser(&person{sub: "u-eng", email: "eng@example.com", groups: []string{"engineering"}})
		v := newVisitor(t, s, false)
		resp, body := v.get("/auth/login")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "grants no Switchboard role") || v.session() != "" || countStaff(t, d) != 0 {
			t.Fatalf("sign-in without a role: %d %s", resp.StatusCode, body)
		}
	})
}

func TestEverySignInRotatesTheSessionAndRefreshesTheRoles(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := newProvider(t, false)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
		v := newVisitor(t, s, false)
		p.m.QueueUser(&person{sub: "00u-cy", email: "cy@example.com", name: "Cy", groups: []string{"sb-agents"}})
		v.get("/auth/login")
		first := v.session()
		p.m.QueueUser(&person{sub: "00u-cy", email: "cy@example.com", name: "Cy Admin", groups: []string{"sb-admins"}})
		v.get("/auth/login")
		second := v.session()
		if first == "" || second == "" || first == second {
			t.Fatalf("sessions %q then %q; want two different ones", first, second)
		}
		if _, _, err := s.Sessions.Check(ctx, first); err == nil {
			t.Fatal("the session from before the second sign-in still opens")
		}
		_, staff, err := s.Sessions.Check(ctx, second)
		if err != nil || staff.Name != "Cy Admin" || !staff.Has(auth.RoleAdmin) {
			t.Fatalf("after the second sign-in: %+v, %v", staff, err)
		}
	})
}

// post sends a form to the server as the visitor, with extra headers.
func (v *visitor) post(path string, form url.Values, headers map[string]string) (*http.Response, string) {
	v.t.Helper()
	u, _ := v.server.Parse(path)
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, val := range headers {
		req.Header.Set(k, val)
	}
	resp, err := v.c.Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestLogoutEndsTheSessionAndTheProvidersWhenItOffersRPInitiatedLogout(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		p := newProvider(t, true)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
		p.m.QueueUser(bea)
		v := newVisitor(t, s, false)
		v.get("/auth/login")
		token := v.session()
		sess, _, err := s.Sessions.Check(ctx, token)
		if err != nil {
			t.Fatal(err)
		}

		resp, body := v.post("/auth/logout", url.Values{"_csrf": {"not-the-token"}}, nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") || v.session() != token {
			t.Fatalf("logout with a wrong token: %d %s", resp.StatusCode, body)
		}
		if _, _, err := s.Sessions.Check(ctx, token); err != nil {
			t.Fatalf("a refused logout ended the session: %v", err)
		}

		resp, _ = v.post("/auth/logout", url.Values{"_csrf": {sess.CSRF}}, nil)
		end, err := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusSeeOther || err != nil || end.Host != p.m.Server.Addr || end.Path != "/oidc/logout" {
			t.Fatalf("logout: %d → %q; want the provider's end_session_endpoint", resp.StatusCode, resp.Header.Get("Location"))
		}
		if q := end.Query(); q.Get("id_token_hint") == "" || q.Get("post_logout_redirect_uri") != s.URL+"/auth/signed-out" ||
			q.Get("client_id") != p.m.ClientID || q.Get("tenant") != "acme" {
			t.Fatalf("end-session query = %v", q)
		}
		if v.session() != "" {
			t.Fatal("the session cookie stayed")
		}
		if _, _, err := s.Sessions.Check(ctx, token); err == nil {
			t.Fatal("the session still opens after logout")
		}
		resp, body = v.get("/auth/signed-out")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "You are signed out") {
			t.Fatalf("signed-out page: %d %s", resp.StatusCode, body)
		}
	})
}

func TestLogoutWithoutRPInitiatedLogoutEndsHereAndHTMXIsToldWhereToGo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newProvider(t, false)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
		p.m.QueueUser(bea)
		v := newVisitor(t, s, false)
		v.get("/auth/login")
		sess, _, err := s.Sessions.Check(context.Background(), v.session())
		if err != nil {
			t.Fatal(err)
		}
		resp, _ := v.post("/auth/logout", nil, map[string]string{"HX-Request": "true", "X-CSRF-Token": sess.CSRF})
		if resp.StatusCode != http.StatusOK || resp.Header.Get("HX-Redirect") != "/auth/signed-out" || v.session() != "" {
			t.Fatalf("htmx logout: %d, HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
		// Signing out with a session that has already ended just says so.
		resp, _ = v.post("/auth/logout", nil, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/auth/signed-out" {
			t.Fatalf("logout without a session: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
}

func TestWithoutSSOOrDevModeTheSignInPageSaysSSOIsNotConfigured(t *testing.T) {
	s := webtest.Start(t, dbtest.Open(t, db.SQLite))
	v := newVisitor(t, s, false)
	resp, body := v.get("/auth/login")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Single sign-on is not configured") ||
		!strings.Contains(body, "--oidc-issuer") {
		t.Fatalf("/auth/login: %d %s", resp.StatusCode, body)
	}
	if resp, _ := v.get("/auth/dev"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("/auth/dev outside dev mode: %d; want 404", resp.StatusCode)
	}
}

func TestDevModeSignsInAsADemoUserFromItsLabelledPage(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := webtest.Start(t, d, webtest.WithDev())
		agent, err := s.Staff.Provision(ctx, "ana@demo.test", "Ana Agent", auth.RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Staff.Provision(ctx, "sam@demo.test", "Sam Supervisor", auth.RoleSupervisor); err != nil {
			t.Fatal(err)
		}
		v := newVisitor(t, s, false)
		resp, _ := v.get("/auth/login?next=/desktop/x")
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/auth/dev?next=%2Fdesktop%2Fx" {
			t.Fatalf("sign-in in dev mode without SSO: %d → %q; want the demo sign-in", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := v.get(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Demo sign-in — dev mode only") ||
			!strings.Contains(body, "Sign in as Ana Agent") || !strings.Contains(body, "Sign in as Sam Supervisor") ||
			!strings.Contains(body, `name="next" value="/desktop/x"`) {
			t.Fatalf("dev sign-in page: %d %s", resp.StatusCode, body)
		}
		resp, _ = v.post("/auth/dev", url.Values{"staff_sid": {agent.Sid}, "next": {"/desktop/x"}}, map[string]string{"Origin": s.URL})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/desktop/x" || v.session() == "" {
			t.Fatalf("dev sign-in: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		if _, staff, err := s.Sessions.Check(ctx, v.session()); err != nil || staff.Sid != agent.Sid || staff.WorkerSid == "" {
			t.Fatalf("signed in as %+v, %v", staff, err)
		}

		resp, body = newVisitor(t, s, false).post("/auth/dev", url.Values{"staff_sid": {agent.Sid}}, map[string]string{"Origin": "http://evil.example"})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "own page") {
			t.Fatalf("a demo sign-in posted from another site: %d %s", resp.StatusCode, body)
		}
	})
}

func TestDevSignInReachesDemoUsersOnlyAndGoesOnlyToLocalPages(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := webtest.Start(t, d, webtest.WithDev())
		demo, err := s.Staff.Provision(ctx, "ana@demo.test", "Ana", auth.RoleAgent)
		if err != nil {
			t.Fatal(err)
		}
		sso, err := s.Staff.SignIn(ctx, auth.Profile{Issuer: "https://idp.example", Subject: "u1", Email: "boss@example.com", Roles: []string{auth.RoleAdmin}})
		if err != nil {
			t.Fatal(err)
		}
		v := newVisitor(t, s, false)
		resp, body := v.post("/auth/dev", url.Values{"staff_sid": {sso.Sid}}, nil)
		if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no demo user") || v.session() != "" {
			t.Fatalf("the demo sign-in as an SSO account: %d %s", resp.StatusCode, body)
		}
		for next, want := range map[string]string{
			"/desktop/x?tab=1":         "/desktop/x?tab=1",
			"":                         "/desktop",
			"https://evil.example/":    "/desktop",
			"//evil.example/":          "/desktop",
			"/\\evil.example/":         "/desktop",
			"javascript:alert(1)":      "/desktop",
			"desktop":                  "/desktop",
			"/ok\r\nSet-Cookie: x=1":   "/desktop",
			"http:/evil.example/steal": "/desktop",
		} {
			resp, _ := v.post("/auth/dev", url.Values{"staff_sid": {demo.Sid}, "next": {next}}, nil)
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || got != want {
				t.Errorf("next %q: %d → %q; want %q", next, resp.StatusCode, got, want)
			}
		}
	})
}

// guarded is a small app behind the real staff guard: a supervisor page, a
// form endpoint and a WebSocket endpoint, as the desktop's routes use it.
func guarded(s *webtest.Server) *fiber.App {
	d := web.Deps{Sessions: s.Sessions}
	app := fiber.New()
	app.Get("/queues", web.RequireStaff(d, auth.RoleSupervisor), func(c *fiber.Ctx) error {
		return c.SendString("queues for " + web.StaffOf(c).Name)
	})
	app.Post("/notes", web.RequireStaff(d), func(c *fiber.Ctx) error {
		return c.SendString("saved by " + web.StaffOf(c).Identity + " under " + web.CSRFToken(c.UserContext()))
	})
	app.Get("/ws", web.RequireStaff(d), func(c *fiber.Ctx) error { return c.SendString("upgrade allowed") })
	return app
}

// call runs one request through app, with the session cookie when given.
func call(t *testing.T, app *fiber.App, method, target string, cookie *http.Cookie, body string, headers map[string]string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestTheStaffGuardSendsStrangersToSignInAndRefusesTheWrongRole(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		app := guarded(s)
		agent, _, _ := s.SignIn(t, "ana@example.com", "Ana", auth.RoleAgent)
		supervisor, _, _ := s.SignIn(t, "sam@example.com", "Sam", auth.RoleSupervisor)
		admin, _, _ := s.SignIn(t, "ada@example.com", "Ada", auth.RoleAdmin)

		resp, _ := call(t, app, "GET", "/queues?day=mon", nil, "", nil)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/auth/login?next=%2Fqueues%3Fday%3Dmon" {
			t.Fatalf("a page without a session: %d → %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, _ = call(t, app, "GET", "/queues", nil, "", map[string]string{"HX-Request": "true", "HX-Current-URL": "http://example.com/desktop?c=CH1"})
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("HX-Redirect") != "/auth/login?next=%2Fdesktop%3Fc%3DCH1" {
			t.Fatalf("htmx without a session: %d, HX-Redirect %q", resp.StatusCode, resp.Header.Get("HX-Redirect"))
		}
		resp, body := call(t, app, "POST", "/notes", nil, "text=hi", nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Sign in again") {
			t.Fatalf("a form post without a session: %d %s", resp.StatusCode, body)
		}
		expired := &http.Cookie{Name: web.SessionCookie, Value: "not-a-session"}
		if resp, _ := call(t, app, "GET", "/queues", expired, "", nil); resp.StatusCode != http.StatusFound {
			t.Fatalf("a page with an unknown session: %d", resp.StatusCode)
		}

		resp, body = call(t, app, "GET", "/queues", agent, "", nil)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "supervisor role") {
			t.Fatalf("an agent on a supervisor page: %d %s", resp.StatusCode, body)
		}
		for who, c := range map[string]*http.Cookie{"Sam": supervisor, "Ada": admin} {
			if resp, body := call(t, app, "GET", "/queues", c, "", nil); resp.StatusCode != http.StatusOK || body != "queues for "+who ||
				resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("%s on a supervisor page: %d %s (Cache-Control %q)", who, resp.StatusCode, body, resp.Header.Get("Cache-Control"))
			}
		}
	})
}

func TestStateChangingRequestsNeedTheSessionsCSRFToken(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		app := guarded(s)
		cookie, csrf, staff := s.SignIn(t, "ana@example.com", "Ana")
		_, otherCSRF, _ := s.SignIn(t, "bo@example.com", "Bo")
		cases := []struct {
			name    string
			body    string
			headers map[string]string
			ok      bool
		}{
			{"a form without the token", "text=hi", nil, false},
			{"a form with a wrong token", "text=hi&_csrf=" + url.QueryEscape(csrf+"x"), nil, false},
			{"a form with another session's token", "text=hi&_csrf=" + url.QueryEscape(otherCSRF), nil, false},
			{"htmx without the header", "text=hi", map[string]string{"HX-Request": "true"}, false},
			{"htmx with a wrong header", "text=hi", map[string]string{"HX-Request": "true", "X-CSRF-Token": "wrong"}, false},
			{"an empty header and no field", "text=hi", map[string]string{"X-CSRF-Token": ""}, false},
			{"a form with the token", "text=hi&_csrf=" + url.QueryEscape(csrf), nil, true},
			{"htmx with the header", "text=hi", map[string]string{"HX-Request": "true", "X-CSRF-Token": csrf}, true},
		}
		for _, tc := range cases {
			resp, body := call(t, app, "POST", "/notes", cookie, tc.body, tc.headers)
			if tc.ok {
				if resp.StatusCode != http.StatusOK || body != "saved by "+staff.Identity+" under "+csrf {
					t.Errorf("%s: %d %s", tc.name, resp.StatusCode, body)
				}
				continue
			}
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "CSRF") {
				t.Errorf("%s: %d %s; want 403 naming CSRF", tc.name, resp.StatusCode, body)
			}
		}
	})
}

func TestAWebSocketUpgradeFromAnotherOriginIsRefused(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d)
		app := guarded(s)
		cookie, _, _ := s.SignIn(t, "ana@example.com", "Ana")
		upgrade := func(origin string) map[string]string {
			h := map[string]string{"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
				"Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}
			if origin != "" {
				h["Origin"] = origin
			}
			return h
		}
		for _, origin := range []string{"http://evil.example", "http://example.com.evil.example", "null", ""} {
			if resp, body := call(t, app, "GET", "http://example.com/ws", cookie, "", upgrade(origin)); resp.StatusCode != http.StatusForbidden ||
				!strings.Contains(body, "another site") {
				t.Errorf("upgrade from origin %q: %d %s; want 403", origin, resp.StatusCode, body)
			}
		}
		if resp, body := call(t, app, "GET", "http://example.com/ws", cookie, "", upgrade("http://example.com")); resp.StatusCode != http.StatusOK ||
			body != "upgrade allowed" {
			t.Fatalf("upgrade from our own page: %d %s", resp.StatusCode, body)
		}
		if resp, _ := call(t, app, "GET", "http://example.com/ws", nil, "", upgrade("http://example.com")); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("upgrade without a session: %d; want 401", resp.StatusCode)
		}
	})
}

// pollDespiteCSP lets until's predicates run on the sign-in pages, whose
// policy forbids scripts: chromedp.Poll builds them with new Function.
func pollDespiteCSP(ctx context.Context, t *testing.T) {
	t.Helper()
	if _, err := chromedp.Call(ctx, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
		t.Fatal(err)
	}
}

// untilAfterNavigation is until for a condition on the page a click or a
// form submission navigates to: a poll that the navigation cuts short
// (its page is gone) starts again on the new page.
func untilAfterNavigation(js string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err := until(js)(ctx, t)
			if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "-32000") {
				return chromedp.Void{}, err
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// sessionCookieIn returns the browser's session cookie for the server.
func sessionCookieIn(ctx context.Context, t *testing.T, base string) *network.Cookie {
	t.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == web.SessionCookie {
			return c
		}
	}
	return nil
}

// signinScreenshot saves the tab as docs/screenshots/desktop-<name>.png
// when UPDATE_SCREENSHOTS=1.
func signinScreenshot(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	if os.Getenv("UPDATE_SCREENSHOTS") != "1" {
		return
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1000, 640)); err != nil {
		t.Fatal(err)
	}
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "docs", "screenshots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "desktop-"+name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBrowserSignsInThroughTheIdentityProviderAndOut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		p := newProvider(t, false)
		s := webtest.Start(t, d, webtest.WithSSO(p.sso(t, auth.RoleAgent)))
		// The browser after the server: it closes first, so the server's
		// shutdown does not wait out its idle connections.
		ctx := browser(t)
		pollDespiteCSP(ctx, t)
		p.m.QueueUser(bea)
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.URL+"/auth/login?next=/"),
			until(`location.pathname === "/" && document.querySelector("[data-testid=home]") !== null`))
		if err != nil {
			t.Fatal(err)
		}
		c := sessionCookieIn(ctx, t, s.URL)
		if c == nil || !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax {
			t.Fatalf("session cookie in the browser = %+v; want HttpOnly and SameSite=Lax", c)
		}
		if js, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.cookie`)); err != nil || strings.Contains(js, web.SessionCookie) {
			t.Fatalf("page script sees cookies %q (%v); the session must be HttpOnly", js, err)
		}
		sess, staff, err := s.Sessions.Check(context.Background(), c.Value)
		if err != nil || staff.Identity != "bea.lead@example.com" {
			t.Fatalf("the browser's session is %+v, %v", staff, err)
		}
		// Sign out as a staff page's form would.
		err = chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`(() => {
				const f = document.createElement("form");
				f.method = "post"; f.action = "/auth/logout";
				const i = document.createElement("input");
				i.type = "hidden"; i.name = "_csrf"; i.value = `+jsString(sess.CSRF)+`;
				f.append(i); document.body.append(f); f.submit();
			})()`),
			untilAfterNavigation(`document.querySelector("[data-testid=signed-out]") !== null`))
		if err != nil {
			t.Fatal(err)
		}
		if c := sessionCookieIn(ctx, t, s.URL); c != nil {
			t.Fatalf("the session cookie outlived the logout: %+v", c)
		}
	})
}

func TestBrowserDemoSignInIsLabelledAndSignsInWithOneClick(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		s := webtest.Start(t, d, webtest.WithDev())
		ctx := browser(t) // after the server, so it closes first
		pollDespiteCSP(ctx, t)
		for _, u := range []struct{ email, name, role string }{
			{"anna@example.com", "Anna", auth.RoleAgent}, {"ben@example.com", "Ben", auth.RoleAgent},
			{"sue@example.com", "Sue", auth.RoleSupervisor}, {"ada@example.com", "Ada", auth.RoleAdmin},
		} {
			if _, err := s.Staff.Provision(context.Background(), u.email, u.name, u.role); err != nil {
				t.Fatal(err)
			}
		}
		err := chromedp.Do(ctx,
			chromedp.Navigate(s.URL+"/auth/login?next=/"),
			until(`document.querySelector("[data-testid=dev-signin] h1")?.textContent === "Demo sign-in — dev mode only"`))
		if err != nil {
			t.Fatal(err)
		}
		signinScreenshot(ctx, t, "signin-dev")
		err = chromedp.Do(ctx,
			chromedp.Click(chromedp.CSS(`[data-testid="dev-user-sue@example.com"]`)),
			untilAfterNavigation(`location.pathname === "/" && document.querySelector("[data-testid=home]") !== null`))
		if err != nil {
			t.Fatal(err)
		}
		c := sessionCookieIn(ctx, t, s.URL)
		if c == nil {
			t.Fatal("no session cookie after the demo sign-in")
		}
		if _, staff, err := s.Sessions.Check(context.Background(), c.Value); err != nil || staff.Name != "Sue" || !staff.Has(auth.RoleSupervisor) {
			t.Fatalf("signed in as %+v, %v; want Sue", staff, err)
		}
	})
}

package web

import (
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/views/signin"
)

// ssoCookie carries a sign-in in progress (state, nonce, PKCE verifier,
// sealed) from /auth/login to /auth/callback.
const ssoCookie = "sb_sso"

// afterSignIn is where a person goes when the sign-in named no page.
const afterSignIn = "/desktop"

// signIn serves staff sign-in: SSO, dev mode's demo sign-in, and logout.
type signIn struct{ d Deps }

func addSignInRoutes(app *fiber.App, d Deps) {
	if d.Staff == nil || d.Sessions == nil {
		return
	}
	s := signIn{d: d}
	app.Get("/auth/login", s.login)
	app.Get("/auth/callback", s.callback)
	app.Post("/auth/logout", s.logout)
	app.Get("/auth/signed-out", s.signedOut)
	if d.Dev {
		// Anyone who reaches it signs in as anyone listed: dev mode only,
		// which the server refuses on non-loopback addresses.
		app.Get("/auth/dev", s.devPage)
		app.Post("/auth/dev", s.devSignIn)
	}
}

// login starts a sign-in: off to the identity provider, or in dev mode
// without one to the demo sign-in.
func (s signIn) login(c *fiber.Ctx) error {
	next := localNext(c.Query("next"))
	if s.d.SSO == nil {
		if s.d.Dev {
			return c.Redirect(devURL(next), fiber.StatusFound)
		}
		return staffPage(c, fiber.StatusServiceUnavailable, signin.MessageProps{Title: "Single sign-on is not configured",
			TestID: "sso-not-configured",
			Message: "Staff sign in with the company's identity provider, and this server has none set up yet. " +
				"An administrator starts it with --oidc-issuer, --oidc-client-id and SWITCHBOARD_OIDC_CLIENT_SECRET (see docs/sso.md)."})
	}
	authURL, flow, err := s.d.SSO.Begin(c.UserContext(), s.redirectURL(c), next)
	if err != nil {
		return s.failed(c, err, next)
	}
	setStaffCookie(c, s.d, ssoCookie, flow, "/auth", s.d.SSO.FlowTTL())
	return c.Redirect(authURL, fiber.StatusFound)
}

func (s signIn) redirectURL(c *fiber.Ctx) string {
	if s.d.SSORedirectURL != "" {
		return s.d.SSORedirectURL
	}
	return publicBase(s.d, c) + "/auth/callback"
}

func devURL(next string) string {
	if next == "" {
		return "/auth/dev"
	}
	return "/auth/dev?next=" + url.QueryEscape(next)
}

// callback finishes a sign-in when the provider sends the browser back:
// checked, the person is provisioned and gets a fresh session. Anything
// wrong gets a page saying what, and no session.
func (s signIn) callback(c *fiber.Ctx) error {
	flow := c.Cookies(ssoCookie)
	setStaffCookie(c, s.d, ssoCookie, "", "/auth", 0) // one use only
	if s.d.SSO == nil {
		return c.Redirect("/auth/login", fiber.StatusFound)
	}
	if code := c.Query("error"); code != "" {
		msg := "The identity provider did not sign you in (" + code
		if desc := c.Query("error_description"); desc != "" {
			msg += ": " + desc
		}
		return s.failed(c, errs.E(errs.Unauthorized, errs.CodeAuth, "%s).", msg), "")
	}
	ctx := c.UserContext()
	profile, idToken, next, err := s.d.SSO.Finish(ctx, flow, c.Query("state"), c.Query("code"))
	if err != nil {
		return s.failed(c, err, "")
	}
	staff, err := s.d.Staff.SignIn(ctx, profile)
	if err != nil {
		return s.failed(c, err, next)
	}
	return s.startSession(c, staff, idToken, next)
}

// startSession gives a member of staff who just signed in a new session
// (ending the one this browser had) and sends them on.
func (s signIn) startSession(c *fiber.Ctx, staff auth.Staff, idToken, next string) error {
	token, _, err := s.d.Sessions.Start(c.UserContext(), staff.Sid, idToken, c.Cookies(SessionCookie))
	if err != nil {
		return err
	}
	setStaffCookie(c, s.d, SessionCookie, token, "/", s.d.Sessions.MaxAge())
	if next = localNext(next); next == "" {
		next = afterSignIn
	}
	return c.Redirect(next, fiber.StatusSeeOther)
}

// failed shows why a sign-in did not happen, with a way to start again.
func (s signIn) failed(c *fiber.Ctx, err error, next string) error {
	e := errs.As(err)
	msg := e.Message
	if e.Kind == errs.Internal {
		s.d.Log.Error("sign-in failed", "err", err)
		msg = "Something went wrong on the server while signing you in. Try again in a moment."
	} else if e.Err != nil {
		s.d.Log.Warn("sign-in refused", "err", err)
	}
	return staffPage(c, statusOf(e.Kind), signin.MessageProps{Title: "Sign-in failed", TestID: "signin-failed", Message: msg,
		LinkURL: loginURL(next), LinkText: "Sign in again"})
}

// logout ends the session here and, where the provider supports it
// (end_session_endpoint), at the provider too.
func (s signIn) logout(c *fiber.Ctx) error {
	ctx := c.UserContext()
	token := c.Cookies(SessionCookie)
	sess, _, err := s.d.Sessions.Check(ctx, token)
	if errs.KindOf(err) == errs.Unauthorized {
		setStaffCookie(c, s.d, SessionCookie, "", "/", 0)
		return s.goTo(c, "/auth/signed-out")
	}
	if err != nil {
		return err
	}
	// A cross-site form must not sign people out either.
	if !csrfMatches(c, sess.CSRF) {
		return staffDenied(c, "This sign-out did not carry this page's security token (CSRF). Reload the page and sign out again.")
	}
	ended, err := s.d.Sessions.End(ctx, token)
	if err != nil && errs.KindOf(err) != errs.Unauthorized {
		return err
	}
	setStaffCookie(c, s.d, SessionCookie, "", "/", 0)
	dest := "/auth/signed-out"
	if s.d.SSO != nil && ended.IDToken != "" {
		u, err := s.d.SSO.LogoutURL(ctx, ended.IDToken, publicBase(s.d, c)+"/auth/signed-out")
		if err != nil {
			// Signed out here all the same; the provider's session stays.
			s.d.Log.Warn("RP-initiated logout unavailable", "err", err)
		} else if u != "" {
			dest = u
		}
	}
	return s.goTo(c, dest)
}

// goTo redirects a page, or tells htmx to.
func (s signIn) goTo(c *fiber.Ctx, dest string) error {
	if c.Get("HX-Request") == "true" {
		c.Set("HX-Redirect", dest)
		return c.SendStatus(fiber.StatusOK)
	}
	return c.Redirect(dest, fiber.StatusSeeOther)
}

func (s signIn) signedOut(c *fiber.Ctx) error {
	return staffPage(c, fiber.StatusOK, signin.MessageProps{Title: "Signed out", TestID: "signed-out",
		Message: "You are signed out of Switchboard.", LinkURL: "/auth/login", LinkText: "Sign in again"})
}

// devPage lists the demo users (dev mode).
func (s signIn) devPage(c *fiber.Ctx) error {
	staff, err := s.d.Staff.Local(c.UserContext())
	if err != nil {
		return err
	}
	next := localNext(c.Query("next"))
	p := signin.DevProps{Next: next}
	if s.d.SSO != nil {
		p.SSOURL = loginURL(next)
	}
	for _, m := range staff {
		p.Users = append(p.Users, signin.DevUser{Sid: m.Sid, Name: m.Name, Email: m.Email, Roles: strings.Join(m.Roles, ", ")})
	}
	c.Set(fiber.HeaderContentSecurityPolicy, signinCSP)
	c.Set(fiber.HeaderCacheControl, "no-store")
	return render(c, signin.Dev(p))
}

// devSignIn signs in as a demo user (dev mode). Only our own page may
// post it, so another site cannot sign the developer in as someone else.
func (s signIn) devSignIn(c *fiber.Ctx) error {
	if o := c.Get(fiber.HeaderOrigin); o != "" && !ownOrigin(s.d, c, o) {
		return staffDenied(c, "The demo sign-in only takes its own page's form.")
	}
	staff, err := s.d.Staff.SignInLocal(c.UserContext(), c.FormValue("staff_sid"))
	if err != nil {
		return s.failed(c, err, c.FormValue("next"))
	}
	return s.startSession(c, staff, "", c.FormValue("next"))
}

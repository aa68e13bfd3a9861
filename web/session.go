package web

import (
	"context"
	"crypto/subtle"
	"net/url"
	"strings"
	"time"

	fiberws "github.com/gofiber/contrib/websocket"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/views/signin"
)

// SessionCookie carries a signed-in member of staff's session token.
const SessionCookie = "sb_session"

// csrfHeader and csrfField carry the session's CSRF token: htmx sends the
// header (hx-headers on the page), plain forms the field.
const (
	csrfHeader = "X-CSRF-Token"
	csrfField  = "_csrf"
)

// staffLocal is the c.Locals key requireStaff puts the Staff under.
type staffLocal struct{}

// csrfKey is the context key requireStaff puts the CSRF token under.
type csrfKey struct{}

// requireStaff guards staff pages and endpoints. It wants a live session
// cookie: without one, a page (GET) is redirected to /auth/login?next=…,
// an htmx request gets 401 with HX-Redirect to the same, anything else
// 401. With roles, the member of staff must hold one of them (roles are
// cumulative: an admin passes a supervisor guard), else 403. Every POST,
// PUT, PATCH and DELETE must carry the session's CSRF token in the
// X-CSRF-Token header or, in a urlencoded form, the _csrf field (multipart
// bodies are not read here: send the header), else 403. A WebSocket
// upgrade must come from our own origin, else 403. On success the Staff is
// in c.Locals (staffOf) and the CSRF token in c.UserContext() (csrfToken),
// and the response is marked no-store.
func requireStaff(d Deps, roles ...string) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if d.Sessions == nil {
			return errs.E(errs.Unavailable, errs.CodeUnavailable, "Staff sign-in is not set up on this server")
		}
		c.Set(fiber.HeaderCacheControl, "no-store")
		sess, staff, err := d.Sessions.Check(c.UserContext(), c.Cookies(SessionCookie))
		if errs.KindOf(err) == errs.Unauthorized {
			return signInFirst(c)
		}
		if err != nil {
			return err
		}
		if fiberws.IsWebSocketUpgrade(c) && !ownOrigin(d, c, c.Get(fiber.HeaderOrigin)) {
			return staffDenied(c, "This connection came from another site's page, so it was refused.")
		}
		if stateChanging(c.Method()) && !csrfMatches(c, sess.CSRF) {
			return staffDenied(c, "This request did not carry this page's security token (CSRF), so nothing was changed. Reload the page and try again.")
		}
		if len(roles) > 0 && !hasAny(staff, roles) {
			return staffDenied(c, "Your account does not have the "+strings.Join(roles, " or ")+" role this page needs.")
		}
		c.Locals(staffLocal{}, staff)
		c.SetUserContext(context.WithValue(c.UserContext(), csrfKey{}, sess.CSRF))
		return c.Next()
	}
}

// staffOf is the member of staff requireStaff let through.
func staffOf(c *fiber.Ctx) auth.Staff {
	s, _ := c.Locals(staffLocal{}).(auth.Staff)
	return s
}

// csrfToken is the session's CSRF token for templates: the page puts it in
// <meta name="csrf-token"> and hx-headers, forms in a _csrf field. "" outside
// requireStaff.
func csrfToken(ctx context.Context) string {
	t, _ := ctx.Value(csrfKey{}).(string)
	return t
}

func hasAny(s auth.Staff, roles []string) bool {
	for _, r := range roles {
		if s.Has(r) {
			return true
		}
	}
	return false
}

func stateChanging(method string) bool {
	switch method {
	case fiber.MethodGet, fiber.MethodHead, fiber.MethodOptions:
		return false
	}
	return true
}

// csrfMatches compares the request's CSRF token with the session's in
// constant time.
func csrfMatches(c *fiber.Ctx, want string) bool {
	got := c.Get(csrfHeader)
	if got == "" && strings.HasPrefix(c.Get(fiber.HeaderContentType), fiber.MIMEApplicationForm) {
		got = c.FormValue(csrfField)
	}
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// ownOrigin reports whether origin is this server's: the public URL's, or
// the one the browser reached (which a page on another site cannot claim).
func ownOrigin(d Deps, c *fiber.Ctx, origin string) bool {
	if origin == "" {
		return false
	}
	if origin == c.BaseURL() {
		return true
	}
	if u, err := url.Parse(d.PublicURL); err == nil && d.PublicURL != "" {
		return origin == u.Scheme+"://"+u.Host
	}
	return false
}

// publicBase is the base of absolute links to this server.
func publicBase(d Deps, c *fiber.Ctx) string {
	if d.PublicURL != "" {
		return strings.TrimRight(d.PublicURL, "/")
	}
	return c.BaseURL()
}

// localNext keeps next only if it is a path on this server, so that the
// sign-in cannot be used to send people to another site.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\\\r\n\t") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// loginURL is the sign-in page that comes back to next.
func loginURL(next string) string {
	if next = localNext(next); next == "" {
		return "/auth/login"
	}
	return "/auth/login?next=" + url.QueryEscape(next)
}

// signInFirst answers a request without a live session: pages go to the
// sign-in, htmx is told to go there (the page it was on comes back after),
// anything else is refused.
func signInFirst(c *fiber.Ctx) error {
	if c.Get("HX-Request") == "true" {
		next := ""
		if u, err := url.Parse(c.Get("HX-Current-URL")); err == nil {
			next = u.RequestURI()
		}
		c.Set("HX-Redirect", loginURL(next))
		return c.Status(fiber.StatusUnauthorized).SendString("Your session has ended: sign in again.")
	}
	if (c.Method() == fiber.MethodGet || c.Method() == fiber.MethodHead) && !fiberws.IsWebSocketUpgrade(c) {
		return c.Redirect(loginURL(c.OriginalURL()), fiber.StatusFound)
	}
	return staffPage(c, fiber.StatusUnauthorized, signin.MessageProps{Title: "Sign in", TestID: "signin-required",
		Message: "Your session has ended, so nothing was changed. Sign in again.", LinkURL: "/auth/login", LinkText: "Sign in"})
}

// staffDenied refuses a signed-in request (403) with a readable page.
func staffDenied(c *fiber.Ctx, message string) error {
	return staffPage(c, fiber.StatusForbidden, signin.MessageProps{Title: "Not allowed", TestID: "staff-denied", Message: message,
		LinkURL: "/desktop", LinkText: "Back to the desktop"})
}

// signinCSP keeps the sign-in pages inert: no scripts, no framing, and
// forms that post here only.
const signinCSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// staffPage renders a one-message sign-in page with the given status.
func staffPage(c *fiber.Ctx, status int, p signin.MessageProps) error {
	c.Status(status)
	c.Set(fiber.HeaderContentSecurityPolicy, signinCSP)
	return render(c, signin.Message(p))
}

// setStaffCookie sets (or, with maxAge 0, deletes) a staff cookie: HttpOnly, SameSite=Lax (it must come along
// when the identity provider sends the browser back), Secure unless the
// server is plain http on loopback.
func setStaffCookie(c *fiber.Ctx, d Deps, name, value, path string, maxAge time.Duration) {
	ck := &fiber.Cookie{Name: name, Value: value, Path: path, HTTPOnly: true, SameSite: fiber.CookieSameSiteLaxMode,
		Secure: !d.PlainHTTPCookies}
	if maxAge > 0 {
		ck.MaxAge = int(maxAge.Seconds())
		ck.Expires = time.Now().Add(maxAge)
	} else {
		ck.MaxAge = -1
		ck.Expires = time.Unix(0, 0)
	}
	c.Cookie(ck)
}

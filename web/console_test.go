package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/auth"
	"github.com/switchboardhq/switchboard/web/webtest"
)

// consoleRoute is a route of the supervisor's or the admin's pages, with
// the least role it needs.
type consoleRoute struct {
	method, path string
	role         string
}

// consoleRoutes are every route the server serves under /supervisor,
// /insights and /admin, path parameters filled with SIDs that name nothing.
func consoleRoutes(t *testing.T, s *webtest.Server) []consoleRoute {
	t.Helper()
	var out []consoleRoute
	seen := map[string]bool{}
	for _, r := range s.Routes {
		if r.Method == http.MethodHead || r.Method == http.MethodOptions || r.Method == http.MethodConnect || r.Method == http.MethodTrace {
			continue
		}
		role := ""
		switch {
		case r.Path == "/admin" || strings.HasPrefix(r.Path, "/admin/"):
			role = auth.RoleAdmin
		case r.Path == "/supervisor" || strings.HasPrefix(r.Path, "/supervisor/"), r.Path == "/insights" || strings.HasPrefix(r.Path, "/insights/"):
			role = auth.RoleSupervisor
		default:
			continue
		}
		parts := strings.Split(r.Path, "/")
		for i, p := range parts {
			if strings.HasPrefix(p, ":") || p == "*" {
				parts[i] = "XX00000000000000000000000000000000"
			}
		}
		path := strings.Join(parts, "/")
		if key := r.Method + " " + path; !seen[key] {
			seen[key] = true
			out = append(out, consoleRoute{method: r.Method, path: path, role: role})
		}
	}
	return out
}

// Every supervisor and admin route, present and future, is refused to
// anyone without its role — before it reads its input — and asks anyone
// signed out to sign in.
func TestConsoleRoutesRefuseStaffWithoutTheirRole(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		routes := consoleRoutes(t, s)
		counts := map[string]int{}
		for _, r := range routes {
			counts[strings.Split(r.path, "/")[1]]++
		}
		for _, prefix := range []string{"supervisor", "insights", "admin"} {
			if counts[prefix] == 0 {
				t.Fatalf("no /%s routes are served: %v", prefix, routes)
			}
		}
		members := map[string]deskAgent{
			auth.RoleAgent:      signInAgent(t, s, "agent@example.com", "Agnes"),
			auth.RoleSupervisor: signInStaff(t, s, "sup@example.com", "Sam", auth.RoleSupervisor),
		}
		for _, r := range routes {
			for role, member := range members {
				if role == auth.RoleSupervisor && r.role == auth.RoleSupervisor {
					continue // allowed: the pages' own tests cover what they answer
				}
				req := request{method: r.method, path: r.path, form: url.Values{"x": {"1"}}}
				if r.method == http.MethodGet {
					req = request{method: r.method, path: r.path, plain: true}
				}
				if res, body := member.do(req); res.StatusCode != http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, want 403\n%.300s", r.method, r.path, role, res.StatusCode, body)
				}
			}
			req := request{method: r.method, path: r.path, noCookie: true, plain: true}
			if res, _ := members[auth.RoleAgent].do(req); res.StatusCode != http.StatusFound && res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s signed out: %d, want a sign-in redirect or 401", r.method, r.path, res.StatusCode)
			}
		}
	})
}

// signInStaff signs in a member of staff with roles, as signInAgent does
// an agent.
func signInStaff(t *testing.T, s *webtest.Server, email, name string, roles ...string) deskAgent {
	t.Helper()
	cookie, csrf, staff := s.SignIn(t, email, name, roles...)
	return deskAgent{t: t, s: s, cookie: cookie, csrf: csrf, staff: staff}
}

// The desktop links supervisors and admins to the console, and nobody
// else.
func TestTheDesktopLinksSupervisorsToTheConsole(t *testing.T) {
	each(t, func(t *testing.T, s *webtest.Server) {
		for _, c := range []struct {
			member deskAgent
			link   bool
		}{
			{signInAgent(t, s, "agent@example.com", "Agnes"), false},
			{signInStaff(t, s, "sup@example.com", "Sam", auth.RoleSupervisor), true},
			{signInStaff(t, s, "adm@example.com", "Ada", auth.RoleAdmin), true},
		} {
			body := c.member.want(http.StatusOK, request{method: http.MethodGet, path: "/desktop", plain: true})
			if got := strings.Contains(body, `data-testid="to-console"`); got != c.link {
				t.Errorf("%s's desktop links to the console: %v, want %v", c.member.staff.Roles, got, c.link)
			}
		}
	})
}

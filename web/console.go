package web

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/views/console"
)

// addConsoleRoutes mounts the supervisor's pages (/supervisor, /insights:
// the supervisor role) and the admin's (/admin: the admin role). Roles are
// cumulative, so an admin passes the supervisor guard too.
func addConsoleRoutes(app *fiber.App, d Deps) {
	if d.Sessions == nil {
		return
	}
	sup := app.Group("/supervisor", requireStaff(d, "supervisor"))
	addSupervisorRoutes(sup, d)
	addMonitorRoutes(sup, d)
	addInsightsRoutes(app.Group("/insights", requireStaff(d, "supervisor")), d)
	adm := app.Group("/admin", requireStaff(d, "admin"))
	addAdminRoutingRoutes(adm, d)
	addAdminIntegrationRoutes(adm, d)
}

// consoleNav is the navigation for the page at active, as the signed-in
// member of staff may see it.
func consoleNav(c *fiber.Ctx, active string) console.Nav {
	s := staffOf(c)
	return console.Nav{Active: active, Name: s.Name, Supervisor: s.Has("supervisor"), Admin: s.Has("admin"),
		CSRF: csrfToken(c.UserContext())}
}

// consoleFail answers an HTMX request from a console page that did not
// happen: the status of what went wrong and a notice the page shows in
// #notice. A server fault is logged and not described.
func consoleFail(c *fiber.Ctx, log *slog.Logger, err error) error {
	e := errs.As(err)
	msg := e.Message
	if e.Kind == errs.Internal {
		log.Error("console", "method", c.Method(), "path", c.Path(), "err", err)
		msg = "Something went wrong on the server; try again."
	}
	c.Status(statusOf(e.Kind))
	c.Set("HX-Retarget", "#notice")
	c.Set("HX-Reswap", "innerHTML")
	return render(c, console.Notice(msg, true))
}

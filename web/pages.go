package web

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/filesystem"

	"github.com/switchboardhq/switchboard/static"
	"github.com/switchboardhq/switchboard/views/home"
)

// render writes a templ component as the HTML response. It passes the
// request's user context so middleware values reach components.
func render(c *fiber.Ctx, component templ.Component) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	return component.Render(c.UserContext(), c.Response().BodyWriter())
}

func staticFiles() fiber.Handler {
	return filesystem.New(filesystem.Config{Root: http.FS(static.FS), MaxAge: 3600})
}

func (a *restAPI) handleHome(dev bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		return render(c, home.Page(home.Props{BaseURL: a.base(c), Dev: dev}))
	}
}

package web

import (
	"context"
	"net/url"
	"regexp"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/webchat"
	webchatview "github.com/switchboardhq/switchboard/views/webchat"
)

// webchatDeployments is what the widget's pages need of the webchat
// service.
type webchatDeployments interface {
	DeploymentByKey(ctx context.Context, key string) (webchat.Deployment, error)
	Limits() *webchat.Limits
}

// webchatPages serves the customer's chat frame, which static/webchat.js
// embeds on customers' sites, and in dev mode a demo host page.
type webchatPages struct {
	api         *restAPI
	deployments webchatDeployments
	demoKey     string
}

func addWebchatPages(app *fiber.App, api *restAPI, deployments webchatDeployments, dev bool, demoKey string) {
	p := webchatPages{api: api, deployments: deployments, demoKey: demoKey}
	app.Get("/webchat/frame", p.frame)
	if dev {
		// A stand-in for a customer's site; the demo deployment is seeded
		// in dev mode only.
		app.Get("/webchat/demo", p.demo)
	}
}

// fieldInputs are the inputs the pre-engagement questions get.
var fieldInputs = map[string]string{webchat.FieldName: "text", webchat.FieldEmail: "email", webchat.FieldQuery: "textarea"}

// frame renders the chat for a deployment key. Only the deployment's
// allowed origins (and our own pages) may frame it; an unknown key gets a
// page that says so, since a customer sees it in the frame.
func (p webchatPages) frame(c *fiber.Ctx) error {
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "same-origin")
	c.Set(fiber.HeaderCacheControl, "no-cache")
	if err := p.deployments.Limits().AllowRequest(c.IP()); err != nil {
		return frameError(c, fiber.StatusTooManyRequests, "Too many requests came from your network. Wait a moment, then reload the page.")
	}
	key := c.Query("key")
	if key == "" {
		return frameError(c, fiber.StatusNotFound, "This chat has no deployment key: the site's chat snippet needs its data-deployment-key attribute.")
	}
	d, err := p.deployments.DeploymentByKey(c.UserContext(), key)
	if errs.KindOf(err) == errs.NotFound {
		return frameError(c, fiber.StatusNotFound, "No chat is set up with this key. The key may have been changed: the site's chat snippet needs the current one.")
	}
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentSecurityPolicy, p.frameCSP(c, d.AllowedOrigins))
	props := webchatview.FrameProps{Key: d.Key, Title: d.Title, Color: d.BrandColor, Welcome: d.WelcomeMessage,
		Form: !d.PreEngagement.Disabled && len(d.PreEngagement.Fields) > 0}
	if props.Title == "" {
		props.Title = webchat.DefaultTitle
	}
	if props.Form {
		for _, f := range d.PreEngagement.Fields {
			props.Fields = append(props.Fields, webchatview.Field{Name: f.Name, Label: f.Label, Type: fieldInputs[f.Name], Required: f.Required})
		}
	}
	return render(c, webchatview.Frame(props))
}

func frameError(c *fiber.Ctx, status int, message string) error {
	c.Status(status)
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; style-src 'self'; base-uri 'none'")
	return render(c, webchatview.FrameError(message))
}

// cspOrigin matches an origin as webchat stores them (scheme://host[:port]),
// so nothing else can reach the policy.
var cspOrigin = regexp.MustCompile(`^https?://[a-z0-9.\-\[\]:]+$`)

// frameCSP lets the frame load only our own scripts, styles, images
// (attachments' signed links) and socket, and be framed only by the
// deployment's allowed origins and our own pages.
func (p webchatPages) frameCSP(c *fiber.Ctx, allowed []string) string {
	self := []string{"'self'"}
	if u, err := url.Parse(p.api.base(c)); err == nil && u.Host != "" {
		// Links and sockets use the public URL, which a proxy may put on
		// another host than the one the page was asked on.
		ws := "ws://"
		if u.Scheme == "https" {
			ws = "wss://"
		}
		self = append(self, u.Scheme+"://"+u.Host, ws+u.Host)
	}
	ancestors := []string{"'self'"}
	for _, o := range allowed {
		if cspOrigin.MatchString(o) {
			ancestors = append(ancestors, o)
		}
	}
	own := strings.Join(self, " ")
	return strings.Join([]string{
		"default-src 'none'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src " + own,
		"connect-src " + own,
		"frame-ancestors " + strings.Join(ancestors, " "),
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
}

// demo is a plain page that embeds the widget with the demo deployment, as
// a customer's site would.
func (p webchatPages) demo(c *fiber.Ctx) error {
	return render(c, webchatview.Demo(webchatview.DemoProps{LoaderURL: p.api.base(c) + "/static/webchat.js", Key: p.demoKey}))
}

package web

import (
	"bytes"
	"encoding/json"
	"mime"
	"net/url"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/media"
	"github.com/switchboardhq/switchboard/internal/webchat"
)

// Webchat: deployments are administered under /v1 with Basic auth like the
// rest of the API (Switchboard's own resource: Twilio keeps them in its
// console); the widget talks to /webchat/v1 without credentials, with a
// deployment key to start a session and the session's access token
// (Authorization: Bearer) after that.

// maxSessionBody bounds a session request: a 32 KB question and the rest
// of the form.
const maxSessionBody = 64 << 10

type webchatAPI struct {
	api  *restAPI
	chat *webchat.Service
}

func addWebchatRoutes(app *fiber.App, v1 fiber.Router, api *restAPI, w *webchat.Service) {
	if w == nil {
		return
	}
	h := webchatAPI{api: api, chat: w}
	v1.Post("/Webchat/Deployments", h.create)
	v1.Get("/Webchat/Deployments", h.list)
	v1.Get("/Webchat/Deployments/:Sid", h.fetch)
	v1.Post("/Webchat/Deployments/:Sid", h.update)
	v1.Delete("/Webchat/Deployments/:Sid", h.remove)

	pub := app.Group("/webchat/v1", h.public)
	pub.Get("/deployments/:Key", h.config)
	pub.Post("/sessions", h.startSession)
	pub.Post("/token", h.refreshToken)
	pub.Post("/media", h.upload)
	pub.Get("/conversations/:Sid/transcript", h.transcript)
}

// deploymentJSON shows a deployment. pre_engagement is a JSON string, as
// JSON-valued parameters come back in the API.
type deploymentJSON struct {
	AccountSid              string   `json:"account_sid"`
	Sid                     string   `json:"sid"`
	Key                     string   `json:"key"`
	FriendlyName            string   `json:"friendly_name"`
	AllowedOrigins          []string `json:"allowed_origins"`
	AddressConfigurationSid string   `json:"address_configuration_sid"`
	PreEngagement           string   `json:"pre_engagement"`
	WelcomeMessage          string   `json:"welcome_message"`
	BrandColor              string   `json:"brand_color"`
	Title                   string   `json:"title"`
	DateCreated             string   `json:"date_created"`
	DateUpdated             string   `json:"date_updated"`
	URL                     string   `json:"url"`
	Links                   struct {
		// Config is the public configuration the widget loads.
		Config string `json:"config"`
	} `json:"links"`
}

func (h webchatAPI) json(c *fiber.Ctx, d webchat.Deployment) deploymentJSON {
	form, _ := json.Marshal(d.PreEngagement) // a struct of strings and bools always encodes
	out := deploymentJSON{AccountSid: h.api.conv.AccountSid(), Sid: d.Sid, Key: d.Key, FriendlyName: d.FriendlyName,
		AllowedOrigins: d.AllowedOrigins, AddressConfigurationSid: d.AddressConfigurationSid, PreEngagement: string(form),
		WelcomeMessage: d.WelcomeMessage, BrandColor: d.BrandColor, Title: d.Title,
		DateCreated: isoTime(d.DateCreated), DateUpdated: isoTime(d.DateUpdated),
		URL: h.api.base(c) + "/v1/Webchat/Deployments/" + d.Sid}
	out.Links.Config = h.api.base(c) + "/webchat/v1/deployments/" + url.PathEscape(d.Key)
	return out
}

// deploymentParams reads the form. AllowedOrigins repeats; one empty
// AllowedOrigins clears the list.
func deploymentParams(c *fiber.Ctx) (webchat.DeploymentParams, error) {
	f := form{c}
	p := webchat.DeploymentParams{FriendlyName: f.str("FriendlyName"), AddressConfigurationSid: f.str("AddressConfigurationSid"),
		PreEngagement: f.str("PreEngagement"), WelcomeMessage: f.str("WelcomeMessage"), BrandColor: f.str("BrandColor"),
		Title: f.str("Title")}
	if origins, ok := f.strs("AllowedOrigins"); ok {
		p.AllowedOrigins = []string{}
		for _, o := range origins {
			if o != "" {
				p.AllowedOrigins = append(p.AllowedOrigins, o)
			}
		}
	}
	rotate, err := f.boolean("RotateKey")
	if err != nil {
		return p, err
	}
	p.RotateKey = rotate != nil && *rotate
	return p, nil
}

func (h webchatAPI) create(c *fiber.Ctx) error {
	p, err := deploymentParams(c)
	if err != nil {
		return err
	}
	if p.RotateKey {
		return errs.Invalidf("RotateKey is for existing deployments; a new one gets a fresh key")
	}
	d, err := h.chat.CreateDeployment(c.UserContext(), p)
	if err != nil {
		return err
	}
	return created(c, h.json(c, d))
}

func (h webchatAPI) fetch(c *fiber.Ctx) error {
	d, err := h.chat.Deployment(c.UserContext(), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(h.json(c, d))
}

func (h webchatAPI) update(c *fiber.Ctx) error {
	p, err := deploymentParams(c)
	if err != nil {
		return err
	}
	d, err := h.chat.UpdateDeployment(c.UserContext(), param(c, "Sid"), p)
	if err != nil {
		return err
	}
	return c.JSON(h.json(c, d))
}

func (h webchatAPI) remove(c *fiber.Ctx) error {
	if err := h.chat.DeleteDeployment(c.UserContext(), param(c, "Sid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h webchatAPI) list(c *fiber.Ctx) error {
	pg, err := pageParams(c, 50, 1000)
	if err != nil {
		return err
	}
	rows, more, err := h.chat.Deployments(c.UserContext(), pg.Page)
	if err != nil {
		return err
	}
	out := make([]deploymentJSON, len(rows))
	for i, d := range rows {
		out[i] = h.json(c, d)
	}
	return c.JSON(fiber.Map{"deployments": out, "meta": meta(c, h.api.base(c)+"/v1/Webchat/Deployments", "deployments", pg, more)})
}

// public guards every widget request: preflights are answered, each
// client IP has an allowance, nothing is cached (tokens), and a refused
// token is challenged as a Bearer token, not with the API's Basic
// challenge, which would make a browser prompt the customer for a password.
func (h webchatAPI) public(c *fiber.Ctx) error {
	c.Vary(fiber.HeaderOrigin)
	c.Set(fiber.HeaderCacheControl, "no-store")
	if c.Method() == fiber.MethodOptions {
		return preflight(c)
	}
	if err := h.chat.Limits().AllowRequest(c.IP()); err != nil {
		return err
	}
	err := c.Next()
	if errs.KindOf(err) != errs.Unauthorized {
		return err
	}
	e := errs.As(err)
	c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="Switchboard webchat"`)
	status, code := statusOf(e.Kind), errs.CodeOf(e)
	return c.Status(status).JSON(twilioError{Code: code, Message: e.Message, Status: status,
		MoreInfo: "https://www.twilio.com/docs/errors/" + strconv.Itoa(code)})
}

// preflight lets any page ask: the requests themselves are checked (the
// session's Origin, the token), and only allowed origins may read answers.
func preflight(c *fiber.Ctx) error {
	if origin := c.Get(fiber.HeaderOrigin); origin != "" {
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
		c.Set(fiber.HeaderAccessControlAllowMethods, "GET, POST")
		c.Set(fiber.HeaderAccessControlAllowHeaders, "Authorization, Content-Type")
		c.Set(fiber.HeaderAccessControlMaxAge, "600")
	}
	return c.SendStatus(fiber.StatusNoContent)
}

// allowReading lets the request's origin read the answer when the
// deployment allows that origin.
func allowReading(c *fiber.Ctx, d webchat.Deployment) {
	if origin := c.Get(fiber.HeaderOrigin); origin != "" && d.Allows(origin) {
		c.Set(fiber.HeaderAccessControlAllowOrigin, origin)
	}
}

// ownOrigin is Switchboard's own origin, where its widget page runs.
func (h webchatAPI) ownOrigin(c *fiber.Ctx) string {
	u, err := url.Parse(h.api.base(c))
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// publicFieldJSON is a pre-engagement field as the widget renders it.
type publicFieldJSON struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Required bool   `json:"required"`
	// Type is the input to show: text, email or textarea.
	Type string `json:"type"`
}

type publicConfigJSON struct {
	Title          string `json:"title"`
	BrandColor     string `json:"brand_color"`
	WelcomeMessage string `json:"welcome_message"`
	PreEngagement  struct {
		Disabled bool              `json:"disabled"`
		Fields   []publicFieldJSON `json:"fields"`
	} `json:"pre_engagement"`
}

// config answers the widget's configuration: looks and the form.
func (h webchatAPI) config(c *fiber.Ctx) error {
	d, err := h.chat.DeploymentByKey(c.UserContext(), param(c, "Key"))
	if err != nil {
		return err
	}
	allowReading(c, d)
	out := publicConfigJSON{Title: d.Title, BrandColor: d.BrandColor, WelcomeMessage: d.WelcomeMessage}
	out.PreEngagement.Disabled = d.PreEngagement.Disabled
	out.PreEngagement.Fields = []publicFieldJSON{}
	inputs := map[string]string{webchat.FieldName: "text", webchat.FieldEmail: "email", webchat.FieldQuery: "textarea"}
	for _, f := range d.PreEngagement.Fields {
		out.PreEngagement.Fields = append(out.PreEngagement.Fields, publicFieldJSON{Name: f.Name, Label: f.Label, Required: f.Required, Type: inputs[f.Name]})
	}
	return c.JSON(out)
}

// sessionRequest is the widget's request to start a chat.
type sessionRequest struct {
	DeploymentKey string `json:"deployment_key"`
	FriendlyName  string `json:"friendly_name"`
	Email         string `json:"email"`
	Query         string `json:"query"`
}

// sessionJSON is a session's access token and what it reaches.
type sessionJSON struct {
	Token           string `json:"token"`
	ExpiresAt       string `json:"expires_at"`
	Identity        string `json:"identity"`
	ConversationSid string `json:"conversation_sid"`
	ServiceSid      string `json:"service_sid"`
}

func toSessionJSON(s webchat.Started) sessionJSON {
	return sessionJSON{Token: s.Token, ExpiresAt: isoTime(s.ExpiresAt), Identity: s.Identity,
		ConversationSid: s.ConversationSid, ServiceSid: s.ServiceSid}
}

func (h webchatAPI) startSession(c *fiber.Ctx) error {
	body := c.Body()
	if len(body) > maxSessionBody {
		return errs.E(errs.TooLarge, errs.CodeInvalidParam, "A session request must be at most %d KB", maxSessionBody>>10)
	}
	var req sessionRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || dec.More() {
		return errs.Invalidf(`The body must be a JSON object such as {"deployment_key":"…","friendly_name":"…","email":"…","query":"…"}`)
	}
	origin := c.Get(fiber.HeaderOrigin)
	if d, err := h.chat.DeploymentByKey(c.UserContext(), req.DeploymentKey); err == nil {
		allowReading(c, d)
	}
	s, err := h.chat.StartSession(c.UserContext(), webchat.SessionParams{DeploymentKey: req.DeploymentKey,
		FriendlyName: req.FriendlyName, Email: req.Email, Query: req.Query,
		Origin: origin, OwnOrigin: h.ownOrigin(c), ClientIP: c.IP()})
	if err != nil {
		return err
	}
	return created(c, toSessionJSON(s))
}

// session authorizes the request's bearer token and lets the origins of
// the session's deployment read the answer.
func (h webchatAPI) session(c *fiber.Ctx) (webchat.Session, error) {
	s, err := h.chat.Authorize(c.UserContext(), bearerToken(c))
	if err != nil {
		return s, err
	}
	if d, err := h.chat.Deployment(c.UserContext(), s.DeploymentSid); err == nil {
		allowReading(c, d)
	}
	return s, nil
}

func (h webchatAPI) refreshToken(c *fiber.Ctx) error {
	sess, err := h.session(c)
	if err != nil {
		return err
	}
	s, err := h.chat.Renew(c.UserContext(), sess)
	if err != nil {
		return err
	}
	return c.JSON(toSessionJSON(s))
}

// webchatMediaJSON describes an uploaded file as the widget attaches it.
type webchatMediaJSON struct {
	Sid         string `json:"sid"`
	ContentType string `json:"content_type"`
	Filename    string `json:"filename"`
	Size        int64  `json:"size"`
}

// upload stores the raw body under its Content-Type; the file name comes
// from the filename query parameter.
func (h webchatAPI) upload(c *fiber.Ctx) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	body := c.Request().BodyStream()
	if !c.Request().IsBodyStream() {
		body = bytes.NewReader(c.Body())
	}
	m, err := h.chat.UploadMedia(c.UserContext(), s, webchat.UploadParams{ContentType: c.Get(fiber.HeaderContentType),
		Filename: c.Query("filename"), Length: int64(c.Request().Header.ContentLength()), Body: body})
	if err != nil {
		return err
	}
	return created(c, webchatMediaJSON{Sid: m.Sid, ContentType: m.ContentType, Filename: m.Filename, Size: m.Size})
}

func (h webchatAPI) transcript(c *fiber.Ctx) error {
	s, err := h.session(c)
	if err != nil {
		return err
	}
	t, err := h.chat.Transcript(c.UserContext(), s, param(c, "Sid"))
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, "text/plain; charset=utf-8")
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	c.Set(fiber.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": t.Filename}))
	return c.SendString(t.Text)
}

// isWebchatUpload reports a POST /webchat/v1/media (routes match
// case-insensitively and with a trailing slash, so this does too).
func isWebchatUpload(method, path string) bool {
	return method == fiber.MethodPost && strings.EqualFold(strings.TrimRight(path, "/"), "/webchat/v1/media")
}

// exceptWebchatUploads runs limit on every request but webchat uploads,
// which stream up to webchat.MaxMediaSize into the media store. As for the
// API's own uploads, a refused upload closes the connection: its unread
// bytes would otherwise be taken for the next request.
func exceptWebchatUploads(limit fiber.Handler) fiber.Handler {
	return func(c *fiber.Ctx) error {
		if !isWebchatUpload(c.Method(), c.Path()) {
			return limit(c)
		}
		if c.Request().Header.ContentLength() > webchat.MaxMediaSize {
			c.Context().SetConnectionClose()
			return media.TooLarge(webchat.MaxMediaSize)
		}
		err := c.Next()
		if err != nil {
			c.Context().SetConnectionClose()
		}
		return err
	}
}

// webchatUploadTimeouts gives webchat uploads the media transfer timeout
// (customers upload from slow mobile links) and leaves the rest to next.
func webchatUploadTimeouts(next func(*fasthttp.RequestHeader) fasthttp.RequestConfig) func(*fasthttp.RequestHeader) fasthttp.RequestConfig {
	return func(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
		path, _, _ := strings.Cut(string(h.RequestURI()), "?")
		if isWebchatUpload(string(h.Method()), path) {
			return fasthttp.RequestConfig{ReadTimeout: mediaTransferTimeout}
		}
		return next(h)
	}
}

// bearerToken is the token of an Authorization: Bearer header, or "".
func bearerToken(c *fiber.Ctx) string {
	h := strings.TrimSpace(c.Get(fiber.HeaderAuthorization))
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

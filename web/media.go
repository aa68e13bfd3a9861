package web

import (
	"bytes"
	"io"
	"mime"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/media"
)

// Media Content Service (mcs.us1.twilio.com/v1): uploads with a raw body,
// metadata, content for authenticated callers, and content through expiring
// signed URLs for callers without credentials (carriers, browsers).

// temporaryURLTTL is how long links.content_direct_temporary works, as on
// Twilio.
const temporaryURLTTL = 5 * time.Minute

// mediaTransferTimeout replaces the server's 30 s read or write timeout for
// media uploads and downloads: 150 MB over a slow link takes minutes.
const mediaTransferTimeout = 10 * time.Minute

type mediaAPI struct {
	api   *restAPI
	media *media.Service
}

// addMediaRoutes mounts the MCS routes under v1 (Basic auth) and the signed
// content route beside it (no credentials; the signature is the grant).
func addMediaRoutes(app *fiber.App, v1 fiber.Router, api *restAPI, m *media.Service) {
	if m == nil {
		return
	}
	h := mediaAPI{api: api, media: m}
	v1.Post("/Services/:ServiceSid/Media", api.withService, h.upload)
	v1.Get("/Services/:ServiceSid/Media/:Sid", api.withService, h.fetch)
	v1.Get("/Services/:ServiceSid/Media/:Sid/Content", api.withService, h.content)
	v1.Delete("/Services/:ServiceSid/Media/:Sid", api.withService, h.remove)
	app.Get("/media/:Sid", h.signedContent)
}

type mediaLinksJSON struct {
	Content                string `json:"content"`
	ContentDirectTemporary string `json:"content_direct_temporary"`
}

// mediaJSON is MCS's media resource; its url and links.content are paths,
// as MCS returns them.
type mediaJSON struct {
	Sid                 string         `json:"sid"`
	ServiceSid          string         `json:"service_sid"`
	DateCreated         string         `json:"date_created"`
	DateUploadUpdated   string         `json:"date_upload_updated"`
	DateUpdated         string         `json:"date_updated"`
	Links               mediaLinksJSON `json:"links"`
	Size                int64          `json:"size"`
	ContentType         string         `json:"content_type"`
	Filename            *string        `json:"filename"`
	Author              string         `json:"author"`
	Category            string         `json:"category"`
	MessageSid          *string        `json:"message_sid"`
	ChannelSid          *string        `json:"channel_sid"`
	URL                 string         `json:"url"`
	IsMultipartUpstream bool           `json:"is_multipart_upstream"`
}

func (h mediaAPI) json(c *fiber.Ctx, m media.Media) mediaJSON {
	u := "/v1/Services/" + m.ServiceSid + "/Media/" + m.Sid
	out := mediaJSON{
		Sid: m.Sid, ServiceSid: m.ServiceSid, Size: m.Size, ContentType: m.ContentType, Author: m.Author,
		// Uploads complete before the record exists.
		DateCreated: isoTime(m.DateCreated), DateUploadUpdated: isoTime(m.DateCreated), DateUpdated: isoTime(m.DateUpdated),
		Links: mediaLinksJSON{
			Content:                u + "/Content",
			ContentDirectTemporary: h.api.base(c) + h.media.SignedURL(m.Sid, temporaryURLTTL),
		},
		Category: "media", MessageSid: m.MessageSid, ChannelSid: m.ConversationSid, URL: u,
	}
	if m.Filename != "" {
		out.Filename = &m.Filename
	}
	return out
}

// upload stores the raw body under its Content-Type. The file name comes
// from the Filename query parameter or a Content-Disposition header.
func (h mediaAPI) upload(c *fiber.Ctx) error {
	// A declared length over the cap is refused before a byte is stored.
	if c.Request().Header.ContentLength() > media.MaxSize {
		return media.TooLarge(media.MaxSize)
	}
	filename := c.Query("Filename")
	if filename == "" {
		if _, params, err := mime.ParseMediaType(c.Get(fiber.HeaderContentDisposition)); err == nil {
			filename = params["filename"]
		}
	}
	body := c.Request().BodyStream()
	if !c.Request().IsBodyStream() {
		body = bytes.NewReader(c.Body())
	}
	saved, err := h.media.Save(c.UserContext(), serviceOf(c), c.Get(fiber.HeaderContentType), filename, "", body)
	if err != nil {
		return err
	}
	m, err := h.media.Get(c.UserContext(), serviceOf(c), saved.Sid)
	if err != nil {
		return err
	}
	return c.Status(fiber.StatusCreated).JSON(h.json(c, m))
}

func (h mediaAPI) fetch(c *fiber.Ctx) error {
	m, err := h.media.Get(c.UserContext(), serviceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return c.JSON(h.json(c, m))
}

func (h mediaAPI) content(c *fiber.Ctx) error {
	m, rc, err := h.media.Content(c.UserContext(), serviceOf(c), param(c, "Sid"))
	if err != nil {
		return err
	}
	return sendMedia(c, m, rc)
}

func (h mediaAPI) remove(c *fiber.Ctx) error {
	if err := h.media.Delete(c.UserContext(), serviceOf(c), param(c, "Sid")); err != nil {
		return err
	}
	return c.SendStatus(fiber.StatusNoContent)
}

func (h mediaAPI) signedContent(c *fiber.Ctx) error {
	m, rc, err := h.media.SignedContent(c.UserContext(), param(c, "Sid"), c.Query("Expires"), c.Query("Signature"))
	if err != nil {
		return err
	}
	return sendMedia(c, m, rc)
}

// sendMedia streams stored bytes. Uploaded content is whatever a customer
// sent, so it must not run as a page of ours: no sniffing, a sandbox, and
// anything but images, audio and video arrives as a download.
func sendMedia(c *fiber.Ctx, m media.Media, rc io.ReadCloser) error {
	c.Set(fiber.HeaderContentType, m.ContentType)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderContentSecurityPolicy, "default-src 'none'; sandbox")
	disposition := "attachment"
	for _, inline := range []string{"image/", "audio/", "video/"} {
		if strings.HasPrefix(m.ContentType, inline) {
			disposition = "inline"
		}
	}
	if m.Filename != "" {
		if d := mime.FormatMediaType(disposition, map[string]string{"filename": m.Filename}); d != "" {
			disposition = d
		}
	}
	c.Set(fiber.HeaderContentDisposition, disposition)
	c.Context().SetBodyStream(rc, int(m.Size)) // closed by fasthttp once sent
	return nil
}

// isMediaUpload reports a POST /v1/Services/{IS}/Media (routes match
// case-insensitively, so this does too).
func isMediaUpload(method, path string) bool {
	p := strings.Split(strings.Trim(path, "/"), "/")
	return method == fiber.MethodPost && len(p) == 4 && strings.EqualFold(p[0], "v1") &&
		strings.EqualFold(p[1], "Services") && strings.EqualFold(p[3], "Media")
}

// isMediaDownload reports a GET of media content, authenticated or signed.
func isMediaDownload(method, path string) bool {
	if method != fiber.MethodGet && method != fiber.MethodHead {
		return false
	}
	p := strings.Split(strings.Trim(path, "/"), "/")
	return len(p) == 6 && strings.EqualFold(p[0], "v1") && strings.EqualFold(p[3], "Media") && strings.EqualFold(p[5], "Content") ||
		len(p) == 2 && strings.EqualFold(p[0], "media")
}

// mediaTimeouts is the server's HeaderReceived hook: media transfers get
// mediaTransferTimeout instead of the default read or write timeout.
func mediaTimeouts(h *fasthttp.RequestHeader) fasthttp.RequestConfig {
	path, _, _ := strings.Cut(string(h.RequestURI()), "?")
	method := string(h.Method())
	switch {
	case isMediaUpload(method, path):
		return fasthttp.RequestConfig{ReadTimeout: mediaTransferTimeout}
	case isMediaDownload(method, path):
		return fasthttp.RequestConfig{WriteTimeout: mediaTransferTimeout}
	}
	return fasthttp.RequestConfig{}
}

// limitBody holds request bodies to max bytes, by Content-Length and by what
// actually arrives (a chunked body declares no length), on every route but
// the media upload, which streams up to media.MaxSize into the store. The
// server streams bodies (Config.StreamRequestBody), so this is also where
// other routes get theirs read into memory. A request answered before its
// body was read closes the connection: the unread bytes would otherwise be
// taken for the next request.
func limitBody(max int) fiber.Handler {
	return func(c *fiber.Ctx) error {
		req := c.Request()
		if isMediaUpload(c.Method(), c.Path()) {
			err := c.Next()
			if err != nil {
				c.Context().SetConnectionClose()
			}
			return err
		}
		if req.Header.ContentLength() > max {
			c.Context().SetConnectionClose()
			return fiber.ErrRequestEntityTooLarge
		}
		if req.IsBodyStream() {
			b, err := io.ReadAll(io.LimitReader(req.BodyStream(), int64(max)+1))
			if err != nil {
				c.Context().SetConnectionClose()
				return errs.Invalidf("The request body could not be read")
			}
			if len(b) > max {
				c.Context().SetConnectionClose()
				return fiber.ErrRequestEntityTooLarge
			}
			req.SetBody(b)
		}
		return c.Next()
	}
}

package web

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboardhq/switchboard/interactions"
	"github.com/switchboardhq/switchboard/interactions/taskrouter"
	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/conversations"
	"github.com/switchboardhq/switchboard/internal/errs"
)

// restAPI holds the Twilio-compatible REST handlers.
type restAPI struct {
	conv      *conversations.Engine
	tr        *taskrouter.Engine
	ix        *interactions.Service
	ch        *channels.Service
	publicURL string
}

func handleReady(d Deps) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ctx, cancel := context.WithTimeout(c.UserContext(), 2*time.Second)
		defer cancel()
		if err := d.Ready(ctx); err != nil {
			return errs.E(errs.Unavailable, errs.CodeUnavailable, "not ready: database unreachable")
		}
		return c.SendString("ready")
	}
}

// basicAuth requires HTTP Basic credentials: AC…:auth token or SK…:secret.
func basicAuth(a Authenticator) fiber.Handler {
	return func(c *fiber.Ctx) error {
		h := c.Get(fiber.HeaderAuthorization)
		user, pass, ok := parseBasic(h)
		if !ok {
			return errs.E(errs.Unauthorized, errs.CodeAuth, "Authenticate")
		}
		acct, err := a.Authenticate(c.UserContext(), user, pass)
		if err != nil {
			return err
		}
		c.Locals(localAccount, acct)
		return c.Next()
	}
}

func parseBasic(h string) (user, pass string, ok bool) {
	const prefix = "Basic "
	if len(h) < len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(h[len(prefix):])
	if err != nil {
		return "", "", false
	}
	user, pass, ok = strings.Cut(string(raw), ":")
	return user, pass, ok
}

// Keys of values handlers leave for each other in fiber.Ctx.Locals.
const (
	localAccount = "account_sid"
	localService = "service"
	localPrefix  = "path_prefix"
)

// param returns a path parameter, percent-decoded as a path (not a query):
// a natural key such as the address +15551234567 keeps its plus sign.
func param(c *fiber.Ctx, name string) string {
	raw := c.Params(name)
	if v, err := url.PathUnescape(raw); err == nil {
		return v
	}
	return raw
}

// base is the absolute URL prefix for links in responses.
func (a *restAPI) base(c *fiber.Ctx) string {
	if a.publicURL != "" {
		return strings.TrimRight(a.publicURL, "/")
	}
	return c.Protocol() + "://" + string(c.Request().Host())
}

// form reads Twilio-style parameters: the form body on POST, the query
// string on GET. A nil pointer means the parameter was absent.
type form struct{ c *fiber.Ctx }

func (f form) has(name string) bool {
	if f.c.Method() == fiber.MethodGet {
		return f.c.Request().URI().QueryArgs().Has(name)
	}
	return f.c.Request().PostArgs().Has(name)
}

func (f form) str(name string) *string {
	if !f.has(name) {
		return nil
	}
	var v []byte
	if f.c.Method() == fiber.MethodGet {
		v = f.c.Request().URI().QueryArgs().Peek(name)
	} else {
		v = f.c.Request().PostArgs().Peek(name)
	}
	s := string(v)
	return &s
}

// strs reads a repeated parameter (Permission=a&Permission=b).
func (f form) strs(name string) ([]string, bool) {
	var vs [][]byte
	if f.c.Method() == fiber.MethodGet {
		vs = f.c.Request().URI().QueryArgs().PeekMulti(name)
	} else {
		vs = f.c.Request().PostArgs().PeekMulti(name)
	}
	if len(vs) == 0 {
		return nil, false
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = string(v)
	}
	return out, true
}

func (f form) boolean(name string) (*bool, error) {
	s := f.str(name)
	if s == nil {
		return nil, nil
	}
	switch strings.ToLower(*s) {
	case "true":
		b := true
		return &b, nil
	case "false":
		b := false
		return &b, nil
	}
	return nil, errs.Invalidf("%s must be true or false", name)
}

func (f form) integer(name string) (*int64, error) {
	s := f.str(name)
	if s == nil {
		return nil, nil
	}
	n, err := strconv.ParseInt(*s, 10, 64)
	if err != nil {
		return nil, errs.Invalidf("%s must be an integer", name)
	}
	return &n, nil
}

// date reads an ISO-8601 timestamp parameter.
func (f form) date(name string) (*time.Time, error) {
	s := f.str(name)
	if s == nil {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		return nil, errs.Invalidf("%s must be an ISO-8601 date-time such as 2015-12-16T22:18:37Z", name)
	}
	t = t.UTC()
	return &t, nil
}

// dates reads the DateCreated and DateUpdated parameters that most
// resources accept.
func (f form) dates() (created, updated *time.Time, err error) {
	if created, err = f.date("DateCreated"); err != nil {
		return nil, nil, err
	}
	updated, err = f.date("DateUpdated")
	return created, updated, err
}

// pageRequest is a parsed PageSize/Page/PageToken.
type pageRequest struct {
	conversations.Page
	number int
}

// pageParams reads the paging parameters. PageToken, when given, wins over
// Page; it is the offset of the page's first row.
func pageParams(c *fiber.Ctx, def, max int) (pageRequest, error) {
	f := form{c}
	p := pageRequest{Page: conversations.Page{Limit: def}}
	if n, err := f.integer("PageSize"); err != nil {
		return p, err
	} else if n != nil {
		if *n < 1 {
			return p, errs.Invalidf("PageSize must be at least 1")
		}
		p.Limit = int(min(*n, int64(max)))
	}
	if n, err := f.integer("Page"); err != nil {
		return p, err
	} else if n != nil {
		if *n < 0 {
			return p, errs.Invalidf("Page must not be negative")
		}
		p.number = int(*n)
	}
	p.Offset = p.number * p.Limit
	if tok := f.str("PageToken"); tok != nil && *tok != "" {
		off, err := strconv.Atoi(strings.TrimPrefix(*tok, "PT"))
		if err != nil || off < 0 || !strings.HasPrefix(*tok, "PT") {
			return p, errs.Invalidf("PageToken is not valid")
		}
		p.Offset = off
	}
	return p, nil
}

// pageMeta is Twilio's v1 paging envelope.
type pageMeta struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	FirstPageURL    string  `json:"first_page_url"`
	PreviousPageURL *string `json:"previous_page_url"`
	URL             string  `json:"url"`
	NextPageURL     *string `json:"next_page_url"`
	Key             string  `json:"key"`
}

// meta builds the envelope for a page of the list at listURL, keeping the
// request's filters in every link.
func meta(c *fiber.Ctx, listURL, key string, p pageRequest, hasNext bool) pageMeta {
	q := url.Values{}
	c.Request().URI().QueryArgs().VisitAll(func(k, v []byte) {
		switch string(k) {
		case "PageSize", "Page", "PageToken":
		default:
			q.Add(string(k), string(v))
		}
	})
	link := func(page, offset int) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("PageSize", strconv.Itoa(p.Limit))
		v.Set("Page", strconv.Itoa(page))
		if offset > 0 {
			v.Set("PageToken", fmt.Sprintf("PT%d", offset))
		}
		return listURL + "?" + v.Encode()
	}
	m := pageMeta{Page: p.number, PageSize: p.Limit, FirstPageURL: link(0, 0), URL: link(p.number, p.Offset), Key: key}
	if p.Offset > 0 {
		prev := link(max(p.number-1, 0), max(p.Offset-p.Limit, 0))
		m.PreviousPageURL = &prev
	}
	if hasNext {
		next := link(p.number+1, p.Offset+p.Limit)
		m.NextPageURL = &next
	}
	return m
}

// isoTime formats a timestamp the way Twilio's v1 APIs do.
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func isoTimePtr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoTime(*t)
	return &s
}

func created(c *fiber.Ctx, v any) error { return c.Status(fiber.StatusCreated).JSON(v) }

package twiliomsg

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboardhq/switchboard/internal/channels"
)

// Find looks at this many of Twilio's messages at most: only those between
// one sender and one recipient since a recent time, which are few.
const (
	findPageSize = 50
	findLimit    = 200
)

// Send creates the message with POST /2010-04-01/Accounts/{AC}/Messages.json.
// With a content template, Body is not sent: Twilio renders the template.
func (p *Provider) Send(ctx context.Context, m channels.Outbound) (string, error) {
	params := (&api.CreateMessageParams{}).SetTo(m.To).SetFrom(m.From)
	if m.ContentSid != "" {
		params.SetContentSid(m.ContentSid)
		if m.ContentVariables != "" {
			params.SetContentVariables(m.ContentVariables)
		}
	} else if m.Body != "" {
		params.SetBody(m.Body)
	}
	if len(m.Media) > 0 {
		urls := make([]string, len(m.Media))
		for i, md := range m.Media {
			urls[i] = md.URL
		}
		params.SetMediaUrl(urls)
	}
	if m.StatusCallback != "" {
		params.SetStatusCallback(m.StatusCallback)
	}
	svc, ex, cancel := p.api(ctx)
	defer cancel()
	msg, err := svc.CreateMessage(params)
	if err != nil {
		return "", sendError(err, ex)
	}
	if msg.Sid == nil || *msg.Sid == "" {
		// Twilio answered 2xx, so it may have the message: a retry must look first.
		return "", &channels.SendError{HTTPStatus: ex.status, Message: "Twilio's answer carries no message SID"}
	}
	return *msg.Sid, nil
}

// sendError classifies a failed call. Twilio's error answers carry a code;
// an error answer twilio-go could not decode (a proxy's 502 page) is
// classified by its status; anything else (no answer, a timeout, a broken
// body) leaves the outcome unknown and is temporary.
func sendError(err error, ex *exchange) *channels.SendError {
	retryAfter := parseRetryAfter(ex.retryAfter, time.Now())
	var rest *twclient.TwilioRestError
	switch {
	case errors.As(err, &rest):
		status := ex.status
		if status == 0 {
			status = rest.Status // twilio-go refused the call itself (bad credentials)
		}
		return channels.HTTPSendError(status, rest.Code, rest.Message, retryAfter)
	case ex.status >= 400:
		return channels.HTTPSendError(ex.status, 0, err.Error(), retryAfter)
	}
	return &channels.SendError{HTTPStatus: ex.status, Message: err.Error()}
}

// parseRetryAfter reads Retry-After as seconds or as an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return max(time.Duration(s)*time.Second, 0)
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return 0
}

// Find lists the messages Twilio has from m.From to m.To sent since since
// and returns those m could have produced, oldest first. A message is
// matched on its body and number of media; Twilio's message resource does
// not name its content template and shows the rendered text, so for a
// template every outbound message between the two addresses matches, and the
// caller tells them apart by those already recorded.
func (p *Provider) Find(ctx context.Context, m channels.Outbound, since time.Time) ([]string, error) {
	since = since.UTC().Truncate(time.Second) // Twilio's dates have whole seconds
	params := (&api.ListMessageParams{}).SetTo(m.To).SetFrom(m.From).SetDateSentAfter(since).
		SetPageSize(findPageSize).SetLimit(findLimit)
	svc, _, cancel := p.api(ctx)
	defer cancel()
	msgs, err := svc.ListMessage(params)
	if err != nil {
		return nil, fmt.Errorf("listing Twilio messages from %s to %s: %w", m.From, m.To, err)
	}
	type found struct {
		sid     string
		created time.Time
		order   int
	}
	var hits []found
	for i, msg := range msgs {
		if msg.Sid == nil || !outbound(msg) || !matches(m, msg) {
			continue
		}
		created, ok := parseDate(msg.DateCreated)
		if !ok || created.Before(since) {
			continue // DateSent> may be coarser than our since
		}
		hits = append(hits, found{*msg.Sid, created, i})
	}
	// Twilio lists newest first; within one second, later in the list is older.
	slices.SortFunc(hits, func(a, b found) int {
		return cmp.Or(a.created.Compare(b.created), cmp.Compare(b.order, a.order))
	})
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = h.sid
	}
	return ids, nil
}

func outbound(msg api.ApiV2010Message) bool {
	return msg.Direction == nil || strings.HasPrefix(*msg.Direction, "outbound")
}

func matches(m channels.Outbound, msg api.ApiV2010Message) bool {
	if m.ContentSid != "" {
		return true
	}
	body := ""
	if msg.Body != nil {
		body = *msg.Body
	}
	numMedia := 0
	if msg.NumMedia != nil {
		numMedia, _ = strconv.Atoi(*msg.NumMedia)
	}
	return body == m.Body && numMedia == len(m.Media)
}

// parseDate reads the 2010 API's RFC 2822 dates ("Mon, 16 Aug 2010 03:45:01 +0000").
func parseDate(s *string) (time.Time, bool) {
	if s == nil {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC1123Z, *s)
	return t, err == nil
}

package twiliofake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/sid"
	"github.com/switchboardhq/switchboard/internal/twiliosig"
)

// Answer is our server's answer to a webhook the fake sent.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// SendInbound posts an inbound-message webhook to webhookURL, form-encoded
// and signed with X-Twilio-Signature over the URL and params, as Twilio
// does. Build params with SMS, MMS or WhatsApp, or by hand. The error is
// for a request that got no answer; check Answer.Status for the rest.
func (s *Server) SendInbound(ctx context.Context, webhookURL string, params url.Values) (Answer, error) {
	return s.post(ctx, webhookURL, params)
}

// SendStatus posts a status callback to callbackURL (a message's
// StatusCallback, query included), signed like SendInbound. Build params
// with StatusParams; Report does both for an accepted message.
func (s *Server) SendStatus(ctx context.Context, callbackURL string, params url.Values) (Answer, error) {
	return s.post(ctx, callbackURL, params)
}

func (s *Server) post(ctx context.Context, target string, params url.Values) (Answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(params.Encode()))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("I-Twilio-Idempotency-Token", randomHex(16))
	req.Header.Set(twiliosig.Header, twiliosig.Sign(s.AuthToken, target, params))
	resp, err := s.client.Do(req)
	if err != nil {
		return Answer{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}, err
}

// Report sets an accepted message's status and posts the status callback
// Twilio would send for it to its StatusCallback. errorCode is for failed
// and undelivered (30003 unreachable, 63016 outside WhatsApp's window…).
func (s *Server) Report(ctx context.Context, messageSid, status string, errorCode int) (Answer, error) {
	s.mu.Lock()
	var m *Message
	for i := range s.messages {
		if s.messages[i].Sid == messageSid {
			m = &s.messages[i]
		}
	}
	if m == nil {
		s.mu.Unlock()
		return Answer{}, fmt.Errorf("no message %s", messageSid)
	}
	m.Status, m.ErrorCode = status, errorCode
	msg := m.clone()
	s.notify()
	s.mu.Unlock()
	if msg.StatusCallback == "" {
		return Answer{}, fmt.Errorf("message %s has no StatusCallback", messageSid)
	}
	return s.SendStatus(ctx, msg.StatusCallback, s.StatusParams(msg, status, errorCode))
}

// StatusParams builds the status callback Twilio sends for m reaching
// status (sent, delivered, read, failed, undelivered, or an interim one).
// ErrorCode is sent only when non-zero; WhatsApp messages get the Channel*
// parameters Twilio adds for them.
func (s *Server) StatusParams(m Message, status string, errorCode int) url.Values {
	p := url.Values{
		"MessageSid": {m.Sid}, "SmsSid": {m.Sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {s.AccountSid}, "From": {m.From}, "To": {m.To}, "ApiVersion": {APIVersion},
	}
	if m.MessagingServiceSid != "" {
		p.Set("MessagingServiceSid", m.MessagingServiceSid)
	}
	if errorCode != 0 {
		p.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	if number, ok := strings.CutPrefix(m.To, "whatsapp:"); ok {
		p.Set("ChannelInstallSid", sid.New("XE"))
		p.Set("ChannelPrefix", "whatsapp")
		p.Set("ChannelToAddress", number)
		if errorCode != 0 {
			p.Set("ChannelStatusMessage", fmt.Sprintf("Message failed with error %d", errorCode))
		}
	} else if status == "delivered" || status == "undelivered" {
		p.Set("RawDlrDoneDate", s.clock().UTC().Format("0601021504"))
	}
	return p
}

// SMS builds the parameters of the webhook Twilio posts when from texts our
// number to.
func (s *Server) SMS(from, to, body string) url.Values {
	p := s.inbound(from, to, body, nil)
	geo(p)
	return p
}

// MMS builds the parameters of a picture message: each attachment is stored on
// the fake (see AddMedia) and named by MediaUrl{N} and MediaContentType{N}.
func (s *Server) MMS(from, to, body string, media ...Media) url.Values {
	p := s.inbound(from, to, body, media)
	geo(p)
	return p
}

// WhatsApp builds the parameters of a WhatsApp message from a customer named
// profileName; from and to get the whatsapp: prefix if they lack it.
func (s *Server) WhatsApp(from, to, body, profileName string, media ...Media) url.Values {
	from, to = "whatsapp:"+strings.TrimPrefix(from, "whatsapp:"), "whatsapp:"+strings.TrimPrefix(to, "whatsapp:")
	p := s.inbound(from, to, body, media)
	p.Set("ProfileName", profileName)
	p.Set("WaId", strings.TrimPrefix(from, "whatsapp:+"))
	p.Set("ReferralNumMedia", "0")
	kind := "text"
	if len(media) > 0 {
		kind, _, _ = strings.Cut(media[0].ContentType, "/")
		if kind == "application" {
			kind = "document"
		}
	}
	p.Set("MessageType", kind)
	return p
}

func (s *Server) inbound(from, to, body string, media []Media) url.Values {
	messageSid := sid.New("SM")
	if len(media) > 0 {
		messageSid = sid.New("MM")
	}
	p := url.Values{
		"MessageSid": {messageSid}, "SmsMessageSid": {messageSid}, "SmsSid": {messageSid},
		"AccountSid": {s.AccountSid}, "ApiVersion": {APIVersion}, "SmsStatus": {"received"},
		"From": {from}, "To": {to}, "Body": {body},
		"NumMedia": {strconv.Itoa(len(media))}, "NumSegments": {strconv.Itoa(segments(body))},
	}
	for i, m := range media {
		n := strconv.Itoa(i)
		p.Set("MediaUrl"+n, s.AddMedia(messageSid, m))
		p.Set("MediaContentType"+n, m.ContentType)
	}
	return p
}

// geo adds the location Twilio infers from SMS numbers.
func geo(p url.Values) {
	for k, v := range map[string]string{
		"FromCity": "SAN FRANCISCO", "FromState": "CA", "FromZip": "94105", "FromCountry": "US",
		"ToCity": "BROOKLYN", "ToState": "NY", "ToZip": "11201", "ToCountry": "US",
	} {
		p.Set(k, v)
	}
}

func (s *Server) clock() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

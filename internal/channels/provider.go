// Package channels carries messages between conversations and the outside
// world's messaging networks (SMS, MMS, WhatsApp): providers parse and verify
// their webhooks and send through their APIs; the Service turns inbound
// messages into conversation messages and delivers outbound ones exactly once
// through durable jobs.
package channels

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Provider kinds, as stored in a provider account's Kind.
const (
	KindTwilio    = "twilio"
	KindWhatsApp  = "whatsapp_cloud"
	KindSimulator = "simulator"
)

// Sources reported on conversation events for messages from each network.
const (
	SourceSMS      = "SMS"
	SourceWhatsApp = "WHATSAPP"
)

// Provider is one carrier account: it verifies and parses the carrier's
// webhooks and sends through its API. Implementations hold no database state.
type Provider interface {
	// Parse verifies a webhook request (signature, tokens) and returns what
	// it carries. A request that fails verification returns ErrUnauthorized.
	Parse(r Request) (Batch, error)
	// Send hands one message to the carrier and returns the carrier's id for
	// it. Errors are *SendError, saying whether a retry may help.
	Send(ctx context.Context, m Outbound) (externalID string, err error)
	// Find asks the carrier which messages it accepted for m since a time,
	// so that a delivery interrupted between sending and recording is not
	// sent twice. It returns the carrier's ids of the matching messages, oldest
	// first; the caller skips those already recorded for other deliveries.
	// ErrCannotFind means the carrier has no way to say.
	Find(ctx context.Context, m Outbound, since time.Time) (externalIDs []string, err error)
	// FetchMedia downloads an inbound attachment with the carrier's
	// credentials. The caller closes the body.
	FetchMedia(ctx context.Context, url string) (body io.ReadCloser, contentType string, err error)
}

// Config is one provider account as configured by an admin; secrets are
// decrypted. Settings holds kind-specific options as JSON.
type Config struct {
	Sid         string
	Kind        string
	AccountID   string // Twilio AccountSid; Meta WhatsApp Business Account id (optional)
	Secret      string // Twilio auth token; Meta access token
	AppSecret   string // Meta app secret (X-Hub-Signature-256)
	VerifyToken string // Meta webhook verify token
	BaseURL     string // API base URL; "" means the carrier's public API
	// WebhookURL is the public URL of this provider's webhook on our server,
	// the URL carriers sign requests for.
	WebhookURL string
	// Templates maps content template SIDs (HX…) to carrier templates, for
	// carriers that name templates themselves (Meta).
	Templates map[string]Template
}

// Template is a carrier's name for a message template.
type Template struct {
	Name     string `json:"name"`
	Language string `json:"language"`
}

// Request is a webhook request as the provider sees it.
type Request struct {
	Method string
	URL    string // the full public URL the carrier called, query included
	Header http.Header
	Body   []byte
}

// Batch is what one webhook request carries.
type Batch struct {
	Messages []Inbound
	Statuses []Status
	// Reply is the response the carrier expects (TwiML, a verification
	// challenge); nil means 200 with an empty body.
	Reply *Reply
}

// Reply is a webhook response body.
type Reply struct {
	ContentType string
	Body        []byte
}

// Inbound is one message a customer sent, in conversation terms: From is
// the participant's address and To the proxy address (+E164 for SMS,
// whatsapp:+E164 for WhatsApp).
type Inbound struct {
	ExternalID  string // the carrier's message id: the deduplication key
	From, To    string
	Body        string
	Media       []InboundMedia
	ProfileName string         // the customer's name where the carrier tells it
	Attributes  map[string]any // carrier extras kept on the message (location, geo, referral…)
	Source      string         // SourceSMS or SourceWhatsApp
}

// InboundMedia is an attachment to fetch with FetchMedia.
type InboundMedia struct {
	URL         string
	ContentType string
	Filename    string
}

// Delivery statuses a carrier reports, in conversation terms.
const (
	StatusSent        = "sent"
	StatusDelivered   = "delivered"
	StatusRead        = "read"
	StatusFailed      = "failed"
	StatusUndelivered = "undelivered"
)

// Status is a carrier's report on a message we sent. Ref is our outbound
// reference when the carrier echoes it; ExternalID is the carrier's id.
// Interim statuses (queued, sending, accepted) are not reported.
type Status struct {
	Ref        string
	ExternalID string
	Status     string // one of the Status* constants
	ErrorCode  int
	Error      string
}

// Outbound is one message to send to one recipient.
type Outbound struct {
	Ref              string // our id for this delivery; echoed in status callbacks where the carrier allows
	From, To         string // proxy address and participant address, in conversation form
	SenderID         string // the carrier's id of the sender where it has one (Meta phone number id)
	Body             string
	Media            []OutboundMedia
	ContentSid       string // a content template (HX…); Body is ignored when set
	ContentVariables string // JSON object of template variables
	StatusCallback   string // where the carrier reports statuses
}

// OutboundMedia is an attachment the carrier fetches from URL.
type OutboundMedia struct {
	URL         string
	ContentType string
	Filename    string
}

// ErrUnauthorized is a webhook request whose signature or token does not check out.
var ErrUnauthorized = errors.New("webhook signature does not match")

// ErrCannotFind is returned by Find when the carrier cannot look messages up.
var ErrCannotFind = errors.New("the carrier cannot look up sent messages")

// SendError is a failed send. Permanent errors (the carrier refused the
// message: bad number, blocked, outside the WhatsApp window) are not retried;
// others (timeouts, 5xx, 429) are, after RetryAfter when the carrier says.
type SendError struct {
	Permanent  bool
	Code       int // the carrier's error code, when it gave one
	HTTPStatus int // the carrier's HTTP status; 0 when no answer came
	Message    string
	RetryAfter time.Duration
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("%s send failure %d: %s", kind, e.Code, e.Message)
}

// HTTPSendError classifies a carrier's HTTP answer: 408, 429 and 5xx may
// succeed later; other 4xx will not.
func HTTPSendError(status, code int, message string, retryAfter time.Duration) *SendError {
	temporary := status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
	return &SendError{Permanent: !temporary, Code: code, HTTPStatus: status, Message: message, RetryAfter: retryAfter}
}

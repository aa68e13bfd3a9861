// Package whatsapp is the WhatsApp Cloud API provider: it sends through Meta's
// Graph API (POST /{phone-number-id}/messages), fetches inbound media with the
// account's access token, and parses Meta's webhooks — the GET verify-token
// handshake, then POSTs signed with X-Hub-Signature-256 that carry customers'
// messages and the delivery statuses of ours.
package whatsapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
)

// DefaultBaseURL is Meta's Graph API, at the version whose wire format this
// package speaks.
const DefaultBaseURL = "https://graph.facebook.com/v21.0"

// SignatureHeader carries "sha256=" + hex(HMAC-SHA256(app secret, raw body))
// on every webhook POST.
const SignatureHeader = "X-Hub-Signature-256"

// defaultTimeout bounds a Graph call when the caller supplies no client;
// callers' contexts usually end sooner.
const defaultTimeout = 30 * time.Second

// maxAnswer bounds how much of a Graph API answer (JSON, not media) we read.
const maxAnswer = 1 << 20

// Provider is one WhatsApp Business account's Cloud API credentials. It holds
// no mutable state and is safe for concurrent use.
type Provider struct {
	base        string // Graph base URL including the version, no trailing slash
	token       string // access token, sent as a Bearer token
	appSecret   []byte // signs webhooks (X-Hub-Signature-256)
	verifyToken string // answers the GET verification handshake
	templates   map[string]channels.Template
	client      *http.Client
}

var _ channels.Provider = (*Provider)(nil)

// New builds a provider from an account's configuration: cfg.Secret is the
// access token, cfg.AppSecret the app secret that signs webhooks,
// cfg.VerifyToken the webhook verify token (without it every verification
// handshake is refused), cfg.BaseURL the Graph base including its version
// ("" means DefaultBaseURL) and cfg.Templates maps content template SIDs to
// Meta's template names. A nil httpClient means a client with a 30 s timeout.
func New(cfg channels.Config, httpClient *http.Client) (*Provider, error) {
	if cfg.Secret == "" {
		return nil, errors.New("whatsapp: the account has no access token")
	}
	if cfg.AppSecret == "" {
		return nil, errors.New("whatsapp: the account has no app secret, so no webhook could be verified")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("whatsapp: base URL %q is not an http(s) URL without a query", cfg.BaseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	return &Provider{
		base:        base,
		token:       cfg.Secret,
		appSecret:   []byte(cfg.AppSecret),
		verifyToken: cfg.VerifyToken,
		templates:   cfg.Templates,
		client:      httpClient,
	}, nil
}

// Find always returns channels.ErrCannotFind: the Graph API cannot list sent
// messages. Statuses echo our reference (biz_opaque_callback_data) instead.
func (p *Provider) Find(context.Context, channels.Outbound, time.Time) ([]string, error) {
	return nil, channels.ErrCannotFind
}

// graphError is the body of a failed Graph API call.
type graphError struct {
	Error struct {
		Message   string  `json:"message"`
		Type      string  `json:"type"`
		Code      flexInt `json:"code"`
		Subcode   flexInt `json:"error_subcode"`
		FBTraceID string  `json:"fbtrace_id"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// describeFailure reads Meta's error code and a message for a non-2xx answer,
// falling back to the HTTP status when the body is not a Graph error.
func describeFailure(status int, body []byte) (code int, message string) {
	var ge graphError
	if json.Unmarshal(body, &ge) != nil || (ge.Error.Message == "" && ge.Error.Code == 0) {
		snippet := strings.TrimSpace(string(body))
		if len(snippet) > 200 {
			snippet = snippet[:200] + "…"
		}
		message = fmt.Sprintf("HTTP %d from the WhatsApp Cloud API", status)
		if snippet != "" {
			message += ": " + snippet
		}
		return 0, message
	}
	e := ge.Error
	message = e.Message
	if message == "" {
		message = fmt.Sprintf("error %d", int(e.Code))
	}
	if e.ErrorData.Details != "" && !strings.Contains(message, e.ErrorData.Details) {
		message += ": " + e.ErrorData.Details
	}
	if e.FBTraceID != "" {
		// Meta support asks for the trace id, so keep it with the failure.
		message += " (fbtrace_id " + e.FBTraceID + ")"
	}
	return int(e.Code), message
}

// flexInt decodes a JSON number or a numeric string: Meta's documents and
// its resellers' relays disagree on how error codes are spelled.
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("error code %s is not an integer", b)
	}
	*f = flexInt(n)
	return nil
}

// get performs an authorized GET and returns the response when it is 2xx;
// otherwise it closes the body and describes Meta's error.
func (p *Provider) get(ctx context.Context, target string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
		resp.Body.Close()
		code, msg := describeFailure(resp.StatusCode, body)
		if code == 0 {
			return nil, errors.New(msg) // already names the HTTP status
		}
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, msg)
	}
	return resp, nil
}

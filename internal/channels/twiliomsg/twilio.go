// Package twiliomsg is the Twilio Messaging provider: SMS, MMS and WhatsApp
// through one Twilio account. It sends with the official twilio-go client
// (pointed at a configurable base URL so tests can use a local fake),
// verifies X-Twilio-Signature on inbound webhooks and status callbacks, and
// downloads inbound media with the account's credentials.
package twiliomsg

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"time"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/errs"
	"github.com/switchboardhq/switchboard/internal/sid"
)

// DefaultBaseURL is Twilio's public REST API.
const DefaultBaseURL = "https://api.twilio.com"

// defaultTimeout bounds calls when the caller gives no HTTP client.
const defaultTimeout = 30 * time.Second

// twilio-go refuses other characters in credentials (error 21222/21224) on
// every call; refusing them once, when the account is configured, is clearer.
var alphanumeric = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

// Provider is one Twilio account. It holds no state beyond its
// configuration and is safe for concurrent use.
type Provider struct {
	accountSid string
	authToken  string
	base       *url.URL
	http       *http.Client
	media      *http.Client
	validator  twclient.RequestValidator
}

var _ channels.Provider = (*Provider)(nil)

// New returns the provider for cfg: cfg.AccountID is the AccountSid,
// cfg.Secret the auth token, cfg.BaseURL the API base ("" for Twilio's).
// httpClient carries every call (its Transport and Timeout are used); nil
// means a client with a 30 s timeout.
func New(cfg channels.Config, httpClient *http.Client) (*Provider, error) {
	if cfg.Kind != "" && cfg.Kind != channels.KindTwilio {
		return nil, errs.Invalidf("provider kind %q is not %q", cfg.Kind, channels.KindTwilio)
	}
	if !sid.Is(cfg.AccountID, sid.Account) {
		return nil, errs.Invalidf("the Twilio account SID must be AC followed by 32 hex digits")
	}
	if !alphanumeric.MatchString(cfg.Secret) {
		return nil, errs.Invalidf("the Twilio auth token must be letters and digits")
	}
	raw := cfg.BaseURL
	if raw == "" {
		raw = DefaultBaseURL
	}
	base, err := url.Parse(raw)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		(base.Path != "" && base.Path != "/") || base.RawQuery != "" || base.User != nil {
		// Only the host is swapped into twilio-go's URLs (and into the paging
		// links Twilio returns), so a path prefix would be lost.
		return nil, errs.Invalidf("the Twilio base URL must be http(s)://host[:port], got %q", cfg.BaseURL)
	}
	if httpClient == nil {
		httpClient = &http.Client{Timeout: defaultTimeout}
	}
	media := *httpClient
	media.CheckRedirect = credentialsStayHome
	return &Provider{
		accountSid: cfg.AccountID,
		authToken:  cfg.Secret,
		base:       base,
		http:       httpClient,
		media:      &media,
		validator:  twclient.NewRequestValidator(cfg.Secret),
	}, nil
}

// api returns twilio-go's 2010 API service for one call under ctx, and the
// exchange that records the call's last HTTP answer.
func (p *Provider) api(ctx context.Context) (*api.ApiService, *exchange, context.CancelFunc) {
	cancel := context.CancelFunc(func() {})
	if p.http.Timeout > 0 {
		// The timeout becomes the context's deadline: exchange replaces the
		// request's context, which is where http.Client would put its own.
		ctx, cancel = context.WithTimeout(ctx, p.http.Timeout)
	}
	next := p.http.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	ex := &exchange{ctx: ctx, next: next}
	inner := &twclient.Client{
		Credentials: twclient.NewCredentials(p.accountSid, p.authToken),
		HTTPClient: &http.Client{Transport: ex, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // as twilio-go's own client: an API redirect is an answer
		}},
	}
	inner.SetAccountSid(p.accountSid)
	return api.NewApiServiceWithClient(&hostClient{Client: inner, base: p.base}), ex, cancel
}

// hostClient points twilio-go at another API host. twilio-go's service base
// URLs are unexported constants and its request handler rewrites hosts for
// edges and regions, so the swap happens last, keeping the path and query.
type hostClient struct {
	*twclient.Client
	base *url.URL
}

func (c *hostClient) SendRequest(method, rawURL string, data url.Values, headers map[string]any, body ...byte) (*http.Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	u.Scheme, u.Host = c.base.Scheme, c.base.Host
	return c.Client.SendRequest(method, u.String(), data, headers, body...)
}

// exchange is the transport of one API call. twilio-go builds its requests
// without a context and, on an error answer, keeps only the decoded body;
// exchange gives the requests the caller's context and remembers the
// answer's status and Retry-After.
type exchange struct {
	ctx        context.Context
	next       http.RoundTripper
	status     int
	retryAfter string
}

func (e *exchange) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(req.WithContext(e.ctx))
	if err != nil {
		return nil, err
	}
	e.status, e.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	return resp, nil
}

package twiliomsg

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects bounds the hops of one media download.
const maxRedirects = 5

// errNotTwilio refuses a media URL off Twilio's API host: the account's
// credentials go nowhere else, whatever a webhook names.
var errNotTwilio = errors.New("not a Twilio media URL")

// FetchMedia downloads an inbound attachment (a MediaUrl{N} of a webhook)
// with HTTP Basic AccountSid:AuthToken. Twilio answers with a redirect to
// its storage host; the credentials are sent to the API host only, never
// across the redirect.
func (p *Provider) FetchMedia(ctx context.Context, rawURL string) (io.ReadCloser, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil || !p.apiHost(u) {
		return nil, "", fmt.Errorf("fetching %q: %w", rawURL, errNotTwilio)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, "", err
	}
	req.SetBasicAuth(p.accountSid, p.authToken)
	resp, err := p.media.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("fetching Twilio media %s: %w", rawURL, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		detail, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, "", fmt.Errorf("fetching Twilio media %s: HTTP %d from %s: %s",
			rawURL, resp.StatusCode, resp.Request.URL.Host, strings.TrimSpace(string(detail)))
	}
	return resp.Body, resp.Header.Get("Content-Type"), nil
}

// apiHost reports whether u is on the API host this provider talks to, or,
// against Twilio itself, on one of Twilio's hosts over HTTPS (media URLs may
// name an edge or region).
func (p *Provider) apiHost(u *url.URL) bool {
	if u.Scheme == p.base.Scheme && strings.EqualFold(u.Host, p.base.Host) {
		return true
	}
	return p.base.String() == DefaultBaseURL && u.Scheme == "https" && u.Port() == "" &&
		strings.HasSuffix(strings.ToLower(u.Hostname()), ".twilio.com")
}

// credentialsStayHome is the media client's redirect policy. Go drops the
// Authorization header on a redirect to another domain, but keeps it for a
// subdomain or the same host name on another port or scheme; here it goes
// only to the exact origin it was set for.
func credentialsStayHome(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	first := via[0].URL
	if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
		req.Header.Del("Authorization")
	}
	return nil
}

package webchat

import (
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboardhq/switchboard/internal/errs"
)

// MaxAllowedOrigins is how many origins may embed one deployment, as on
// Twilio's webchat.
const MaxAllowedOrigins = 10

// normalizeOrigin checks an allowed origin and returns it as browsers send
// it in the Origin header: scheme://host[:port], lower case, without a
// default port. A single trailing slash is forgiven; any other path, a
// query, a fragment, credentials or a wildcard is refused.
func normalizeOrigin(raw string) (string, error) {
	bad := func(why string) error {
		return errs.Invalidf("AllowedOrigins %q is not an origin such as https://www.example.com or http://localhost:3000: %s", raw, why)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", bad("it does not parse as a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("the scheme must be http or https")
	case u.Opaque != "" || u.Host == "":
		return "", bad("it needs a host after the scheme's //")
	case u.User != nil:
		return "", bad("it must not carry credentials")
	case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery:
		return "", bad("it must not have a path, query or fragment")
	case strings.Contains(u.Host, "*"):
		return "", bad("wildcards are not supported; list each origin")
	}
	host := strings.ToLower(u.Hostname())
	if !validHost(host) {
		return "", bad("the host must be a domain name (in ASCII, punycode for international names) or an IP address")
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", bad("the port must be between 1 and 65535")
		}
		if u.Scheme == "http" && n == 80 || u.Scheme == "https" && n == 443 {
			port = "" // browsers leave the default port out of Origin
		} else {
			port = strconv.Itoa(n)
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	out := u.Scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, nil
}

// validHost accepts an IP address or an ASCII domain name.
func validHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	if len(h) > 253 || h == "" {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// normalizeOrigins checks a list of allowed origins, dropping duplicates.
func normalizeOrigins(raw []string) ([]string, error) {
	out := []string{}
	for _, r := range raw {
		o, err := normalizeOrigin(r)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	if len(out) > MaxAllowedOrigins {
		return nil, errs.Invalidf("AllowedOrigins may list at most %d origins, got %d", MaxAllowedOrigins, len(out))
	}
	return out, nil
}

// Allows reports whether a request's Origin header names one of the
// deployment's allowed origins.
func (d Deployment) Allows(origin string) bool {
	o, err := normalizeOrigin(origin)
	return err == nil && slices.Contains(d.AllowedOrigins, o)
}

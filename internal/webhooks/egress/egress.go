// Package egress makes HTTP clients for requests to URLs that users
// configure (webhooks, media to fetch): such a URL must not reach into the
// network Switchboard runs in. The check happens when a connection is
// dialled, on the address actually dialled, so a name that resolves to a
// public address when checked and to a private one when used (DNS
// rebinding) gets nowhere.
package egress

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// internal are the ranges a configured URL must not reach unless allowed:
// unspecified and "this network", loopback, RFC 1918 and RFC 4193 private,
// carrier-grade NAT, link-local, multicast and reserved (broadcast included).
// IPv4-mapped IPv6 addresses are checked as the IPv4 address they carry.
var internal = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

// RefusedError is a connection the guard refused.
type RefusedError struct {
	Addr netip.Addr
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refusing to connect to %s: a loopback, private, link-local or otherwise internal address (allow its range with SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE)", e.Addr)
}

// IsRefused reports whether err (from a request made with a guarded
// client) is the guard refusing the address, which no retry can change.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}

// Permitted reports whether a connection to addr may be made: it is not
// internal, or it lies in one of the allowed ranges.
func Permitted(addr netip.Addr, allow []netip.Prefix) bool {
	addr = addr.Unmap().WithZone("")
	for _, p := range allow {
		if p.Contains(addr) {
			return true
		}
	}
	for _, p := range internal {
		if p.Contains(addr) {
			return false
		}
	}
	return true
}

// Client returns an HTTP client whose connections may only go to permitted
// addresses, that ignores proxy settings (a proxy would dial on its behalf,
// unchecked), follows no redirects (the caller sees the 3xx) and gives up
// on a request after timeout.
func Client(allow []netip.Prefix, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{
		Timeout: timeout,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("egress: unexpected dial address %q: %w", address, err)
			}
			if !Permitted(ap.Addr(), allow) {
				return &RefusedError{Addr: ap.Addr().Unmap().WithZone("")}
			}
			return nil
		},
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// ParsePrefixes reads a list of CIDR ranges or single addresses separated
// by commas or spaces, as SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE holds them.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' }) {
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("%q is neither a CIDR range nor an IP address", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR range nor an IP address", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

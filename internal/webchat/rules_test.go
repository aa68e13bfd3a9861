package webchat

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/errs"
)

func TestAllowedOriginsAreNormalisedAsBrowsersSendThem(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.example.com":     "https://www.example.com",
		"HTTPS://WWW.Example.COM/":    "https://www.example.com",
		"https://example.com:443":     "https://example.com",
		"http://example.com:80":       "http://example.com",
		"http://localhost:3000":       "http://localhost:3000",
		"https://example.com:8443":    "https://example.com:8443",
		"http://127.0.0.1:8080":       "http://127.0.0.1:8080",
		"http://[::1]:8080":           "http://[::1]:8080",
		" https://xn--bcher-kva.ch  ": "https://xn--bcher-kva.ch",
	} {
		got, err := normalizeOrigin(in)
		if err != nil || got != want {
			t.Errorf("normalizeOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestAnythingButAnOriginIsRefusedWithTheReason(t *testing.T) {
	for in, why := range map[string]string{
		"example.com":                 "scheme",
		"ftp://example.com":           "scheme",
		"https://example.com/chat":    "path",
		"https://example.com?x=1":     "query",
		"https://example.com/#top":    "fragment",
		"https://user:pw@example.com": "credentials",
		"https://*.example.com":       "wildcards",
		"https://exa mple.com":        "URL",
		"https://bücher.ch":           "punycode",
		"https://example.com:99999":   "port",
		"https://":                    "host",
		"null":                        "scheme",
	} {
		_, err := normalizeOrigin(in)
		if errs.CodeOf(err) != errs.CodeInvalidParam || !strings.Contains(err.Error(), why) {
			t.Errorf("normalizeOrigin(%q) = %v; want a 20001 error mentioning %q", in, err, why)
		}
	}
}

func TestAtMostTenDistinctOriginsAreAllowed(t *testing.T) {
	var ten []string
	for i := range 10 {
		ten = append(ten, "https://site"+string(rune('a'+i))+".example.com")
	}
	if got, err := normalizeOrigins(append(ten, ten[0]+"/")); err != nil || len(got) != 10 {
		t.Fatalf("ten origins and a duplicate: %v, %v", got, err)
	}
	if _, err := normalizeOrigins(append(ten, "https://eleventh.example.com")); err == nil || !strings.Contains(err.Error(), "at most 10") {
		t.Fatalf("eleven origins: %v, want refused", err)
	}
}

func TestPreEngagementFormsAreCheckedAndLabelled(t *testing.T) {
	p, err := parsePreEngagement(`{"fields":[{"name":"query","required":true},{"name":"friendly_name","label":" Your name "}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Fields) != 2 || p.Fields[0].Label != "How can we help?" || p.Fields[1].Label != "Your name" || p.Fields[1].Required {
		t.Fatalf("parsed %+v", p)
	}
	for raw, why := range map[string]string{
		`{"fields":[{"name":"phone"}]}`:                  "unknown",
		`{"fields":[{"name":"email"},{"name":"email"}]}`: "twice",
		`{"disabled":"yes"}`:                             "JSON object",
		`{"field":[]}`:                                   "JSON object",
		`[]`:                                             "JSON object",
		`{"fields":[{"name":"email","label":"` + strings.Repeat("x", 129) + `"}]}`: "label",
	} {
		if _, err := parsePreEngagement(raw); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("parsePreEngagement(%s) = %v; want an error mentioning %q", raw, err, why)
		}
	}
}

func TestTheFormDecidesWhatASessionMustCarry(t *testing.T) {
	d := Deployment{PreEngagement: DefaultPreEngagement()}
	full := SessionParams{FriendlyName: " Ada ", Email: "ada@example.com", Query: "My order is late"}
	f, err := checkForm(d, full)
	if err != nil || f.name != "Ada" || f.email != "ada@example.com" || f.query != "My order is late" {
		t.Fatalf("checkForm = %+v, %v", f, err)
	}
	for _, tc := range []struct {
		name string
		p    SessionParams
		why  string
	}{
		{"no name", SessionParams{Email: "ada@example.com", Query: "q"}, "friendly_name is required"},
		{"blank question", SessionParams{FriendlyName: "Ada", Email: "ada@example.com", Query: "  "}, "query is required"},
		{"bad email", SessionParams{FriendlyName: "Ada", Email: "ada at example", Query: "q"}, "not an email address"},
		{"long name", SessionParams{FriendlyName: strings.Repeat("a", MaxName+1), Email: "ada@example.com", Query: "q"}, "at most"},
	} {
		if _, err := checkForm(d, tc.p); err == nil || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("%s: %v; want an error mentioning %q", tc.name, err, tc.why)
		}
	}
	d.PreEngagement.Disabled = true
	f, err = checkForm(d, SessionParams{FriendlyName: "ignored", Query: "ignored"})
	if err != nil || f != (form{name: AnonymousName}) {
		t.Fatalf("a disabled form took %+v, %v; want an anonymous session without question", f, err)
	}
}

func TestEachKeyHasItsOwnBucketThatRefillsOverTime(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	l := newLimits(Options{MessagesPerSecond: 5, MessageBurst: 10, Now: func() time.Time { return now }}.withDefaults())
	for i := range 10 {
		if !l.AllowMessage("alice") {
			t.Fatalf("message %d of a burst of 10 refused", i+1)
		}
	}
	if l.AllowMessage("alice") {
		t.Fatal("an 11th message in the same instant was allowed")
	}
	if !l.AllowMessage("bob") {
		t.Fatal("alice's burst used up bob's allowance")
	}
	now = now.Add(time.Second)
	for i := range 5 {
		if !l.AllowMessage("alice") {
			t.Fatalf("message %d a second later refused; 5 a second refill", i+1)
		}
	}
	if l.AllowMessage("alice") {
		t.Fatal("more than 5 messages refilled in a second")
	}
}

func TestSessionStartsPerIPDefaultToFiveAMinute(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	l := newLimits(Options{Now: func() time.Time { return now }}.withDefaults())
	for i := range 5 {
		if err := l.allowSession("192.0.2.1"); err != nil {
			t.Fatalf("session %d refused: %v", i+1, err)
		}
	}
	err := l.allowSession("192.0.2.1")
	if errs.KindOf(err) != errs.RateLimited || errs.CodeOf(err) != errs.CodeRateLimit {
		t.Fatalf("a 6th session in a minute: %v, want 20429", err)
	}
	now = now.Add(12 * time.Second)
	if err := l.allowSession("192.0.2.1"); err != nil {
		t.Fatalf("12 s later (one session's worth): %v", err)
	}
}

func TestSessionsComeFromAllowedOriginsOrSwitchboardsOwn(t *testing.T) {
	d := Deployment{AllowedOrigins: []string{"https://shop.example.com"}}
	for _, tc := range []struct {
		origin, own string
		allowed     bool
	}{
		{"https://shop.example.com", "https://chat.example.org", true},
		{"https://chat.example.org", "https://chat.example.org:443", true},
		{"https://chat.example.org", "http://chat.example.org", false},
		{"https://evil.example.net", "https://chat.example.org", false},
		{"null", "https://chat.example.org", false},
		{"", "https://chat.example.org", false},
	} {
		err := checkOrigin(d, tc.origin, tc.own)
		if (err == nil) != tc.allowed || err != nil && errs.CodeOf(err) != errs.CodeForbidden {
			t.Errorf("origin %q with own %q: %v, want allowed=%v (else 20403)", tc.origin, tc.own, err, tc.allowed)
		}
	}
}

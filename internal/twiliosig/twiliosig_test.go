package twiliosig

import (
	"net/url"
	"testing"

	twclient "github.com/twilio/twilio-go/client"
)

func TestSignatureIsAcceptedByTwilioGoValidator(t *testing.T) {
	const token = "12345abcdef"
	cases := []struct {
		name   string
		url    string
		params url.Values
	}{
		{"form post", "https://example.com/hook?x=1", url.Values{"Body": {"hi there"}, "From": {"+15551234567"}, "EventType": {"onMessageAdded"}}},
		{"no params", "https://example.com/hook", url.Values{}},
		{"port in url", "https://example.com:443/hook", url.Values{"A": {"1"}}},
	}
	v := twclient.NewRequestValidator(token)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			flat := map[string]string{}
			for k := range c.params {
				flat[k] = c.params.Get(k)
			}
			if !v.Validate(c.url, flat, Sign(token, c.url, c.params)) {
				t.Fatal("twilio-go rejected our signature")
			}
			if v.Validate(c.url, flat, Sign("other", c.url, c.params)) {
				t.Fatal("a signature with another token was accepted")
			}
		})
	}
}

package twiliomsg

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg/twiliofake"
)

func TestFetchMediaFollowsTheRedirectWithoutTheCredentials(t *testing.T) {
	fake := newFake(t)
	p := newProvider(t, fake.Config(webhookURL), nil)
	mediaURL := fake.AddMedia("MM"+strings.Repeat("1", 32), twiliofake.Media{ContentType: "image/png", Data: []byte("\x89PNG...")})

	body, contentType, err := p.FetchMedia(context.Background(), mediaURL)
	if err != nil {
		t.Fatal(err)
	}
	defer body.Close()
	data, err := io.ReadAll(body)
	if err != nil || string(data) != "\x89PNG..." || contentType != "image/png" {
		t.Fatalf("got %q %q %v", data, contentType, err)
	}

	// The storage host shares the API's host name (127.0.0.1) on another
	// port, where Go's own redirect policy keeps the Authorization header:
	// the fake must catch that, or the check above proves nothing.
	req, _ := http.NewRequest(http.MethodGet, mediaURL, nil)
	req.SetBasicAuth(fake.AccountSid, fake.AuthToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("with Go's default redirect policy the storage host answered %d, want 400 for leaked credentials", resp.StatusCode)
	}
}

func TestFetchMediaFailures(t *testing.T) {
	fake := newFake(t)
	mediaURL := fake.AddMedia("MM"+strings.Repeat("1", 32), twiliofake.Media{ContentType: "image/png", Data: []byte("png")})
	wrong := fake.Config(webhookURL)
	wrong.Secret = "wrongtoken"
	cases := []struct {
		name string
		cfg  channels.Config
		url  string
		want string
	}{
		{"wrong credentials", wrong, mediaURL, "HTTP 401"},
		{"unknown media", fake.Config(webhookURL), mediaURL[:len(mediaURL)-1] + "0", "HTTP 404"},
		{"a URL on another host gets no credentials and no request", fake.Config(webhookURL), "https://media.example.com/x.png", errNotTwilio.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := newProvider(t, c.cfg, nil)
			body, _, err := p.FetchMedia(context.Background(), c.url)
			if err == nil {
				body.Close()
				t.Fatal("fetched")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error saying %q", err, c.want)
			}
		})
	}
}

func TestMediaCredentialsGoToTwilioHostsOnly(t *testing.T) {
	p := newProvider(t, channels.Config{AccountID: "AC" + strings.Repeat("1", 32), Secret: "token"}, nil)
	cases := []struct {
		url  string
		want bool
	}{
		{"https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", true},
		{"https://api.dublin.ie1.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", true},
		{"http://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1", false},
		{"https://api.twilio.com:8443/x", false},
		{"https://twilio.com.example.com/x", false},
		{"https://example.com/?host=.twilio.com", false},
		{"https://s3.amazonaws.com/com.twilio.prod.twilio-api/x", false},
	}
	for _, c := range cases {
		t.Run(c.url, func(t *testing.T) {
			u, err := url.Parse(c.url)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.apiHost(u); got != c.want {
				t.Fatalf("apiHost = %v, want %v", got, c.want)
			}
		})
	}
}

func TestRedirectPolicyKeepsCredentialsOnTheirOrigin(t *testing.T) {
	cases := []struct {
		to   string
		keep bool
	}{
		{"https://api.twilio.com/other", true},
		{"https://media.api.twilio.com/x", false}, // Go would keep it for a subdomain
		{"https://api.twilio.com:8443/x", false},  // or another port
		{"http://api.twilio.com/x", false},        // or plain HTTP
		{"https://s3.amazonaws.com/x", false},
	}
	for _, c := range cases {
		t.Run(c.to, func(t *testing.T) {
			first, _ := http.NewRequest(http.MethodGet, "https://api.twilio.com/media", nil)
			next, _ := http.NewRequest(http.MethodGet, c.to, nil)
			next.SetBasicAuth("AC1", "token")
			if err := credentialsStayHome(next, []*http.Request{first}); err != nil {
				t.Fatal(err)
			}
			if _, _, kept := next.BasicAuth(); kept != c.keep {
				t.Fatalf("credentials kept = %v, want %v", kept, c.keep)
			}
		})
	}
	t.Run("too many redirects", func(t *testing.T) {
		first, _ := http.NewRequest(http.MethodGet, "https://api.twilio.com/media", nil)
		if err := credentialsStayHome(first, make([]*http.Request, maxRedirects)); err == nil {
			t.Fatal("followed")
		}
	})
}

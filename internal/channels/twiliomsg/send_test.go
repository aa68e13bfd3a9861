package twiliomsg

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/twiliomsg/twiliofake"
	"github.com/switchboardhq/switchboard/internal/errs"
)

const webhookURL = "https://switchboard.example.com/v1/Channels/Providers/PA00000000000000000000000000000001/Webhook"

func newFake(t *testing.T) *twiliofake.Server {
	t.Helper()
	fake := twiliofake.New()
	t.Cleanup(fake.Close)
	return fake
}

func newProvider(t *testing.T, cfg channels.Config, hc *http.Client) *Provider {
	t.Helper()
	p, err := New(cfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	good := channels.Config{Kind: channels.KindTwilio, AccountID: "AC" + strings.Repeat("0", 32), Secret: "token123"}
	cases := []struct {
		name string
		edit func(*channels.Config)
	}{
		{"another kind", func(c *channels.Config) { c.Kind = channels.KindWhatsApp }},
		{"an account SID that is not AC plus 32 hex", func(c *channels.Config) { c.AccountID = "ACnope" }},
		{"an auth token twilio-go would refuse", func(c *channels.Config) { c.Secret = "tok-en" }},
		{"no auth token", func(c *channels.Config) { c.Secret = "" }},
		{"a base URL with a path twilio-go would lose", func(c *channels.Config) { c.BaseURL = "https://proxy.example.com/twilio" }},
		{"a base URL that is not http", func(c *channels.Config) { c.BaseURL = "ftp://api.example.com" }},
	}
	if _, err := New(good, nil); err != nil {
		t.Fatalf("the good configuration was refused: %v", err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := good
			c.edit(&cfg)
			if _, err := New(cfg, nil); errs.KindOf(err) != errs.Invalid {
				t.Fatalf("got %v, want an invalid-configuration error", err)
			}
		})
	}
}

func TestSendMapsEveryField(t *testing.T) {
	fake := newFake(t)
	p := newProvider(t, fake.Config(webhookURL), nil)
	callback := webhookURL + "?ref=OD00000000000000000000000000000001"
	cases := []struct {
		name    string
		out     channels.Outbound
		want    url.Values
		sidKind string
	}{
		{
			name:    "SMS: To, From, Body and StatusCallback",
			out:     channels.Outbound{Ref: "OD1", From: "+15557654321", To: "+15551230001", Body: "Hello there", StatusCallback: callback},
			want:    url.Values{"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {"Hello there"}, "StatusCallback": {callback}},
			sidKind: "SM",
		},
		{
			name: "MMS: each media URL in order",
			out: channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "See attached", StatusCallback: callback,
				Media: []channels.OutboundMedia{{URL: "https://media.example.com/a.png", ContentType: "image/png"}, {URL: "https://media.example.com/b.pdf"}}},
			want: url.Values{"To": {"+15551230001"}, "From": {"+15557654321"}, "Body": {"See attached"}, "StatusCallback": {callback},
				"MediaUrl": {"https://media.example.com/a.png", "https://media.example.com/b.pdf"}},
			sidKind: "MM",
		},
		{
			name: "media without text sends no Body",
			out: channels.Outbound{From: "+15557654321", To: "+15551230001",
				Media: []channels.OutboundMedia{{URL: "https://media.example.com/a.png"}}},
			want:    url.Values{"To": {"+15551230001"}, "From": {"+15557654321"}, "MediaUrl": {"https://media.example.com/a.png"}},
			sidKind: "MM",
		},
		{
			name:    "WhatsApp addresses pass as they are",
			out:     channels.Outbound{From: "whatsapp:+15557654321", To: "whatsapp:+447700900123", Body: "Olá", StatusCallback: callback},
			want:    url.Values{"To": {"whatsapp:+447700900123"}, "From": {"whatsapp:+15557654321"}, "Body": {"Olá"}, "StatusCallback": {callback}},
			sidKind: "SM",
		},
		{
			name: "a template sends ContentSid and ContentVariables, not Body",
			out: channels.Outbound{From: "whatsapp:+15557654321", To: "whatsapp:+447700900123", Body: "rendered by us, ignored",
				ContentSid: "HX" + strings.Repeat("a", 32), ContentVariables: `{"1":"Ana"}`, StatusCallback: callback},
			want: url.Values{"To": {"whatsapp:+447700900123"}, "From": {"whatsapp:+15557654321"}, "StatusCallback": {callback},
				"ContentSid": {"HX" + strings.Repeat("a", 32)}, "ContentVariables": {`{"1":"Ana"}`}},
			sidKind: "SM",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := p.Send(context.Background(), c.out)
			if err != nil {
				t.Fatal(err)
			}
			m, ok := fake.Message(id)
			if !ok {
				t.Fatalf("Send returned %q, which Twilio never issued", id)
			}
			if !strings.HasPrefix(id, c.sidKind) {
				t.Errorf("sid %s, want a %s… sid", id, c.sidKind)
			}
			if !reflect.DeepEqual(m.Params, c.want) {
				t.Errorf("Twilio received\n %v\nwant\n %v", m.Params, c.want)
			}
		})
	}
}

func TestSendErrorsAreClassified(t *testing.T) {
	cases := []struct {
		name       string
		fault      *twiliofake.Fault
		to         string
		permanent  bool
		code       int
		status     int
		retryAfter time.Duration
		recorded   bool // Twilio has the message despite the error
	}{
		{name: "503 is temporary", fault: &twiliofake.Fault{Status: 503, Code: 20503}, permanent: false, code: 20503, status: 503},
		{name: "400 21211 is permanent", fault: &twiliofake.Fault{Status: 400, Code: 21211}, permanent: true, code: 21211, status: 400},
		{name: "an invalid number Twilio checks itself is permanent", to: "+1", permanent: true, code: 21211, status: 400},
		{name: "429 is temporary and keeps Retry-After", fault: &twiliofake.Fault{Status: 429, Code: 20429, RetryAfter: 3 * time.Second},
			permanent: false, code: 20429, status: 429, retryAfter: 3 * time.Second},
		{name: "a 500 after accepting is temporary", fault: &twiliofake.Fault{Status: 500, Accept: true}, permanent: false, status: 500, recorded: true},
		{name: "a dropped connection after accepting is temporary, with no status", fault: &twiliofake.Fault{Accept: true, Drop: true},
			permanent: false, recorded: true},
		{name: "a dropped connection is temporary", fault: &twiliofake.Fault{Drop: true}, permanent: false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t)
			p := newProvider(t, fake.Config(webhookURL), nil)
			if c.fault != nil {
				fake.FailSends(1, *c.fault)
			}
			to := "+15551230001"
			if c.to != "" {
				to = c.to
			}
			_, err := p.Send(context.Background(), channels.Outbound{From: "+15557654321", To: to, Body: "hi"})
			se := sendErrorOf(t, err)
			if se.Permanent != c.permanent || se.Code != c.code || se.HTTPStatus != c.status || se.RetryAfter != c.retryAfter {
				t.Errorf("got %+v, want permanent=%v code=%d status=%d retryAfter=%v", se, c.permanent, c.code, c.status, c.retryAfter)
			}
			if got := len(fake.Messages()); got != map[bool]int{false: 0, true: 1}[c.recorded] {
				t.Errorf("Twilio holds %d messages", got)
			}
			// The fault was used up: the retry goes through.
			if _, err := p.Send(context.Background(), channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "hi"}); err != nil {
				t.Errorf("the next send failed: %v", err)
			}
		})
	}
}

func TestSendWithWrongCredentialsIsPermanent(t *testing.T) {
	fake := newFake(t)
	cfg := fake.Config(webhookURL)
	cfg.Secret = "wrongtoken"
	p := newProvider(t, cfg, nil)
	_, err := p.Send(context.Background(), channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "hi"})
	if se := sendErrorOf(t, err); !se.Permanent || se.Code != 20003 || se.HTTPStatus != 401 {
		t.Fatalf("got %+v, want permanent 401/20003", se)
	}
}

func TestSendErrorAnswerTwilioGoCannotDecodeIsClassifiedByStatus(t *testing.T) {
	cases := []struct {
		status    int
		permanent bool
	}{{http.StatusBadGateway, false}, {http.StatusForbidden, true}}
	for _, c := range cases {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(c.status)
				_, _ = w.Write([]byte("<html>proxy error</html>"))
			}))
			t.Cleanup(proxy.Close)
			p := newProvider(t, channels.Config{AccountID: "AC" + strings.Repeat("1", 32), Secret: "token", BaseURL: proxy.URL}, nil)
			_, err := p.Send(context.Background(), channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "hi"})
			if se := sendErrorOf(t, err); se.Permanent != c.permanent || se.HTTPStatus != c.status {
				t.Fatalf("got %+v", se)
			}
		})
	}
}

func TestSendThatTimesOutIsTemporary(t *testing.T) {
	cases := []struct {
		name string
		send func(t *testing.T, fake *twiliofake.Server) error
	}{
		{"the caller's context ends", func(t *testing.T, fake *twiliofake.Server) error {
			p := newProvider(t, fake.Config(webhookURL), nil)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				if fake.WaitHeld(ctx, 1) == nil {
					cancel()
				}
			}()
			_, err := p.Send(ctx, channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "hi"})
			return err
		}},
		{"the HTTP client's timeout passes", func(t *testing.T, fake *twiliofake.Server) error {
			p := newProvider(t, fake.Config(webhookURL), &http.Client{Timeout: 50 * time.Millisecond})
			_, err := p.Send(context.Background(), channels.Outbound{From: "+15557654321", To: "+15551230001", Body: "hi"})
			return err
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fake := newFake(t)
			fake.HoldSends()
			if se := sendErrorOf(t, c.send(t, fake)); se.Permanent || se.HTTPStatus != 0 {
				t.Fatalf("got %+v, want a temporary error without an answer", se)
			}
		})
	}
}

func sendErrorOf(t *testing.T, err error) *channels.SendError {
	t.Helper()
	var se *channels.SendError
	if !errors.As(err, &se) {
		t.Fatalf("got %v (%T), want a *channels.SendError", err, err)
	}
	return se
}

func TestFindReturnsMatchingMessagesOldestFirst(t *testing.T) {
	fake := newFake(t)
	p := newProvider(t, fake.Config(webhookURL), nil)
	since := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	send := func(at time.Time, m channels.Outbound) string {
		t.Helper()
		fake.SetClock(func() time.Time { return at })
		id, err := p.Send(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	const from, to = "+15557654321", "+15551230001"
	text := channels.Outbound{From: from, To: to, Body: "Your order shipped"}
	picture := channels.Outbound{From: from, To: to, Body: "Your order shipped", Media: []channels.OutboundMedia{{URL: "https://media.example.com/a.png"}}}
	template := channels.Outbound{From: "whatsapp:" + from, To: "whatsapp:" + to, ContentSid: "HX" + strings.Repeat("b", 32)}

	send(since.Add(-time.Hour), text) // before since
	first := send(since, text)
	send(since.Add(time.Second), channels.Outbound{From: from, To: to, Body: "Something else"})
	send(since.Add(time.Second), channels.Outbound{From: from, To: "+15551230002", Body: text.Body})
	send(since.Add(time.Second), channels.Outbound{From: "+15557654322", To: to, Body: text.Body})
	withMedia := send(since.Add(time.Second), picture)
	second := send(since.Add(2*time.Second), text) // a resend after a lost answer
	tmpl := send(since.Add(3*time.Second), template)
	// More than a page of other messages, so the first matches are on page two.
	for range 55 {
		send(since.Add(4*time.Second), channels.Outbound{From: from, To: to, Body: "noise"})
	}

	cases := []struct {
		name string
		out  channels.Outbound
		want []string
	}{
		{"same body and no media", text, []string{first, second}},
		{"same body and media count", picture, []string{withMedia}},
		{"a template matches any message between the addresses", template, []string{tmpl}},
		{"nothing sent", channels.Outbound{From: from, To: "+15559999999", Body: text.Body}, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := p.Find(ctx, c.out, since)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("Find = %v, want %v", got, c.want)
			}
		})
	}
}

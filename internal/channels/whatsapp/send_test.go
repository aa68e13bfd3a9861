package whatsapp_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboardhq/switchboard/internal/channels"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp"
	"github.com/switchboardhq/switchboard/internal/channels/whatsapp/metafake"
)

const (
	customer = "whatsapp:+447700900123"
	sender   = metafake.DefaultPhoneNumberID
)

var templates = map[string]channels.Template{
	"HXorder": {Name: "order_update", Language: "en_US"},
	"HXhello": {Name: "hello_world", Language: "en"},
}

func newFake(t *testing.T, cfg metafake.Config) *metafake.Server {
	t.Helper()
	f := metafake.New(cfg)
	t.Cleanup(f.Close)
	return f
}

func newProvider(t *testing.T, cfg channels.Config) *whatsapp.Provider {
	t.Helper()
	cfg.Templates = templates
	p, err := whatsapp.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// noProblems fails the test if the fake refused any request as malformed.
func noProblems(t *testing.T, f *metafake.Server) {
	t.Helper()
	if ps := f.Problems(); len(ps) > 0 {
		t.Errorf("the fake refused our requests: %q", ps)
	}
}

func TestSendShapesAreWhatMetaExpects(t *testing.T) {
	const link = "https://files.example/media/"
	cases := []struct {
		name string
		out  channels.Outbound
		want metafake.Message
	}{
		{"text goes as text.body",
			channels.Outbound{Body: "Hello there"},
			metafake.Message{Type: "text", Text: "Hello there"}},
		{"an image carries the body as its caption",
			channels.Outbound{Body: "look", Media: []channels.OutboundMedia{{URL: link + "a.jpg", ContentType: "image/jpeg"}}},
			metafake.Message{Type: "image", Attachment: &metafake.Attachment{Link: link + "a.jpg", Caption: "look"}}},
		{"a video carries a caption",
			channels.Outbound{Body: "clip", Media: []channels.OutboundMedia{{URL: link + "v.mp4", ContentType: "video/mp4"}}},
			metafake.Message{Type: "video", Attachment: &metafake.Attachment{Link: link + "v.mp4", Caption: "clip"}}},
		{"audio parameters in the content type do not matter",
			channels.Outbound{Media: []channels.OutboundMedia{{URL: link + "voice.ogg", ContentType: "audio/ogg; codecs=opus"}}},
			metafake.Message{Type: "audio", Attachment: &metafake.Attachment{Link: link + "voice.ogg"}}},
		{"a document keeps its filename and caption",
			channels.Outbound{Body: "your invoice", Media: []channels.OutboundMedia{{URL: link + "x", ContentType: "application/pdf", Filename: "invoice.pdf"}}},
			metafake.Message{Type: "document", Attachment: &metafake.Attachment{Link: link + "x", Caption: "your invoice", Filename: "invoice.pdf"}}},
		{"a document without a name or type takes both from the URL",
			channels.Outbound{Media: []channels.OutboundMedia{{URL: link + "report.pdf"}}},
			metafake.Message{Type: "document", Attachment: &metafake.Attachment{Link: link + "report.pdf", Filename: "report.pdf"}}},
		{"an image type Meta does not show inline goes as a document",
			channels.Outbound{Media: []channels.OutboundMedia{{URL: link + "fun.gif", ContentType: "image/gif"}}},
			metafake.Message{Type: "document", Attachment: &metafake.Attachment{Link: link + "fun.gif", Filename: "fun.gif"}}},
		{"webp goes as a sticker",
			channels.Outbound{Media: []channels.OutboundMedia{{URL: link + "s.webp", ContentType: "image/webp"}}},
			metafake.Message{Type: "sticker", Attachment: &metafake.Attachment{Link: link + "s.webp"}}},
		{"a template takes numbered variables in numeric order and ignores the body",
			channels.Outbound{Body: "ignored", ContentSid: "HXorder", ContentVariables: `{"2":"shipped","1":"Ada"}`},
			metafake.Message{Type: "template", Template: &metafake.SentTemplate{Name: "order_update", Language: "en_US",
				Params: []metafake.Param{{Text: "Ada"}, {Text: "shipped"}}}}},
		{"numbered variables sort as numbers, not strings",
			channels.Outbound{ContentSid: "HXorder", ContentVariables: `{"10":"j","2":"b","1":"a","3":"c","4":"d","5":"e","6":"f","7":"g","8":"h","9":"i"}`},
			metafake.Message{Type: "template", Template: &metafake.SentTemplate{Name: "order_update", Language: "en_US",
				Params: []metafake.Param{{Text: "a"}, {Text: "b"}, {Text: "c"}, {Text: "d"}, {Text: "e"}, {Text: "f"}, {Text: "g"}, {Text: "h"}, {Text: "i"}, {Text: "j"}}}}},
		{"named variables become named parameters",
			channels.Outbound{ContentSid: "HXorder", ContentVariables: `{"order":"#12","name":"Ada"}`},
			metafake.Message{Type: "template", Template: &metafake.SentTemplate{Name: "order_update", Language: "en_US",
				Params: []metafake.Param{{Name: "name", Text: "Ada"}, {Name: "order", Text: "#12"}}}}},
		{"a template without variables has no parameters",
			channels.Outbound{ContentSid: "HXhello"},
			metafake.Message{Type: "template", Template: &metafake.SentTemplate{Name: "hello_world", Language: "en"}}},
	}
	f := newFake(t, metafake.Config{})
	p := newProvider(t, f.ProviderConfig())
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.out.Ref, c.out.To, c.out.SenderID = "DL"+strings.Repeat("0", 31)+string(rune('a'+i)), customer, sender
			id, err := p.Send(context.Background(), c.out)
			if err != nil {
				t.Fatal(err)
			}
			got := f.Messages()[i]
			if got.ID != id || !strings.HasPrefix(id, "wamid.") {
				t.Errorf("Send returned %q, the fake answered %q", id, got.ID)
			}
			c.want.ID, c.want.Request = got.ID, got.Request
			c.want.PhoneNumberID, c.want.To, c.want.Ref = sender, "447700900123", c.out.Ref
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("sent %+v\nwant %+v\nrequest %s", got, c.want, got.Request)
			}
		})
	}
	noProblems(t, f)
}

func TestSendRefusesBeforeCallingMetaWhatMetaWouldRefuse(t *testing.T) {
	img := channels.OutboundMedia{URL: "https://files.example/a.jpg", ContentType: "image/jpeg"}
	cases := []struct {
		name string
		out  channels.Outbound
		says string
	}{
		{"a template SID with no mapping", channels.Outbound{ContentSid: "HXunknown"}, "no WhatsApp template"},
		{"variables that are not a JSON object of strings", channels.Outbound{ContentSid: "HXorder", ContentVariables: `{"1":2}`}, "JSON object of strings"},
		{"numbered variables with a gap", channels.Outbound{ContentSid: "HXorder", ContentVariables: `{"1":"a","3":"c"}`}, "no variable 2"},
		{"numbered and named variables mixed", channels.Outbound{ContentSid: "HXorder", ContentVariables: `{"1":"a","name":"b"}`}, "mixes"},
		{"two attachments", channels.Outbound{Media: []channels.OutboundMedia{img, img}}, "one attachment"},
		{"text on audio", channels.Outbound{Body: "hi", Media: []channels.OutboundMedia{{URL: "https://files.example/a.mp3", ContentType: "audio/mpeg"}}}, "cannot put text on audio"},
		{"a media URL Meta cannot fetch", channels.Outbound{Media: []channels.OutboundMedia{{URL: "/relative/a.jpg", ContentType: "image/jpeg"}}}, "not an http(s) URL"},
		{"nothing to send", channels.Outbound{}, "no body, media or template"},
		{"a recipient that is not whatsapp:+E164", channels.Outbound{Body: "hi", To: "whatsapp:447700900123"}, "not a WhatsApp address"},
		{"no sender id", channels.Outbound{Body: "hi", SenderID: "-"}, "no WhatsApp phone number id"},
	}
	f := newFake(t, metafake.Config{})
	p := newProvider(t, f.ProviderConfig())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.out.To == "" {
				c.out.To = customer
			}
			switch c.out.SenderID {
			case "":
				c.out.SenderID = sender
			case "-":
				c.out.SenderID = ""
			}
			_, err := p.Send(context.Background(), c.out)
			var se *channels.SendError
			if !errors.As(err, &se) || !se.Permanent || !strings.Contains(se.Message, c.says) {
				t.Fatalf("err = %v, want a permanent SendError saying %q", err, c.says)
			}
		})
	}
	if n := len(f.Messages()); n != 0 {
		t.Errorf("the fake accepted %d messages", n)
	}
	noProblems(t, f)
}

func TestSendErrorsAreTemporaryOrPermanentAsMetaMeansThem(t *testing.T) {
	cases := []struct {
		name         string
		status, code int
		permanent    bool
		says         string
	}{
		{"outside the 24-hour window is permanent", 400, 131047, true, "24-hour"},
		{"throughput limit on 400 is temporary", 400, 130429, false, "Rate limit hit"},
		{"pair rate limit on 400 is temporary", 400, 131056, false, "pair rate limit"},
		{"account rate limit on 400 is temporary", 400, 80007, false, "Rate limit"},
		{"application request limit on 400 is temporary", 400, 4, false, "request limit"},
		{"rate limit on 429 is temporary", 429, 130429, false, "Rate limit"},
		{"service unavailable on 400 is temporary", 400, 2, false, "unavailable"},
		{"undeliverable is permanent", 400, 131026, true, "undeliverable"},
		{"a server error is temporary", 500, 131000, false, "Something went wrong"},
		{"an outage is temporary", 503, 1, false, "unknown error"},
	}
	f := newFake(t, metafake.Config{})
	p := newProvider(t, f.ProviderConfig())
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.FailNext(1, c.status, c.code)
			_, err := p.Send(context.Background(), channels.Outbound{Ref: "DL1", To: customer, SenderID: sender, Body: "hi"})
			var se *channels.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SendError", err)
			}
			if se.Permanent != c.permanent || se.Code != c.code || !strings.Contains(se.Message, c.says) {
				t.Errorf("got %+v, want permanent=%v code %d saying %q", se, c.permanent, c.code, c.says)
			}
		})
	}
	if n := len(f.Messages()); n != 0 {
		t.Errorf("the fake recorded %d refused messages", n)
	}
	noProblems(t, f)
}

func TestSendFailuresMetaAnswersItself(t *testing.T) {
	f := newFake(t, metafake.Config{Templates: []metafake.Template{{Name: "order_update", Language: "en_US", Params: 2}}})
	good := newProvider(t, f.ProviderConfig())
	badCfg := f.ProviderConfig()
	badCfg.Secret = "expired"
	bad := newProvider(t, badCfg)
	cases := []struct {
		name      string
		p         *whatsapp.Provider
		out       channels.Outbound
		permanent bool
		code      int
	}{
		{"a bad access token is permanent", bad, channels.Outbound{Body: "hi"}, true, 190},
		{"a phone number id Meta does not know is permanent", good, channels.Outbound{Body: "hi", SenderID: "999"}, true, 100},
		{"a template with the wrong number of parameters is permanent", good, channels.Outbound{ContentSid: "HXorder", ContentVariables: `{"1":"a"}`}, true, 132000},
		{"a template Meta has not approved is permanent", good, channels.Outbound{ContentSid: "HXhello"}, true, 132001},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.out.To, c.out.Ref = customer, "DL2"
			if c.out.SenderID == "" {
				c.out.SenderID = sender
			}
			_, err := c.p.Send(context.Background(), c.out)
			var se *channels.SendError
			if !errors.As(err, &se) || se.Permanent != c.permanent || se.Code != c.code {
				t.Fatalf("err = %#v, want permanent=%v code %d", err, c.permanent, c.code)
			}
		})
	}
	if _, err := good.Send(context.Background(), channels.Outbound{To: customer, SenderID: sender, ContentSid: "HXorder", ContentVariables: `{"1":"a","2":"b"}`}); err != nil {
		t.Errorf("the approved template with its two parameters: %v", err)
	}
}

func TestSendWhenMetaTookTheMessageButTheAnswerWasLostIsTemporary(t *testing.T) {
	for _, how := range []metafake.Aftermath{metafake.Answer500, metafake.DropConnection} {
		f := newFake(t, metafake.Config{})
		p := newProvider(t, f.ProviderConfig())
		f.AcceptThenFail(1, how)
		_, err := p.Send(context.Background(), channels.Outbound{Ref: "DL3", To: customer, SenderID: sender, Body: "hi"})
		var se *channels.SendError
		if !errors.As(err, &se) || se.Permanent {
			t.Errorf("aftermath %d: err = %v, want a temporary SendError", how, err)
		}
		if ms := f.Messages(); len(ms) != 1 || ms[0].Ref != "DL3" {
			t.Errorf("aftermath %d: the fake recorded %+v, want the one message", how, ms)
		}
	}
}

func TestSendThatTimesOutWhileMetaHangsIsTemporary(t *testing.T) {
	f := newFake(t, metafake.Config{})
	p := newProvider(t, f.ProviderConfig())
	release := f.Hold()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.Send(ctx, channels.Outbound{Ref: "DL4", To: customer, SenderID: sender, Body: "hi"})
		done <- err
	}()
	if err := f.WaitHeld(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	cancel() // the caller's deadline passes while Meta hangs
	err := <-done
	var se *channels.SendError
	if !errors.As(err, &se) || se.Permanent {
		t.Fatalf("err = %v, want a temporary SendError", err)
	}
	// Release only once the fake has seen the caller leave, or it may take
	// the send after all.
	if err := f.WaitHeld(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	release()
	if _, err := p.Send(context.Background(), channels.Outbound{Ref: "DL5", To: customer, SenderID: sender, Body: "again"}); err != nil {
		t.Fatalf("after release: %v", err)
	}
	if ms := f.Messages(); len(ms) != 1 || ms[0].Ref != "DL5" {
		t.Errorf("recorded %+v, want only the send after release (the abandoned one never reached Meta)", ms)
	}
}

func TestSendReadsAnswersOtherThanMetasUsualOnes(t *testing.T) {
	cases := []struct {
		name       string
		status     int
		header     http.Header
		body       string
		permanent  bool
		retryAfter time.Duration
		says       string
	}{
		{"Retry-After is honoured", 429, http.Header{"Retry-After": {"7"}}, `{"error":{"message":"slow down","code":130429}}`, false, 7 * time.Second, "slow down"},
		{"an HTML error page from a proxy", 502, nil, `<html>Bad Gateway</html>`, false, 0, "HTTP 502"},
		{"a string error code from a relay", 400, nil, `{"error":{"message":"(#131056) pair rate limit hit","code":"131056"}}`, false, 0, "pair rate limit"},
		{"a 200 without a message id", 200, nil, `{"messaging_product":"whatsapp"}`, false, 0, "without a message id"},
		{"error details are kept", 400, nil, `{"error":{"message":"(#131026) Message undeliverable","code":131026,"error_data":{"details":"not on WhatsApp"},"fbtrace_id":"Axyz"}}`, true, 0, "not on WhatsApp (fbtrace_id Axyz)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header()[k] = v
				}
				w.WriteHeader(c.status)
				w.Write([]byte(c.body))
			}))
			defer srv.Close()
			p := newProvider(t, channels.Config{Secret: "t", AppSecret: "s", BaseURL: srv.URL + "/v21.0"})
			_, err := p.Send(context.Background(), channels.Outbound{To: customer, SenderID: sender, Body: "hi"})
			var se *channels.SendError
			if !errors.As(err, &se) || se.Permanent != c.permanent || se.RetryAfter != c.retryAfter || !strings.Contains(se.Message, c.says) {
				t.Fatalf("err = %#v, want permanent=%v retryAfter=%v saying %q", err, c.permanent, c.retryAfter, c.says)
			}
		})
	}
}

func TestSendToAnUnreachableAPIIsTemporary(t *testing.T) {
	f := metafake.New(metafake.Config{})
	cfg := f.ProviderConfig()
	f.Close()
	p := newProvider(t, cfg)
	_, err := p.Send(context.Background(), channels.Outbound{To: customer, SenderID: sender, Body: "hi"})
	var se *channels.SendError
	if !errors.As(err, &se) || se.Permanent || !strings.Contains(se.Message, "unreachable") {
		t.Fatalf("err = %v, want a temporary SendError", err)
	}
}

func TestFindCannotLookUpMessages(t *testing.T) {
	p := newProvider(t, channels.Config{Secret: "t", AppSecret: "s"})
	if _, err := p.Find(context.Background(), channels.Outbound{}, time.Now()); !errors.Is(err, channels.ErrCannotFind) {
		t.Fatalf("Find err = %v, want ErrCannotFind", err)
	}
}

func TestNewRefusesAnUnusableAccount(t *testing.T) {
	cases := []struct {
		name string
		cfg  channels.Config
	}{
		{"no access token", channels.Config{AppSecret: "s"}},
		{"no app secret", channels.Config{Secret: "t"}},
		{"a base URL that is not http(s)", channels.Config{Secret: "t", AppSecret: "s", BaseURL: "graph.facebook.com/v21.0"}},
		{"a base URL with a query", channels.Config{Secret: "t", AppSecret: "s", BaseURL: "https://graph.facebook.com/v21.0?x=1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := whatsapp.New(c.cfg, nil); err == nil {
				t.Fatal("New accepted it")
			}
		})
	}
}
